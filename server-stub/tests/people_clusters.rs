//! Issue 13, item 4: people as Immich forms them, with the server's defaults and the real
//! models. A person appears only once at least three alike faces are there
//! (`--face-min-faces`, default 3); a stranger seen once stays a face without a person, and
//! faces join a person later when more photos of them arrive. Two real people stay apart, and
//! the same person is found across photos.

mod common;

use common::*;
use serde_json::{Value, json};

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(models_dir().join("samples").join(name)).expect("sample photo")
}

fn image_of(name: &str) -> image::RgbImage {
    image::load_from_memory(&sample(name)).unwrap().to_rgb8()
}

fn jpeg(img: &image::RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img.clone())
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

fn scaled(img: &image::RgbImage, percent: u32) -> image::RgbImage {
    image::imageops::resize(
        img,
        img.width() * percent / 100,
        img.height() * percent / 100,
        image::imageops::FilterType::Triangle,
    )
}

/// `img` pasted into a grey canvas `extra` pixels larger each way, at (`x`, `y`).
fn framed(img: &image::RgbImage, extra: u32, x: i64, y: i64) -> image::RgbImage {
    let mut canvas = image::RgbImage::from_pixel(
        img.width() + extra,
        img.height() + extra,
        image::Rgb([120, 124, 128]),
    );
    image::imageops::overlay(&mut canvas, img, x, y);
    canvas
}

/// A server with the models and the default clustering settings.
fn server() -> Server {
    let dir = models_dir();
    Server::start_with_env(&[
        ("SHOEBOX_ML", "on"),
        ("SHOEBOX_MODELS", dir.to_str().unwrap()),
    ])
}

fn get_json(srv: &Server, user: &User, path: &str) -> Value {
    let r = srv.get(path).key(user).send().unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().unwrap()
}

fn people(srv: &Server, user: &User) -> Vec<Value> {
    get_json(srv, user, "/api/people?withHidden=true")["people"]
        .as_array()
        .unwrap()
        .clone()
}

/// One face: (person id or None, box in preview pixels, preview size).
type Face = (Option<String>, [i64; 4], (i64, i64));

/// The faces of an asset.
fn faces(srv: &Server, user: &User, asset: &str) -> Vec<Face> {
    get_json(srv, user, &format!("/api/faces?id={asset}"))
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let n = |k: &str| f[k].as_i64().unwrap();
            (
                f["person"]["id"].as_str().map(str::to_string),
                [
                    n("boundingBoxX1"),
                    n("boundingBoxY1"),
                    n("boundingBoxX2"),
                    n("boundingBoxY2"),
                ],
                (n("imageWidth"), n("imageHeight")),
            )
        })
        .collect()
}

/// The one face of an asset, with its person.
fn only_face(srv: &Server, user: &User, asset: &str) -> Option<String> {
    let f = faces(srv, user, asset);
    assert_eq!(f.len(), 1, "{asset}: {} faces", f.len());
    f[0].0.clone()
}

fn asset_count(srv: &Server, user: &User, person: &str) -> i64 {
    get_json(srv, user, &format!("/api/people/{person}/statistics"))["assets"]
        .as_i64()
        .unwrap()
}

fn settle(srv: &Server, admin: &User) {
    let jobs = idle(srv, admin);
    assert_eq!(jobs["faceDetection"]["jobCounts"]["failed"], 0, "{jobs}");
}

#[test]
fn the_sample_photos_make_one_person_and_a_third_photo_makes_another() {
    let srv = server();
    let admin = srv.admin();
    let astro = image_of("astronaut.png");
    let astros = [
        srv.upload_new(&admin, "astronaut.png", &sample("astronaut.png")),
        srv.upload_new(&admin, "astronaut-small.jpg", &jpeg(&scaled(&astro, 70))),
        srv.upload_new(
            &admin,
            "astronaut-framed.jpg",
            &jpeg(&framed(&astro, 400, 300, 150)),
        ),
    ];
    let yao = srv.upload_new(&admin, "yaoming.jpg", &sample("yaoming.jpg"));
    let team = srv.upload_new(&admin, "players.jpg", &sample("players.jpg"));
    srv.upload_new(&admin, "chelsea.png", &sample("chelsea.png"));
    srv.upload_new(&admin, "coffee.png", &sample("coffee.png"));
    settle(&srv, &admin);

    // The astronaut, three times: one person. Yao Ming twice (his portrait and the team photo)
    // and a dozen players once: nobody yet.
    let list = people(&srv, &admin);
    assert_eq!(list.len(), 1, "{list:?}");
    let eileen = only_face(&srv, &admin, &astros[0]).expect("the astronaut is a person");
    for a in &astros[1..] {
        assert_eq!(only_face(&srv, &admin, a).as_deref(), Some(eileen.as_str()));
    }
    assert_eq!(asset_count(&srv, &admin, &eileen), 3);
    assert_eq!(only_face(&srv, &admin, &yao), None);
    let in_team = faces(&srv, &admin, &team);
    assert!(in_team.len() >= 12, "{} faces", in_team.len());
    assert!(in_team.iter().all(|f| f.0.is_none()), "{in_team:?}");
    // faces without a person are still listed on their asset, and never on anyone
    let r = get_json(&srv, &admin, &format!("/api/assets/{yao}"));
    assert_eq!(r["people"], json!([]), "{r}");

    // A third photo of Yao Ming: now he is a person, with his two earlier faces, and the one
    // of him in the team photo is the only player who joins.
    let yao3 = srv.upload_new(
        &admin,
        "yaoming-framed.jpg",
        &jpeg(&framed(&scaled(&image_of("yaoming.jpg"), 90), 200, 60, 90)),
    );
    settle(&srv, &admin);
    let yao_person = only_face(&srv, &admin, &yao3).expect("the third photo makes a person");
    assert_ne!(yao_person, eileen, "two people stay apart");
    assert_eq!(
        only_face(&srv, &admin, &yao).as_deref(),
        Some(yao_person.as_str()),
        "his first photo joins later"
    );
    let in_team = faces(&srv, &admin, &team);
    let joined: Vec<_> = in_team.iter().filter(|f| f.0.is_some()).collect();
    assert_eq!(joined.len(), 1, "{in_team:?}");
    assert_eq!(joined[0].0.as_deref(), Some(yao_person.as_str()));
    assert_eq!(asset_count(&srv, &admin, &yao_person), 3);
    assert_eq!(asset_count(&srv, &admin, &eileen), 3);
    assert_eq!(people(&srv, &admin).len(), 2);
}

