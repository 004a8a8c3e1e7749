//! Shared harness for the end-to-end tests:
//!
//! - [`Server`]: the real `shoebox-server` binary on loopback with a fresh data directory
//!   (`<tmp>/data`, stderr in `<tmp>/logs/N.log`, printed when a test fails); it can be SIGKILLed
//!   and started again on the same data directory.
//! - [`Proxy`]: a small TCP proxy between the client and the server that counts the bytes sent
//!   client→server, can throttle them, stall or drop every connection (network loss), and inject
//!   faults (connection resets, raw `HTTP/1.1 503`) from a seeded, bounded schedule.
//! - [`Cli`]: runs the `shoebox` binary with its own `--state` directory.
//! - Library builders (deterministic bytes), a [`CountingLibrary`] wrapper that counts (and can
//!   fail) reads, and helpers to check what the server holds.
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use shoebox_core::library::Stat;
use shoebox_core::{
    Album, BackupEngine, CoreError, CoreResult, EngineConfig, FsLibrary, LocalAsset, PhotoLibrary,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

pub const MIB: u64 = 1 << 20;

// ---------------------------------------------------------------------------------------------
// Binaries
// ---------------------------------------------------------------------------------------------

/// A workspace binary next to this test executable (`target/<profile>/deps/<test>-<hash>` →
/// `target/<profile>/<name>`).
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable outside target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing. The e2e tests run the real binaries: build them first with \
         `cargo build -p shoebox-server -p shoebox-cli` (same profile as the tests).",
        path.display()
    );
    warn_if_stale(name, &path);
    path
}

/// Warns loudly when a binary is older than the sources it is built from (the tests would
/// exercise old code): rebuild with `cargo build -p shoebox-server -p shoebox-cli`.
fn warn_if_stale(name: &str, bin: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dirs: &[&str] = match name {
        "shoebox-server" => &["server-stub/src"],
        "shoebox" => &["cli/src", "core/src"],
        _ => &[],
    };
    let Ok(built) = fs::metadata(bin).and_then(|m| m.modified()) else {
        return;
    };
    for dir in dirs {
        for src in files_under(&root.join(dir)) {
            if fs::metadata(&src)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t > built)
            {
                eprintln!(
                    "WARNING: {} is older than {}: the e2e tests run a stale binary; rebuild with \
                     `cargo build -p shoebox-server -p shoebox-cli`",
                    bin.display(),
                    src.display()
                );
                return;
            }
        }
    }
}

/// An HTTP client for the tests' own requests (never through a system proxy).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(300))
        .build()
        .expect("reqwest client")
}

// ---------------------------------------------------------------------------------------------
// Server process
// ---------------------------------------------------------------------------------------------

pub struct Server {
    root: TempDir,
    /// The server's data directory.
    pub data: PathBuf,
    child: Option<Child>,
    /// Where the running process listens.
    pub addr: SocketAddr,
    starts: usize,
    pub http: reqwest::Client,
}

#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub email: String,
    pub password: String,
    /// API key secret.
    pub key: String,
}

impl Server {
    /// Starts `shoebox-server serve` on a fresh data directory, on 127.0.0.1:0.
    pub async fn start() -> Server {
        let root = tempfile::Builder::new()
            .prefix("shoebox-e2e-srv-")
            .tempdir()
            .expect("tempdir");
        let data = root.path().join("data");
        fs::create_dir_all(&data).unwrap();
        fs::create_dir_all(root.path().join("logs")).unwrap();
        let mut s = Server {
            root,
            data,
            child: None,
            addr: "127.0.0.1:1".parse().unwrap(),
            starts: 0,
            http: http(),
        };
        s.spawn().await;
        s
    }

