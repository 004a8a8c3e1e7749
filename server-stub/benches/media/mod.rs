//! Media-pipeline benchmarks (part of `make bench`, run by `ingest.rs`).
//!
//! - `thumbs_12mp`: thumbnail (WebP, 250 px short side) + preview (JPEG, 1440 px long side) of
//!   12 MP JPEGs (4000×3000, made by ffmpeg's `testsrc2` with noise), ms per image, by
//!   `shoebox-server thumbs` (the worker's code, one file per core). Baseline: `vipsthumbnail`
//!   making the same two sizes (`-s 1440` → JPEG Q80, `-s 10000x250` → WebP Q80), both runs
//!   timed. ratio = baseline / ours (≥ 1.0: at least as fast as libvips). Best of 3 rounds each.
//! - `timeline_buckets_100k` / `timeline_bucket_100k`: `GET /api/timeline/buckets` and one
//!   month's `GET /api/timeline/bucket` on a library of 100,000 assets (10 years, ~830 a
//!   month), median ms over HTTP. The rows are inserted straight into the running server's
//!   SQLite database by this bench (uploading 100,000 files would take minutes and measure
//!   ingest, not browsing). Baseline: median `GET /api/users/me`. Target: < 20 ms each.
//! - `sync_delta_unchanged_100k`: `GET /api/sync/delta` with the head cursor on that library
//!   (the "nothing changed" phone sync). Target: < 20 ms.

use super::{Result, Server, create_admin_key, insert_assets, median};
use reqwest::blocking::Client;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const IMAGES: usize = 6;
const ASSETS: usize = 100_000;
const SAMPLES: usize = 21;

pub struct Outcome {
    pub lines: Vec<(bool, String)>,
}

