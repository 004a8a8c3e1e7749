//! Issue 13, item 2: a stalled connection never locks an upload. A PATCH whose body stops
//! arriving (the phone went into a tunnel, the socket stays open) ends after
//! `--upload-idle-timeout-secs`; the bytes that arrived are kept, HEAD gives that offset, and a
//! resume from another connection succeeds. A client that never finishes its headers is cut off
//! after `--header-read-timeout-secs`. Bad values of both flags keep the server from starting.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn addr(srv: &Server) -> String {
    srv.base.trim_start_matches("http://").to_string()
}

/// Reads what the server sends on `s` until it closes or `limit` passes: (bytes, closed).
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return (got, true),
        }
    }
    (got, false)
}

#[test]
fn a_silent_half_patch_keeps_its_bytes_and_frees_the_upload() {
    let srv = Server::start_with_env(&[("SHOEBOX_UPLOAD_IDLE_TIMEOUT_SECS", "2")]);
    let user = srv.admin();
    let bytes = photo_jpeg(640, 480, 3);
    let total = bytes.len();
    let half = total / 2;
    let loc = srv.tus_new(
        &user,
        total as u64,
        &[("filename", b"tunnel.jpg"), ("deviceAssetId", b"tunnel-1")],
    );

    // Half a PATCH on a raw socket, then silence without closing it.
    let mut stalled = TcpStream::connect(addr(&srv)).unwrap();
    let head = format!(
        "PATCH {loc} HTTP/1.1\r\nHost: {}\r\nx-api-key: {}\r\nTus-Resumable: 1.0.0\r\n\
         Content-Type: {OCTET}\r\nUpload-Offset: 0\r\nContent-Length: {total}\r\n\r\n",
        addr(&srv),
        user.key
    );
    stalled.write_all(head.as_bytes()).unwrap();
    stalled.write_all(&bytes[..half]).unwrap();
    stalled.flush().unwrap();
    let stalled_at = Instant::now();

    // While the body is open the upload is busy: another writer is told so, not blocked.
    std::thread::sleep(Duration::from_millis(400));
    let r = srv.tus_patch(&user, &loc, 0, bytes.clone());
    assert_eq!(
        r.status(),
        423,
        "a second writer while the first one streams"
    );

    // After the idle timeout the stalled request is over: the server answers and closes it.
    let (answer, closed) = read_until_closed(&mut stalled, Duration::from_secs(15));
    let waited = stalled_at.elapsed();
    assert!(
        closed,
        "the stalled connection is still open after {waited:?}"
    );
    assert!(
        waited >= Duration::from_millis(1500),
        "ended after {waited:?}, before the 2 s idle timeout"
    );
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(
        answer.starts_with("http/1.1 204") && answer.contains(&format!("upload-offset: {half}")),
        "answer to the stalled PATCH: {answer:?}"
    );

    // The received half is kept; a resume from another connection completes the upload.
    assert_eq!(srv.tus_offset(&user, &loc), half as u64);
    let r = srv.tus_patch(&user, &loc, half as u64, bytes[half..].to_vec());
    assert_eq!(r.status(), 204, "resume: {}", text(r));
    let id = srv.bulk_check(&user, &sha1_hex(&bytes))["assetId"]
        .as_str()
        .expect("the upload became an asset")
        .to_string();
    let (st, original) = srv.original(&user, &id);
    assert_eq!(st, 200);
    assert_eq!(original, bytes, "byte-identical after the stall");
    srv.assert_layout_sane();
}

#[test]
fn a_silent_half_multipart_upload_ends_and_leaves_nothing() {
    let mut srv = Server::start_with_env(&[("SHOEBOX_UPLOAD_IDLE_TIMEOUT_SECS", "2")]);
    let user = srv.admin();
    let bytes = photo_jpeg(320, 240, 5);
    let (ct, head, tail) = multipart_parts(
        &cli_fields("stalled.jpg", bytes.len()),
        Some(("stalled.jpg", "image/jpeg")),
    );
    let total = head.len() + bytes.len() + tail.len();
    let mut s = TcpStream::connect(addr(&srv)).unwrap();
    let req = format!(
        "POST /api/assets HTTP/1.1\r\nHost: x\r\nx-api-key: {}\r\nContent-Type: {ct}\r\n\
         Content-Length: {total}\r\n\r\n",
        user.key
    );
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(&head).unwrap();
    s.write_all(&bytes[..bytes.len() / 2]).unwrap();
    s.flush().unwrap();
    let start = Instant::now();
    let (answer, closed) = read_until_closed(&mut s, Duration::from_secs(15));
    assert!(closed, "the stalled multipart upload kept its connection");
    assert!(
        start.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(
        answer.is_empty() || answer.starts_with("http/1.1 4"),
        "a stalled upload is no success: {answer:?}"
    );
    // no asset, no temp file left, and the same upload done properly works
    assert_eq!(srv.bulk_check(&user, &sha1_hex(&bytes))["action"], "accept");
    assert!(srv.tmp_files().is_empty(), "{:?}", srv.tmp_files());
    srv.upload_new(&user, "stalled.jpg", &bytes);
    srv.assert_alive();
}

#[test]
fn a_slow_but_steady_body_is_not_cut_off() {
    // 1 s between pieces, idle timeout 2 s: three seconds in all, never idle for two.
    let srv = Server::start_with_env(&[("SHOEBOX_UPLOAD_IDLE_TIMEOUT_SECS", "2")]);
    let user = srv.admin();
    let bytes = random_bytes(3000, 8);
    let loc = srv.tus_new(&user, bytes.len() as u64, &[("filename", b"slow.bin")]);
    let mut s = TcpStream::connect(addr(&srv)).unwrap();
    let head = format!(
        "PATCH {loc} HTTP/1.1\r\nHost: x\r\nx-api-key: {}\r\nTus-Resumable: 1.0.0\r\n\
         Content-Type: {OCTET}\r\nUpload-Offset: 0\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        user.key,
        bytes.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    for piece in bytes.chunks(1000) {
        std::thread::sleep(Duration::from_secs(1));
        s.write_all(piece).unwrap();
    }
    let (answer, _) = read_until_closed(&mut s, Duration::from_secs(10));
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(
        answer.starts_with("http/1.1 204") && answer.contains("upload-offset: 3000"),
        "{answer:?}"
    );
}

#[test]
fn headers_that_never_finish_are_cut_off() {
    let mut srv = Server::start_with_env(&[("SHOEBOX_HEADER_READ_TIMEOUT_SECS", "2")]);
    let mut s = TcpStream::connect(addr(&srv)).unwrap();
    s.write_all(b"GET /api/server/ping HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    let start = Instant::now();
    let (_, closed) = read_until_closed(&mut s, Duration::from_secs(15));
    let waited = start.elapsed();
    assert!(closed, "a half-sent header block kept its connection");
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(10),
        "cut off after {waited:?}"
    );
    // a complete request still works, the server is fine
    srv.assert_alive();
}

#[test]
fn bad_timeout_values_keep_the_server_from_starting() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, value) in [
        ("--upload-idle-timeout-secs", "0"),
        ("--upload-idle-timeout-secs", "-1"),
        ("--upload-idle-timeout-secs", "abc"),
        ("--upload-idle-timeout-secs", "99999999999999999999999"),
        ("--header-read-timeout-secs", "0"),
        ("--header-read-timeout-secs", "1e3"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_shoebox-server"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path())
            .arg(format!("{flag}={value}"))
            .env("SHOEBOX_ML", "off")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{flag} {value} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{flag} {value}: {err}");
    }
}
