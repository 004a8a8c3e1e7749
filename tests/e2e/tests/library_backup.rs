//! Issue 5: "200 files in 5 folders with overlaps (same bytes in two albums, same name different
//! bytes): every distinct content uploaded once, server albums match the folders" and "second
//! run uploads zero bytes and reads no file contents" — through the core API and the CLI.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::sync::Arc;

const FOLDERS: [&str; 5] = ["Alpha", "Bravo", "Charlie", "Delta", "Echo"];

/// 200 files, 40 per folder, every folder has `IMG_0000.jpg`…: same names with different bytes
/// across folders. Overlaps: Bravo 0–7 are Alpha 0–7's bytes (0–3 under the same name, 4–7
/// renamed), Delta 0–4 are Charlie 20–24's bytes, Echo 0 is Alpha 0's bytes (in three albums),
/// Delta 30 and 31 hold the same bytes (twice in one album). A few files are 3 MiB.
fn overlapping_library() -> Library {
    let mut lib = Library::new();
    for (f, folder) in FOLDERS.iter().enumerate() {
        for i in 0..40u64 {
            let mut seed = f as u64 * 1000 + i;
            let mut name = format!("IMG_{i:04}.jpg");
            match (*folder, i) {
                ("Bravo", 0..=3) => seed = i,
                ("Bravo", 4..=7) => {
                    seed = i;
                    name = format!("COPY_{i:04}.jpg");
                }
                ("Delta", 0..=4) => seed = 2000 + 20 + i,
                ("Delta", 31) => seed = 3030,
                ("Echo", 0) => seed = 0,
                _ => {}
            }
            let len = if seed % 37 == 5 {
                3 * MIB as usize
            } else {
                2048 + (seed as usize * 7919) % (150 * 1024)
            };
            lib.write(&format!("{folder}/{name}"), &jpeg_bytes(len, seed));
        }
    }
    assert_eq!(lib.files.len(), 200);
    lib
}

fn distinct_bytes(lib: &Library) -> u64 {
    let mut seen = BTreeSet::new();
    lib.files
        .iter()
        .filter(|(_, sha)| seen.insert((*sha).clone()))
        .map(|(rel, _)| std::fs::metadata(lib.path(rel)).unwrap().len())
        .sum()
}

