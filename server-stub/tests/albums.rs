//! Albums: create, add assets, read back, ownership.

mod common;

use common::*;
use serde_json::{Value, json};

fn create_album(srv: &Server, user: &User, body: Value) -> Value {
    let r = srv
        .post("/api/albums")
        .key(user)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "create album");
    r.json().unwrap()
}

fn album_asset_ids(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v["assets"]
        .as_array()
        .unwrap_or_else(|| panic!("album has no assets array: {v}"))
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn create_add_and_read_album() {
    let srv = Server::start();
    let admin = srv.admin();
    let a = srv.upload_new(&admin, "a.jpg", &jpeg_bytes(1000, 1));
    let b = srv.upload_new(&admin, "b.jpg", &jpeg_bytes(1000, 2));
    let c = srv.upload_new(&admin, "c.mp4", &mp4_bytes(1000, 3));

    let album = create_album(
        &srv,
        &admin,
        json!({"albumName": "Summer", "description": "beach"}),
    );
    let album_id = album["id"].as_str().expect("id").to_string();
    assert_eq!(album["albumName"], "Summer");

    let missing = "00000000-0000-4000-8000-000000000000";
    let r = srv
        .put(&format!("/api/albums/{album_id}/assets"))
        .key(&admin)
        .json(&json!({"ids": [a, b, missing]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().unwrap();
    let res = v.as_array().expect("array");
    assert_eq!(res.len(), 3, "{v}");
    let find = |id: &str| res.iter().find(|x| x["id"] == id).cloned().unwrap();
    assert_eq!(find(&a)["success"], true, "{v}");
    assert_eq!(find(&b)["success"], true, "{v}");
    assert_eq!(find(missing)["success"], false, "{v}");
    assert_eq!(find(missing)["error"], "not_found", "{v}");

    // second time: a is a duplicate, c is new
    let r = srv
        .put(&format!("/api/albums/{album_id}/assets"))
        .key(&admin)
        .json(&json!({"ids": [a, c]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().unwrap();
    let res = v.as_array().unwrap();
    let find = |id: &str| res.iter().find(|x| x["id"] == id).cloned().unwrap();
    assert_eq!(find(&a)["success"], false, "{v}");
    assert_eq!(find(&a)["error"], "duplicate", "{v}");
    assert_eq!(find(&c)["success"], true, "{v}");

    let v: Value = srv
        .get(&format!("/api/albums/{album_id}"))
        .key(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(v["id"], album_id.as_str());
    assert_eq!(v["albumName"], "Summer");
    let mut want = vec![a.clone(), b.clone(), c.clone()];
    want.sort();
    assert_eq!(album_asset_ids(&v), want);
    if let Some(n) = v.get("assetCount") {
        assert_eq!(n.as_u64(), Some(3), "{v}");
    }
    // asset entries carry asset JSON
    let first = &v["assets"][0];
    assert!(
        first["type"].is_string() && first["originalFileName"].is_string(),
        "{first}"
    );
}

#[test]
fn create_album_with_asset_ids() {
    let srv = Server::start();
    let admin = srv.admin();
    let a = srv.upload_new(&admin, "a.jpg", &jpeg_bytes(1000, 4));
    let album = create_album(&srv, &admin, json!({"albumName": "Pre", "assetIds": [a]}));
    let id = album["id"].as_str().unwrap();
    let v: Value = srv
        .get(&format!("/api/albums/{id}"))
        .key(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(album_asset_ids(&v), vec![a]);
}

#[test]
fn list_albums_only_owned() {
    let srv = Server::start();
    let admin = srv.admin();
    let bob = srv.create_user(&admin, "bob@example.com", None);
    let x = create_album(&srv, &admin, json!({"albumName": "Admin One"}));
    let y = create_album(&srv, &admin, json!({"albumName": "Admin Two"}));
    let z = create_album(&srv, &bob, json!({"albumName": "Bob One"}));

    let list: Value = srv
        .get("/api/albums")
        .key(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let mut ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut want = vec![x["id"].as_str().unwrap(), y["id"].as_str().unwrap()];
    want.sort();
    assert_eq!(ids, want);

    let list: Value = srv
        .get("/api/albums")
        .key(&bob)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![z["id"].as_str().unwrap()]);
}

#[test]
fn other_users_album_is_404() {
    let srv = Server::start();
    let admin = srv.admin();
    let bob = srv.create_user(&admin, "bob@example.com", None);
    let a = srv.upload_new(&admin, "a.jpg", &jpeg_bytes(1000, 5));
    let bobs_asset = srv.upload_new(&bob, "b.jpg", &jpeg_bytes(1000, 6));
    let album = create_album(
        &srv,
        &admin,
        json!({"albumName": "Private", "assetIds": [a]}),
    );
    let id = album["id"].as_str().unwrap();

    let r = srv
        .get(&format!("/api/albums/{id}"))
        .key(&bob)
        .send()
        .unwrap();
    assert_json_error(r, 404);
    let r = srv
        .put(&format!("/api/albums/{id}/assets"))
        .key(&bob)
        .json(&json!({"ids": [bobs_asset]}))
        .send()
        .unwrap();
    assert_json_error(r, 404);
    let v: Value = srv
        .get(&format!("/api/albums/{id}"))
        .key(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(album_asset_ids(&v), vec![a]);
    // unknown album
    let r = srv
        .get("/api/albums/00000000-0000-4000-8000-000000000000")
        .key(&admin)
        .send()
        .unwrap();
    assert_json_error(r, 404);
}

#[test]
fn trashed_or_deleted_assets_leave_album() {
    let srv = Server::start();
    let admin = srv.admin();
    let a = srv.upload_new(&admin, "a.jpg", &jpeg_bytes(1000, 7));
    let b = srv.upload_new(&admin, "b.jpg", &jpeg_bytes(1000, 8));
    let album = create_album(
        &srv,
        &admin,
        json!({"albumName": "Two", "assetIds": [a, b]}),
    );
    let id = album["id"].as_str().unwrap();
    let r = srv
        .delete("/api/assets")
        .key(&admin)
        .json(&json!({"ids": [a], "force": true}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = srv
        .get(&format!("/api/albums/{id}"))
        .key(&admin)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().unwrap();
    assert_eq!(album_asset_ids(&v), vec![b]);
}
