//! Issue 13, item 3: `GET /api/server/features` says what really works on this server (Immich
//! clients hide the screens of features reported off), and the timeline bucket carries the
//! places reverse geocoding filled in.

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

fn features(srv: &Server) -> Value {
    let r = srv.get("/api/server/features").send().unwrap();
    assert_eq!(r.status(), 200);
    r.json().unwrap()
}

fn flags(v: &Value) -> (bool, bool, bool) {
    (
        v["smartSearch"].as_bool().unwrap(),
        v["facialRecognition"].as_bool().unwrap(),
        v["reverseGeocoding"].as_bool().unwrap(),
    )
}

/// A model directory holding links to only `parts` of the real one.
fn partial_models(parts: &[&str]) -> tempfile::TempDir {
    let real = models_dir();
    let d = tempfile::tempdir().unwrap();
    for p in parts {
        let to = d.path().join(p);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(real.join(p), &to).unwrap();
    }
    d
}

#[test]
fn features_follow_the_switch_and_the_files_on_disk() {
    // ML on, every model present
    let srv = ml_server("on");
    let v = features(&srv);
    assert_eq!(flags(&v), (true, true, true), "{v}");
    for always in ["map", "search", "sidecar", "trash", "passwordLogin"] {
        assert_eq!(v[always], true, "{always}: {v}");
    }
    for never in ["oauth", "importFaces", "duplicateDetection", "ocr", "email"] {
        assert_eq!(v[never], false, "{never}: {v}");
    }
    drop(srv);

    // ML off: no model features; geocoding is data and stays
    let v = features(&ml_server("off"));
    assert_eq!(flags(&v), (false, false, true), "{v}");

    // ML on without any model files
    let empty = tempfile::tempdir().unwrap();
    let srv = Server::start_with_env(&[
        ("SHOEBOX_ML", "on"),
        ("SHOEBOX_MODELS", empty.path().to_str().unwrap()),
    ]);
    assert_eq!(flags(&features(&srv)), (false, false, false));
    drop(srv);

    // ML on, text model and gazetteer but only the face embedder (no detector)
    let some = partial_models(&[
        "minilm/config.json",
        "minilm/model.safetensors",
        "minilm/tokenizer.json",
        "geo/cities.json",
        "geo/admin1.json",
        "geo/countries.json",
        "faces/w600k_mbf.onnx",
    ]);
    let srv = Server::start_with_env(&[
        ("SHOEBOX_ML", "on"),
        ("SHOEBOX_MODELS", some.path().to_str().unwrap()),
    ]);
    assert_eq!(flags(&features(&srv)), (true, false, true));
    drop(srv);

    // faces with the detector that is chosen, not just any detector
    let faces = partial_models(&["faces/scrfd_500m_bnkps.onnx", "faces/w600k_mbf.onnx"]);
    for (detector, on) in [("scrfd", true), ("blazeface", false)] {
        let srv = Server::start_with_env(&[
            ("SHOEBOX_ML", "on"),
            ("SHOEBOX_MODELS", faces.path().to_str().unwrap()),
            ("SHOEBOX_FACE_DETECTOR", detector),
        ]);
        assert_eq!(flags(&features(&srv)), (false, on, false), "{detector}");
    }
}

/// A small JPEG with exiftool tags.
fn photo(dir: &Path, seed: u8, tags: &[String]) -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([seed.wrapping_mul(37), x as u8 * 3, y as u8 * 5])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    let f = dir.join(format!("p{seed}.jpg"));
    std::fs::write(&f, out.into_inner()).unwrap();
    let o = Command::new("exiftool")
        .arg("-q")
        .arg("-overwrite_original")
        .args(tags)
        .arg(&f)
        .output()
        .expect("run exiftool");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read(&f).unwrap()
}

#[test]
fn timeline_buckets_carry_the_geocoded_city_and_country() {
    let srv = ml_server("off");
    let admin = srv.admin();
    let tmp = tempfile::tempdir().unwrap();
    let date = "-DateTimeOriginal=2021:06:05 10:00:00".to_string();
    let paris = photo(
        tmp.path(),
        1,
        &[
            "-GPSLatitude=48.8566".into(),
            "-GPSLatitudeRef=N".into(),
            "-GPSLongitude=2.3522".into(),
            "-GPSLongitudeRef=E".into(),
            date.clone(),
        ],
    );
    let nowhere = photo(tmp.path(), 2, std::slice::from_ref(&date));
    let paris = srv.upload_new(&admin, "paris.jpg", &paris);
    let nowhere = srv.upload_new(&admin, "nowhere.jpg", &nowhere);
    let jobs = idle(&srv, &admin);
    assert_eq!(jobs["reverseGeocoding"]["jobCounts"]["failed"], 0, "{jobs}");

    let bucket = |extra: &str, who: Option<&User>| {
        let mut rb = srv.get(&format!(
            "/api/timeline/bucket?timeBucket=2021-06-01{extra}"
        ));
        if let Some(u) = who {
            rb = rb.key(u);
        }
        let r = rb.send().unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().unwrap();
        let ids: Vec<String> = v["id"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect();
        let at = |id: &str, field: &str| {
            let i = ids.iter().position(|x| x == id).expect("asset in bucket");
            v[field][i].clone()
        };
        (
            (at(&paris, "city"), at(&paris, "country")),
            (at(&nowhere, "city"), at(&nowhere, "country")),
        )
    };
    assert_eq!(
        bucket("", Some(&admin)),
        (
            (json!("Paris"), json!("France")),
            (Value::Null, Value::Null)
        )
    );

    // a shared link that hides metadata shows no places either
    for (show, expect) in [(true, json!("Paris")), (false, Value::Null)] {
        let (st, link) = post_json(
            &srv,
            &admin,
            "/api/shared-links",
            json!({"type": "INDIVIDUAL", "assetIds": [paris, nowhere], "showMetadata": show}),
        );
        assert_eq!(st, 201, "{link}");
        let key = link["key"].as_str().unwrap();
        let ((city, _), _) = bucket(&format!("&key={key}"), None);
        assert_eq!(city, expect, "showMetadata {show}");
    }
}
