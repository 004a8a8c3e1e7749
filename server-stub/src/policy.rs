//! Who may call each route: the one table of access policies, next to the route table in
//! [`crate::app`]. Every mounted (method, path) has exactly one entry; a request to a route
//! without one is refused (405) before its handler runs, and the authorization matrix
//! test (`tests/authz_matrix.rs`) enumerates the mounted routes from the router itself
//! (`shoebox-server routes`) and calls each as every class of caller, so a route added without a
//! policy fails that test the day it is added.
//!
//! The handlers enforce the policies with their extractors (`Auth`, `AuthAdmin`, `Principal`)
//! and the checks in [`crate::access`]; this table says what they must add up to.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// No credentials needed (discovery, sign-up, login, tus `OPTIONS`).
    Public,
    /// The route takes a shared-link key itself: unlocking a link, a link's own view, the share
    /// page. The key (and, for a password link, its unlock token) is the credential.
    LinkKey,
    /// Any signed-in account, on its own data (another account's objects are 404).
    User,
    /// Admin accounts only (403 for others).
    Admin,
    /// An account (its own objects, or what partners and albums share with it), or a shared-link
    /// holder for what the link shares.
    LinkRead,
    /// As [`Policy::LinkRead`], and a link holder only through a link that allows uploads.
    LinkUpload,
    /// As [`Policy::LinkRead`], and a link holder only through a link that allows downloads
    /// (and shows metadata).
    LinkDownload,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Public => "public",
            Policy::LinkKey => "link-key",
            Policy::User => "user",
            Policy::Admin => "admin",
            Policy::LinkRead => "link-read",
            Policy::LinkUpload => "link-upload",
            Policy::LinkDownload => "link-download",
        }
    }
}

use Policy::*;

/// (method, path as mounted, policy). `HEAD` of a `GET` route has the `GET` route's policy.
pub const POLICIES: &[(&str, &str, Policy)] = &[
    ("GET", "/.well-known/immich", Public),
    ("GET", "/share/{key}", LinkKey),
    ("POST", "/share/{key}", LinkKey),
    // server info and statistics
    ("GET", "/api/server/ping", Public),
    ("GET", "/api/server/version", Public),
    ("GET", "/api/server/features", Public),
    ("GET", "/api/server/media-types", Public),
    ("GET", "/api/server/statistics", Admin),
    ("GET", "/api/server/storage", User),
    // accounts
    ("POST", "/api/auth/admin-sign-up", Public),
    ("POST", "/api/auth/login", Public),
    ("POST", "/api/auth/logout", User),
    ("GET", "/api/api-keys", User),
    ("POST", "/api/api-keys", User),
    ("GET", "/api/api-keys/me", User),
    ("GET", "/api/api-keys/{id}", User),
    ("DELETE", "/api/api-keys/{id}", User),
    ("GET", "/api/users/me", User),
    ("PUT", "/api/users/me", User),
    ("GET", "/api/admin/users", Admin),
    ("POST", "/api/admin/users", Admin),
    ("GET", "/api/admin/users/{id}", Admin),
    ("PUT", "/api/admin/users/{id}", Admin),
    ("DELETE", "/api/admin/users/{id}", Admin),
    ("POST", "/api/admin/users/{id}/restore", Admin),
    ("GET", "/api/jobs", Admin),
    ("PUT", "/api/jobs/{name}", Admin),
    // assets
    ("POST", "/api/assets", LinkUpload),
    ("PUT", "/api/assets", User),
    ("DELETE", "/api/assets", User),
    ("POST", "/api/assets/bulk-upload-check", User),
    ("POST", "/api/assets/exist", User),
    ("GET", "/api/assets/{id}", LinkRead),
    ("PUT", "/api/assets/{id}", User),
    ("GET", "/api/assets/{id}/original", LinkDownload),
    ("GET", "/api/assets/{id}/thumbnail", LinkRead),
    ("GET", "/api/timeline/buckets", LinkRead),
    ("GET", "/api/timeline/bucket", LinkRead),
    ("GET", "/api/devices", User),
    ("GET", "/api/sync/delta", User),
    ("POST", "/api/trash/restore", User),
    ("POST", "/api/trash/restore/assets", User),
    ("POST", "/api/trash/empty", User),
    // tus
    ("OPTIONS", "/api/upload", Public),
    ("POST", "/api/upload", User),
    ("POST", "/api/upload/{id}", User),
    ("HEAD", "/api/upload/{id}", User),
    ("PATCH", "/api/upload/{id}", User),
    ("DELETE", "/api/upload/{id}", User),
    // albums, sharing
    ("GET", "/api/albums", User),
    ("POST", "/api/albums", User),
    ("GET", "/api/albums/{id}", LinkRead),
    ("PUT", "/api/albums/{id}/assets", User),
    ("PUT", "/api/albums/{id}/users", User),
    ("PUT", "/api/albums/{id}/user/{user_id}", User),
    ("DELETE", "/api/albums/{id}/user/{user_id}", User),
    ("GET", "/api/shared-links", User),
    ("POST", "/api/shared-links", User),
    ("GET", "/api/shared-links/me", LinkKey),
    ("POST", "/api/shared-links/login", LinkKey),
    ("GET", "/api/shared-links/{id}", User),
    ("PATCH", "/api/shared-links/{id}", User),
    ("DELETE", "/api/shared-links/{id}", User),
    ("PUT", "/api/shared-links/{id}/assets", User),
    ("DELETE", "/api/shared-links/{id}/assets", User),
    ("GET", "/api/partners", User),
    ("POST", "/api/partners", User),
    ("POST", "/api/partners/{id}", User),
    ("PUT", "/api/partners/{id}", User),
    ("DELETE", "/api/partners/{id}", User),
    // places, search, people
    ("GET", "/api/map/markers", User),
    ("POST", "/api/search/metadata", User),
    ("POST", "/api/search/smart", User),
    ("GET", "/api/search/cities", User),
    ("GET", "/api/search/explore", User),
    ("GET", "/api/search/suggestions", User),
    ("GET", "/api/search/places", User),
    ("GET", "/api/search/person", User),
    ("GET", "/api/people", User),
    ("POST", "/api/people", User),
    ("GET", "/api/people/{id}", User),
    ("PUT", "/api/people/{id}", User),
    ("GET", "/api/people/{id}/statistics", User),
    ("GET", "/api/people/{id}/thumbnail", User),
    ("POST", "/api/people/{id}/merge", User),
    ("PUT", "/api/people/{id}/reassign", User),
    ("GET", "/api/faces", User),
    ("PUT", "/api/faces/{id}", User),
];

