//! Crash safety: SIGKILL mid-upload, restart on the same data directory, start-up reconciliation.

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::json;

fn part_path(srv: &Server, loc: &str) -> std::path::PathBuf {
    srv.data
        .join("uploads")
        .join(format!("{}.part", upload_id(loc)))
}

fn file_len(p: &std::path::Path) -> Option<u64> {
    fs::metadata(p).ok().map(|m| m.len())
}

/// Starts a slow PATCH of `data[from..]` in a thread; returns the byte counter and the handle
/// (the thread's result: Ok(status) or Err(text)).
fn slow_patch(
    srv: &Server,
    user: &User,
    loc: &str,
    data: Arc<Vec<u8>>,
    from: usize,
) -> (Arc<AtomicU64>, thread::JoinHandle<Result<u16, String>>) {
    let sent = Arc::new(AtomicU64::new(0));
    let reader = SlowReader {
        data: data.clone(),
        pos: from,
        end: data.len(),
        sent: sent.clone(),
        pause: Duration::from_millis(60),
        fail_after: None,
    };
    let rb = srv
        .tus(Method::PATCH, loc, user)
        .header("Content-Type", OCTET)
        .header("Upload-Offset", from.to_string())
        .body(reqwest::blocking::Body::sized(
            reader,
            (data.len() - from) as u64,
        ));
    let h = thread::spawn(move || match rb.send() {
        Ok(r) => Ok(r.status().as_u16()),
        Err(e) => Err(e.to_string()),
    });
    (sent, h)
}

#[test]
fn sigkill_mid_tus_patch_then_resume() {
    let mut srv = Server::start();
    let admin = srv.admin();
    let bytes = Arc::new(mp4_bytes(48 * MIB, 1));
    let checksum = sha1_hex(&bytes);
    let loc = srv.tus_new(
        &admin,
        bytes.len() as u64,
        &[("filename", b"big.mp4"), ("checksum", checksum.as_bytes())],
    );

    let (sent, h) = slow_patch(&srv, &admin, &loc, bytes.clone(), 0);
    wait_for_counter(&sent, 8 * MIB as u64, Duration::from_secs(60));
    srv.kill();
    let res = h.join().unwrap();
    assert!(
        res.is_err() || res != Ok(204),
        "PATCH cannot have completed: {res:?}"
    );
    let sent = sent.load(Ordering::SeqCst);
    assert!(
        sent < bytes.len() as u64,
        "the whole body went out before the kill"
    );
    let part = part_path(&srv, &loc);
    let part_len_after_kill = file_len(&part);

    srv.start_again();
    let mut offset = srv.tus_offset(&admin, &loc);
    eprintln!(
        "sent {sent} bytes before SIGKILL; .part after kill {part_len_after_kill:?}; \
         committed offset after restart {offset}; .part now {:?}",
        file_len(&part)
    );
    assert!(offset <= sent, "offset {offset} > bytes sent {sent}");
    // start-up trims an overlong .part to the committed offset
    let mut trimmed_at_startup = file_len(&part) == Some(offset);
    let after_kill = format!("{part_len_after_kill:?}");

    // make sure there is a committed prefix to protect
    if offset == 0 {
        let r = srv.tus_patch(&admin, &loc, 0, bytes[..MIB].to_vec());
        assert_eq!(r.status(), 204);
        offset = MIB as u64;
    }

    // simulate a crash between write and commit: garbage past the committed offset
    srv.kill();
    {
        let mut f = OpenOptions::new()
            .append(true)
            .open(&part)
            .expect("open .part");
        f.write_all(&random_bytes(3 * MIB + 17, 99)).unwrap();
        f.sync_all().unwrap();
    }
    srv.start_again();
    assert_eq!(
        srv.tus_offset(&admin, &loc),
        offset,
        "garbage moved the offset"
    );
    trimmed_at_startup &= file_len(&part) == Some(offset);

    // resume from the server's offset in two PATCHes
    let mid = offset as usize + (bytes.len() - offset as usize) / 2;
    let r = srv.tus_patch(&admin, &loc, offset, bytes[offset as usize..mid].to_vec());
    assert_eq!(r.status(), 204);
    assert_eq!(header_u64(&r, "upload-offset"), mid as u64);
    let r = srv.tus_patch(&admin, &loc, mid as u64, bytes[mid..].to_vec());
    assert_eq!(
        r.status(),
        204,
        "completion (whole-file checksum must match)"
    );
    assert_eq!(header(&r, "shoebox-asset-status"), Some("created"));
    let id = header(&r, "shoebox-asset-id").unwrap().to_string();
    let (st, got) = srv.original(&admin, &id);
    assert_eq!(st, 200);
    assert_eq!(sha1_hex(&got), checksum, "original differs from the source");
    let f = srv.library_file(&admin, &checksum).expect("library file");
    assert_eq!(sha1_hex(&fs::read(f).unwrap()), checksum);
    assert!(!part.exists());
    srv.assert_layout_sane();
    assert!(
        trimmed_at_startup,
        "start-up did not trim the overlong .part to the committed offset (len after kill {after_kill})"
    );
}