async fn assert_server_matches(server: &Server, user: &common::User, lib: &Library) {
    server.assert_holds_exactly(user, &lib.distinct()).await;
    let albums = server.albums(user).await;
    assert_eq!(
        albums,
        lib.by_folder(),
        "server albums must be exactly the folders, each with exactly that folder's assets"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn core_uploads_each_content_once_and_rescan_reads_nothing() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let proxy = Proxy::start(server.addr).await;
    let lib = overlapping_library();
    let distinct = lib.distinct();
    assert!(
        distinct.len() < 200 && distinct.len() > 150,
        "{}",
        distinct.len()
    );
    let state = state_dir();

    let library = CountingLibrary::new(&lib.root);
    let engine = engine(&proxy.url(), &admin.key, state.path(), library.clone());
    let report = engine.run().await.expect("first run");
    assert_eq!(report.failed, 0, "{:?}", report.failures);
    assert_eq!(report.stopped, None);
    assert_eq!(report.remaining, 0);
    assert_eq!(report.scan.assets, 200);
    assert_eq!(report.scan.hashed_files, 200);
    assert_eq!(
        report.uploaded,
        distinct.len() as u64,
        "every distinct content uploaded exactly once: {report:?}"
    );
    assert_eq!(report.uploaded + report.duplicates, 200, "{report:?}");
    let bytes = distinct_bytes(&lib);
    assert_eq!(
        report.bytes_sent, bytes,
        "bytes sent = the distinct contents"
    );
    assert!(
        proxy.up() >= bytes && proxy.up() < bytes + 2 * MIB,
        "through the proxy: {} for {bytes} bytes of distinct content",
        proxy.up()
    );
    assert_server_matches(&server, &admin, &lib).await;
    let status = engine.status().unwrap();
    assert_eq!(
        (
            status.counts.queued,
            status.counts.failed,
            status.counts.done
        ),
        (0, 0, 200)
    );
    drop(engine);

    // Second run, as after an app restart: a new engine on the same state directory.
    let library = CountingLibrary::new(&lib.root);
    let engine2 = common::engine(&proxy.url(), &admin.key, state.path(), library.clone());
    proxy.reset_counters();
    let report = engine2.run().await.expect("second run");
    assert_eq!(report.scan.assets, 200);
    assert_eq!(report.scan.hashed_files, 0, "no file re-hashed: {report:?}");
    assert_eq!(report.scan.hashed_bytes, 0);
    assert_eq!(report.bytes_sent, 0);
    assert_eq!(report.uploaded, 0);
    assert_eq!(report.failed, 0);
    assert_eq!(
        library.reads(),
        0,
        "the second run read file contents ({} bytes)",
        library.read_bytes.load(std::sync::atomic::Ordering::SeqCst)
    );
    assert!(
        proxy.up() < 64 * 1024,
        "the second run sent {} bytes to the server (only API calls expected)",
        proxy.up()
    );
    assert_server_matches(&server, &admin, &lib).await;

    // The same device with its state wiped (a reinstall): what the server has for this device
    // is adopted unread; copies of the same bytes under other names go by SHA-1. No file bytes.
    let fresh_state = state_dir();
    let engine3 = common::engine(
        &proxy.url(),
        &admin.key,
        fresh_state.path(),
        Arc::new(shoebox_core::FsLibrary::new(&lib.root).unwrap()),
    );
    proxy.reset_counters();
    let report = engine3.run().await.expect("run from a fresh state");
    assert_eq!(report.bytes_sent, 0, "{report:?}");
    assert_eq!(report.uploaded, 0, "{report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(
        report.scan.adopted + report.scan.already_on_server,
        200,
        "{report:?}"
    );
    assert!(report.scan.adopted > 0, "{report:?}");
    assert!(
        proxy.up() < 256 * 1024,
        "a library the server already has sent {} bytes",
        proxy.up()
    );
    assert_server_matches(&server, &admin, &lib).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cli_uploads_each_content_once_and_second_run_sends_nothing() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let proxy = Proxy::start(server.addr).await;
    let lib = overlapping_library();
    let distinct = lib.distinct();
    let state = state_dir();
    let cli = Cli::new(state.path(), &proxy.url(), &admin.key);

    let albums = cli.run(&["albums", lib.root.to_str().unwrap()]).await;
    assert!(albums.status.success(), "{}", albums.describe());
    for folder in FOLDERS {
        assert!(
            albums.stdout.contains(folder),
            "`shoebox albums` lists {folder}: {}",
            albums.describe()
        );
    }

    let out = cli.backup(&lib.root, &[]).await;
    assert!(out.status.success(), "{}", out.describe());
    let v = out.json();
    assert_eq!(num(&v, "failed"), 0, "{v}");
    assert_eq!(num(&v, "uploaded"), distinct.len() as u64, "{v}");
    assert_eq!(num(&v, "uploaded") + num(&v, "duplicates"), 200, "{v}");
    assert_eq!(num(&v, "bytes_sent"), distinct_bytes(&lib), "{v}");
    assert_eq!(num(&v, "hashed_files"), 200, "{v}");
    assert_eq!(num(&v, "remaining"), 0, "{v}");
    assert!(v["stopped"].is_null(), "{v}");
    assert_server_matches(&server, &admin, &lib).await;

    proxy.reset_counters();
    let out = cli.backup(&lib.root, &[]).await;
    assert!(out.status.success(), "{}", out.describe());
    let v = out.json();
    assert_eq!(num(&v, "uploaded"), 0, "{v}");
    assert_eq!(num(&v, "bytes_sent"), 0, "{v}");
    assert_eq!(
        num(&v, "hashed_files"),
        0,
        "second run re-hashed files: {v}"
    );
    assert_eq!(num(&v, "hashed_bytes"), 0, "{v}");
    assert_eq!(num(&v, "failed"), 0, "{v}");
    assert!(
        proxy.up() < 64 * 1024,
        "the second CLI run sent {} bytes to the server (only API calls expected)",
        proxy.up()
    );

    let status = cli.run(&["status", "--json"]).await;
    assert!(status.status.success(), "{}", status.describe());
    let st = cli_status(&status);
    assert_eq!(
        (num(&st, "done"), num(&st, "queued"), num(&st, "failed")),
        (200, 0, 0),
        "{st}"
    );
    assert_server_matches(&server, &admin, &lib).await;
}
