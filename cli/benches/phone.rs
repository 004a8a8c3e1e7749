//! Phone benchmarks (`make bench`, issue 12), the core in-process against the release server.
//! Each prints `bench <name>: ours=<v><unit> baseline=<v><unit> ratio=<x>` and a `target` line;
//! where there is no program to compare with, the baseline is the target itself.
//!
//! - `rescan_100k_unchanged`: a second scan of 100,000 unchanged files (stat only), ms.
//!   Baseline: `find -printf '%s %T@'` over the tree. Target: < 3000 ms.
//! - `adopt_100k_after_reinstall`: the first scan of a wiped client whose server already holds
//!   the 100,000 files for this device (rows written straight into the server's database), ms.
//!   No file may be read. Baseline: the same scan hashing every file (another device id).
//!   Target: < 10,000 ms, 0 files hashed.
//! - `reinstall_bytes_2k`: 2,000 files backed up for real, the client wiped, backed up again:
//!   file bytes read and sent. Target: 0.
//! - `window_overrun_ms`: 1 GiB in `run_for(3 s)` windows until done; the largest time past a
//!   window's budget, ms (negative: it ended early). Target: ≤ 1000 ms.
//!
//! - `metered_bytes_after_switch`: a 192 MiB video on a 16 MB/s link (a throttling proxy in
//!   this file), Wi-Fi → cellular with Wi-Fi only on, mid-chunk: bytes that still went out.
//!   Baseline: one second of the link. Target: ≤ 1 s of link rate.
//! - `photo_behind_video_s`: a 1 GiB video uploading on a 5 MB/s link; a photo taken then is on
//!   the server after how many seconds. Baseline: the photo alone on the same link. Target: ≤ 10 s.
//!
//! Knobs: `SHOEBOX_BENCH_PHONE_FILES` (100000), `SHOEBOX_BENCH_ROUNDS` (3),
//! `SHOEBOX_BENCH_STRICT=1`.

#[path = "../../server-stub/benches/support/mod.rs"]
mod support;

use reqwest::blocking::Client;
use sha1::{Digest, Sha1};
use shoebox_core::{BackupEngine, EngineConfig, FsLibrary, PhotoLibrary};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A TCP proxy that limits and counts client→server bytes (the phone's link).
struct Link {
    url: String,
    up: Arc<AtomicU64>,
}

fn start_link(rt: &tokio::runtime::Runtime, upstream: &str, rate: u64) -> Result<Link> {
    let upstream: std::net::SocketAddr = upstream
        .trim_start_matches("http://")
        .parse()
        .map_err(|e| format!("bad server address {upstream}: {e}"))?;
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let up = Arc::new(AtomicU64::new(0));
    let pacer = Arc::new(std::sync::Mutex::new(tokio::time::Instant::now()));
    let counter = up.clone();
    rt.spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                continue;
            };
            let (up, pacer) = (counter.clone(), pacer.clone());
            tokio::spawn(async move {
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let send = async {
                    let mut buf = vec![0u8; 16 << 10];
                    loop {
                        let n = cr.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        let wake = match pacer.lock() {
                            Ok(mut p) => {
                                let start = (*p).max(tokio::time::Instant::now());
                                *p = start + Duration::from_secs_f64(n as f64 / rate as f64);
                                *p
                            }
                            Err(_) => break,
                        };
                        tokio::time::sleep_until(wake).await;
                        if sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        up.fetch_add(n as u64, Ordering::SeqCst);
                    }
                    let _ = sw.shutdown().await;
                };
                let receive = tokio::io::copy(&mut sr, &mut cw);
                tokio::select! {
                    _ = send => {}
                    _ = receive => {}
                }
            });
        }
    });
    Ok(Link { url, up })
}

fn main() {
    if let Err(e) = run() {
        eprintln!("bench phone failed: {e}");
        std::process::exit(1);
    }
}

fn engine(
    url: &str,
    key: &str,
    state: &Path,
    lib: Arc<dyn PhotoLibrary>,
    device: &str,
) -> Result<BackupEngine> {
    let engine = BackupEngine::open(
        EngineConfig {
            server_url: url.to_owned(),
            api_key: key.to_owned(),
            state_dir: state.to_owned(),
            device_id: device.into(),
        },
        lib,
        None,
    )?;
    let (network, power) = shoebox_core::policy::Policy::desktop();
    engine.set_network(network);
    engine.set_power(power);
    Ok(engine)
}

/// `FsLibrary` counting the bytes read.
struct Counting {
    inner: FsLibrary,
    read: AtomicU64,
}

