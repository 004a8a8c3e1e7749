//! Ingest benchmarks (`make bench`), run against the release `shoebox-server` binary.
//!
//! Prints one line per benchmark, exactly
//! `bench <name>: ours=<v><unit> baseline=<v><unit> ratio=<x>`, then one `target ...` line each.
//!
//! - `tus_upload_1gib`: one tus PATCH of 1 GiB sent by curl, MiB/s. Baseline: the same curl
//!   upload into a plain file sink (std TcpListener, 1 MiB buffer, fsync, 201) in this process.
//!   Target: ratio >= 0.8.
//! - `tus_peak_rss_1gib`: the server's peak RSS (VmHWM) while it receives that upload, MiB.
//!   Baseline: its RSS right after start-up. Target: peak < 64 MiB.
//! - `bulk_upload_check_10k`: `POST /api/assets/bulk-upload-check` with 10,000 checksums, 1,000
//!   of them assets already stored; median ms of 5. Baseline: median of `GET /api/users/me`.
//!   Target: < 100 ms.
//!
//! - The media-pipeline benchmarks (`thumbs_12mp`, `timeline_*_100k`, `sync_delta_unchanged_100k`)
//!   are described in `media/mod.rs`; `SHOEBOX_BENCH_ONLY=media` runs only those.
//! - The machine-learning benchmarks (`ml_faces_*_1440`, `ml_labels_1440`, `ml_pipeline_2cores`)
//!   are described in `ml/mod.rs`; `SHOEBOX_BENCH_ONLY=ml` runs only those (needs `make models`).
//!
//! Environment: `SHOEBOX_SERVER_BIN` (default: `shoebox-server` next to this bench's
//! `deps/` directory, i.e. `${CARGO_TARGET_DIR:-target}/release/shoebox-server`),
//! `SHOEBOX_BENCH_UPLOAD_MIB` (default 1024), `SHOEBOX_BENCH_ROUNDS` (default 5; the median of paired per-round ratios counts),
//! `SHOEBOX_BENCH_TMPDIR` (default the system temp dir), `SHOEBOX_BENCH_STRICT=1` (exit 1 when
//! a target is missed).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::blocking::{Client, multipart};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

const TUS: &str = "1.0.0";
const EXISTING_ASSETS: usize = 1_000;
const CHECKSUMS: usize = 10_000;
const BULK_SAMPLES: usize = 5;
const PING_SAMPLES: usize = 21;

mod media;
mod ml;
mod support;
use support::*;

