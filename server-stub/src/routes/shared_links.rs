//! Shared links, in Immich's shapes: `POST/GET/PATCH/DELETE /api/shared-links` for the owner,
//! `PUT/DELETE /api/shared-links/{id}/assets` for individual links, and for guests
//! `GET /api/shared-links/me?key=` and `POST /api/shared-links/login?key= {password}` (argon2,
//! rate-limited like logins; answers an unlock token, also set as a cookie). A key is 32 random
//! bytes, base64url; it is stored with its SHA-256, which lookups use.

use crate::access::{self, LINK_COLUMNS, LinkType, Principal, SharedLink};
use crate::app::AppState;
use crate::assets::{self, Asset};
use crate::auth::client::ClientIp;
use crate::auth::rate_limit::Keys;
use crate::auth::{Auth, password, secrets};
use crate::db::optional;
use crate::error::{ApiError, ApiResult};
use crate::routes::{ApiJson, field_bool, field_str};
use crate::{clock, ids};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use rusqlite::{Connection, params};
use serde::Deserialize;
use serde_json::{Map, Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/shared-links", get(list).post(create))
        .route("/shared-links/me", get(me))
        .route("/shared-links/login", post(login))
        .route(
            "/shared-links/{id}",
            get(get_one).patch(update).delete(remove),
        )
        .route(
            "/shared-links/{id}/assets",
            put(add_assets).delete(remove_assets),
        )
}

const MAX_IDS: usize = 10_000;
const MAX_DESCRIPTION: usize = 10_000;

/// The assets a link shares (not trashed, not locked), newest first.
pub fn link_assets(c: &Connection, link: &SharedLink) -> rusqlite::Result<Vec<Asset>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {} FROM assets a WHERE a.owner_id = ?1 AND a.deleted_at IS NULL \
         AND a.visibility != 'locked' \
         AND (a.id IN (SELECT x.asset_id FROM album_assets x WHERE x.album_id = ?2) \
              OR a.id IN (SELECT s.asset_id FROM shared_link_assets s WHERE s.link_id = ?3)) \
         ORDER BY a.local_date_time DESC, a.id",
        crate::db::qualified(assets::COLUMNS, "a")
    ))?;
    let rows = stmt.query_map(
        params![link.user_id, link.album_id, link.id],
        Asset::from_row,
    )?;
    let mut out = rows.collect::<Result<Vec<_>, _>>()?;
    if link.show_metadata {
        assets::attach_exif(c, &mut out)?;
    }
    Ok(out)
}

/// The album of an album link, briefly (Immich's `AlbumResponseDto` without assets).
fn album_brief(c: &Connection, id: &str, withhold: bool) -> rusqlite::Result<Option<Value>> {
    optional(c.query_row(
        "SELECT a.id, a.owner_id, a.name, a.description, a.created_at, a.updated_at, \
         (SELECT COUNT(*) FROM album_assets x JOIN assets s ON s.id = x.asset_id \
            WHERE x.album_id = a.id AND s.deleted_at IS NULL) \
         FROM albums a WHERE a.id = ?1",
        [id],
        |r| {
            Ok(json!({
                "id": r.get::<_, String>(0)?,
                "ownerId": if withhold { String::new() } else { r.get::<_, String>(1)? },
                "albumName": r.get::<_, String>(2)?,
                "description": r.get::<_, String>(3)?,
                "createdAt": r.get::<_, String>(4)?,
                "updatedAt": r.get::<_, String>(5)?,
                "assetCount": r.get::<_, i64>(6)?,
                "assets": [],
                "albumUsers": [],
                "shared": true,
                "hasSharedLink": true,
            }))
        },
    ))
}

/// Immich's `SharedLinkResponseDto`. Guests get metadata-stripped assets when the link hides
/// metadata; the password itself is never returned (only whether there is one).
pub fn link_json(
    c: &Connection,
    link: &SharedLink,
    token: Option<&str>,
    for_guest: bool,
) -> rusqlite::Result<Value> {
    let assets = if link.link_type == LinkType::Individual || for_guest {
        link_assets(c, link)?
            .iter()
            .map(|a| {
                if for_guest && !link.show_metadata {
                    access::sanitized_json(a)
                } else {
                    a.to_json()
                }
            })
            .collect()
    } else {
        vec![]
    };
    // A guest of a link that hides metadata learns nothing of the owner's account.
    let withhold = for_guest && !link.show_metadata;
    let album = match &link.album_id {
        Some(id) => album_brief(c, id, withhold)?,
        None => None,
    };
    Ok(json!({
        "id": link.id,
        "description": link.description,
        "password": null,
        "hasPassword": link.password_hash.is_some(),
        "token": token,
        "userId": if withhold { "" } else { link.user_id.as_str() },
        "key": link.key,
        "type": link.link_type.as_str(),
        "createdAt": link.created_at,
        "expiresAt": link.expires_at,
        "assets": assets,
        "album": album,
        "allowUpload": link.allow_upload,
        "allowDownload": if for_guest { link.may_download() } else { link.allow_download },
        "showMetadata": link.show_metadata,
        "slug": null,
    }))
}

