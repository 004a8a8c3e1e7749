//! Issue 22, part 3: `showMetadata: false` means it. Checksums, EXIF, GPS, original file names,
//! owner ids and the owner's email reach no response a link holder can get (fields the schema
//! requires are present with empty values); originals, which carry EXIF inside, are not served.
//! The same walk over a `showMetadata: true` link finds them, so the needles are real.

mod common;

use common::*;
use serde_json::{Value, json};
use std::process::Command;

const NAME: &str = "secret-name-IMG_4242.jpg";
const MAKE: &str = "ShoeboxCam";
const MODEL: &str = "Model-Zeta-9";

fn photo_with_exif(dir: &std::path::Path) -> Vec<u8> {
    let f = dir.join("exif.jpg");
    std::fs::write(&f, photo_jpeg(96, 64, 7)).unwrap();
    let o = Command::new("exiftool")
        .args([
            "-q",
            "-overwrite_original",
            &format!("-Make={MAKE}"),
            &format!("-Model={MODEL}"),
            "-DateTimeOriginal=2023:06:15 12:00:00",
            "-GPSLatitude=48.8566",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=2.3522",
            "-GPSLongitudeRef=E",
        ])
        .arg(&f)
        .output()
        .expect("run exiftool");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read(&f).unwrap()
}

struct Lib {
    srv: Server,
    owner: User,
    asset: String,
    album: String,
    bytes: Vec<u8>,
}

fn library() -> Lib {
    let srv = Server::start();
    let owner = srv.admin();
    let dir = tempfile::tempdir().unwrap();
    let bytes = photo_with_exif(dir.path());
    let asset = srv.upload_new(&owner, NAME, &bytes);
    idle(&srv, &owner);
    // the owner sees all of it (so the needles below are in the data)
    let (_, v) = srv.asset(&owner, &asset);
    assert_eq!(v["exifInfo"]["make"], MAKE, "{v}");
    assert!(v["exifInfo"]["latitude"].as_f64().is_some(), "{v}");
    let r = srv
        .post("/api/albums")
        .key(&owner)
        .json(&json!({"albumName": "Holiday", "assetIds": [asset]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let album = r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    Lib {
        srv,
        owner,
        asset,
        album,
        bytes,
    }
}

impl Lib {
    fn needles(&self) -> Vec<(&'static str, String)> {
        vec![
            ("checksum (hex)", sha1_hex(&self.bytes)),
            ("checksum (base64)", sha1_b64(&self.bytes)),
            ("owner id", self.owner.id.clone()),
            ("owner email", self.owner.email.clone()),
            ("file name", "secret-name".into()),
            ("EXIF make", MAKE.into()),
            ("EXIF model", MODEL.into()),
            ("latitude", "48.85".into()),
            ("longitude", "2.352".into()),
        ]
    }

    fn link(&self, body: Value) -> (String, Option<String>) {
        let r = self
            .srv
            .post("/api/shared-links")
            .key(&self.owner)
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "{}", text(r));
        let v: Value = r.json().unwrap();
        let key = v["key"].as_str().unwrap().to_string();
        let token = body.get("password").map(|pw| {
            let r = self
                .srv
                .post("/api/shared-links/login")
                .query(&[("key", key.as_str())])
                .json(&json!({"password": pw}))
                .send()
                .unwrap();
            assert_eq!(r.status(), 201);
            let v: Value = r.json().unwrap();
            v["token"].as_str().unwrap().to_string()
        });
        (key, token)
    }

    /// Every answer the link can get.
    fn walk(&self, key: &str, token: Option<&str>, password: Option<&str>) -> Vec<Answer> {
        let mut q = vec![("key", key.to_string())];
        if let Some(t) = token {
            q.push(("token", t.to_string()));
        }
        let get = |path: &str, extra: &[(&str, &str)]| {
            let r = self.srv.get(path).query(&q).query(extra).send().unwrap();
            answer(format!("GET {path} {extra:?}"), r)
        };
        let a = &self.asset;
        let mut out = vec![
            get("/api/shared-links/me", &[]),
            get(&format!("/api/assets/{a}"), &[]),
            get(&format!("/api/assets/{a}/thumbnail"), &[]),
            get(
                &format!("/api/assets/{a}/thumbnail"),
                &[("size", "preview")],
            ),
            get(
                &format!("/api/assets/{a}/thumbnail"),
                &[("size", "fullsize")],
            ),
            get(&format!("/api/assets/{a}/original"), &[]),
            get(&format!("/api/albums/{}", self.album), &[]),
            get("/api/timeline/buckets", &[]),
            get("/api/timeline/bucket", &[("timeBucket", "2023-06-01")]),
            get(
                "/api/timeline/bucket",
                &[("timeBucket", "2023-06-01"), ("albumId", &self.album)],
            ),
            get(&format!("/share/{key}"), &[]),
        ];
        if let Some(pw) = password {
            let r = self
                .srv
                .post("/api/shared-links/login")
                .query(&[("key", key)])
                .json(&json!({"password": pw}))
                .send()
                .unwrap();
            out.push(answer("POST login".into(), r));
            out.push(get("/api/shared-links/me", &[("password", pw)]));
        }
        out
    }
}

/// One response a link holder got: its status, headers and body.
struct Answer {
    what: String,
    status: u16,
    headers: String,
    body: Vec<u8>,
}

impl Answer {
    fn carries(&self, needle: &str) -> bool {
        self.headers.contains(needle) || contains(&self.body, needle.as_bytes())
    }
}

fn answer(what: String, r: reqwest::blocking::Response) -> Answer {
    let status = r.status().as_u16();
    let mut headers = String::new();
    for (k, v) in r.headers() {
        headers.push_str(&format!("{k}: {}\n", v.to_str().unwrap_or("")));
    }
    Answer {
        what,
        status,
        headers,
        body: r.bytes().unwrap().to_vec(),
    }
}

fn find<'a>(walk: &'a [Answer], what: &str) -> &'a Answer {
    walk.iter()
        .find(|a| a.what == what)
        .unwrap_or_else(|| panic!("{what} not walked"))
}

