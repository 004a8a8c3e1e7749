//! `POST /api/assets/exist`: which device asset ids the caller's device already backed up
//! (Immich's `existingIds`), with Shoebox's `assets` (id, SHA-1, size, stored mtime) so a
//! reinstalled phone adopts its backup without re-reading files. Scoped to the caller.

mod common;

use common::*;
use serde_json::{Value, json};

const MTIME: &str = "2024-03-01T10:00:00.123Z";

/// Multipart upload with explicit device fields; returns the asset id (201 expected).
fn upload_as(
    srv: &Server,
    user: &User,
    device_id: &str,
    device_asset_id: &str,
    modified: &str,
    bytes: &[u8],
) -> String {
    let fields = vec![
        ("deviceAssetId".to_string(), device_asset_id.to_string()),
        ("deviceId".to_string(), device_id.to_string()),
        (
            "fileCreatedAt".to_string(),
            "2024-02-01T09:00:00.000Z".to_string(),
        ),
        ("fileModifiedAt".to_string(), modified.to_string()),
    ];
    let (ct, body) = multipart_body(&fields, Some(("IMG_1.jpg", "image/jpeg", bytes)));
    let r = srv
        .post("/api/assets")
        .key(user)
        .header("content-type", ct)
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "upload");
    let v: Value = r.json().unwrap();
    v["id"].as_str().unwrap().to_string()
}

/// tus upload (one PATCH) with device fields in Upload-Metadata; returns the asset id.
fn tus_as(
    srv: &Server,
    user: &User,
    device_id: &str,
    device_asset_id: &str,
    modified: &str,
    bytes: &[u8],
) -> String {
    let loc = srv.tus_new(
        user,
        bytes.len() as u64,
        &[
            ("filename", b"VID_2.mp4"),
            ("deviceId", device_id.as_bytes()),
            ("deviceAssetId", device_asset_id.as_bytes()),
            ("fileModifiedAt", modified.as_bytes()),
        ],
    );
    let r = srv.tus_patch(user, &loc, 0, bytes.to_vec());
    assert_eq!(r.status(), 204, "tus patch");
    header(&r, "shoebox-asset-id")
        .expect("asset id header")
        .to_string()
}

fn exist(srv: &Server, user: &User, body: &Value) -> Value {
    let r = srv
        .post("/api/assets/exist")
        .key(user)
        .json(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "exist");
    r.json().unwrap()
}

