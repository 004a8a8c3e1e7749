//! Issue 12: a phone simulator. The real core (in-process, or the CLI as a separate process
//! that is killed after every window) backs up to the real server through a throttling,
//! counting proxy, while the "OS" grants bounded windows, flips the network between Wi-Fi and
//! cellular, and adds photos mid-run. What a phone user relies on is asserted: windows end on
//! time, every window makes progress, no byte is sent on cellular with Wi-Fi only, a reinstall
//! reads nothing, a photo is not stuck behind a video, and `pending()` says why things wait.

mod common;

use common::*;
use shoebox_core::{
    Album, BackupEngine, CoreResult, FsLibrary, LocalAsset, NetworkKind, NetworkState, PauseReason,
    PendingState, PhotoLibrary, PowerState, StopReason,
};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

const WIFI: NetworkState = NetworkState {
    kind: NetworkKind::Wifi,
    metered: false,
};
const CELLULAR: NetworkState = NetworkState {
    kind: NetworkKind::Cellular,
    metered: true,
};
const ON_BATTERY: PowerState = PowerState {
    charging: false,
    low_power: false,
};

/// An engine as a phone's glue opens it: nothing reported until the test says so.
fn phone_engine(
    url: &str,
    key: &str,
    state: &Path,
    library: Arc<dyn PhotoLibrary>,
) -> BackupEngine {
    let engine = engine(url, key, state, library);
    engine.set_network(WIFI);
    engine.set_power(ON_BATTERY);
    engine
}

/// A library that reads at a fixed rate, like an iCloud download or a slow SD card; counts
/// the bytes it hands out.
struct SlowLibrary {
    inner: FsLibrary,
    bytes_per_sec: u64,
    read_bytes: AtomicU64,
}