impl PhotoLibrary for Counting {
    fn albums(&self) -> shoebox_core::CoreResult<Vec<shoebox_core::Album>> {
        self.inner.albums()
    }
    fn assets(&self) -> shoebox_core::CoreResult<Vec<shoebox_core::LocalAsset>> {
        self.inner.assets()
    }
    fn stat(&self, id: &str) -> shoebox_core::CoreResult<Option<(u64, i64)>> {
        self.inner.stat(id)
    }
    fn read(&self, id: &str, offset: u64, len: u32) -> shoebox_core::CoreResult<Vec<u8>> {
        let b = self.inner.read(id, offset, len)?;
        self.read.fetch_add(b.len() as u64, Ordering::Relaxed);
        Ok(b)
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

/// The server's rows for every file of `lib`, as this device uploaded them (straight into its
/// database: uploading 100,000 files first would measure the seeding, not the adoption).
fn seed_server(db: &Path, owner: &str, device: &str, lib: &FsLibrary) -> Result<()> {
    let mut c = rusqlite::Connection::open(db)?;
    c.busy_timeout(Duration::from_secs(30))?;
    let tx = c.transaction()?;
    {
        let mut stmt = tx.prepare(
            "INSERT INTO assets (id, owner_id, checksum, storage_path, original_file_name, \
             mime_type, asset_type, file_size, device_asset_id, device_id, file_created_at, \
             file_modified_at, created_at, updated_at, local_date_time, width, height) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'image/jpeg', 'IMAGE', ?6, ?7, ?8, ?9, ?10, ?9, ?9, ?9, 1, 1)",
        )?;
        for (i, a) in lib.assets()?.into_iter().enumerate() {
            let bytes = lib.read(&a.local_id, 0, a.size as u32)?;
            let sum: [u8; 20] = Sha1::digest(&bytes).into();
            let iso = |ms: i64| {
                chrono::DateTime::from_timestamp_millis(ms)
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            };
            stmt.execute(rusqlite::params![
                format!("00000000-0000-4000-9000-{i:012}"),
                owner,
                &sum[..],
                format!("library/{owner}/phone-bench/{i}"),
                a.file_name,
                a.size as i64,
                a.local_id,
                device,
                iso(a.created_ms),
                iso(a.modified_ms),
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn run() -> Result<()> {
    let strict = std::env::var("SHOEBOX_BENCH_STRICT").is_ok_and(|v| v == "1");
    let rounds = env_num("SHOEBOX_BENCH_ROUNDS", 3).max(1);
    let n = env_num("SHOEBOX_BENCH_PHONE_FILES", 100_000);
    let tmp = tempfile::Builder::new()
        .prefix("shoebox-bench-phone-")
        .tempdir()?;
    let data = tmp.path().join("server-data");
    let server = Server::start(&server_bin()?, &data, &tmp.path().join("server.log"))?;
    let client = Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let key = create_admin_key(&client, &server.url)?;
    let me: serde_json::Value = client
        .get(format!("{}/api/users/me", server.url))
        .header("x-api-key", &key)
        .send()?
        .json()?;
    let owner = me["id"].as_str().ok_or("no user id")?.to_string();
    let rt = tokio::runtime::Runtime::new()?;
    let mut lines = Vec::new();

    // ---- a library of n small files, and the server's record of them for "phone-a" ----------
    let root = tmp.path().join("phone-lib");
    for i in 0..n {
        let dir = root.join(format!("Album {:02}", i % 50));
        if i < 50 {
            std::fs::create_dir_all(&dir)?;
        }
        std::fs::write(dir.join(format!("IMG_{i:06}.jpg")), (i + 7).to_le_bytes())?;
    }
    let fs_lib = FsLibrary::new(&root)?;
    seed_server(&data.join("shoebox.db"), &owner, "phone-a", &fs_lib)?;

    // ---- adopt_100k_after_reinstall ------------------------------------------------------------
    let (mut ours, mut base) = (vec![], vec![]);
    for round in 0..rounds {
        let lib = Arc::new(Counting {
            inner: FsLibrary::new(&root)?,
            read: AtomicU64::new(0),
        });
        let e = engine(
            &server.url,
            &key,
            &tmp.path().join(format!("st-adopt-{round}")),
            lib.clone(),
            "phone-a",
        )?;
        let t = Instant::now();
        let r = rt.block_on(e.scan())?;
        ours.push(t.elapsed().as_secs_f64() * 1000.0);
        if r.adopted != n || r.hashed_files != 0 || lib.read.load(Ordering::Relaxed) != 0 {
            return Err(format!(
                "adoption: {r:?}, {} bytes read",
                lib.read.load(Ordering::Relaxed)
            )
            .into());
        }
        // The same library from another device: every file hashed, each found by SHA-1.
        let other = engine(
            &server.url,
            &key,
            &tmp.path().join(format!("st-hash-{round}")),
            Arc::new(FsLibrary::new(&root)?),
            "phone-b",
        )?;
        let t = Instant::now();
        let r = rt.block_on(other.scan())?;
        base.push(t.elapsed().as_secs_f64() * 1000.0);
        if r.hashed_files != n {
            return Err(format!("hashing scan: {r:?}").into());
        }
        eprintln!(
            "bench: adopt round {}: {:.0} ms (hashing instead: {:.0} ms)",
            round + 1,
            ours[ours.len() - 1],
            base[base.len() - 1]
        );
    }
    let (o, b) = (median(ours), median(base));
    println!(
        "bench adopt_{}k_after_reinstall: ours={o:.0}ms baseline={b:.0}ms ratio={:.2}",
        n / 1000,
        o / b
    );
    lines.push((
        o < 10_000.0,
        format!(
            "target adopt_after_reinstall: < 10000 ms, nothing read: {}",
            verdict(o < 10_000.0)
        ),
    ));

    // ---- rescan_100k_unchanged -----------------------------------------------------------------
    let rescan = engine(
        &server.url,
        &key,
        &tmp.path().join("st-adopt-0"),
        Arc::new(FsLibrary::new(&root)?),
        "phone-a",
    )?;
    let (mut ours, mut base) = (vec![], vec![]);
    for _ in 0..rounds {
        let t = Instant::now();
        Command::new("find")
            .arg(&root)
            .args(["-type", "f", "-printf", "%s %T@\n"])
            .stdout(Stdio::null())
            .status()?;
        base.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let r = rt.block_on(rescan.scan())?;
        ours.push(t.elapsed().as_secs_f64() * 1000.0);
        if r.hashed_files != 0 || r.adopted != 0 {
            return Err(format!("unchanged rescan: {r:?}").into());
        }
    }
    let (o, b) = (median(ours), median(base));
    println!(
        "bench rescan_{}k_unchanged: ours={o:.0}ms baseline={b:.0}ms ratio={:.1}",
        n / 1000,
        o / b
    );
    lines.push((
        o < 3000.0,
        format!(
            "target rescan_unchanged: < 3000 ms: {}",
            verdict(o < 3000.0)
        ),
    ));
    drop(rescan);
    std::fs::remove_dir_all(&root)?;

    // ---- reinstall_bytes_2k --------------------------------------------------------------------
    let small = tmp.path().join("reinstall-lib/Camera");
    std::fs::create_dir_all(&small)?;
    for i in 0..2000u64 {
        write_random_file(&small.join(format!("IMG_{i:05}.jpg")), 4096 + i, 0xbee5 + i)?;
    }
    let lib_root = tmp.path().join("reinstall-lib");
    let first = engine(
        &server.url,
        &key,
        &tmp.path().join("st-first"),
        Arc::new(FsLibrary::new(&lib_root)?),
        "phone-c",
    )?;
    let r = rt.block_on(first.run())?;
    if r.uploaded != 2000 {
        return Err(format!("first backup: {r:?}").into());
    }
    let lib = Arc::new(Counting {
        inner: FsLibrary::new(&lib_root)?,
        read: AtomicU64::new(0),
    });
    let again = engine(
        &server.url,
        &key,
        &tmp.path().join("st-again"),
        lib.clone(),
        "phone-c",
    )?;
    let r = rt.block_on(again.run())?;
    let read = lib.read.load(Ordering::Relaxed);
    let library_bytes: u64 = (0..2000u64).map(|i| 4096 + i).sum();
    println!(
        "bench reinstall_bytes_2k: ours={}B baseline={library_bytes}B ratio={:.3} (file bytes read {read}, adopted {})",
        r.bytes_sent,
        r.bytes_sent as f64 / library_bytes as f64,
        r.scan.adopted
    );
    let ok = r.bytes_sent == 0 && read == 0;
    lines.push((
        ok,
        format!("target reinstall_bytes_2k: 0 bytes: {}", verdict(ok)),
    ));

    // ---- window_overrun_ms ---------------------------------------------------------------------
    let big = tmp.path().join("window-lib/Camera");
    std::fs::create_dir_all(&big)?;
    for i in 0..8u64 {
        write_random_file(&big.join(format!("VID_{i}.mp4")), 128 * MIB, 0xface + i)?;
    }
    let budget = Duration::from_secs(3);
    let mut worst = f64::MIN;
    let mut windows = 0;
    let windowed = engine(
        &server.url,
        &key,
        &tmp.path().join("st-window"),
        Arc::new(FsLibrary::new(tmp.path().join("window-lib"))?),
        "phone-d",
    )?;
    loop {
        windows += 1;
        let t = Instant::now();
        let r = rt.block_on(windowed.run_for(budget))?;
        worst = worst.max((t.elapsed().as_secs_f64() - budget.as_secs_f64()) * 1000.0);
        if (r.stopped.is_none() && r.remaining == 0) || windows > 100 {
            break;
        }
    }
    println!(
        "bench window_overrun_ms: ours={worst:.0}ms baseline=1000ms ratio={:.2} ({windows} windows of {budget:?} for 1 GiB)",
        worst.max(0.0) / 1000.0
    );
    lines.push((
        worst <= 1000.0,
        format!(
            "target window_overrun_ms: <= 1000 ms: {}",
            verdict(worst <= 1000.0)
        ),
    ));

    // ---- metered_bytes_after_switch ------------------------------------------------------------
    let rate = 16_000_000u64;
    let link = start_link(&rt, &server.url, rate)?;
    let metered = tmp.path().join("metered-lib/Camera");
    std::fs::create_dir_all(&metered)?;
    write_random_file(&metered.join("VID_long.mp4"), 192 * MIB, 0x3e7e)?;
    let phone = engine(
        &link.url,
        &key,
        &tmp.path().join("st-metered"),
        Arc::new(FsLibrary::new(tmp.path().join("metered-lib"))?),
        "phone-e",
    )?;
    let run = rt.spawn({
        let phone = phone.clone();
        async move { phone.run().await }
    });
    let waited = Instant::now();
    while link.up.load(Ordering::SeqCst) < 40 * MIB {
        if waited.elapsed() > Duration::from_secs(120) {
            return Err("the metered upload did not start".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    phone.set_network(shoebox_core::NetworkState {
        kind: shoebox_core::NetworkKind::Cellular,
        metered: true,
    });
    let at_switch = link.up.load(Ordering::SeqCst);
    let mut last = at_switch;
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
        let now = link.up.load(Ordering::SeqCst);
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
    let after = last - at_switch;
    phone.cancel();
    let _ = rt.block_on(run);
    println!(
        "bench metered_bytes_after_switch: ours={after}B baseline={rate}B ratio={:.3}",
        after as f64 / rate as f64
    );
    lines.push((
        after <= rate,
        format!(
            "target metered_bytes_after_switch: <= 1 s of the link: {}",
            verdict(after <= rate)
        ),
    ));

    // ---- photo_behind_video_s ------------------------------------------------------------------
    let rate = 5_000_000u64;
    let link = start_link(&rt, &server.url, rate)?;
    let lane = tmp.path().join("lane-lib/Camera");
    std::fs::create_dir_all(&lane)?;
    write_random_file(&lane.join("VID_huge.mp4"), 1024 * MIB, 0x1a7e)?;
    let phone = engine(
        &link.url,
        &key,
        &tmp.path().join("st-lane"),
        Arc::new(FsLibrary::new(tmp.path().join("lane-lib"))?),
        "phone-f",
    )?;
    let run = rt.spawn({
        let phone = phone.clone();
        async move { phone.run().await }
    });
    let waited = Instant::now();
    while link.up.load(Ordering::SeqCst) < 2 * MIB {
        if waited.elapsed() > Duration::from_secs(120) {
            return Err("the video upload did not start".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let photo_sha = write_random_file(&lane.join("IMG_new.jpg"), 3 * MIB, 0x1a7f)?;
    let taken = Instant::now();
    phone.library_changed();
    let on_server = |sha: &str| -> Result<bool> {
        let v: serde_json::Value = client
            .post(format!("{}/api/assets/bulk-upload-check", server.url))
            .header("x-api-key", &key)
            .json(&serde_json::json!({"assets": [{"id": "p", "checksum": sha}]}))
            .send()?
            .json()?;
        Ok(v["results"][0]["action"] == "reject")
    };
    while !on_server(&photo_sha)? {
        if taken.elapsed() > Duration::from_secs(120) {
            return Err("the photo never reached the server".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let behind = taken.elapsed().as_secs_f64();
    phone.cancel();
    let _ = rt.block_on(run);
    // The same photo alone on the same link, from another device (its own upload).
    let alone_lib = tmp.path().join("alone-lib/Camera");
    std::fs::create_dir_all(&alone_lib)?;
    write_random_file(&alone_lib.join("IMG_alone.jpg"), 3 * MIB, 0x1a80)?;
    let alone = engine(
        &link.url,
        &key,
        &tmp.path().join("st-alone"),
        Arc::new(FsLibrary::new(tmp.path().join("alone-lib"))?),
        "phone-g",
    )?;
    let t = Instant::now();
    rt.block_on(alone.run())?;
    let base = t.elapsed().as_secs_f64();
    println!(
        "bench photo_behind_video_s: ours={behind:.1}s baseline={base:.1}s ratio={:.2}",
        behind / base
    );
    lines.push((
        behind <= 10.0,
        format!(
            "target photo_behind_video_s: <= 10 s: {}",
            verdict(behind <= 10.0)
        ),
    ));

    let mut failed = false;
    for (ok, l) in &lines {
        println!("{l}");
        failed |= !ok;
    }
    if strict && failed {
        return Err("a target was missed".into());
    }
    Ok(())
}
