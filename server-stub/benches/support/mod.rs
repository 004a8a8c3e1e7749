//! Shared by the benchmarks (`make bench`): start the release server on a temp data dir, create
//! an admin API key, make deterministic random files, read /proc, medians, env knobs, and run
//! `curl -T` uploads as the common baseline. Included with `#[path]` by benches of other crates.
#![allow(dead_code)]

use reqwest::blocking::Client;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

pub const MIB: u64 = 1 << 20;

pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    pub fn start(bin: &Path, data: &Path, log: &Path) -> Result<Server> {
        let mut child = Command::new(bin)
            .args(["serve", "--data"])
            .arg(data)
            .args(["--listen", "127.0.0.1:0"])
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(log)?)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let Some(url) = line.trim().strip_prefix("shoebox-server listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(log).unwrap_or_default();
            return Err(format!("server did not start (stdout {line:?}); log:\n{log}").into());
        };
        let url = url.to_owned();
        // keep draining stdout so the server never blocks on a full pipe
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Ok(Server { child, url })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM for a clean shutdown, then SIGKILL if it takes too long.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn server_bin() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("SHOEBOX_SERVER_BIN") {
        return Ok(p.into());
    }
    // This bench runs as <target>/release/deps/ingest-<hash>; the server is <target>/release/.
    let exe = std::env::current_exe()?;
    let candidate = exe
        .parent()
        .and_then(Path::parent)
        .map(|release| release.join("shoebox-server"))
        .ok_or("cannot locate the target directory")?;
    if candidate.is_file() {
        return Ok(candidate);
    }
    Err(format!(
        "{} is missing: run `cargo build --release -p shoebox-server` first (make bench does), \
         or set SHOEBOX_SERVER_BIN",
        candidate.display()
    )
    .into())
}

pub fn create_admin_key(client: &Client, url: &str) -> Result<String> {
    let (email, password) = ("bench@shoebox.local", "bench-password-1");
    let resp = client
        .post(format!("{url}/api/auth/admin-sign-up"))
        .json(&json!({"email": email, "password": password, "name": "Bench"}))
        .send()?;
    expect_status(resp, 201, "admin-sign-up")?;
    let resp = client
        .post(format!("{url}/api/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()?;
    let login = expect_status(resp, 201, "login")?;
    let token = login["accessToken"]
        .as_str()
        .ok_or("login: no accessToken")?;
    let resp = client
        .post(format!("{url}/api/api-keys"))
        .bearer_auth(token)
        .json(&json!({"name": "bench", "permissions": ["all"]}))
        .send()?;
    let key = expect_status(resp, 201, "api-keys")?;
    Ok(key["secret"]
        .as_str()
        .ok_or("api-keys: no secret")?
        .to_owned())
}

pub fn expect_status(resp: reqwest::blocking::Response, want: u16, what: &str) -> Result<Value> {
    let status = resp.status().as_u16();
    let text = resp.text()?;
    if status != want {
        return Err(format!("{what}: HTTP {status} (expected {want}): {text}").into());
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `curl -T FILE [extra] URL`: stream FILE as the request body (no `Expect: 100-continue`
/// round trip). Returns the wall time, the status and the response headers.
pub fn curl_upload(
    extra: &[&str],
    file: &Path,
    url: &str,
    headers: &[String],
) -> Result<(f64, u16, String)> {
    let header_file = file.with_extension("response-headers");
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        "Expect:",
        "-D",
    ])
    .arg(&header_file)
    .arg("-T")
    .arg(file)
    .args(extra);
    for h in headers {
        cmd.args(["-H", h]);
    }
    cmd.arg(url);
    let start = Instant::now();
    let out = cmd.output()?;
    let secs = start.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!("curl failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let status = String::from_utf8_lossy(&out.stdout).trim().parse::<u16>()?;
    let response_headers = std::fs::read_to_string(&header_file).unwrap_or_default();
    let _ = std::fs::remove_file(&header_file);
    Ok((secs, status, response_headers))
}

pub fn header_value(headers: &str, name: &str) -> Option<String> {
    headers.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// Write `size` pseudo-random bytes (incompressible, reproducible); returns their SHA-1 (hex).
pub fn write_random_file(path: &Path, size: u64, seed: u64) -> Result<String> {
    let mut rng = XorShift(seed);
    let mut file = File::create(path)?;
    let mut hasher = Sha1::new();
    let mut buf = vec![0u8; MIB as usize];
    let mut left = size;
    while left > 0 {
        let n = left.min(MIB) as usize;
        rng.fill(&mut buf[..n]);
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n])?;
        left -= n as u64;
    }
    file.sync_all()?;
    Ok(hex::encode(hasher.finalize()))
}

pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// A `/proc/PID/status` field in KiB (VmRSS, VmHWM).
pub fn proc_status_kib(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("/proc/{pid}/status has no {field}").into())
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// 100,000 image rows spread over 120 months, straight into the server's database (WAL lets
/// the running server keep serving meanwhile).
pub fn insert_assets(db: &Path, owner: &str, count: usize) -> Result<()> {
    let mut c = rusqlite::Connection::open(db)?;
    c.busy_timeout(std::time::Duration::from_secs(30))?;
    let tx = c.transaction()?;
    {
        let mut stmt = tx.prepare(
            "INSERT INTO assets (id, owner_id, checksum, storage_path, original_file_name, \
             mime_type, asset_type, file_size, device_asset_id, device_id, file_created_at, \
             file_modified_at, created_at, updated_at, local_date_time, width, height) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'image/jpeg', 'IMAGE', 1000, ?5, ?6, ?7, ?7, ?7, ?7, ?7, 4000, 3000)",
        )?;
        for i in 0..count {
            let mut sum = [0u8; 20];
            sum[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let id = format!("00000000-0000-4000-8000-{i:012}");
            let month = i % 120;
            let (y, m) = (2015 + month / 12, month % 12 + 1);
            let t = format!(
                "{y}-{m:02}-{:02}T{:02}:{:02}:00.000Z",
                i % 28 + 1,
                i % 24,
                i % 60
            );
            let device = ["pixel-8", "iphone-15", "camera"][i % 3];
            stmt.execute(rusqlite::params![
                id,
                owner,
                &sum[..],
                format!("library/{owner}/bench/{i}"),
                format!("IMG_{i}.jpg"),
                device,
                t,
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}
