//! Issue 5: "SIGKILL the CLI in the middle of a 300 MB file; the next run sends only the missing
//! part (count bytes through a small TCP proxy in the test) and the stored original is
//! byte-identical."

mod common;

use common::*;
use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_file_then_next_run_sends_only_the_missing_part() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let proxy = Proxy::start(server.addr).await;
    // Slow enough that the kill lands mid-file, fast enough to keep the test short.
    proxy.throttle(30_000_000);

    let mut lib = Library::new();
    let size = 300 * MIB;
    let sha = lib.write_big("Videos/holiday.mp4", size, 300);
    let state = state_dir();
    let cli = Cli::new(state.path(), &proxy.url(), &admin.key);

    let log_dir = tempfile::tempdir().unwrap();
    let log = |name: &str| std::fs::File::create(log_dir.path().join(name)).unwrap();
    let mut child = cli
        .command(&[
            "backup",
            lib.root.to_str().unwrap(),
            "--json",
            "--no-progress",
        ])
        .stdout(Stdio::from(log("stdout")))
        .stderr(Stdio::from(log("stderr")))
        .spawn()
        .expect("spawn shoebox backup");
    let start = Instant::now();
    while proxy.up() < 100_000_000 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "shoebox exited ({status}) before 100 MB went through the proxy ({} bytes); stderr:\n{}",
                proxy.up(),
                std::fs::read_to_string(log_dir.path().join("stderr")).unwrap_or_default()
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "only {} bytes through the proxy after 120 s",
            proxy.up()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.start_kill().expect("SIGKILL shoebox");
    let status = child.wait().await.unwrap();
    assert!(!status.success(), "the CLI was killed: {status}");
    let sent_before_kill = proxy
        .wait_quiet(Duration::from_millis(500), Duration::from_secs(10))
        .await;
    assert!(
        sent_before_kill < size,
        "the kill must land mid-file ({sent_before_kill} bytes sent)"
    );

    // What the server kept of the interrupted upload.
    let parts = server.partial_uploads();
    assert_eq!(parts.len(), 1, "one tus upload in progress: {parts:?}");
    let mut offset = None;
    for _ in 0..50 {
        let now = server.tus_offset(&admin, &parts[0]).await;
        if now.is_some() && now == offset {
            break;
        }
        offset = now;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let offset = offset.expect("HEAD of the interrupted upload");
    assert!(
        offset >= 8 * MIB && offset < size,
        "the server kept {offset} of {sent_before_kill} bytes sent before the kill"
    );
    assert_eq!(
        server.asset_ids(&admin, std::slice::from_ref(&sha)).await,
        vec![None],
        "no asset yet"
    );

    proxy.throttle(0);
    proxy.reset_counters();
    let out = cli.backup(&lib.root, &[]).await;
    assert!(out.status.success(), "{}", out.describe());
    let v = out.json();
    assert_eq!(num(&v, "uploaded"), 1, "{v}");
    assert_eq!(num(&v, "failed"), 0, "{v}");
    let missing = size - offset;
    let second_run = proxy.up();
    eprintln!(
        "before kill: {sent_before_kill} bytes through the proxy; server offset {offset}; \
         second run: {second_run} bytes for {missing} missing"
    );
    assert_eq!(
        num(&v, "bytes_sent"),
        missing,
        "the second run reports sending exactly the missing part: {v}"
    );
    // Slack: HTTP requests (HEAD, PATCH headers, API calls); one starting chunk at most.
    assert!(
        second_run >= missing && second_run <= missing + 8 * MIB,
        "the second run sent {second_run} bytes through the proxy; {missing} were missing \
         (server had {offset} of {size})"
    );
    server
        .assert_holds_exactly(&admin, &BTreeSet::from([sha]))
        .await;
    assert!(
        server.partial_uploads().is_empty(),
        "no partial upload left"
    );
}
