//! Who may call each route: the one table of access policies, next to the route table in
//! [`crate::app`]. Every mounted (method, path) has exactly one entry; a request to a route
//! without one is refused (405) before its handler runs, and the authorization matrix
//! test (`tests/authz_matrix.rs`) enumerates the mounted routes from the router itself
//! (`shoebox-server routes`) and calls each as every class of caller, so a route added without a
//! policy fails that test the day it is added.
//!
//! The handlers enforce the policies with their extractors (`Auth`, `AuthAdmin`, `Principal`)
//! and the checks in [`crate::access`]; this table says what they must add up to.
//!
//! Each entry also names the API-key permission the route needs (Immich 2.x names, see
//! [`crate::auth::permissions`]); the middleware hands it to the `Auth` extractor, which answers
//! 403 to a key without it. A route that takes an account must name one (the unit test below
//! and the matrix test check this).

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;

pub use crate::auth::permissions::Required;
use Required::{AnyKey, Nothing, Permission};

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

/// (method, path as mounted, policy, what an API key needs). `HEAD` of a `GET` route has the
/// `GET` route's entry.
pub const POLICIES: &[(&str, &str, Policy, Required)] = &[
    ("GET", "/.well-known/immich", Public, Nothing),
    ("GET", "/share/{key}", LinkKey, Nothing),
    ("POST", "/share/{key}", LinkKey, Nothing),
    // server info and statistics
    ("GET", "/api/server/ping", Public, Nothing),
    ("GET", "/api/server/version", Public, Nothing),
    ("GET", "/api/server/features", Public, Nothing),
    ("GET", "/api/server/media-types", Public, Nothing),
    (
        "GET",
        "/api/server/statistics",
        Admin,
        Permission("server.statistics"),
    ),
    (
        "GET",
        "/api/server/storage",
        User,
        Permission("server.storage"),
    ),
    // accounts
    ("POST", "/api/auth/admin-sign-up", Public, Nothing),
    ("POST", "/api/auth/login", Public, Nothing),
    ("POST", "/api/auth/logout", User, Permission("all")),
    ("GET", "/api/api-keys", User, Permission("apiKey.read")),
    ("POST", "/api/api-keys", User, Permission("apiKey.create")),
    ("GET", "/api/api-keys/me", User, AnyKey),
    ("GET", "/api/api-keys/{id}", User, Permission("apiKey.read")),
    (
        "DELETE",
        "/api/api-keys/{id}",
        User,
        Permission("apiKey.delete"),
    ),
    ("GET", "/api/users/me", User, Permission("user.read")),
    ("PUT", "/api/users/me", User, Permission("user.update")),
    (
        "GET",
        "/api/admin/users",
        Admin,
        Permission("adminUser.read"),
    ),
    (
        "POST",
        "/api/admin/users",
        Admin,
        Permission("adminUser.create"),
    ),
    (
        "GET",
        "/api/admin/users/{id}",
        Admin,
        Permission("adminUser.read"),
    ),
    (
        "PUT",
        "/api/admin/users/{id}",
        Admin,
        Permission("adminUser.update"),
    ),
    (
        "DELETE",
        "/api/admin/users/{id}",
        Admin,
        Permission("adminUser.delete"),
    ),
    (
        "POST",
        "/api/admin/users/{id}/restore",
        Admin,
        Permission("adminUser.delete"),
    ),
    ("GET", "/api/jobs", Admin, Permission("job.read")),
    ("PUT", "/api/jobs/{name}", Admin, Permission("job.create")),
    // assets
    (
        "POST",
        "/api/assets",
        LinkUpload,
        Permission("asset.upload"),
    ),
    ("PUT", "/api/assets", User, Permission("asset.update")),
    ("DELETE", "/api/assets", User, Permission("asset.delete")),
    (
        "POST",
        "/api/assets/bulk-upload-check",
        User,
        Permission("asset.upload"),
    ),
    (
        "POST",
        "/api/assets/exist",
        User,
        Permission("asset.upload"),
    ),
    (
        "GET",
        "/api/assets/{id}",
        LinkRead,
        Permission("asset.read"),
    ),
    ("PUT", "/api/assets/{id}", User, Permission("asset.update")),
    (
        "GET",
        "/api/assets/{id}/original",
        LinkDownload,
        Permission("asset.download"),
    ),
    (
        "GET",
        "/api/assets/{id}/thumbnail",
        LinkRead,
        Permission("asset.view"),
    ),
    (
        "GET",
        "/api/timeline/buckets",
        LinkRead,
        Permission("timeline.read"),
    ),
    (
        "GET",
        "/api/timeline/bucket",
        LinkRead,
        Permission("timeline.read"),
    ),
    ("GET", "/api/devices", User, Permission("asset.read")),
    ("GET", "/api/sync/delta", User, Permission("asset.read")),
    (
        "POST",
        "/api/trash/restore",
        User,
        Permission("asset.delete"),
    ),
    (
        "POST",
        "/api/trash/restore/assets",
        User,
        Permission("asset.delete"),
    ),
    ("POST", "/api/trash/empty", User, Permission("asset.delete")),
    // tus
    ("OPTIONS", "/api/upload", Public, Nothing),
    ("POST", "/api/upload", User, Permission("asset.upload")),
    ("POST", "/api/upload/{id}", User, Permission("asset.upload")),
    ("HEAD", "/api/upload/{id}", User, Permission("asset.upload")),
    (
        "PATCH",
        "/api/upload/{id}",
        User,
        Permission("asset.upload"),
    ),
    (
        "DELETE",
        "/api/upload/{id}",
        User,
        Permission("asset.upload"),
    ),
    // albums, sharing
    ("GET", "/api/albums", User, Permission("album.read")),
    ("POST", "/api/albums", User, Permission("album.create")),
    (
        "GET",
        "/api/albums/{id}",
        LinkRead,
        Permission("album.read"),
    ),
    (
        "PUT",
        "/api/albums/{id}/assets",
        User,
        Permission("albumAsset.create"),
    ),
    (
        "PUT",
        "/api/albums/{id}/users",
        User,
        Permission("albumUser.create"),
    ),
    (
        "PUT",
        "/api/albums/{id}/user/{user_id}",
        User,
        Permission("albumUser.update"),
    ),
    (
        "DELETE",
        "/api/albums/{id}/user/{user_id}",
        User,
        Permission("albumUser.delete"),
    ),
    (
        "GET",
        "/api/shared-links",
        User,
        Permission("sharedLink.read"),
    ),
    (
        "POST",
        "/api/shared-links",
        User,
        Permission("sharedLink.create"),
    ),
    ("GET", "/api/shared-links/me", LinkKey, Nothing),
    ("POST", "/api/shared-links/login", LinkKey, Nothing),
    (
        "GET",
        "/api/shared-links/{id}",
        User,
        Permission("sharedLink.read"),
    ),
    (
        "PATCH",
        "/api/shared-links/{id}",
        User,
        Permission("sharedLink.update"),
    ),
    (
        "DELETE",
        "/api/shared-links/{id}",
        User,
        Permission("sharedLink.delete"),
    ),
    (
        "PUT",
        "/api/shared-links/{id}/assets",
        User,
        Permission("sharedLink.update"),
    ),
    (
        "DELETE",
        "/api/shared-links/{id}/assets",
        User,
        Permission("sharedLink.update"),
    ),
    ("GET", "/api/partners", User, Permission("partner.read")),
    ("POST", "/api/partners", User, Permission("partner.create")),
    (
        "POST",
        "/api/partners/{id}",
        User,
        Permission("partner.create"),
    ),
    (
        "PUT",
        "/api/partners/{id}",
        User,
        Permission("partner.update"),
    ),
    (
        "DELETE",
        "/api/partners/{id}",
        User,
        Permission("partner.delete"),
    ),
    // server-wide settings and state
    (
        "GET",
        "/api/system-metadata/admin-onboarding",
        Admin,
        Permission("systemMetadata.read"),
    ),
    (
        "POST",
        "/api/system-metadata/admin-onboarding",
        Admin,
        Permission("systemMetadata.update"),
    ),
    (
        "GET",
        "/api/system-metadata/reverse-geocoding-state",
        Admin,
        Permission("systemMetadata.read"),
    ),
    // places, search, people
    ("GET", "/api/map/markers", User, Permission("map.read")),
    (
        "POST",
        "/api/search/metadata",
        User,
        Permission("asset.read"),
    ),
    ("POST", "/api/search/smart", User, Permission("asset.read")),
    ("GET", "/api/search/cities", User, Permission("asset.read")),
    ("GET", "/api/search/explore", User, Permission("asset.read")),
    (
        "GET",
        "/api/search/suggestions",
        User,
        Permission("asset.read"),
    ),
    ("GET", "/api/search/places", User, Permission("asset.read")),
    ("GET", "/api/search/person", User, Permission("person.read")),
    ("GET", "/api/people", User, Permission("person.read")),
    ("POST", "/api/people", User, Permission("person.create")),
    ("GET", "/api/people/{id}", User, Permission("person.read")),
    ("PUT", "/api/people/{id}", User, Permission("person.update")),
    (
        "GET",
        "/api/people/{id}/statistics",
        User,
        Permission("person.statistics"),
    ),
    (
        "GET",
        "/api/people/{id}/thumbnail",
        User,
        Permission("person.read"),
    ),
    (
        "POST",
        "/api/people/{id}/merge",
        User,
        Permission("person.merge"),
    ),
    (
        "PUT",
        "/api/people/{id}/reassign",
        User,
        Permission("person.reassign"),
    ),
    ("GET", "/api/faces", User, Permission("face.read")),
    ("PUT", "/api/faces/{id}", User, Permission("face.update")),
];

