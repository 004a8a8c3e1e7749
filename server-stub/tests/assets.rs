//! Multipart upload, duplicates, bulk-upload-check, asset JSON, originals with ranges, ownership,
//! trash / force delete, hostile file names, quota.

mod common;

use common::*;
use serde_json::{Value, json};

#[test]
fn upload_created_then_duplicate() {
    let srv = Server::start();
    let admin = srv.admin();
    let bytes = jpeg_bytes(200_000, 1);
    let (st, v) = srv.upload(&admin, "IMG_0001.jpg", &bytes);
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["status"], "created");
    let id = v["id"].as_str().unwrap().to_string();

    let (st, v) = srv.upload(&admin, "IMG_0001 copy.jpg", &bytes);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], "duplicate");
    assert_eq!(v["id"], id.as_str());

    // exactly one file in the library, at the content address
    let f = srv
        .library_file(&admin, &sha1_hex(&bytes))
        .expect("file in library");
    assert_eq!(std::fs::read(&f).unwrap(), bytes);
    assert_eq!(srv.library_files().len(), 1, "{:?}", srv.library_files());
    assert!(
        srv.tmp_files().is_empty(),
        "tmp not cleaned: {:?}",
        srv.tmp_files()
    );
    srv.assert_layout_sane();
}

#[test]
fn same_bytes_for_two_users_are_two_assets() {
    let srv = Server::start();
    let admin = srv.admin();
    let bob = srv.create_user(&admin, "bob@example.com", None);
    let bytes = jpeg_bytes(5000, 2);
    let a = srv.upload_new(&admin, "a.jpg", &bytes);
    let b = srv.upload_new(&bob, "a.jpg", &bytes);
    assert_ne!(a, b);
    assert!(srv.library_file(&admin, &sha1_hex(&bytes)).is_some());
    assert!(srv.library_file(&bob, &sha1_hex(&bytes)).is_some());
}

#[test]
fn checksum_header_short_circuits_duplicate() {
    let srv = Server::start();
    let admin = srv.admin();
    let bytes = jpeg_bytes(50_000, 3);
    let id = srv.upload_new(&admin, "x.jpg", &bytes);
    for checksum in [sha1_hex(&bytes), sha1_b64(&bytes)] {
        // body is a different file: the header alone decides
        let other = jpeg_bytes(50_000, 4);
        let (ct, body) = multipart_body(
            &cli_fields("x.jpg", other.len()),
            Some(("x.jpg", "image/jpeg", &other)),
        );
        let r = srv
            .post("/api/assets")
            .key(&admin)
            .header("content-type", ct)
            .header("x-immich-checksum", &checksum)
            .body(body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "checksum {checksum}");
        let v: Value = r.json().unwrap();
        assert_eq!(v["status"], "duplicate");
        assert_eq!(v["id"], id.as_str());
    }
    assert_eq!(srv.library_files().len(), 1);
}