#[test]
fn sigkill_mid_multipart_leaves_nothing() {
    let mut srv = Server::start();
    let admin = srv.admin();
    let bytes = jpeg_bytes(32 * MIB, 2);
    let (ct, head, tail) = multipart_parts(
        &cli_fields("big.jpg", bytes.len()),
        Some(("big.jpg", "image/jpeg")),
    );
    let mut body = head;
    body.extend_from_slice(&bytes);
    body.extend_from_slice(&tail);
    let body = Arc::new(body);
    let sent = Arc::new(AtomicU64::new(0));
    let reader = SlowReader {
        data: body.clone(),
        pos: 0,
        end: body.len(),
        sent: sent.clone(),
        pause: Duration::from_millis(60),
        fail_after: None,
    };
    let rb = srv
        .post("/api/assets")
        .key(&admin)
        .header("content-type", ct)
        .body(reqwest::blocking::Body::sized(reader, body.len() as u64));
    let h = thread::spawn(move || {
        rb.send()
            .map(|r| r.status().as_u16())
            .map_err(|e| e.to_string())
    });
    wait_for_counter(&sent, 8 * MIB as u64, Duration::from_secs(60));
    thread::sleep(Duration::from_millis(200));
    let tmp_during = srv.tmp_files();
    eprintln!("tmp mid-body: {tmp_during:?}");
    srv.kill();
    let res = h.join().unwrap();
    assert!(res.is_err(), "upload cannot have finished: {res:?}");
    assert!(
        srv.library_files().is_empty(),
        "library file before commit: {:?}",
        srv.library_files()
    );

    srv.start_again();
    assert!(
        srv.tmp_files().is_empty(),
        "tmp not emptied at start-up: {:?}",
        srv.tmp_files()
    );
    assert!(srv.library_files().is_empty(), "{:?}", srv.library_files());
    let chk = srv.bulk_check(&admin, &sha1_hex(&bytes));
    assert_eq!(chk["action"], "accept", "{chk}");
    // and the same upload now works from scratch
    let id = srv.upload_new(&admin, "big.jpg", &bytes);
    assert_eq!(sha1_hex(&srv.original(&admin, &id).1), sha1_hex(&bytes));
    assert!(srv.tmp_files().is_empty());
    srv.assert_layout_sane();
    assert!(
        !tmp_during.is_empty(),
        "multipart upload was not streamed to DIR/tmp (nothing there mid-body)"
    );
}

