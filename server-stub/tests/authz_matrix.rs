//! Issue 22, part 4: the authorization matrix, generated from the router. `shoebox-server
//! routes` lists the paths the router really mounts and the declared policy of each (method,
//! path) (`server-stub/src/policy.rs`); the live server's `405 Allow` answers tell which methods
//! each path mounts. A mounted method without a declared policy, or a declared one that is not
//! mounted, fails here. Then every route is called as every class of caller, with a victim's
//! real ids in paths, queries and bodies, and hostile ids in paths:
//! 0 × 5xx, 0 unexpected 2xx, 0 responses carrying the victim's private data.

mod common;

use common::*;
use reqwest::Method;
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

fn client_from(ip: &str) -> Client {
    Client::builder()
        .no_proxy()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The routes the router mounts, as the binary reads them from the router itself, each with
/// its declared policy; and the declared routes that are not mounted.
/// (method, path, declared policy) of one mounted route.
type Mounted = (String, String, Option<String>);

fn route_table() -> (Vec<Mounted>, Vec<String>) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shoebox-server"))
        .arg("routes")
        .env("SHOEBOX_ML", "off")
        .output()
        .expect("shoebox-server routes");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("routes JSON");
    let routes = v["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_string(),
                r["path"].as_str().unwrap().to_string(),
                r["policy"].as_str().map(str::to_string),
            )
        })
        .collect();
    let stale = v["declaredNotMounted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    (routes, stale)
}

