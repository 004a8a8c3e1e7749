//! Issue 13, item 1: API-key permissions (Immich 2.x names) are enforced on every route. The
//! route table comes from the binary (`shoebox-server routes`), so a route added later is in
//! the matrix the day it is added: for each route that takes an account, a key holding every
//! route permission but that one gets 403, and a key holding exactly that one does not. Then
//! the keys people really make: a read-only key and the upload-only key of a backup app.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// (method, path, policy, permission) of every mounted route.
fn route_table() -> Vec<(String, String, String, Option<String>)> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shoebox-server"))
        .arg("routes")
        .env("SHOEBOX_ML", "off")
        .output()
        .expect("shoebox-server routes");
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("routes JSON");
    v["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_string(),
                r["path"].as_str().unwrap().to_string(),
                r["policy"].as_str().unwrap_or_default().to_string(),
                r["permission"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// A key of `user`'s with exactly `perms`; returns its secret.
fn key_with(srv: &Server, user: &User, perms: &[&str]) -> String {
    let r = srv
        .post("/api/api-keys")
        .bearer_auth(&user.token)
        .json(&json!({"name": format!("key of {} permissions", perms.len()), "permissions": perms}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "create key {perms:?}");
    let v: Value = r.json().unwrap();
    assert_eq!(v["apiKey"]["permissions"], json!(perms), "stored as given");
    v["secret"].as_str().unwrap().to_string()
}

const NOWHERE: &str = "6f1e7a52-0000-4000-8000-00000000abcd";

/// Calls `method path` with `secret`: status and body.
fn call(srv: &Server, secret: &str, method: &str, path: &str) -> (u16, String) {
    let mut filled = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        filled.push_str(&rest[..open]);
        let close = rest[open..].find('}').unwrap() + open;
        filled.push_str(if &rest[open..=close] == "{name}" {
            "thumbnailGeneration"
        } else {
            NOWHERE
        });
        rest = &rest[close + 1..];
    }
    filled.push_str(rest);
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut rb = srv
        .req(method.clone(), &filled)
        .header("x-api-key", secret)
        .header("Tus-Resumable", TUS)
        .header("Upload-Length", "10")
        .header("Upload-Offset", "0")
        .query(&[("timeBucket", "2024-05-01"), ("size", "thumbnail")]);
    if method != Method::GET && method != Method::HEAD && method != Method::OPTIONS {
        rb = rb.json(&json!({}));
    }
    let r = rb.send().unwrap();
    let st = r.status().as_u16();
    (st, r.text().unwrap_or_default())
}

#[test]
fn every_route_refuses_a_key_without_its_permission_and_admits_one_with_it() {
    let table = route_table();
    let srv = Server::start();
    let admin = srv.admin();
    let needed: BTreeSet<String> = table
        .iter()
        .filter_map(|(_, _, _, p)| p.clone())
        .filter(|p| p != "any" && p != "all")
        .collect();
    assert!(needed.len() > 25, "{needed:?}");
    let mut failures = Vec::new();
    let mut checked = 0;
    for perm in &needed {
        let others: Vec<&str> = needed
            .iter()
            .filter(|p| *p != perm)
            .map(String::as_str)
            .collect();
        let without = key_with(&srv, &admin, &others);
        let with = key_with(&srv, &admin, &[perm.as_str()]);
        for (m, path, _, p) in &table {
            if p.as_deref() != Some(perm.as_str()) {
                continue;
            }
            checked += 1;
            let (st, body) = call(&srv, &without, m, path);
            let named =
                m == "HEAD" || body.contains(&format!("Missing required permission: {perm}"));
            if st != 403 || !named {
                failures.push(format!("{m} {path} without {perm}: {st} {body:.200}"));
            }
            let (st, body) = call(&srv, &with, m, path);
            if st == 403 || st >= 500 {
                failures.push(format!("{m} {path} with only {perm}: {st} {body:.200}"));
            }
        }
    }
    // Routes Immich marks as needing no particular permission take any key of the account;
    // the rest that name none (logging out) need `all`.
    let bare = key_with(&srv, &admin, &["user.read"]);
    for (m, path, _, p) in &table {
        match p.as_deref() {
            Some("any") => {
                let (st, body) = call(&srv, &bare, m, path);
                if st != 200 {
                    failures.push(format!("{m} {path} [any key]: {st} {body:.200}"));
                }
            }
            Some("all") => {
                let (st, _) = call(&srv, &bare, m, path);
                if st != 403 {
                    failures.push(format!("{m} {path} [all] with user.read: {st}"));
                }
            }
            _ => {}
        }
    }
    assert!(checked > 70, "{checked} routes checked");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The keys as `GET /api/api-keys` shows them: name → permissions.
fn listed(srv: &Server, user: &User) -> Vec<(String, Value)> {
    let r = srv
        .get("/api/api-keys")
        .bearer_auth(&user.token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["name"].as_str().unwrap().to_string(),
                k["permissions"].clone(),
            )
        })
        .collect()
}

fn status(r: reqwest::blocking::Response) -> u16 {
    r.status().as_u16()
}

#[test]
fn a_read_only_key_reads_and_cannot_upload_delete_or_administer() {
    let srv = Server::start();
    let admin = srv.admin();
    let photo = photo_jpeg(64, 48, 7);
    let id = srv.upload_new(&admin, "kept.jpg", &photo);
    let read = [
        "asset.read",
        "asset.view",
        "asset.download",
        "timeline.read",
        "album.read",
        "user.read",
    ];
    let secret = key_with(&srv, &admin, &read);
    let k = |rb: reqwest::blocking::RequestBuilder| rb.header("x-api-key", &secret);

    // reads work
    let r = k(srv.get(&format!("/api/assets/{id}"))).send().unwrap();
    assert_eq!(r.status(), 200);
    let r = k(srv.get(&format!("/api/assets/{id}/original")))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().unwrap().as_ref(), photo.as_slice());
    assert_eq!(
        status(k(srv.get("/api/timeline/buckets")).send().unwrap()),
        200
    );
    assert_eq!(status(k(srv.get("/api/albums")).send().unwrap()), 200);
    assert_eq!(status(k(srv.get("/api/users/me")).send().unwrap()), 200);
    let r = k(srv.get("/api/api-keys/me")).send().unwrap();
    let me: Value = r.json().unwrap();
    assert_eq!(me["permissions"], json!(read), "the key describes itself");

    // writes, uploads, deletes and admin work do not, though the account is an admin
    let (ct, body) = multipart_body(
        &cli_fields("new.jpg", 100),
        Some(("new.jpg", "image/jpeg", &jpeg_bytes(100, 3))),
    );
    let r = k(srv.post("/api/assets"))
        .header("content-type", ct)
        .body(body)
        .send()
        .unwrap();
    let v = assert_json_error(r, 403);
    assert!(
        v["message"].as_str().unwrap().contains("asset.upload"),
        "{v}"
    );
    let r = k(srv.post("/api/upload"))
        .header("Tus-Resumable", TUS)
        .header("Upload-Length", "10")
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = k(srv.delete("/api/assets"))
        .json(&json!({"ids": [id], "force": true}))
        .send()
        .unwrap();
    assert_json_error(r, 403);
    let r = k(srv.put("/api/assets"))
        .json(&json!({"ids": [id], "isFavorite": true}))
        .send()
        .unwrap();
    assert_json_error(r, 403);
    assert_json_error(k(srv.get("/api/admin/users")).send().unwrap(), 403);
    assert_json_error(k(srv.get("/api/jobs")).send().unwrap(), 403);
    assert_json_error(k(srv.post("/api/trash/empty")).send().unwrap(), 403);
    let r = k(srv.post("/api/api-keys"))
        .json(&json!({"name": "escalate", "permissions": ["all"]}))
        .send()
        .unwrap();
    assert_json_error(r, 403);
    // the asset is untouched
    let (st, a) = srv.asset(&admin, &id);
    assert_eq!(st, 200);
    assert_eq!(a["isTrashed"], false);
    assert_eq!(a["isFavorite"], false);

    // a key that may make keys still cannot hand out more than it holds
    let maker = key_with(&srv, &admin, &["apiKey.create", "asset.read"]);
    let r = srv
        .post("/api/api-keys")
        .header("x-api-key", &maker)
        .json(&json!({"name": "escalate", "permissions": ["all"]}))
        .send()
        .unwrap();
    assert_json_error(r, 400);
    let r = srv
        .post("/api/api-keys")
        .header("x-api-key", &maker)
        .json(&json!({"name": "narrower", "permissions": ["asset.read"]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);

    // the list shows what each key may do, as given, and so it stays after a restart
    let mut srv = srv;
    let before = listed(&srv, &admin);
    assert!(before.iter().any(|(_, p)| *p == json!(read)), "{before:?}");
    assert!(
        before
            .iter()
            .any(|(n, p)| n == "narrower" && *p == json!(["asset.read"]))
    );
    srv.restart();
    assert_eq!(listed(&srv, &admin), before);
    let r = srv
        .delete(&format!("/api/assets/{id}"))
        .header("x-api-key", &secret)
        .send()
        .unwrap();
    assert!(r.status() == 403 || r.status() == 405, "{}", r.status());
}

/// What a backup app's upload-only key holds: it uploads (tus or multipart), checks what the
/// server has, reads its own account and files what it uploaded into albums it creates. It
/// reads nothing back: not the library, not albums (its own or shared with it).
const BACKUP: &[&str] = &[
    "asset.upload",
    "user.read",
    "album.create",
    "albumAsset.create",
];

#[test]
fn an_upload_only_key_backs_up_and_reads_nothing_back() {
    let srv = Server::start();
    let admin = srv.admin();
    let me = srv.create_user(&admin, "phone@example.com", None);
    // someone else's album, shared with this user
    let other_photo = photo_jpeg(40, 30, 9);
    let other_asset = srv.upload_new(&admin, "theirs.jpg", &other_photo);
    let (st, album) = post_json(
        &srv,
        &admin,
        "/api/albums",
        json!({"albumName": "Family", "assetIds": [other_asset]}),
    );
    assert_eq!(st, 201, "{album}");
    let shared_album = album["id"].as_str().unwrap().to_string();
    let r = srv
        .put(&format!("/api/albums/{shared_album}/users"))
        .key(&admin)
        .json(&json!({"albumUsers": [{"userId": me.id, "role": "editor"}]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // with a full key the member reads it: what stops the upload-only key is its permissions
    let r = srv
        .get(&format!("/api/albums/{shared_album}"))
        .key(&me)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);

    let secret = key_with(&srv, &me, BACKUP);
    let k = |rb: reqwest::blocking::RequestBuilder| rb.header("x-api-key", &secret);

    // what a backup run does: server info, who am I, what do you have, upload, album
    for p in ["ping", "version", "features", "media-types"] {
        let r = k(srv.get(&format!("/api/server/{p}"))).send().unwrap();
        assert_eq!(r.status(), 200, "/api/server/{p}");
    }
    let r = k(srv.get("/api/users/me")).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap()["id"], me.id);
    let photo = photo_jpeg(80, 60, 21);
    let r = k(srv.post("/api/assets/bulk-upload-check"))
        .json(&json!({"assets": [{"id": "a", "checksum": sha1_hex(&photo)}]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap()["results"][0]["action"], "accept");
    let r = k(srv.post("/api/assets/exist"))
        .json(&json!({"deviceId": "phone", "deviceAssetIds": ["a"]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = k(srv.req(Method::OPTIONS, "/api/upload")).send().unwrap();
    assert!(r.status().is_success());
    let r = k(srv.post("/api/upload"))
        .header("Tus-Resumable", TUS)
        .header("Upload-Length", photo.len().to_string())
        .header(
            "Upload-Metadata",
            tus_metadata(&[("filename", b"phone.jpg"), ("deviceAssetId", b"a")]),
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let loc = location(&r);
    let half = photo.len() / 2;
    for (from, to) in [(0, half), (half, photo.len())] {
        let r = k(srv.req(Method::PATCH, &loc))
            .header("Tus-Resumable", TUS)
            .header("Content-Type", OCTET)
            .header("Upload-Offset", from.to_string())
            .body(photo[from..to].to_vec())
            .send()
            .unwrap();
        assert_eq!(r.status(), 204, "PATCH {from}");
    }
    let r = k(srv.req(Method::HEAD, &loc))
        .header("Tus-Resumable", TUS)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = k(srv.post("/api/assets/bulk-upload-check"))
        .json(&json!({"assets": [{"id": "a", "checksum": sha1_hex(&photo)}]}))
        .send()
        .unwrap();
    let v: Value = r.json().unwrap();
    assert_eq!(v["results"][0]["action"], "reject", "{v}");
    let uploaded = v["results"][0]["assetId"].as_str().unwrap().to_string();
    // the multipart path too
    let second = jpeg_bytes(300, 5);
    let (ct, body) = multipart_body(
        &cli_fields("second.jpg", second.len()),
        Some(("second.jpg", "image/jpeg", &second)),
    );
    let r = k(srv.post("/api/assets"))
        .header("content-type", ct)
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let (st, album) = {
        let r = k(srv.post("/api/albums"))
            .json(&json!({"albumName": "Camera"}))
            .send()
            .unwrap();
        let st = r.status().as_u16();
        (st, json_or_null(r))
    };
    assert_eq!(st, 201, "{album}");
    let mine = album["id"].as_str().unwrap().to_string();
    let r = k(srv.put(&format!("/api/albums/{mine}/assets")))
        .json(&json!({"ids": [uploaded]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);

    // nothing reads back: not the shared album, not the library, not even its own album
    for path in [
        format!("/api/albums/{shared_album}"),
        "/api/albums".to_string(),
        format!("/api/albums/{mine}"),
        format!("/api/assets/{uploaded}"),
        format!("/api/assets/{uploaded}/original"),
        format!("/api/assets/{uploaded}/thumbnail"),
        format!("/api/assets/{other_asset}"),
        "/api/timeline/buckets".to_string(),
        "/api/sync/delta".to_string(),
        "/api/search/explore".to_string(),
        "/api/people".to_string(),
        "/api/api-keys".to_string(),
    ] {
        let r = k(srv.get(&path)).send().unwrap();
        let t = r.text().unwrap_or_default();
        assert!(
            !t.contains(&other_asset) && !t.contains("Family"),
            "{path} leaks the shared album: {t}"
        );
        assert!(t.contains("Missing required permission"), "{path}: {t}");
    }
    // and the owner sees what it uploaded
    let (st, a) = srv.asset(&me, &uploaded);
    assert_eq!(st, 200);
    assert_eq!(a["originalFileName"], "phone.jpg");
}

#[test]
fn hostile_permission_lists_are_refused() {
    let mut srv = Server::start();
    let admin = srv.admin();
    let bodies = [
        json!({"name": "x", "permissions": []}),
        json!({"name": "x", "permissions": ["asset.*"]}),
        json!({"name": "x", "permissions": ["ALL"]}),
        json!({"name": "x", "permissions": ["all "]}),
        json!({"name": "x", "permissions": ["asset.read\u{0}"]}),
        json!({"name": "x", "permissions": ["a".repeat(100_000)]}),
        json!({"name": "x", "permissions": vec!["asset.read"; 201]}),
        json!({"name": "x", "permissions": "all"}),
        json!({"name": "x", "permissions": [1]}),
        json!({"name": "x", "permissions": [null]}),
        json!({"name": "x", "permissions": {"all": true}}),
    ];
    for b in &bodies {
        let r = srv
            .post("/api/api-keys")
            .bearer_auth(&admin.token)
            .json(b)
            .send()
            .unwrap();
        let v = assert_json_error(r, 400);
        assert!(v.to_string().len() < 2000, "the error echoes input: {v}");
    }
    // a key whose stored list is not what this server writes grants nothing
    let secret = key_with(&srv, &admin, &["asset.read"]);
    srv.kill();
    {
        let c = rusqlite::Connection::open(srv.data.join("shoebox.db")).unwrap();
        let n = c
            .execute(
                "UPDATE api_keys SET permissions = 'not json' WHERE name LIKE 'key%'",
                [],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
    srv.start_again();
    let r = srv
        .get("/api/users/me")
        .header("x-api-key", &secret)
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = srv
        .get("/api/api-keys/me")
        .header("x-api-key", &secret)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "the key may still say what it is");
    srv.assert_alive();
}