    /// `http://127.0.0.1:PORT` of the running process.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn log_path(&self, n: usize) -> PathBuf {
        self.root.path().join("logs").join(format!("{n}.log"))
    }

    async fn spawn(&mut self) {
        assert!(self.child.is_none(), "server already running");
        self.starts += 1;
        let log = fs::File::create(self.log_path(self.starts)).unwrap();
        let mut child = Command::new(workspace_bin("shoebox-server"))
            .arg("serve")
            .arg("--data")
            .arg(&self.data)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .env_remove("SHOEBOX_DATA")
            .env_remove("SHOEBOX_LISTEN")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn shoebox-server");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<String>();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if line.starts_with("shoebox-server listening on ")
                            && let Some(tx) = tx.take()
                        {
                            let _ = tx.send(line.trim().to_string());
                        }
                        // keep draining so the pipe never fills
                    }
                }
            }
        });
        let line = match tokio::time::timeout(Duration::from_secs(60), rx).await {
            Ok(Ok(l)) => l,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "shoebox-server did not print its listening line; stderr:\n{}",
                    self.log_tail(self.starts)
                );
            }
        };
        let url = line
            .strip_prefix("shoebox-server listening on http://")
            .unwrap_or_else(|| panic!("unexpected listening line {line:?}"))
            .trim_end_matches('/');
        self.addr = url.parse().expect("listening address");
        self.child = Some(child);
    }

    fn log_tail(&self, n: usize) -> String {
        let s = fs::read_to_string(self.log_path(n)).unwrap_or_default();
        let mut i = s.len().saturating_sub(3000);
        while !s.is_char_boundary(i) {
            i += 1;
        }
        s[i..].to_string()
    }

    /// SIGKILL and reap. The data directory stays.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again on the same data directory (a new port: see `addr`).
    pub async fn start_again(&mut self) {
        self.spawn().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    // -- accounts ---------------------------------------------------------------------------

    /// Admin sign-up, login, API key.
    pub async fn admin(&self) -> User {
        let (email, password) = ("admin@example.com", "correct horse battery staple");
        let r = self
            .http
            .post(self.url("/api/auth/admin-sign-up"))
            .json(&json!({"email": email, "password": password, "name": "Admin"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            201,
            "admin-sign-up: {}",
            r.text().await.unwrap()
        );
        self.login_user(email, password).await
    }

    /// Logs in and creates an API key.
    pub async fn login_user(&self, email: &str, password: &str) -> User {
        let r = self
            .http
            .post(self.url("/api/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "login {email}");
        let v: Value = r.json().await.unwrap();
        let token = v["accessToken"].as_str().expect("accessToken").to_string();
        let id = v["userId"].as_str().expect("userId").to_string();
        let r = self
            .http
            .post(self.url("/api/api-keys"))
            .bearer_auth(&token)
            .json(&json!({"name": "e2e", "permissions": ["all"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "create api key");
        let v: Value = r.json().await.unwrap();
        User {
            id,
            email: email.into(),
            password: password.into(),
            key: v["secret"].as_str().expect("secret").to_string(),
        }
    }

    /// A user created by the admin (`POST /api/admin/users`), optionally with a quota.
    pub async fn create_user(&self, admin: &User, email: &str, quota: Option<u64>) -> User {
        let password = "another long password";
        let mut body = json!({"email": email, "password": password, "name": "Someone"});
        if let Some(q) = quota {
            body["quotaSizeInBytes"] = json!(q);
        }
        let r = self
            .http
            .post(self.url("/api/admin/users"))
            .header("x-api-key", &admin.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            201,
            "admin create user: {}",
            r.text().await.unwrap()
        );
        self.login_user(email, password).await
    }

    // -- what the server holds ---------------------------------------------------------------

    pub async fn get_json(&self, user: &User, path: &str) -> Value {
        let r = self
            .http
            .get(self.url(path))
            .header("x-api-key", &user.key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    /// The user's albums: name → the SHA-1s (hex) of their assets. Panics on two albums with the
    /// same name or an asset listed twice in one album.
    pub async fn albums(&self, user: &User) -> BTreeMap<String, BTreeSet<String>> {
        let list = self.get_json(user, "/api/albums").await;
        let mut out = BTreeMap::new();
        for a in list.as_array().expect("album list") {
            let name = a["albumName"].as_str().unwrap().to_string();
            let id = a["id"].as_str().unwrap();
            let album = self.get_json(user, &format!("/api/albums/{id}")).await;
            let mut set = BTreeSet::new();
            for asset in album["assets"].as_array().expect("album assets") {
                let sha = checksum_hex(&asset["checksum"]);
                assert!(
                    set.insert(sha),
                    "album {name} lists an asset twice: {album}"
                );
            }
            assert!(
                out.insert(name.clone(), set).is_none(),
                "two server albums named {name:?}"
            );
        }
        out
    }

    /// `POST /api/assets/bulk-upload-check`: for each SHA-1 (hex), the id of the user's asset
    /// with those bytes, if any.
    pub async fn asset_ids(&self, user: &User, sha1s: &[String]) -> Vec<Option<String>> {
        let assets: Vec<Value> = sha1s
            .iter()
            .enumerate()
            .map(|(i, s)| json!({"id": i.to_string(), "checksum": s}))
            .collect();
        let r = self
            .http
            .post(self.url("/api/assets/bulk-upload-check"))
            .header("x-api-key", &user.key)
            .json(&json!({ "assets": assets }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "bulk-upload-check");
        let v: Value = r.json().await.unwrap();
        let mut out = vec![None; sha1s.len()];
        for item in v["results"].as_array().unwrap() {
            let i: usize = item["id"].as_str().unwrap().parse().unwrap();
            if item["action"] == "reject" {
                out[i] = item["assetId"].as_str().map(str::to_owned);
            }
        }
        out
    }

    /// SHA-1 (hex) of `GET /api/assets/{id}/original`, streamed.
    pub async fn original_sha1(&self, user: &User, asset_id: &str) -> String {
        let mut r = self
            .http
            .get(self.url(&format!("/api/assets/{asset_id}/original")))
            .header("x-api-key", &user.key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET original of {asset_id}");
        let mut h = Sha1::new();
        while let Some(chunk) = r.chunk().await.unwrap() {
            h.update(&chunk);
        }
        hex::encode(h.finalize())
    }

    /// The SHA-1s (hex) of every original stored for the user (`DIR/library/<user>/…`). The
    /// server stores content-addressed, so this is the set of distinct contents it has.
    pub fn stored(&self, user: &User) -> Vec<String> {
        let mut out: Vec<String> = files_under(&self.data.join("library").join(&user.id))
            .iter()
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().to_string();
                name.split('.').next().unwrap().to_ascii_lowercase()
            })
            .collect();
        out.sort();
        out
    }

    /// Ids of the tus uploads in progress (`DIR/uploads/<id>.part`).
    pub fn partial_uploads(&self) -> Vec<String> {
        files_under(&self.data.join("uploads"))
            .iter()
            .filter_map(|p| {
                let name = p.file_name()?.to_str()?;
                name.strip_suffix(".part").map(str::to_owned)
            })
            .collect()
    }

    /// `HEAD /api/upload/{id}`: the committed `Upload-Offset`, or `None` when it is unknown.
    pub async fn tus_offset(&self, user: &User, upload_id: &str) -> Option<u64> {
        let r = self
            .http
            .head(self.url(&format!("/api/upload/{upload_id}")))
            .header("x-api-key", &user.key)
            .header("tus-resumable", "1.0.0")
            .send()
            .await
            .unwrap();
        if r.status() != 200 {
            return None;
        }
        r.headers()
            .get("upload-offset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    }

    /// Asserts the server holds exactly the given distinct contents for the user, each once,
    /// each original byte-identical (downloaded and hashed).
    pub async fn assert_holds_exactly(&self, user: &User, expected: &BTreeSet<String>) {
        let stored = self.stored(user);
        let stored_set: BTreeSet<String> = stored.iter().cloned().collect();
        assert_eq!(stored.len(), stored_set.len(), "a content is stored twice");
        let missing: Vec<_> = expected.difference(&stored_set).collect();
        let extra: Vec<_> = stored_set.difference(expected).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "server originals differ from the library: {} missing {missing:?}, {} unexpected {extra:?}",
            missing.len(),
            extra.len()
        );
        let list: Vec<String> = expected.iter().cloned().collect();
        let ids = self.asset_ids(user, &list).await;
        let distinct_ids: BTreeSet<&String> = ids.iter().flatten().collect();
        assert_eq!(
            distinct_ids.len(),
            list.len(),
            "every distinct content is one asset: {ids:?}"
        );
        for (sha, id) in list.iter().zip(&ids) {
            let id = id.as_ref().unwrap_or_else(|| panic!("no asset for {sha}"));
            assert_eq!(
                &self.original_sha1(user, id).await,
                sha,
                "the original of asset {id} is not byte-identical"
            );
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            for n in 1..=self.starts {
                eprintln!(
                    "---- shoebox-server #{n} stderr (tail) ----\n{}",
                    self.log_tail(n)
                );
            }
        }
    }
}

/// An asset's `checksum` (base64 SHA-1) as hex.
pub fn checksum_hex(v: &Value) -> String {
    let s = v.as_str().expect("checksum");
    hex::encode(B64.decode(s).expect("base64 checksum"))
}

// ---------------------------------------------------------------------------------------------
// TCP proxy with byte counting, throttling, network loss and fault injection
// ---------------------------------------------------------------------------------------------

/// A seeded, bounded fault schedule: each new connection draws from a xorshift generator whether
/// it answers its first request with a raw `HTTP/1.1 503` or is reset after some bytes
/// client→server, until `faults` are spent; the first connection after `set_chaos` is clean.
#[derive(Debug, Clone, Copy)]
pub struct Chaos {
    pub seed: u64,
    /// Total faults injected, then everything passes.
    pub faults: u32,
    /// Out of 1000 new connections.
    pub http503_per_mille: u32,
    pub reset_per_mille: u32,
    /// A reset connection forwards between `reset_min` and `reset_max` bytes client→server.
    pub reset_min: u64,
    pub reset_max: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Clean,
    Http503,
    ResetAfter(u64),
}

struct ChaosState {
    cfg: Chaos,
    rng: u64,
    left: u32,
    conns: u64,
}

impl ChaosState {
    fn next(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn plan(&mut self) -> Plan {
        self.conns += 1;
        if self.left == 0 || self.conns == 1 {
            return Plan::Clean;
        }
        let r = (self.next() % 1000) as u32;
        let plan = if r < self.cfg.http503_per_mille {
            Plan::Http503
        } else if r < self.cfg.http503_per_mille + self.cfg.reset_per_mille {
            let span = self.cfg.reset_max.saturating_sub(self.cfg.reset_min).max(1);
            Plan::ResetAfter(self.cfg.reset_min + self.next() % span)
        } else {
            Plan::Clean
        };
        if plan != Plan::Clean {
            self.left -= 1;
        }
        plan
    }
}

struct ProxyState {
    upstream: Mutex<SocketAddr>,
    /// Bytes forwarded client→server / server→client.
    up: AtomicU64,
    down: AtomicU64,
    /// Client→server bytes per second, 0 = unlimited (shared by all connections).
    rate: AtomicU64,
    pacer: Mutex<Instant>,
    stalled: watch::Sender<bool>,
    /// Bumped to drop every open connection.
    generation: watch::Sender<u64>,
    chaos: Mutex<Option<ChaosState>>,
    connections: AtomicU64,
    faults_injected: AtomicU64,
}

pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on 127.0.0.1:0 and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        assert!(
            upstream.ip().is_loopback(),
            "the proxy only forwards to loopback"
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ProxyState {
            upstream: Mutex::new(upstream),
            up: AtomicU64::new(0),
            down: AtomicU64::new(0),
            rate: AtomicU64::new(0),
            pacer: Mutex::new(Instant::now()),
            stalled: watch::Sender::new(false),
            generation: watch::Sender::new(0),
            chaos: Mutex::new(None),
            connections: AtomicU64::new(0),
            faults_injected: AtomicU64::new(0),
        });
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                st.connections.fetch_add(1, Ordering::SeqCst);
                let plan = st
                    .chaos
                    .lock()
                    .unwrap()
                    .as_mut()
                    .map_or(Plan::Clean, ChaosState::plan);
                if plan != Plan::Clean {
                    st.faults_injected.fetch_add(1, Ordering::SeqCst);
                }
                tokio::spawn(connection(client, st.clone(), plan));
            }
        });
        Proxy { addr, state, task }
    }

    /// `http://127.0.0.1:PORT` of the proxy.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_upstream(&self, upstream: SocketAddr) {
        assert!(upstream.ip().is_loopback());
        *self.state.upstream.lock().unwrap() = upstream;
    }

    /// Bytes forwarded client→server so far.
    pub fn up(&self) -> u64 {
        self.state.up.load(Ordering::SeqCst)
    }

    /// Bytes forwarded server→client so far.
    pub fn down(&self) -> u64 {
        self.state.down.load(Ordering::SeqCst)
    }

    pub fn reset_counters(&self) {
        self.state.up.store(0, Ordering::SeqCst);
        self.state.down.store(0, Ordering::SeqCst);
    }

    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::SeqCst)
    }

    pub fn faults_injected(&self) -> u64 {
        self.state.faults_injected.load(Ordering::SeqCst)
    }

    /// Limits client→server bytes per second (0: unlimited).
    pub fn throttle(&self, bytes_per_sec: u64) {
        self.state.rate.store(bytes_per_sec, Ordering::SeqCst);
        *self.state.pacer.lock().unwrap() = Instant::now();
    }

    /// Network loss: nothing is forwarded (open connections hang, new ones wait) until
    /// `set_stalled(false)`.
    pub fn set_stalled(&self, stalled: bool) {
        self.state.stalled.send_replace(stalled);
    }

    /// Closes every open connection at once with a reset.
    pub fn drop_connections(&self) {
        self.state.generation.send_modify(|g| *g += 1);
    }

    pub fn set_chaos(&self, chaos: Option<Chaos>) {
        *self.state.chaos.lock().unwrap() = chaos.map(|cfg| ChaosState {
            rng: cfg.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            left: cfg.faults,
            conns: 0,
            cfg,
        });
    }

    /// Waits until at least `bytes` went client→server; panics after `timeout`.
    pub async fn wait_up(&self, bytes: u64, timeout: Duration) {
        let start = Instant::now();
        while self.up() < bytes {
            assert!(
                start.elapsed() < timeout,
                "only {} of {bytes} bytes went through the proxy in {timeout:?}",
                self.up()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits until the client→server count has not changed for `quiet`; returns it. Panics if
    /// it keeps growing for `timeout`.
    pub async fn wait_quiet(&self, quiet: Duration, timeout: Duration) -> u64 {
        let start = Instant::now();
        let mut last = self.up();
        let mut since = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let now = self.up();
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() >= quiet {
                return now;
            }
            assert!(
                start.elapsed() < timeout,
                "bytes kept flowing through the proxy for {timeout:?} (at {now})"
            );
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.drop_connections();
    }
}

enum Pumped {
    /// EOF from the reader: the write side was shut down.
    Eof,
    /// Reset both sockets.
    Abort,
}

const HTTP_503: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
Content-Length: 19\r\nConnection: close\r\n\r\nService Unavailable";

async fn connection(client: TcpStream, st: Arc<ProxyState>, plan: Plan) {
    let _ = client.set_nodelay(true);
    let mut generation = st.generation.subscribe();
    generation.mark_unchanged();
    // Network loss holds new connections too.
    let mut stalled = st.stalled.subscribe();
    tokio::select! {
        _ = stalled.wait_for(|s| !*s) => {}
        _ = generation.changed() => { let _ = client.set_zero_linger(); return; }
    }
    if plan == Plan::Http503 {
        answer_503(client).await;
        return;
    }
    let upstream_addr = *st.upstream.lock().unwrap();
    let upstream =
        match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(upstream_addr)).await
        {
            Ok(Ok(s)) => s,
            _ => {
                // Server down: the client sees a reset, as with a dead host.
                let _ = client.set_zero_linger();
                return;
            }
        };
    let _ = upstream.set_nodelay(true);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = upstream.into_split();
    let reset_after = match plan {
        Plan::ResetAfter(n) => Some(n),
        _ => None,
    };
    let aborted = {
        let up = pump(&mut cr, &mut sw, &st, true, reset_after);
        let down = pump(&mut sr, &mut cw, &st, false, None);
        tokio::pin!(up, down);
        let (mut up_done, mut down_done) = (false, false);
        loop {
            if up_done && down_done {
                break false;
            }
            tokio::select! {
                r = &mut up, if !up_done => match r {
                    Pumped::Eof => up_done = true,
                    Pumped::Abort => break true,
                },
                r = &mut down, if !down_done => match r {
                    Pumped::Eof => down_done = true,
                    Pumped::Abort => break true,
                },
            }
        }
    };
    if aborted {
        let _ = AsRef::<TcpStream>::as_ref(&cr).set_zero_linger();
        let _ = AsRef::<TcpStream>::as_ref(&sr).set_zero_linger();
    }
}

/// Reads the request head, answers a raw 503 and closes.
async fn answer_503(mut client: TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let read_head = async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
            match client.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        true
    };
    if let Ok(true) = tokio::time::timeout(Duration::from_secs(10), read_head).await {
        let _ = client.write_all(HTTP_503).await;
        let _ = client.flush().await;
    }
    // Any request body still arriving is discarded with a reset when the socket closes.
}

async fn pump(
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    st: &ProxyState,
    client_to_server: bool,
    reset_after: Option<u64>,
) -> Pumped {
    let mut generation = st.generation.subscribe();
    generation.mark_unchanged();
    let mut stalled = st.stalled.subscribe();
    let mut buf = vec![0u8; 64 * 1024];
    let mut forwarded = 0u64;
    loop {
        let rate = if client_to_server {
            st.rate.load(Ordering::SeqCst)
        } else {
            0
        };
        // Small reads when throttled so the pace is smooth (about 20 ms of data).
        let want = if rate > 0 {
            ((rate / 50) as usize).clamp(4096, buf.len())
        } else {
            buf.len()
        };
        let n = tokio::select! {
            r = from.read(&mut buf[..want]) => match r {
                Ok(0) => { let _ = to.shutdown().await; return Pumped::Eof; }
                Ok(n) => n,
                Err(_) => return Pumped::Abort,
            },
            _ = generation.changed() => return Pumped::Abort,
        };
        tokio::select! {
            _ = stalled.wait_for(|s| !*s) => {}
            _ = generation.changed() => return Pumped::Abort,
        }
        if rate > 0 {
            let until = {
                let mut next = st.pacer.lock().unwrap();
                let start = (*next).max(Instant::now());
                *next = start + Duration::from_secs_f64(n as f64 / rate as f64);
                *next
            };
            tokio::select! {
                _ = tokio::time::sleep_until(until) => {}
                _ = generation.changed() => return Pumped::Abort,
            }
        }
        let mut n = n;
        let mut reset_now = false;
        if let Some(limit) = reset_after
            && forwarded + n as u64 >= limit
        {
            n = (limit - forwarded) as usize;
            reset_now = true;
        }
        let write = to.write_all(&buf[..n]);
        tokio::select! {
            r = write => if r.is_err() { return Pumped::Abort; },
            _ = generation.changed() => return Pumped::Abort,
        }
        forwarded += n as u64;
        let counter = if client_to_server { &st.up } else { &st.down };
        counter.fetch_add(n as u64, Ordering::SeqCst);
        if reset_now {
            return Pumped::Abort;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Library contents
// ---------------------------------------------------------------------------------------------

/// Deterministic pseudo-random bytes (xorshift), different per seed.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(0x2545_F491_4F6C_DD1D)
        | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Bytes that start like a JPEG and end with EOI, different per seed.
pub fn jpeg_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut v = random_bytes(len.max(16), seed);
    v[..4].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
    let n = v.len();
    v[n - 2] = 0xFF;
    v[n - 1] = 0xD9;
    v
}

pub fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

pub fn sha1_file_hex(path: &Path) -> String {
    let mut f = fs::File::open(path).unwrap();
    let mut h = Sha1::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex::encode(h.finalize())
}

/// Writes `len` pseudo-random bytes (an MP4-looking header) without holding them in memory;
/// returns their SHA-1 (hex).
pub fn write_big_file(path: &Path, len: u64, seed: u64) -> String {
    if let Some(p) = path.parent() {
        fs::create_dir_all(p).unwrap();
    }
    let mut f = std::io::BufWriter::with_capacity(4 << 20, fs::File::create(path).unwrap());
    let mut h = Sha1::new();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut written = 0u64;
    let mut block = vec![0u8; 1 << 20];
    while written < len {
        for w in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w.copy_from_slice(&x.to_le_bytes());
        }
        if written == 0 {
            block[..12].copy_from_slice(&[
                0, 0, 0, 0x18, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm',
            ]);
        }
        let n = (len - written).min(block.len() as u64) as usize;
        f.write_all(&block[..n]).unwrap();
        h.update(&block[..n]);
        written += n as u64;
    }
    f.flush().unwrap();
    f.get_ref().sync_all().unwrap();
    hex::encode(h.finalize())
}

/// A library folder tree and what the tests expect of it: relative path → SHA-1 (hex).
pub struct Library {
    _dir: TempDir,
    pub root: PathBuf,
    pub files: BTreeMap<String, String>,
}

impl Library {
    pub fn new() -> Library {
        let dir = tempfile::Builder::new()
            .prefix("shoebox-e2e-lib-")
            .tempdir()
            .unwrap();
        let root = dir.path().join("Pictures");
        fs::create_dir_all(&root).unwrap();
        Library {
            _dir: dir,
            root,
            files: BTreeMap::new(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn write(&mut self, rel: &str, bytes: &[u8]) {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, bytes).unwrap();
        self.files.insert(rel.to_string(), sha1_hex(bytes));
    }

    pub fn write_big(&mut self, rel: &str, len: u64, seed: u64) -> String {
        let sha = write_big_file(&self.path(rel), len, seed);
        self.files.insert(rel.to_string(), sha.clone());
        sha
    }

    pub fn remove(&mut self, rel: &str) {
        fs::remove_file(self.path(rel)).unwrap();
        self.files.remove(rel);
    }

    /// Every distinct content (SHA-1 hex).
    pub fn distinct(&self) -> BTreeSet<String> {
        self.files.values().cloned().collect()
    }

    /// Folder name → distinct contents in it (an album per folder).
    pub fn by_folder(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (rel, sha) in &self.files {
            let p = Path::new(rel);
            let folder = p
                .parent()
                .and_then(|d| d.file_name())
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| "Pictures".into());
            out.entry(folder).or_default().insert(sha.clone());
        }
        out
    }
}

/// `FsLibrary` with every `read` counted, and reads of chosen ids failing as unreadable
/// (stands in for `chmod 000` when the tests run as root).
pub struct CountingLibrary {
    inner: FsLibrary,
    pub reads: AtomicU64,
    pub read_bytes: AtomicU64,
    pub unreadable: Mutex<BTreeSet<String>>,
}

impl CountingLibrary {
    pub fn new(root: &Path) -> Arc<CountingLibrary> {
        Arc::new(CountingLibrary {
            inner: FsLibrary::new(root).unwrap(),
            reads: AtomicU64::new(0),
            read_bytes: AtomicU64::new(0),
            unreadable: Mutex::new(BTreeSet::new()),
        })
    }

    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }

    pub fn reset(&self) {
        self.reads.store(0, Ordering::SeqCst);
        self.read_bytes.store(0, Ordering::SeqCst);
    }
}

impl PhotoLibrary for CountingLibrary {
    fn albums(&self) -> CoreResult<Vec<Album>> {
        self.inner.albums()
    }

    fn assets(&self) -> CoreResult<Vec<LocalAsset>> {
        self.inner.assets()
    }

    fn stat(&self, local_id: &str) -> CoreResult<Stat> {
        self.inner.stat(local_id)
    }

    fn read(&self, local_id: &str, offset: u64, len: u32) -> CoreResult<Vec<u8>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.unreadable.lock().unwrap().contains(local_id) {
            return Err(CoreError::FileUnreadable {
                name: local_id.to_owned(),
                reason: "Permission denied (os error 13)".into(),
            });
        }
        let bytes = self.inner.read(local_id, offset, len)?;
        self.read_bytes
            .fetch_add(bytes.len() as u64, Ordering::SeqCst);
        Ok(bytes)
    }
}

/// Whether this process can read a file whose permissions forbid it (root can).
pub fn reads_ignore_permissions() -> bool {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("probe");
    fs::write(&p, b"x").unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o000)).unwrap();
    fs::read(&p).is_ok()
}

/// A state directory for an engine or the CLI.
pub fn state_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("shoebox-e2e-state-")
        .tempdir()
        .unwrap()
}

/// An engine as the desktop CLI has it: an unmetered network and mains power reported.
pub fn engine(url: &str, key: &str, state: &Path, library: Arc<dyn PhotoLibrary>) -> BackupEngine {
    let engine = BackupEngine::open(
        EngineConfig {
            server_url: url.to_string(),
            api_key: key.to_string(),
            state_dir: state.to_path_buf(),
            device_id: "e2e-device".into(),
        },
        library,
        None,
    )
    .expect("open engine");
    let (network, power) = shoebox_core::policy::Policy::desktop();
    engine.set_network(network);
    engine.set_power(power);
    engine
}

// ---------------------------------------------------------------------------------------------
// The `shoebox` CLI
// ---------------------------------------------------------------------------------------------

pub struct Cli {
    pub state: PathBuf,
    pub server: String,
    pub key: String,
    /// The binary to run (the workspace build unless a test placed a copy elsewhere).
    pub bin: PathBuf,
}

#[derive(Debug)]
pub struct CliOutput {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    /// The JSON object `--json` prints at the end of stdout.
    pub fn json(&self) -> Value {
        last_json(&self.stdout).unwrap_or_else(|| {
            panic!(
                "no JSON object at the end of stdout\n--- stdout\n{}\n--- stderr\n{}",
                self.stdout, self.stderr
            )
        })
    }

    pub fn describe(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.status.code(),
            self.stdout,
            self.stderr
        )
    }
}