fn ids(v: &Value) -> Vec<String> {
    v["existingIds"]
        .as_array()
        .expect("existingIds")
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn answers_uploads_by_multipart_and_tus_with_checksum_size_and_exact_mtime() {
    let srv = Server::start();
    let me = srv.admin();
    let photo = jpeg_bytes(3000, 1);
    let video = mp4_bytes(5000, 2);
    let photo_id = upload_as(&srv, &me, "pixel-7", "ms:1001", MTIME, &photo);
    // another time zone and microseconds: stored (and answered) as UTC milliseconds with Z
    let video_id = tus_as(
        &srv,
        &me,
        "pixel-7",
        "ms:1002",
        "2024-03-01T12:00:00.456789+02:00",
        &video,
    );

    let v = exist(
        &srv,
        &me,
        &json!({"deviceId": "pixel-7", "deviceAssetIds": ["ms:1002", "ms:9999", "ms:1001", "ms:1001"]}),
    );
    assert_eq!(ids(&v), vec!["ms:1002", "ms:1001"], "{v}");
    let assets = v["assets"].as_array().unwrap();
    assert_eq!(assets.len(), 2, "{v}");
    let by = |dai: &str| {
        assets
            .iter()
            .find(|a| a["deviceAssetId"] == dai)
            .unwrap_or_else(|| panic!("{dai} in {v}"))
            .clone()
    };
    let p = by("ms:1001");
    assert_eq!(p["id"], photo_id.as_str());
    assert_eq!(p["checksum"], sha1_hex(&photo).as_str());
    assert_eq!(p["fileSize"], json!(photo.len()));
    assert!(p["fileSize"].is_u64(), "size is an integer: {p}");
    // byte-identical to what the client sent
    assert_eq!(p["fileModifiedAt"], MTIME);
    let m = by("ms:1002");
    assert_eq!(m["id"], video_id.as_str());
    assert_eq!(m["checksum"], sha1_hex(&video).as_str());
    assert_eq!(m["fileSize"], json!(video.len()));
    assert_eq!(m["fileModifiedAt"], "2024-03-01T10:00:00.456Z");

    // the same mtime the asset JSON shows
    let (_, a) = srv.asset(&me, &photo_id);
    assert_eq!(a["fileModifiedAt"], MTIME);

    // tus with the exact millisecond form comes back byte-identical too
    let third = jpeg_bytes(2000, 3);
    tus_as(&srv, &me, "pixel-7", "ms:1003", MTIME, &third);
    let v = exist(
        &srv,
        &me,
        &json!({"deviceId": "pixel-7", "deviceAssetIds": ["ms:1003"]}),
    );
    assert_eq!(v["assets"][0]["fileModifiedAt"], MTIME, "{v}");
    assert_eq!(v["assets"][0]["checksum"], sha1_hex(&third).as_str());
}

#[test]
fn only_the_callers_live_assets_of_that_device() {
    let srv = Server::start();
    let admin = srv.admin();
    let other = srv.create_user(&admin, "other@example.com", None);
    upload_as(&srv, &admin, "phone-a", "a1", MTIME, &jpeg_bytes(1000, 10));
    let trashed = upload_as(&srv, &admin, "phone-a", "a2", MTIME, &jpeg_bytes(1000, 11));
    upload_as(&srv, &admin, "phone-b", "b1", MTIME, &jpeg_bytes(1000, 12));
    // the other user uses the same device and asset ids
    upload_as(&srv, &other, "phone-a", "a3", MTIME, &jpeg_bytes(1000, 13));

    let r = srv
        .delete("/api/assets")
        .key(&admin)
        .json(&json!({"ids": [trashed]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);

    let all = json!({"deviceId": "phone-a", "deviceAssetIds": ["a1", "a2", "a3", "b1"]});
    let v = exist(&srv, &admin, &all);
    assert_eq!(
        ids(&v),
        vec!["a1"],
        "trash, other users and other devices not answered: {v}"
    );
    assert_eq!(v["assets"].as_array().unwrap().len(), 1);
    let v = exist(&srv, &other, &all);
    assert_eq!(ids(&v), vec!["a3"], "{v}");
    let v = exist(
        &srv,
        &admin,
        &json!({"deviceId": "phone-b", "deviceAssetIds": ["a1", "b1"]}),
    );
    assert_eq!(ids(&v), vec!["b1"], "{v}");
    // an empty list is a valid question with an empty answer
    let v = exist(
        &srv,
        &admin,
        &json!({"deviceId": "phone-a", "deviceAssetIds": []}),
    );
    assert_eq!(v, json!({"existingIds": [], "assets": []}));

    // restored from the trash: answered again
    let r = srv
        .post("/api/trash/restore/assets")
        .key(&admin)
        .json(&json!({"ids": [trashed]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", text(r));
    let v = exist(&srv, &admin, &all);
    assert_eq!(ids(&v), vec!["a1", "a2"], "{v}");
}

#[test]
fn needs_an_account_not_a_link() {
    let srv = Server::start();
    let admin = srv.admin();
    let id = upload_as(&srv, &admin, "d", "x1", MTIME, &jpeg_bytes(1000, 20));
    let r = srv
        .post("/api/shared-links")
        .key(&admin)
        .json(&json!({"type": "INDIVIDUAL", "assetIds": [id], "allowUpload": true}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "link");
    let link: Value = r.json().unwrap();
    let key = link["key"].as_str().unwrap();
    let body = json!({"deviceId": "d", "deviceAssetIds": ["x1"]});
    for rb in [
        srv.post("/api/assets/exist"),
        srv.post(&format!("/api/assets/exist?key={key}")),
        srv.post("/api/assets/exist")
            .header("x-immich-share-key", key),
        srv.post("/api/assets/exist").header("x-api-key", "garbage"),
        srv.post("/api/assets/exist").bearer_auth("garbage"),
        srv.post("/api/assets/exist")
            .header("cookie", "immich_access_token=garbage"),
    ] {
        let r = rb.json(&body).send().unwrap();
        assert_json_error(r, 401);
    }
    // each credential form of an account works
    for rb in [
        srv.post("/api/assets/exist").bearer_auth(&admin.token),
        srv.post("/api/assets/exist")
            .header("cookie", format!("immich_access_token={}", admin.token)),
    ] {
        let r = rb.json(&body).send().unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().unwrap();
        assert_eq!(ids(&v), vec!["x1"]);
    }
}

#[test]
fn hostile_input_is_a_clear_400() {
    let mut srv = Server::start();
    let admin = srv.admin();
    upload_as(&srv, &admin, "d", "x1", MTIME, &jpeg_bytes(1000, 30));
    let long = "x".repeat(1001);
    let many: Vec<String> = (0..10_001).map(|i| format!("id-{i}")).collect();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"deviceAssetIds": ["x1"]}), "deviceId"),
        (
            json!({"deviceId": "", "deviceAssetIds": ["x1"]}),
            "deviceId",
        ),
        (
            json!({"deviceId": "  \u{0}", "deviceAssetIds": ["x1"]}),
            "deviceId",
        ),
        (json!({"deviceId": 5, "deviceAssetIds": ["x1"]}), "deviceId"),
        (
            json!({"deviceId": long, "deviceAssetIds": ["x1"]}),
            "deviceId",
        ),
        (json!({"deviceId": "d"}), "deviceAssetIds"),
        (
            json!({"deviceId": "d", "deviceAssetIds": "x1"}),
            "deviceAssetIds",
        ),
        (
            json!({"deviceId": "d", "deviceAssetIds": {"0": "x1"}}),
            "deviceAssetIds",
        ),
        (
            json!({"deviceId": "d", "deviceAssetIds": ["x1", 7]}),
            "deviceAssetIds[1]",
        ),
        (
            json!({"deviceId": "d", "deviceAssetIds": [null]}),
            "deviceAssetIds[0]",
        ),
        (
            json!({"deviceId": "d", "deviceAssetIds": [["x1"]]}),
            "deviceAssetIds[0]",
        ),
        (
            json!({"deviceId": "d", "deviceAssetIds": [""]}),
            "deviceAssetIds[0]",
        ),
        (
            json!({"deviceId": "d", "deviceAssetIds": ["x1", long]}),
            "deviceAssetIds[1]",
        ),
        (
            json!({"deviceId": "d", "deviceAssetIds": many}),
            "at most 10000",
        ),
        (json!([1, 2]), "object"),
    ];
    for (body, needle) in cases {
        let r = srv
            .post("/api/assets/exist")
            .key(&admin)
            .json(&body)
            .send()
            .unwrap();
        let v = assert_json_error(r, 400);
        let msg = v["message"].as_str().unwrap_or_default().to_string();
        assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
    }
    for raw in [&b"{"[..], b"not json", b"\xff\xfe", b""] {
        let r = srv
            .post("/api/assets/exist")
            .key(&admin)
            .header("content-type", "application/json")
            .body(raw.to_vec())
            .send()
            .unwrap();
        assert_json_error(r, 400);
    }
    // exactly at the limits is fine: 10,000 ids, one of 1,000 bytes
    let mut at_limit: Vec<String> = (0..9_999).map(|i| format!("id-{i}")).collect();
    at_limit.push("y".repeat(1000));
    at_limit.push("x1".into());
    at_limit.remove(0);
    assert_eq!(at_limit.len(), 10_000);
    let v = exist(
        &srv,
        &admin,
        &json!({"deviceId": "d", "deviceAssetIds": at_limit}),
    );
    assert_eq!(ids(&v), vec!["x1"]);
    // SQL-ish and odd ids are just strings that match nothing
    let v = exist(
        &srv,
        &admin,
        &json!({"deviceId": "d' OR 1=1 --", "deviceAssetIds": ["x1' OR '1'='1", "%", "*", "../x1"]}),
    );
    assert_eq!(v, json!({"existingIds": [], "assets": []}));
    // a body far over the largest legal one is refused without a crash
    // (its own client: the server may close that connection before reading it all)
    let huge = vec![b' '; 24 * 1024 * 1024];
    let r = client()
        .post(srv.url("/api/assets/exist"))
        .key(&admin)
        .header("content-type", "application/json")
        .body(huge)
        .send();
    if let Ok(r) = r {
        assert!(
            r.status().is_client_error(),
            "oversized body: {}",
            r.status()
        );
    }
    srv.assert_alive();
}
