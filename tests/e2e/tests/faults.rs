//! Issue 5: "Server restarted mid-upload; a proxy that resets connections and returns 503s at
//! random: the backup completes, no duplicate assets, no corrupt originals."

mod common;

use common::*;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_restart_resets_and_503s_backup_completes_without_duplicates() {
    let mut server = Server::start().await;
    let admin = server.admin().await;
    let proxy = Proxy::start(server.addr).await;
    proxy.throttle(25_000_000);

    let mut lib = Library::new();
    for i in 0..4u64 {
        lib.write_big(&format!("Trip/VID_{i:04}.mp4"), 12 * MIB, 500 + i);
    }
    for i in 0..30u64 {
        let folder = if i % 2 == 0 { "Trip" } else { "Home" };
        lib.write(
            &format!("{folder}/IMG_{i:04}.jpg"),
            &jpeg_bytes(20 * 1024 + i as usize * 7 * 1024, 600 + i),
        );
    }
    // The same bytes in both albums.
    lib.write("Home/COPY_0000.jpg", &jpeg_bytes(20 * 1024, 600));
    let files = lib.files.len() as u64;

    let state = state_dir();
    let library = Arc::new(shoebox_core::FsLibrary::new(&lib.root).unwrap());
    let engine = engine(&proxy.url(), &admin.key, state.path(), library);
    proxy.set_chaos(Some(Chaos {
        seed: 0x5EED_0005,
        faults: 6,
        http503_per_mille: 250,
        reset_per_mille: 750,
        reset_min: MIB,
        reset_max: 6 * MIB,
    }));

    let first = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run().await }
    });
    // Mid-upload: SIGKILL the server, start it again on the same data directory.
    proxy.wait_up(15_000_000, Duration::from_secs(60)).await;
    server.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.start_again().await;
    proxy.set_upstream(server.addr);
    // Later, the network goes away for two seconds and every connection drops.
    proxy.wait_up(30_000_000, Duration::from_secs(90)).await;
    proxy.set_stalled(true);
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.drop_connections();
    proxy.set_stalled(false);

    let mut outcomes = vec![
        tokio::time::timeout(Duration::from_secs(150), first)
            .await
            .expect("the first run ends")
            .unwrap(),
    ];
    loop {
        let last = outcomes.last().unwrap();
        let complete =
            matches!(last, Ok(r) if r.failed == 0 && r.remaining == 0 && r.stopped.is_none());
        if complete || outcomes.len() == 3 {
            break;
        }
        if matches!(last, Ok(r) if r.remaining > 0) {
            // Files that failed every inline retry wait out their backoff (about 16 s after
            // five attempts) before a run takes them again, as the next scheduled run would.
            eprintln!("waiting out the retry backoff before the next run: {last:?}");
            tokio::time::sleep(Duration::from_secs(21)).await;
        }
        outcomes.push(
            tokio::time::timeout(Duration::from_secs(150), engine.run())
                .await
                .expect("a run ends"),
        );
    }
    for (i, o) in outcomes.iter().enumerate() {
        eprintln!("run {}: {o:?}", i + 1);
    }
    eprintln!(
        "proxy: {} connections, {} faults injected, {} bytes up",
        proxy.connections(),
        proxy.faults_injected(),
        proxy.up()
    );
    assert!(
        proxy.faults_injected() > 0,
        "the chaos schedule injected faults"
    );
    let last = outcomes.last().unwrap().as_ref().unwrap_or_else(|e| {
        panic!(
            "the backup did not complete within {} runs: {e} ({})",
            outcomes.len(),
            e.hint()
        )
    });
    assert!(
        last.failed == 0 && last.remaining == 0 && last.stopped.is_none(),
        "the backup did not complete within 3 runs: {last:?}"
    );
    let uploaded: u64 = outcomes.iter().flatten().map(|r| r.uploaded).sum();
    assert_eq!(
        uploaded,
        lib.distinct().len() as u64,
        "each distinct content counted as uploaded once across the runs"
    );
    let status = engine.status().unwrap();
    assert_eq!(
        (
            status.counts.done,
            status.counts.queued,
            status.counts.failed
        ),
        (files, 0, 0),
        "{status:?}"
    );

    proxy.set_chaos(None);
    server.assert_holds_exactly(&admin, &lib.distinct()).await;
    assert_eq!(
        server.albums(&admin).await,
        lib.by_folder(),
        "server albums match the folders"
    );
}