impl PhotoLibrary for SlowLibrary {
    fn albums(&self) -> CoreResult<Vec<Album>> {
        self.inner.albums()
    }
    fn assets(&self) -> CoreResult<Vec<LocalAsset>> {
        self.inner.assets()
    }
    fn stat(&self, local_id: &str) -> CoreResult<Option<(u64, i64)>> {
        self.inner.stat(local_id)
    }
    fn read(&self, local_id: &str, offset: u64, len: u32) -> CoreResult<Vec<u8>> {
        let bytes = self.inner.read(local_id, offset, len)?;
        std::thread::sleep(Duration::from_secs_f64(
            bytes.len() as f64 / self.bytes_per_sec as f64,
        ));
        self.read_bytes
            .fetch_add(bytes.len() as u64, Ordering::SeqCst);
        Ok(bytes)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_gib_in_25_second_windows_with_the_app_killed_after_each() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let proxy = Proxy::start(server.addr).await;
    proxy.throttle(20_000_000);
    let mut lib = Library::new();
    // Four long videos and a camera roll of photos: 2 GiB in all.
    for i in 0..4u64 {
        lib.write_big(&format!("Camera/VID_{i:04}.mp4"), 320 * MIB, 900 + i);
    }
    for i in 0..192u64 {
        lib.write(
            &format!("Camera/IMG_{i:04}.jpg"),
            &random_bytes(4 * MIB as usize, 1000 + i),
        );
    }
    let library_bytes = 4 * 320 * MIB + 192 * 4 * MIB;
    let state = state_dir();
    let cli = Cli::new(state.path(), &proxy.url(), &admin.key);
    let dir = lib.root.to_str().unwrap().to_string();
    let budget = Duration::from_secs(25);
    let mut windows = 0;
    let mut last_stored = 0usize;
    let mut last_up = 0u64;
    loop {
        windows += 1;
        assert!(
            windows <= 12,
            "2 GiB at 20 MB/s did not finish in 12 windows of 25 s"
        );
        let mut child = cli
            .command(&["backup", &dir, "--for", "25", "--json", "--no-progress"])
            .spawn()
            .expect("spawn shoebox");
        let started = Instant::now();
        // The OS: the window is over at the budget; one second later it kills the app.
        let exited = tokio::time::timeout(budget + Duration::from_secs(1), child.wait()).await;
        let took = started.elapsed();
        let status = match exited {
            Ok(status) => status.expect("wait"),
            Err(_) => {
                let _ = child.kill().await;
                panic!("window {windows} overran: still running {took:?} after a 25 s window");
            }
        };
        let out = child.wait_with_output().await.expect("output");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            status.success(),
            "window {windows}: {status:?}\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report = last_json(&stdout).expect("a JSON summary");
        let stored = server.stored(&admin).len();
        let up = proxy.up();
        eprintln!(
            "window {windows}: {took:?}, {stored} stored, {} MB sent in all, stopped {}",
            up / 1_000_000,
            report["stopped"]
        );
        let hashed = report["hashed_bytes"].as_u64().unwrap_or(0);
        assert!(
            stored > last_stored || up > last_up + 100 * 1_000_000 || hashed > 100 * MIB,
            "window {windows} made no progress: {report}"
        );
        last_stored = stored;
        last_up = up;
        if report["remaining"] == 0 && report["stopped"].is_null() {
            break;
        }
        if windows == 1 {
            // Between windows, `shoebox status --pending` says what waits and why.
            let out = cli.run(&["status", "--pending", "--json"]).await;
            let items: serde_json::Value = serde_json::from_str(out.stdout.trim())
                .unwrap_or_else(|_| panic!("not JSON: {}", out.describe()));
            let items = items.as_array().expect("a JSON list");
            assert!(!items.is_empty(), "{}", out.describe());
            for item in items {
                let state = item["state"].as_str().unwrap_or_default();
                assert!(
                    ["waiting_for_window", "waiting_to_hash"].contains(&state),
                    "{item}"
                );
                let video = item["file"].as_str().unwrap_or_default().ends_with(".mp4");
                assert_eq!(item["large"], video, "videos use the large lane: {item}");
            }
        }
    }
    assert!(
        windows >= 4,
        "2 GiB at 20 MB/s cannot fit in fewer than 4 windows"
    );
    server.assert_holds_exactly(&admin, &lib.distinct()).await;
    let sent = proxy.up();
    assert!(
        sent as f64 <= library_bytes as f64 * 1.05,
        "{sent} bytes sent for a {library_bytes}-byte library (over 1.05x)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_library_cannot_make_a_window_overrun_and_hashing_resumes() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let mut lib = Library::new();
    let big = 60 * MIB;
    lib.write_big("Camera/VID_slow.mp4", big, 77);
    for i in 0..3u64 {
        lib.write(
            &format!("Camera/IMG_{i}.jpg"),
            &random_bytes(MIB as usize, 80 + i),
        );
    }
    let slow = Arc::new(SlowLibrary {
        inner: FsLibrary::new(&lib.root).unwrap(),
        bytes_per_sec: 5_000_000,
        read_bytes: AtomicU64::new(0),
    });
    let state = state_dir();
    let engine = phone_engine(&server.base(), &admin.key, state.path(), slow.clone());

    // Watch pending() while the first window hashes.
    let watcher = tokio::spawn({
        let engine = engine.clone();
        async move {
            let mut saw_hashing = false;
            for _ in 0..100 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let pending = engine.pending().unwrap();
                saw_hashing |= pending.iter().any(|p| {
                    p.local_id == "Camera/VID_slow.mp4"
                        && matches!(p.state, PendingState::Hashing { hashed } if hashed > 0)
                });
                if saw_hashing {
                    break;
                }
            }
            saw_hashing
        }
    });
    let mut windows = 0;
    loop {
        windows += 1;
        assert!(windows <= 10, "not done in 10 windows");
        let started = Instant::now();
        let report = engine
            .run_for(Duration::from_secs(10))
            .await
            .expect("run_for");
        let took = started.elapsed();
        eprintln!(
            "window {windows}: {took:?} {:?} hashed {}",
            report.stopped, report.scan.hashed_bytes
        );
        assert!(took < Duration::from_secs(11), "run_for(10) took {took:?}");
        if windows == 1 {
            assert_eq!(report.stopped, Some(StopReason::Deadline), "{report:?}");
            let pending = engine.pending().unwrap();
            assert!(
                pending
                    .iter()
                    .any(|p| p.state == PendingState::WaitingToHash),
                "between windows the unhashed video waits: {pending:?}"
            );
        }
        if report.stopped.is_none() && report.remaining == 0 {
            break;
        }
    }
    assert!(
        watcher.await.unwrap(),
        "pending() showed the video being hashed"
    );
    assert!(
        windows >= 3,
        "the library needs several 10 s windows at 5 MB/s"
    );
    // Hashing went on where it stopped: the library was read about twice (hash + upload),
    // not once more per window.
    let total = big + 3 * MIB;
    let read = slow.read_bytes.load(Ordering::SeqCst);
    assert!(
        read <= 2 * total + 16 * MIB,
        "{read} bytes read for {total} bytes hashed and uploaded once: hashing started over"
    );
    server.assert_holds_exactly(&admin, &lib.distinct()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cellular_mid_chunk_stops_every_byte_within_a_second() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let proxy = Proxy::start(server.addr).await;
    let rate = 16_000_000u64;
    proxy.throttle(rate);
    let mut lib = Library::new();
    let size = 192 * MIB;
    let sha = lib.write_big("Camera/long.mp4", size, 64);
    let state = state_dir();
    let library = Arc::new(FsLibrary::new(&lib.root).unwrap());
    let engine = phone_engine(&proxy.url(), &admin.key, state.path(), library);
    assert!(engine.settings().wifi_only, "Wi-Fi only is on by default");

    let run = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run().await }
    });
    // The first chunk is 8 MiB; on this link the next ones grow to 64 MiB. Switch inside one.
    proxy
        .wait_up(8 * MIB + 24 * MIB, Duration::from_secs(60))
        .await;
    engine.set_network(CELLULAR);
    let at_switch = proxy.up();
    let stopped_at = proxy
        .wait_quiet(Duration::from_secs(2), Duration::from_secs(30))
        .await;
    let after = stopped_at - at_switch;
    eprintln!("switched at {at_switch}, stopped at {stopped_at}: {after} bytes after");
    assert!(
        after <= rate,
        "{after} bytes went out after the switch to cellular (more than 1 s at {rate} B/s)"
    );
    assert!(stopped_at < size);
    let pending = engine.pending().unwrap();
    assert!(
        pending
            .iter()
            .any(|p| p.state == PendingState::Paused(PauseReason::WaitingForWifi)),
        "{pending:?}"
    );
    // No request of any kind while on cellular.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(proxy.up(), stopped_at, "a request went out on cellular");
    assert!(!run.is_finished(), "run() waits for Wi-Fi");
    // A background window on cellular sends nothing either.
    let bounded = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run_for(Duration::from_secs(5)).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(proxy.up(), stopped_at, "a request went out on cellular");

    proxy.throttle(0);
    engine.set_network(WIFI);
    let report = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("run() completes once back on Wi-Fi")
        .unwrap()
        .expect("run");
    let _ = bounded.await;
    assert_eq!(report.uploaded, 1, "{report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    let total = proxy.up();
    assert!(
        total <= size + rate,
        "{total} bytes through the proxy for a {size}-byte file: acknowledged bytes were re-sent"
    );
    server
        .assert_holds_exactly(&admin, &BTreeSet::from([sha]))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reinstall_reads_and_sends_no_file() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let mut lib = Library::new();
    for i in 0..2000u64 {
        lib.write(
            &format!("Camera/{}/IMG_{i:05}.jpg", i % 10),
            &random_bytes(1024 + (i as usize % 512), 5000 + i),
        );
    }
    let library = CountingLibrary::new(&lib.root);
    let first_state = state_dir();
    let first = phone_engine(
        &server.base(),
        &admin.key,
        first_state.path(),
        library.clone(),
    );
    let mut settings = first.settings();
    settings.parallel_uploads = 4;
    first.set_settings(settings.clone()).unwrap();
    let report = first.run().await.expect("first backup");
    assert_eq!(report.uploaded, 2000, "{:?}", report.failures);
    drop(first);

    // The app is reinstalled: its state is gone; the same device id asks the server.
    library.reset();
    let proxy = Proxy::start(server.addr).await;
    let fresh_state = state_dir();
    let again = phone_engine(
        &proxy.url(),
        &admin.key,
        fresh_state.path(),
        library.clone(),
    );
    again.set_settings(settings).unwrap();
    let started = Instant::now();
    let report = again.run().await.expect("run after reinstall");
    eprintln!(
        "after reinstall: {:?} in {:?}, {} bytes up",
        report.scan,
        started.elapsed(),
        proxy.up()
    );
    assert_eq!(report.scan.adopted, 2000, "{:?}", report.scan);
    assert_eq!(report.scan.hashed_files, 0, "no file is hashed");
    assert_eq!(library.reads(), 0, "no file is read");
    assert_eq!(report.bytes_sent, 0, "no file content is sent");
    assert_eq!(report.uploaded, 0);
    assert!(
        proxy.up() < 400_000,
        "{} bytes went up: more than the id lists",
        proxy.up()
    );
    let status = again.status().unwrap();
    assert_eq!((status.counts.done, status.counts.queued), (2000, 0));
    // A changed file is not adopted: it is hashed and uploaded.
    lib.write("Camera/0/IMG_00000.jpg", &random_bytes(3000, 42));
    let report = again.run().await.expect("run after an edit");
    assert_eq!(report.scan.hashed_files, 1, "{:?}", report.scan);
    assert_eq!(report.uploaded, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_photo_taken_during_a_big_video_upload_is_on_the_server_within_ten_seconds() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let proxy = Proxy::start(server.addr).await;
    proxy.throttle(5_000_000);
    let mut lib = Library::new();
    lib.write_big("Camera/VID_huge.mp4", 1024 * MIB, 11);
    let state = state_dir();
    let library = Arc::new(FsLibrary::new(&lib.root).unwrap());
    let engine = phone_engine(&proxy.url(), &admin.key, state.path(), library);
    let run = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run().await }
    });
    proxy.wait_up(2 * MIB, Duration::from_secs(60)).await;
    let pending = engine.pending().unwrap();
    let video = pending
        .iter()
        .find(|p| p.local_id == "Camera/VID_huge.mp4")
        .expect("the video is pending");
    assert!(video.large, "{video:?}");
    assert!(
        matches!(video.state, PendingState::Uploading { sent, total } if sent > 0 && total == 1024 * MIB),
        "{video:?}"
    );

    let photo = random_bytes(3 * MIB as usize, 12);
    let photo_sha = sha1_hex(&photo);
    lib.write("Camera/IMG_new.jpg", &photo);
    let added = Instant::now();
    engine.library_changed();
    loop {
        if server
            .asset_ids(&admin, std::slice::from_ref(&photo_sha))
            .await[0]
            .is_some()
        {
            break;
        }
        assert!(
            added.elapsed() < Duration::from_secs(10),
            "the new photo is not on the server 10 s after it was taken"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "photo on the server {:?} after it was added",
        added.elapsed()
    );
    assert!(!run.is_finished(), "the video is still uploading");
    engine.cancel();
    let report = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("cancel stops the run")
        .unwrap()
        .unwrap();
    assert_eq!(report.stopped, Some(StopReason::Cancelled));
    assert_eq!(report.uploaded, 1, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pending_shows_uploading_and_queued_files_during_a_run() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let proxy = Proxy::start(server.addr).await;
    proxy.throttle(1_000_000);
    let mut lib = Library::new();
    for i in 0..5u64 {
        lib.write(
            &format!("Camera/IMG_{i}.jpg"),
            &random_bytes(MIB as usize, 60 + i),
        );
    }
    let state = state_dir();
    let library = Arc::new(FsLibrary::new(&lib.root).unwrap());
    let engine = phone_engine(&proxy.url(), &admin.key, state.path(), library);
    let mut settings = engine.settings();
    settings.parallel_uploads = 1;
    engine.set_settings(settings).unwrap();
    let run = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run_for(Duration::from_secs(60)).await }
    });
    proxy.wait_up(200_000, Duration::from_secs(30)).await;
    let pending = engine.pending().unwrap();
    let uploading = pending
        .iter()
        .filter(|p| matches!(p.state, PendingState::Uploading { .. }))
        .count();
    let queued = pending
        .iter()
        .filter(|p| p.state == PendingState::Queued)
        .count();
    // One worker per lane: the large lane's worker helps with photos when it has no video.
    assert!((1..=2).contains(&uploading), "{pending:?}");
    assert_eq!(uploading + queued, 5, "{pending:?}");
    engine.cancel();
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.stopped, Some(StopReason::Cancelled));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pending_says_why_each_file_waits() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let user = server
        .create_user(&admin, "small@example.com", Some(3 * MIB))
        .await;
    let mut lib = Library::new();
    lib.write("Camera/IMG_a.jpg", &random_bytes(MIB as usize, 1));
    lib.write("Camera/IMG_b.jpg", &random_bytes(MIB as usize, 2));
    lib.write("Camera/VID_big.mp4", &random_bytes(5 * MIB as usize, 3));
    lib.write("Camera/IMG_locked.jpg", &random_bytes(1000, 5));
    let state = state_dir();
    let library = CountingLibrary::new(&lib.root);
    library
        .unreadable
        .lock()
        .unwrap()
        .insert("Camera/IMG_locked.jpg".into());
    let engine = BackupEngine::open(
        shoebox_core::EngineConfig {
            server_url: server.base(),
            api_key: user.key.clone(),
            state_dir: state.path().to_path_buf(),
            device_id: "pending-phone".into(),
        },
        library,
        None,
    )
    .unwrap();

    // Before the platform reports anything: listed, nothing hashed, nothing sent.
    let report = engine.run_for(Duration::from_secs(20)).await.unwrap();
    assert_eq!(
        report.stopped,
        Some(StopReason::Paused(PauseReason::StateUnknown))
    );
    let pending = engine.pending().unwrap();
    assert_eq!(pending.len(), 4, "{pending:?}");
    assert!(
        pending
            .iter()
            .all(|p| p.state == PendingState::WaitingToHash),
        "{pending:?}"
    );

    // On Wi-Fi the photos fit the 3 MiB quota; the 5 MiB video fails for good, with a hint.
    engine.set_network(WIFI);
    engine.set_power(ON_BATTERY);
    let report = engine.run_for(Duration::from_secs(20)).await.unwrap();
    assert_eq!(report.uploaded, 2, "{report:?}");
    let pending = engine.pending().unwrap();
    assert_eq!(pending.len(), 2, "{pending:?}");
    let state_of = |id: &str| {
        pending
            .iter()
            .find(|p| p.local_id == id)
            .map(|p| p.state.clone())
            .unwrap_or_else(|| panic!("{id} is not pending: {pending:?}"))
    };
    match state_of("Camera/VID_big.mp4") {
        PendingState::Failed { reason, hint } => {
            assert!(reason.contains("quota"), "{reason}");
            assert!(hint.contains("quota") || hint.contains("space"), "{hint}");
        }
        other => panic!("the video should have failed on the quota: {other:?}"),
    }
    match state_of("Camera/IMG_locked.jpg") {
        PendingState::Failed { reason, hint } => {
            assert!(reason.contains("Permission denied"), "{reason}");
            assert!(hint.contains("permission"), "{hint}");
        }
        other => panic!("the unreadable photo should have failed: {other:?}"),
    }

    // Hashed and queued with no run going: it waits for the next window.
    lib.write("Camera/IMG_c.jpg", &random_bytes(100_000, 4));
    engine.scan().await.unwrap();
    let pending = engine.pending().unwrap();
    let c = pending
        .iter()
        .find(|p| p.local_id == "Camera/IMG_c.jpg")
        .expect("queued");
    assert_eq!(c.state, PendingState::WaitingForWindow, "{pending:?}");
    // On cellular with Wi-Fi only, it says so.
    engine.set_network(CELLULAR);
    let pending = engine.pending().unwrap();
    let c = pending
        .iter()
        .find(|p| p.local_id == "Camera/IMG_c.jpg")
        .expect("queued");
    assert_eq!(c.state, PendingState::Paused(PauseReason::WaitingForWifi));
}