/// The declared policy of `method` on the mounted `path`.
pub fn lookup(method: &Method, path: &str) -> Option<Policy> {
    let find = |m: &str| {
        POLICIES
            .iter()
            .find(|(pm, pp, _)| *pm == m && *pp == path)
            .map(|(_, _, p)| *p)
    };
    find(method.as_str()).or_else(|| (method == Method::HEAD).then(|| find("GET")).flatten())
}

/// Middleware on every matched route: a method without a declared policy never reaches a
/// handler. It answers 405 with the declared methods in `Allow`, which is also what axum says
/// for a method the path does not mount; a route mounted without a policy thus fails closed
/// (and `tests/authz_matrix.rs` names it).
pub async fn require_declared(req: Request, next: Next) -> Response {
    let Some(path) = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        return next.run(req).await;
    };
    if lookup(req.method(), &path).is_some() {
        return next.run(req).await;
    }
    let mut allow: Vec<&str> = POLICIES
        .iter()
        .filter(|(_, p, _)| *p == path)
        .map(|(m, _, _)| *m)
        .collect();
    if allow.contains(&"GET") && !allow.contains(&"HEAD") {
        allow.push("HEAD");
    }
    if allow.is_empty() {
        tracing::error!(%path, "route mounted without a declared access policy");
    }
    let mut resp = (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(json!({
            "message": format!("{} is not allowed here", req.method()),
            "error": "Method Not Allowed",
            "statusCode": 405,
        })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&allow.join(",")) {
        resp.headers_mut().insert(header::ALLOW, v);
    }
    resp
}

