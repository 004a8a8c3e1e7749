//! Issue 13, item 6: paths nothing tested before.
//!
//! - The core's multipart fallback end to end: against a server started with `--tus off` (no
//!   tus endpoint, as a stock Immich server) the core backs a library up through
//!   `POST /api/assets`, big files included, albums and dedup as with tus.
//! - `shoebox backup --watch`: a file dropped into the watched tree is on the server within 5 s.
//! - `shoebox backup --exclude-album`: an excluded folder's files stay home and no album is made
//!   for it; a copy of the same bytes in another folder is that folder's file and goes.
//! - The tus reference interop test fails, not skips, when `node` is missing under `make test`.

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;

/// A `shoebox-server` of our own on the data directory and address of a `Server` that was
/// stopped, with extra flags; killed on drop. `Server`'s helpers keep working against it.
struct Restarted {
    child: Child,
}

impl Drop for Restarted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn restart_with(server: &mut Server, flags: &[&str]) -> Restarted {
    server.kill();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut child = Command::new(workspace_bin("shoebox-server"))
            .arg("serve")
            .arg("--data")
            .arg(&server.data)
            .arg("--listen")
            .arg(server.addr.to_string())
            .args(flags)
            .env_remove("SHOEBOX_DATA")
            .env_remove("SHOEBOX_LISTEN")
            .env_remove("SHOEBOX_TUS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn shoebox-server");
        let stdout = child.stdout.take().unwrap();
        let mut first = String::new();
        let _ = BufReader::new(stdout).read_line(&mut first);
        if first.starts_with("shoebox-server listening on ") {
            return Restarted { child };
        }
        // the port was not free yet
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            Instant::now() < deadline,
            "shoebox-server {flags:?} did not start on {}",
            server.addr
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn library_with_albums() -> Library {
    let mut lib = Library::new();
    for (f, folder) in ["Holiday", "Garden", "Kids"].iter().enumerate() {
        for i in 0..5u64 {
            let seed = f as u64 * 100 + i;
            lib.write(
                &format!("{folder}/IMG_{i:04}.jpg"),
                &jpeg_bytes(4096 + (seed as usize * 3331) % 90_000, seed),
            );
        }
    }
    // the same bytes in two albums
    let shared = jpeg_bytes(20_000, 7);
    lib.write("Holiday/shared.jpg", &shared);
    lib.write("Kids/shared-copy.jpg", &shared);
    lib
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_core_falls_back_to_multipart_against_a_server_without_tus() {
    let mut server = Server::start().await;
    let admin = server.admin().await;
    let _plain = restart_with(&mut server, &["--tus", "off"]);
    // the server really has no tus: the core cannot be using it
    let r = server
        .http
        .request(reqwest::Method::OPTIONS, server.url("/api/upload"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let mut lib = library_with_albums();
    let big = lib.write_big("Holiday/video.mp4", 24 * MIB, 99);
    let state = state_dir();
    let engine = engine(
        &server.base(),
        &admin.key,
        state.path(),
        Arc::new(shoebox_core::FsLibrary::new(&lib.root).expect("library")),
    );
    let report = engine.run().await.expect("backup through multipart");
    assert_eq!(report.failed, 0, "{:?}", report.failures);
    assert_eq!(report.remaining, 0, "{report:?}");
    assert_eq!(report.uploaded, lib.distinct().len() as u64, "{report:?}");
    assert!(report.bytes_sent >= 24 * MIB, "{report:?}");
    server.assert_holds_exactly(&admin, &lib.distinct()).await;
    assert!(lib.distinct().contains(&big));
    assert_eq!(server.albums(&admin).await, lib.by_folder());
    assert!(
        server.partial_uploads().is_empty(),
        "no tus upload was ever made: {:?}",
        server.partial_uploads()
    );

    // a second run sends nothing
    let report = engine.run().await.expect("second run");
    assert_eq!(
        (report.uploaded, report.bytes_sent, report.failed),
        (0, 0, 0)
    );

    // a new file later goes the same way
    lib.write("Garden/late.jpg", &jpeg_bytes(30_000, 4242));
    engine.library_changed();
    let report = engine.run().await.expect("third run");
    assert_eq!(report.uploaded, 1, "{report:?}");
    server.assert_holds_exactly(&admin, &lib.distinct()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_watch_puts_a_dropped_file_on_the_server_within_five_seconds() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let mut lib = Library::new();
    lib.write("Camera/first.jpg", &jpeg_bytes(10_000, 1));
    let state = state_dir();
    let cli = Cli::new(state.path(), &server.base(), &admin.key);
    let mut child = cli
        .command(&[
            "backup",
            lib.root.to_str().unwrap(),
            "--watch",
            "--json",
            "--no-progress",
        ])
        .spawn()
        .expect("spawn shoebox backup --watch");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // the first pass ends with its JSON summary; then it watches
    let first = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(l)) = lines.next_line().await {
            if l.trim_start().starts_with('{') {
                return Some(l);
            }
        }
        None
    })
    .await
    .expect("the first pass finished")
    .expect("a JSON summary");
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(v["uploaded"], 1, "{v}");
    server.assert_holds_exactly(&admin, &lib.distinct()).await;
    // give the watcher a moment to be in place after the summary line
    tokio::time::sleep(Duration::from_millis(300)).await;

    // one moved in (as a file manager does), one written in place (as a copy does)
    for (rel, seed, moved) in [
        ("Camera/dropped.jpg", 2u64, true),
        ("Camera/copied.jpg", 3, false),
    ] {
        let bytes = jpeg_bytes(50_000, seed);
        let sha = sha1_hex(&bytes);
        let dst = lib.path(rel);
        let dropped = Instant::now();
        if moved {
            let tmp = lib.root.parent().unwrap().join(format!("incoming-{seed}"));
            std::fs::write(&tmp, &bytes).unwrap();
            std::fs::rename(&tmp, &dst).unwrap();
        } else {
            std::fs::write(&dst, &bytes).unwrap();
        }
        lib.files.insert(rel.to_string(), sha.clone());
        loop {
            if server.stored(&admin).contains(&sha) {
                break;
            }
            assert!(
                dropped.elapsed() < Duration::from_secs(5),
                "{rel} not on the server 5 s after it was dropped in"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eprintln!("{rel}: on the server after {:?}", dropped.elapsed());
        // the watcher is ready for the next one once this pass has printed its summary
        tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(l)) = lines.next_line().await {
                if l.trim_start().starts_with('{') {
                    break;
                }
            }
        })
        .await
        .expect("the pass printed its summary");
    }
    // A whole folder moved in (a new album from a card reader): its photos are backed up too.
    let bytes = jpeg_bytes(40_000, 4);
    let sha = sha1_hex(&bytes);
    let outside = lib.root.parent().unwrap().join("incoming-folder");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("IMG_trip.jpg"), &bytes).unwrap();
    let dropped = Instant::now();
    std::fs::rename(&outside, lib.root.join("Trip")).unwrap();
    lib.files
        .insert("Trip/IMG_trip.jpg".to_string(), sha.clone());
    loop {
        if server.stored(&admin).contains(&sha) {
            break;
        }
        assert!(
            dropped.elapsed() < Duration::from_secs(5),
            "a photo in a folder moved into the tree is not on the server after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(l)) = lines.next_line().await {
            if l.trim_start().starts_with('{') {
                break;
            }
        }
    })
    .await
    .expect("the pass printed its summary");
    server.assert_holds_exactly(&admin, &lib.distinct()).await;
    assert_eq!(server.albums(&admin).await, lib.by_folder());
    assert!(child.try_wait().unwrap().is_none(), "--watch keeps running");
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_exclude_album_leaves_that_folder_home() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let lib = library_with_albums();
    let state = state_dir();
    let cli = Cli::new(state.path(), &server.base(), &admin.key);
    let out = cli.backup(&lib.root, &["--exclude-album", "Kids"]).await;
    assert!(out.status.success(), "{}", out.describe());

    // Everything but Kids. A file counts by its own folder: Holiday's copy of the bytes Kids
    // also holds is Holiday's and goes (one asset, in Holiday's album only).
    let expected: BTreeSet<String> = lib
        .files
        .iter()
        .filter(|(rel, _)| !rel.starts_with("Kids/"))
        .map(|(_, sha)| sha.clone())
        .collect();
    let folders = lib.by_folder();
    let kids_only = folders["Kids"]
        .iter()
        .filter(|s| !expected.contains(*s))
        .count();
    assert_eq!(kids_only, 5);
    assert_eq!(out.json()["uploaded"], expected.len(), "{}", out.describe());
    server.assert_holds_exactly(&admin, &expected).await;
    let mut want: BTreeMap<String, BTreeSet<String>> = lib.by_folder();
    want.remove("Kids");
    assert_eq!(server.albums(&admin).await, want, "no Kids album");

    // hostile spellings: an album that does not exist excludes nothing more
    let out = cli
        .backup(
            &lib.root,
            &[
                "--exclude-album",
                "Kids",
                "--exclude-album",
                "../Holiday/é\u{202e}",
            ],
        )
        .await;
    assert!(
        out.status.success() || out.status.code() == Some(2),
        "{}",
        out.describe()
    );
    server.assert_holds_exactly(&admin, &expected).await;

    // dropping the exclusion backs Kids up on the next run
    let out = cli.backup(&lib.root, &[]).await;
    assert!(out.status.success(), "{}", out.describe());
    server.assert_holds_exactly(&admin, &lib.distinct()).await;
    assert_eq!(server.albums(&admin).await, lib.by_folder());
}