/// Sends a background transfer as the OS would (body read from the library by the app);
/// answers the status and response headers.
async fn carry_out(
    library: &FsLibrary,
    t: &shoebox_core::BackgroundTransfer,
) -> (u16, Vec<(String, String)>) {
    let body = library
        .read(&t.local_id, t.offset, t.length as u32)
        .expect("the app reads the chunk");
    assert_eq!(body.len() as u64, t.length);
    let method = reqwest::Method::from_bytes(t.method.as_bytes()).unwrap();
    let mut req = http().request(method, &t.url).body(body);
    for (name, value) in &t.headers {
        if !name.eq_ignore_ascii_case("content-length") {
            req = req.header(name, value);
        }
    }
    let resp = req.send().await.expect("send");
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    (resp.status().as_u16(), headers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn background_transfers_are_carried_by_the_os_and_only_the_server_decides() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let mut lib = Library::new();
    lib.write("Camera/IMG_1.jpg", &random_bytes(3 * MIB as usize, 21));
    let video_sha = lib.write_big("Camera/VID_1.mp4", 100 * MIB, 22);
    let fs = FsLibrary::new(&lib.root).unwrap();
    let state = state_dir();
    let engine = phone_engine(
        &server.base(),
        &admin.key,
        state.path(),
        Arc::new(FsLibrary::new(&lib.root).unwrap()),
    );
    engine.scan().await.expect("scan");

    // On cellular with Wi-Fi only there is nothing to hand out, and nothing is asked.
    engine.set_network(CELLULAR);
    let refused = engine.background_transfers(10).await;
    assert!(
        matches!(
            refused,
            Err(shoebox_core::CoreError::Stopped(StopReason::Paused(
                PauseReason::WaitingForWifi
            )))
        ),
        "{refused:?}"
    );
    assert!(server.partial_uploads().is_empty(), "no upload was created");
    engine.set_network(WIFI);

    let batch = engine.background_transfers(10).await.expect("transfers");
    assert_eq!(batch.len(), 2, "{batch:?}");
    for t in &batch {
        assert_eq!(t.method, "PATCH");
        assert!(
            t.headers
                .iter()
                .any(|(k, v)| k == "x-api-key" && v == &admin.key)
        );
        assert!(
            t.headers
                .iter()
                .any(|(k, v)| k == "upload-offset" && v == &t.offset.to_string())
        );
        assert_eq!(t.offset, 0);
    }
    let video = batch.iter().find(|t| t.local_id.ends_with(".mp4")).unwrap();
    assert_eq!(video.length, 64 * MIB, "one chunk of at most 64 MiB");
    // Asked again while these are with the OS: nothing new for the same files.
    assert!(engine.background_transfers(10).await.unwrap().is_empty());

    for t in &batch {
        let (status, headers) = carry_out(&fs, t).await;
        assert_eq!(status, 204, "{headers:?}");
        engine
            .background_transfer_finished(&t.id, status, &headers)
            .unwrap();
    }
    let status = engine.status().unwrap();
    assert_eq!(status.counts.done, 1, "the photo is backed up: {status:?}");
    let pending = engine.pending().unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");

    // The video's last chunk goes through, but the OS loses the answer (status 0): the core
    // does not assume it done, and does not send it again either: HEAD says it is complete.
    let rest = engine.background_transfers(10).await.expect("rest");
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert_eq!((rest[0].offset, rest[0].length), (64 * MIB, 36 * MIB));
    let (status, _) = carry_out(&fs, &rest[0]).await;
    assert_eq!(status, 204);
    engine
        .background_transfer_finished(&rest[0].id, 0, &[])
        .unwrap();
    assert_eq!(engine.status().unwrap().counts.done, 1, "not assumed done");
    assert!(engine.background_transfers(10).await.unwrap().is_empty());
    assert_eq!(
        engine.status().unwrap().counts.done,
        2,
        "the server said it is done"
    );
    assert!(engine.pending().unwrap().is_empty());
    // An unknown id (from before a reinstall) is ignored.
    engine
        .background_transfer_finished("no-such-transfer", 204, &[])
        .unwrap();
    let expected = lib.distinct();
    assert!(expected.contains(&video_sha));
    server.assert_holds_exactly(&admin, &expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pending_shows_when_a_failed_upload_is_tried_again() {
    let mut server = Server::start().await;
    let admin = server.admin().await;
    let proxy = Proxy::start(server.addr).await;
    proxy.throttle(2_000_000);
    let mut lib = Library::new();
    let sha = lib.write_big("Camera/VID_1.mp4", 16 * MIB, 90);
    let state = state_dir();
    let library = Arc::new(FsLibrary::new(&lib.root).unwrap());
    let engine = phone_engine(&proxy.url(), &admin.key, state.path(), library);
    let run = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run_for(Duration::from_secs(60)).await }
    });
    proxy.wait_up(2 * MIB, Duration::from_secs(30)).await;
    // The NAS goes away mid-upload: the core retries with backoff, then schedules a retry.
    server.kill();
    let report = tokio::time::timeout(Duration::from_secs(50), run)
        .await
        .expect("the window ends")
        .unwrap()
        .unwrap();
    assert_eq!(report.uploaded, 0, "{report:?}");
    let pending = engine.pending().unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    match &pending[0].state {
        PendingState::RetryAt { at_ms, error } => {
            assert!(*at_ms > shoebox_core::state::now_ms(), "{pending:?}");
            assert!(!error.is_empty());
        }
        other => panic!("the upload should wait for its retry: {other:?}"),
    }
    // The server is back: a foreground run tries at once and resumes from the kept offset.
    server.start_again().await;
    proxy.set_upstream(server.addr);
    proxy.throttle(0);
    let report = engine.run().await.expect("run");
    assert_eq!(report.uploaded, 1, "{report:?}");
    assert!(engine.pending().unwrap().is_empty());
    server
        .assert_holds_exactly(&admin, &BTreeSet::from([sha]))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_background_timeline_sync_obeys_the_window_and_wifi_only() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let proxy = Proxy::start(server.addr).await;
    let mut lib = Library::new();
    lib.write("Camera/IMG_1.jpg", &random_bytes(200_000, 31));
    let state = state_dir();
    let library = Arc::new(FsLibrary::new(&lib.root).unwrap());
    let engine = phone_engine(&proxy.url(), &admin.key, state.path(), library);
    assert_eq!(engine.run().await.unwrap().uploaded, 1);

    // On cellular with Wi-Fi only: nothing is sent, the call ends at once.
    engine.set_network(CELLULAR);
    proxy.reset_counters();
    let started = Instant::now();
    let r = engine
        .sync_timeline_for(Duration::from_secs(10))
        .await
        .unwrap();
    assert!(r.is_none(), "{r:?}");
    assert_eq!(proxy.up(), 0, "a request went out on cellular");
    assert!(started.elapsed() < Duration::from_secs(1));

    // A link that hangs cannot hold the window past its budget.
    engine.set_network(WIFI);
    proxy.set_stalled(true);
    let started = Instant::now();
    let r = engine
        .sync_timeline_for(Duration::from_secs(3))
        .await
        .unwrap();
    assert!(r.is_none());
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    proxy.set_stalled(false);
    let r = engine
        .sync_timeline_for(Duration::from_secs(30))
        .await
        .unwrap()
        .expect("completes");
    assert_eq!(r.upserted, 1, "{r:?}");
}