fn main() {
    if let Err(e) = run() {
        eprintln!("bench ingest failed: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let upload_mib: u64 = env_num("SHOEBOX_BENCH_UPLOAD_MIB", 1024);
    let rounds: u64 = env_num("SHOEBOX_BENCH_ROUNDS", 5).max(1);
    let strict = std::env::var("SHOEBOX_BENCH_STRICT").is_ok_and(|v| v == "1");
    let bin = server_bin()?;
    Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("curl is needed for this bench: {e}"))?;

    let mut builder = tempfile::Builder::new();
    builder.prefix("shoebox-bench-");
    let tmp = match std::env::var_os("SHOEBOX_BENCH_TMPDIR") {
        Some(dir) => builder.tempdir_in(dir)?,
        None => builder.tempdir()?,
    };
    if std::env::var("SHOEBOX_BENCH_ONLY").is_ok_and(|v| v == "ml") {
        let outcome = ml::run(&bin, tmp.path())?;
        for (_, line) in &outcome.lines {
            println!("{line}");
        }
        if strict && outcome.lines.iter().any(|(ok, _)| !ok) {
            return Err("a target was missed (SHOEBOX_BENCH_STRICT=1)".into());
        }
        return Ok(());
    }
    if std::env::var("SHOEBOX_BENCH_ONLY").is_ok_and(|v| v == "media") {
        let client = Client::builder().no_proxy().build()?;
        let outcome = media::run(&bin, tmp.path(), &client)?;
        for (_, line) in &outcome.lines {
            println!("{line}");
        }
        if strict && outcome.lines.iter().any(|(ok, _)| !ok) {
            return Err("a target was missed (SHOEBOX_BENCH_STRICT=1)".into());
        }
        return Ok(());
    }
    let server = Server::start(
        &bin,
        &tmp.path().join("server-data"),
        &tmp.path().join("server.log"),
    )?;
    let idle_rss = proc_status_kib(server.pid(), "VmRSS")?;
    let client = Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let key = create_admin_key(&client, &server.url)?;

    // ---- tus_upload_1gib / tus_peak_rss_1gib -------------------------------------------------
    let size = upload_mib * MIB;
    let source = tmp.path().join("upload.bin");
    eprintln!("bench: writing a {upload_mib} MiB source file");
    let sha1_hex = write_random_file(&source, size, 0x5eed_b0c5_1234)?;
    let sink = Sink::start(tmp.path().join("sink"))?;

    // Peak RSS should cover receiving the upload, not account set-up (argon2 uses ~19 MiB).
    let hwm_reset = std::fs::write(format!("/proc/{}/clear_refs", server.pid()), "5").is_ok();
    // Page-cache writeback on a shared VM swings single runs by 2x in either direction, so each
    // round measures the sink and us back to back and the median of the paired ratios counts.
    let (mut all_ours, mut all_base, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        let sink_url = format!("http://{}/sink", sink.addr);
        // Start each measurement with no dirty pages left over from the previous one.
        unsafe { libc::sync() };
        let (secs, status, _) = curl_upload(&[], &source, &sink_url, &[])?;
        if status != 201 {
            return Err(format!("sink answered HTTP {status}").into());
        }
        let base = upload_mib as f64 / secs;
        unsafe { libc::sync() };
        let (secs, asset_id) = tus_upload(&client, &server.url, &key, &source, size, &sha1_hex)?;
        let ours = upload_mib as f64 / secs;
        eprintln!(
            "bench: round {round}/{rounds}: sink {base:.1} MiB/s, shoebox tus {ours:.1} MiB/s"
        );
        all_base.push(base);
        all_ours.push(ours);
        ratios.push(ours / base);
        // Make room for the next round (the same bytes would be answered as a duplicate).
        let resp = client
            .delete(format!("{}/api/assets", server.url))
            .header("x-api-key", &key)
            .json(&json!({"ids": [asset_id], "force": true}))
            .send()?;
        expect_status(resp, 204, "DELETE /api/assets")?;
    }
    let peak_rss = proc_status_kib(server.pid(), "VmHWM")?;
    std::fs::remove_file(&source)?;
    let (ours, base, ratio) = (median(all_ours), median(all_base), median(ratios));
    println!("bench tus_upload_1gib: ours={ours:.1}MiB/s baseline={base:.1}MiB/s ratio={ratio:.2}");
    let (peak_mib, idle_mib) = (peak_rss as f64 / 1024.0, idle_rss as f64 / 1024.0);
    println!(
        "bench tus_peak_rss_1gib: ours={peak_mib:.1}MiB baseline={idle_mib:.1}MiB ratio={:.2}",
        peak_mib / idle_mib
    );
    if !hwm_reset {
        eprintln!("bench: note: could not reset VmHWM; the peak includes start-up and sign-up");
    }

    // ---- bulk_upload_check_10k ---------------------------------------------------------------
    eprintln!("bench: uploading {EXISTING_ASSETS} small assets (multipart)");
    let existing = upload_small_assets(&client, &server.url, &key, EXISTING_ASSETS)?;
    let mut rng = XorShift(0xb01c_c4ec);
    let mut checksums = existing;
    while checksums.len() < CHECKSUMS {
        let mut digest = [0u8; 20];
        rng.fill(&mut digest);
        checksums.push(hex::encode(digest));
    }
    for i in (1..checksums.len()).rev() {
        checksums.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    let body = serde_json::to_vec(&json!({
        "assets": checksums.iter().enumerate()
            .map(|(i, c)| json!({"id": format!("bench-{i}"), "checksum": c}))
            .collect::<Vec<_>>()
    }))?;
    let check_url = format!("{}/api/assets/bulk-upload-check", server.url);
    let bulk_check = || -> Result<(f64, Vec<u8>)> {
        let start = Instant::now();
        let resp = client
            .post(&check_url)
            .header("x-api-key", &key)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes()?.to_vec();
        let ms = start.elapsed().as_secs_f64() * 1e3;
        if status != 200 {
            return Err(format!(
                "bulk-upload-check: HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
            )
            .into());
        }
        Ok((ms, bytes))
    };
    // warm-up, and check the answer once
    let (_, bytes) = bulk_check()?;
    let results: Value = serde_json::from_slice(&bytes)?;
    let results = results["results"]
        .as_array()
        .ok_or("bulk-upload-check: no results")?;
    let rejected = results.iter().filter(|r| r["action"] == "reject").count();
    if results.len() != CHECKSUMS || rejected != EXISTING_ASSETS {
        return Err(format!(
            "bulk-upload-check answered {} results with {rejected} rejects, expected {CHECKSUMS} with {EXISTING_ASSETS}",
            results.len()
        )
        .into());
    }
    let mut samples = Vec::new();
    for _ in 0..BULK_SAMPLES {
        samples.push(bulk_check()?.0);
    }
    let ours_ms = median(samples);
    let me_url = format!("{}/api/users/me", server.url);
    let mut samples = Vec::new();
    for i in 0..PING_SAMPLES + 3 {
        let start = Instant::now();
        let resp = client.get(&me_url).header("x-api-key", &key).send()?;
        let status = resp.status().as_u16();
        resp.bytes()?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        if status != 200 {
            return Err(format!("GET /api/users/me: HTTP {status}").into());
        }
        if i >= 3 {
            samples.push(ms);
        }
    }
    let base_ms = median(samples);
    println!(
        "bench bulk_upload_check_10k: ours={ours_ms:.2}ms baseline={base_ms:.3}ms ratio={:.1}",
        ours_ms / base_ms
    );

    // ---- targets -----------------------------------------------------------------------------
    let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
    let targets = [
        (
            ratio >= 0.8,
            format!(
                "target tus_upload_1gib: ratio >= 0.8: {}",
                verdict(ratio >= 0.8)
            ),
        ),
        (
            peak_mib < 64.0,
            format!(
                "target tus_peak_rss_1gib: peak {peak_mib:.1}MiB < 64MiB: {}",
                verdict(peak_mib < 64.0)
            ),
        ),
        (
            ours_ms < 100.0,
            format!(
                "target bulk_upload_check_10k: {ours_ms:.2}ms < 100ms: {}",
                verdict(ours_ms < 100.0)
            ),
        ),
    ];
    for (_, line) in &targets {
        println!("{line}");
    }
    drop(server);
    let media = media::run(&bin, tmp.path(), &client)?;
    for (_, line) in &media.lines {
        println!("{line}");
    }
    let ml = ml::run(&bin, tmp.path())?;
    for (_, line) in &ml.lines {
        println!("{line}");
    }
    let missed = targets
        .iter()
        .chain(media.lines.iter())
        .chain(ml.lines.iter())
        .any(|(ok, _)| !ok);
    if strict && missed {
        return Err("a target was missed (SHOEBOX_BENCH_STRICT=1)".into());
    }
    Ok(())
}

// ---- the server under test -------------------------------------------------------------------

/// Create a tus upload and send the whole file in one PATCH with curl; returns the PATCH's
/// wall time and the asset id.
fn tus_upload(
    client: &Client,
    url: &str,
    key: &str,
    file: &Path,
    size: u64,
    sha1_hex: &str,
) -> Result<(f64, String)> {
    let meta = [
        ("filename", "bench-1gib.mp4"),
        ("filetype", "video/mp4"),
        ("checksum", sha1_hex),
        ("deviceAssetId", "bench-1gib"),
        ("deviceId", "shoebox-bench"),
        ("fileCreatedAt", "2024-01-01T00:00:00.000Z"),
        ("fileModifiedAt", "2024-01-01T00:00:00.000Z"),
    ]
    .iter()
    .map(|(k, v)| format!("{k} {}", B64.encode(v)))
    .collect::<Vec<_>>()
    .join(",");
    let resp = client
        .post(format!("{url}/api/upload"))
        .header("x-api-key", key)
        .header("Tus-Resumable", TUS)
        .header("Upload-Length", size.to_string())
        .header("Upload-Metadata", meta)
        .send()?;
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if status != 201 {
        return Err(format!("POST /api/upload: HTTP {status}: {}", resp.text()?).into());
    }
    let location = location.ok_or("POST /api/upload: no Location")?;
    let upload_url = if location.starts_with("http") {
        location
    } else {
        format!("{url}{location}")
    };
    let headers = [
        "Content-Type: application/offset+octet-stream".to_owned(),
        format!("Tus-Resumable: {TUS}"),
        "Upload-Offset: 0".to_owned(),
        format!("x-api-key: {key}"),
    ];
    let (secs, status, response_headers) =
        curl_upload(&["-X", "PATCH"], file, &upload_url, &headers)?;
    if status != 204 {
        return Err(format!("tus PATCH: HTTP {status}\n{response_headers}").into());
    }
    let asset_status = header_value(&response_headers, "shoebox-asset-status");
    if asset_status.as_deref() != Some("created") {
        return Err(
            format!("tus PATCH finished with Shoebox-Asset-Status {asset_status:?}").into(),
        );
    }
    let asset_id =
        header_value(&response_headers, "shoebox-asset-id").ok_or("no Shoebox-Asset-Id")?;
    Ok((secs, asset_id))
}

// ---- baseline: a plain file sink -------------------------------------------------------------

/// A minimal HTTP/1.1 server that writes each request body to a file (1 MiB buffer), fsyncs it,
/// answers 201 and deletes the file again.
struct Sink {
    addr: std::net::SocketAddr,
}

impl Sink {
    fn start(dir: PathBuf) -> Result<Sink> {
        std::fs::create_dir_all(&dir)?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let counter = Arc::new(AtomicU64::new(0));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = sink_one(stream, &dir.join(format!("body-{n}"))) {
                    eprintln!("bench: sink error: {e}");
                }
            }
        });
        Ok(Sink { addr })
    }
}

