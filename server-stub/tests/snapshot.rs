//! Issue 13, item 5: `shoebox-server snapshot` makes a consistent copy while the server runs
//! (during an upload, even), a server started on the copy has every completed asset
//! byte-identical with logins and API keys working and the half-finished upload resumable or
//! cleanly absent; `shoebox-server verify` names missing and corrupt originals and exits 1.

mod common;

use common::*;
use reqwest::Method;
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

fn run(args: &[&str], data: Option<&Path>) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_shoebox-server"));
    cmd.args(args)
        .env_remove("SHOEBOX_DATA")
        .env("SHOEBOX_ML", "off");
    if let Some(d) = data {
        cmd.arg("--data").arg(d);
    }
    cmd.output().expect("run shoebox-server")
}

fn out(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_snapshot_taken_during_an_upload_serves_everything_and_verify_finds_damage() {
    let srv = Server::start();
    let admin = srv.admin();
    let member = srv.create_user(&admin, "member@example.com", None);
    let mut done: Vec<(User, String, Vec<u8>)> = Vec::new();
    for i in 0..4u8 {
        let who = if i % 2 == 0 { &admin } else { &member };
        let bytes = photo_jpeg(120 + u32::from(i), 90, i);
        let id = srv.upload_new(who, &format!("kept-{i}.jpg"), &bytes);
        done.push((who.clone(), id, bytes));
    }
    let big = random_bytes(6 * MIB, 77);
    let r = srv.tus_upload(&member, "tus-done.bin", &big[..3 * MIB], MIB);
    let tus_done = header(&r, "shoebox-asset-id")
        .map(str::to_string)
        .or_else(|| {
            srv.bulk_check(&member, &sha1_hex(&big[..3 * MIB]))["assetId"]
                .as_str()
                .map(str::to_string)
        })
        .expect("tus asset id");
    done.push((member.clone(), tus_done, big[..3 * MIB].to_vec()));

    // An upload in flight: one MiB committed, the next PATCH streaming slowly.
    let loc = srv.tus_new(&admin, big.len() as u64, &[("filename", b"half.bin")]);
    assert_eq!(
        srv.tus_patch(&admin, &loc, 0, big[..MIB].to_vec()).status(),
        204
    );
    let sent = Arc::new(AtomicU64::new(0));
    let streaming = {
        let (url, key, data, sent) = (
            srv.url(&loc),
            admin.key.clone(),
            Arc::new(big.clone()),
            sent.clone(),
        );
        std::thread::spawn(move || {
            let body = reqwest::blocking::Body::sized(
                SlowReader {
                    data,
                    pos: MIB,
                    end: 4 * MIB,
                    sent,
                    pause: Duration::from_millis(600),
                    fail_after: None,
                },
                3 * MIB as u64,
            );
            client()
                .request(Method::PATCH, url)
                .header("Tus-Resumable", TUS)
                .header("x-api-key", key)
                .header("Content-Type", OCTET)
                .header("Upload-Offset", MIB.to_string())
                .body(body)
                .send()
                .map(|r| r.status().as_u16())
        })
    };
    wait_for_counter(&sent, (MIB / 2) as u64, Duration::from_secs(30));

    let snap_root = tempfile::tempdir().unwrap();
    let snap = snap_root.path().join("snap");
    let o = run(
        &["snapshot", "--to", snap.to_str().unwrap()],
        Some(&srv.data),
    );
    assert!(o.status.success(), "{}", out(&o));
    assert!(!snap_root.path().join("snap.partial").exists());
    assert!(
        sent.load(std::sync::atomic::Ordering::SeqCst) < 3 * MIB as u64,
        "the upload was still running while the snapshot was taken"
    );
    assert_eq!(
        streaming.join().unwrap().ok(),
        Some(204),
        "the live upload went on"
    );

    // The manifest names every completed original with its SHA-1.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(snap.join("manifest.json")).unwrap()).unwrap();
    let listed = manifest["originals"].as_array().unwrap();
    assert_eq!(listed.len(), done.len(), "{manifest}");
    for (_, id, bytes) in &done {
        let m = listed.iter().find(|m| m["assetId"] == id.as_str()).unwrap();
        assert_eq!(m["sha1"], sha1_hex(bytes));
    }

    // verify on the running source and on the snapshot: all well
    for d in [&srv.data, &snap] {
        let o = run(&["verify"], Some(d));
        assert!(o.status.success(), "{}", out(&o));
        assert!(
            String::from_utf8_lossy(&o.stdout)
                .contains("5 originals checked, 0 missing or corrupt"),
            "{}",
            out(&o)
        );
    }

    // A server on the snapshot.
    let mut copy = Server::start();
    copy.kill();
    std::fs::remove_dir_all(&copy.data).unwrap();
    std::fs::rename(&snap, &copy.data).unwrap();
    copy.start_again();
    for (who, id, bytes) in &done {
        let (st, got) = copy.original(who, id);
        assert_eq!(st, 200, "{id}");
        assert!(got == *bytes, "asset {id} is byte-identical");
    }
    // logins and API keys work
    let again = copy.login_user(&member.email, &member.password);
    assert_eq!(again.id, member.id);
    let r = copy.get("/api/users/me").key(&admin).send().unwrap();
    assert_eq!(r.status(), 200);
    // the half-finished upload resumes from what was committed then, or is cleanly gone
    let r = copy.tus_head(&admin, &loc);
    eprintln!("the unfinished upload on the snapshot: HEAD {}", r.status());
    match r.status().as_u16() {
        200 => {
            let at = header_u64(&r, "upload-offset") as usize;
            assert!((MIB..=4 * MIB).contains(&at), "offset {at}");
            let r = copy.tus_patch(&admin, &loc, at as u64, big[at..].to_vec());
            assert_eq!(r.status(), 204, "{}", text(r));
            let id = copy.bulk_check(&admin, &sha1_hex(&big))["assetId"]
                .as_str()
                .expect("finished after the restore")
                .to_string();
            assert!(copy.original(&admin, &id).1 == big);
        }
        404 | 410 => assert!(copy.upload_files().is_empty()),
        s => panic!("HEAD of the unfinished upload on the snapshot: {s}"),
    }
    copy.assert_layout_sane();

    // Damage: one original corrupted, one gone. verify names both and exits 1.
    let (victim_user, victim_id, victim_bytes) = &done[0];
    let corrupt = copy
        .library_file(victim_user, &sha1_hex(victim_bytes))
        .unwrap();
    let mut b = std::fs::read(&corrupt).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x40;
    std::fs::remove_file(&corrupt).unwrap(); // a hard link: damage this copy only
    std::fs::write(&corrupt, &b).unwrap();
    let (gone_user, gone_id, gone_bytes) = &done[1];
    let gone = copy.library_file(gone_user, &sha1_hex(gone_bytes)).unwrap();
    std::fs::remove_file(&gone).unwrap();
    let o = run(&["verify"], Some(&copy.data));
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let text_out = String::from_utf8_lossy(&o.stdout);
    let rel = |p: &Path| p.strip_prefix(&copy.data).unwrap().display().to_string();
    let corrupt_line = text_out
        .lines()
        .find(|l| l.starts_with("corrupt "))
        .unwrap_or_default();
    assert!(
        corrupt_line.contains(&rel(&corrupt)) && corrupt_line.contains(victim_id.as_str()),
        "{}",
        out(&o)
    );
    assert!(corrupt_line.contains("kept-0.jpg"), "{corrupt_line}");
    let missing_line = text_out
        .lines()
        .find(|l| l.starts_with("missing "))
        .unwrap_or_default();
    assert!(
        missing_line.contains(&rel(&gone)) && missing_line.contains(gone_id.as_str()),
        "{}",
        out(&o)
    );
    assert!(text_out.contains("2 missing or corrupt"), "{}", out(&o));
    // the source was never touched by any of it
    let o = run(&["verify"], Some(&srv.data));
    assert!(o.status.success(), "{}", out(&o));
}

#[test]
fn snapshot_and_verify_refuse_what_they_must_not_touch() {
    let srv = Server::start();
    let admin = srv.admin();
    srv.upload_new(&admin, "a.jpg", &photo_jpeg(40, 30, 1));
    let root = tempfile::tempdir().unwrap();

    // a destination with something in it is left alone
    let busy = root.path().join("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("precious.txt"), b"mine").unwrap();
    let o = run(
        &["snapshot", "--to", busy.to_str().unwrap()],
        Some(&srv.data),
    );
    assert!(!o.status.success(), "{}", out(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not empty"),
        "{}",
        out(&o)
    );
    assert_eq!(std::fs::read(busy.join("precious.txt")).unwrap(), b"mine");
    assert_eq!(std::fs::read_dir(&busy).unwrap().count(), 1);

    // not a data directory, a missing one, a snapshot inside the source
    let plain = root.path().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let inside = srv.data.join("snap");
    for (args, data) in [
        (
            vec!["snapshot", "--to", "/nonexistent-parent/x/y"],
            plain.as_path(),
        ),
        (
            vec!["snapshot", "--to", inside.to_str().unwrap()],
            srv.data.as_path(),
        ),
        (vec!["verify"], plain.as_path()),
        (vec!["verify"], Path::new("/nonexistent/shoebox")),
    ] {
        let o = run(&args, Some(data));
        assert!(
            !o.status.success(),
            "{args:?} {}: {}",
            data.display(),
            out(&o)
        );
        assert!(!o.stderr.is_empty(), "{args:?}: says why");
    }
    assert!(!inside.exists());
    assert!(!root.path().join("x").exists());
    let o = run(&["snapshot"], Some(&srv.data));
    assert!(!o.status.success(), "--to is required");

    // an empty existing directory is fine, and --copy copies
    let empty = root.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = run(
        &["snapshot", "--copy", "--to", empty.to_str().unwrap()],
        Some(&srv.data),
    );
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("0 hard-linked"),
        "{}",
        out(&o)
    );
    let o = run(&["verify"], Some(&empty));
    assert!(o.status.success(), "{}", out(&o));
}
