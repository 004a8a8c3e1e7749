//! Client benchmarks (`make bench`), against the release server and CLI. Each prints
//! `bench <name>: ours=<v><unit> baseline=<v><unit> ratio=<x>` and a `target` line.
//!
//! - `scan_hash_2gib`: the engine's scan (list, SHA-1 every file, ask the server) of 2 GiB in
//!   16 files with an empty client database, MiB/s. Baseline: `sha1sum` over the same files.
//!   Both read from the page cache. Target: ratio ≥ 0.9.
//! - `rescan_20k_unchanged`: a second scan of 20,000 files that did not change (stat only),
//!   ms. Baseline: `find -printf '%s %T@'` over the tree (a bare stat walk). Target: < 1000 ms.
//! - `backup_1gib`: `shoebox backup` of one 1 GiB file, MiB/s. Baseline: `curl -T` of the same
//!   bytes as one tus PATCH to the same server. Target: ratio ≥ 0.8.
//! - `backup_upload_phase_1gib`: the same backup in-process with the hashing scan done first,
//!   timing only the upload, as a ratio to curl (where the end-to-end time goes).
//! - `backup_peak_rss_1gib`: the CLI's peak RSS during that backup, MiB (baseline: its peak on
//!   an empty folder). Target: < 64 MiB.
//!
//! Knobs: `SHOEBOX_BENCH_HASH_MIB` (2048), `SHOEBOX_BENCH_RESCAN_FILES` (20000),
//! `SHOEBOX_BENCH_UPLOAD_MIB` (1024), `SHOEBOX_BENCH_ROUNDS` (3), `SHOEBOX_BENCH_STRICT=1`.

#[path = "../../server-stub/benches/support/mod.rs"]
mod support;

use reqwest::blocking::Client;
use serde_json::json;
use shoebox_core::{BackupEngine, EngineConfig, FsLibrary};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