/// The last complete JSON object in `out` that starts at a line start.
pub fn last_json(out: &str) -> Option<Value> {
    let trimmed = out.trim();
    if let Ok(v) = serde_json::from_str::<Value>(trimmed)
        && v.is_object()
    {
        return Some(v);
    }
    let starts: Vec<usize> = trimmed
        .match_indices('{')
        .map(|(i, _)| i)
        .filter(|&i| i == 0 || trimmed.as_bytes()[i - 1] == b'\n')
        .collect();
    starts.into_iter().rev().find_map(|i| {
        serde_json::from_str::<Value>(trimmed[i..].trim())
            .ok()
            .filter(Value::is_object)
    })
}

/// The one library entry of `shoebox status --json` (an object, or an array of one per library).
pub fn cli_status(out: &CliOutput) -> Value {
    let v: Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|_| panic!("`status --json` is not JSON: {}", out.describe()));
    match v {
        Value::Array(mut a) => {
            assert_eq!(a.len(), 1, "one library expected: {}", out.describe());
            a.remove(0)
        }
        v => v,
    }
}

impl Cli {
    pub fn new(state: &Path, server: &str, key: &str) -> Cli {
        Cli {
            state: state.to_path_buf(),
            server: server.to_string(),
            key: key.to_string(),
            bin: workspace_bin("shoebox"),
        }
    }