#[test]
fn bulk_upload_check_accept_and_reject() {
    let srv = Server::start();
    let admin = srv.admin();
    let bytes = jpeg_bytes(30_000, 5);
    let id = srv.upload_new(&admin, "y.jpg", &bytes);
    let unknown = jpeg_bytes(30_000, 6);
    let r = srv
        .post("/api/assets/bulk-upload-check")
        .key(&admin)
        .json(&json!({"assets": [
            {"id": "hex", "checksum": sha1_hex(&bytes)},
            {"id": "b64", "checksum": sha1_b64(&bytes)},
            {"id": "new-hex", "checksum": sha1_hex(&unknown)},
            {"id": "new-b64", "checksum": sha1_b64(&unknown)},
        ]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().unwrap();
    let results = v["results"].as_array().expect("results");
    assert_eq!(results.len(), 4, "{v}");
    let by = |k: &str| {
        results
            .iter()
            .find(|x| x["id"] == k)
            .cloned()
            .unwrap_or_else(|| panic!("no {k}: {v}"))
    };
    for k in ["hex", "b64"] {
        let x = by(k);
        assert_eq!(x["action"], "reject", "{x}");
        assert_eq!(x["reason"], "duplicate", "{x}");
        assert_eq!(x["assetId"], id.as_str(), "{x}");
    }
    for k in ["new-hex", "new-b64"] {
        let x = by(k);
        assert_eq!(x["action"], "accept", "{x}");
        assert!(x.get("assetId").is_none_or(|a| a.is_null()), "{x}");
    }
    // another user does not see the admin's assets
    let bob = srv.create_user(&admin, "bob@example.com", None);
    assert_eq!(srv.bulk_check(&bob, &sha1_hex(&bytes))["action"], "accept");
}

#[test]
fn asset_json_fields() {
    let srv = Server::start();
    let admin = srv.admin();
    let img = jpeg_bytes(12_345, 7);
    let vid = mp4_bytes(54_321, 8);
    let img_id = srv.upload_new(&admin, "Holiday Photo.jpg", &img);
    let vid_id = srv.upload_new(&admin, "clip.mp4", &vid);

    let (st, v) = srv.asset(&admin, &img_id);
    assert_eq!(st, 200);
    assert_eq!(v["id"], img_id.as_str());
    assert_eq!(v["ownerId"], admin.id.as_str());
    assert_eq!(v["type"], "IMAGE");
    assert_eq!(v["originalFileName"], "Holiday Photo.jpg");
    assert_eq!(v["originalMimeType"], "image/jpeg");
    assert_eq!(v["checksum"], sha1_b64(&img).as_str());
    assert_eq!(v["deviceId"], "CLI");
    assert_eq!(v["deviceAssetId"], "HolidayPhoto.jpg-12345");
    assert_eq!(v["isFavorite"], false);
    assert_eq!(v["isArchived"], false);
    assert_eq!(v["isTrashed"], false);
    assert_eq!(v["fileSize"].as_u64(), Some(12_345), "{v}");
    let created = v["fileCreatedAt"].as_str().expect("fileCreatedAt");
    assert!(created.starts_with("2024-05-01T10:20:30"), "{created}");
    for k in [
        "fileModifiedAt",
        "localDateTime",
        "createdAt",
        "updatedAt",
        "visibility",
    ] {
        assert!(v[k].is_string(), "{k} missing: {v}");
    }

    let (st, v) = srv.asset(&admin, &vid_id);
    assert_eq!(st, 200);
    assert_eq!(v["type"], "VIDEO");
    assert_eq!(v["originalFileName"], "clip.mp4");
    assert_eq!(v["originalMimeType"], "video/mp4");
    assert_eq!(v["checksum"], sha1_b64(&vid).as_str());
}

#[test]
fn original_bytes_and_content_type() {
    let srv = Server::start();
    let admin = srv.admin();
    let img = jpeg_bytes(300_001, 9);
    let vid = mp4_bytes(1_000_003, 10);
    let img_id = srv.upload_new(&admin, "a.jpg", &img);
    let vid_id = srv.upload_new(&admin, "b.mp4", &vid);
    for (id, bytes, ct, name) in [
        (&img_id, &img, "image/jpeg", "a.jpg"),
        (&vid_id, &vid, "video/mp4", "b.mp4"),
    ] {
        let r = srv
            .get(&format!("/api/assets/{id}/original"))
            .key(&admin)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "content-type"), Some(ct));
        assert_eq!(header(&r, "accept-ranges"), Some("bytes"));
        assert!(header(&r, "etag").is_some(), "ETag missing");
        let cd = header(&r, "content-disposition")
            .expect("Content-Disposition")
            .to_string();
        assert!(cd.contains(name), "{cd}");
        let got = r.bytes().unwrap();
        assert_eq!(got.len(), bytes.len());
        assert!(got[..] == bytes[..], "original differs");
    }
}

#[test]
fn original_range_requests() {
    let srv = Server::start();
    let admin = srv.admin();
    let bytes = mp4_bytes(100_000, 11);
    let id = srv.upload_new(&admin, "r.mp4", &bytes);
    let path = format!("/api/assets/{id}/original");
    let len = bytes.len();

    let r = srv
        .get(&path)
        .key(&admin)
        .header("range", "bytes=0-99")
        .send()
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        header(&r, "content-range"),
        Some(format!("bytes 0-99/{len}").as_str())
    );
    assert_eq!(&r.bytes().unwrap()[..], &bytes[0..100]);

    let r = srv
        .get(&path)
        .key(&admin)
        .header("range", "bytes=5000-5999")
        .send()
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        header(&r, "content-range"),
        Some(format!("bytes 5000-5999/{len}").as_str())
    );
    assert_eq!(header_u64(&r, "content-length"), 1000);
    assert_eq!(&r.bytes().unwrap()[..], &bytes[5000..6000]);

    // open-ended
    let r = srv
        .get(&path)
        .key(&admin)
        .header("range", "bytes=99000-")
        .send()
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        header(&r, "content-range"),
        Some(format!("bytes 99000-{}/{len}", len - 1).as_str())
    );
    assert_eq!(&r.bytes().unwrap()[..], &bytes[99000..]);

    // suffix
    let r = srv
        .get(&path)
        .key(&admin)
        .header("range", "bytes=-500")
        .send()
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        header(&r, "content-range"),
        Some(format!("bytes {}-{}/{len}", len - 500, len - 1).as_str())
    );
    assert_eq!(&r.bytes().unwrap()[..], &bytes[len - 500..]);

    // end past the file is clamped
    let r = srv
        .get(&path)
        .key(&admin)
        .header("range", "bytes=99990-200000")
        .send()
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(&r.bytes().unwrap()[..], &bytes[99990..]);

    // unsatisfiable
    for range in [
        format!("bytes={len}-"),
        format!("bytes={}-{}", len + 10, len + 20),
    ] {
        let r = srv
            .get(&path)
            .key(&admin)
            .header("range", &range)
            .send()
            .unwrap();
        assert_eq!(r.status(), 416, "{range}");
        if let Some(cr) = header(&r, "content-range") {
            assert_eq!(cr, format!("bytes */{len}"));
        }
    }
}