/// (method, path, policy, key permission) of every mounted route.
fn permissions_of_routes() -> Vec<(String, String, String, Option<String>)> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shoebox-server"))
        .arg("routes")
        .env("SHOEBOX_ML", "off")
        .output()
        .expect("shoebox-server routes");
    let v: Value = serde_json::from_slice(&out.stdout).expect("routes JSON");
    v["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_string(),
                r["path"].as_str().unwrap().to_string(),
                r["policy"].as_str().unwrap_or_default().to_string(),
                r["permission"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum LinkState {
    Locked,
    Unlocked,
    Expired,
}

#[derive(Clone, Debug)]
enum Kind {
    /// No working account credential.
    NoAccount,
    /// A live account that is not the victim's.
    Account { admin: bool },
    Link {
        state: LinkState,
        upload: bool,
        download: bool,
    },
}

struct Caller {
    name: &'static str,
    kind: Kind,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    /// The link key for `/share/{key}` (the locked link's for callers without one).
    share_key: String,
    http: Client,
}

/// The victim's world, and the ids that stand for each class of object.
struct World {
    srv: Server,
    admin: User,
    victim: User,
    asset: String,
    hidden: String,
    archived: String,
    album: String,
    person: String,
    key_id: String,
    link_id: String,
    upload_id: String,
    friend: User,
    needles: Vec<(String, String)>,
    callers: Vec<Caller>,
}

fn json_ok(r: reqwest::blocking::Response, status: u16, what: &str) -> Value {
    let st = r.status().as_u16();
    let t = r.text().unwrap_or_default();
    assert_eq!(st, status, "{what}: {t}");
    serde_json::from_str(&t).unwrap_or(Value::Null)
}

fn world() -> World {
    let srv = Server::start();
    let admin = srv.admin();
    let r = srv
        .post("/api/admin/users")
        .key(&admin)
        .json(
            &json!({"email": "victim@example.com", "password": "victim password 1",
                      "name": "Victim Person Name"}),
        )
        .send()
        .unwrap();
    json_ok(r, 201, "victim");
    let victim = srv.login_user("victim@example.com", "victim password 1");
    let mallory = srv.create_user(&admin, "mallory@example.com", None);
    // sessions of mallory's own for the callers that present a session token (one of them
    // logs itself out along the way)
    let mallory_cookie = srv.login_user("mallory@example.com", "another long password");
    let mallory_bearer = srv.login_user("mallory@example.com", "another long password");
    let friend = srv.create_user(&admin, "friend@example.com", None);

    let mut needles = vec![
        ("victim id".to_string(), victim.id.clone()),
        ("victim email".into(), victim.email.clone()),
        ("victim name".into(), "Victim Person Name".into()),
        ("victim file name".into(), "victim-secret".into()),
        ("victim person name".into(), "Victim Face Name".into()),
        ("victim key name".into(), "victim-key-name".into()),
    ];
    let mut upload = |name: &str, seed: u8| {
        let bytes = photo_jpeg(40, 30, seed);
        needles.push((format!("checksum of {name}"), sha1_hex(&bytes)));
        needles.push((format!("checksum of {name} (base64)"), sha1_b64(&bytes)));
        srv.upload_new(&victim, &format!("victim-secret-{name}.jpg"), &bytes)
    };
    let asset = upload("visible", 1);
    let hidden = upload("hidden", 2);
    let archived = upload("archived", 3);
    for (id, vis) in [(&hidden, "hidden"), (&archived, "archive")] {
        let r = srv
            .put("/api/assets")
            .key(&victim)
            .json(&json!({"ids": [id], "visibility": vis}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    needles.push(("hidden asset id".into(), hidden.clone()));
    needles.push(("archived asset id".into(), archived.clone()));
    let r = srv
        .post("/api/albums")
        .key(&victim)
        .json(&json!({"albumName": "Victim Album", "assetIds": [asset]}))
        .send()
        .unwrap();
    let album = json_ok(r, 201, "album")["id"].as_str().unwrap().to_string();
    let r = srv
        .post("/api/people")
        .key(&victim)
        .json(&json!({"name": "Victim Face Name"}))
        .send()
        .unwrap();
    let person = json_ok(r, 201, "person")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = srv
        .post("/api/partners")
        .key(&victim)
        .json(&json!({"sharedWithId": friend.id}))
        .send()
        .unwrap();
    json_ok(r, 201, "partner");
    let r = srv
        .post("/api/api-keys")
        .key(&victim)
        .json(&json!({"name": "victim-key-name", "permissions": ["all"]}))
        .send()
        .unwrap();
    let key_id = json_ok(r, 201, "key")["apiKey"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // a deleted key and a logged-out session of the victim's
    let r = srv
        .post("/api/api-keys")
        .key(&victim)
        .json(&json!({"name": "victim-key-name-2", "permissions": ["all"]}))
        .send()
        .unwrap();
    let v = json_ok(r, 201, "key 2");
    let deleted_key = v["secret"].as_str().unwrap().to_string();
    let r = srv
        .delete(&format!(
            "/api/api-keys/{}",
            v["apiKey"]["id"].as_str().unwrap()
        ))
        .key(&victim)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let gone = srv.login_user("victim@example.com", "victim password 1");
    let r = srv
        .post("/api/auth/logout")
        .bearer_auth(&gone.token)
        .send()
        .unwrap();
    assert!(r.status().is_success());
    // an unfinished tus upload
    let loc = srv.tus_new(&victim, 100, &[("filename", b"victim-secret-tus.jpg")]);
    let upload_id = upload_id(&loc);
    // a soft-deleted user with a token
    let ghost = srv.create_user(&admin, "ghost@example.com", None);
    let r = srv
        .delete(&format!("/api/admin/users/{}", ghost.id))
        .key(&admin)
        .send()
        .unwrap();
    assert!(r.status().is_success(), "delete ghost");

    // links (all hide metadata, so the victim's identity is never theirs to show)
    let link = |body: Value| {
        let r = srv
            .post("/api/shared-links")
            .key(&victim)
            .json(&body)
            .send()
            .unwrap();
        json_ok(r, 201, "link")
    };
    let locked = link(
        json!({"type": "INDIVIDUAL", "assetIds": [asset], "password": "pw pw",
                             "showMetadata": false, "allowDownload": false}),
    );
    let locked_key = locked["key"].as_str().unwrap().to_string();
    let r = srv
        .post("/api/shared-links/login")
        .query(&[("key", locked_key.as_str())])
        .json(&json!({"password": "pw pw"}))
        .send()
        .unwrap();
    let token = json_ok(r, 201, "unlock")["token"]
        .as_str()
        .unwrap()
        .to_string();
    let full = link(
        json!({"type": "ALBUM", "albumId": album, "allowUpload": true,
                           "allowDownload": true, "showMetadata": false}),
    );
    let full_key = full["key"].as_str().unwrap().to_string();
    let expired = link(
        json!({"type": "ALBUM", "albumId": album, "showMetadata": false,
                              "expiresAt": "2001-01-01T00:00:00.000Z"}),
    );
    let expired_key = expired["key"].as_str().unwrap().to_string();
    let link_id = full["id"].as_str().unwrap().to_string();

    let mut ip = 10;
    let mut caller = |name: &'static str,
                      kind: Kind,
                      headers: Vec<(&str, String)>,
                      query: Vec<(&str, String)>,
                      share_key: &str| {
        ip += 1;
        Caller {
            name,
            kind,
            headers: headers
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            query: query.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            share_key: share_key.to_string(),
            http: client_from(&format!("127.0.0.{ip}")),
        }
    };
    let garbage = "x".repeat(43);
    let callers = vec![
        caller("nobody", Kind::NoAccount, vec![], vec![], &locked_key),
        caller(
            "garbage key",
            Kind::NoAccount,
            vec![("x-api-key", garbage.clone())],
            vec![],
            &locked_key,
        ),
        caller(
            "garbage bearer",
            Kind::NoAccount,
            vec![("authorization", format!("Bearer {garbage}"))],
            vec![],
            &locked_key,
        ),
        caller(
            "garbage cookie",
            Kind::NoAccount,
            vec![("cookie", format!("immich_access_token={garbage}"))],
            vec![],
            &locked_key,
        ),
        caller(
            "logged-out token",
            Kind::NoAccount,
            vec![("authorization", format!("Bearer {}", gone.token))],
            vec![],
            &locked_key,
        ),
        caller(
            "deleted key",
            Kind::NoAccount,
            vec![("x-api-key", deleted_key)],
            vec![],
            &locked_key,
        ),
        caller(
            "deleted user's token",
            Kind::NoAccount,
            vec![("authorization", format!("Bearer {}", ghost.token))],
            vec![],
            &locked_key,
        ),
        caller(
            "garbage key beside another user's bearer",
            Kind::NoAccount,
            vec![
                ("x-api-key", garbage.clone()),
                ("authorization", format!("Bearer {}", mallory_bearer.token)),
            ],
            vec![],
            &locked_key,
        ),
        caller(
            "another user",
            Kind::Account { admin: false },
            vec![("x-api-key", mallory.key.clone())],
            vec![],
            &locked_key,
        ),
        caller(
            "another user by cookie",
            Kind::Account { admin: false },
            vec![(
                "cookie",
                format!("immich_access_token={}", mallory_cookie.token),
            )],
            vec![],
            &locked_key,
        ),
        caller(
            "admin",
            Kind::Account { admin: true },
            vec![("x-api-key", admin.key.clone())],
            vec![],
            &locked_key,
        ),
        caller(
            "link without its password",
            Kind::Link {
                state: LinkState::Locked,
                upload: false,
                download: false,
            },
            vec![],
            vec![("key", locked_key.clone())],
            &locked_key,
        ),
        caller(
            "link with a wrong token",
            Kind::Link {
                state: LinkState::Locked,
                upload: false,
                download: false,
            },
            vec![("x-immich-share-token", garbage.clone())],
            vec![("key", locked_key.clone())],
            &locked_key,
        ),
        caller(
            "link unlocked (read only)",
            Kind::Link {
                state: LinkState::Unlocked,
                upload: false,
                download: false,
            },
            vec![("cookie", format!("immich_shared_link_token={token}"))],
            vec![("key", locked_key.clone())],
            &locked_key,
        ),
        caller(
            "link with upload and download (header key)",
            Kind::Link {
                state: LinkState::Unlocked,
                upload: true,
                download: true,
            },
            vec![("x-immich-share-key", full_key.clone())],
            vec![],
            &full_key,
        ),
        caller(
            "expired link",
            Kind::Link {
                state: LinkState::Expired,
                upload: false,
                download: false,
            },
            vec![],
            vec![("key", expired_key.clone())],
            &expired_key,
        ),
    ];
    World {
        srv,
        admin,
        victim,
        asset,
        hidden,
        archived,
        album,
        person,
        key_id,
        link_id,
        upload_id,
        friend,
        needles,
        callers,
    }
}

impl World {
    /// A path template with the victim's real ids in it.
    fn fill(&self, path: &str, share_key: &str) -> String {
        let first = if path.starts_with("/api/admin/users/") || path.starts_with("/api/partners/") {
            self.victim.id.clone()
        } else if path.starts_with("/api/albums/") {
            self.album.clone()
        } else if path.starts_with("/api/api-keys/") {
            self.key_id.clone()
        } else if path.starts_with("/api/assets/") {
            self.asset.clone()
        } else if path.starts_with("/api/people/") {
            self.person.clone()
        } else if path.starts_with("/api/shared-links/") {
            self.link_id.clone()
        } else if path.starts_with("/api/upload/") {
            self.upload_id.clone()
        } else if path.starts_with("/share/") {
            share_key.to_string()
        } else if path.starts_with("/api/jobs/") {
            "thumbnailGeneration".into()
        } else {
            // faces: no models run here, so an id that names nothing
            "6f1e7a52-0000-4000-8000-000000000001".into()
        };
        fill_with(path, &first, &self.friend.id)
    }

    /// The victim's ids wherever a body may name objects.
    fn body(&self) -> Value {
        json!({
            "ids": [self.asset, self.hidden],
            "assetIds": [self.asset, self.hidden],
            "albumId": self.album,
            "albumName": "mine now",
            "albumUsers": [{"userId": self.victim.id, "role": "editor"}],
            "sharedWithId": self.friend.id,
            "userId": self.victim.id,
            "personId": self.person,
            "personIds": [self.person],
            "id": self.person,
            "assets": [{"id": "probe", "checksum": self.needles.iter()
                .find(|(n, _)| n == "checksum of hidden").map(|(_, v)| v.clone())}],
            "deviceId": "d",
            "deviceAssetIds": ["victim-secret-visible.jpg-1"],
            "type": "INDIVIDUAL",
            "name": "x",
            "role": "editor",
            "query": "victim",
            "isFavorite": true,
            "visibility": "timeline",
            "inTimeline": true,
            "force": false,
            "password": "wrong password",
            "email": "nobody@example.com",
            "permissions": ["all"],
        })
    }

    fn query(&self) -> Vec<(String, String)> {
        vec![
            ("albumId".into(), self.album.clone()),
            ("userId".into(), self.victim.id.clone()),
            ("personId".into(), self.person.clone()),
            ("timeBucket".into(), "2024-05-01".into()),
            ("size".into(), "thumbnail".into()),
            ("query".into(), "victim".into()),
        ]
    }
}

fn fill_with(path: &str, first: &str, second: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    let mut n = 0;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').unwrap() + open;
        out.push_str(if n == 0 { first } else { second });
        n += 1;
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// What a caller class may get from a route of a policy; `Err` explains a violation.
fn judge(policy: &str, kind: &Kind, status: u16) -> Result<(), String> {
    if status >= 500 {
        return Err(format!("{status}: a server error"));
    }
    let two = (200..300).contains(&status);
    let need = |ok: &[u16]| {
        if ok.contains(&status) {
            Ok(())
        } else {
            Err(format!("{status}, expected one of {ok:?}"))
        }
    };
    match (policy, kind) {
        ("public" | "link-key", _) => Ok(()),
        ("user" | "admin", Kind::NoAccount | Kind::Link { .. }) => need(&[401]),
        ("admin", Kind::Account { admin: false }) => need(&[403]),
        (_, Kind::Account { .. }) => Ok(()),
        (_, Kind::NoAccount) => need(&[401]),
        (
            _,
            Kind::Link {
                state: LinkState::Locked,
                ..
            },
        ) => need(&[401]),
        (
            _,
            Kind::Link {
                state: LinkState::Expired,
                ..
            },
        ) => need(&[410]),
        ("link-upload", Kind::Link { upload: false, .. })
        | (
            "link-download",
            Kind::Link {
                download: false, ..
            },
        ) if two => Err(format!("{status} without the link's permission")),
        _ => Ok(()),
    }
}

fn send(w: &World, c: &Caller, method: &Method, url_path: &str) -> (u16, String) {
    let mut url = reqwest::Url::parse(&w.srv.url(url_path)).unwrap();
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in w.query().iter().chain(c.query.iter()) {
            q.append_pair(k, v);
        }
    }
    let mut rb = c
        .http
        .request(method.clone(), url)
        .header("tus-resumable", TUS);
    for (k, v) in &c.headers {
        rb = rb.header(k, v);
    }
    if *method != Method::GET && *method != Method::HEAD && *method != Method::OPTIONS {
        rb = rb.json(&w.body());
    }
    let r = rb
        .send()
        .unwrap_or_else(|e| panic!("{method} {url_path}: {e}"));
    let st = r.status().as_u16();
    let mut all = String::new();
    for (k, v) in r.headers() {
        all.push_str(&format!("{k}: {}\n", v.to_str().unwrap_or("")));
    }
    all.push_str(&String::from_utf8_lossy(&r.bytes().unwrap_or_default()));
    (st, all)
}

/// Answers that name another account on purpose, and why. Sharing one's library with a user
/// whose id one already has answers that user (Immich's `PartnerResponseDto`: id, name, email),
/// as Immich does. Only the account's identity; never its assets.
const DISCLOSED_BY_DESIGN: &[(&str, &str, &str)] = &[(
    "POST",
    "/api/partners/{id}",
    "the partner you share with is named in the answer",
)];

const HOSTILE: &[&str] = &[
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2fshoebox.db",
    "%252e%252e%252f",
    "1'%20OR%20'1'%3D'1",
    "%3B%20DROP%20TABLE%20assets",
    "%00",
    "a%00b",
    "*",
    "%2A",
];

#[test]
fn every_route_for_every_caller() {
    let (table, stale) = route_table();
    let w = world();

    // 1. Every mounted route has a declared policy, and every declared one is mounted; the live
    //    server agrees with the table on which methods each path takes (405 + Allow otherwise).
    let undeclared: Vec<String> = table
        .iter()
        .filter(|(_, _, p)| p.is_none())
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    assert!(
        undeclared.is_empty(),
        "mounted without a declared policy: {undeclared:#?}"
    );
    assert!(stale.is_empty(), "declared but not mounted: {stale:#?}");
    // Every route that takes an account names the API-key permission it needs; the ones that
    // take none (public, shared-link key) name none.
    let unpermitted: Vec<String> = permissions_of_routes()
        .into_iter()
        .filter(|(_, _, policy, perm)| {
            matches!(policy.as_str(), "public" | "link-key") != perm.is_none()
        })
        .map(|(m, p, policy, perm)| format!("{m} {p} [{policy}] key permission {perm:?}"))
        .collect();
    assert!(
        unpermitted.is_empty(),
        "routes whose key permission does not fit their policy: {unpermitted:#?}"
    );
    assert!(table.len() > 70, "{table:?}");
    let mut routes: Vec<(String, String, String)> = table
        .into_iter()
        .map(|(m, p, pol)| (m, p, pol.unwrap_or_default()))
        .collect();
    // Logging out ends a caller's session: last, so every other route still sees it.
    routes.sort_by_key(|(m, p, _)| (m == "POST" && p == "/api/auth/logout", m.clone(), p.clone()));
    let probe = client();
    let paths: BTreeSet<&String> = routes.iter().map(|(_, p, _)| p).collect();
    for path in paths {
        let url = w.srv.url(&fill_with(path, "probe", "probe"));
        let r = probe
            .request(Method::from_bytes(b"PROPFIND").unwrap(), url)
            .send()
            .unwrap();
        assert_eq!(r.status(), 405, "PROPFIND {path}");
        let allow: BTreeSet<String> = header(&r, "allow")
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty() && m != "HEAD")
            .collect();
        let mine: BTreeSet<String> = routes
            .iter()
            .filter(|(m, p, _)| p == path && m != "HEAD")
            .map(|(m, _, _)| m.clone())
            .collect();
        assert_eq!(allow, mine, "methods of {path}");
    }

    // 2. Every route × every caller.
    let mut failures = Vec::new();
    let mut tally: BTreeMap<&str, BTreeMap<u16, usize>> = BTreeMap::new();
    let mut calls = 0;
    for (m, path, policy) in &routes {
        let method = Method::from_bytes(m.as_bytes()).unwrap();
        // Destroying the victim is the admin's right; it is not what this test is about.
        let admin_destroys = *policy == "admin" && method != Method::GET;
        for c in &w.callers {
            if admin_destroys && matches!(c.kind, Kind::Account { admin: true }) {
                continue;
            }
            let url_path = w.fill(path, &c.share_key);
            let (st, body) = send(&w, c, &method, &url_path);
            calls += 1;
            *tally.entry(c.name).or_default().entry(st).or_default() += 1;
            if let Err(e) = judge(policy, &c.kind, st) {
                failures.push(format!("{m} {path} [{policy}] as {}: {e}", c.name));
            }
            let admin_on_admin =
                *policy == "admin" && matches!(c.kind, Kind::Account { admin: true });
            let by_design = matches!(c.kind, Kind::Account { .. })
                && DISCLOSED_BY_DESIGN
                    .iter()
                    .any(|(dm, dp, _)| dm == m && dp == path);
            if !admin_on_admin {
                for (what, needle) in &w.needles {
                    if by_design && what.starts_with("victim ") && what != "victim file name" {
                        continue;
                    }
                    if body.contains(needle.as_str()) {
                        failures.push(format!(
                            "{m} {path} [{policy}] as {} ({st}) carries the {what}: {}",
                            c.name,
                            &body[..body.len().min(600)]
                        ));
                    }
                }
            }
        }
    }

    // 3. Hostile ids in every id position, as another user and as a full link holder.
    let hostile_callers: Vec<&Caller> = w
        .callers
        .iter()
        .filter(|c| {
            matches!(
                c.name,
                "another user" | "link with upload and download (header key)"
            )
        })
        .collect();
    let odd_spellings = [
        w.hidden.to_uppercase(),
        w.hidden.replace('-', ""),
        format!("%7B{}%7D", w.hidden),
        w.hidden
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect::<String>(),
        "y".repeat(5000),
    ];
    for (m, path, _) in &routes {
        if !path.contains('{') || path.starts_with("/share/") {
            continue;
        }
        let method = Method::from_bytes(m.as_bytes()).unwrap();
        for c in &hostile_callers {
            for bad in HOSTILE
                .iter()
                .map(|s| s.to_string())
                .chain(odd_spellings.iter().cloned())
            {
                let url_path = fill_with(path, &bad, &bad);
                let (st, body) = send(&w, c, &method, &url_path);
                calls += 1;
                if st >= 500 {
                    failures.push(format!("{m} {url_path:.120} as {}: {st}", c.name));
                }
                if (200..300).contains(&st) && method != Method::OPTIONS {
                    failures.push(format!(
                        "{m} {url_path:.120} as {}: {st} for a hostile id",
                        c.name
                    ));
                }
                for (what, needle) in &w.needles {
                    if body.contains(needle.as_str()) {
                        failures.push(format!(
                            "{m} {url_path:.120} as {} carries the {what}",
                            c.name
                        ));
                    }
                }
            }
        }
    }
    // 4. Odd spellings of every protected path (trailing and double slashes, dot segments,
    //    case changes, HEAD) never let nobody in.
    let nobody = &w.callers[0];
    assert_eq!(nobody.name, "nobody");
    for (m, path, policy) in &routes {
        if matches!(policy.as_str(), "public" | "link-key") {
            continue;
        }
        let filled = w.fill(path, &nobody.share_key);
        let methods = if m == "GET" {
            vec![Method::GET, Method::HEAD]
        } else {
            vec![Method::from_bytes(m.as_bytes()).unwrap()]
        };
        let variants = [
            format!("{filled}/"),
            format!("/{filled}"),
            filled.replacen("/api/", "/api//", 1),
            filled.replacen("/api/", "/api/./", 1),
            filled.replacen("/api/", "/API/", 1),
            filled.to_uppercase(),
        ];
        for method in &methods {
            for v in &variants {
                let url = format!("{}{}", w.srv.base, v);
                let r = nobody
                    .http
                    .request(method.clone(), &url)
                    .send()
                    .unwrap_or_else(|e| panic!("{method} {v}: {e}"));
                calls += 1;
                let st = r.status().as_u16();
                if st >= 500 || (200..300).contains(&st) {
                    failures.push(format!("{method} {v} [{policy}] as nobody: {st}"));
                }
            }
        }
    }

    eprintln!("{calls} calls; status counts per caller:");
    for (c, counts) in &tally {
        eprintln!("  {c:45} {counts:?}");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // 5. The victim's world is intact.
    let (st, a) = w.srv.asset(&w.victim, &w.asset);
    assert_eq!(st, 200);
    assert_eq!(a["isTrashed"], false);
    assert_eq!(a["visibility"], "timeline");
    let (st, h) = w.srv.asset(&w.victim, &w.hidden);
    assert_eq!(
        (st.as_u16(), h["visibility"].as_str()),
        (200, Some("hidden"))
    );
    let (st, h) = w.srv.asset(&w.victim, &w.archived);
    assert_eq!(
        (st.as_u16(), h["visibility"].as_str()),
        (200, Some("archive"))
    );
    let r = w
        .srv
        .get(&format!("/api/albums/{}", w.album))
        .key(&w.victim)
        .send()
        .unwrap();
    let album = json_ok(r, 200, "album after");
    assert_eq!(album["albumName"], "Victim Album");
    let ids: Vec<&str> = album["assets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert!(ids.contains(&w.asset.as_str()), "{ids:?}");
    assert!(!ids.contains(&w.hidden.as_str()), "{ids:?}");
    let r = w
        .srv
        .get(&format!("/api/api-keys/{}", w.key_id))
        .key(&w.victim)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = w
        .srv
        .get(&format!("/api/shared-links/{}", w.link_id))
        .key(&w.victim)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = w
        .srv
        .get(&format!("/api/people/{}", w.person))
        .key(&w.victim)
        .send()
        .unwrap();
    assert_eq!(json_ok(r, 200, "person after")["name"], "Victim Face Name");
    let r = w.srv.get("/api/users/me").key(&w.victim).send().unwrap();
    assert_eq!(r.status(), 200);
    let _ = &w.admin;
}
