//! Offline-timeline benchmarks (`make bench`), against the release server. Each prints
//! `bench <name>: ours=<v><unit> baseline=<v><unit> ratio=<x>` and a `target` line.
//!
//! The server gets 100,000 asset rows inserted straight into its database (as the server's
//! own timeline bench does); the core then syncs them for real over HTTP, in pages.
//!
//! - `offline_buckets_100k` / `offline_bucket_100k`: the core's month list and one month read
//!   from its cache with no network, median ms. Baseline: the server's own
//!   `/api/timeline/buckets` and `/api/timeline/bucket` on the same library. Targets: < 20 ms,
//!   < 10 ms.
//! - `sync_unchanged_100k`: bytes of the one delta-sync answer when nothing changed (baseline:
//!   the 1 KiB budget). Target: one request, < 1 KiB.
//! - `thumb_from_cache`: serving 50 cached thumbnails (lookup, integrity check, read), ms.
//!   Baseline: `cat` of the same 50 files in one process. ratio = baseline / ours; target ≥ 0.5.

#[path = "../../server-stub/benches/support/mod.rs"]
mod support;

use reqwest::blocking::Client;
use serde_json::Value;
use shoebox_core::{BackupEngine, EngineConfig, FsLibrary, ThumbSize, TimelineFilter};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

const ASSETS: usize = 100_000;
const THUMBS: usize = 50;
const SAMPLES: usize = 15;

fn main() {
    if let Err(e) = run() {
        eprintln!("bench timeline failed: {e}");
        std::process::exit(1);
    }
}

