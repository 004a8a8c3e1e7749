//! The offline timeline against the real server: sync, browse with the server down, offline
//! favourite/trash applied on reconnect, server-side changes arriving by delta sync, the
//! thumbnail cache (budget under churn, a corrupt file re-fetched), a reset server detected, and
//! the CLI's `timeline` / `thumb`.

mod common;

use common::*;
use serde_json::{Value, json};
use shoebox_core::{AlbumSelection, BackupState, CoreError, ThumbSize, TimelineFilter};
use std::io::Cursor;
use std::sync::Arc;

/// A real PNG (so the server makes real thumbnails and a thumbhash), different per seed.
fn png(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([
            (x as u8).wrapping_mul(seed),
            (y as u8).wrapping_add(seed),
            seed,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn wait_for_thumbhashes(srv: &Server, user: &User, ids: &[String]) {
    for _ in 0..100 {
        let mut all = true;
        for id in ids {
            let v = srv.get_json(user, &format!("/api/assets/{id}")).await;
            all &= v["thumbhash"].is_string();
        }
        if all {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("thumbnails were not generated");
}

/// Uploads bytes from "another device" with the Immich multipart API.
async fn upload_elsewhere(srv: &Server, user: &User, name: &str, bytes: Vec<u8>) -> String {
    let form = reqwest::multipart::Form::new()
        .text("deviceAssetId", name.to_string())
        .text("deviceId", "other-phone")
        .text("fileCreatedAt", "2021-06-15T12:00:00.000Z")
        .text("fileModifiedAt", "2021-06-15T12:00:00.000Z")
        .part(
            "assetData",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    let r = srv
        .http
        .post(srv.url("/api/assets"))
        .header("x-api-key", &user.key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn items_of(t: &shoebox_core::Timeline) -> Vec<shoebox_core::TimelineItem> {
    let f = TimelineFilter::default();
    t.buckets(&f)
        .unwrap()
        .iter()
        .flat_map(|b| t.bucket(&b.month, &f).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_then_browse_offline_and_apply_offline_actions_on_reconnect() {
    let mut srv = Server::start().await;
    let user = srv.admin().await;
    let proxy = Proxy::start(srv.addr).await;
    let mut lib = Library::new();
    for i in 0..4u8 {
        lib.write(&format!("Trip/IMG_{i}.png"), &png(i + 1));
    }
    lib.write("Private/secret.png", &png(99));
    let state = state_dir();
    let library = Arc::new(shoebox_core::FsLibrary::new(&lib.root).unwrap());
    let engine = engine(&proxy.url(), &user.key, state.path(), library);
    let private_id = engine
        .albums()
        .unwrap()
        .into_iter()
        .find(|a| a.album.name == "Private")
        .unwrap()
        .album
        .id;
    engine
        .set_selection(AlbumSelection {
            selected: None,
            excluded: vec![private_id],
        })
        .unwrap();
    let run = engine.run().await.unwrap();
    assert_eq!(run.uploaded, 4);
    let elsewhere = upload_elsewhere(&srv, &user, "from-phone.png", png(42)).await;

    let timeline = engine.timeline();
    let first = timeline.sync(None).await.unwrap();
    assert_eq!(first.upserted, 5, "{first:?}");
    assert!(first.albums_refreshed);
    let items = items_of(timeline);
    assert_eq!(
        items.len(),
        6,
        "4 backed up + 1 from elsewhere + 1 local only: {items:#?}"
    );
    let count = |s: BackupState| items.iter().filter(|i| i.state == s).count();
    assert_eq!(count(BackupState::BackedUp), 4);
    assert_eq!(count(BackupState::RemoteOnly), 1);
    assert_eq!(count(BackupState::LocalOnly), 1);
    let trip = timeline.albums().unwrap();
    assert_eq!(trip.len(), 1);
    assert_eq!((trip[0].name.as_str(), trip[0].asset_count), ("Trip", 4));
    let in_album = TimelineFilter {
        album_id: Some(trip[0].id.clone()),
        ..TimelineFilter::default()
    };
    let n: u64 = timeline
        .buckets(&in_album)
        .unwrap()
        .iter()
        .map(|b| b.count)
        .sum();
    assert_eq!(n, 4);
    let by_device = TimelineFilter {
        device_id: Some("other-phone".into()),
        ..TimelineFilter::default()
    };
    assert_eq!(timeline.buckets(&by_device).unwrap()[0].month, "2021-06");

    // Nothing changed: one request and a tiny answer.
    let remote: Vec<String> = items.iter().filter_map(|i| i.remote_id.clone()).collect();
    wait_for_thumbhashes(&srv, &user, &remote).await;
    timeline.sync(None).await.unwrap(); // picks up the thumbhashes
    proxy.reset_counters();
    let unchanged = timeline.sync(None).await.unwrap();
    assert_eq!(unchanged.requests, 1, "{unchanged:?}");
    assert_eq!(unchanged.upserted + unchanged.deleted, 0);
    assert!(
        proxy.down() < 1024,
        "unchanged sync answered {} bytes",
        proxy.down()
    );
    let items = items_of(timeline);
    assert!(
        items
            .iter()
            .filter(|i| i.remote_id.is_some())
            .all(|i| i.thumbhash.is_some())
    );

    // Cache every thumbnail, then lose the server.
    for id in &remote {
        timeline
            .thumbs()
            .get(id, ThumbSize::Thumbnail)
            .await
            .unwrap();
    }
    let server_thumb = srv
        .http
        .get(srv.url(&format!(
            "/api/assets/{}/thumbnail?size=thumbnail",
            remote[0]
        )))
        .header("x-api-key", &user.key)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    srv.kill();
    assert!(matches!(
        timeline.sync(None).await,
        Err(CoreError::ServerUnreachable { .. })
    ));
    assert_eq!(
        items_of(timeline),
        items,
        "the timeline is served from the cache"
    );
    assert_eq!(timeline.albums().unwrap(), trip);
    let cached = timeline
        .thumbs()
        .get(&remote[0], ThumbSize::Thumbnail)
        .await
        .unwrap();
    assert_eq!(std::fs::read(cached).unwrap(), server_thumb.to_vec());
    assert!(
        timeline
            .thumbs()
            .get(&remote[0], ThumbSize::Preview)
            .await
            .is_err(),
        "an uncached preview needs the server"
    );

    // Offline actions show at once and wait for the server.
    timeline.set_favorite(&elsewhere, true).unwrap();
    let victim = remote.iter().find(|r| **r != elsewhere).unwrap().clone();
    timeline.trash(&victim).unwrap();
    assert_eq!(timeline.pending_actions().unwrap(), 2);
    let favs = TimelineFilter {
        favorites_only: true,
        ..TimelineFilter::default()
    };
    assert_eq!(
        timeline
            .buckets(&favs)
            .unwrap()
            .iter()
            .map(|b| b.count)
            .sum::<u64>(),
        1
    );
    assert_eq!(items_of(timeline).len(), 5);

    srv.start_again().await;
    proxy.set_upstream(srv.addr);
    let back = timeline.sync(None).await.unwrap();
    assert_eq!(back.actions_applied, 2);
    assert_eq!(timeline.pending_actions().unwrap(), 0);
    let fav = srv
        .get_json(&user, &format!("/api/assets/{elsewhere}"))
        .await;
    assert_eq!(fav["isFavorite"], true);
    let trashed = srv.get_json(&user, &format!("/api/assets/{victim}")).await;
    assert_eq!(trashed["isTrashed"], true);
    assert_eq!(items_of(timeline).len(), 5, "the trashed photo stays out");
}

#[tokio::test(flavor = "multi_thread")]
async fn server_side_changes_arrive_by_delta_sync() {
    let srv = Server::start().await;
    let user = srv.admin().await;
    let a = upload_elsewhere(&srv, &user, "a.png", png(1)).await;
    let b = upload_elsewhere(&srv, &user, "b.png", png(2)).await;
    let lib = Library::new();
    let state = state_dir();
    let engine = engine(
        &srv.base(),
        &user.key,
        state.path(),
        Arc::new(shoebox_core::FsLibrary::new(&lib.root).unwrap()),
    );
    let t = engine.timeline();
    t.sync(None).await.unwrap();
    assert_eq!(items_of(t).len(), 2);

    let r = srv
        .http
        .put(srv.url("/api/assets"))
        .header("x-api-key", &user.key)
        .json(&json!({"ids": [a], "isFavorite": true}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let r = srv
        .http
        .delete(srv.url("/api/assets"))
        .header("x-api-key", &user.key)
        .json(&json!({"ids": [b], "force": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let report = t.sync(None).await.unwrap();
    assert_eq!(report.deleted, 1, "{report:?}");
    let items = items_of(t);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].remote_id.as_deref(), Some(a.as_str()));
    assert!(items[0].is_favorite);
}

#[tokio::test(flavor = "multi_thread")]
async fn thumbnail_cache_keeps_its_budget_and_refetches_a_corrupt_file() {
    let srv = Server::start().await;
    let user = srv.admin().await;
    let mut ids = Vec::new();
    for i in 0..12u8 {
        ids.push(upload_elsewhere(&srv, &user, &format!("p{i}.png"), png(i + 10)).await);
    }
    wait_for_thumbhashes(&srv, &user, &ids).await;
    let lib = Library::new();
    let state = state_dir();
    let engine = engine(
        &srv.base(),
        &user.key,
        state.path(),
        Arc::new(shoebox_core::FsLibrary::new(&lib.root).unwrap()),
    );
    let t = engine.timeline();
    t.sync(None).await.unwrap();
    let one = std::fs::metadata(t.thumbs().get(&ids[0], ThumbSize::Thumbnail).await.unwrap())
        .unwrap()
        .len();
    let budget = one * 4 + one / 2;
    engine.set_thumbnail_budget(budget).unwrap();
    for id in &ids {
        t.thumbs().get(id, ThumbSize::Thumbnail).await.unwrap();
        assert!(t.thumbs().used().unwrap() <= budget, "over budget");
    }
    let last = ids.last().unwrap();
    assert!(
        t.thumbs()
            .cached(last, ThumbSize::Thumbnail)
            .unwrap()
            .is_some()
    );
    assert!(
        t.thumbs()
            .cached(&ids[0], ThumbSize::Thumbnail)
            .unwrap()
            .is_none(),
        "the least recently used went first"
    );
    let files = walk(&state.path().join("thumbs"));
    assert!(files.len() <= 5, "evicted files are deleted: {files:?}");

    // A damaged file is noticed and fetched again.
    let path = t
        .thumbs()
        .cached(last, ThumbSize::Thumbnail)
        .unwrap()
        .unwrap();
    let good = std::fs::read(&path).unwrap();
    std::fs::write(&path, b"garbage").unwrap();
    assert!(
        t.thumbs()
            .cached(last, ThumbSize::Thumbnail)
            .unwrap()
            .is_none()
    );
    let again = t.thumbs().get(last, ThumbSize::Thumbnail).await.unwrap();
    assert_eq!(std::fs::read(again).unwrap(), good);

    // Prefetch fills the cache; a cancelled one stops.
    engine.set_thumbnail_budget(100 << 20).unwrap();
    let fetched = t
        .thumbs()
        .prefetch(ids.clone(), ThumbSize::Preview)
        .finished()
        .await;
    assert_eq!(fetched, ids.len() as u64);
    for id in &ids {
        assert!(t.thumbs().cached(id, ThumbSize::Preview).unwrap().is_some());
    }
    assert!(
        t.thumbs()
            .get("../../etc/passwd", ThumbSize::Preview)
            .await
            .is_err()
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_server_is_detected_and_the_library_backed_up_again() {
    let mut srv = Server::start().await;
    let user = srv.admin().await;
    let proxy = Proxy::start(srv.addr).await;
    let mut lib = Library::new();
    lib.write("Camera/a.png", &png(5));
    lib.write("Camera/b.png", &png(6));
    let state = state_dir();
    let engine = engine(
        &proxy.url(),
        &user.key,
        state.path(),
        Arc::new(shoebox_core::FsLibrary::new(&lib.root).unwrap()),
    );
    engine.run().await.unwrap();
    engine.timeline().sync(None).await.unwrap();
    assert_eq!(items_of(engine.timeline()).len(), 2);

    // Same address, brand-new server (data wiped), same account and key text.
    srv.kill();
    std::fs::remove_dir_all(&srv.data).unwrap();
    std::fs::create_dir_all(&srv.data).unwrap();
    srv.start_again().await;
    proxy.set_upstream(srv.addr);
    let fresh = srv.admin().await;
    let other = upload_elsewhere(&srv, &fresh, "new.png", png(7)).await;
    // The engine's key belongs to the old server; use the new account's key from now on.
    let engine = common::engine(
        &proxy.url(),
        &fresh.key,
        state.path(),
        Arc::new(shoebox_core::FsLibrary::new(&lib.root).unwrap()),
    );
    let report = engine.timeline().sync(None).await.unwrap();
    assert!(report.reset, "{report:?}");
    let items = items_of(engine.timeline());
    assert_eq!(items.iter().filter(|i| i.remote_id.is_some()).count(), 1);
    assert_eq!(
        items
            .iter()
            .find(|i| i.remote_id.is_some())
            .unwrap()
            .remote_id
            .as_deref(),
        Some(other.as_str())
    );
    assert_eq!(
        engine.status().unwrap().counts.queued,
        2,
        "backed-up photos are queued again"
    );
    let run = engine.run().await.unwrap();
    assert_eq!(run.uploaded, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_timeline_and_thumb_work_offline() {
    let mut srv = Server::start().await;
    let user = srv.admin().await;
    let mut lib = Library::new();
    lib.write("Holiday/x.png", &png(8));
    let state = state_dir();
    let cli = Cli::new(state.path(), &srv.base(), &user.key);
    let out = cli.backup(&lib.root, &[]).await;
    assert!(out.status.success(), "{}", out.describe());
    let out = cli.run(&["timeline", "--json"]).await;
    assert!(out.status.success(), "{}", out.describe());
    let buckets: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let month = buckets[0]["month"].as_str().unwrap().to_string();
    assert_eq!(buckets[0]["count"], 1);
    let out = cli.run(&["timeline", "--json", "--month", &month]).await;
    let items: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(items[0]["state"], "backed up");
    let id = items[0]["remoteId"].as_str().unwrap().to_string();
    wait_for_thumbhashes(&srv, &user, std::slice::from_ref(&id)).await;
    let thumb = state.path().join("t.webp");
    let out = cli
        .run(&["thumb", &id, "-o", thumb.to_str().unwrap()])
        .await;
    assert!(out.status.success(), "{}", out.describe());
    assert_eq!(&std::fs::read(&thumb).unwrap()[8..12], b"WEBP");

    srv.kill();
    let out = cli.run(&["timeline", "--offline", "--month", &month]).await;
    assert!(out.status.success(), "{}", out.describe());
    assert!(
        out.stdout.contains("x.png") && out.stdout.contains("backed up"),
        "{}",
        out.stdout
    );
    let out = cli.run(&["timeline"]).await;
    assert!(
        out.status.success(),
        "the timeline works with the server down: {}",
        out.describe()
    );
    let again = state.path().join("t2.webp");
    let out = cli
        .run(&["thumb", &id, "-o", again.to_str().unwrap()])
        .await;
    assert!(
        out.status.success(),
        "cached thumbnail offline: {}",
        out.describe()
    );
}