    /// Runs a copy of the CLI binary placed in `dir` (world-readable and executable), for tests
    /// that run it as another user who cannot reach the build directory (CI keeps it under a
    /// private `$HOME`).
    pub fn with_copied_binary(mut self, dir: &Path) -> Cli {
        use std::os::unix::fs::PermissionsExt;
        let copy = dir.join("shoebox");
        std::fs::copy(&self.bin, &copy).expect("copy the CLI binary");
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755))
            .expect("chmod the CLI copy");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
            .expect("chmod the CLI copy's directory");
        self.bin = copy;
        self
    }

    /// `shoebox --state DIR ARGS…` with `SHOEBOX_SERVER` / `SHOEBOX_API_KEY` set.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.arg("--state")
            .arg(&self.state)
            .args(args)
            .env("SHOEBOX_SERVER", &self.server)
            .env("SHOEBOX_API_KEY", &self.key)
            .env("NO_COLOR", "1")
            .env_remove("SHOEBOX_STATE")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("ALL_PROXY")
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("all_proxy")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// Runs to the end (at most `timeout`).
    pub async fn run_with_timeout(&self, args: &[&str], timeout: Duration) -> CliOutput {
        let child = self.command(args).spawn().expect("spawn shoebox");
        let out = tokio::time::timeout(timeout, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("shoebox {args:?} did not finish within {timeout:?}"))
            .expect("wait for shoebox");
        CliOutput {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub async fn run(&self, args: &[&str]) -> CliOutput {
        self.run_with_timeout(args, Duration::from_secs(180)).await
    }

    /// `shoebox backup DIR --json --no-progress EXTRA…`.
    pub async fn backup(&self, dir: &Path, extra: &[&str]) -> CliOutput {
        let dir = dir.to_str().unwrap();
        let mut args = vec!["backup", dir, "--json", "--no-progress"];
        args.extend_from_slice(extra);
        self.run(&args).await
    }
}

// ---------------------------------------------------------------------------------------------
// Misc
// ---------------------------------------------------------------------------------------------

/// Every regular file under `dir` (recursive); empty when `dir` does not exist.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// A JSON number field as u64, with a readable panic.
pub fn num(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("field {field:?} missing or not a number in {v}"))
}