/// The declared policy and key permission of `method` on the mounted `path`.
pub fn lookup_entry(method: &Method, path: &str) -> Option<(Policy, Required)> {
    let find = |m: &str| {
        POLICIES
            .iter()
            .find(|(pm, pp, _, _)| *pm == m && *pp == path)
            .map(|(_, _, p, r)| (*p, *r))
    };
    find(method.as_str()).or_else(|| (method == Method::HEAD).then(|| find("GET")).flatten())
}

/// The declared policy of `method` on the mounted `path`.
#[cfg(test)]
pub fn lookup(method: &Method, path: &str) -> Option<Policy> {
    lookup_entry(method, path).map(|(p, _)| p)
}

/// Middleware on every matched route: a method without a declared policy never reaches a
/// handler. It answers 405 with the declared methods in `Allow`, which is also what axum says
/// for a method the path does not mount; a route mounted without a policy thus fails closed
/// (and `tests/authz_matrix.rs` names it). A declared route gets its key permission as a
/// request extension, for the `Auth` extractor.
pub async fn require_declared(mut req: Request, next: Next) -> Response {
    let Some(path) = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        return next.run(req).await;
    };
    if let Some((_, required)) = lookup_entry(req.method(), &path) {
        req.extensions_mut().insert(required);
        return next.run(req).await;
    }
    let mut allow: Vec<&str> = POLICIES
        .iter()
        .filter(|(_, p, _, _)| *p == path)
        .map(|(m, _, _, _)| *m)
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
            "correlationId": crate::error::correlation_id(),
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
                let entry = Method::from_bytes(m.as_bytes())
                    .ok()
                    .and_then(|m| lookup_entry(&m, p));
                json!({
                    "method": m,
                    "path": p,
                    "policy": entry.map(|(p, _)| p.as_str()),
                    "permission": entry.and_then(|(_, r)| r.as_str()),
                })
            })
            .collect::<Vec<_>>(),
        "declaredNotMounted": POLICIES
            .iter()
            .filter(|(m, p, _, _)| !mounted.iter().any(|(mm, pp)| mm == m && pp == p))
            .map(|(m, p, _, _)| format!("{m} {p}"))
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
        for (m, p, _, _) in POLICIES {
            assert!(has(m, p), "{m} {p} is declared but not mounted");
        }
    }

    #[test]
    fn every_declared_route_is_unique_and_head_follows_get() {
        for (i, (m, p, _, _)) in POLICIES.iter().enumerate() {
            assert!(
                !POLICIES[..i]
                    .iter()
                    .any(|(m2, p2, _, _)| m2 == m && p2 == p),
                "{m} {p} declared twice"
            );
        }
        assert_eq!(lookup(&Method::HEAD, "/api/assets/{id}"), Some(LinkRead));
        assert_eq!(lookup(&Method::HEAD, "/api/upload/{id}"), Some(User));
        assert_eq!(lookup(&Method::PATCH, "/api/assets/{id}"), None);
        assert_eq!(
            lookup_entry(&Method::HEAD, "/api/assets/{id}/original"),
            Some((LinkDownload, Permission("asset.download")))
        );
    }

    #[test]
    fn every_account_route_names_a_known_permission_and_public_ones_none() {
        for (m, p, policy, required) in POLICIES {
            match (policy, required) {
                (Public | LinkKey, Nothing) => {}
                (Public | LinkKey, r) => panic!("{m} {p}: no account, yet asks a key for {r:?}"),
                (_, Nothing) => panic!("{m} {p} takes an account but names no key permission"),
                (_, AnyKey) => {}
                (_, Permission(name)) => assert!(
                    crate::auth::permissions::KNOWN.contains(name),
                    "{m} {p}: {name} is no Immich permission"
                ),
            }
        }
    }
}
