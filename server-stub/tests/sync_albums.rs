//! `albumsEtag` in the delta sync answer: unchanged while albums are unchanged, different after
//! an album is created or gains an asset, and never mixing two users' albums.

mod common;

use common::*;
use serde_json::{Value, json};

fn etag(srv: &Server, user: &User) -> String {
    let v: Value = srv
        .get("/api/sync/delta")
        .header("x-api-key", &user.key)
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["albumsEtag"].as_str().expect("albumsEtag").to_owned()
}

#[test]
fn albums_etag_tracks_album_changes_only() {
    let srv = Server::start();
    let admin = srv.admin();
    let other = srv.create_user(&admin, "other@example.com", None);
    let empty = etag(&srv, &admin);
    assert_eq!(empty, etag(&srv, &admin), "stable while nothing changes");

    let asset = srv.upload_new(&admin, "a.jpg", &jpeg_bytes(3000, 1));
    assert_eq!(
        empty,
        etag(&srv, &admin),
        "an upload outside albums leaves albums alone"
    );

    let r = srv
        .post("/api/albums")
        .header("x-api-key", &admin.key)
        .json(&json!({"albumName": "Trip"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let album: Value = r.json().unwrap();
    let created = etag(&srv, &admin);
    assert_ne!(created, empty, "a new album changes the fingerprint");

    let r = srv
        .put(&format!(
            "/api/albums/{}/assets",
            album["id"].as_str().unwrap()
        ))
        .header("x-api-key", &admin.key)
        .json(&json!({"ids": [asset]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let filled = etag(&srv, &admin);
    assert_ne!(filled, created, "membership changes the fingerprint");
    assert_eq!(
        etag(&srv, &other),
        empty,
        "another user's albums are not in mine"
    );
}