#[test]
fn other_users_asset_is_404() {
    let srv = Server::start();
    let admin = srv.admin();
    let bob = srv.create_user(&admin, "bob@example.com", None);
    let bytes = jpeg_bytes(10_000, 12);
    let id = srv.upload_new(&admin, "private.jpg", &bytes);

    let r = srv
        .get(&format!("/api/assets/{id}"))
        .key(&bob)
        .send()
        .unwrap();
    assert_json_error(r, 404);
    let r = srv
        .get(&format!("/api/assets/{id}/original"))
        .key(&bob)
        .send()
        .unwrap();
    assert_json_error(r, 404);
    let r = srv
        .delete("/api/assets")
        .key(&bob)
        .json(&json!({"ids": [id], "force": true}))
        .send()
        .unwrap();
    assert_json_error(r, 404);
    let r = srv
        .delete("/api/assets")
        .key(&bob)
        .json(&json!({"ids": [id]}))
        .send()
        .unwrap();
    assert_json_error(r, 404);

    // bob's album: adding admin's asset does not work
    let r = srv
        .post("/api/albums")
        .key(&bob)
        .json(&json!({"albumName": "Bob's"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let album: Value = r.json().unwrap();
    let album_id = album["id"].as_str().unwrap();
    let r = srv
        .put(&format!("/api/albums/{album_id}/assets"))
        .key(&bob)
        .json(&json!({"ids": [id]}))
        .send()
        .unwrap();
    let st = r.status().as_u16();
    if st == 200 {
        let v: Value = r.json().unwrap();
        assert_eq!(v[0]["success"], false, "{v}");
        assert_eq!(v[0]["error"], "not_found", "{v}");
    } else {
        assert_eq!(st, 404, "add other's asset to album");
    }
    let v: Value = srv
        .get(&format!("/api/albums/{album_id}"))
        .key(&bob)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(v["assets"].as_array().map(|a| a.len()), Some(0), "{v}");

    // still intact for the owner
    let (st, v) = srv.asset(&admin, &id);
    assert_eq!(st, 200);
    assert_eq!(v["isTrashed"], false);
    let (st, got) = srv.original(&admin, &id);
    assert_eq!(st, 200);
    assert_eq!(got, bytes);
}

#[test]
fn trash_then_force_delete() {
    let srv = Server::start();
    let admin = srv.admin();
    let bytes = jpeg_bytes(20_000, 13);
    let keep = jpeg_bytes(20_000, 14);
    let id = srv.upload_new(&admin, "gone.jpg", &bytes);
    let keep_id = srv.upload_new(&admin, "keep.jpg", &keep);
    let file = srv.library_file(&admin, &sha1_hex(&bytes)).expect("file");

    let r = srv
        .delete("/api/assets")
        .key(&admin)
        .json(&json!({"ids": [id]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let (st, v) = srv.asset(&admin, &id);
    assert_eq!(st, 200);
    assert_eq!(v["isTrashed"], true);
    assert!(file.exists(), "trash must keep the file");
    // a duplicate of a trashed asset is still a duplicate
    let (st, v) = srv.upload(&admin, "gone again.jpg", &bytes);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], "duplicate");
    assert_eq!(v["id"], id.as_str());
    let chk = srv.bulk_check(&admin, &sha1_hex(&bytes));
    assert_eq!(chk["action"], "reject", "{chk}");
    assert_eq!(chk["isTrashed"], true, "{chk}");

    let r = srv
        .delete("/api/assets")
        .key(&admin)
        .json(&json!({"ids": [id], "force": true}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let (st, _) = srv.asset(&admin, &id);
    assert_eq!(st, 404);
    let (st, _) = srv.original(&admin, &id);
    assert_eq!(st, 404);
    assert!(!file.exists(), "force delete must remove the file");
    assert!(srv.library_file(&admin, &sha1_hex(&bytes)).is_none());
    assert_eq!(
        srv.bulk_check(&admin, &sha1_hex(&bytes))["action"],
        "accept"
    );
    // the other asset is untouched
    let (st, got) = srv.original(&admin, &keep_id);
    assert_eq!(st, 200);
    assert_eq!(got, keep);
    // and it can be uploaded again as new
    let again = srv.upload_new(&admin, "gone.jpg", &bytes);
    assert_ne!(again, id);
}

/// Uploads with a hostile file name: either 201 stored safely or a clean 400.
fn hostile_name(srv: &Server, user: &User, name: &str, seed: u64) {
    let bytes = jpeg_bytes(4096, seed);
    let fields = cli_fields("evil.jpg", bytes.len());
    let (ct, body) = multipart_body(&fields, Some((name, "image/jpeg", &bytes)));
    let r = srv
        .post("/api/assets")
        .key(user)
        .header("content-type", ct)
        .body(body)
        .send()
        .unwrap();
    let st = r.status().as_u16();
    let t = r.text().unwrap();
    eprintln!(
        "hostile name {:?}: {st} {t}",
        name.chars().take(60).collect::<String>()
    );
    match st {
        201 => {
            let v: Value = serde_json::from_str(&t).unwrap();
            let id = v["id"].as_str().unwrap();
            let f = srv
                .library_file(user, &sha1_hex(&bytes))
                .unwrap_or_else(|| panic!("{name:?}: file not at its content address"));
            assert_eq!(std::fs::read(f).unwrap(), bytes);
            let (st, got) = srv.original(user, id);
            assert_eq!(st, 200);
            assert_eq!(got, bytes);
        }
        400 => {
            let v: Value = serde_json::from_str(&t).expect("400 body JSON");
            assert!(v["message"].is_string(), "{v}");
            assert!(srv.library_file(user, &sha1_hex(&bytes)).is_none());
        }
        _ => panic!("{name:?}: unexpected {st}: {t}"),
    }
    srv.assert_layout_sane();
    assert!(srv.tmp_files().is_empty(), "{:?}", srv.tmp_files());
}

#[test]
fn hostile_file_names_never_become_paths() {
    let srv = Server::start();
    let admin = srv.admin();
    hostile_name(&srv, &admin, "../../etc/passwd", 20);
    hostile_name(
        &srv,
        &admin,
        "../../../../../../../tmp/shoebox-pwned.jpg",
        21,
    );
    hostile_name(&srv, &admin, "/etc/passwd.jpg", 22);
    hostile_name(&srv, &admin, "a\0b.jpg", 23);
    hostile_name(&srv, &admin, "bell\x07\x1b[31mred\x7f.jpg", 24);
    hostile_name(&srv, &admin, "new\\\r\nline.jpg", 25);
    hostile_name(&srv, &admin, &format!("{}.jpg", "x".repeat(1000)), 26);
    hostile_name(&srv, &admin, "..\\..\\windows\\system32.jpg", 27);
    hostile_name(&srv, &admin, "", 28);
    assert!(!std::path::Path::new("/tmp/shoebox-pwned.jpg").exists());
    // nothing but the library, derived images, tmp, uploads and the DB in DIR
    for e in std::fs::read_dir(&srv.data).unwrap().flatten() {
        let n = e.file_name().to_string_lossy().to_string();
        assert!(
            ["library", "thumbs", "tmp", "uploads"].contains(&n.as_str())
                || n.starts_with("shoebox.db"),
            "unexpected entry in DIR: {n:?}"
        );
    }
}

#[test]
fn json_body_to_upload_is_400() {
    let srv = Server::start();
    let admin = srv.admin();
    let r = srv
        .post("/api/assets")
        .key(&admin)
        .json(&json!({"assetData": "aGVsbG8=", "fileCreatedAt": "2024-01-01T00:00:00Z"}))
        .send()
        .unwrap();
    assert_json_error(r, 400);
    let r = srv
        .post("/api/assets")
        .key(&admin)
        .header("content-type", "multipart/form-data")
        .body("no boundary here")
        .send()
        .unwrap();
    assert_json_error(r, 400);
    assert!(srv.library_files().is_empty());
}

#[test]
fn multipart_without_asset_data_is_400() {
    let srv = Server::start();
    let admin = srv.admin();
    let (ct, body) = multipart_body(&cli_fields("a.jpg", 100), None);
    let r = srv
        .post("/api/assets")
        .key(&admin)
        .header("content-type", ct)
        .body(body)
        .send()
        .unwrap();
    assert_json_error(r, 400);
    assert!(
        srv.tmp_files().is_empty(),
        "tmp left behind: {:?}",
        srv.tmp_files()
    );
    assert!(srv.library_files().is_empty(), "{:?}", srv.library_files());
}

#[test]
fn multipart_without_dates_is_400() {
    let srv = Server::start();
    let admin = srv.admin();
    // file present but the required fileCreatedAt / fileModifiedAt missing
    let bytes = jpeg_bytes(1000, 30);
    let fields = vec![("deviceAssetId".to_string(), "x".to_string())];
    let (ct, body) = multipart_body(&fields, Some(("a.jpg", "image/jpeg", &bytes)));
    let r = srv
        .post("/api/assets")
        .key(&admin)
        .header("content-type", ct)
        .body(body)
        .send()
        .unwrap();
    assert_json_error(r, 400);
    assert!(
        srv.tmp_files().is_empty(),
        "tmp left behind: {:?}",
        srv.tmp_files()
    );
    assert!(srv.library_files().is_empty(), "{:?}", srv.library_files());
    assert_eq!(
        srv.bulk_check(&admin, &sha1_hex(&bytes))["action"],
        "accept"
    );
}

#[test]
fn truncated_multipart_is_400() {
    let srv = Server::start();
    let admin = srv.admin();
    let bytes = jpeg_bytes(1000, 30);
    // truncated multipart body (no closing boundary)
    let (ct, body) = multipart_body(
        &cli_fields("a.jpg", bytes.len()),
        Some(("a.jpg", "image/jpeg", &bytes)),
    );
    let cut = body[..body.len() - 60].to_vec();
    let r = srv
        .post("/api/assets")
        .key(&admin)
        .header("content-type", ct)
        .body(cut)
        .send()
        .unwrap();
    assert_json_error(r, 400);
    assert!(
        srv.tmp_files().is_empty(),
        "tmp left behind: {:?}",
        srv.tmp_files()
    );
    assert!(srv.library_files().is_empty(), "{:?}", srv.library_files());
    assert_eq!(
        srv.bulk_check(&admin, &sha1_hex(&bytes))["action"],
        "accept"
    );
}

#[test]
fn quota_exceeded_is_413_and_nothing_stored() {
    let srv = Server::start();
    let admin = srv.admin();
    let small = srv.create_user(&admin, "small@example.com", Some(10_000));
    let fits = jpeg_bytes(6_000, 31);
    let id = srv.upload_new(&small, "fits.jpg", &fits);
    // 6000 used, 5000 more does not fit in 10000
    let big = jpeg_bytes(5_000, 32);
    let (st, v) = srv.upload(&small, "big.jpg", &big);
    assert_eq!(st, 413, "{v}");
    assert!(v["message"].is_string(), "{v}");
    assert!(srv.library_file(&small, &sha1_hex(&big)).is_none());
    assert!(srv.tmp_files().is_empty(), "{:?}", srv.tmp_files());
    assert_eq!(srv.bulk_check(&small, &sha1_hex(&big))["action"], "accept");
    // a file larger than the whole quota
    let huge = jpeg_bytes(50_000, 33);
    let (st, _) = srv.upload(&small, "huge.jpg", &huge);
    assert_eq!(st, 413);
    assert!(srv.library_file(&small, &sha1_hex(&huge)).is_none());
    assert_eq!(srv.library_files().len(), 1);
    // the admin (no quota) can upload it
    srv.upload_new(&admin, "huge.jpg", &huge);
    // the first asset is fine
    let (st, got) = srv.original(&small, &id);
    assert_eq!(st, 200);
    assert_eq!(got, fits);
}

#[test]
fn quota_exceeded_by_big_file_still_answers_413() {
    // the server may refuse before reading the body, but the client must still get the 413
    let srv = Server::start();
    let admin = srv.admin();
    let small = srv.create_user(&admin, "small@example.com", Some(10_000));
    let big = jpeg_bytes(24 * MIB, 34);
    for _ in 0..3 {
        let (st, v) = srv.upload(&small, "big.jpg", &big);
        assert_eq!(st, 413, "{v}");
        assert!(v["message"].is_string(), "{v}");
    }
    assert!(srv.library_files().is_empty());
    assert!(srv.tmp_files().is_empty(), "{:?}", srv.tmp_files());
}
