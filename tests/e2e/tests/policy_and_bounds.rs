//! Issue 5: "Network state switched to cellular mid-file with Wi-Fi-only on: pauses, sends
//! nothing more (issue 12: the chunk in flight is aborted at once; the server keeps what it
//! received); back on Wi-Fi: resumes from the offset", plus bounded runs:
//! `run_for(deadline)` stops cleanly before the deadline with a consistent queue, and
//! `cancel()` stops promptly.

mod common;

use common::*;
use shoebox_core::{NetworkKind, NetworkState, StopReason};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const WIFI: NetworkState = NetworkState {
    kind: NetworkKind::Wifi,
    metered: false,
};
const CELLULAR: NetworkState = NetworkState {
    kind: NetworkKind::Cellular,
    metered: false,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cellular_with_wifi_only_pauses_at_chunk_boundary_and_resumes_from_offset() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let proxy = Proxy::start(server.addr).await;
    proxy.throttle(16_000_000);
    let mut lib = Library::new();
    let size = 64 * MIB;
    let sha = lib.write_big("Camera/clip.mp4", size, 64);
    let state = state_dir();
    let library = Arc::new(shoebox_core::FsLibrary::new(&lib.root).unwrap());
    let engine = engine(&proxy.url(), &admin.key, state.path(), library);
    assert!(engine.settings().wifi_only, "Wi-Fi only is on by default");
    engine.set_network(WIFI);

    let run = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run().await }
    });
    proxy.wait_up(2 * MIB, Duration::from_secs(60)).await;
    engine.set_network(CELLULAR);
    let at_switch = proxy.up();
    let paused_at = proxy
        .wait_quiet(Duration::from_secs(2), Duration::from_secs(30))
        .await;
    assert!(
        paused_at < size,
        "the upload must pause, not finish ({paused_at} of {size} bytes sent)"
    );
    assert!(
        paused_at - at_switch <= 64 * MIB + MIB,
        "after the switch at {at_switch} bytes, {paused_at} were sent: more than the current chunk"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(proxy.up(), paused_at, "nothing is sent while on cellular");
    assert!(!run.is_finished(), "run() waits for Wi-Fi");

    let parts = server.partial_uploads();
    assert_eq!(parts.len(), 1, "{parts:?}");
    let offset = server.tus_offset(&admin, &parts[0]).await.expect("HEAD");
    assert!(
        offset > 0 && offset <= paused_at,
        "server offset {offset} after {paused_at} bytes"
    );
    eprintln!("switched at {at_switch} bytes, paused at {paused_at}, server offset {offset}");

    proxy.throttle(0);
    engine.set_network(WIFI);
    let report = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("run() completes once back on Wi-Fi")
        .unwrap()
        .expect("run");
    assert_eq!(report.uploaded, 1, "{report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(report.stopped, None, "{report:?}");
    assert_eq!(report.bytes_sent, size, "{report:?}");
    let total = proxy.up();
    assert!(
        total >= size && total <= size + MIB,
        "{total} bytes through the proxy for a {size}-byte file: acknowledged bytes were re-sent"
    );
    server
        .assert_holds_exactly(&admin, &BTreeSet::from([sha]))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_for_stops_before_its_deadline_with_a_consistent_queue() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let proxy = Proxy::start(server.addr).await;
    proxy.throttle(8_000_000);
    let mut lib = Library::new();
    for i in 0..8u64 {
        lib.write(
            &format!("Camera/IMG_{i:04}.jpg"),
            &jpeg_bytes(6 * MIB as usize, 700 + i),
        );
    }
    let total_bytes = 48 * MIB;
    let state = state_dir();
    let library = Arc::new(shoebox_core::FsLibrary::new(&lib.root).unwrap());
    let engine = engine(&proxy.url(), &admin.key, state.path(), library);

    let budget = Duration::from_secs(3);
    let started = Instant::now();
    let report = engine.run_for(budget).await.expect("run_for");
    let took = started.elapsed();
    eprintln!("run_for({budget:?}) took {took:?}: {report:?}");
    assert!(
        took < budget,
        "run_for({budget:?}) returned after {took:?}: {report:?}"
    );
    assert_eq!(report.stopped, Some(StopReason::Deadline), "{report:?}");
    assert!(report.remaining > 0, "48 MB at 8 MB/s cannot fit in 3 s");
    assert_eq!(report.failed, 0, "{report:?}");

    // The queue is consistent: every file is either done (and on the server) or still queued.
    let status = engine.status().unwrap();
    assert_eq!(status.counts.queued, report.remaining, "{status:?}");
    assert_eq!(status.counts.failed, 0, "{status:?}");
    assert_eq!(status.counts.done + status.counts.queued, 8, "{status:?}");
    assert_eq!(
        status.counts.done,
        report.uploaded + report.duplicates,
        "{status:?} vs {report:?}"
    );
    let stored: BTreeSet<String> = server.stored(&admin).into_iter().collect();
    assert_eq!(
        stored.len() as u64,
        report.uploaded,
        "what the run reports uploaded is on the server"
    );
    assert!(stored.is_subset(&lib.distinct()));

    proxy.throttle(0);
    let report2 = engine.run().await.expect("run");
    assert_eq!(report2.failed, 0, "{report2:?}");
    assert_eq!(report2.remaining, 0, "{report2:?}");
    assert_eq!(
        report.uploaded + report2.uploaded,
        8,
        "{report:?} {report2:?}"
    );
    let total = proxy.up();
    assert!(
        total <= total_bytes + 2 * MIB,
        "{total} bytes through the proxy for {total_bytes} bytes of files: bytes were re-sent"
    );
    server.assert_holds_exactly(&admin, &lib.distinct()).await;
    assert_eq!(engine.status().unwrap().counts.done, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_stops_promptly_and_the_next_run_resumes() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let proxy = Proxy::start(server.addr).await;
    proxy.throttle(8_000_000);
    let mut lib = Library::new();
    let size = 32 * MIB;
    let sha = lib.write_big("Camera/long.mp4", size, 32);
    let state = state_dir();
    let library = Arc::new(shoebox_core::FsLibrary::new(&lib.root).unwrap());
    let engine = engine(&proxy.url(), &admin.key, state.path(), library);

    let run = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run().await }
    });
    proxy.wait_up(4 * MIB, Duration::from_secs(60)).await;
    let cancelled_at = Instant::now();
    engine.cancel();
    let report = tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("run() returns promptly after cancel()")
        .unwrap()
        .expect("run");
    let took = cancelled_at.elapsed();
    assert!(took < Duration::from_secs(1), "cancel() took {took:?}");
    assert_eq!(report.stopped, Some(StopReason::Cancelled), "{report:?}");
    assert_eq!(report.remaining, 1, "{report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    let after_cancel = proxy
        .wait_quiet(Duration::from_millis(500), Duration::from_secs(5))
        .await;
    assert!(after_cancel < size, "cancel stopped the upload");
    let status = engine.status().unwrap();
    assert_eq!(
        (status.counts.queued, status.counts.failed),
        (1, 0),
        "{status:?}"
    );

    proxy.throttle(0);
    let report = engine.run().await.expect("run after cancel");
    assert_eq!(report.uploaded, 1, "{report:?}");
    assert_eq!(report.remaining, 0, "{report:?}");
    let total = proxy.up();
    assert!(
        total <= size + 2 * MIB,
        "{total} bytes through the proxy for a {size}-byte file: acknowledged bytes were re-sent"
    );
    server
        .assert_holds_exactly(&admin, &BTreeSet::from([sha]))
        .await;
}