fn ms_median(mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut v = Vec::new();
    for i in 0..SAMPLES + 2 {
        let t = Instant::now();
        f()?;
        if i >= 2 {
            v.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    Ok(median(v))
}

fn run() -> Result<()> {
    let strict = std::env::var("SHOEBOX_BENCH_STRICT").is_ok_and(|v| v == "1");
    let tmp = tempfile::Builder::new()
        .prefix("shoebox-bench-tl-")
        .tempdir()?;
    let data = tmp.path().join("server-data");
    let server = Server::start(&server_bin()?, &data, &tmp.path().join("server.log"))?;
    let client = Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let key = create_admin_key(&client, &server.url)?;
    let me: Value = client
        .get(format!("{}/api/users/me", server.url))
        .header("x-api-key", &key)
        .send()?
        .json()?;
    let owner = me["id"].as_str().ok_or("no user id")?.to_owned();
    insert_assets(&data.join("shoebox.db"), &owner, ASSETS)?;
    let mut thumb_ids = Vec::new();
    for i in 0..THUMBS {
        thumb_ids.push(upload_png(&client, &server.url, &key, i as u8)?);
    }

    let rt = tokio::runtime::Runtime::new()?;
    let lib_dir = tmp.path().join("phone");
    std::fs::create_dir_all(&lib_dir)?;
    let engine = BackupEngine::open(
        EngineConfig {
            server_url: server.url.clone(),
            api_key: key.clone(),
            state_dir: tmp.path().join("client"),
            device_id: "bench".into(),
        },
        Arc::new(FsLibrary::new(&lib_dir)?),
        None,
    )?;
    let timeline = engine.timeline();
    let t = Instant::now();
    let first = rt.block_on(timeline.sync(None))?;
    eprintln!(
        "bench: first sync of {} assets: {} requests, {:.1}s",
        first.upserted,
        first.requests,
        t.elapsed().as_secs_f64()
    );
    let mut lines = Vec::new();
    let filter = TimelineFilter::default();

    // ---- offline bucket list and one month ---------------------------------------------------
    let buckets = timeline.buckets(&filter)?;
    let total: u64 = buckets.iter().map(|b| b.count).sum();
    if total < ASSETS as u64 {
        return Err(format!("the cache holds {total} assets, expected {ASSETS}+").into());
    }
    let month = buckets[buckets.len() / 2].month.clone();
    let ours_list = ms_median(|| timeline.buckets(&filter).map(|_| ()).map_err(Into::into))?;
    let ours_month = ms_median(|| {
        timeline
            .bucket(&month, &filter)
            .map(|_| ())
            .map_err(Into::into)
    })?;
    let http = |path: String| -> Result<()> {
        let r = client
            .get(format!("{}{path}", server.url))
            .header("x-api-key", &key)
            .send()?;
        r.bytes()?;
        Ok(())
    };
    let base_list = ms_median(|| http("/api/timeline/buckets".into()))?;
    let base_month = ms_median(|| http(format!("/api/timeline/bucket?timeBucket={month}-01")))?;
    println!(
        "bench offline_buckets_100k: ours={ours_list:.2}ms baseline={base_list:.2}ms ratio={:.2}",
        ours_list / base_list
    );
    println!(
        "bench offline_bucket_100k: ours={ours_month:.2}ms baseline={base_month:.2}ms ratio={:.2}",
        ours_month / base_month
    );
    lines.push((
        ours_list < 20.0,
        format!(
            "target offline_buckets_100k: {ours_list:.2}ms < 20ms: {}",
            verdict(ours_list < 20.0)
        ),
    ));
    lines.push((
        ours_month < 10.0,
        format!(
            "target offline_bucket_100k: {ours_month:.2}ms < 10ms: {}",
            verdict(ours_month < 10.0)
        ),
    ));

    // ---- unchanged delta sync ----------------------------------------------------------------
    let again = rt.block_on(timeline.sync(None))?;
    let cursor = again_cursor(&tmp.path().join("client/shoebox-client.db"))?;
    let body = client
        .get(format!(
            "{}/api/sync/delta?cursor={cursor}&limit=1000",
            server.url
        ))
        .header("x-api-key", &key)
        .send()?
        .bytes()?;
    let bytes = body.len() as f64;
    println!(
        "bench sync_unchanged_100k: ours={bytes:.0}B baseline=1024B ratio={:.2} (requests={})",
        bytes / 1024.0,
        again.requests
    );
    let ok = again.requests == 1 && bytes < 1024.0 && again.upserted == 0;
    lines.push((
        ok,
        format!(
            "target sync_unchanged_100k: 1 request, {bytes:.0}B < 1024B: {}",
            verdict(ok)
        ),
    ));

    // ---- thumbnails from the cache vs cat ------------------------------------------------------
    let mut paths = Vec::new();
    for id in &thumb_ids {
        paths.push(rt.block_on(timeline.thumbs().get(id, ThumbSize::Thumbnail))?);
    }
    let ours = ms_median(|| {
        for id in &thumb_ids {
            let p = timeline
                .thumbs()
                .cached(id, ThumbSize::Thumbnail)?
                .ok_or("not cached")?;
            std::fs::read(p)?;
        }
        Ok(())
    })?;
    let base = ms_median(|| {
        Command::new("cat")
            .args(&paths)
            .stdout(Stdio::null())
            .status()?;
        Ok(())
    })?;
    let ratio = base / ours;
    println!("bench thumb_from_cache: ours={ours:.2}ms baseline={base:.2}ms ratio={ratio:.2}");
    lines.push((
        ratio >= 0.5,
        format!(
            "target thumb_from_cache: ratio >= 0.5: {}",
            verdict(ratio >= 0.5)
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

fn again_cursor(db: &std::path::Path) -> Result<String> {
    let c = rusqlite::Connection::open(db)?;
    let v: String = c.query_row(
        "SELECT value FROM settings WHERE key = 'timeline_cursor'",
        [],
        |r| r.get(0),
    )?;
    Ok(serde_json::from_str(&v)?)
}

fn upload_png(client: &Client, url: &str, key: &str, seed: u8) -> Result<String> {
    let img = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([
            (x as u8).wrapping_add(seed),
            (y as u8).wrapping_mul(3),
            seed,
        ])
    });
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png)?;
    let form = reqwest::blocking::multipart::Form::new()
        .text("fileCreatedAt", "2024-05-01T10:00:00.000Z")
        .text("fileModifiedAt", "2024-05-01T10:00:00.000Z")
        .part(
            "assetData",
            reqwest::blocking::multipart::Part::bytes(png.into_inner())
                .file_name(format!("t{seed}.png")),
        );
    let v: Value = client
        .post(format!("{url}/api/assets"))
        .header("x-api-key", key)
        .multipart(form)
        .send()?
        .json()?;
    let id = v["id"].as_str().ok_or("no id")?.to_owned();
    // Wait for the thumbnail job.
    for _ in 0..200 {
        let a: Value = client
            .get(format!("{url}/api/assets/{id}"))
            .header("x-api-key", key)
            .send()?
            .json()?;
        if a["thumbhash"].is_string() {
            return Ok(id);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("thumbnail job did not finish".into())
}