pub fn run(bin: &Path, tmp: &Path, client: &Client) -> Result<Outcome> {
    let mut lines = Vec::new();
    // ---- thumbnails ------------------------------------------------------------------------
    let src = tmp.join("jpegs");
    std::fs::create_dir_all(&src)?;
    let st = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=4000x3000:rate=1",
        ])
        .args([
            "-vf",
            "noise=alls=12:allf=t",
            "-frames:v",
            &IMAGES.to_string(),
            "-q:v",
            "3",
        ])
        .arg(src.join("img%02d.jpg"))
        .status()
        .map_err(|e| format!("ffmpeg is needed for this bench: {e}"))?;
    if !st.success() {
        return Err("ffmpeg could not make the test JPEGs".into());
    }
    let files: Vec<_> = (1..=IMAGES)
        .map(|i| src.join(format!("img{i:02}.jpg")))
        .collect();
    let time = |cmds: &mut dyn FnMut() -> Result<()>| -> Result<f64> {
        let mut best = f64::MAX;
        for _ in 0..3 {
            let start = Instant::now();
            cmds()?;
            best = best.min(start.elapsed().as_secs_f64() * 1e3 / IMAGES as f64);
        }
        Ok(best)
    };
    let out = tmp.join("ours");
    let ours = time(&mut || {
        let st = Command::new(bin)
            .arg("thumbs")
            .arg("--out")
            .arg(&out)
            .args(&files)
            .status()?;
        if st.success() {
            Ok(())
        } else {
            Err("shoebox-server thumbs failed".into())
        }
    })?;
    let vips_out = tmp.join("vips");
    std::fs::create_dir_all(&vips_out)?;
    let base = time(&mut || {
        for (size, target) in [
            ("1440", "%s-preview.jpg[Q=80]"),
            ("10000x250", "%s-thumbnail.webp[Q=80]"),
        ] {
            let st = Command::new("vipsthumbnail")
                .args(&files)
                .args(["-s", size, "-o"])
                .arg(vips_out.join(target))
                .status()
                .map_err(|e| format!("vipsthumbnail (libvips-tools) is needed: {e}"))?;
            if !st.success() {
                return Err("vipsthumbnail failed".into());
            }
        }
        Ok(())
    })?;
    let ratio = base / ours;
    println!("bench thumbs_12mp: ours={ours:.1}ms baseline={base:.1}ms ratio={ratio:.2}");
    lines.push((
        ratio >= 1.0,
        format!("target thumbs_12mp: ratio >= 1.0: {}", ok(ratio >= 1.0)),
    ));

    // ---- timeline on 100k assets -------------------------------------------------------------
    let data = tmp.join("timeline-data");
    std::fs::create_dir_all(&data)?;
    let server = Server::start(bin, &data, &tmp.join("timeline.log"))?;
    let key = create_admin_key(client, &server.url)?;
    let me: Value = client
        .get(format!("{}/api/users/me", server.url))
        .header("x-api-key", &key)
        .send()?
        .json()?;
    let owner = me["id"].as_str().ok_or("no user id")?.to_owned();
    let started = Instant::now();
    insert_assets(&data.join("shoebox.db"), &owner, ASSETS)?;
    eprintln!(
        "bench: inserted {ASSETS} asset rows in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let get_ms = |path: &str| -> Result<(f64, Value)> {
        let mut samples = Vec::new();
        let mut body = Value::Null;
        for i in 0..SAMPLES + 3 {
            let start = Instant::now();
            let resp = client
                .get(format!("{}{path}", server.url))
                .header("x-api-key", &key)
                .send()?;
            let status = resp.status().as_u16();
            let bytes = resp.bytes()?;
            let ms = start.elapsed().as_secs_f64() * 1e3;
            if status != 200 {
                return Err(format!("GET {path}: HTTP {status}").into());
            }
            if i >= 3 {
                samples.push(ms);
            }
            body = serde_json::from_slice(&bytes)?;
        }
        Ok((median(samples), body))
    };
    let (base, _) = get_ms("/api/users/me")?;
    let (buckets_ms, buckets) = get_ms("/api/timeline/buckets")?;
    let total: i64 = buckets
        .as_array()
        .map(|b| b.iter().filter_map(|x| x["count"].as_i64()).sum())
        .unwrap_or(0);
    if total != ASSETS as i64 {
        return Err(format!("buckets count {total} assets, expected {ASSETS}").into());
    }
    let month = buckets[0]["timeBucket"]
        .as_str()
        .ok_or("no bucket")?
        .to_owned();
    let (bucket_ms, bucket) = get_ms(&format!("/api/timeline/bucket?timeBucket={month}"))?;
    let n = bucket["id"].as_array().map_or(0, |a| a.len());
    let (_, head) = get_ms("/api/sync/delta?limit=1")?;
    let _ = head;
    let cursor = {
        // walk to the head cheaply: the change counter is the number of inserts
        let c = rusqlite::Connection::open(data.join("shoebox.db"))?;
        c.query_row(
            "SELECT value FROM counters WHERE name = 'change_seq'",
            [],
            |r| r.get::<_, i64>(0),
        )?
    };
    let (sync_ms, sync) = get_ms(&format!("/api/sync/delta?cursor={cursor}"))?;
    if sync["upserted"].as_array().is_none_or(|u| !u.is_empty()) {
        return Err(format!("unchanged sync returned changes: {sync}").into());
    }
    for (name, ms) in [
        ("timeline_buckets_100k", buckets_ms),
        ("timeline_bucket_100k", bucket_ms),
        ("sync_delta_unchanged_100k", sync_ms),
    ] {
        println!(
            "bench {name}: ours={ms:.2}ms baseline={base:.3}ms ratio={:.1}",
            ms / base
        );
        lines.push((
            ms < 20.0,
            format!("target {name}: {ms:.2}ms < 20ms: {}", ok(ms < 20.0)),
        ));
    }
    eprintln!("bench: one bucket held {n} assets");
    drop(server);
    Ok(Outcome { lines })
}

fn ok(b: bool) -> &'static str {
    if b { "ok" } else { "MISSED" }
}