fn load_owned(c: &Connection, owner: &str, id: &str) -> ApiResult<SharedLink> {
    optional(c.query_row(
        &format!("SELECT {LINK_COLUMNS} FROM shared_links WHERE id = ?1 AND user_id = ?2"),
        [id, owner],
        SharedLink::from_row,
    ))?
    .ok_or_else(|| ApiError::not_found("Shared link"))
}

fn parse_expiry(raw: Option<&str>) -> ApiResult<Option<String>> {
    raw.map(|v| {
        crate::clock::parse_client(v)
            .map(clock::to_api)
            .ok_or_else(|| ApiError::bad_request("expiresAt must be an ISO 8601 date"))
    })
    .transpose()
}

fn check_description(d: Option<&str>) -> ApiResult<Option<String>> {
    match d {
        Some(d) if d.len() > MAX_DESCRIPTION => {
            Err(ApiError::bad_request("description is too long"))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

/// A link password: argon2id, like account passwords (any non-empty string up to 1024 bytes).
async fn hash_link_password(pw: Option<&str>) -> ApiResult<Option<String>> {
    match pw {
        None | Some("") => Ok(None),
        Some(p) if p.len() > password::MAX_LEN => {
            Err(ApiError::bad_request("password is too long"))
        }
        Some(p) => Ok(Some(password::hash(p.to_owned()).await?)),
    }
}

fn parse_asset_ids(body: &Map<String, Value>) -> ApiResult<Vec<String>> {
    let Some(v) = body.get("assetIds") else {
        return Ok(vec![]);
    };
    let arr = v
        .as_array()
        .ok_or_else(|| ApiError::bad_request("assetIds must be an array of UUIDs"))?;
    if arr.len() > MAX_IDS {
        return Err(ApiError::bad_request("too many assetIds"));
    }
    let mut out = arr
        .iter()
        .map(|x| ids::parse("assetIds", x.as_str().unwrap_or("")))
        .collect::<ApiResult<Vec<_>>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let link_type = match field_str(&body, "type")? {
        Some("ALBUM") => LinkType::Album,
        Some("INDIVIDUAL") => LinkType::Individual,
        _ => return Err(ApiError::bad_request("type must be ALBUM or INDIVIDUAL")),
    };
    let album_id = field_str(&body, "albumId")?
        .map(|a| ids::parse("albumId", a))
        .transpose()?;
    let asset_ids = parse_asset_ids(&body)?;
    match link_type {
        LinkType::Album if album_id.is_none() => {
            return Err(ApiError::bad_request("an ALBUM link needs albumId"));
        }
        LinkType::Individual if asset_ids.is_empty() => {
            return Err(ApiError::bad_request("an INDIVIDUAL link needs assetIds"));
        }
        _ => {}
    }
    let description = check_description(field_str(&body, "description")?)?;
    let expires_at = parse_expiry(field_str(&body, "expiresAt")?)?;
    let allow_upload = field_bool(&body, "allowUpload")?.unwrap_or(false);
    let allow_download = field_bool(&body, "allowDownload")?.unwrap_or(true);
    let show_metadata = field_bool(&body, "showMetadata")?.unwrap_or(true);
    let password_hash = hash_link_password(field_str(&body, "password")?).await?;
    let key = secrets::generate()?;
    let key_hash = secrets::hash(&key);
    let id = ids::new_id();
    let owner = auth.user.id.clone();
    let out = state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            if let Some(album) = &album_id {
                let owns: bool = tx.query_row(
                    "SELECT EXISTS(SELECT 1 FROM albums WHERE id = ?1 AND owner_id = ?2)",
                    [album, &owner],
                    |r| r.get(0),
                )?;
                if !owns {
                    return Err(ApiError::not_found("Album"));
                }
            }
            tx.execute(
                &format!(
                    "INSERT INTO shared_links ({LINK_COLUMNS}, key_hash) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
                ),
                params![
                    id,
                    owner,
                    key,
                    link_type.as_str(),
                    if link_type == LinkType::Album {
                        album_id
                    } else {
                        None
                    },
                    description,
                    password_hash,
                    expires_at,
                    allow_upload,
                    allow_download,
                    show_metadata,
                    clock::now_api(),
                    key_hash,
                ],
            )?;
            if link_type == LinkType::Individual {
                for asset in &asset_ids {
                    assets::get_owned(&tx, &owner, asset)?;
                    tx.execute(
                        "INSERT OR IGNORE INTO shared_link_assets (link_id, asset_id) VALUES (?1, ?2)",
                        [&id, asset],
                    )?;
                }
            }
            let link = load_owned(&tx, &owner, &id)?;
            let out = link_json(&tx, &link, None, false)?;
            tx.commit()?;
            Ok(out)
        })
        .await?;
    tracing::info!(by = %auth.user.id, link = %out["id"], "shared link created");
    Ok((StatusCode::CREATED, Json(out)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    album_id: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query?;
    let album = q.album_id.map(|a| ids::parse("albumId", &a)).transpose()?;
    let owner = auth.user.id;
    let out = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {LINK_COLUMNS} FROM shared_links WHERE user_id = ?1 \
                 AND (?2 IS NULL OR album_id = ?2) ORDER BY created_at DESC"
            ))?;
            let links = stmt
                .query_map(params![owner, album], SharedLink::from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(links
                .iter()
                .map(|l| link_json(c, l, None, false))
                .collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    Ok(Json(Value::Array(out)))
}

async fn get_one(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = ids::parse("id", &id)?;
    let owner = auth.user.id;
    let out = state
        .db
        .call(move |c| {
            let link = load_owned(c, &owner, &id)?;
            Ok(link_json(c, &link, None, false)?)
        })
        .await?;
    Ok(Json(out))
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<Json<Value>> {
    let id = ids::parse("id", &id)?;
    let description = match body.get("description") {
        None => None,
        Some(_) => Some(check_description(field_str(&body, "description")?)?),
    };
    let expires_at = match body.get("expiresAt") {
        None => None,
        Some(_) => Some(parse_expiry(field_str(&body, "expiresAt")?)?),
    };
    let password_hash = match body.get("password") {
        None => None,
        Some(_) => Some(hash_link_password(field_str(&body, "password")?).await?),
    };
    let flags = [
        ("allow_upload", field_bool(&body, "allowUpload")?),
        ("allow_download", field_bool(&body, "allowDownload")?),
        ("show_metadata", field_bool(&body, "showMetadata")?),
    ];
    let owner = auth.user.id;
    let out = state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            load_owned(&tx, &owner, &id)?;
            if let Some(d) = description {
                tx.execute(
                    "UPDATE shared_links SET description = ?1 WHERE id = ?2",
                    params![d, id],
                )?;
            }
            if let Some(e) = expires_at {
                tx.execute(
                    "UPDATE shared_links SET expires_at = ?1 WHERE id = ?2",
                    params![e, id],
                )?;
            }
            if let Some(p) = password_hash {
                tx.execute(
                    "UPDATE shared_links SET password_hash = ?1 WHERE id = ?2",
                    params![p, id],
                )?;
            }
            for (column, value) in flags {
                if let Some(v) = value {
                    // `column` is one of the three names above, never client text.
                    tx.execute(
                        &format!("UPDATE shared_links SET {column} = ?1 WHERE id = ?2"),
                        params![v, id],
                    )?;
                }
            }
            let link = load_owned(&tx, &owner, &id)?;
            let out = link_json(&tx, &link, None, false)?;
            tx.commit()?;
            Ok(out)
        })
        .await?;
    Ok(Json(out))
}

/// Revokes a link: its key stops working at once (404 afterwards).
async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = ids::parse("id", &id)?;
    let owner = auth.user.id;
    state
        .db
        .delete_owned(
            "DELETE FROM shared_links WHERE id = ?1 AND user_id = ?2",
            id,
            owner,
            "Shared link",
        )
        .await?;
    Ok(StatusCode::OK)
}

async fn change_assets(
    state: AppState,
    auth: Auth,
    id: String,
    body: Map<String, Value>,
    add: bool,
) -> ApiResult<Json<Value>> {
    let id = ids::parse("id", &id)?;
    let asset_ids = parse_asset_ids(&body)?;
    let owner = auth.user.id;
    let out = state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            let link = load_owned(&tx, &owner, &id)?;
            if link.link_type != LinkType::Individual {
                return Err(ApiError::bad_request(
                    "only INDIVIDUAL links have their own assets",
                ));
            }
            let mut out = Vec::with_capacity(asset_ids.len());
            for asset in &asset_ids {
                let result = if add {
                    if assets::get_owned(&tx, &owner, asset).is_err() {
                        json!({"assetId": asset, "success": false, "error": "not_found"})
                    } else if tx.execute(
                        "INSERT OR IGNORE INTO shared_link_assets (link_id, asset_id) VALUES (?1, ?2)",
                        [&id, asset],
                    )? == 0
                    {
                        json!({"assetId": asset, "success": false, "error": "duplicate"})
                    } else {
                        json!({"assetId": asset, "success": true})
                    }
                } else if tx.execute(
                    "DELETE FROM shared_link_assets WHERE link_id = ?1 AND asset_id = ?2",
                    [&id, asset],
                )? == 0
                {
                    json!({"assetId": asset, "success": false, "error": "not_found"})
                } else {
                    json!({"assetId": asset, "success": true})
                };
                out.push(result);
            }
            tx.commit()?;
            Ok(out)
        })
        .await?;
    Ok(Json(Value::Array(out)))
}

