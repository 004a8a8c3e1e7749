//! Issue 5: "A file deleted or rewritten while queued/uploading; an unreadable file; quota
//! exceeded; wrong API key: clear error, queue stays consistent, nothing lost."

mod common;

use common::*;
use shoebox_core::{CoreError, FsLibrary};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

fn small_library(folder: &str, n: u64, seed: u64) -> Library {
    let mut lib = Library::new();
    for i in 0..n {
        lib.write(
            &format!("{folder}/IMG_{i:04}.jpg"),
            &jpeg_bytes(64 * 1024 + i as usize * 1024, seed + i),
        );
    }
    lib
}

fn failure_for<'a>(
    failures: &'a [shoebox_core::FileFailure],
    local_id: &str,
) -> Option<&'a shoebox_core::FileFailure> {
    failures.iter().find(|f| f.local_id == local_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_deleted_or_rewritten_while_queued() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let mut lib = small_library("Camera", 6, 100);
    let state = state_dir();
    let library = Arc::new(FsLibrary::new(&lib.root).unwrap());
    let engine = engine(&server.base(), &admin.key, state.path(), library);

    let scan = engine.scan().await.expect("scan");
    assert_eq!(scan.queued, 6, "{scan:?}");
    let deleted = "Camera/IMG_0001.jpg";
    let rewritten = "Camera/IMG_0002.jpg";
    let deleted_sha = lib.files[deleted].clone();
    let old_sha = lib.files[rewritten].clone();
    lib.remove(deleted);
    lib.write(rewritten, &jpeg_bytes(90 * 1024, 9999));
    let new_sha = lib.files[rewritten].clone();

    let report = engine.run().await.expect("run");
    eprintln!("{report:?}");
    assert_eq!(report.remaining, 0, "{report:?}");
    if let Some(f) = failure_for(&report.failures, deleted) {
        assert!(
            f.message.contains("IMG_0001.jpg") && !f.hint.is_empty(),
            "a readable reason for the vanished file: {f:?}"
        );
    }
    for f in &report.failures {
        assert_eq!(f.local_id, deleted, "only the deleted file may fail: {f:?}");
    }
    server.assert_holds_exactly(&admin, &lib.distinct()).await;
    let ids = server
        .asset_ids(&admin, &[old_sha, new_sha, deleted_sha])
        .await;
    assert_eq!(
        ids[0], None,
        "the old content of the rewritten file is not uploaded"
    );
    assert!(
        ids[1].is_some(),
        "the new content of the rewritten file is uploaded"
    );
    assert_eq!(ids[2], None, "the deleted file is not uploaded");
    let status = engine.status().unwrap();
    assert_eq!(
        (
            status.counts.done,
            status.counts.queued,
            status.counts.failed
        ),
        (5, 0, 0),
        "{status:?}"
    );
    assert_eq!(
        server.albums(&admin).await,
        lib.by_folder(),
        "the album holds the current files"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_rewritten_or_deleted_while_uploading() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let proxy = Proxy::start(server.addr).await;
    proxy.throttle(16_000_000);
    let mut lib = Library::new();
    let old_sha = lib.write_big("Camera/rewritten.mp4", 32 * MIB, 1);
    let gone_sha = lib.write_big("Camera/deleted.mp4", 32 * MIB, 2);
    lib.write("Camera/small.jpg", &jpeg_bytes(100 * 1024, 3));
    let state = state_dir();
    let library = Arc::new(FsLibrary::new(&lib.root).unwrap());
    let engine = engine(&proxy.url(), &admin.key, state.path(), library);

    let run = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run().await }
    });
    // Both big files are uploading (two in parallel by default).
    proxy.wait_up(6 * MIB, Duration::from_secs(60)).await;
    // Rewrite one the way editors do (new file renamed over the old), delete the other.
    let tmp = lib.path("Camera/.rewritten.tmp");
    let new_sha = write_big_file(&tmp, 33 * MIB, 11);
    std::fs::rename(&tmp, lib.path("Camera/rewritten.mp4")).unwrap();
    lib.files
        .insert("Camera/rewritten.mp4".into(), new_sha.clone());
    lib.remove("Camera/deleted.mp4");
    proxy.throttle(0);

    let mut reports = vec![
        tokio::time::timeout(Duration::from_secs(120), run)
            .await
            .expect("run ends")
            .unwrap()
            .expect("run"),
    ];
    if reports[0].remaining > 0 {
        // A changed file may be re-queued for the next run.
        reports.push(engine.run().await.expect("second run"));
    }
    for r in &reports {
        eprintln!("{r:?}");
    }
    let last = reports.last().unwrap();
    assert_eq!(last.remaining, 0, "{reports:?}");
    for f in reports.iter().flat_map(|r| &r.failures) {
        assert!(
            f.local_id == "Camera/deleted.mp4" || f.local_id == "Camera/rewritten.mp4",
            "only the changed files may report problems: {f:?}"
        );
        assert!(!f.message.is_empty() && !f.hint.is_empty(), "{f:?}");
    }
    server.assert_holds_exactly(&admin, &lib.distinct()).await;
    let ids = server.asset_ids(&admin, &[old_sha, gone_sha]).await;
    assert_eq!(
        ids,
        vec![None, None],
        "neither the old bytes of the rewritten file nor the deleted file became an asset"
    );
    let status = engine.status().unwrap();
    assert_eq!(
        (
            status.counts.done,
            status.counts.queued,
            status.counts.failed
        ),
        (2, 0, 0),
        "{status:?}"
    );
    let leftovers = server.partial_uploads();
    if !leftovers.is_empty() {
        eprintln!(
            "note: {} abandoned tus upload(s) left on the server (they count against the quota \
             until they expire): {leftovers:?}",
            leftovers.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unreadable_file_is_reported_and_backed_up_once_readable() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start().await;
    let admin = server.admin().await;
    let lib = small_library("Camera", 4, 200);
    let victim = "Camera/IMG_0003.jpg";
    let as_root = reads_ignore_permissions();
    let library = CountingLibrary::new(&lib.root);
    if as_root {
        eprintln!(
            "running as root: chmod 000 does not stop reads, so the library fails them instead"
        );
        library.unreadable.lock().unwrap().insert(victim.into());
    } else {
        std::fs::set_permissions(lib.path(victim), std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    let state = state_dir();
    let engine = engine(&server.base(), &admin.key, state.path(), library.clone());

    let report = engine.run().await.expect("run");
    eprintln!("{report:?}");
    let failure = failure_for(&report.failures, victim)
        .or_else(|| failure_for(&report.scan.failures, victim))
        .unwrap_or_else(|| panic!("the unreadable file is reported: {report:?}"));
    assert!(
        failure.message.contains("IMG_0003.jpg") && failure.message.to_lowercase().contains("read"),
        "a readable reason: {failure:?}"
    );
    assert_eq!(
        failure.hint,
        CoreError::FileUnreadable {
            name: String::new(),
            reason: String::new()
        }
        .hint(),
        "{failure:?}"
    );
    assert_eq!(
        report.uploaded, 3,
        "the other files are backed up: {report:?}"
    );
    let mut readable = lib.distinct();
    readable.remove(&lib.files[victim]);
    server.assert_holds_exactly(&admin, &readable).await;
    let status = engine.status().unwrap();
    assert_eq!(status.counts.done, 3, "{status:?}");

    // Nothing lost: once readable again, the next run backs it up.
    if as_root {
        library.unreadable.lock().unwrap().clear();
    } else {
        std::fs::set_permissions(lib.path(victim), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let report = engine.run().await.expect("second run");
    assert_eq!(report.uploaded, 1, "{report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    server.assert_holds_exactly(&admin, &lib.distinct()).await;
    let status = engine.status().unwrap();
    assert_eq!(
        (
            status.counts.done,
            status.counts.queued,
            status.counts.failed
        ),
        (4, 0, 0),
        "{status:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cli_reports_an_unreadable_file() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let server = Server::start().await;
    let admin = server.admin().await;
    let lib = small_library("Camera", 3, 300);
    let victim = "Camera/IMG_0000.jpg";
    std::fs::set_permissions(lib.path(victim), std::fs::Permissions::from_mode(0o000)).unwrap();
    let state = state_dir();
    // As root, chmod 000 does not stop reads: run the CLI as `nobody` instead, with the state
    // directory and the library (but not the victim) open to it.
    let as_nobody =
        reads_ignore_permissions() && std::fs::metadata("/proc/self").unwrap().uid() == 0;
    if as_nobody {
        for dir in [
            state.path(),
            lib.root.parent().unwrap(),
            &lib.root,
            &lib.path("Camera"),
        ] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
    }
    let bin_dir = state_dir();
    let cli = Cli::new(state.path(), &server.base(), &admin.key);
    let cli = if as_nobody {
        cli.with_copied_binary(bin_dir.path())
    } else {
        cli
    };
    let run = |cli: &Cli| {
        let mut cmd = cli.command(&[
            "backup",
            lib.root.to_str().unwrap(),
            "--json",
            "--no-progress",
        ]);
        if as_nobody {
            cmd.uid(65534).gid(65534).env("HOME", state.path());
        }
        cmd
    };
    let out = run(&cli).output().await.expect("run shoebox");
    let out = CliOutput {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(
        out.status.code(),
        Some(1),
        "exit 1 when a file could not be read: {}",
        out.describe()
    );
    let v = out.json();
    let failures = v["failures"].as_array().expect("failures");
    let f = failures
        .iter()
        .find(|f| {
            f["file"]
                .as_str()
                .is_some_and(|s| s.contains("IMG_0000.jpg"))
        })
        .unwrap_or_else(|| panic!("the unreadable file is in failures: {v}"));
    assert!(!f["hint"].as_str().unwrap_or("").is_empty(), "{v}");
    assert_eq!(num(&v, "uploaded"), 2, "{v}");
    std::fs::set_permissions(lib.path(victim), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&cli).output().await.expect("run shoebox");
    assert!(out.status.success(), "{out:?}");
    server.assert_holds_exactly(&admin, &lib.distinct()).await;
}

/// 3 MiB quota; four files of which one (5 MiB) cannot fit.
fn quota_library() -> Library {
    let mut lib = Library::new();
    lib.write("Camera/a.jpg", &jpeg_bytes(512 * 1024, 41));
    lib.write("Camera/b.jpg", &jpeg_bytes(700 * 1024, 42));
    lib.write("Camera/big.jpg", &jpeg_bytes(5 * MIB as usize, 43));
    lib.write("Camera/c.jpg", &jpeg_bytes(300 * 1024, 44));
    lib
}

const QUOTA: u64 = 3 * MIB;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quota_exceeded_fails_one_file_clearly_and_the_rest_upload() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let user = server
        .create_user(&admin, "quota@example.com", Some(QUOTA))
        .await;
    let lib = quota_library();
    let big = "Camera/big.jpg";
    let mut fits = lib.distinct();
    fits.remove(&lib.files[big]);

    // Core.
    let state = state_dir();
    let library = Arc::new(FsLibrary::new(&lib.root).unwrap());
    let engine = engine(&server.base(), &user.key, state.path(), library);
    let report = engine.run().await.expect("run");
    eprintln!("{report:?}");
    assert_eq!(report.uploaded, 3, "{report:?}");
    assert_eq!(report.failed, 1, "{report:?}");
    let f = failure_for(&report.failures, big).expect("the big file fails");
    assert!(
        f.message.to_lowercase().contains("quota"),
        "the reason names the quota: {f:?}"
    );
    assert_eq!(
        f.hint,
        CoreError::QuotaExceeded(String::new()).hint(),
        "{f:?}"
    );
    server.assert_holds_exactly(&user, &fits).await;
    let status = engine.status().unwrap();
    assert_eq!(
        (
            status.counts.done,
            status.counts.queued,
            status.counts.failed
        ),
        (3, 0, 1),
        "{status:?}"
    );
    assert!(
        status
            .failures
            .iter()
            .any(|(id, why)| id == big && why.to_lowercase().contains("quota")),
        "status shows the failed file and why: {:?}",
        status.failures
    );
    // Still failing on the next run, still recorded, nothing else disturbed.
    let report = engine.run().await.expect("second run");
    assert_eq!((report.uploaded, report.failed), (0, 1), "{report:?}");
    let status = engine.status().unwrap();
    assert_eq!(
        (
            status.counts.done,
            status.counts.queued,
            status.counts.failed
        ),
        (3, 0, 1),
        "{status:?}"
    );

    // CLI, for another user with the same quota.
    let user2 = server
        .create_user(&admin, "quota2@example.com", Some(QUOTA))
        .await;
    let state2 = state_dir();
    let cli = Cli::new(state2.path(), &server.base(), &user2.key);
    let out = cli.backup(&lib.root, &[]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "exit 1 when a file failed: {}",
        out.describe()
    );
    let v = out.json();
    assert_eq!(num(&v, "uploaded"), 3, "{v}");
    assert_eq!(num(&v, "failed"), 1, "{v}");
    let failures = v["failures"].as_array().expect("failures");
    assert_eq!(failures.len(), 1, "{v}");
    assert!(
        failures[0]["file"].as_str().unwrap().contains("big.jpg"),
        "{v}"
    );
    assert!(
        failures[0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("quota"),
        "{v}"
    );
    assert!(!failures[0]["hint"].as_str().unwrap().is_empty(), "{v}");
    let status = cli.run(&["status", "--json"]).await;
    assert!(status.status.success(), "{}", status.describe());
    let st = cli_status(&status);
    assert_eq!(
        (num(&st, "done"), num(&st, "queued"), num(&st, "failed")),
        (3, 0, 1),
        "{st}"
    );
    server.assert_holds_exactly(&user2, &fits).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_api_key_is_a_clear_error_and_loses_nothing() {
    let server = Server::start().await;
    let admin = server.admin().await;
    let lib = small_library("Camera", 5, 400);
    let state = state_dir();
    let library: Arc<FsLibrary> = Arc::new(FsLibrary::new(&lib.root).unwrap());

    // Queue everything with the right key, then run with a wrong one.
    let good = engine(&server.base(), &admin.key, state.path(), library.clone());
    assert_eq!(good.scan().await.expect("scan").queued, 5);
    drop(good);
    let bad = engine(
        &server.base(),
        "not-a-valid-key",
        state.path(),
        library.clone(),
    );
    match bad.run().await {
        Err(e @ CoreError::Auth(_)) => {
            eprintln!("wrong key: {e} — {}", e.hint());
            assert!(!e.hint().is_empty());
        }
        other => panic!("a wrong API key must fail the run with CoreError::Auth, got {other:?}"),
    }
    let status = bad.status().unwrap();
    assert_eq!(
        (
            status.counts.queued,
            status.counts.done,
            status.counts.failed
        ),
        (5, 0, 0),
        "the queue is untouched: {status:?}"
    );
    drop(bad);
    assert!(server.stored(&admin).is_empty());
    let good = engine(&server.base(), &admin.key, state.path(), library);
    let report = good.run().await.expect("run with the right key");
    assert_eq!((report.uploaded, report.failed), (5, 0), "{report:?}");
    server.assert_holds_exactly(&admin, &lib.distinct()).await;

    // CLI.
    let lib2 = small_library("Phone", 3, 500);
    let state2 = state_dir();
    let cli = Cli::new(state2.path(), &server.base(), "not-a-valid-key");
    let out = cli.backup(&lib2.root, &[]).await;
    assert!(!out.status.success(), "{}", out.describe());
    let text = format!("{}\n{}", out.stdout, out.stderr).to_lowercase();
    assert!(!text.contains("panicked"), "{}", out.describe());
    assert!(
        ["credential", "api key", "log in", "login"]
            .iter()
            .any(|w| text.contains(w)),
        "a readable message about the credentials: {}",
        out.describe()
    );
    let cli = Cli::new(state2.path(), &server.base(), &admin.key);
    let out = cli.backup(&lib2.root, &[]).await;
    assert!(out.status.success(), "{}", out.describe());
    assert_eq!(num(&out.json(), "uploaded"), 3);
    let mut all: BTreeSet<String> = lib.distinct();
    all.extend(lib2.distinct());
    server.assert_holds_exactly(&admin, &all).await;
}
