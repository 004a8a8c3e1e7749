//! Administration: admin user API (list, update, password reset, no self-escalation), quotas
//! (lowered mid-tus-upload, lowered below usage), statistics and storage, and deleting a user
//! with shares (soft delete, restore, permanent delete, the grace-period purge).

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn ok(r: reqwest::blocking::Response, status: u16) -> Value {
    let st = r.status().as_u16();
    let t = r.text().unwrap_or_default();
    assert_eq!(st, status, "{t}");
    serde_json::from_str(&t).unwrap_or(Value::Null)
}

fn set_user(srv: &Server, admin: &User, id: &str, body: Value) -> Value {
    ok(
        srv.put(&format!("/api/admin/users/{id}"))
            .key(admin)
            .json(&body)
            .send()
            .unwrap(),
        200,
    )
}

fn me(srv: &Server, u: &User) -> Value {
    ok(srv.get("/api/users/me").key(u).send().unwrap(), 200)
}

#[test]
fn admin_users_and_no_escalation() {
    let srv = Server::start();
    let admin = srv.admin();
    let u = srv.create_user(&admin, "u@example.com", None);
    let list = ok(srv.get("/api/admin/users").key(&admin).send().unwrap(), 200);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_json_error(srv.get("/api/admin/users").key(&u).send().unwrap(), 403);
    assert_json_error(
        srv.put(&format!("/api/admin/users/{}", u.id))
            .key(&u)
            .json(&json!({"isAdmin": true}))
            .send()
            .unwrap(),
        403,
    );
    // A user cannot make themselves admin or change their quota.
    assert_json_error(
        srv.put("/api/users/me")
            .key(&u)
            .json(&json!({"isAdmin": true}))
            .send()
            .unwrap(),
        400,
    );
    assert_eq!(me(&srv, &u)["isAdmin"], false);
    let v = ok(
        srv.put("/api/users/me")
            .key(&u)
            .json(&json!({"name": "Renamed"}))
            .send()
            .unwrap(),
        200,
    );
    assert_eq!(v["name"], "Renamed");
    // The admin renames, sets a quota, resets the password, grants admin.
    let v = set_user(
        &srv,
        &admin,
        &u.id,
        json!({"name": "Uma", "quotaSizeInBytes": 5000, "password": "brand new password",
               "isAdmin": true}),
    );
    assert_eq!(v["name"], "Uma");
    assert_eq!(v["quotaSizeInBytes"], 5000);
    assert_eq!(v["isAdmin"], true);
    let r = srv
        .post("/api/auth/login")
        .json(&json!({"email": "u@example.com", "password": "brand new password"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let v = set_user(&srv, &admin, &u.id, json!({"quotaSizeInBytes": null}));
    assert_eq!(v["quotaSizeInBytes"], Value::Null);
    // The admin cannot demote or delete themselves.
    assert_json_error(
        srv.put(&format!("/api/admin/users/{}", admin.id))
            .key(&admin)
            .json(&json!({"isAdmin": false}))
            .send()
            .unwrap(),
        400,
    );
    assert_json_error(
        srv.delete(&format!("/api/admin/users/{}", admin.id))
            .key(&admin)
            .send()
            .unwrap(),
        400,
    );
    for bad in [
        json!({"quotaSizeInBytes": -1}),
        json!({"quotaSizeInBytes": "lots"}),
        json!({"isAdmin": "yes"}),
        json!({"email": "no-at-sign"}),
        json!({"password": "short"}),
    ] {
        assert_json_error(
            srv.put(&format!("/api/admin/users/{}", u.id))
                .key(&admin)
                .json(&bad)
                .send()
                .unwrap(),
            400,
        );
    }
}

#[test]
fn quotas_statistics_and_storage() {
    let srv = Server::start();
    let admin = srv.admin();
    let u = srv.create_user(&admin, "q@example.com", Some(10_000));

    // Quota lowered between tus creation and completion: completion fails cleanly.
    let bytes = random_bytes(6000, 7);
    let loc = srv.tus_new(&u, bytes.len() as u64, &[("filename", b"big.bin")]);
    let r = srv.tus_patch(&u, &loc, 0, bytes[..3000].to_vec());
    assert_eq!(r.status(), 204);
    set_user(&srv, &admin, &u.id, json!({"quotaSizeInBytes": 1000}));
    let r = srv.tus_patch(&u, &loc, 3000, bytes[3000..].to_vec());
    let e = assert_json_error(r, 413);
    assert!(e["message"].as_str().unwrap().contains("Quota"), "{e}");
    assert_eq!(srv.tus_head(&u, &loc).status(), 404, "the upload is gone");
    assert!(srv.library_files().is_empty(), "nothing stored");
    assert!(srv.upload_files().is_empty(), "no partial file left");
    assert_eq!(me(&srv, &u)["quotaUsageInBytes"], 0);

    // Quota lowered below usage: existing data stays, new uploads 413 (multipart and tus).
    set_user(&srv, &admin, &u.id, json!({"quotaSizeInBytes": 10_000}));
    let kept = srv.upload_new(&u, "a.jpg", &jpeg_bytes(4000, 1));
    srv.upload_new(&u, "v.mp4", &mp4_bytes(2000, 2));
    set_user(&srv, &admin, &u.id, json!({"quotaSizeInBytes": 1000}));
    let (st, _) = srv.upload(&u, "b.jpg", &jpeg_bytes(500, 3));
    assert_eq!(st, 413);
    assert_json_error(srv.tus_create(&u, 10, &[("filename", b"c.bin")]), 413);
    let (st, got) = srv.original(&u, &kept);
    assert_eq!((st.as_u16(), got), (200, jpeg_bytes(4000, 1)));
    let m = me(&srv, &u);
    assert_eq!(
        (
            m["quotaUsageInBytes"].clone(),
            m["quotaSizeInBytes"].clone()
        ),
        (json!(6000), json!(1000))
    );

    // Statistics (admin only) and storage.
    assert_json_error(
        srv.get("/api/server/statistics").key(&u).send().unwrap(),
        403,
    );
    let s = ok(
        srv.get("/api/server/statistics")
            .key(&admin)
            .send()
            .unwrap(),
        200,
    );
    assert_eq!(
        (s["photos"].clone(), s["videos"].clone(), s["usage"].clone()),
        (json!(1), json!(1), json!(6000))
    );
    let row = s["usageByUser"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["userId"] == u.id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(row["usagePhotos"], 4000);
    assert_eq!(row["usageVideos"], 2000);
    assert_eq!(row["quotaSizeInBytes"], 1000);
    let d = ok(srv.get("/api/server/storage").key(&u).send().unwrap(), 200);
    assert!(d["diskSizeRaw"].as_u64().unwrap() > 0);
    assert!(d["diskAvailableRaw"].as_u64().unwrap() <= d["diskSizeRaw"].as_u64().unwrap());
    assert!(d["diskSize"].as_str().unwrap().ends_with("iB"));
    assert_eq!(srv.get("/api/server/storage").send().unwrap().status(), 401);

    // Permanent delete of an asset gives the bytes back.
    let r = srv
        .delete("/api/assets")
        .key(&u)
        .json(&json!({"ids": [kept], "force": true}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(me(&srv, &u)["quotaUsageInBytes"], 2000);
}

/// A user with an album shared with a viewer, a shared link and a partner.
fn user_with_shares(
    srv: &Server,
    admin: &User,
    email: &str,
) -> (User, User, String, String, String) {
    let u = srv.create_user(admin, email, None);
    let friend = srv.create_user(admin, &format!("friend-{email}"), None);
    let asset = srv.upload_new(&u, "a.jpg", &photo_jpeg(64, 48, 1));
    let album = ok(
        srv.post("/api/albums")
            .key(&u)
            .json(&json!({"albumName": "A", "assetIds": [asset]}))
            .send()
            .unwrap(),
        201,
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(
        srv.put(&format!("/api/albums/{album}/users"))
            .key(&u)
            .json(&json!({"albumUsers": [{"userId": friend.id, "role": "viewer"}]}))
            .send()
            .unwrap(),
        200,
    );
    ok(
        srv.post("/api/partners")
            .key(&u)
            .json(&json!({"sharedWithId": friend.id}))
            .send()
            .unwrap(),
        201,
    );
    let key = ok(
        srv.post("/api/shared-links")
            .key(&u)
            .json(&json!({"type": "ALBUM", "albumId": album}))
            .send()
            .unwrap(),
        201,
    )["key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(srv.asset(&friend, &asset).0, 200);
    (u, friend, asset, album, key)
}

fn assert_shares_gone(srv: &Server, friend: &User, asset: &str, album: &str, key: &str) {
    assert_eq!(srv.asset(friend, asset).0, 404);
    assert_json_error(
        srv.get(&format!("/api/albums/{album}"))
            .key(friend)
            .send()
            .unwrap(),
        404,
    );
    let shared = ok(
        srv.get("/api/albums?shared=true")
            .key(friend)
            .send()
            .unwrap(),
        200,
    );
    assert_eq!(shared.as_array().unwrap().len(), 0);
    let partners = ok(
        srv.get("/api/partners?direction=shared-with")
            .key(friend)
            .send()
            .unwrap(),
        200,
    );
    assert_eq!(partners.as_array().unwrap().len(), 0);
    assert_json_error(
        srv.get(&format!("/api/assets/{asset}?key={key}"))
            .send()
            .unwrap(),
        404,
    );
    assert_eq!(
        srv.get(&format!("/share/{key}")).send().unwrap().status(),
        404
    );
}

#[test]
fn deleting_a_user_with_shares() {
    let srv = Server::start_with_env(&[("SHOEBOX_JOB_CONCURRENCY", "1")]);
    let admin = srv.admin();
    let (u, friend, asset, album, key) = user_with_shares(&srv, &admin, "gone@example.com");

    // Soft delete: logins and shares stop at once; restore brings everything back.
    let v = ok(
        srv.delete(&format!("/api/admin/users/{}", u.id))
            .key(&admin)
            .send()
            .unwrap(),
        200,
    );
    assert_eq!(v["status"], "deleted");
    assert!(v["deletedAt"].is_string());
    assert_eq!(
        srv.get("/api/users/me").key(&u).send().unwrap().status(),
        401
    );
    assert_shares_gone(&srv, &friend, &asset, &album, &key);
    let list = ok(
        srv.get("/api/admin/users?withDeleted=true")
            .key(&admin)
            .send()
            .unwrap(),
        200,
    );
    assert_eq!(list.as_array().unwrap().len(), 3);
    let v = ok(
        srv.post(&format!("/api/admin/users/{}/restore", u.id))
            .key(&admin)
            .send()
            .unwrap(),
        200,
    );
    assert_eq!(v["status"], "active");
    assert_eq!(srv.asset(&friend, &asset).0, 200);
    assert_eq!(
        srv.get("/api/users/me").key(&u).send().unwrap().status(),
        200,
        "API keys survive a restore"
    );

    // Wait for the thumbnail so derived files exist, then delete for good.
    let thumbs = srv.data.join("thumbs").join(&u.id);
    let start = Instant::now();
    while files_under(&thumbs).is_empty() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!files_under(&thumbs).is_empty(), "the thumbnail job ran");
    let r = srv
        .req(Method::DELETE, &format!("/api/admin/users/{}", u.id))
        .key(&admin)
        .json(&json!({"force": true}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_shares_gone(&srv, &friend, &asset, &album, &key);
    assert!(
        files_under(&srv.data.join("library").join(&u.id)).is_empty(),
        "originals removed"
    );
    assert!(files_under(&thumbs).is_empty(), "thumbnails removed");
    assert_json_error(
        srv.get(&format!("/api/admin/users/{}", u.id))
            .key(&admin)
            .send()
            .unwrap(),
        404,
    );
    let s = ok(
        srv.get("/api/server/statistics")
            .key(&admin)
            .send()
            .unwrap(),
        200,
    );
    assert_eq!(s["usage"], 0);
    // The friend's own account is untouched.
    assert_eq!(me(&srv, &friend)["email"], "friend-gone@example.com");
}

#[test]
fn soft_deleted_users_are_purged_after_the_grace_period() {
    let srv = Server::start_with_env(&[
        ("SHOEBOX_USER_DELETE_DELAY_SECS", "0"),
        ("SHOEBOX_JANITOR_INTERVAL_SECS", "1"),
    ]);
    let admin = srv.admin();
    let (u, friend, asset, album, key) = user_with_shares(&srv, &admin, "later@example.com");
    ok(
        srv.delete(&format!("/api/admin/users/{}", u.id))
            .key(&admin)
            .send()
            .unwrap(),
        200,
    );
    let start = Instant::now();
    loop {
        let st = srv
            .get(&format!("/api/admin/users/{}", u.id))
            .key(&admin)
            .send()
            .unwrap()
            .status();
        if st == 404 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "never purged");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(files_under(&srv.data.join("library").join(&u.id)).is_empty());
    assert_shares_gone(&srv, &friend, &asset, &album, &key);
}
