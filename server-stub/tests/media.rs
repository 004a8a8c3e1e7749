//! Media pipeline against the real binary: EXIF, thumbnails (sizes, orientation, formats,
//! placeholders for corrupt files), video and HEIC via Debian tools, the job queue across a
//! restart, timeline buckets and filters, devices, trash, and delta sync. Every image is made
//! in the test (the `image` crate, exiftool, ffmpeg, heif-enc).

mod common;

use common::*;
use image::GenericImageView;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

fn tool_ok(cmd: &mut Command) {
    let out = cmd.output().expect("run tool");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A JPEG whose stored top half is red and bottom half blue.
fn two_tone_jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |_, y| {
        if y < h / 2 {
            image::Rgb([220, 20, 20])
        } else {
            image::Rgb([20, 20, 220])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, y| image::Rgba([x as u8, y as u8, 128, 255]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// Writes EXIF tags with exiftool and returns the new bytes.
fn with_exif(dir: &Path, bytes: &[u8], tags: &[&str]) -> Vec<u8> {
    let f = dir.join("exif.jpg");
    std::fs::write(&f, bytes).unwrap();
    tool_ok(
        Command::new("exiftool")
            .arg("-q")
            .arg("-overwrite_original")
            .args(tags)
            .arg(&f),
    );
    std::fs::read(&f).unwrap()
}

/// Multipart upload with chosen dates and device.
fn upload_with(
    srv: &Server,
    user: &User,
    name: &str,
    bytes: &[u8],
    created: &str,
    device: &str,
) -> String {
    let fields: Vec<(String, String)> = vec![
        ("deviceAssetId".into(), format!("{name}-{}", bytes.len())),
        ("deviceId".into(), device.into()),
        ("fileCreatedAt".into(), created.into()),
        ("fileModifiedAt".into(), created.into()),
    ];
    let (ct, body) = multipart_body(&fields, Some((name, mime_for(name), bytes)));
    let r = srv
        .post("/api/assets")
        .key(user)
        .header("content-type", ct)
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "upload {name}");
    let v: Value = r.json().unwrap();
    v["id"].as_str().unwrap().to_string()
}

fn jobs(srv: &Server, admin: &User) -> Value {
    let r = srv.get("/api/jobs").key(admin).send().unwrap();
    assert_eq!(r.status(), 200);
    r.json().unwrap()
}

/// Waits until no job is waiting, delayed or running.
fn wait_jobs(srv: &Server, admin: &User) -> Value {
    let start = Instant::now();
    loop {
        let v = jobs(srv, admin);
        let busy: i64 = ["metadataExtraction", "thumbnailGeneration"]
            .iter()
            .map(|q| {
                let c = &v[q]["jobCounts"];
                c["waiting"].as_i64().unwrap()
                    + c["active"].as_i64().unwrap()
                    + c["delayed"].as_i64().unwrap()
            })
            .sum();
        if busy == 0 {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "jobs stuck: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Thumb {
    status: u16,
    etag: String,
    cache: String,
    ctype: String,
    bytes: Vec<u8>,
}

fn thumb(srv: &Server, user: &User, id: &str, size: &str) -> Thumb {
    let r = srv
        .get(&format!("/api/assets/{id}/thumbnail?size={size}"))
        .key(user)
        .send()
        .unwrap();
    let h = |n: &str| header(&r, n).unwrap_or("").to_string();
    let (status, etag, cache, ctype) = (
        r.status().as_u16(),
        h("etag"),
        h("cache-control"),
        h("content-type"),
    );
    Thumb {
        status,
        etag,
        cache,
        ctype,
        bytes: r.bytes().unwrap().to_vec(),
    }
}

fn decode(bytes: &[u8]) -> image::DynamicImage {
    image::load_from_memory(bytes).expect("decodable derived image")
}

fn get_json(srv: &Server, user: &User, path: &str) -> Value {
    let r = srv.get(path).key(user).send().unwrap();
    assert_eq!(r.status(), 200, "GET {path}");
    r.json().unwrap()
}

// ---------------------------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------------------------

#[test]
fn exif_thumbnails_orientation_and_corrupt_files() {
    let srv = Server::start();
    let admin = srv.admin();
    let work = tempfile::tempdir().unwrap();

    // 640x480 stored, EXIF orientation 6 (display rotated 90° clockwise), full camera EXIF.
    let rotated = with_exif(
        work.path(),
        &two_tone_jpeg(640, 480),
        &[
            "-DateTimeOriginal=2023:07:14 18:30:00",
            "-OffsetTimeOriginal=+02:00",
            "-Make=Canon",
            "-Model=Canon EOS R5",
            "-LensModel=RF24-70mm F2.8 L IS USM",
            "-FNumber=2.8",
            "-ExposureTime=1/250",
            "-ISO=400",
            "-FocalLength=50",
            "-GPSLatitude=48.8566",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=2.3522",
            "-GPSLongitudeRef=W",
            "-Orientation#=6",
        ],
    );
    let a = upload_with(
        &srv,
        &admin,
        "IMG_0001.JPG",
        &rotated,
        "2020-01-01T00:00:00.000Z",
        "phone",
    );
    let fake = upload_with(
        &srv,
        &admin,
        "really-a-png.jpg",
        &png(300, 200),
        "2020-01-02T00:00:00.000Z",
        "phone",
    );
    let full = two_tone_jpeg(800, 600);
    let truncated = upload_with(
        &srv,
        &admin,
        "cut.jpg",
        &full[..full.len() / 2],
        "2020-01-03T00:00:00.000Z",
        "phone",
    );
    let v = wait_jobs(&srv, &admin);

    // EXIF in Immich's shape; dates from EXIF replace the client's file time.
    let (_, asset) = srv.asset(&admin, &a);
    let e = &asset["exifInfo"];
    assert_eq!(e["make"], "Canon");
    assert_eq!(e["model"], "Canon EOS R5");
    assert_eq!(e["lensModel"], "RF24-70mm F2.8 L IS USM");
    assert_eq!(e["fNumber"], 2.8);
    assert_eq!(e["exposureTime"], "1/250");
    assert_eq!(e["iso"], 400);
    assert_eq!(e["focalLength"], 50.0);
    assert_eq!(e["orientation"], "6");
    assert_eq!(
        (e["exifImageWidth"].as_i64(), e["exifImageHeight"].as_i64()),
        (Some(640), Some(480))
    );
    assert!(
        (e["latitude"].as_f64().unwrap() - 48.8566).abs() < 1e-4,
        "{e}"
    );
    assert!(
        (e["longitude"].as_f64().unwrap() + 2.3522).abs() < 1e-4,
        "{e}"
    );
    assert_eq!(e["dateTimeOriginal"], "2023-07-14T16:30:00.000Z");
    assert_eq!(e["timeZone"], "UTC+2");
    // The place comes from the geocoding job, which may or may not have run by now.
    assert!(e["city"].is_null() || e["city"].is_string(), "{e}");
    assert_eq!(e["fileSizeInByte"], rotated.len());
    assert_eq!(asset["fileCreatedAt"], "2023-07-14T16:30:00.000Z");
    assert_eq!(asset["localDateTime"], "2023-07-14T18:30:00.000Z");
    assert!(
        asset["thumbhash"].as_str().is_some_and(|h| !h.is_empty()),
        "{asset}"
    );

    // thumbnail: WebP, short side 250, rotated (stored top = red ends up on the right)
    let t = thumb(&srv, &admin, &a, "thumbnail");
    assert_eq!((t.status, t.ctype.as_str()), (200, "image/webp"));
    assert_eq!(t.cache, "private, max-age=86400, immutable");
    assert!(t.etag.starts_with('"') && t.etag.len() > 10);
    let img = decode(&t.bytes);
    assert_eq!(img.dimensions(), (250, 333));
    let rgb = img.to_rgb8();
    let right = rgb.get_pixel(240, 166);
    let left = rgb.get_pixel(10, 166);
    assert!(
        right[0] > 150 && right[2] < 100,
        "right side should be red: {right:?}"
    );
    assert!(
        left[2] > 150 && left[0] < 100,
        "left side should be blue: {left:?}"
    );
    // preview: JPEG, portrait after rotation, never upscaled
    let p = thumb(&srv, &admin, &a, "preview");
    assert_eq!((p.status, p.ctype.as_str()), (200, "image/jpeg"));
    assert_eq!(decode(&p.bytes).dimensions(), (480, 640));
    assert_ne!(p.etag, t.etag);
    // revalidation
    let r = srv
        .get(&format!("/api/assets/{a}/thumbnail?size=thumbnail"))
        .key(&admin)
        .header("If-None-Match", &t.etag)
        .send()
        .unwrap();
    assert_eq!(r.status(), 304);
    assert_eq!(header(&r, "etag"), Some(t.etag.as_str()));

    // a PNG named .jpg: the bytes decide
    let f = thumb(&srv, &admin, &fake, "thumbnail");
    assert_eq!(f.cache, "private, max-age=86400, immutable");
    assert_eq!(decode(&f.bytes).dimensions(), (300, 200)); // smaller than 250: not upscaled
    let (_, fa) = srv.asset(&admin, &fake);
    assert_eq!(fa["exifInfo"]["exifImageWidth"], 300);

    // truncated JPEG: asset stays, job failed with a reason, placeholder served (not cached)
    let failures = v["thumbnailGeneration"]["failures"].as_array().unwrap();
    let f = failures
        .iter()
        .find(|f| f["assetId"] == truncated.as_str())
        .unwrap_or_else(|| panic!("no failure for the truncated file: {v}"));
    assert!(f["error"].as_str().unwrap().contains("truncated"), "{f}");
    assert_eq!(v["thumbnailGeneration"]["jobCounts"]["failed"], 1);
    let ph = thumb(&srv, &admin, &truncated, "thumbnail");
    assert_eq!(ph.status, 200);
    assert_eq!(ph.cache, "private, no-cache");
    decode(&ph.bytes);
    assert_eq!(srv.asset(&admin, &truncated).0, 200);

    // permanent delete removes derived files
    let thumbs_before = files_under(&srv.data.join("thumbs")).len();
    assert_eq!(thumbs_before, 4); // 2 assets × (thumbnail + preview)
    let r = srv
        .delete("/api/assets")
        .key(&admin)
        .json(&json!({"ids": [a], "force": true}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(files_under(&srv.data.join("thumbs")).len(), 2);
    assert_eq!(thumb(&srv, &admin, &a, "thumbnail").status, 404);
}

#[test]
fn video_and_heic_through_debian_tools() {
    let srv = Server::start();
    let admin = srv.admin();
    let work = tempfile::tempdir().unwrap();
    let mp4 = work.path().join("clip.mp4");
    tool_ok(
        Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                "testsrc=duration=2:size=320x240:rate=10",
                "-pix_fmt",
                "yuv420p",
                "-metadata",
                "creation_time=2022-01-02T03:04:05Z",
            ])
            .arg(&mp4),
    );
    let src_png = work.path().join("h.png");
    std::fs::write(&src_png, png(400, 300)).unwrap();
    let heic = work.path().join("h.heic");
    tool_ok(
        Command::new("heif-enc")
            .args(["-q", "50"])
            .arg(&src_png)
            .arg("-o")
            .arg(&heic),
    );

    let v = upload_with(
        &srv,
        &admin,
        "clip.mp4",
        &std::fs::read(&mp4).unwrap(),
        "2024-01-01T00:00:00.000Z",
        "cam",
    );
    let h = upload_with(
        &srv,
        &admin,
        "h.heic",
        &std::fs::read(&heic).unwrap(),
        "2024-01-01T00:00:00.000Z",
        "cam",
    );
    let jobs = wait_jobs(&srv, &admin);
    assert_eq!(
        jobs["thumbnailGeneration"]["jobCounts"]["failed"], 0,
        "{jobs}"
    );

    let (_, a) = srv.asset(&admin, &v);
    assert_eq!(a["type"], "VIDEO");
    assert_eq!(a["duration"], "0:00:02.000000");
    assert_eq!(a["fileCreatedAt"], "2022-01-02T03:04:05.000Z");
    assert_eq!(a["exifInfo"]["exifImageWidth"], 320);
    assert_eq!(a["exifInfo"]["exifImageHeight"], 240);
    let t = thumb(&srv, &admin, &v, "thumbnail");
    assert_eq!(t.cache, "private, max-age=86400, immutable");
    assert_eq!(decode(&t.bytes).dimensions(), (320, 240));
    let p = thumb(&srv, &admin, &v, "preview");
    assert_eq!(decode(&p.bytes).dimensions(), (320, 240));

    let t = thumb(&srv, &admin, &h, "thumbnail");
    assert_eq!(t.cache, "private, max-age=86400, immutable");
    assert_eq!(decode(&t.bytes).dimensions(), (333, 250));
    let (_, a) = srv.asset(&admin, &h);
    assert!(a["thumbhash"].is_string());
}

#[test]
fn jobs_survive_a_restart_even_mid_job() {
    let mut srv = Server::start_with_env(&[("SHOEBOX_JOB_CONCURRENCY", "0")]);
    let admin = srv.admin();
    let id = upload_with(
        &srv,
        &admin,
        "a.jpg",
        &two_tone_jpeg(64, 48),
        "2024-02-03T04:05:06.000Z",
        "d",
    );
    // The upload answered without waiting; with no workers the jobs wait.
    let v = jobs(&srv, &admin);
    assert_eq!(v["metadataExtraction"]["jobCounts"]["waiting"], 1, "{v}");
    assert_eq!(v["thumbnailGeneration"]["jobCounts"]["waiting"], 1, "{v}");
    assert_eq!(v["thumbnailGeneration"]["queueStatus"]["isPaused"], true);
    srv.kill();
    // Simulate a crash in the middle of both jobs.
    let db = rusqlite::Connection::open(srv.data.join("shoebox.db")).unwrap();
    assert_eq!(
        db.execute("UPDATE jobs SET state = 'active', attempts = 1", [])
            .unwrap(),
        2
    );
    drop(db);
    srv.set_env("SHOEBOX_JOB_CONCURRENCY", "2");
    srv.start_again();
    let v = wait_jobs(&srv, &admin);
    assert_eq!(v["metadataExtraction"]["jobCounts"]["completed"], 1, "{v}");
    assert_eq!(v["thumbnailGeneration"]["jobCounts"]["completed"], 1, "{v}");
    assert_eq!(
        thumb(&srv, &admin, &id, "thumbnail").cache,
        "private, max-age=86400, immutable"
    );
    // Orphan derived files are swept at start-up.
    let stray = srv.data.join("thumbs").join(&admin.id).join("stray.webp");
    std::fs::write(&stray, b"x").unwrap();
    srv.restart();
    assert!(!stray.exists());
    assert_eq!(files_under(&srv.data.join("thumbs")).len(), 2);
}

#[test]
fn timeline_devices_trash_and_delta_sync() {
    let mut srv = Server::start();
    let admin = srv.admin();
    let img = |seed: u32| two_tone_jpeg(40 + seed, 30);
    let a = upload_with(
        &srv,
        &admin,
        "a.jpg",
        &img(1),
        "2024-03-05T10:00:00.000Z",
        "pixel",
    );
    let b = upload_with(
        &srv,
        &admin,
        "b.jpg",
        &img(2),
        "2024-03-20T10:00:00.000Z",
        "pixel",
    );
    let c = upload_with(
        &srv,
        &admin,
        "c.jpg",
        &img(3),
        "2023-12-31T10:00:00.000Z",
        "iphone",
    );
    wait_jobs(&srv, &admin);

    // full sync, then an unchanged library answers with nothing and the same cursor
    let s = get_json(&srv, &admin, "/api/sync/delta");
    let server_id = s["serverId"].as_str().unwrap().to_string();
    assert_eq!(s["upserted"].as_array().unwrap().len(), 3);
    assert_eq!(s["hasMore"], false);
    let cur = s["nextCursor"].as_str().unwrap().to_string();
    let s = get_json(&srv, &admin, &format!("/api/sync/delta?cursor={cur}"));
    assert_eq!(s["upserted"], json!([]));
    assert_eq!(s["deleted"], json!([]));
    assert_eq!(s["nextCursor"], cur.as_str());
    // paging
    let p1 = get_json(&srv, &admin, "/api/sync/delta?limit=2");
    assert_eq!(
        (p1["upserted"].as_array().unwrap().len(), &p1["hasMore"]),
        (2, &json!(true))
    );
    let p2 = get_json(
        &srv,
        &admin,
        &format!(
            "/api/sync/delta?limit=2&cursor={}",
            p1["nextCursor"].as_str().unwrap()
        ),
    );
    assert_eq!(
        (p2["upserted"].as_array().unwrap().len(), &p2["hasMore"]),
        (1, &json!(false))
    );

    // buckets, newest first; one bucket newest first in columns
    let bk = get_json(&srv, &admin, "/api/timeline/buckets");
    assert_eq!(
        bk,
        json!([{"timeBucket": "2024-03-01", "count": 2}, {"timeBucket": "2023-12-01", "count": 1}])
    );
    let m = get_json(&srv, &admin, "/api/timeline/bucket?timeBucket=2024-03-01");
    assert_eq!(m["id"], json!([b, a]));
    assert_eq!(m["isImage"], json!([true, true]));
    assert_eq!(m["ownerId"][0], admin.id.as_str());
    assert!(m["thumbhash"][0].is_string());
    assert!((m["ratio"][0].as_f64().unwrap() - 42.0 / 30.0).abs() < 1e-9);

    // devices and browsing by device
    let d = get_json(&srv, &admin, "/api/devices");
    assert_eq!(
        d["devices"],
        json!([
            {"deviceId": "pixel", "assetCount": 2, "latestAssetAt": "2024-03-20T10:00:00.000Z"},
            {"deviceId": "iphone", "assetCount": 1, "latestAssetAt": "2023-12-31T10:00:00.000Z"},
        ])
    );
    assert_eq!(d["cameras"], json!([]));
    let bk = get_json(&srv, &admin, "/api/timeline/buckets?deviceId=iphone");
    assert_eq!(bk, json!([{"timeBucket": "2023-12-01", "count": 1}]));

    // favourite + archive
    let r = srv
        .put("/api/assets")
        .key(&admin)
        .json(&json!({"ids": [a], "isFavorite": true}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = srv
        .put("/api/assets")
        .key(&admin)
        .json(&json!({"ids": [c], "visibility": "archive"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let fav = get_json(
        &srv,
        &admin,
        "/api/timeline/bucket?timeBucket=2024-03-01&isFavorite=true",
    );
    assert_eq!(fav["id"], json!([a]));
    let tl = get_json(&srv, &admin, "/api/timeline/buckets?visibility=timeline");
    assert_eq!(tl, json!([{"timeBucket": "2024-03-01", "count": 2}]));
    let ar = get_json(&srv, &admin, "/api/timeline/buckets?visibility=archive");
    assert_eq!(ar, json!([{"timeBucket": "2023-12-01", "count": 1}]));
    let s = get_json(&srv, &admin, &format!("/api/sync/delta?cursor={cur}"));
    let ups = s["upserted"].as_array().unwrap();
    assert_eq!(ups.len(), 2, "{s}");
    assert_eq!(ups[0]["id"], a.as_str());
    assert_eq!(ups[0]["isFavorite"], true);
    assert_eq!(ups[1]["visibility"], "archive");
    let cur = s["nextCursor"].as_str().unwrap().to_string();

    // album filter
    let r = srv
        .post("/api/albums")
        .key(&admin)
        .json(&json!({"albumName": "Trip", "assetIds": [b]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let album: Value = r.json().unwrap();
    let al = get_json(
        &srv,
        &admin,
        &format!(
            "/api/timeline/buckets?albumId={}",
            album["id"].as_str().unwrap()
        ),
    );
    assert_eq!(al, json!([{"timeBucket": "2024-03-01", "count": 1}]));

    // trash, restore, empty
    let r = srv
        .delete("/api/assets")
        .key(&admin)
        .json(&json!({"ids": [a, b]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let tr = get_json(&srv, &admin, "/api/timeline/buckets?isTrashed=true");
    assert_eq!(tr, json!([{"timeBucket": "2024-03-01", "count": 2}]));
    let s = get_json(&srv, &admin, &format!("/api/sync/delta?cursor={cur}"));
    assert_eq!(s["upserted"].as_array().unwrap().len(), 2);
    assert!(
        s["upserted"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["isTrashed"] == true)
    );
    let cur = s["nextCursor"].as_str().unwrap().to_string();
    let r = srv
        .post("/api/trash/restore/assets")
        .key(&admin)
        .json(&json!({"ids": [b]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap(), json!({"count": 1}));
    let r = srv.post("/api/trash/empty").key(&admin).send().unwrap();
    assert_eq!(r.json::<Value>().unwrap(), json!({"count": 1}));
    assert_eq!(srv.asset(&admin, &a).0, 404);
    let r = srv.post("/api/trash/restore").key(&admin).send().unwrap();
    assert_eq!(r.json::<Value>().unwrap(), json!({"count": 0}));
    let s = get_json(&srv, &admin, &format!("/api/sync/delta?cursor={cur}"));
    assert_eq!(s["deleted"], json!([a]));
    assert_eq!(s["upserted"].as_array().unwrap().len(), 1);
    assert_eq!(s["upserted"][0]["id"], b.as_str());
    let cur = s["nextCursor"].as_str().unwrap().to_string();

    // the server id survives a restart; a cursor from another server asks for a reset
    srv.restart();
    let s = get_json(&srv, &admin, &format!("/api/sync/delta?cursor={cur}"));
    assert_eq!(s["serverId"], server_id.as_str());
    assert_eq!(s["reset"], false);
    assert_eq!(s["upserted"], json!([]));
    let s = get_json(&srv, &admin, "/api/sync/delta?cursor=999999999");
    assert_eq!(s["reset"], true);
    assert_eq!(s["upserted"].as_array().unwrap().len(), 2);
}

#[test]
fn hostile_input_to_media_endpoints() {
    let mut srv = Server::start();
    let admin = srv.admin();
    let bob = srv.create_user(&admin, "bob@example.com", None);
    let mine = upload_with(
        &srv,
        &admin,
        "a.jpg",
        &two_tone_jpeg(32, 32),
        "2024-01-01T00:00:00.000Z",
        "d",
    );
    let r = srv
        .post("/api/albums")
        .key(&admin)
        .json(&json!({"albumName": "Mine"}))
        .send()
        .unwrap();
    let album = r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let bad_gets = [
        "/api/assets/not-a-uuid/thumbnail".to_string(),
        format!("/api/assets/{mine}/thumbnail?size=huge"),
        "/api/timeline/bucket".into(),
        "/api/timeline/bucket?timeBucket=yesterday".into(),
        "/api/timeline/bucket?timeBucket=2024-13-01".into(),
        "/api/timeline/buckets?isFavorite=maybe".into(),
        "/api/timeline/buckets?isTrashed=2".into(),
        "/api/timeline/buckets?visibility=everything".into(),
        "/api/timeline/buckets?albumId=../../etc".into(),
        "/api/timeline/buckets?order=sideways".into(),
        format!("/api/timeline/buckets?deviceId={}", "x".repeat(300)),
        "/api/sync/delta?cursor=abc".into(),
        "/api/sync/delta?cursor=-1".into(),
        "/api/sync/delta?cursor=1e9".into(),
        "/api/sync/delta?limit=0".into(),
        "/api/sync/delta?limit=1000000".into(),
        "/api/sync/delta?limit=%00".into(),
    ];
    for path in &bad_gets {
        let r = srv.get(path).key(&admin).send().unwrap();
        assert_json_error(r, 400);
    }
    // another user's asset or album is a 404, never a 403 or a leak
    for path in [
        format!("/api/assets/{mine}/thumbnail"),
        format!("/api/timeline/buckets?albumId={album}"),
        format!("/api/timeline/bucket?timeBucket=2024-01-01&albumId={album}"),
        format!("/api/timeline/buckets?userId={}", admin.id),
    ] {
        assert_json_error(srv.get(&path).key(&bob).send().unwrap(), 404);
    }
    let r = srv
        .put("/api/assets")
        .key(&bob)
        .json(&json!({"ids": [mine], "isFavorite": true}))
        .send()
        .unwrap();
    assert_json_error(r, 404);
    let r = srv
        .put(&format!("/api/assets/{mine}"))
        .key(&bob)
        .json(&json!({"isFavorite": true}))
        .send()
        .unwrap();
    assert_json_error(r, 404);
    let r = srv
        .post("/api/trash/restore/assets")
        .key(&bob)
        .json(&json!({"ids": [mine]}))
        .send()
        .unwrap();
    assert_json_error(r, 404);
    // bob sees nothing of admin's library
    assert_eq!(get_json(&srv, &bob, "/api/timeline/buckets"), json!([]));
    assert_eq!(
        get_json(&srv, &bob, "/api/sync/delta")["upserted"],
        json!([])
    );
    assert_eq!(get_json(&srv, &bob, "/api/devices")["devices"], json!([]));
    // malformed bodies and values
    for body in [
        json!({"ids": ["nope"], "isFavorite": true}),
        json!({"ids": [mine], "visibility": "public"}),
        json!({"ids": "x"}),
        json!({"ids": [mine], "isFavorite": "yes"}),
    ] {
        assert_json_error(
            srv.put("/api/assets")
                .key(&admin)
                .json(&body)
                .send()
                .unwrap(),
            400,
        );
    }
    assert_json_error(
        srv.post("/api/trash/restore/assets")
            .key(&admin)
            .json(&json!({"ids": [1]}))
            .send()
            .unwrap(),
        400,
    );
    // admin only, and authenticated only
    assert_json_error(srv.get("/api/jobs").key(&bob).send().unwrap(), 403);
    assert_json_error(srv.get("/api/jobs").send().unwrap(), 401);
    assert_json_error(srv.get("/api/sync/delta").send().unwrap(), 401);
    assert_json_error(srv.get("/api/timeline/buckets").send().unwrap(), 401);
    // the favourite did not land for bob's attempt
    let (_, a) = srv.asset(&admin, &mine);
    assert_eq!(a["isFavorite"], false);
    srv.assert_alive();
}
