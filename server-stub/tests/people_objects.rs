//! Faces, people and object labels against the real binary with the real models from
//! `make models` (SCRFD + ArcFace, NanoDet, MiniLM): upload sample photos, let the jobs run,
//! and check what a user sees — people grouped right, boxes on the face, labels, search by
//! label and by name, edits (rename, merge, move a face), re-runs that change nothing, and
//! that nobody else can see or touch any of it.

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::Path;

/// An ML server on which every face is a person at once (`SHOEBOX_FACE_MIN_FACES=1`), so these
/// tests can check grouping and edits on a handful of photos; `tests/people_clusters.rs` checks
/// the default, where a person needs three alike faces.
fn faces_server() -> Server {
    let dir = models_dir();
    Server::start_with_env(&[
        ("SHOEBOX_ML", "on"),
        ("SHOEBOX_MODELS", dir.to_str().unwrap()),
        ("SHOEBOX_FACE_MIN_FACES", "1"),
    ])
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(models_dir().join("samples").join(name)).expect("sample photo")
}

fn encode(img: &image::RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img.clone())
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

/// The astronaut three ways: as shipped, scaled to 70 %, and pasted off-centre into a larger
/// grey canvas (both re-encoded as JPEG).
fn astronauts() -> [Vec<u8>; 3] {
    let orig = image::load_from_memory(&sample("astronaut.png"))
        .unwrap()
        .to_rgb8();
    let small = image::imageops::resize(
        &orig,
        orig.width() * 7 / 10,
        orig.height() * 7 / 10,
        image::imageops::FilterType::Triangle,
    );
    let mut canvas = image::RgbImage::from_pixel(900, 700, image::Rgb([128, 128, 128]));
    image::imageops::overlay(&mut canvas, &orig, 300, 150);
    [
        sample("astronaut.png"),
        encode(&small, image::ImageFormat::Jpeg),
        encode(&canvas, image::ImageFormat::Jpeg),
    ]
}