async fn add_assets(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<Json<Value>> {
    change_assets(state, auth, id, body, true).await
}

async fn remove_assets(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<Json<Value>> {
    change_assets(state, auth, id, body, false).await
}

/// Checks a guest's password for the link with `key` (throttled per link and client address,
/// and per address, like logins; never for the link as a whole) and answers the link with its
/// unlock token. A link without a password answers at once.
pub async fn unlock(
    state: &AppState,
    key: String,
    given: String,
    peer: std::net::IpAddr,
) -> ApiResult<(SharedLink, String)> {
    let (link, secret) = state
        .db
        .call(move |c| {
            let (link, _) = access::find_link(c, &key)?;
            Ok((link, access::share_secret(c)?))
        })
        .await?;
    let Some(phc) = link.password_hash.clone() else {
        let token = link.unlock_token(&secret);
        return Ok((link, token));
    };
    let keys = Keys::new(&format!("share:{}", link.id), peer);
    state
        .throttle
        .check(&keys)
        .map_err(|wait| ApiError::TooManyRequests {
            message: format!("Too many wrong passwords; try again in {wait} seconds"),
            retry_after_secs: wait,
        })?;
    if !password::verify(given, phc).await? {
        state.throttle.failed(&keys);
        tracing::warn!(link = %link.id, %peer, "wrong shared link password");
        return Err(ApiError::Unauthorized("Invalid password".into()));
    }
    state.throttle.succeeded(&keys);
    let token = link.unlock_token(&secret);
    Ok((link, token))
}

/// `Set-Cookie` for an unlocked link (HttpOnly, SameSite=Lax, whole site).
pub fn token_cookie(token: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=86400",
        access::LINK_TOKEN_COOKIE
    ))
    .ok()
}