fn sink_one(stream: TcpStream, path: &Path) -> Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::with_capacity(MIB as usize, stream);
    let (mut length, mut expect_continue) = (0u64, false);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err("connection closed in the headers".into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse()?;
            } else if k.eq_ignore_ascii_case("expect")
                && v.trim().eq_ignore_ascii_case("100-continue")
            {
                expect_continue = true;
            }
        }
    }
    if expect_continue {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let mut file = File::create(path)?;
    let mut buf = vec![0u8; MIB as usize];
    let mut remaining = length;
    while remaining > 0 {
        let want = remaining.min(buf.len() as u64) as usize;
        let n = reader.read(&mut buf[..want])?;
        if n == 0 {
            return Err("connection closed in the body".into());
        }
        file.write_all(&buf[..n])?;
        remaining -= n as u64;
    }
    file.sync_all()?;
    drop(file);
    writer.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
    writer.flush()?;
    std::fs::remove_file(path)?;
    Ok(())
}

// ---- helpers ---------------------------------------------------------------------------------

/// Upload `count` small distinct files with `POST /api/assets` (4 connections); returns their
/// SHA-1s (hex).
fn upload_small_assets(client: &Client, url: &str, key: &str, count: usize) -> Result<Vec<String>> {
    const THREADS: usize = 4;
    let results: Vec<Result<Vec<String>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                scope.spawn(move || -> Result<Vec<String>> {
                    let mut rng = XorShift(0x5a11_0000 + t as u64);
                    let mut sums = Vec::new();
                    for i in (t..count).step_by(THREADS) {
                        let mut data = vec![0u8; 512 + (rng.next() % 1536) as usize];
                        rng.fill(&mut data);
                        data[..8].copy_from_slice(&(i as u64).to_le_bytes());
                        let sha1 = hex::encode(Sha1::digest(&data));
                        let name = format!("bench-{i:05}.jpg");
                        let form = multipart::Form::new()
                            .part(
                                "assetData",
                                multipart::Part::bytes(data).file_name(name.clone()),
                            )
                            .text("deviceAssetId", name)
                            .text("deviceId", "shoebox-bench")
                            .text("fileCreatedAt", "2024-01-01T00:00:00.000Z")
                            .text("fileModifiedAt", "2024-01-01T00:00:00.000Z");
                        let resp = client
                            .post(format!("{url}/api/assets"))
                            .header("x-api-key", key)
                            .multipart(form)
                            .send()?;
                        expect_status(resp, 201, "POST /api/assets")?;
                        sums.push(sha1);
                    }
                    Ok(sums)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("upload thread panicked"))
            .collect()
    });
    let mut all = Vec::with_capacity(count);
    for r in results {
        all.extend(r?);
    }
    Ok(all)
}
