//! XMP sidecars sent with a multipart upload (`sidecarData`, as `@immich/cli` sends them): the
//! taken date inside wins over the file's, the sidecar is stored next to the original, survives
//! a restart's orphan sweep, goes away with the asset, and an oversized one is refused.

mod common;

use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

const XMP: &str = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:DateTimeOriginal="2015-08-09T10:11:12+02:00"/>
</rdf:RDF></x:xmpmeta>"#;

/// A multipart body with the photo and a sidecar part, in the order the Immich CLI sends them.
fn body_with_sidecar(photo: &[u8], sidecar: &[u8]) -> (String, Vec<u8>) {
    let mut b = Vec::new();
    for (k, v) in [
        ("deviceAssetId", "IMG_1.jpg-1"),
        ("deviceId", "cli"),
        ("fileCreatedAt", "2024-01-01T00:00:00.000Z"),
        ("fileModifiedAt", "2024-01-01T00:00:00.000Z"),
    ] {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (field, name, mime, bytes) in [
        ("assetData", "IMG_1.jpg", "image/jpeg", photo),
        (
            "sidecarData",
            "IMG_1.jpg.xmp",
            "application/rdf+xml",
            sidecar,
        ),
    ] {
        b.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; \
                 filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n"
            )
            .as_bytes(),
        );
        b.extend_from_slice(bytes);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), b)
}

fn upload(srv: &Server, user: &User, photo: &[u8], sidecar: &[u8]) -> (u16, Value) {
    let (ct, body) = body_with_sidecar(photo, sidecar);
    let r = srv
        .post("/api/assets")
        .key(user)
        .header("content-type", ct)
        .body(body)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn wait_for_taken(srv: &Server, user: &User, id: &str, want: &str) -> Value {
    let start = Instant::now();
    loop {
        let (_, v) = srv.asset(user, id);
        if v["fileCreatedAt"] == want {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "metadata job did not apply the sidecar date: {v}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sidecar_date_wins_is_stored_kept_and_removed_with_the_asset() {
    let mut srv = Server::start();
    let user = srv.admin();
    let photo = photo_jpeg(64, 48, 3);
    let (status, v) = upload(&srv, &user, &photo, XMP.as_bytes());
    assert_eq!(status, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let asset = wait_for_taken(&srv, &user, &id, "2015-08-09T08:11:12.000Z");
    assert_eq!(asset["exifInfo"]["timeZone"], "UTC+2", "{asset}");
    assert!(
        asset["localDateTime"]
            .as_str()
            .unwrap()
            .starts_with("2015-08-09T10:11:12"),
        "{asset}"
    );

    let original = srv.library_file(&user, &sha1_hex(&photo)).unwrap();
    let sidecar = original.with_extension("xmp");
    assert_eq!(std::fs::read_to_string(&sidecar).unwrap(), XMP);
    srv.assert_layout_sane();

    srv.restart();
    assert!(
        sidecar.exists(),
        "the start-up sweep keeps a sidecar that has its asset"
    );
    let r = srv
        .delete("/api/assets")
        .key(&user)
        .json(&serde_json::json!({"ids": [id], "force": true}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(
        !sidecar.exists() && !original.exists(),
        "both files go with the asset"
    );
}

#[test]
fn oversized_or_orphaned_sidecars_leave_nothing() {
    let mut srv = Server::start();
    let user = srv.admin();
    let photo = photo_jpeg(32, 32, 9);
    let huge = vec![b'x'; (1 << 20) + 1];
    let (status, v) = upload(&srv, &user, &photo, &huge);
    assert_eq!(status, 400, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("sidecarData"),
        "{v}"
    );
    assert!(srv.library_files().is_empty());
    assert!(srv.tmp_files().is_empty());

    // A sidecar whose asset row never committed (a crash) is swept at start-up.
    let dir = srv.data.join("library").join(&user.id).join("ab/cd");
    std::fs::create_dir_all(&dir).unwrap();
    let stray = dir.join(format!("{}.xmp", "ab".repeat(20)));
    std::fs::write(&stray, XMP).unwrap();
    srv.restart();
    assert!(!stray.exists());
}

/// A RAW-like file: a TIFF header, a small embedded thumbnail and a large embedded preview, as
/// DNG/CR2/NEF files carry them. The thumbnail comes from the largest embedded JPEG.
#[test]
fn raw_files_get_thumbnails_from_their_embedded_preview() {
    let srv = Server::start();
    let user = srv.admin();
    let mut raw = b"II*\x00\x08\x00\x00\x00".to_vec();
    raw.extend_from_slice(&[0u8; 64]);
    raw.extend_from_slice(&photo_jpeg(64, 48, 1)); // the tiny one
    raw.extend_from_slice(&[0x11u8; 300]); // sensor data stand-in
    raw.extend_from_slice(&photo_jpeg(800, 600, 2)); // the preview
    raw.extend_from_slice(&[0x22u8; 300]);
    let id = srv.upload_new(&user, "IMG_0001.dng", &raw);
    let start = Instant::now();
    loop {
        let (_, v) = srv.asset(&user, &id);
        if v["thumbhash"].is_string() {
            assert_eq!(
                (v["width"].as_u64(), v["height"].as_u64()),
                (Some(800), Some(600)),
                "{v}"
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no thumbnail for the RAW file: {v}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let r = srv
        .get(&format!("/api/assets/{id}/thumbnail?size=preview"))
        .key(&user)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let img = image::load_from_memory(&r.bytes().unwrap()).unwrap();
    assert_eq!(
        (img.width(), img.height()),
        (800, 600),
        "preview of the embedded image, not upscaled"
    );
}