/// The (method, path) pairs mounted on `router`, read from the router itself: its `Debug` form
/// lists each path and, per path, the method router with its `Allow` header. `HEAD` counts only
/// where a route mounts it explicitly (axum answers `HEAD` of every `GET` route by itself).
pub fn mounted_routes<S>(router: &axum::Router<S>) -> Vec<(String, String)> {
    let dump = format!("{router:?}");
    // The routes are in `path_router`; `fallback_router` holds the catch-all, not a route.
    let dump = dump.split("fallback_router:").next().unwrap_or("");
    let mut paths: HashMap<&str, &str> = HashMap::new();
    let mut methods: HashMap<&str, (String, bool)> = HashMap::new();
    let mut rest = dump;
    while let Some(i) = rest.find("RouteId(") {
        rest = &rest[i + "RouteId(".len()..];
        let Some(close) = rest.find(')') else { break };
        let id = &rest[..close];
        let after = &rest[close + 1..];
        if let Some(quoted) = after.strip_prefix(": \"")
            && let Some(end) = quoted.find('"')
        {
            paths.insert(id, &quoted[..end]);
        } else if let Some(body) = after.strip_prefix(": MethodRouter(MethodRouter {") {
            let Some(a) = body.find("allow_header: ") else {
                continue;
            };
            // this method router's fields, up to its `Allow` header
            let fields = &body[..a];
            let explicit_head = fields
                .find("head: ")
                .is_some_and(|h| !fields[h + "head: ".len()..].starts_with("None"));
            if let Some(allow) = body[a..].strip_prefix("allow_header: Bytes(b\"") {
                let allow = &allow[..allow.find('"').unwrap_or(0)];
                methods.insert(id, (allow.to_owned(), explicit_head));
            }
        }
    }
    let mut out = Vec::new();
    for (id, path) in paths {
        if path.contains("__private__") {
            continue;
        }
        let Some((allow, explicit_head)) = methods.get(id) else {
            continue;
        };
        for m in allow.split(',').filter(|m| !m.is_empty()) {
            if m == "HEAD" && !explicit_head {
                continue;
            }
            out.push((m.to_owned(), path.to_owned()));
        }
    }
    out.sort();
    out
}

/// `shoebox-server routes`: the mounted routes with their declared policies (`null` where
/// none is declared), and any declared route that is not mounted, as JSON.
pub fn describe<S>(router: &axum::Router<S>) -> Value {
    let mounted = mounted_routes(router);
    json!({
        "routes": mounted
            .iter()
            .map(|(m, p)| {
                let policy = Method::from_bytes(m.as_bytes())
                    .ok()
                    .and_then(|m| lookup(&m, p))
                    .map(Policy::as_str);
                json!({"method": m, "path": p, "policy": policy})
            })
            .collect::<Vec<_>>(),
        "declaredNotMounted": POLICIES
            .iter()
            .filter(|(m, p, _)| !mounted.iter().any(|(mm, pp)| mm == m && pp == p))
            .map(|(m, p, _)| format!("{m} {p}"))
            .collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_router_lists_its_routes_and_each_has_a_policy() {
        let mounted = mounted_routes(&crate::app::routes());
        assert!(mounted.len() > 70, "{mounted:?}");
        let has = |m: &str, p: &str| mounted.iter().any(|(mm, pp)| mm == m && pp == p);
        assert!(has("GET", "/api/assets/{id}") && has("PUT", "/api/assets/{id}"));
        assert!(
            has("POST", "/api/assets/exist"),
            "a layered method router counts"
        );
        assert!(has("HEAD", "/api/upload/{id}"), "an explicit HEAD counts");
        assert!(
            !has("HEAD", "/api/assets/{id}"),
            "an implicit HEAD does not"
        );
        assert!(
            !mounted.iter().any(|(_, p)| p == "/"),
            "the fallback is no route"
        );
        for (m, p) in &mounted {
            let method = Method::from_bytes(m.as_bytes()).unwrap();
            assert!(
                lookup(&method, p).is_some(),
                "{m} {p} has no declared policy"
            );
        }
        for (m, p, _) in POLICIES {
            assert!(has(m, p), "{m} {p} is declared but not mounted");
        }
    }

    #[test]
    fn every_declared_route_is_unique_and_head_follows_get() {
        for (i, (m, p, _)) in POLICIES.iter().enumerate() {
            assert!(
                !POLICIES[..i].iter().any(|(m2, p2, _)| m2 == m && p2 == p),
                "{m} {p} declared twice"
            );
        }
        assert_eq!(lookup(&Method::HEAD, "/api/assets/{id}"), Some(LinkRead));
        assert_eq!(lookup(&Method::HEAD, "/api/upload/{id}"), Some(User));
        assert_eq!(lookup(&Method::PATCH, "/api/assets/{id}"), None);
    }
}
