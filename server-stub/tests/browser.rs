//! The share page in a real browser: seeds a server (real JPEGs with thumbnails, an album, a
//! password-protected link allowing downloads, an expired link), then runs
//! `tests/browser/share.mjs`, which drives Debian's headless chromium with playwright-core.
//! Screenshots land in `<target>/browser-artifacts/`. Skipped (loudly) when node, chromium or
//! the playwright-core install (`tests/browser/install.sh`, run by `make deps`) is missing,
//! unless `SHOEBOX_REQUIRE_BROWSER=1`.

mod common;

use common::*;
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn browser_node() -> PathBuf {
    let cache = std::env::var_os("SHOEBOX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/shoebox")
        });
    cache.join("browser-node")
}

fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("browser-artifacts")
}

#[test]
fn share_page_in_chromium() {
    let node_dir = browser_node();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let ready = node_dir.join("node_modules/playwright-core").is_dir()
        && std::path::Path::new(&chromium).exists()
        && Command::new("node").arg("--version").output().is_ok();
    if !ready {
        assert!(
            std::env::var("SHOEBOX_REQUIRE_BROWSER").is_err(),
            "browser test prerequisites missing (run make deps)"
        );
        eprintln!(
            "SKIPPED share_page_in_chromium: run `make deps` (chromium, tests/browser/install.sh)"
        );
        return;
    }
    let srv = Server::start();
    let owner = srv.admin();
    let photos: Vec<Vec<u8>> = (0..5u8)
        .map(|i| photo_jpeg(320 + u32::from(i) * 40, 240, i * 40))
        .collect();
    let ids: Vec<String> = photos
        .iter()
        .enumerate()
        .map(|(i, p)| srv.upload_new(&owner, &format!("photo-{i}.jpg"), p))
        .collect();
    // Wait for thumbnails and thumbhashes.
    let start = Instant::now();
    for id in &ids {
        loop {
            let (_, a) = srv.asset(&owner, id);
            if a["thumbhash"].is_string() {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "thumbnails never made"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let r = srv
        .post("/api/albums")
        .key(&owner)
        .json(&json!({"albumName": "Summer <2024> & friends", "assetIds": ids}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let album: serde_json::Value = r.json().unwrap();
    let link = |body: serde_json::Value| -> String {
        let r = srv
            .post("/api/shared-links")
            .key(&owner)
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
        let v: serde_json::Value = r.json().unwrap();
        v["key"].as_str().unwrap().to_string()
    };
    let key = link(
        json!({"type": "ALBUM", "albumId": album["id"], "password": "let me in",
                          "allowDownload": true, "description": "Holiday photos"}),
    );
    let expired = link(json!({"type": "ALBUM", "albumId": album["id"],
                              "expiresAt": "2020-01-01T00:00:00.000Z"}));
    // The newest photo comes first; all share one date, so the order is by id.
    let first_id = {
        let r = srv
            .get(&format!("/api/shared-links/me?key={expired}"))
            .send()
            .unwrap();
        assert_eq!(r.status(), 410);
        let r = srv
            .post(&format!("/api/shared-links/login?key={key}"))
            .json(&json!({"password": "let me in"}))
            .send()
            .unwrap();
        let v: serde_json::Value = r.json().unwrap();
        v["assets"][0]["id"].as_str().unwrap().to_string()
    };
    let first_size = photos[ids.iter().position(|i| *i == first_id).unwrap()].len();
    let out = artifacts_dir();
    std::fs::create_dir_all(&out).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/browser/share.mjs");
    let result = Command::new("node")
        .arg(&script)
        .env("BASE", &srv.base)
        .env("KEY", &key)
        .env("PASSWORD", "let me in")
        .env("EXPIRED_KEY", &expired)
        .env("COUNT", ids.len().to_string())
        .env("FIRST_SIZE", first_size.to_string())
        .env("OUT", &out)
        .env("BROWSER_NODE", &node_dir)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&result.stdout);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        result.status.success(),
        "browser test failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("browser test: ok"), "{stdout}");
    for shot in ["share-grid.png", "share-viewer.png", "share-expired.png"] {
        let len = std::fs::metadata(out.join(shot))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 1000, "screenshot {shot} missing");
    }
}
