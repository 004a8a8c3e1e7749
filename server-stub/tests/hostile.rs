//! Hostile input: malformed JSON on every JSON endpoint, huge bodies, bad ids, SQL-ish strings.
//! Client mistakes are 4xx with a JSON message, never 500, and the server keeps running.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

/// (method, path) of every JSON endpoint that takes a body, with ids filled in.
fn json_endpoints(album_id: &str, key_id: &str) -> Vec<(Method, String)> {
    vec![
        (Method::POST, "/api/auth/login".into()),
        (Method::POST, "/api/auth/admin-sign-up".into()),
        (Method::POST, "/api/api-keys".into()),
        (Method::POST, "/api/admin/users".into()),
        (Method::POST, "/api/assets/bulk-upload-check".into()),
        (Method::DELETE, "/api/assets".into()),
        (Method::POST, "/api/albums".into()),
        (Method::PUT, format!("/api/albums/{album_id}/assets")),
        // not in the contract's list, but a key id in a path must not break anything either
        (Method::GET, format!("/api/api-keys/{key_id}")),
    ]
}

#[test]
fn malformed_json_on_every_endpoint() {
    let mut srv = Server::start();
    let admin = srv.admin();
    let r = srv
        .post("/api/albums")
        .key(&admin)
        .json(&json!({"albumName": "A"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let album: Value = r.json().unwrap();
    let album_id = album["id"].as_str().unwrap().to_string();
    let me: Value = srv
        .get("/api/api-keys/me")
        .key(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let key_id = me["id"].as_str().unwrap().to_string();

    let bad_bodies: [&[u8]; 8] = [
        b"{",
        b"{\"a\":",
        b"not json",
        b"[1,2,3]",
        b"\"just a string\"",
        b"{\"ids\":\"x\",\"assets\":5,\"email\":[],\"albumName\":{},\"name\":7,\"permissions\":\"all\",\"password\":1,\"assetIds\":3}",
        b"\xff\xfe\x00garbage",
        b"",
    ];
    for (method, path) in json_endpoints(&album_id, &key_id) {
        if method == Method::GET {
            continue;
        }
        for body in bad_bodies {
            let r = srv
                .req(method.clone(), &path)
                .key(&admin)
                .header("content-type", "application/json")
                .body(body.to_vec())
                .send()
                .unwrap();
            let st = r.status().as_u16();
            let t = r.text().unwrap_or_default();
            // admin-sign-up after the admin exists may answer 400 for that reason; still 400
            assert_eq!(
                st,
                400,
                "{method} {path} body {:?}: {st} {t}",
                String::from_utf8_lossy(body)
            );
            let v: Value = serde_json::from_str(&t)
                .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {t}"));
            assert!(
                v["message"].is_string() || v["message"].is_array(),
                "{method} {path}: {v}"
            );
        }
        // wrong content type with a valid-looking body
        let r = srv
            .req(method.clone(), &path)
            .key(&admin)
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .unwrap();
        let st = r.status().as_u16();
        assert!(st == 400 || st == 415, "{method} {path} text/plain: {st}");
    }
    srv.assert_alive();
    // nothing got created by the junk: still one album, one admin
    let albums: Value = srv
        .get("/api/albums")
        .key(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(albums.as_array().unwrap().len(), 1);
}

#[test]
fn huge_json_bodies() {
    let mut srv = Server::start();
    let admin = srv.admin();
    // 64 MiB string in a login request
    let big = "a".repeat(64 * MIB);
    let body = format!("{{\"email\":\"{big}\",\"password\":\"x\"}}");
    let r = srv
        .post("/api/auth/login")
        .header("content-type", "application/json")
        .body(body)
        .send();
    if let Ok(r) = r {
        let st = r.status().as_u16();
        assert!(st == 400 || st == 401 || st == 413, "huge login: {st}");
    }
    // deeply nested JSON
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = srv
        .post("/api/assets/bulk-upload-check")
        .key(&admin)
        .header("content-type", "application/json")
        .body(nested)
        .send()
        .unwrap();
    let st = r.status().as_u16();
    assert!(st == 400 || st == 413, "nested JSON: {st}");
    // a bulk check with very many entries is fine or cleanly refused
    let many: Vec<Value> = (0..20_000)
        .map(|i| json!({"id": i.to_string(), "checksum": sha1_hex(&(i as u32).to_le_bytes())}))
        .collect();
    let r = srv
        .post("/api/assets/bulk-upload-check")
        .key(&admin)
        .json(&json!({"assets": many}))
        .send()
        .unwrap();
    let st = r.status().as_u16();
    assert!(st == 200 || st == 400 || st == 413, "20k bulk check: {st}");
    if st == 200 {
        let v: Value = r.json().unwrap();
        assert_eq!(v["results"].as_array().unwrap().len(), 20_000);
    }
    srv.assert_alive();
}

#[test]
fn non_uuid_and_sql_ids_are_4xx() {
    let mut srv = Server::start();
    let admin = srv.admin();
    let id = srv.upload_new(&admin, "a.jpg", &jpeg_bytes(1000, 1));
    let ids = [
        "not-a-uuid",
        "1",
        "' OR '1'='1",
        "1;DROP TABLE assets;--",
        "%27%20OR%201%3D1--",
        "00000000-0000-0000-0000-000000000000",
        "..%2F..%2Fshoebox.db",
        "%00",
        &"f".repeat(5000),
    ];
    for bad in ids {
        for (method, path) in [
            (Method::GET, format!("/api/assets/{bad}")),
            (Method::GET, format!("/api/assets/{bad}/original")),
            (Method::GET, format!("/api/albums/{bad}")),
            (Method::GET, format!("/api/api-keys/{bad}")),
            (Method::DELETE, format!("/api/api-keys/{bad}")),
        ] {
            let r = srv.req(method.clone(), &path).key(&admin).send().unwrap();
            let st = r.status().as_u16();
            assert!(st == 400 || st == 404, "{method} {path}: {st}");
        }
        let r = srv
            .put(&format!("/api/albums/{bad}/assets"))
            .key(&admin)
            .json(&json!({"ids": [id]}))
            .send()
            .unwrap();
        let st = r.status().as_u16();
        assert!(st == 400 || st == 404, "PUT album {bad}: {st}");
        for method in [Method::HEAD, Method::PATCH, Method::DELETE] {
            let r = srv
                .tus(method.clone(), &format!("/api/upload/{bad}"), &admin)
                .header("Content-Type", OCTET)
                .header("Upload-Offset", "0")
                .body(if method == Method::PATCH {
                    vec![0u8; 10]
                } else {
                    vec![]
                })
                .send()
                .unwrap();
            let st = r.status().as_u16();
            assert!(st == 400 || st == 404, "{method} /api/upload/{bad}: {st}");
        }
    }
    // ids inside JSON bodies
    let r = srv
        .delete("/api/assets")
        .key(&admin)
        .json(&json!({"ids": ["' OR 1=1 --"], "force": true}))
        .send()
        .unwrap();
    let st = r.status().as_u16();
    assert!(st == 400 || st == 404, "DELETE assets with SQL id: {st}");
    let r = srv
        .post("/api/albums")
        .key(&admin)
        .json(&json!({"albumName": "x", "assetIds": ["not-a-uuid"]}))
        .send()
        .unwrap();
    let st = r.status().as_u16();
    assert!(
        st == 400 || st == 404 || st == 201,
        "album with bad asset id: {st}"
    );
    // SQL-ish credentials
    let r = srv
        .post("/api/auth/login")
        .json(&json!({"email": "' OR 1=1 --", "password": "' OR '1'='1"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = srv
        .post("/api/auth/login")
        .json(&json!({"email": admin.email, "password": "' OR '1'='1"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = srv
        .get("/api/users/me")
        .header("x-api-key", "' OR 1=1 --")
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    // a bad checksum string in bulk-upload-check
    let r = srv
        .post("/api/assets/bulk-upload-check")
        .key(&admin)
        .json(&json!({"assets": [{"id": "x", "checksum": "' OR 1=1 --"}]}))
        .send()
        .unwrap();
    let st = r.status().as_u16();
    assert!(
        st == 200 || st == 400,
        "bulk check with junk checksum: {st}"
    );
    if st == 200 {
        let v: Value = r.json().unwrap();
        assert_ne!(
            v["results"][0]["assetId"],
            id.as_str(),
            "junk checksum matched an asset"
        );
    }
    srv.assert_alive();
    // everything is still there
    let (st, _) = srv.asset(&admin, &id);
    assert_eq!(st, 200);
}

#[test]
fn hostile_headers() {
    let mut srv = Server::start();
    let admin = srv.admin();
    let id = srv.upload_new(&admin, "a.jpg", &jpeg_bytes(5000, 2));
    let path = format!("/api/assets/{id}/original");
    for range in [
        "bytes=abc",
        "bytes=5-1",
        "bytes=--1",
        "items=0-1",
        "bytes=0-1,3-4",
        "bytes=99999999999999999999999-",
    ] {
        let r = srv
            .get(&path)
            .key(&admin)
            .header("range", range)
            .send()
            .unwrap();
        let st = r.status().as_u16();
        assert!(st == 200 || st == 206 || st == 416, "Range {range:?}: {st}");
        if st == 200 {
            assert_eq!(r.bytes().unwrap().len(), 5000);
        }
    }
    // checksum header that is not a checksum
    let bytes = jpeg_bytes(3000, 3);
    let (ct, body) = multipart_body(
        &cli_fields("b.jpg", bytes.len()),
        Some(("b.jpg", "image/jpeg", &bytes)),
    );
    let r = srv
        .post("/api/assets")
        .key(&admin)
        .header("content-type", ct)
        .header("x-immich-checksum", "zzzz")
        .body(body)
        .send()
        .unwrap();
    let st = r.status().as_u16();
    assert!(st == 201 || st == 400, "bad x-immich-checksum: {st}");
    // a huge Upload-Metadata
    let big = "x".repeat(60_000);
    let r = srv
        .tus(Method::POST, "/api/upload", &admin)
        .header("Upload-Length", "10")
        .header(
            "Upload-Metadata",
            tus_metadata(&[("filename", big.as_bytes())]),
        )
        .send()
        .unwrap();
    let st = r.status().as_u16();
    assert!(
        st == 201 || st == 400 || st == 413 || st == 431,
        "huge metadata: {st}"
    );
    // bad multipart field values
    for (i, (k, v)) in [
        ("fileCreatedAt", "yesterday"),
        ("isFavorite", "maybe"),
        ("fileSize", "-5"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut fields = cli_fields("c.jpg", 3000);
        for f in fields.iter_mut() {
            if f.0 == k {
                f.1 = v.to_string();
            }
        }
        let other = jpeg_bytes(3000, 10 + i as u64);
        let (ct, body) = multipart_body(&fields, Some(("c.jpg", "image/jpeg", &other)));
        let r = srv
            .post("/api/assets")
            .key(&admin)
            .header("content-type", ct)
            .body(body)
            .send()
            .unwrap();
        let st = r.status().as_u16();
        assert!(st == 400 || st == 201, "{k}={v}: {st}");
        if k == "fileCreatedAt" {
            assert_eq!(st, 400, "unparseable fileCreatedAt must be 400");
        }
    }
    assert!(srv.tmp_files().is_empty(), "{:?}", srv.tmp_files());
    srv.assert_alive();
}
