//! Accounts, sessions, API keys, rate limiting and secrets at rest.

mod common;

use common::*;
use serde_json::{Value, json};

#[test]
fn server_info_needs_no_auth() {
    let srv = Server::start();
    let v: Value = srv
        .get("/.well-known/immich")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(v["api"]["endpoint"], "/api");
    let v: Value = srv.get("/api/server/ping").send().unwrap().json().unwrap();
    assert_eq!(v["res"], "pong");
    let v: Value = srv
        .get("/api/server/version")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        v["major"].is_u64() && v["minor"].is_u64() && v["patch"].is_u64(),
        "{v}"
    );
    let r = srv.get("/api/server/features").send().unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = srv
        .get("/api/server/media-types")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let image: Vec<&str> = v["image"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    let video: Vec<&str> = v["video"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(image.contains(&".jpg"), "{v}");
    assert!(video.contains(&".mp4"), "{v}");
    assert!(
        v["sidecar"].as_array().unwrap().iter().any(|x| x == ".xmp"),
        "{v}"
    );
}

#[test]
fn admin_sign_up_only_once() {
    let srv = Server::start();
    let r = srv
        .post("/api/auth/admin-sign-up")
        .json(&json!({"email": "first@example.com", "password": "pw-number-one", "name": "First"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().unwrap();
    assert_eq!(v["email"], "first@example.com", "{v}");
    assert!(v["id"].is_string(), "{v}");
    assert!(v.get("password").is_none(), "user DTO leaks password: {v}");

    let r = srv
        .post("/api/auth/admin-sign-up")
        .json(
            &json!({"email": "second@example.com", "password": "pw-number-two", "name": "Second"}),
        )
        .send()
        .unwrap();
    assert_json_error(r, 400);
    // the second admin was not created
    let r = srv
        .post("/api/auth/login")
        .json(&json!({"email": "second@example.com", "password": "pw-number-two"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[test]
fn login_ok_and_wrong_password() {
    let srv = Server::start();
    let admin = srv.admin();
    let r = srv
        .post("/api/auth/login")
        .json(&json!({"email": admin.email, "password": admin.password}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().unwrap();
    assert!(v["accessToken"].as_str().unwrap().len() >= 32, "{v}");
    assert_eq!(v["userId"], admin.id.as_str());
    assert_eq!(v["userEmail"], admin.email.as_str());
    assert_eq!(v["isAdmin"], true);
    assert!(v["name"].is_string());
    assert!(v.get("shouldChangePassword").is_some(), "{v}");
    assert!(v.get("profileImagePath").is_some(), "{v}");

    let r = srv
        .post("/api/auth/login")
        .json(&json!({"email": admin.email, "password": "nope"}))
        .send()
        .unwrap();
    assert_json_error(r, 401);
    let r = srv
        .post("/api/auth/login")
        .json(&json!({"email": "nobody@example.com", "password": "nope"}))
        .send()
        .unwrap();
    assert_json_error(r, 401);
}

#[test]
fn session_token_bearer_and_cookie_work() {
    let srv = Server::start();
    let admin = srv.admin();
    let v: Value = srv
        .get("/api/users/me")
        .bearer_auth(&admin.token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(v["id"], admin.id.as_str());
    assert_eq!(v["email"], admin.email.as_str());
    let r = srv
        .get("/api/users/me")
        .header("cookie", format!("immich_access_token={}", admin.token))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // an API key works as a bearer token too
    let r = srv
        .get("/api/users/me")
        .bearer_auth(&admin.key)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = srv.get("/api/users/me").key(&admin).send().unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn login_rate_limit() {
    let srv = Server::start();
    let admin = srv.admin();
    for i in 1..=5 {
        let r = srv
            .post("/api/auth/login")
            .json(&json!({"email": admin.email, "password": format!("wrong-{i}")}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 401, "failure #{i}");
    }
    // now even the right password is refused
    let r = srv
        .post("/api/auth/login")
        .json(&json!({"email": admin.email, "password": admin.password}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = header(&r, "retry-after")
        .expect("Retry-After on 429")
        .trim()
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry > 0 && retry <= 15 * 60, "Retry-After {retry}");
    assert_json_error(r, 429);
    // existing credentials keep working
    let r = srv.get("/api/users/me").key(&admin).send().unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn logout_invalidates_token() {
    let srv = Server::start();
    let admin = srv.admin();
    let r = srv
        .get("/api/users/me")
        .bearer_auth(&admin.token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = srv
        .post("/api/auth/logout")
        .bearer_auth(&admin.token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().unwrap();
    assert_eq!(v["successful"], true);
    assert_eq!(v["redirectUri"], "/auth/login");
    let r = srv
        .get("/api/users/me")
        .bearer_auth(&admin.token)
        .send()
        .unwrap();
    assert_json_error(r, 401);
    // the API key made from that session is independent
    let r = srv.get("/api/users/me").key(&admin).send().unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn api_keys_crud() {
    let srv = Server::start();
    let admin = srv.admin();
    let r = srv
        .post("/api/api-keys")
        .bearer_auth(&admin.token)
        .json(&json!({"name": "laptop", "permissions": ["all"]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().unwrap();
    let secret = v["secret"].as_str().unwrap().to_string();
    let id = v["apiKey"]["id"].as_str().unwrap().to_string();
    assert_eq!(v["apiKey"]["name"], "laptop");
    assert_eq!(v["apiKey"]["permissions"], json!(["all"]));
    assert!(v["apiKey"]["createdAt"].is_string() && v["apiKey"]["updatedAt"].is_string());
    assert!(
        v["apiKey"].get("secret").is_none() && v["apiKey"].get("key").is_none(),
        "{v}"
    );

    // list: the helper's key and this one
    let list: Value = srv
        .get("/api/api-keys")
        .key(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let arr = list.as_array().expect("array");
    assert_eq!(arr.len(), 2, "{list}");
    assert!(
        arr.iter()
            .any(|k| k["id"] == id.as_str() && k["name"] == "laptop")
    );
    assert!(!list.to_string().contains(&secret), "list leaks the secret");

    let one: Value = srv
        .get(&format!("/api/api-keys/{id}"))
        .key(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(one["id"], id.as_str());
    assert_eq!(one["name"], "laptop");

    let me: Value = srv
        .get("/api/api-keys/me")
        .header("x-api-key", &secret)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(me["id"], id.as_str());
    assert_eq!(me["permissions"], json!(["all"]));

    let r = srv
        .get("/api/users/me")
        .header("x-api-key", &secret)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = srv
        .delete(&format!("/api/api-keys/{id}"))
        .key(&admin)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = srv
        .get("/api/users/me")
        .header("x-api-key", &secret)
        .send()
        .unwrap();
    assert_json_error(r, 401);
    let r = srv
        .get(&format!("/api/api-keys/{id}"))
        .key(&admin)
        .send()
        .unwrap();
    assert_json_error(r, 404);
    let list: Value = srv
        .get("/api/api-keys")
        .key(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

#[test]
fn api_keys_of_another_user_are_404() {
    let srv = Server::start();
    let admin = srv.admin();
    let bob = srv.create_user(&admin, "bob@example.com", None);
    let me: Value = srv
        .get("/api/api-keys/me")
        .key(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let admin_key_id = me["id"].as_str().unwrap().to_string();
    let r = srv
        .get(&format!("/api/api-keys/{admin_key_id}"))
        .key(&bob)
        .send()
        .unwrap();
    assert_json_error(r, 404);
    let r = srv
        .delete(&format!("/api/api-keys/{admin_key_id}"))
        .key(&bob)
        .send()
        .unwrap();
    assert_json_error(r, 404);
    let list: Value = srv
        .get("/api/api-keys")
        .key(&bob)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(!list.to_string().contains(&admin_key_id));
    // still works for its owner
    let r = srv.get("/api/users/me").key(&admin).send().unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn missing_or_invalid_credentials_are_401() {
    let srv = Server::start();
    let _admin = srv.admin();
    let r = srv.get("/api/users/me").send().unwrap();
    assert_json_error(r, 401);
    let r = srv
        .get("/api/users/me")
        .header("x-api-key", "not-a-key")
        .send()
        .unwrap();
    assert_json_error(r, 401);
    let r = srv
        .get("/api/users/me")
        .header("x-api-key", "")
        .send()
        .unwrap();
    assert_json_error(r, 401);
    let r = srv
        .get("/api/users/me")
        .bearer_auth("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .send()
        .unwrap();
    assert_json_error(r, 401);
    let r = srv
        .get("/api/users/me")
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .unwrap();
    assert_json_error(r, 401);
    let r = srv
        .get("/api/users/me")
        .header("cookie", "immich_access_token=garbage")
        .send()
        .unwrap();
    assert_json_error(r, 401);
    let r = srv
        .get("/api/assets/00000000-0000-0000-0000-000000000000")
        .send()
        .unwrap();
    assert_json_error(r, 401);
    let r = srv
        .post("/api/albums")
        .json(&json!({"albumName": "x"}))
        .send()
        .unwrap();
    assert_json_error(r, 401);
}

#[test]
fn non_admin_cannot_create_users() {
    let srv = Server::start();
    let admin = srv.admin();
    let bob = srv.create_user(&admin, "bob@example.com", None);
    let me: Value = srv
        .get("/api/users/me")
        .key(&bob)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(me["email"], "bob@example.com");
    assert_eq!(me["isAdmin"], false);
    let r = srv
        .post("/api/admin/users")
        .key(&bob)
        .json(&json!({"email": "eve@example.com", "password": "evil password", "name": "Eve"}))
        .send()
        .unwrap();
    assert_json_error(r, 403);
    let r = srv
        .post("/api/auth/login")
        .json(&json!({"email": "eve@example.com", "password": "evil password"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401, "eve must not exist");
    // duplicate email is a client error
    let r = srv
        .post("/api/admin/users")
        .key(&admin)
        .json(&json!({"email": "bob@example.com", "password": "whatever pw", "name": "Bob 2"}))
        .send()
        .unwrap();
    let st = r.status().as_u16();
    assert!(st == 400 || st == 409, "duplicate email: {st}");
}

#[test]
fn malformed_json_is_400_with_message() {
    let srv = Server::start();
    let r = srv
        .post("/api/auth/admin-sign-up")
        .header("content-type", "application/json")
        .body("{\"email\": \"a@b.c\", ")
        .send()
        .unwrap();
    assert_json_error(r, 400);
    let r = srv
        .post("/api/auth/login")
        .header("content-type", "application/json")
        .body("not json at all")
        .send()
        .unwrap();
    assert_json_error(r, 400);
    // missing field
    let r = srv
        .post("/api/auth/login")
        .json(&json!({"email": "a@b.c"}))
        .send()
        .unwrap();
    assert_json_error(r, 400);
    // wrong type
    let r = srv
        .post("/api/auth/admin-sign-up")
        .json(&json!({"email": 12, "password": ["x"], "name": null}))
        .send()
        .unwrap();
    assert_json_error(r, 400);
    // and nothing was created by all that
    let r = srv
        .post("/api/auth/admin-sign-up")
        .json(&json!({"email": "ok@example.com", "password": "fine password", "name": "Ok"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
}

#[test]
fn secrets_are_not_stored_in_plain_text() {
    let srv = Server::start();
    let admin = srv.admin();
    let bob = srv.create_user(&admin, "bob@example.com", None);
    // make sure everything is on disk (a checkpoint may or may not have happened: we read WAL too)
    let r = srv.get("/api/users/me").key(&bob).send().unwrap();
    assert_eq!(r.status(), 200);
    let bytes = db_bytes(&srv.data);
    assert!(!bytes.is_empty(), "no shoebox.db in DIR");
    // sanity: we are reading the right bytes
    assert!(
        contains(&bytes, b"bob@example.com"),
        "email not found in shoebox.db*"
    );
    for secret in [&admin.password, &bob.password] {
        assert!(
            !contains(&bytes, secret.as_bytes()),
            "password stored in plain text"
        );
    }
    for secret in [&admin.key, &bob.key, &admin.token, &bob.token] {
        assert!(
            !contains(&bytes, secret.as_bytes()),
            "token/API key stored in plain text"
        );
        // nor its raw bytes, whatever text encoding the server hands out
        for raw in decodings(secret) {
            assert!(
                !contains(&bytes, &raw),
                "raw token/API key bytes stored in the DB"
            );
        }
    }
    assert!(
        contains(&bytes, b"$argon2id$"),
        "password hash is not argon2id (PHC string)"
    );
}

/// The byte strings a secret might encode (hex, base64 with/without padding, URL-safe).
fn decodings(secret: &str) -> Vec<Vec<u8>> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let mut out = Vec::new();
    if let Ok(b) = hex::decode(secret) {
        out.push(b);
    }
    for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
        if let Ok(b) = engine.decode(secret) {
            out.push(b);
        }
    }
    out.retain(|b| b.len() >= 16);
    out
}
