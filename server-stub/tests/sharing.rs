//! Sharing: the access-control matrix (owner, partner, album viewer, link holder, stranger over
//! every endpoint that touches assets), shared links (password, expiry, revocation, download and
//! metadata switches, guest uploads), shared albums, partners, and the share page's HTML.

mod common;

use common::*;
use reqwest::blocking::RequestBuilder;
use serde_json::{Value, json};

/// Who calls: an account (API key) or a guest with a link key.
#[derive(Clone)]
enum Who {
    User(User),
    Link(String),
}

impl Who {
    fn send(&self, rb: RequestBuilder) -> u16 {
        let rb = match self {
            Who::User(u) => rb.key(u),
            Who::Link(k) => rb.query(&[("key", k)]),
        };
        rb.send().unwrap().status().as_u16()
    }
}

fn json_ok(r: reqwest::blocking::Response, status: u16) -> Value {
    let st = r.status().as_u16();
    let t = r.text().unwrap_or_default();
    assert_eq!(st, status, "{t}");
    serde_json::from_str(&t).unwrap_or(Value::Null)
}

fn make_album(srv: &Server, owner: &User, name: &str, ids: &[&str]) -> String {
    let r = srv
        .post("/api/albums")
        .key(owner)
        .json(&json!({"albumName": name, "assetIds": ids}))
        .send()
        .unwrap();
    json_ok(r, 201)["id"].as_str().unwrap().to_string()
}

fn make_link(srv: &Server, owner: &User, body: Value) -> Value {
    let r = srv
        .post("/api/shared-links")
        .key(owner)
        .json(&body)
        .send()
        .unwrap();
    json_ok(r, 201)
}

fn share_album(srv: &Server, owner: &User, album: &str, user: &User, role: &str) {
    let r = srv
        .put(&format!("/api/albums/{album}/users"))
        .key(owner)
        .json(&json!({"albumUsers": [{"userId": user.id, "role": role}]}))
        .send()
        .unwrap();
    json_ok(r, 200);
}

fn partner(srv: &Server, sharer: &User, with: &User) {
    let r = srv
        .post("/api/partners")
        .key(sharer)
        .json(&json!({"sharedWithId": with.id}))
        .send()
        .unwrap();
    json_ok(r, 201);
}

fn new_user(srv: &Server, admin: &User, email: &str) -> User {
    srv.create_user(admin, email, None)
}

