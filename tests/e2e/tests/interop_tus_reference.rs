//! Issue 5: "Interop: the core uploads to the npm `@tus/server` reference server too."
//!
//! `install.sh` (idempotent) puts @tus/server 2.4.5 + @tus/file-store 2.1.1 in
//! `${SHOEBOX_CACHE:-~/.cache/shoebox}/e2e-node`; `tus-reference-server.mjs` serves them on
//! 127.0.0.1:0. Without `node` the test fails under `make test` (which installs it with
//! `make deps` and exports `SHOEBOX_REQUIRE_BROWSER=1`; `SHOEBOX_REQUIRE_NODE=1` asks the same)
//! and skips loudly elsewhere (a developer without Node.js).

mod common;

use common::*;
use reqwest::header::HeaderMap;
use shoebox_core::upload::tus::{Patched, TusClient};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct NodeServer {
    child: Child,
    endpoint: String,
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn node_available() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `install.sh` and returns the directory holding `node_modules/`.
fn install() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    let out = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .output()
        .expect("run tests/e2e/install.sh");
    assert!(
        out.status.success(),
        "tests/e2e/install.sh failed (run `bash tests/e2e/install.sh` or `make deps`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("E2E_NODE_DIR="))
        .next_back()
        .unwrap_or_else(|| panic!("install.sh printed no E2E_NODE_DIR: {stdout}"));
    PathBuf::from(dir)
}

fn start_reference_server(node_dir: &Path, store: &Path) -> NodeServer {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tus-reference-server.mjs");
    let mut child = Command::new("node")
        .arg(script)
        .arg(node_dir)
        .arg(store)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn node");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("tus-reference-server listening on ") {
                let _ = tx.send(url.to_string());
            }
        }
    });
    let mut server = NodeServer {
        child,
        endpoint: String::new(),
    };
    server.endpoint = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the tus reference server did not print its address");
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_tus_client_uploads_to_the_npm_reference_server() {
    if !node_available() {
        let required = ["SHOEBOX_REQUIRE_NODE", "SHOEBOX_REQUIRE_BROWSER"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty() && x != "0"));
        assert!(
            !required,
            "`node` is not installed, so the @tus/server interop test cannot run; under \
             `make test` it must (install Node.js with `make deps`)"
        );
        eprintln!(
            "\n=====================================================================\n\
             SKIPPED core_tus_client_uploads_to_the_npm_reference_server:\n\
             `node` is not installed, so the @tus/server interop test cannot run.\n\
             Install Node.js (make deps) to run it.\n\
             =====================================================================\n"
        );
        return;
    }
    let node_dir = install();
    let store = tempfile::tempdir().unwrap();
    let server = start_reference_server(&node_dir, store.path());
    let client = TusClient::new(http(), &server.endpoint, HeaderMap::new()).expect("TusClient");

    let data = random_bytes(5 * MIB as usize + 12_345, 77);
    let len = data.len() as u64;
    let created = client
        .create(
            len,
            &[
                ("filename", "clip.mp4".to_string()),
                ("filetype", "video/mp4".to_string()),
                ("checksum", sha1_hex(&data)),
            ],
        )
        .await
        .expect("create");
    assert_eq!(created.offset, 0);
    assert_eq!(created.finished, None, "a plain tus server names no asset");
    assert!(
        created.url.starts_with(&server.endpoint),
        "{} under {}",
        created.url,
        server.endpoint
    );

    let chunk = MIB as usize;
    let mut offset = 0usize;
    while offset < data.len() {
        let end = (offset + chunk).min(data.len());
        let body = reqwest::Body::from(data[offset..end].to_vec());
        match client
            .patch(&created.url, offset as u64, (end - offset) as u64, body)
            .await
            .expect("PATCH")
        {
            Patched::Advanced { offset: new, .. } => assert_eq!(new, end as u64),
            other => panic!("PATCH at {offset}: {other:?}"),
        }
        offset = end;
        if offset == 2 * chunk {
            // Resume protocol: HEAD says where we are; a PATCH at a stale offset is refused.
            let head = client
                .head(&created.url)
                .await
                .expect("HEAD")
                .expect("exists");
            assert_eq!(head.offset, offset as u64);
            assert_eq!(head.length, Some(len));
            let stale = client
                .patch(
                    &created.url,
                    0,
                    10,
                    reqwest::Body::from(data[..10].to_vec()),
                )
                .await
                .expect("stale PATCH");
            assert_eq!(stale, Patched::OffsetMismatch);
        }
    }
    let head = client
        .head(&created.url)
        .await
        .expect("HEAD")
        .expect("exists");
    assert_eq!(head.offset, len);

    let id = created.url.rsplit('/').next().unwrap();
    let stored = std::fs::read(store.path().join(id)).expect("the upload in the file store");
    assert_eq!(stored.len(), data.len());
    assert!(
        stored == data,
        "the reference server stored different bytes"
    );

    // Termination: the upload is gone afterwards.
    let other = client
        .create(3, &[("filename", "x.jpg".to_string())])
        .await
        .expect("create");
    client.terminate(&other.url).await;
    assert_eq!(client.head(&other.url).await.expect("HEAD"), None);
}
