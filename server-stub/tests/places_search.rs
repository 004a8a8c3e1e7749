//! Places, map markers, metadata search and smart search against the real binary, with the
//! geodata and text model that `make models` puts in the cache (the tests fail with a pointer
//! to `make models` when they are missing). Photos carry GPS and camera EXIF written with
//! exiftool, as in the media tests.

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// A small JPEG (colour from `seed`) with the given exiftool tags.
fn photo(dir: &Path, seed: u8, tags: &[&str]) -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([seed.wrapping_mul(37), x as u8 * 3, y as u8 * 5])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    let f = dir.join(format!("p{seed}.jpg"));
    std::fs::write(&f, out.into_inner()).unwrap();
    if !tags.is_empty() {
        let o = Command::new("exiftool")
            .arg("-q")
            .arg("-overwrite_original")
            .args(tags)
            .arg(&f)
            .output()
            .expect("run exiftool");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    std::fs::read(&f).unwrap()
}

fn gps(lat: f64, lon: f64) -> Vec<String> {
    vec![
        format!("-GPSLatitude={}", lat.abs()),
        format!("-GPSLatitudeRef={}", if lat < 0.0 { "S" } else { "N" }),
        format!("-GPSLongitude={}", lon.abs()),
        format!("-GPSLongitudeRef={}", if lon < 0.0 { "W" } else { "E" }),
    ]
}