#[derive(Deserialize)]
struct KeyQuery {
    key: Option<String>,
    password: Option<String>,
}

#[derive(Deserialize)]
struct LoginBody {
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    query: Result<Query<KeyQuery>, QueryRejection>,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    let Query(q) = query?;
    let key = q
        .key
        .ok_or_else(|| ApiError::bad_request("key is required"))?;
    let (link, token) = unlock(&state, key, body.password, peer).await?;
    let t = token.clone();
    let out = state
        .db
        .call(move |c| Ok(link_json(c, &link, Some(&t), true)?))
        .await?;
    let mut resp = (StatusCode::CREATED, Json(out)).into_response();
    if let Some(cookie) = token_cookie(&token) {
        resp.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(resp)
}

/// The link as its guest sees it. A password-protected link needs its unlock token (cookie,
/// `?token=`) or `?password=` (checked like `login`).
async fn me(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> ApiResult<Json<Value>> {
    let Query(q) = Query::<KeyQuery>::try_from_uri(&uri)?;
    let creds = access::link_credentials(&uri, &headers)
        .ok_or_else(|| ApiError::Unauthorized("key is required".into()))?;
    let (link, token) = match (q.password, q.key) {
        (Some(pw), Some(key)) => {
            let (link, token) = unlock(&state, key, pw, peer).await?;
            (link, Some(token))
        }
        _ => match access::resolve_link(&state, creds).await? {
            Principal::Link { link, .. } => (*link, None),
            Principal::User(_) => return Err(ApiError::not_found("Shared link")),
        },
    };
    let out = state
        .db
        .call(move |c| Ok(link_json(c, &link, token.as_deref(), true)?))
        .await?;
    Ok(Json(out))
}