#[test]
fn one_person_in_four_photos_among_six_strangers_seen_once() {
    let srv = server();
    let admin = srv.admin();
    // Six strangers: faces cut out of the team photo (found by the server itself, in the
    // admin's library), each its own photo in the user's.
    let team = srv.upload_new(&admin, "players.jpg", &sample("players.jpg"));
    settle(&srv, &admin);
    let team_img = image_of("players.jpg");
    let mut boxes: Vec<[i64; 4]> = faces(&srv, &admin, &team)
        .into_iter()
        .map(|(_, b, (w, _))| {
            let s = team_img.width() as f64 / w as f64;
            b.map(|v| (v as f64 * s).round() as i64)
        })
        .collect();
    // the biggest faces, left to right
    boxes.sort_by_key(|b| -(b[2] - b[0]));
    boxes.truncate(6);
    assert_eq!(boxes.len(), 6);
    // a quarter of the box around each face (so no neighbour's face comes along), enlarged and
    // set on a grey background like a portrait
    let crop = |b: &[i64; 4]| {
        let (w, h) = (b[2] - b[0], b[3] - b[1]);
        let x = (b[0] - w / 4).max(0) as u32;
        let y = (b[1] - h / 4).max(0) as u32;
        let cw = ((3 * w / 2) as u32).min(team_img.width() - x);
        let ch = ((3 * h / 2) as u32).min(team_img.height() - y);
        let c = image::imageops::crop_imm(&team_img, x, y, cw, ch).to_image();
        let f = 200.0 / c.width().max(c.height()) as f32;
        let c = image::imageops::resize(
            &c,
            (c.width() as f32 * f) as u32,
            (c.height() as f32 * f) as u32,
            image::imageops::FilterType::CatmullRom,
        );
        framed(&c, 200, 100, 80)
    };

    let user = srv.create_user(&admin, "family@example.com", None);
    let astro = image_of("astronaut.png");
    let her = [
        srv.upload_new(&user, "her-1.png", &sample("astronaut.png")),
        srv.upload_new(&user, "her-2.jpg", &jpeg(&scaled(&astro, 70))),
        srv.upload_new(&user, "her-3.jpg", &jpeg(&framed(&astro, 400, 300, 150))),
        srv.upload_new(
            &user,
            "her-4.jpg",
            &jpeg(&framed(&scaled(&astro, 85), 200, 0, 200)),
        ),
    ];
    let strangers: Vec<String> = boxes
        .iter()
        .enumerate()
        .map(|(i, b)| srv.upload_new(&user, &format!("stranger-{i}.jpg"), &jpeg(&crop(b))))
        .collect();
    settle(&srv, &admin);

    let list = people(&srv, &user);
    assert_eq!(list.len(), 1, "one person, not seven: {list:?}");
    let her_id = list[0]["id"].as_str().unwrap().to_string();
    for a in &her {
        assert_eq!(only_face(&srv, &user, a).as_deref(), Some(her_id.as_str()));
    }
    assert_eq!(asset_count(&srv, &user, &her_id), 4);
    for s in &strangers {
        assert_eq!(
            only_face(&srv, &user, s),
            None,
            "a stranger seen once is nobody"
        );
    }
    // the admin's library is another owner's: none of it counted towards the user's people
    assert!(people(&srv, &admin).is_empty());

    // The first stranger turns up twice more: now they are a person, their first photo too.
    let again = crop(&boxes[0]);
    let more = [
        srv.upload_new(
            &user,
            "stranger-0-b.jpg",
            &jpeg(&framed(&again, 120, 100, 20)),
        ),
        srv.upload_new(&user, "stranger-0-c.jpg", &jpeg(&scaled(&again, 80))),
    ];
    settle(&srv, &admin);
    let list = people(&srv, &user);
    assert_eq!(list.len(), 2, "{list:?}");
    let them = only_face(&srv, &user, &more[1]).expect("a person now");
    assert_ne!(them, her_id);
    assert_eq!(
        only_face(&srv, &user, &more[0]).as_deref(),
        Some(them.as_str())
    );
    assert_eq!(
        only_face(&srv, &user, &strangers[0]).as_deref(),
        Some(them.as_str())
    );
    for s in &strangers[1..] {
        assert_eq!(only_face(&srv, &user, s), None);
    }
    assert_eq!(asset_count(&srv, &user, &her_id), 4);
}

#[test]
fn bad_min_faces_values_keep_the_server_from_starting() {
    let dir = tempfile::tempdir().unwrap();
    for value in ["0", "-3", "three", "1001", ""] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_shoebox-server"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path())
            .arg(format!("--face-min-faces={value}"))
            .env("SHOEBOX_ML", "off")
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "--face-min-faces={value} was accepted"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--face-min-faces"), "{value}: {err}");
    }
}