fn main() {
    if let Err(e) = run() {
        eprintln!("bench backup failed: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let strict = std::env::var("SHOEBOX_BENCH_STRICT").is_ok_and(|v| v == "1");
    let rounds = env_num("SHOEBOX_BENCH_ROUNDS", 3).max(1);
    let tmp = tempfile::Builder::new()
        .prefix("shoebox-bench-cli-")
        .tempdir()?;
    let server = Server::start(
        &server_bin()?,
        &tmp.path().join("server-data"),
        &tmp.path().join("server.log"),
    )?;
    let client = Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let key = create_admin_key(&client, &server.url)?;
    let rt = tokio::runtime::Runtime::new()?;
    let mut lines = Vec::new();

    // ---- scan_hash_2gib --------------------------------------------------------------------
    let hash_mib = env_num("SHOEBOX_BENCH_HASH_MIB", 2048);
    let lib = tmp.path().join("hash-lib/Camera");
    std::fs::create_dir_all(&lib)?;
    let files = 16u64;
    let mut paths = Vec::new();
    for i in 0..files {
        let p = lib.join(format!("VID_{i:03}.mp4"));
        write_random_file(&p, hash_mib * MIB / files, 0x5ca1ab1e + i)?;
        paths.push(p);
    }
    let (mut ours, mut base, mut ratios) = (vec![], vec![], vec![]);
    for round in 0..rounds {
        let t = Instant::now();
        let st = Command::new("sha1sum")
            .args(&paths)
            .stdout(Stdio::null())
            .status()?;
        if !st.success() {
            return Err("sha1sum failed".into());
        }
        let b = hash_mib as f64 / t.elapsed().as_secs_f64();
        let engine = engine(
            &server.url,
            &key,
            &tmp.path().join(format!("st-hash-{round}")),
            &lib,
        )?;
        let t = Instant::now();
        let report = rt.block_on(engine.scan())?;
        let o = hash_mib as f64 / t.elapsed().as_secs_f64();
        if report.hashed_files != files {
            return Err(format!("scan hashed {} files, not {files}", report.hashed_files).into());
        }
        eprintln!(
            "bench: scan round {}: sha1sum {b:.0} MiB/s, ours {o:.0} MiB/s",
            round + 1
        );
        base.push(b);
        ours.push(o);
        ratios.push(o / b);
    }
    let ratio = median(ratios);
    println!(
        "bench scan_hash_2gib: ours={:.0}MiB/s baseline={:.0}MiB/s ratio={ratio:.2}",
        median(ours),
        median(base)
    );
    lines.push((
        ratio >= 0.9,
        format!(
            "target scan_hash_2gib: ratio >= 0.9: {}",
            verdict(ratio >= 0.9)
        ),
    ));
    for p in &paths {
        std::fs::remove_file(p)?;
    }

    // ---- rescan_20k_unchanged ----------------------------------------------------------------
    let n = env_num("SHOEBOX_BENCH_RESCAN_FILES", 20_000);
    let root = tmp.path().join("rescan-lib");
    for i in 0..n {
        let dir = root.join(format!("Album {:02}", i % 20));
        if i < 20 {
            std::fs::create_dir_all(&dir)?;
        }
        std::fs::write(dir.join(format!("IMG_{i:05}.jpg")), i.to_le_bytes())?;
    }
    let rescan = engine(&server.url, &key, &tmp.path().join("st-rescan"), &root)?;
    rt.block_on(rescan.scan())?;
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
        let report = rt.block_on(rescan.scan())?;
        ours.push(t.elapsed().as_secs_f64() * 1000.0);
        if report.hashed_files != 0 {
            return Err(format!("unchanged rescan hashed {} files", report.hashed_files).into());
        }
    }
    let (o, b) = (median(ours), median(base));
    println!(
        "bench rescan_20k_unchanged: ours={o:.0}ms baseline={b:.0}ms ratio={:.1}",
        o / b
    );
    lines.push((
        o < 1000.0,
        format!(
            "target rescan_20k_unchanged: {o:.0}ms < 1000ms: {}",
            verdict(o < 1000.0)
        ),
    ));

    // ---- backup_1gib / backup_peak_rss_1gib ----------------------------------------------------
    let upload_mib = env_num("SHOEBOX_BENCH_UPLOAD_MIB", 1024);
    let big_lib = tmp.path().join("big-lib");
    std::fs::create_dir_all(big_lib.join("Videos"))?;
    let big = big_lib.join("Videos/big.mp4");
    let sha = write_random_file(&big, upload_mib * MIB, 0xb16_f11e)?;
    let cli = PathBuf::from(env!("CARGO_BIN_EXE_shoebox"));
    let empty = tmp.path().join("empty-lib");
    std::fs::create_dir_all(&empty)?;
    let (_, idle_rss) = cli_backup(
        &cli,
        &server.url,
        &key,
        &tmp.path().join("st-empty"),
        &empty,
    )?;
    let (mut ours, mut base, mut ratios, mut peak) = (vec![], vec![], vec![], 0u64);
    let mut phase = vec![];
    for round in 0..rounds {
        let b = upload_mib as f64 / curl_tus(&client, &server.url, &key, &big, upload_mib * MIB)?;
        delete_all(&client, &server.url, &key, &sha)?;
        let (secs, rss) = cli_backup(
            &cli,
            &server.url,
            &key,
            &tmp.path().join(format!("st-big-{round}")),
            &big_lib,
        )?;
        let o = upload_mib as f64 / secs;
        delete_all(&client, &server.url, &key, &sha)?;
        // The same backup in-process, timing the upload phase alone (hashing done by a scan
        // first), to show where the time goes.
        let phase_engine = engine(
            &server.url,
            &key,
            &tmp.path().join(format!("st-phase-{round}")),
            &big_lib,
        )?;
        rt.block_on(phase_engine.scan())?;
        let t = Instant::now();
        let r = rt.block_on(phase_engine.run())?;
        let up = upload_mib as f64 / t.elapsed().as_secs_f64();
        if r.uploaded != 1 {
            return Err(format!("upload phase uploaded {} files", r.uploaded).into());
        }
        delete_all(&client, &server.url, &key, &sha)?;
        phase.push(up / b);
        eprintln!(
            "bench: backup round {}: curl {b:.0} MiB/s, shoebox {o:.0} MiB/s \
             (upload phase {up:.0} MiB/s), rss {rss} KiB",
            round + 1
        );
        peak = peak.max(rss);
        base.push(b);
        ours.push(o);
        ratios.push(o / b);
    }
    let ratio = median(ratios);
    println!(
        "bench backup_1gib: ours={:.0}MiB/s baseline={:.0}MiB/s ratio={ratio:.2}",
        median(ours),
        median(base)
    );
    let phase = median(phase);
    println!(
        "bench backup_upload_phase_1gib: ours={phase:.2}x baseline=1.00x ratio={phase:.2} \
         (the upload alone, hashing done first, vs curl)"
    );
    let (peak_mib, idle_mib) = (peak as f64 / 1024.0, idle_rss as f64 / 1024.0);
    println!(
        "bench backup_peak_rss_1gib: ours={peak_mib:.1}MiB baseline={idle_mib:.1}MiB ratio={:.2}",
        peak_mib / idle_mib
    );
    lines.push((
        ratio >= 0.8,
        format!(
            "target backup_1gib: ratio >= 0.8: {}",
            verdict(ratio >= 0.8)
        ),
    ));
    lines.push((
        peak_mib < 64.0,
        format!(
            "target backup_peak_rss_1gib: peak {peak_mib:.1}MiB < 64MiB: {}",
            verdict(peak_mib < 64.0)
        ),
    ));
    drop(server);
    for (_, l) in &lines {
        println!("{l}");
    }
    if strict && lines.iter().any(|(ok, _)| !ok) {
        return Err("a target was missed (SHOEBOX_BENCH_STRICT=1)".into());
    }
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

fn engine(url: &str, key: &str, state: &Path, lib: &Path) -> Result<BackupEngine> {
    let engine = BackupEngine::open(
        EngineConfig {
            server_url: url.to_owned(),
            api_key: key.to_owned(),
            state_dir: state.to_owned(),
            device_id: "bench".into(),
        },
        Arc::new(FsLibrary::new(lib)?),
        None,
    )?;
    let (network, power) = shoebox_core::policy::Policy::desktop();
    engine.set_network(network);
    engine.set_power(power);
    Ok(engine)
}

/// Runs `shoebox backup`; returns (seconds, peak RSS in KiB sampled from /proc).
fn cli_backup(cli: &Path, url: &str, key: &str, state: &Path, lib: &Path) -> Result<(f64, u64)> {
    let t = Instant::now();
    let child = Command::new(cli)
        .arg("--state")
        .arg(state)
        .args(["backup", "--json"])
        .arg(lib)
        .env("SHOEBOX_SERVER", url)
        .env("SHOEBOX_API_KEY", key)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    // wait4 reaps the child and reports its exact peak RSS (ru_maxrss, KiB on Linux).
    let mut raw_status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let reaped = unsafe { libc::wait4(pid, &mut raw_status, 0, &mut usage) };
    if reaped != pid {
        return Err(format!("wait4 failed: {}", std::io::Error::last_os_error()).into());
    }
    drop(child);
    let peak = usage.ru_maxrss as u64;
    let ok = libc::WIFEXITED(raw_status) && libc::WEXITSTATUS(raw_status) == 0;
    let secs = t.elapsed().as_secs_f64();
    if !ok {
        return Err(format!("shoebox backup failed (wait status {raw_status})").into());
    }
    Ok((secs, peak))
}

/// One tus PATCH of `file` by curl (after a POST to create it); seconds.
fn curl_tus(client: &Client, url: &str, key: &str, file: &Path, size: u64) -> Result<f64> {
    let resp = client
        .post(format!("{url}/api/upload"))
        .header("x-api-key", key)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", size.to_string())
        .send()?;
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Location")?
        .to_owned();
    let headers = [
        format!("x-api-key: {key}"),
        "Tus-Resumable: 1.0.0".to_string(),
        "Upload-Offset: 0".to_string(),
        "Content-Type: application/offset+octet-stream".to_string(),
    ];
    let (secs, status, _) = curl_upload(
        &["-X", "PATCH"],
        file,
        &format!("{url}{location}"),
        &headers,
    )?;
    if status != 204 {
        return Err(format!("curl PATCH answered {status}").into());
    }
    Ok(secs)
}

/// Deletes the asset with this SHA-1 for good, so the next round uploads it again.
fn delete_all(client: &Client, url: &str, key: &str, sha: &str) -> Result<()> {
    let v: serde_json::Value = client
        .post(format!("{url}/api/assets/bulk-upload-check"))
        .header("x-api-key", key)
        .json(&json!({"assets": [{"id": "x", "checksum": sha}]}))
        .send()?
        .json()?;
    if let Some(id) = v["results"][0]["assetId"].as_str() {
        client
            .delete(format!("{url}/api/assets"))
            .header("x-api-key", key)
            .json(&json!({"ids": [id], "force": true}))
            .send()?;
    }
    Ok(())
}
