//! Issue 22, part 1: an upload-enabled shared link cannot be turned against its owner. A
//! checksum a guest asserts never short-cuts bytes (multipart `x-immich-checksum`, tus
//! `Upload-Metadata`, bulk-upload-check); a guest upload is content-checked, and one whose real
//! bytes match an owner's asset joins the link only if that asset is on the owner's timeline.
//! No guest answer carries an owner's asset id, and nothing the link did not show becomes
//! reachable through it.

mod common;

use common::*;
use reqwest::Method;
use reqwest::blocking::Response;
use serde_json::{Value, json};

struct Owned {
    name: &'static str,
    id: String,
    bytes: Vec<u8>,
}

/// The owner's library: one asset per visibility class, plus an album with an upload link
/// (download allowed, so only the access rules stand between a guest and an original).
struct Setup {
    srv: Server,
    owner: User,
    assets: Vec<Owned>,
    album: String,
    key: String,
}

fn setup() -> Setup {
    let srv = Server::start();
    let owner = srv.admin();
    let mut assets = Vec::new();
    for (seed, name) in ["visible", "archived", "hidden", "locked", "trashed"]
        .into_iter()
        .enumerate()
    {
        let bytes = photo_jpeg(64, 48, seed as u8 + 1);
        let id = srv.upload_new(&owner, &format!("{name}.jpg"), &bytes);
        assets.push(Owned { name, id, bytes });
    }
    for (i, vis) in [(1, "archive"), (2, "hidden"), (3, "locked")] {
        let r = srv
            .put("/api/assets")
            .key(&owner)
            .json(&json!({"ids": [assets[i].id], "visibility": vis}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 204, "set {vis}");
    }
    let r = srv
        .delete("/api/assets")
        .key(&owner)
        .json(&json!({"ids": [assets[4].id]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204, "trash");
    let r = srv
        .post("/api/albums")
        .key(&owner)
        .json(&json!({"albumName": "Drop box"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let album = r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = srv
        .post("/api/shared-links")
        .key(&owner)
        .json(
            &json!({"type": "ALBUM", "albumId": album, "allowUpload": true, "allowDownload": true}),
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let key = r.json::<Value>().unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    Setup {
        srv,
        owner,
        assets,
        album,
        key,
    }
}

impl Setup {
    /// Status, headers and body of a guest answer as one string, for "no owner id in it".
    fn answer(r: Response) -> (u16, String) {
        let st = r.status().as_u16();
        let mut all = String::new();
        for (k, v) in r.headers() {
            all.push_str(&format!("{k}: {}\n", v.to_str().unwrap_or("")));
        }
        all.push_str(&r.text().unwrap_or_default());
        (st, all)
    }

    fn assert_no_owner_id(&self, what: &str, answer: &str) {
        for a in &self.assets {
            assert!(
                !answer.contains(&a.id),
                "{what}: the guest's answer names the owner's {} asset: {answer}",
                a.name
            );
        }
    }

    /// A multipart upload through the link, optionally asserting a checksum.
    fn guest_upload(
        &self,
        bytes: &[u8],
        checksum: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Response {
        let mut fields = cli_fields("guest.jpg", bytes.len());
        for (k, v) in extra {
            fields.push((k.to_string(), v.to_string()));
        }
        let (ct, body) = multipart_body(&fields, Some(("guest.jpg", "image/jpeg", bytes)));
        let mut rb = self
            .srv
            .post("/api/assets")
            .query(&[("key", self.key.as_str())])
            .header("content-type", ct);
        if let Some(sum) = checksum {
            rb = rb.header("x-immich-checksum", sum);
        }
        rb.body(body).send().unwrap()
    }

    /// The ids the link shows in its album.
    fn album_ids(&self) -> Vec<String> {
        let r = self
            .srv
            .get(&format!("/api/albums/{}", self.album))
            .query(&[("key", self.key.as_str())])
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().unwrap();
        v["assets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// Nothing of asset `id` is reachable with the link key.
    fn assert_unreachable(&self, id: &str, what: &str) {
        for path in [
            format!("/api/assets/{id}"),
            format!("/api/assets/{id}/original"),
            format!("/api/assets/{id}/thumbnail"),
            format!("/api/assets/{id}/thumbnail?size=preview"),
        ] {
            let r = self
                .srv
                .get(&path)
                .query(&[("key", self.key.as_str())])
                .send()
                .unwrap();
            assert_eq!(r.status(), 404, "{what}: {path} through the link");
        }
        assert!(
            !self.album_ids().iter().any(|a| a == id),
            "{what}: the asset joined the shared album"
        );
    }

    /// The owner's view of an asset: (visibility, trashed).
    fn owner_view(&self, id: &str) -> (String, bool) {
        let (st, v) = self.srv.asset(&self.owner, id);
        assert_eq!(st, 200);
        (
            v["visibility"].as_str().unwrap().to_string(),
            v["isTrashed"].as_bool().unwrap(),
        )
    }
}

#[test]
fn an_asserted_checksum_with_dummy_bytes_gets_nothing_by_multipart() {
    let s = setup();
    for (n, a) in s.assets.iter().enumerate() {
        for sum in [sha1_hex(&a.bytes), sha1_b64(&a.bytes)] {
            let dummy = jpeg_bytes(16, 1000 + n as u64);
            let r = s.guest_upload(&dummy, Some(&sum), &[]);
            let (st, body) = Setup::answer(r);
            s.assert_no_owner_id(&format!("multipart {}", a.name), &body);
            assert_eq!(st, 201, "the dummy is stored as what it is: {body}");
        }
        s.assert_unreachable(&a.id, a.name);
    }
    // The dummies were stored as themselves, in the owner's library and the album.
    let shown = s.album_ids();
    assert_eq!(shown.len(), 5, "one asset per distinct dummy: {shown:?}");
    for id in &shown {
        let (st, v) = s.srv.asset(&s.owner, id);
        assert_eq!(st, 200);
        assert_eq!(v["fileSize"], 16);
    }
}

#[test]
fn an_asserted_checksum_gets_nothing_by_tus_or_bulk_upload_check() {
    let s = setup();
    let key = s.key.as_str();
    for a in &s.assets {
        let sum = sha1_hex(&a.bytes);
        let meta = tus_metadata(&[("filename", b"x.jpg"), ("checksum", sum.as_bytes())]);
        // tus creation with the link key in the query and in the header, with and without a body
        let attempts = [
            s.srv
                .post("/api/upload")
                .query(&[("key", key)])
                .header("Tus-Resumable", TUS)
                .header("Upload-Length", a.bytes.len().to_string())
                .header("Upload-Metadata", &meta),
            s.srv
                .post("/api/upload")
                .header("x-immich-share-key", key)
                .header("Tus-Resumable", TUS)
                .header("Upload-Length", "4")
                .header("Upload-Metadata", &meta)
                .header("Content-Type", OCTET)
                .body(vec![1, 2, 3, 4]),
            s.srv
                .post("/api/assets/bulk-upload-check")
                .query(&[("key", key)])
                .json(&json!({"assets": [{"id": "probe", "checksum": sum}]})),
            s.srv
                .post("/api/assets/bulk-upload-check")
                .header("x-immich-share-key", key)
                .json(&json!({"assets": [{"id": "probe", "checksum": sha1_b64(&a.bytes)}]})),
        ];
        for rb in attempts {
            let (st, body) = Setup::answer(rb.send().unwrap());
            s.assert_no_owner_id(&format!("tus/bulk {}", a.name), &body);
            assert!(
                st == 401 || st == 403,
                "a link is no account for tus or bulk checks: {st} {body}"
            );
            assert!(!body.contains("duplicate"), "{body}");
        }
        s.assert_unreachable(&a.id, a.name);
    }
    // and no upload row or file was left behind for the guest
    assert!(s.srv.upload_files().is_empty());
    let (st, body) = Setup::answer(
        s.srv
            .req(Method::HEAD, "/api/upload")
            .query(&[("key", key)])
            .send()
            .unwrap(),
    );
    assert!(st >= 400, "{st}");
    s.assert_no_owner_id("HEAD", &body);
}

#[test]
fn real_bytes_join_only_what_the_owner_shows_and_the_answer_is_the_same() {
    let s = setup();
    let before: Vec<(String, bool)> = s.assets.iter().map(|a| s.owner_view(&a.id)).collect();
    let mut answers = Vec::new();
    for a in &s.assets {
        // the guest has the real file, and asserts its checksum too
        let r = s.guest_upload(&a.bytes, Some(&sha1_hex(&a.bytes)), &[]);
        let st = r.status().as_u16();
        let v: Value = r.json().unwrap();
        assert_eq!(st, 201, "{}: {v}", a.name);
        assert_eq!(
            v["status"], "created",
            "{}: never 'duplicate' to a guest",
            a.name
        );
        let id = v["id"].as_str().unwrap().to_string();
        answers.push(id.clone());
        if a.name == "visible" {
            // the guest had the photo, the owner shows it: it joins the album
            assert_eq!(id, a.id);
            assert!(s.album_ids().contains(&a.id));
            let r = s
                .srv
                .get(&format!("/api/assets/{}/original", a.id))
                .query(&[("key", s.key.as_str())])
                .send()
                .unwrap();
            assert_eq!(r.status(), 200);
        } else {
            s.assert_no_owner_id(a.name, &v.to_string());
            s.assert_unreachable(&a.id, a.name);
            // the receipt names nothing the link can reach either
            let r = s
                .srv
                .get(&format!("/api/assets/{id}"))
                .query(&[("key", s.key.as_str())])
                .send()
                .unwrap();
            assert_eq!(r.status(), 404);
        }
    }
    // every answer has one shape; the receipts are all different
    let mut uniq = answers.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), answers.len());
    // the owner's assets are untouched
    let after: Vec<(String, bool)> = s.assets.iter().map(|a| s.owner_view(&a.id)).collect();
    assert_eq!(before, after);
    // nothing was stored twice: five originals, the owner's
    assert_eq!(
        s.srv.library_files().len(),
        5,
        "{:?}",
        s.srv.library_files()
    );
    assert_eq!(s.album_ids(), vec![s.assets[0].id.clone()]);
}

#[test]
fn a_guest_cannot_choose_the_owners_visibility_favourite_or_albums() {
    let s = setup();
    let bytes = photo_jpeg(32, 32, 99);
    let r = s.guest_upload(
        &bytes,
        None,
        &[("visibility", "locked"), ("isFavorite", "true")],
    );
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, v) = s.srv.asset(&s.owner, &id);
    assert_eq!(st, 200);
    assert_eq!(v["visibility"], "timeline");
    assert_eq!(v["isFavorite"], false);
    assert!(s.album_ids().contains(&id));
    // the owner's own checksum short-cut still works for the owner
    let r = s
        .srv
        .post("/api/assets")
        .key(&s.owner)
        .header("x-immich-checksum", sha1_hex(&bytes))
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x--\r\n")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().unwrap();
    assert_eq!(v, json!({"id": id, "status": "duplicate"}));
}