/// The newest build of the interop test binary next to this one.
fn interop_test_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let mut found: Vec<(std::time::SystemTime, std::path::PathBuf)> = std::fs::read_dir(deps)
        .unwrap()
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            n.starts_with("interop_tus_reference-") && !n.contains('.')
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, p)| p)
        .unwrap_or_else(|| panic!("no interop_tus_reference test binary in {}", deps.display()))
}

#[test]
fn the_tus_interop_test_fails_without_node_under_make_test() {
    let bin = interop_test_binary();
    let no_node = tempfile::tempdir().unwrap();
    let run = |make_test: bool| {
        let mut cmd = Command::new(&bin);
        cmd.arg("--exact")
            .arg("core_tus_client_uploads_to_the_npm_reference_server")
            .arg("--nocapture")
            .env("PATH", no_node.path())
            .env_remove("SHOEBOX_REQUIRE_NODE")
            .env_remove("SHOEBOX_REQUIRE_BROWSER");
        if make_test {
            // what `make test` exports for the Rust tests
            cmd.env("SHOEBOX_REQUIRE_BROWSER", "1");
        }
        cmd.output().expect("run the interop test binary")
    };
    let out = run(true);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "it passed without node: {text}");
    assert!(text.contains("node"), "{text}");
    assert!(
        text.contains("1 failed") || text.contains("FAILED"),
        "{text}"
    );
    // outside `make test` it still skips loudly (a developer without Node.js)
    let out = run(false);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("SKIPPED") && text.contains("1 passed"),
        "{text}"
    );
}