/// A sample photo as a JPEG carrying the GPS position of central Paris (written by exiftool).
fn in_paris(name: &str) -> Vec<u8> {
    let img = image::load_from_memory(&sample(name)).unwrap().to_rgb8();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.jpg");
    std::fs::write(&f, encode(&img, image::ImageFormat::Jpeg)).unwrap();
    let o = std::process::Command::new("exiftool")
        .args([
            "-q",
            "-overwrite_original",
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

fn get_json(srv: &Server, user: &User, path: &str) -> (u16, Value) {
    let r = srv.get(path).key(user).send().unwrap();
    let status = r.status().as_u16();
    (status, json_or_null(r))
}

fn put_json(srv: &Server, user: &User, path: &str, body: Value) -> (u16, Value) {
    let r = srv.put(path).key(user).json(&body).send().unwrap();
    let status = r.status().as_u16();
    (status, json_or_null(r))
}

fn people(srv: &Server, user: &User) -> Vec<Value> {
    let (s, v) = get_json(srv, user, "/api/people?withHidden=true");
    assert_eq!(s, 200, "{v}");
    v["people"].as_array().unwrap().clone()
}

fn faces(srv: &Server, user: &User, asset: &str) -> Vec<Value> {
    let (s, v) = get_json(srv, user, &format!("/api/faces?id={asset}"));
    assert_eq!(s, 200, "{v}");
    v.as_array().unwrap().clone()
}

fn person_of(face: &Value) -> String {
    face["person"]["id"]
        .as_str()
        .expect("face has a person")
        .to_owned()
}

fn asset_count(srv: &Server, user: &User, person: &str) -> i64 {
    let (s, v) = get_json(srv, user, &format!("/api/people/{person}/statistics"));
    assert_eq!(s, 200, "{v}");
    v["assets"].as_i64().unwrap()
}

fn search_ids(srv: &Server, user: &User, path: &str, body: Value) -> Vec<String> {
    let (s, v) = post_json(srv, user, path, body);
    assert_eq!(s, 200, "{v}");
    v["assets"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

fn timeline_count(srv: &Server, user: &User, query: &str) -> (u16, i64) {
    let (s, v) = get_json(srv, user, &format!("/api/timeline/buckets?{query}"));
    if s != 200 {
        return (s, 0);
    }
    let n = v
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_i64().unwrap())
        .sum();
    (s, n)
}

fn rerun(srv: &Server, admin: &User, queue: &str) {
    let (s, v) = put_json(
        srv,
        admin,
        &format!("/api/jobs/{queue}"),
        json!({"command": "start", "force": true}),
    );
    assert_eq!(s, 200, "{v}");
}

#[test]
fn faces_become_people_labels_are_searchable_and_edits_stick() {
    let srv = faces_server();
    let admin = srv.admin();
    let [a1, a2, a3] = astronauts();
    let astro = [
        srv.upload_new(&admin, "astronaut.png", &a1),
        srv.upload_new(&admin, "astronaut-small.jpg", &a2),
        srv.upload_new(&admin, "astronaut-framed.jpg", &a3),
    ];
    let yao = srv.upload_new(&admin, "yaoming.jpg", &sample("yaoming.jpg"));
    let cat = srv.upload_new(&admin, "chelsea.jpg", &in_paris("chelsea.png"));
    let cup = srv.upload_new(&admin, "coffee.jpg", &in_paris("coffee.png"));
    let jobs = idle(&srv, &admin);
    for q in ["faceDetection", "objectTagging", "smartSearch"] {
        assert_eq!(jobs[q]["jobCounts"]["failed"], 0, "{q}: {jobs}");
        assert_eq!(jobs[q]["jobCounts"]["completed"], 6, "{q}: {jobs}");
    }

    // One face on the astronaut, boxed around her face (the preview of a 512 px image is the
    // image itself: the face is in x 170..300, y 60..230 of it).
    let f = faces(&srv, &admin, &astro[0]);
    assert_eq!(f.len(), 1, "{f:?}");
    let b = &f[0];
    assert_eq!(
        (b["imageWidth"].as_i64(), b["imageHeight"].as_i64()),
        (Some(512), Some(512))
    );
    let (x1, y1, x2, y2) = (
        b["boundingBoxX1"].as_i64().unwrap(),
        b["boundingBoxY1"].as_i64().unwrap(),
        b["boundingBoxX2"].as_i64().unwrap(),
        b["boundingBoxY2"].as_i64().unwrap(),
    );
    let (cx, cy) = ((x1 + x2) / 2, (y1 + y2) / 2);
    assert!(
        (170..300).contains(&cx) && (60..230).contains(&cy),
        "box {x1},{y1},{x2},{y2}"
    );
    assert!((40..200).contains(&(x2 - x1)), "face width {}", x2 - x1);
    assert!(faces(&srv, &admin, &cat).is_empty(), "no face on the cat");
    assert!(faces(&srv, &admin, &cup).is_empty(), "no face on the cup");

    // The three astronauts are one person; Yao Ming is another.
    let eileen = person_of(&f[0]);
    for a in &astro[1..] {
        let f = faces(&srv, &admin, a);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            person_of(&f[0]),
            eileen,
            "the same face joins the same person"
        );
    }
    let yf = faces(&srv, &admin, &yao);
    assert_eq!(yf.len(), 1, "{yf:?}");
    let yao_person = person_of(&yf[0]);
    assert_ne!(yao_person, eileen, "a different face is a different person");
    assert_eq!(people(&srv, &admin).len(), 2);
    assert_eq!(asset_count(&srv, &admin, &eileen), 3);

    // The person thumbnail is a JPEG face crop, revalidated by ETag.
    let r = srv
        .get(&format!("/api/people/{eileen}/thumbnail"))
        .key(&admin)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(header(&r, "content-type"), Some("image/jpeg"));
    let etag = header(&r, "etag").unwrap().to_owned();
    let crop = image::load_from_memory(&r.bytes().unwrap()).unwrap();
    assert_eq!((crop.width(), crop.height()), (250, 250));
    let r = srv
        .get(&format!("/api/people/{eileen}/thumbnail"))
        .key(&admin)
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 304);

    // Labels: the cat is a cat, people are persons; browse and filter by label.
    let cats = search_ids(
        &srv,
        &admin,
        "/api/search/metadata",
        json!({"labels": ["cat"]}),
    );
    assert_eq!(cats, vec![cat.clone()]);
    let mut people_label = search_ids(
        &srv,
        &admin,
        "/api/search/metadata",
        json!({"labels": ["person"]}),
    );
    people_label.sort();
    let mut want = vec![
        astro[0].clone(),
        astro[1].clone(),
        astro[2].clone(),
        yao.clone(),
    ];
    want.sort();
    assert_eq!(
        people_label, want,
        "people are persons; the cat and the cup are not"
    );
    assert_eq!(timeline_count(&srv, &admin, "label=cat"), (200, 1));
    let (s, explore) = get_json(&srv, &admin, "/api/search/explore");
    assert_eq!(s, 200);
    let objects = explore
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fieldName"] == "smartInfo.objects")
        .unwrap();
    let cat_item = objects["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["value"] == "cat")
        .expect("cat in explore");
    assert_eq!(cat_item["data"]["id"], cat.as_str());

    // Smart search ranks the cat first for "cat".
    let ranked = search_ids(&srv, &admin, "/api/search/smart", json!({"query": "cat"}));
    assert_eq!(ranked.first(), Some(&cat), "{ranked:?}");
    // …and "cat in Paris" too, with the other photo taken in Paris next.
    let ranked = search_ids(
        &srv,
        &admin,
        "/api/search/smart",
        json!({"query": "cat in Paris"}),
    );
    assert_eq!(&ranked[..2], &[cat.clone(), cup.clone()], "{ranked:?}");
    let (s, asset) = srv.asset(&admin, &cat);
    assert_eq!(s.as_u16(), 200);
    assert_eq!(asset["exifInfo"]["city"], "Paris", "{asset}");
    assert_eq!(asset["smartInfo"]["objects"][0], "cat", "{asset}");

    // Name a person: found by name, their photos by person filter and by smart search.
    let (s, p) = put_json(
        &srv,
        &admin,
        &format!("/api/people/{eileen}"),
        json!({"name": "Eileen Collins", "birthDate": "1956-11-19"}),
    );
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["name"], "Eileen Collins");
    let (_, found) = get_json(&srv, &admin, "/api/search/person?name=eileen");
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(
        timeline_count(&srv, &admin, &format!("personId={eileen}")),
        (200, 3)
    );
    let mut with_her = search_ids(
        &srv,
        &admin,
        "/api/search/metadata",
        json!({"personIds": [eileen]}),
    );
    with_her.sort();
    let mut want = astro.to_vec();
    want.sort();
    assert_eq!(with_her, want);
    idle(&srv, &admin); // the captions now name her
    let ranked = search_ids(
        &srv,
        &admin,
        "/api/search/smart",
        json!({"query": "Eileen Collins"}),
    );
    let top: Vec<&String> = ranked.iter().take(3).collect();
    for a in &astro {
        assert!(top.contains(&a), "{a} in the top 3 of {ranked:?}");
    }
    let (s, asset) = srv.asset(&admin, &astro[0]);
    assert_eq!(s.as_u16(), 200);
    assert_eq!(asset["people"][0]["name"], "Eileen Collins", "{asset}");
    assert_eq!(asset["people"][0]["faces"].as_array().unwrap().len(), 1);

    // Re-running both jobs for everything changes nothing: same faces, people, names, labels.
    let before: Vec<Vec<Value>> = astro.iter().map(|a| faces(&srv, &admin, a)).collect();
    rerun(&srv, &admin, "faceDetection");
    rerun(&srv, &admin, "objectTagging");
    let jobs = idle(&srv, &admin);
    assert_eq!(jobs["faceDetection"]["jobCounts"]["failed"], 0, "{jobs}");
    let after: Vec<Vec<Value>> = astro.iter().map(|a| faces(&srv, &admin, a)).collect();
    let ids = |v: &Vec<Vec<Value>>| -> Vec<(String, String)> {
        v.iter()
            .flatten()
            .map(|f| (f["id"].as_str().unwrap().to_owned(), person_of(f)))
            .collect()
    };
    assert_eq!(ids(&before), ids(&after));
    assert_eq!(people(&srv, &admin).len(), 2);
    assert_eq!(
        search_ids(
            &srv,
            &admin,
            "/api/search/metadata",
            json!({"labels": ["cat"]})
        ),
        vec![cat.clone()]
    );

    // Merge Yao into Eileen, then move his face to a new person of its own.
    let (s, v) = post_json(
        &srv,
        &admin,
        &format!("/api/people/{eileen}/merge"),
        json!({"ids": [yao_person, eileen]}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v[0]["success"], true, "{v}");
    assert_eq!(
        v[1]["success"], false,
        "merging into oneself is refused: {v}"
    );
    assert_eq!(asset_count(&srv, &admin, &eileen), 4);
    assert_eq!(
        get_json(&srv, &admin, &format!("/api/people/{yao_person}")).0,
        404
    );
    let (s, yao_new) = post_json(&srv, &admin, "/api/people", json!({"name": "Yao Ming"}));
    assert_eq!(s, 201, "{yao_new}");
    let yao_new = yao_new["id"].as_str().unwrap().to_owned();
    let (s, v) = put_json(
        &srv,
        &admin,
        &format!("/api/people/{yao_new}/reassign"),
        json!({"data": [{"assetId": yao, "personId": eileen}]}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(asset_count(&srv, &admin, &eileen), 3);
    assert_eq!(asset_count(&srv, &admin, &yao_new), 1);
    // And one face back and forth with PUT /api/faces/{id}.
    let face_id = faces(&srv, &admin, &yao)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, v) = put_json(
        &srv,
        &admin,
        &format!("/api/faces/{face_id}"),
        json!({"id": eileen}),
    );
    assert_eq!((s, v["id"].as_str()), (200, Some(eileen.as_str())));
    assert_eq!(asset_count(&srv, &admin, &yao_new), 0);
    let (s, _) = put_json(
        &srv,
        &admin,
        &format!("/api/faces/{face_id}"),
        json!({"id": yao_new}),
    );
    assert_eq!(s, 200);
    assert_eq!(asset_count(&srv, &admin, &yao_new), 1);

    // Hide: gone from the default list, kept with withHidden.
    let (s, _) = put_json(
        &srv,
        &admin,
        &format!("/api/people/{yao_new}"),
        json!({"isHidden": true}),
    );
    assert_eq!(s, 200);
    let (_, v) = get_json(&srv, &admin, "/api/people");
    assert_eq!(
        (v["total"].as_i64(), v["hidden"].as_i64()),
        (Some(2), Some(1)),
        "{v}"
    );
    assert_eq!(v["people"].as_array().unwrap().len(), 1);

    // Deleting Yao's photo for good takes his face with it; his named person stays, empty.
    let r = srv
        .delete("/api/assets")
        .key(&admin)
        .json(&json!({"ids": [yao], "force": true}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(asset_count(&srv, &admin, &yao_new), 0);
    let r = srv
        .get(&format!("/api/people/{yao_new}/thumbnail"))
        .key(&admin)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(asset_count(&srv, &admin, &eileen), 3);

    // Nobody else sees or touches any of it: 404 for every id, nothing through filters.
    let other = srv.create_user(&admin, "other@example.com", None);
    for path in [
        format!("/api/people/{eileen}"),
        format!("/api/people/{eileen}/statistics"),
        format!("/api/people/{eileen}/thumbnail"),
        format!("/api/faces?id={}", astro[0]),
    ] {
        let r = srv.get(&path).key(&other).send().unwrap();
        assert_eq!(r.status().as_u16(), 404, "{path}");
    }
    assert!(people(&srv, &other).is_empty());
    let (s, _) = put_json(
        &srv,
        &other,
        &format!("/api/people/{eileen}"),
        json!({"name": "mine now"}),
    );
    assert_eq!(s, 404);
    let (s, _) = put_json(
        &srv,
        &other,
        &format!("/api/faces/{face_id}"),
        json!({"id": eileen}),
    );
    assert_eq!(s, 404);
    let (s, _) = post_json(
        &srv,
        &other,
        &format!("/api/people/{eileen}/merge"),
        json!({"ids": [yao_new]}),
    );
    assert_eq!(s, 404);
    assert_eq!(
        timeline_count(&srv, &other, &format!("personId={eileen}")),
        (200, 0)
    );
    assert!(
        search_ids(
            &srv,
            &other,
            "/api/search/metadata",
            json!({"labels": ["cat"]})
        )
        .is_empty()
    );
    let (s, asset) = srv.asset(&admin, &astro[0]);
    assert_eq!(s.as_u16(), 200);
    assert_eq!(asset["people"][0]["name"], "Eileen Collins");
    srv.assert_layout_sane();
}

#[test]
fn a_known_face_in_a_group_photo_joins_its_person_and_strangers_stay_apart() {
    let srv = faces_server();
    let admin = srv.admin();
    let yao = srv.upload_new(&admin, "yaoming.jpg", &sample("yaoming.jpg"));
    idle(&srv, &admin);
    let group = srv.upload_new(&admin, "players.jpg", &sample("players.jpg"));
    idle(&srv, &admin);
    let yao_person = person_of(&faces(&srv, &admin, &yao)[0]);
    let in_group = faces(&srv, &admin, &group);
    assert!(
        in_group.len() >= 12,
        "a team photo: {} faces",
        in_group.len()
    );
    let mut persons: Vec<String> = in_group.iter().map(person_of).collect();
    // Yao Ming is in the team photo: exactly one of its faces joins his person…
    assert_eq!(
        persons.iter().filter(|p| **p == yao_person).count(),
        1,
        "{persons:?}"
    );
    // …and every other player is somebody else, each their own person.
    persons.sort();
    persons.dedup();
    assert_eq!(persons.len(), in_group.len(), "no two players merged");
    assert_eq!(people(&srv, &admin).len(), in_group.len());
    assert_eq!(asset_count(&srv, &admin, &yao_person), 2);
}

#[test]
fn hostile_people_requests_get_clear_errors() {
    let mut srv = faces_server();
    let admin = srv.admin();
    let (s, p) = post_json(&srv, &admin, "/api/people", json!({"name": "Ann"}));
    assert_eq!(s, 201, "{p}");
    let id = p["id"].as_str().unwrap().to_owned();
    let long = "x".repeat(201);
    let cases: Vec<(&str, String, Value)> = vec![
        ("PUT", format!("/api/people/{id}"), json!({"name": long})),
        (
            "PUT",
            format!("/api/people/{id}"),
            json!({"name": "a\u{0}b"}),
        ),
        (
            "PUT",
            format!("/api/people/{id}"),
            json!({"birthDate": "2999-01-01"}),
        ),
        (
            "PUT",
            format!("/api/people/{id}"),
            json!({"birthDate": "yesterday"}),
        ),
        (
            "PUT",
            format!("/api/people/{id}"),
            json!({"isHidden": "yes"}),
        ),
        ("PUT", format!("/api/people/{id}"), json!([1, 2])),
        ("PUT", "/api/people/not-a-uuid".into(), json!({"name": "x"})),
        (
            "POST",
            format!("/api/people/{id}/merge"),
            json!({"ids": "all"}),
        ),
        (
            "POST",
            format!("/api/people/{id}/merge"),
            json!({"ids": []}),
        ),
        (
            "POST",
            format!("/api/people/{id}/merge"),
            json!({"ids": ["../../etc"]}),
        ),
        (
            "PUT",
            format!("/api/people/{id}/reassign"),
            json!({"data": [{"assetId": 1}]}),
        ),
        ("PUT", format!("/api/people/{id}/reassign"), json!({})),
        ("PUT", "/api/faces/not-a-uuid".into(), json!({"id": id})),
        (
            "PUT",
            format!("/api/people/{id}"),
            json!({"featureFaceAssetId": "00000000-0000-4000-8000-000000000000"}),
        ),
    ];
    for (method, path, body) in cases {
        let r = srv
            .req(method.parse().unwrap(), &path)
            .key(&admin)
            .json(&body)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let v = json_or_null(r);
        assert_eq!(status, 400, "{method} {path} {body}: {v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
    for path in [
        "/api/faces",
        "/api/faces?id=nope",
        "/api/people?page=0",
        "/api/people?size=100000",
        "/api/timeline/buckets?personId=nope",
    ] {
        let r = srv.get(path).key(&admin).send().unwrap();
        assert_eq!(r.status().as_u16(), 400, "{path}");
    }
    let (s, v) = post_json(
        &srv,
        &admin,
        "/api/search/metadata",
        json!({"personIds": ["nope"]}),
    );
    assert_eq!(s, 400, "{v}");
    let (s, v) = post_json(&srv, &admin, "/api/search/metadata", json!({"labels": [1]}));
    assert_eq!(s, 400, "{v}");
    // A person without faces has no thumbnail; an unknown person is 404, not 500.
    let r = srv
        .get(&format!("/api/people/{id}/thumbnail"))
        .key(&admin)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let r = srv
        .get("/api/people/00000000-0000-4000-8000-000000000000")
        .key(&admin)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    // Nothing above changed Ann.
    let (_, ann) = get_json(&srv, &admin, &format!("/api/people/{id}"));
    assert_eq!(
        (ann["name"].as_str(), ann["birthDate"].is_null()),
        (Some("Ann"), true)
    );
    srv.assert_alive();
}

#[test]
fn a_corrupt_photo_fails_its_jobs_cleanly_and_the_rest_are_analysed() {
    let mut srv = faces_server();
    let admin = srv.admin();
    let cat = srv.upload_new(&admin, "chelsea.png", &sample("chelsea.png"));
    let mut broken = sample("yaoming.jpg");
    broken.truncate(broken.len() / 3);
    let bad = srv.upload_new(&admin, "broken.jpg", &broken);
    let mut garbage = b"\xff\xd8\xff\xe0 not really a jpeg".to_vec();
    garbage.extend(std::iter::repeat_n(0x5a, 4096));
    let junk = srv.upload_new(&admin, "junk.jpg", &garbage);
    idle(&srv, &admin);
    // Everything can be asked for again: the ML jobs of the broken ones fail with a reason.
    rerun(&srv, &admin, "faceDetection");
    rerun(&srv, &admin, "objectTagging");
    let jobs = idle(&srv, &admin);
    for q in ["faceDetection", "objectTagging"] {
        let failures = jobs[q]["failures"].as_array().unwrap();
        let failed: Vec<&str> = failures
            .iter()
            .map(|f| f["assetId"].as_str().unwrap())
            .collect();
        assert!(failed.contains(&junk.as_str()), "{q}: {jobs}");
        assert!(!failed.contains(&cat.as_str()), "{q}: {jobs}");
        for f in failures {
            assert!(
                f["error"].as_str().is_some_and(|e| e.contains("preview")),
                "{q}: a readable reason: {f}"
            );
        }
    }
    // The truncated JPEG may still decode partially; either way nothing crashed, every asset
    // is still there, and the cat was labelled.
    for id in [&cat, &bad, &junk] {
        assert_eq!(srv.asset(&admin, id).0.as_u16(), 200);
    }
    assert_eq!(
        search_ids(
            &srv,
            &admin,
            "/api/search/metadata",
            json!({"labels": ["cat"]})
        ),
        vec![cat.clone()]
    );
    srv.assert_alive();
}

#[test]
fn with_ai_off_no_model_runs_and_the_people_api_still_answers() {
    let srv = ml_server("off");
    let admin = srv.admin();
    srv.upload_new(&admin, "astronaut.png", &sample("astronaut.png"));
    let jobs = idle(&srv, &admin);
    for q in ["faceDetection", "objectTagging"] {
        assert_eq!(jobs[q]["jobCounts"]["completed"], 0, "{q}: {jobs}");
        let (s, v) = put_json(
            &srv,
            &admin,
            &format!("/api/jobs/{q}"),
            json!({"command": "start"}),
        );
        assert_eq!(s, 400, "{v}");
    }
    assert!(people(&srv, &admin).is_empty());
    assert!(Path::new(&models_dir()).is_dir());
}
