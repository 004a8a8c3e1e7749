//! Issue 22, part 2: wrong-password throttling stops the guesser, never the owner. Counted per
//! (link or account, client address) with exponential backoff; another address with the right
//! password gets in at once. `X-Forwarded-For` counts only from `--trusted-proxies`.
//! Loopback has many addresses: each client below binds its own (127.0.0.2, .3, .4).

mod common;

use common::*;
use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};
use std::net::IpAddr;
use std::time::{Duration, Instant};

fn from(ip: &str) -> Client {
    Client::builder()
        .no_proxy()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn retry_after(r: &Response) -> u64 {
    header(r, "retry-after")
        .expect("Retry-After on 429")
        .trim()
        .parse()
        .expect("Retry-After in seconds")
}

/// A password-protected link to one asset; returns its key.
fn protected_link(srv: &Server, owner: &User) -> String {
    let asset = srv.upload_new(owner, "a.jpg", &jpeg_bytes(800, 1));
    let r = srv
        .post("/api/shared-links")
        .key(owner)
        .json(&json!({"type": "INDIVIDUAL", "assetIds": [asset], "password": "open sesame"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string()
}

fn link_login(srv: &Server, c: &Client, key: &str, password: &str, xff: Option<&str>) -> Response {
    let mut rb = c
        .post(srv.url("/api/shared-links/login"))
        .query(&[("key", key)])
        .json(&json!({"password": password}));
    if let Some(x) = xff {
        rb = rb.header("x-forwarded-for", x);
    }
    rb.send().unwrap()
}

/// Ten wrong passwords: the first few are 401, then the guesser waits (429 + Retry-After).
fn ten_wrong(mut attempt: impl FnMut(usize) -> Response) {
    let mut statuses = Vec::new();
    for i in 0..10 {
        let r = attempt(i);
        let st = r.status().as_u16();
        if st == 429 {
            let wait = retry_after(&r);
            assert!((1..=15 * 60).contains(&wait), "Retry-After {wait}");
            assert_json_error(r, 429);
        }
        statuses.push(st);
    }
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert!(
        statuses[5..].iter().all(|s| *s == 429),
        "the guesser is slowed: {statuses:?}"
    );
}

#[test]
fn a_link_guesser_is_slowed_and_the_owner_of_the_password_is_not() {
    let srv = Server::start();
    let owner = srv.admin();
    let key = protected_link(&srv, &owner);
    let attacker = from("127.0.0.2");
    let friend = from("127.0.0.3");
    // a spoofed X-Forwarded-For from an untrusted peer changes nothing
    ten_wrong(|i| {
        link_login(
            &srv,
            &attacker,
            &key,
            "guess",
            Some(&format!("198.51.100.{i}")),
        )
    });

    // the attacker waits, even with the right password, on every door (checked first: the
    // first wait is a few seconds)
    let r = link_login(&srv, &attacker, &key, "open sesame", None);
    assert_eq!(r.status(), 429);
    let r = attacker
        .post(srv.url(&format!("/share/{key}")))
        .form(&[("password", "open sesame")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 429);

    // the right password from another address: in at once, not after a lockout
    let t = Instant::now();
    let r = link_login(&srv, &friend, &key, "open sesame", None);
    assert_eq!(r.status(), 201, "{}", text(r));
    assert!(t.elapsed() < Duration::from_secs(20));
    let r = friend
        .get(srv.url("/api/shared-links/me"))
        .query(&[("key", key.as_str()), ("password", "open sesame")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // the share page's password form too
    let r = friend
        .post(srv.url(&format!("/share/{key}")))
        .form(&[("password", "open sesame")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
}

#[test]
fn a_login_guesser_is_slowed_and_the_account_owner_is_not() {
    let srv = Server::start();
    let admin = srv.admin();
    let attacker = from("127.0.0.2");
    let owner = from("127.0.0.3");
    let login = |c: &Client, pw: &str| {
        c.post(srv.url("/api/auth/login"))
            .json(&json!({"email": admin.email, "password": pw}))
            .send()
            .unwrap()
    };
    // also with the email spelled differently: same account
    ten_wrong(|i| {
        let email = if i % 2 == 0 {
            admin.email.to_uppercase()
        } else {
            admin.email.clone()
        };
        attacker
            .post(srv.url("/api/auth/login"))
            .json(&json!({"email": email, "password": "guess"}))
            .send()
            .unwrap()
    });
    let r = login(&attacker, &admin.password);
    assert_eq!(r.status(), 429);
    assert!(retry_after(&r) >= 1);
    let t = Instant::now();
    let r = login(&owner, &admin.password);
    assert_eq!(r.status(), 201, "{}", text(r));
    assert!(t.elapsed() < Duration::from_secs(20));
}

#[test]
fn forwarded_for_counts_only_from_a_trusted_proxy() {
    let srv = Server::start_with_env(&[("SHOEBOX_TRUSTED_PROXIES", "127.0.0.4, 10.0.0.0/8")]);
    let owner = srv.admin();
    let key = protected_link(&srv, &owner);
    let proxy = from("127.0.0.4");
    // the proxy forwards an attacker: the attacker's address is what waits
    ten_wrong(|_| link_login(&srv, &proxy, &key, "guess", Some("203.0.113.9, 10.1.2.3")));
    let r = link_login(&srv, &proxy, &key, "open sesame", Some("203.0.113.9"));
    assert_eq!(r.status(), 429, "the forwarded attacker waits");
    // the same proxy forwards someone else, who gets in at once
    let r = link_login(&srv, &proxy, &key, "open sesame", Some("203.0.113.10"));
    assert_eq!(r.status(), 201, "{}", text(r));
    // and a client that is not the proxy cannot borrow the header
    let other = from("127.0.0.5");
    ten_wrong(|i| {
        link_login(
            &srv,
            &other,
            &key,
            "guess",
            Some(&format!("203.0.113.{}", 100 + i)),
        )
    });
    let r = link_login(&srv, &other, &key, "open sesame", Some("203.0.113.200"));
    assert_eq!(r.status(), 429);
}

#[test]
fn a_bad_trusted_proxies_setting_stops_the_server_with_a_message() {
    let bin = env!("CARGO_BIN_EXE_shoebox-server");
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin)
        .args(["serve", "--data"])
        .arg(dir.path())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--trusted-proxies",
            "10.0.0.0/99",
        ])
        .env("SHOEBOX_ML", "off")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("prefix length"), "{err}");
}