fn json_of(walk: &[Answer], what: &str) -> Value {
    let a = find(walk, what);
    assert_eq!(a.status, 200, "{what}");
    serde_json::from_slice(&a.body).unwrap_or_else(|e| panic!("{what}: {e}"))
}

#[test]
fn a_link_that_hides_metadata_shows_none_of_it_anywhere() {
    let lib = library();
    for (body, password) in [
        (
            json!({"type": "ALBUM", "albumId": lib.album, "showMetadata": false, "allowDownload": true}),
            None,
        ),
        (
            json!({"type": "INDIVIDUAL", "assetIds": [lib.asset], "showMetadata": false,
                   "allowDownload": true, "password": "pw pw", "allowUpload": true}),
            Some("pw pw"),
        ),
    ] {
        let (key, token) = lib.link(body.clone());
        let walk = lib.walk(&key, token.as_deref(), password);
        for a in &walk {
            assert!(a.status < 500, "{}: {}", a.what, a.status);
            for (name, needle) in lib.needles() {
                assert!(
                    !a.carries(&needle),
                    "{body}: {} ({}) carries the {name}: {}{}",
                    a.what,
                    a.status,
                    a.headers,
                    String::from_utf8_lossy(&a.body)
                );
            }
        }
        // the original carries EXIF inside: not served when metadata is hidden
        let a = find(&walk, &format!("GET /api/assets/{}/original []", lib.asset));
        assert_eq!(a.status, 403, "original through a metadata-hiding link");
        // the picture itself is shown
        let what = format!(
            "GET /api/assets/{}/thumbnail [(\"size\", \"preview\")]",
            lib.asset
        );
        assert_eq!(find(&walk, &what).status, 200);
        // fields the schemas require are present, empty
        let me = json_of(&walk, "GET /api/shared-links/me []");
        assert_eq!(me["userId"], "", "{me}");
        assert_eq!(me["allowDownload"], false, "{me}");
        assert!(me["assets"][0].get("checksum").is_none(), "{me}");
        assert!(me["assets"][0].get("ownerId").is_none(), "{me}");
        assert!(me["assets"][0]["localDateTime"].is_string(), "{me}");
        if password.is_none() {
            assert_eq!(me["album"]["ownerId"], "", "{me}");
            let album = json_of(&walk, &format!("GET /api/albums/{} []", lib.album));
            assert_eq!(album["ownerId"], "");
            assert_eq!(album["owner"]["id"], "");
            assert_eq!(album["owner"]["email"], "");
            assert_eq!(album["albumUsers"], json!([]));
            assert_eq!(album["assets"][0]["id"], lib.asset.as_str());
            let bucket = json_of(
                &walk,
                "GET /api/timeline/bucket [(\"timeBucket\", \"2023-06-01\")]",
            );
            assert_eq!(bucket["id"], json!([lib.asset]));
            assert_eq!(bucket["ownerId"], json!([""]));
            assert_eq!(bucket["latitude"], json!([null]));
            assert_eq!(bucket["longitude"], json!([null]));
        }
    }
}

#[test]
fn a_link_that_shows_metadata_does_show_it() {
    let lib = library();
    let (key, _) = lib.link(json!({"type": "ALBUM", "albumId": lib.album, "allowDownload": true}));
    let walk = lib.walk(&key, None, None);
    for (name, needle) in lib.needles() {
        assert!(
            walk.iter().any(|a| a.carries(&needle)),
            "a metadata-showing link should carry the {name}"
        );
    }
    let a = find(&walk, &format!("GET /api/assets/{}/original []", lib.asset));
    assert_eq!(a.status, 200);
    assert_eq!(a.body, lib.bytes);
}