#[test]
fn acknowledged_uploads_survive_sigkill() {
    let mut srv = Server::start();
    let admin = srv.admin();
    let a = jpeg_bytes(2 * MIB + 3, 3);
    let b = mp4_bytes(3 * MIB + 5, 4);
    let a_id = srv.upload_new(&admin, "a.jpg", &a);
    let r = srv.tus_upload(&admin, "b.mp4", &b, MIB);
    let b_id = header(&r, "shoebox-asset-id").unwrap().to_string();
    let album = srv
        .post("/api/albums")
        .key(&admin)
        .json(&json!({"albumName": "Kept", "assetIds": [a_id, b_id]}))
        .send()
        .unwrap();
    assert_eq!(album.status(), 201);
    // partial tus upload with a committed offset
    let c = jpeg_bytes(MIB, 5);
    let loc = srv.tus_new(&admin, c.len() as u64, &[("filename", b"c.jpg")]);
    assert_eq!(
        srv.tus_patch(&admin, &loc, 0, c[..300_000].to_vec())
            .status(),
        204
    );
    srv.restart(); // SIGKILL right after the acknowledgements
    // the account survived: no second admin sign-up
    let r = srv
        .post("/api/auth/admin-sign-up")
        .json(&json!({"email": "late@example.com", "password": "late password", "name": "Late"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400, "admin sign-up reopened after restart");
    assert_eq!(srv.original(&admin, &a_id).1, a);
    assert_eq!(srv.original(&admin, &b_id).1, b);
    assert_eq!(srv.tus_offset(&admin, &loc), 300_000);
    let r = srv.tus_patch(&admin, &loc, 300_000, c[300_000..].to_vec());
    assert_eq!(r.status(), 204);
    let c_id = header(&r, "shoebox-asset-id").unwrap().to_string();
    assert_eq!(srv.original(&admin, &c_id).1, c);
    // the API key and the session survived too
    let r = srv
        .get("/api/users/me")
        .bearer_auth(&admin.token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let albums: serde_json::Value = srv
        .get("/api/albums")
        .key(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(albums.as_array().unwrap().len(), 1);
}

#[test]
fn startup_reconciles_orphans() {
    let mut srv = Server::start();
    let admin = srv.admin();
    let real = jpeg_bytes(100_000, 6);
    let real_id = srv.upload_new(&admin, "real.jpg", &real);
    let real_file = srv.library_file(&admin, &sha1_hex(&real)).unwrap();
    // an upload in progress that must survive
    let p = jpeg_bytes(50_000, 7);
    let p_loc = srv.tus_new(&admin, p.len() as u64, &[("filename", b"p.jpg")]);
    assert_eq!(
        srv.tus_patch(&admin, &p_loc, 0, p[..20_000].to_vec())
            .status(),
        204
    );
    // an upload whose .part will vanish: its row must go
    let q_loc = srv.tus_new(&admin, 1000, &[("filename", b"q.jpg")]);
    assert_eq!(
        srv.tus_patch(&admin, &q_loc, 0, vec![1u8; 10]).status(),
        204
    );
    srv.kill();

    // plant orphans
    let lib = srv.data.join("library").join(&admin.id);
    let orphan = jpeg_bytes(7777, 8);
    let oh = sha1_hex(&orphan);
    let orphan_path = lib
        .join(&oh[0..2])
        .join(&oh[2..4])
        .join(format!("{oh}.jpg"));
    fs::create_dir_all(orphan_path.parent().unwrap()).unwrap();
    fs::write(&orphan_path, &orphan).unwrap();
    let orphan2 = random_bytes(555, 9);
    let oh2 = sha1_hex(&orphan2);
    let orphan2_path = lib.join(&oh2[0..2]).join(&oh2[2..4]).join(&oh2);
    fs::create_dir_all(orphan2_path.parent().unwrap()).unwrap();
    fs::write(&orphan2_path, &orphan2).unwrap();
    let junk_part = srv.data.join("uploads").join("junk.part");
    fs::write(&junk_part, b"junk").unwrap();
    let junk_part2 = srv
        .data
        .join("uploads")
        .join("0b6f7a9e-5d1c-4a57-9d3b-2f0c1e8a4b21.part");
    fs::write(&junk_part2, vec![0u8; 4096]).unwrap();
    fs::create_dir_all(srv.data.join("tmp")).unwrap();
    let tmp_junk = srv
        .data
        .join("tmp")
        .join("3c1d2e4f-0000-4000-8000-000000000001");
    fs::write(&tmp_junk, vec![1u8; 1234]).unwrap();
    fs::remove_file(part_path(&srv, &q_loc)).unwrap();

    srv.start_again();
    assert!(
        !orphan_path.exists(),
        "orphan library file not deleted at start-up"
    );
    assert!(
        !orphan2_path.exists(),
        "orphan library file (no ext) not deleted at start-up"
    );
    assert!(!junk_part.exists(), "junk.part not deleted at start-up");
    assert!(
        !junk_part2.exists(),
        "<uuid>.part with no row not deleted at start-up"
    );
    assert!(!tmp_junk.exists(), "tmp not emptied at start-up");
    // the real things are intact
    assert!(real_file.exists());
    assert_eq!(srv.original(&admin, &real_id).1, real);
    assert_eq!(srv.tus_offset(&admin, &p_loc), 20_000);
    let r = srv.tus_patch(&admin, &p_loc, 20_000, p[20_000..].to_vec());
    assert_eq!(r.status(), 204);
    let p_id = header(&r, "shoebox-asset-id").unwrap().to_string();
    assert_eq!(srv.original(&admin, &p_id).1, p);
    // the row whose .part vanished is gone
    let st = srv.tus_head(&admin, &q_loc).status().as_u16();
    assert!(
        st == 404 || st == 410,
        "upload row without .part: HEAD {st}"
    );
    // the orphans are not assets
    assert_eq!(srv.bulk_check(&admin, &oh)["action"], "accept");
    srv.assert_layout_sane();
}

#[test]
fn sigterm_exits_zero() {
    let mut srv = Server::start();
    let admin = srv.admin();
    let id = srv.upload_new(&admin, "a.jpg", &jpeg_bytes(1000, 10));
    let st = srv
        .terminate(Duration::from_secs(15))
        .expect("server did not exit after SIGTERM");
    assert!(st.success(), "exit status after SIGTERM: {st:?}");
    srv.start_again();
    assert_eq!(srv.original(&admin, &id).1, jpeg_bytes(1000, 10));
}

#[test]
fn sigkill_mid_second_patch_keeps_committed_offset() {
    let mut srv = Server::start();
    let admin = srv.admin();
    let bytes = Arc::new(jpeg_bytes(24 * MIB + 321, 11));
    let loc = srv.tus_new(&admin, bytes.len() as u64, &[("filename", b"two.jpg")]);
    let first = 5 * MIB + 77;
    let r = srv.tus_patch(&admin, &loc, 0, bytes[..first].to_vec());
    assert_eq!(r.status(), 204);
    let (sent, h) = slow_patch(&srv, &admin, &loc, bytes.clone(), first);
    wait_for_counter(&sent, 6 * MIB as u64, Duration::from_secs(60));
    srv.kill();
    let _ = h.join().unwrap();
    let sent = sent.load(Ordering::SeqCst);
    srv.start_again();
    let off = srv.tus_offset(&admin, &loc);
    assert!(
        off >= first as u64 && off <= first as u64 + sent,
        "offset {off} outside [{first}, {}]",
        first as u64 + sent
    );
    assert_eq!(
        file_len(&part_path(&srv, &loc)),
        Some(off),
        ".part not trimmed to the offset"
    );
    let r = srv.tus_patch(&admin, &loc, off, bytes[off as usize..].to_vec());
    assert_eq!(r.status(), 204);
    let id = header(&r, "shoebox-asset-id").unwrap().to_string();
    assert_eq!(sha1_hex(&srv.original(&admin, &id).1), sha1_hex(&bytes));
}
