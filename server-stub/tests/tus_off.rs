//! Issue 13, item 6: `--tus off` makes the server answer as a stock Immich server, which has no
//! tus endpoint: `/api/upload` is a 404 for every method, multipart uploads work as ever.

mod common;

use common::*;
use reqwest::Method;

#[test]
fn with_tus_off_upload_is_not_found_and_multipart_works() {
    let srv = Server::start_with_env(&[("SHOEBOX_TUS", "off")]);
    let user = srv.admin();
    for (m, path) in [
        (Method::OPTIONS, "/api/upload"),
        (Method::POST, "/api/upload"),
        (
            Method::HEAD,
            "/api/upload/6f1e7a52-0000-4000-8000-000000000001",
        ),
        (
            Method::PATCH,
            "/api/upload/6f1e7a52-0000-4000-8000-000000000001",
        ),
        (
            Method::DELETE,
            "/api/upload/6f1e7a52-0000-4000-8000-000000000001",
        ),
    ] {
        let r = srv
            .tus(m.clone(), path, &user)
            .header("Upload-Length", "10")
            .send()
            .unwrap();
        assert_eq!(r.status(), 404, "{m} {path}");
        assert!(header(&r, "tus-version").is_none(), "{m} {path}");
    }
    let bytes = photo_jpeg(50, 40, 3);
    let id = srv.upload_new(&user, "plain.jpg", &bytes);
    assert_eq!(srv.original(&user, &id).1, bytes);
    assert!(srv.upload_files().is_empty());

    // and with tus on (the default) it answers
    let on = Server::start();
    let r = on.req(Method::OPTIONS, "/api/upload").send().unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "tus-version"), Some(TUS));
}

#[test]
fn a_bad_tus_switch_keeps_the_server_from_starting() {
    let dir = tempfile::tempdir().unwrap();
    for value in ["maybe", "", "2", "off,on"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_shoebox-server"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path())
            .arg(format!("--tus={value}"))
            .env("SHOEBOX_ML", "off")
            .output()
            .unwrap();
        assert!(!out.status.success(), "--tus={value} was accepted");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--tus"));
    }
}