#[test]
fn access_matrix() {
    let srv = Server::start();
    let owner = srv.admin();
    let partner_u = new_user(&srv, &owner, "partner@example.com");
    let viewer = new_user(&srv, &owner, "viewer@example.com");
    let stranger = new_user(&srv, &owner, "stranger@example.com");

    let plain = srv.upload_new(&owner, "plain.jpg", &jpeg_bytes(2000, 1));
    let in_album = srv.upload_new(&owner, "album.jpg", &jpeg_bytes(2000, 2));
    let archived = srv.upload_new(&owner, "archived.jpg", &jpeg_bytes(2000, 3));
    let r = srv
        .put(&format!("/api/assets/{archived}"))
        .key(&owner)
        .json(&json!({"visibility": "archive"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let album = make_album(&srv, &owner, "Trip", &[&in_album, &archived]);
    share_album(&srv, &owner, &album, &viewer, "viewer");
    partner(&srv, &owner, &partner_u);
    let link = make_link(&srv, &owner, json!({"type": "ALBUM", "albumId": album}));
    let key = link["key"].as_str().unwrap().to_string();
    assert!(key.len() >= 43, "32+ random bytes: {key}");

    let o = Who::User(owner.clone());
    let p = Who::User(partner_u.clone());
    let v = Who::User(viewer.clone());
    let s = Who::User(stranger.clone());
    let l = Who::Link(key.clone());
    let callers = [
        ("owner", &o),
        ("partner", &p),
        ("viewer", &v),
        ("link", &l),
        ("stranger", &s),
    ];

    // Expected status per caller, in the order of `callers`.
    let reads: Vec<(&str, &str, [u16; 5])> = vec![
        ("plain", &plain, [200, 200, 404, 404, 404]),
        ("in_album", &in_album, [200, 200, 200, 200, 404]),
        ("archived_in_album", &archived, [200, 404, 200, 200, 404]),
    ];
    for (label, id, expect) in &reads {
        for suffix in ["", "/thumbnail", "/thumbnail?size=preview", "/original"] {
            for ((who, caller), want) in callers.iter().zip(expect) {
                let path = format!("/api/assets/{id}{suffix}");
                let got = caller.send(srv.get(&path));
                assert_eq!(got, *want, "{who} GET {label}{suffix}");
            }
        }
        // Changing an asset stays the owner's: everyone else gets 404, a guest 401.
        for ((who, caller), want) in callers.iter().zip([200, 404, 404, 401, 404]) {
            let got = caller.send(
                srv.put(&format!("/api/assets/{id}"))
                    .json(&json!({"isFavorite": false})),
            );
            assert_eq!(got, want, "{who} PUT {label}");
        }
    }
    // Album reads and the album's timeline.
    for (path, expect) in [
        (format!("/api/albums/{album}"), [200, 404, 200, 200, 404]),
        (
            format!("/api/timeline/buckets?albumId={album}"),
            [200, 404, 200, 200, 404],
        ),
        (
            format!("/api/timeline/bucket?albumId={album}&timeBucket=2024-05-01"),
            [200, 404, 200, 200, 404],
        ),
    ] {
        for ((who, caller), want) in callers.iter().zip(expect) {
            assert_eq!(caller.send(srv.get(&path)), want, "{who} GET {path}");
        }
    }
    // Adding to the album: owner yes, viewer 403 (knows it), others 404, guests 401.
    let mine = srv.upload_new(&viewer, "v.jpg", &jpeg_bytes(2000, 9));
    for ((who, caller), want) in callers.iter().zip([200, 404, 403, 401, 404]) {
        let got = caller.send(
            srv.put(&format!("/api/albums/{album}/assets"))
                .json(&json!({"ids": [mine]})),
        );
        assert_eq!(got, want, "{who} add to album");
    }

    // The link and viewers see the album's two assets; the guest's album JSON has them.
    let r = srv
        .get(&format!("/api/albums/{album}"))
        .query(&[("key", &key)])
        .send()
        .unwrap();
    let a = json_ok(r, 200);
    assert_eq!(a["assets"].as_array().unwrap().len(), 2, "{a}");

    // Timelines: the partner's own timeline is theirs only until they ask for partners.
    let count = |u: &User, q: &str| -> i64 {
        let r = srv
            .get(&format!("/api/timeline/buckets{q}"))
            .key(u)
            .send()
            .unwrap();
        json_ok(r, 200)
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_i64().unwrap())
            .sum()
    };
    assert_eq!(count(&partner_u, ""), 0);
    assert_eq!(
        count(&partner_u, "?withPartners=true"),
        0,
        "inTimeline is off"
    );
    let r = srv
        .put(&format!("/api/partners/{}", owner.id))
        .key(&partner_u)
        .json(&json!({"inTimeline": true}))
        .send()
        .unwrap();
    assert_eq!(json_ok(r, 200)["inTimeline"], true);
    assert_eq!(
        count(&partner_u, "?withPartners=true"),
        2,
        "plain + in_album; never archived"
    );
    assert_eq!(count(&partner_u, &format!("?userId={}", owner.id)), 2);
    let r = srv
        .get(&format!("/api/timeline/buckets?userId={}", owner.id))
        .key(&stranger)
        .send()
        .unwrap();
    assert_json_error(r, 404);
    // The owner does not see the partner's library (sharing is one-way).
    let theirs = srv.upload_new(&partner_u, "p.jpg", &jpeg_bytes(2000, 10));
    assert_eq!(o.send(srv.get(&format!("/api/assets/{theirs}"))), 404);
    // Delta sync stays the caller's own library.
    let r = srv.get("/api/sync/delta").key(&partner_u).send().unwrap();
    let d = json_ok(r, 200);
    let ids: Vec<&str> = d["upserted"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(ids, vec![theirs.as_str()]);

    // Partner listings both ways; stopping the sharing ends access.
    let r = srv
        .get("/api/partners?direction=shared-with")
        .key(&partner_u)
        .send()
        .unwrap();
    assert_eq!(json_ok(r, 200)[0]["id"], owner.id.as_str());
    let r = srv
        .get("/api/partners?direction=shared-by")
        .key(&owner)
        .send()
        .unwrap();
    assert_eq!(json_ok(r, 200)[0]["id"], partner_u.id.as_str());
    let r = srv
        .delete(&format!("/api/partners/{}", partner_u.id))
        .key(&owner)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(p.send(srv.get(&format!("/api/assets/{plain}"))), 404);
    assert_eq!(count(&partner_u, "?withPartners=true"), 1, "own asset only");

    // Removing the viewer from the album ends their access.
    let r = srv
        .delete(&format!("/api/albums/{album}/user/{}", viewer.id))
        .key(&owner)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(v.send(srv.get(&format!("/api/assets/{in_album}"))), 404);
}

#[test]
fn shared_links_password_expiry_switches_and_revocation() {
    let srv = Server::start();
    let owner = srv.admin();
    let a = srv.upload_new(&owner, "a.jpg", &jpeg_bytes(3000, 1));
    let b = srv.upload_new(&owner, "b.jpg", &jpeg_bytes(3000, 2));

    // Individual link, password, no download, no metadata.
    let link = make_link(
        &srv,
        &owner,
        json!({"type": "INDIVIDUAL", "assetIds": [a], "password": "open sesame",
               "allowDownload": false, "showMetadata": false, "description": "for grandma"}),
    );
    assert_eq!(link["type"], "INDIVIDUAL");
    assert_eq!(
        link["password"],
        Value::Null,
        "the password is never echoed"
    );
    assert_eq!(link["hasPassword"], true);
    let key = link["key"].as_str().unwrap().to_string();
    let id = link["id"].as_str().unwrap().to_string();

    // Without the password: 401 everywhere.
    let r = srv
        .get(&format!("/api/assets/{a}?key={key}"))
        .send()
        .unwrap();
    assert_json_error(r, 401);
    // Wrong password: 401; right one: token + cookie.
    let login = |pw: &str| {
        srv.post(&format!("/api/shared-links/login?key={key}"))
            .json(&json!({"password": pw}))
            .send()
            .unwrap()
    };
    assert_json_error(login("nope"), 401);
    let r = login("open sesame");
    assert!(
        header(&r, "set-cookie")
            .unwrap()
            .contains("immich_shared_link_token=")
    );
    let me = json_ok(r, 201);
    let token = me["token"].as_str().unwrap().to_string();
    assert_eq!(me["assets"].as_array().unwrap().len(), 1);
    assert!(
        me["assets"][0].get("exifInfo").is_none()
            && me["assets"][0].get("originalFileName").is_none(),
        "metadata stripped: {me}"
    );
    let q = format!("key={key}&token={token}");
    let r = srv.get(&format!("/api/assets/{a}?{q}")).send().unwrap();
    let v = json_ok(r, 200);
    assert!(v.get("exifInfo").is_none(), "{v}");
    assert_eq!(v["hasMetadata"], false);
    let r = srv
        .get(&format!("/api/assets/{a}/thumbnail?{q}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = srv
        .get(&format!("/api/assets/{a}/original?{q}"))
        .send()
        .unwrap();
    assert_json_error(r, 403);
    // Only the shared asset.
    let r = srv.get(&format!("/api/assets/{b}?{q}")).send().unwrap();
    assert_json_error(r, 404);
    let r = srv
        .get(&format!("/api/assets/{b}/thumbnail?{q}"))
        .send()
        .unwrap();
    assert_json_error(r, 404);
    // A forged token does not unlock it.
    let r = srv
        .get(&format!(
            "/api/assets/{a}?key={key}&token=AAAA{}",
            &token[4..]
        ))
        .send()
        .unwrap();
    assert_json_error(r, 401);

    // The owner flips the switches: download and metadata on; changing the password revokes tokens.
    let r = srv
        .req(reqwest::Method::PATCH, &format!("/api/shared-links/{id}"))
        .key(&owner)
        .json(&json!({"allowDownload": true, "showMetadata": true, "password": "new secret"}))
        .send()
        .unwrap();
    json_ok(r, 200);
    let r = srv.get(&format!("/api/assets/{a}?{q}")).send().unwrap();
    assert_json_error(r, 401);
    let token = json_ok(login("new secret"), 201)["token"]
        .as_str()
        .unwrap()
        .to_string();
    let q = format!("key={key}&token={token}");
    let r = srv
        .get(&format!("/api/assets/{a}/original?{q}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().unwrap().to_vec(), jpeg_bytes(3000, 1));
    let v = json_ok(
        srv.get(&format!("/api/assets/{a}?{q}")).send().unwrap(),
        200,
    );
    assert_eq!(v["originalFileName"], "a.jpg");

    // Add b to the link, then remove it.
    let r = srv
        .put(&format!("/api/shared-links/{id}/assets"))
        .key(&owner)
        .json(&json!({"assetIds": [b]}))
        .send()
        .unwrap();
    assert_eq!(json_ok(r, 200)[0]["success"], true);
    assert_eq!(
        srv.get(&format!("/api/assets/{b}?{q}"))
            .send()
            .unwrap()
            .status(),
        200
    );

    // Expired: 410. Back to the future: works again.
    let r = srv
        .req(reqwest::Method::PATCH, &format!("/api/shared-links/{id}"))
        .key(&owner)
        .json(&json!({"expiresAt": "2001-01-01T00:00:00.000Z"}))
        .send()
        .unwrap();
    json_ok(r, 200);
    assert_json_error(
        srv.get(&format!("/api/assets/{a}?{q}")).send().unwrap(),
        410,
    );
    assert_json_error(login("new secret"), 410);
    let r = srv
        .req(reqwest::Method::PATCH, &format!("/api/shared-links/{id}"))
        .key(&owner)
        .json(&json!({"expiresAt": null}))
        .send()
        .unwrap();
    json_ok(r, 200);
    assert_eq!(
        srv.get(&format!("/api/assets/{a}?{q}"))
            .send()
            .unwrap()
            .status(),
        200
    );

    // Listing, then revocation: 404 afterwards.
    let list = json_ok(
        srv.get("/api/shared-links").key(&owner).send().unwrap(),
        200,
    );
    assert_eq!(list.as_array().unwrap().len(), 1);
    let r = srv
        .delete(&format!("/api/shared-links/{id}"))
        .key(&owner)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_json_error(
        srv.get(&format!("/api/assets/{a}?{q}")).send().unwrap(),
        404,
    );

    // Password tries are rate-limited.
    let link = make_link(
        &srv,
        &owner,
        json!({"type": "INDIVIDUAL", "assetIds": [a], "password": "pw"}),
    );
    let key = link["key"].as_str().unwrap().to_string();
    let mut last = 0;
    for _ in 0..6 {
        last = srv
            .post(&format!("/api/shared-links/login?key={key}"))
            .json(&json!({"password": "wrong"}))
            .send()
            .unwrap()
            .status()
            .as_u16();
    }
    assert_eq!(last, 429, "the sixth wrong password is throttled");
}

#[test]
fn guest_uploads_and_shared_albums() {
    let srv = Server::start();
    let owner = srv.admin();
    let editor = new_user(&srv, &owner, "editor@example.com");
    let album = make_album(&srv, &owner, "Party", &[]);
    let up = make_link(
        &srv,
        &owner,
        json!({"type": "ALBUM", "albumId": album, "allowUpload": true}),
    );
    let ro = make_link(&srv, &owner, json!({"type": "ALBUM", "albumId": album}));
    let upload_as_guest = |key: &str, name: &str, seed: u64| {
        let bytes = jpeg_bytes(1500, seed);
        let (ct, body) = multipart_body(
            &cli_fields(name, bytes.len()),
            Some((name, "image/jpeg", &bytes)),
        );
        srv.post("/api/assets")
            .query(&[("key", key)])
            .header("content-type", ct)
            .body(body)
            .send()
            .unwrap()
    };
    let r = upload_as_guest(up["key"].as_str().unwrap(), "guest.jpg", 50);
    let id = json_ok(r, 201)["id"].as_str().unwrap().to_string();
    let r = upload_as_guest(ro["key"].as_str().unwrap(), "nope.jpg", 51);
    assert_json_error(r, 403);
    let (st, a) = srv.asset(&owner, &id);
    assert_eq!(st, 200);
    assert_eq!(
        a["ownerId"],
        owner.id.as_str(),
        "guest uploads belong to the link owner"
    );
    let al = json_ok(
        srv.get(&format!("/api/albums/{album}"))
            .key(&owner)
            .send()
            .unwrap(),
        200,
    );
    assert_eq!(al["assetCount"], 1);
    assert_eq!(al["hasSharedLink"], true);

    // Shared with a user as editor: "shared with me", and the editor adds their own photo.
    share_album(&srv, &owner, &album, &editor, "editor");
    let mine = json_ok(
        srv.get("/api/albums?shared=true")
            .key(&editor)
            .send()
            .unwrap(),
        200,
    );
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["albumUsers"][0]["role"], "editor");
    assert_eq!(mine[0]["owner"]["id"], owner.id.as_str());
    let theirs = srv.upload_new(&editor, "e.jpg", &jpeg_bytes(1500, 60));
    let r = srv
        .put(&format!("/api/albums/{album}/assets"))
        .key(&editor)
        .json(&json!({"ids": [theirs]}))
        .send()
        .unwrap();
    assert_eq!(json_ok(r, 200)[0]["success"], true);
    // The album owner now sees the editor's photo; the link does not (not the owner's asset).
    assert_eq!(srv.asset(&owner, &theirs).0, 200);
    let r = srv
        .get(&format!("/api/assets/{theirs}"))
        .query(&[("key", ro["key"].as_str().unwrap())])
        .send()
        .unwrap();
    assert_json_error(r, 404);
    // Demoted to viewer: no more adding.
    let r = srv
        .put(&format!("/api/albums/{album}/user/{}", editor.id))
        .key(&owner)
        .json(&json!({"role": "viewer"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let other = srv.upload_new(&editor, "e2.jpg", &jpeg_bytes(1500, 61));
    let r = srv
        .put(&format!("/api/albums/{album}/assets"))
        .key(&editor)
        .json(&json!({"ids": [other]}))
        .send()
        .unwrap();
    assert_json_error(r, 403);
    // A member leaves with `me`.
    let r = srv
        .delete(&format!("/api/albums/{album}/user/me"))
        .key(&editor)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = srv
        .get("/api/albums?shared=true")
        .key(&editor)
        .send()
        .unwrap();
    assert_eq!(json_ok(r, 200).as_array().unwrap().len(), 0);
}

#[test]
fn share_page_html() {
    let srv = Server::start();
    let owner = srv.admin();
    let a = srv.upload_new(&owner, "a.jpg", &jpeg_bytes(2000, 1));
    let album = make_album(&srv, &owner, "<script>alert('x')</script>", &[&a]);
    let link = make_link(&srv, &owner, json!({"type": "ALBUM", "albumId": album}));
    let key = link["key"].as_str().unwrap();
    let r = srv.get(&format!("/share/{key}")).send().unwrap();
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-security-policy").is_some());
    let html = r.text().unwrap();
    assert!(!html.contains("<script>alert"), "album name is escaped");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(html.contains(&a), "the asset is in the page data");

    let r = srv
        .get("/share/doesnotexistatallbutislongenough")
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().unwrap().contains("does not exist"));
    let r = srv.get("/share/%3Cx%3E").send().unwrap();
    assert_eq!(r.status(), 404);

    let expired = make_link(
        &srv,
        &owner,
        json!({"type": "ALBUM", "albumId": album, "expiresAt": "2020-01-01T00:00:00Z"}),
    );
    let r = srv
        .get(&format!("/share/{}", expired["key"].as_str().unwrap()))
        .send()
        .unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.text().unwrap().contains("expired"));

    let locked = make_link(
        &srv,
        &owner,
        json!({"type": "ALBUM", "albumId": album, "password": "pa55word"}),
    );
    let lk = locked["key"].as_str().unwrap();
    let html = srv
        .get(&format!("/share/{lk}"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        html.contains("password-form") && !html.contains(&a),
        "nothing before the password"
    );
    let r = srv
        .post(&format!("/share/{lk}"))
        .form(&[("password", "wrong")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().unwrap().contains("Wrong password"));
    let r = srv
        .post(&format!("/share/{lk}"))
        .form(&[("password", "pa55word")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = header(&r, "set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let r = srv
        .get(&format!("/share/{lk}"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().contains(&a));
    // The cookie also unlocks the API for that link's assets.
    let r = srv
        .get(&format!("/api/assets/{a}/thumbnail?key={lk}"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn hostile_sharing_input() {
    let mut srv = Server::start();
    let owner = srv.admin();
    let a = srv.upload_new(&owner, "a.jpg", &jpeg_bytes(2000, 1));
    let bad_key_paths = [
        format!("/api/assets/{a}?key="),
        format!("/api/assets/{a}?key=%00%ff"),
        format!("/api/assets/{a}?key={}", "A".repeat(5000)),
        format!("/api/assets/{a}/thumbnail?key=' OR 1=1 --"),
        "/api/shared-links/me?key=nope".to_string(),
        "/api/timeline/buckets?key=abcdefghijklmnopqrstuvwxyz".to_string(),
    ];
    for p in &bad_key_paths {
        let st = srv.get(p).send().unwrap().status().as_u16();
        assert_eq!(st, 404, "{p}");
    }
    for (method, path, body) in [
        ("POST", "/api/shared-links", json!({"type": "NOPE"})),
        ("POST", "/api/shared-links", json!({"type": "ALBUM"})),
        (
            "POST",
            "/api/shared-links",
            json!({"type": "INDIVIDUAL", "assetIds": ["x"]}),
        ),
        (
            "POST",
            "/api/shared-links",
            json!({"type": "INDIVIDUAL", "assetIds": [a], "expiresAt": "soon"}),
        ),
        (
            "POST",
            "/api/shared-links",
            json!({"type": "INDIVIDUAL", "assetIds": [a], "allowUpload": "yes"}),
        ),
        ("POST", "/api/shared-links", json!([])),
        ("PATCH", "/api/shared-links/not-a-uuid", json!({})),
        ("GET", "/api/shared-links/not-a-uuid", json!({})),
        ("DELETE", "/api/shared-links/not-a-uuid", json!({})),
        ("POST", "/api/shared-links/login", json!({"password": "x"})),
        ("POST", "/api/partners", json!({"sharedWithId": "x"})),
        ("POST", "/api/partners", json!({"sharedWithId": owner.id})),
        ("PUT", "/api/partners/zzz", json!({"inTimeline": true})),
        ("GET", "/api/partners?direction=sideways", json!({})),
        ("PUT", "/api/albums/zzz/users", json!({"albumUsers": []})),
        ("GET", "/api/admin/users/zzz", json!({})),
        ("PUT", "/api/admin/users/zzz", json!({})),
        ("POST", "/api/admin/users/zzz/restore", json!({})),
        ("GET", "/api/admin/users?withDeleted=maybe", json!({})),
        ("PUT", "/api/users/me", json!({"name": 5})),
        ("GET", "/api/timeline/buckets?withPartners=maybe", json!({})),
        ("GET", "/api/timeline/buckets?userId=zzz", json!({})),
    ] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = srv.req(m, path).key(&owner).json(&body).send().unwrap();
        let st = r.status().as_u16();
        assert!(st == 400 || st == 404, "{method} {path} {body} -> {st}");
        assert_json_error(r, st);
    }
    let missing = "00000000-0000-4000-8000-000000000000";
    for (method, path) in [
        ("GET", format!("/api/shared-links/{missing}")),
        ("DELETE", format!("/api/shared-links/{missing}")),
        ("DELETE", format!("/api/partners/{missing}")),
        ("GET", format!("/api/admin/users/{missing}")),
        ("GET", format!("/api/albums/{missing}")),
    ] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        assert_json_error(srv.req(m, &path).key(&owner).send().unwrap(), 404);
    }
    let r = srv.post("/share/abc").body("%%%").send().unwrap();
    assert!(r.status().as_u16() < 500);
    srv.assert_alive();
}