fn ids(v: &Value) -> Vec<String> {
    v["assets"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

struct Library {
    paris: String,
    tokyo: String,
    sydney: String,
    sea: String,
    plain: String,
}

fn upload_library(srv: &Server, user: &User) -> Library {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let with = |seed: u8, lat_lon: Option<(f64, f64)>, extra: &[&str]| {
        let mut tags: Vec<String> = lat_lon.map(|(a, b)| gps(a, b)).unwrap_or_default();
        tags.extend(extra.iter().map(|s| s.to_string()));
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        photo(d, seed, &tags)
    };
    let paris = with(
        1,
        Some((48.8566, 2.3522)),
        &[
            "-Make=Canon",
            "-Model=Canon EOS 5D",
            "-DateTimeOriginal=2021:06:05 10:00:00",
        ],
    );
    let tokyo = with(
        2,
        Some((35.6895, 139.6917)),
        &[
            "-Make=FUJIFILM",
            "-Model=X-T3",
            "-DateTimeOriginal=2019:01:10 09:00:00",
        ],
    );
    let sydney = with(
        3,
        Some((-33.8688, 151.2093)),
        &["-Make=Apple", "-Model=iPhone 12"],
    );
    let sea = with(4, Some((0.0, -30.0)), &[]);
    let plain = with(5, None, &["-Make=Canon", "-Model=Canon EOS 5D"]);
    Library {
        paris: srv.upload_new(user, "paris.jpg", &paris),
        tokyo: srv.upload_new(user, "tokyo.jpg", &tokyo),
        sydney: srv.upload_new(user, "sydney.jpg", &sydney),
        sea: srv.upload_new(user, "sea.jpg", &sea),
        plain: srv.upload_new(user, "plain_100%.jpg", &plain),
    }
}

#[test]
fn gps_of_known_cities_geocodes_to_those_cities_and_map_markers() {
    let srv = ml_server("off");
    let admin = srv.admin();
    let lib = upload_library(&srv, &admin);
    let jobs = idle(&srv, &admin);
    assert_eq!(jobs["reverseGeocoding"]["jobCounts"]["failed"], 0, "{jobs}");
    assert_eq!(
        jobs["reverseGeocoding"]["jobCounts"]["completed"], 4,
        "{jobs}"
    );
    let place = |id: &str| {
        let (s, a) = srv.asset(&admin, id);
        assert_eq!(s, 200);
        let e = &a["exifInfo"];
        (e["city"].clone(), e["state"].clone(), e["country"].clone())
    };
    assert_eq!(
        place(&lib.paris),
        (json!("Paris"), json!("Île-de-France"), json!("France"))
    );
    let (city, _, country) = place(&lib.tokyo);
    assert_eq!(country, json!("Japan"));
    assert!(city.as_str().is_some(), "Tokyo has a city: {city}");
    let (_, state, country) = place(&lib.sydney);
    assert_eq!(country, json!("Australia"));
    assert_eq!(state, json!("New South Wales"));
    assert_eq!(place(&lib.sea), (Value::Null, Value::Null, Value::Null));
    assert_eq!(place(&lib.plain).0, Value::Null);

    // map markers: every asset with GPS, with its place names
    let r = srv.get("/api/map/markers").key(&admin).send().unwrap();
    assert_eq!(r.status(), 200);
    let markers: Value = r.json().unwrap();
    let markers = markers.as_array().unwrap();
    assert_eq!(markers.len(), 4);
    let m = markers.iter().find(|m| m["id"] == lib.paris).unwrap();
    assert!((m["lat"].as_f64().unwrap() - 48.8566).abs() < 1e-3);
    assert!((m["lon"].as_f64().unwrap() - 2.3522).abs() < 1e-3);
    assert_eq!(m["city"], "Paris");
    assert_eq!(m["country"], "France");
    assert!(!markers.iter().any(|m| m["id"] == lib.plain));

    // browse by place: one asset per city, metadata search by city, suggestions
    let r = srv.get("/api/search/cities").key(&admin).send().unwrap();
    let cities: Value = r.json().unwrap();
    assert_eq!(cities.as_array().unwrap().len(), 3, "{cities}");
    let (s, v) = post_json(
        &srv,
        &admin,
        "/api/search/metadata",
        json!({"city": "Paris"}),
    );
    assert_eq!(s, 200);
    assert_eq!(ids(&v), vec![lib.paris.clone()]);
    let r = srv
        .get("/api/search/suggestions?type=country")
        .key(&admin)
        .send()
        .unwrap();
    assert_eq!(
        r.json::<Value>().unwrap(),
        json!(["Australia", "France", "Japan"])
    );
    let r = srv
        .get("/api/search/places?name=Paris")
        .key(&admin)
        .send()
        .unwrap();
    let places: Value = r.json().unwrap();
    assert!(
        places
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "Paris" && p["country"] == "France"),
        "{places}"
    );

    // re-running geocoding for everything is idempotent
    let r = srv
        .put("/api/jobs/reverseGeocoding")
        .key(&admin)
        .json(&json!({"command": "start", "force": true}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap()["queued"], 5);
    idle(&srv, &admin);
    assert_eq!(
        place(&lib.paris),
        (json!("Paris"), json!("Île-de-France"), json!("France"))
    );

    // another user sees none of it
    let other = srv.create_user(&admin, "other@example.com", None);
    let r = srv.get("/api/map/markers").key(&other).send().unwrap();
    assert_eq!(r.json::<Value>().unwrap(), json!([]));
    let (_, v) = post_json(
        &srv,
        &other,
        "/api/search/metadata",
        json!({"city": "Paris"}),
    );
    assert!(ids(&v).is_empty());
    let (_, v) = post_json(&srv, &other, "/api/search/metadata", json!({}));
    assert!(ids(&v).is_empty());
}

#[test]
fn metadata_search_filters_and_pages() {
    let srv = ml_server("off");
    let admin = srv.admin();
    let lib = upload_library(&srv, &admin);
    idle(&srv, &admin);
    let search = |body: Value| {
        let (s, v) = post_json(&srv, &admin, "/api/search/metadata", body);
        assert_eq!(s, 200, "{v}");
        let mut got = ids(&v);
        got.sort();
        got
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        search(json!({"make": "Canon"})),
        sorted(vec![lib.paris.clone(), lib.plain.clone()])
    );
    assert_eq!(search(json!({"model": "X-T3"})), vec![lib.tokyo.clone()]);
    assert_eq!(search(json!({"country": "Japan"})), vec![lib.tokyo.clone()]);
    // null = unknown
    assert_eq!(
        search(json!({"city": null})),
        sorted(vec![lib.sea.clone(), lib.plain.clone()])
    );
    assert_eq!(
        search(json!({"originalFileName": "TOKYO"})),
        vec![lib.tokyo.clone()]
    );
    // LIKE wildcards are literal
    assert_eq!(
        search(json!({"originalFileName": "100%"})),
        vec![lib.plain.clone()]
    );
    assert!(search(json!({"originalFileName": "_"})).contains(&lib.plain));
    assert_eq!(
        search(json!({"originalFileName": "%"})),
        vec![lib.plain.clone()]
    );
    assert_eq!(
        search(json!({"takenBefore": "2020-01-01T00:00:00Z"})),
        vec![lib.tokyo.clone()]
    );
    assert_eq!(
        search(
            json!({"takenAfter": "2021-01-01T00:00:00.000Z", "takenBefore": "2021-12-31T00:00:00Z"})
        ),
        vec![lib.paris.clone()]
    );
    assert_eq!(search(json!({"type": "VIDEO"})), Vec::<String>::new());
    // favourites
    let r = srv
        .put(&format!("/api/assets/{}", lib.sydney))
        .key(&admin)
        .json(&json!({"isFavorite": true}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        search(json!({"isFavorite": true})),
        vec![lib.sydney.clone()]
    );
    assert_eq!(search(json!({"isFavorite": false})).len(), 4);
    // pages: newest first, nextPage until the end
    let (_, p1) = post_json(&srv, &admin, "/api/search/metadata", json!({"size": 2}));
    assert_eq!(p1["assets"]["count"], 2);
    assert_eq!(p1["assets"]["nextPage"], "2");
    let (_, p3) = post_json(
        &srv,
        &admin,
        "/api/search/metadata",
        json!({"size": 2, "page": 3}),
    );
    assert_eq!(p3["assets"]["count"], 1);
    assert_eq!(p3["assets"]["nextPage"], Value::Null);
    // the response carries the place in exifInfo
    let (_, v) = post_json(
        &srv,
        &admin,
        "/api/search/metadata",
        json!({"city": "Paris"}),
    );
    assert_eq!(v["assets"]["items"][0]["exifInfo"]["country"], "France");
    // trashed assets only with withDeleted
    let r = srv
        .delete("/api/assets")
        .key(&admin)
        .json(&json!({"ids": [lib.paris]}))
        .send()
        .unwrap();
    assert!(r.status().is_success());
    assert!(search(json!({"city": "Paris"})).is_empty());
    assert_eq!(
        search(json!({"city": "Paris", "withDeleted": true})),
        vec![lib.paris.clone()]
    );
}

#[test]
fn search_endpoints_reject_hostile_input() {
    let srv = ml_server("off");
    let admin = srv.admin();
    for body in [
        json!([]),
        json!("x"),
        json!({"page": 0}),
        json!({"page": "1"}),
        json!({"size": 0}),
        json!({"size": 1001}),
        json!({"size": 1e30}),
        json!({"city": 5}),
        json!({"city": ["Paris"]}),
        json!({"isFavorite": "yes"}),
        json!({"type": "PHOTO"}),
        json!({"visibility": "everything"}),
        json!({"order": "sideways"}),
        json!({"takenAfter": "yesterday"}),
        json!({"id": "not-a-uuid"}),
        json!({"originalFileName": "x".repeat(5000)}),
        json!({"city": "'; DROP TABLE assets; --"}),
    ] {
        let (s, v) = post_json(&srv, &admin, "/api/search/metadata", body.clone());
        if body["city"].is_string() {
            assert_eq!(s, 200, "{body}: {v}");
            assert!(ids(&v).is_empty());
        } else {
            assert_eq!(s, 400, "{body}: {v}");
        }
    }
    let r = srv
        .post("/api/search/metadata")
        .key(&admin)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    // unauthenticated
    for path in ["/api/search/metadata", "/api/search/smart"] {
        let r = srv.post(path).json(&json!({})).send().unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    for path in [
        "/api/map/markers",
        "/api/search/cities",
        "/api/search/suggestions?type=city",
        "/api/search/places?name=Paris",
    ] {
        let r = srv.get(path).send().unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    for path in [
        "/api/map/markers?fileCreatedAfter=soon",
        "/api/map/markers?isFavorite=maybe",
        "/api/search/suggestions?type=everything",
        "/api/search/suggestions",
        "/api/search/places",
    ] {
        let r = srv.get(path).key(&admin).send().unwrap();
        assert_eq!(r.status(), 400, "{path}");
    }
    let r = srv
        .get(&format!("/api/search/places?name={}", "a".repeat(5000)))
        .key(&admin)
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    // smart search with ML off: a clear 400, not a crash
    let (s, v) = post_json(&srv, &admin, "/api/search/smart", json!({"query": "cat"}));
    assert_eq!(s, 400, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not enabled"),
        "{v}"
    );
    // jobs endpoint: admin only, known queues, known commands
    let user = srv.create_user(&admin, "u@example.com", None);
    let r = srv
        .put("/api/jobs/reverseGeocoding")
        .key(&user)
        .json(&json!({"command": "start"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    for (path, body, status) in [
        ("/api/jobs/nope", json!({"command": "start"}), 404),
        (
            "/api/jobs/reverseGeocoding",
            json!({"command": "explode"}),
            400,
        ),
        (
            "/api/jobs/reverseGeocoding",
            json!({"command": "start", "force": 1}),
            400,
        ),
        ("/api/jobs/smartSearch", json!({"command": "start"}), 400),
        ("/api/jobs/reverseGeocoding", json!([]), 400),
    ] {
        let r = srv.put(path).key(&admin).json(&body).send().unwrap();
        assert_eq!(r.status(), status, "{path} {body}");
    }
    srv.get("/api/server/ping").send().unwrap();
}

#[test]
fn smart_search_ranks_the_described_photo_first() {
    let srv = ml_server("on");
    let admin = srv.admin();
    let lib = upload_library(&srv, &admin);
    let jobs = idle(&srv, &admin);
    assert_eq!(jobs["smartSearch"]["jobCounts"]["failed"], 0, "{jobs}");
    assert_eq!(jobs["smartSearch"]["jobCounts"]["completed"], 5, "{jobs}");
    let top = |q: &str, extra: Value| {
        let mut body = json!({"query": q});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let (s, v) = post_json(&srv, &admin, "/api/search/smart", body);
        assert_eq!(s, 200, "{v}");
        ids(&v)
    };
    assert_eq!(top("photo in Paris", json!({}))[0], lib.paris, "Paris");
    assert_eq!(top("pictures from Japan", json!({}))[0], lib.tokyo, "Japan");
    assert_eq!(top("Sydney, Australia", json!({}))[0], lib.sydney, "Sydney");
    assert_eq!(
        top("shot with an iPhone", json!({}))[0],
        lib.sydney,
        "iPhone"
    );
    assert_eq!(top("winter 2019", json!({}))[0], lib.tokyo, "winter");
    // every indexed asset is ranked; filters narrow the candidates
    assert_eq!(top("anything", json!({})).len(), 5);
    assert_eq!(
        top("photo in Paris", json!({"make": "Apple"})),
        vec![lib.sydney.clone()]
    );
    assert_eq!(top("photo in Paris", json!({"size": 2})).len(), 2);
    for body in [
        json!({}),
        json!({"query": ""}),
        json!({"query": 5}),
        json!({"query": "x".repeat(5000)}),
    ] {
        let (s, _) = post_json(&srv, &admin, "/api/search/smart", body.clone());
        assert_eq!(s, 400, "{body}");
    }
    // a non-ASCII, emoji and control-character query is just text
    let (s, _) = post_json(
        &srv,
        &admin,
        "/api/search/smart",
        json!({"query": "Ünïcødé 🐈 \u{0}\t"}),
    );
    assert_eq!(s, 200);
    // scoped to the caller
    let other = srv.create_user(&admin, "o@example.com", None);
    let (s, v) = post_json(
        &srv,
        &other,
        "/api/search/smart",
        json!({"query": "photo in Paris"}),
    );
    assert_eq!(s, 200);
    assert!(ids(&v).is_empty());
    // re-indexing everything is idempotent
    let r = srv
        .put("/api/jobs/smartSearch")
        .key(&admin)
        .json(&json!({"command": "start", "force": true}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    idle(&srv, &admin);
    assert_eq!(top("photo in Paris", json!({}))[0], lib.paris);
}

#[test]
fn missing_models_fail_jobs_with_a_reason_and_the_server_keeps_serving() {
    let empty = tempfile::tempdir().unwrap();
    let srv = Server::start_with_env(&[
        ("SHOEBOX_ML", "on"),
        ("SHOEBOX_MODELS", empty.path().to_str().unwrap()),
        ("SHOEBOX_JOB_RETRY_BASE_MS", "10"),
    ]);
    let admin = srv.admin();
    let tmp = tempfile::tempdir().unwrap();
    let bytes = photo(
        tmp.path(),
        9,
        &gps(48.8566, 2.3522)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let id = srv.upload_new(&admin, "p.jpg", &bytes);
    // a corrupt image: metadata and thumbnails fail cleanly, nothing else breaks
    let bad = srv.upload_new(&admin, "bad.jpg", b"\xff\xd8\xff\xe0 not really a jpeg");
    let jobs = idle(&srv, &admin);
    let geo = &jobs["reverseGeocoding"];
    assert_eq!(geo["jobCounts"]["failed"], 1, "{jobs}");
    let reason = geo["failures"][0]["error"].as_str().unwrap();
    assert!(reason.contains("make models"), "{reason}");
    assert_eq!(geo["failures"][0]["assetId"], id);
    // the asset without GPS went straight to smart search, which failed for the model
    let smart = &jobs["smartSearch"];
    assert_eq!(smart["jobCounts"]["failed"], 1, "{jobs}");
    assert!(
        smart["failures"][0]["error"]
            .as_str()
            .unwrap()
            .contains("make models")
    );
    assert_eq!(smart["failures"][0]["assetId"], bad);
    let (s, v) = post_json(&srv, &admin, "/api/search/smart", json!({"query": "cat"}));
    assert_eq!(s, 503, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("make models"),
        "{v}"
    );
    let r = srv
        .get("/api/search/places?name=Paris")
        .key(&admin)
        .send()
        .unwrap();
    assert_eq!(r.status(), 503);
    // everything else still works
    let (s, a) = srv.asset(&admin, &id);
    assert_eq!(s, 200);
    assert_eq!(a["exifInfo"]["city"], Value::Null);
    let r = srv.get("/api/map/markers").key(&admin).send().unwrap();
    assert_eq!(r.json::<Value>().unwrap().as_array().unwrap().len(), 1);
}
