//! Albums: list, create, read with assets, add assets; and `add_to_named`, which upload paths
//! use to file an asset into albums by name (creating them), as `immich upload --album` and the
//! phone's album sync expect.

use crate::access::{self, Principal};
use crate::app::AppState;
use crate::assets::{self, Asset};
use crate::auth::Auth;
use crate::db::optional;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiJson;
use crate::users::{self, User};
use crate::{clock, ids};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use rusqlite::{Connection, Row, params};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/albums", get(list).post(create))
        .route("/albums/{id}", get(get_one))
        .route("/albums/{id}/assets", put(add_assets))
        .route("/albums/{id}/users", put(add_users))
        .route(
            "/albums/{id}/user/{user_id}",
            put(update_user).delete(remove_user),
        )
}

const MAX_IDS: usize = 65_000;

/// The id of the owner's album called `name`, created if missing.
fn ensure_named(c: &Connection, owner: &str, name: &str) -> rusqlite::Result<String> {
    if let Some(id) = optional(c.query_row(
        "SELECT id FROM albums WHERE owner_id = ?1 AND name = ?2 ORDER BY created_at LIMIT 1",
        [owner, name],
        |r| r.get(0),
    ))? {
        return Ok(id);
    }
    let id = ids::new_id();
    let now = clock::now_api();
    c.execute(
        "INSERT INTO albums (id, owner_id, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![id, owner, name, now],
    )?;
    Ok(id)
}

/// Files `asset_id` into each of the owner's albums named in `names` (idempotent).
pub fn add_to_named(
    c: &Connection,
    owner: &str,
    names: &[String],
    asset_id: &str,
) -> rusqlite::Result<()> {
    for name in names {
        let album = ensure_named(c, owner, name)?;
        c.execute(
            "INSERT OR IGNORE INTO album_assets (album_id, asset_id, added_at) VALUES (?1, ?2, ?3)",
            params![album, asset_id, clock::now_api()],
        )?;
    }
    Ok(())
}

struct AlbumRow {
    id: String,
    owner_id: String,
    name: String,
    description: String,
    created_at: String,
    updated_at: String,
    asset_count: i64,
    thumbnail: Option<String>,
    has_link: bool,
}

const ALBUM_SELECT: &str = "SELECT a.id, a.owner_id, a.name, a.description, a.created_at, a.updated_at, \
    (SELECT COUNT(*) FROM album_assets x JOIN assets s ON s.id = x.asset_id \
        WHERE x.album_id = a.id AND s.deleted_at IS NULL), \
    (SELECT x.asset_id FROM album_assets x WHERE x.album_id = a.id ORDER BY x.added_at LIMIT 1), \
    EXISTS(SELECT 1 FROM shared_links l WHERE l.album_id = a.id) \
    FROM albums a";

fn album_row(r: &Row<'_>) -> rusqlite::Result<AlbumRow> {
    Ok(AlbumRow {
        id: r.get(0)?,
        owner_id: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
        asset_count: r.get(6)?,
        thumbnail: r.get(7)?,
        has_link: r.get(8)?,
    })
}

fn load_user(c: &Connection, id: &str) -> rusqlite::Result<User> {
    c.query_row(
        &format!("SELECT {} FROM users WHERE id = ?1", users::COLUMNS),
        [id],
        User::from_row,
    )
}

/// The members of an album with their roles.
fn album_users(c: &Connection, album: &str) -> rusqlite::Result<Vec<(User, String)>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT au.role, {} FROM album_users au JOIN users u ON u.id = au.user_id \
         WHERE au.album_id = ?1 AND u.deleted_at IS NULL ORDER BY u.email",
        crate::db::qualified(users::COLUMNS, "u")
    ))?;
    let rows = stmt.query_map([album], |r| {
        Ok((User::from_row_offset(r, 1)?, r.get::<_, String>(0)?))
    })?;
    rows.collect()
}

/// Immich's `AlbumResponseDto` for one row (owner and members loaded here).
/// Immich's `AlbumResponseDto`. `withhold`: for a link that hides metadata, the owner's id and
/// email and the members are left out (empty values where the schema requires a field).
fn album_json(
    c: &Connection,
    a: &AlbumRow,
    assets: Vec<Value>,
    withhold: bool,
) -> rusqlite::Result<Value> {
    let owner = load_user(c, &a.owner_id)?;
    let members = album_users(c, &a.id)?;
    let shared = !members.is_empty() || a.has_link;
    let members: Vec<Value> = if withhold {
        Vec::new()
    } else {
        members
            .iter()
            .map(|(u, role)| json!({"user": u.to_public_json(), "role": role}))
            .collect()
    };
    Ok(json!({
        "id": a.id,
        "ownerId": if withhold { "" } else { a.owner_id.as_str() },
        "owner": if withhold { owner.to_withheld_json() } else { owner.to_public_json() },
        "albumName": a.name,
        "description": a.description,
        "albumThumbnailAssetId": a.thumbnail,
        "createdAt": a.created_at,
        "updatedAt": a.updated_at,
        "assetCount": a.asset_count,
        "assets": assets,
        "albumUsers": members,
        "shared": shared,
        "hasSharedLink": a.has_link,
        "isActivityEnabled": true,
        "order": "desc",
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    #[serde(default)]
    shared: Option<bool>,
    #[serde(default)]
    asset_id: Option<String>,
}

/// Albums the caller owns or is a member of. `shared=true`: only shared ones (owned albums
/// with members or a link, and albums shared with the caller); `shared=false`: owned albums
/// that are not shared.
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query?;
    let asset_filter = q.asset_id.map(|a| ids::parse("assetId", &a)).transpose()?;
    let me = auth.user.id.clone();
    let scope = match q.shared {
        None => {
            "(a.owner_id = ?1 OR EXISTS(SELECT 1 FROM album_users au WHERE au.album_id = a.id AND au.user_id = ?1))"
        }
        Some(true) => {
            "((a.owner_id = ?1 AND (EXISTS(SELECT 1 FROM album_users au WHERE au.album_id = a.id) \
                OR EXISTS(SELECT 1 FROM shared_links l WHERE l.album_id = a.id))) \
             OR EXISTS(SELECT 1 FROM album_users au WHERE au.album_id = a.id AND au.user_id = ?1))"
        }
        Some(false) => {
            "(a.owner_id = ?1 AND NOT EXISTS(SELECT 1 FROM album_users au WHERE au.album_id = a.id) \
             AND NOT EXISTS(SELECT 1 FROM shared_links l WHERE l.album_id = a.id))"
        }
    };
    let out = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare(&format!(
                "{ALBUM_SELECT} JOIN users o ON o.id = a.owner_id \
                 WHERE o.deleted_at IS NULL AND {scope} AND (?2 IS NULL OR EXISTS \
                 (SELECT 1 FROM album_assets x WHERE x.album_id = a.id AND x.asset_id = ?2)) \
                 ORDER BY a.created_at"
            ))?;
            let rows = stmt
                .query_map(params![me, asset_filter], album_row)?
                .collect::<Result<Vec<_>, _>>()?;
            let out = rows
                .iter()
                .map(|a| album_json(c, a, vec![], false))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(out)
        })
        .await?;
    Ok(Json(Value::Array(out)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewAlbum {
    album_name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    asset_ids: Vec<String>,
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<NewAlbum>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = body.album_name.trim().to_owned();
    if name.is_empty() || name.len() > 500 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "albumName must be 1 to 500 printable characters",
        ));
    }
    let description = body.description.unwrap_or_default();
    if description.len() > 10_000 {
        return Err(ApiError::bad_request("description is too long"));
    }
    if body.asset_ids.len() > MAX_IDS {
        return Err(ApiError::bad_request("too many assetIds"));
    }
    let asset_ids = body
        .asset_ids
        .iter()
        .map(|a| ids::parse("assetIds", a))
        .collect::<ApiResult<Vec<_>>>()?;
    let owner = auth.user.id.clone();
    let id = ids::new_id();
    let album_id = id.clone();
    state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            let now = clock::now_api();
            tx.execute(
                "INSERT INTO albums (id, owner_id, name, description, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![album_id, owner, name, description, now],
            )?;
            for asset in &asset_ids {
                assets::get_owned(&tx, &owner, asset)?;
                tx.execute(
                    "INSERT OR IGNORE INTO album_assets (album_id, asset_id, added_at) VALUES (?1, ?2, ?3)",
                    params![album_id, asset, now],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
    let album = load(&state, &Principal::User(auth.user), id).await?;
    Ok((StatusCode::CREATED, Json(album)))
}

/// The album JSON with its assets, as `principal` may see it.
async fn load(state: &AppState, principal: &Principal, id: String) -> ApiResult<Value> {
    let p = principal.clone();
    state
        .db
        .call(move |c| {
            let role = access::album(c, &p, &id)?;
            let row = optional(c.query_row(
                &format!("{ALBUM_SELECT} WHERE a.id = ?1"),
                [&id],
                album_row,
            ))?
            .ok_or_else(|| ApiError::not_found("Album"))?;
            // Only the owner sees their own locked assets in an album.
            let mut stmt = c.prepare(&format!(
                "SELECT {} FROM assets a JOIN album_assets x ON x.asset_id = a.id \
                 WHERE x.album_id = ?1 AND a.deleted_at IS NULL \
                 AND (a.visibility != 'locked' OR a.owner_id = ?2) ORDER BY a.file_created_at DESC",
                crate::db::qualified(assets::COLUMNS, "a")
            ))?;
            let viewer = match (&p, role) {
                (Principal::User(u), _) => u.id.clone(),
                (Principal::Link { .. }, _) => String::new(),
            };
            let mut assets = stmt
                .query_map([&id, &viewer], Asset::from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            let hide = matches!(&p, Principal::Link { link, .. } if !link.show_metadata);
            if !hide {
                assets::attach_exif(c, &mut assets)?;
            }
            let assets = assets
                .iter()
                .map(|a| {
                    if hide {
                        access::sanitized_json(a)
                    } else {
                        a.to_json()
                    }
                })
                .collect();
            Ok(album_json(c, &row, assets, hide)?)
        })
        .await
}

async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = ids::parse("id", &id)?;
    Ok(Json(load(&state, &principal, id).await?))
}

#[derive(Deserialize)]
struct BulkIds {
    ids: Vec<String>,
}

/// Adds the caller's own assets; the album owner and editors may, viewers may not (403: they
/// know the album exists).
async fn add_assets(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BulkIds>,
) -> ApiResult<Json<Value>> {
    let album = ids::parse("id", &id)?;
    if body.ids.len() > MAX_IDS {
        return Err(ApiError::bad_request("too many ids"));
    }
    let me = Principal::User(auth.user.clone());
    let owner = auth.user.id;
    let results = state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            if !access::album(&tx, &me, &album)?.may_add() {
                return Err(ApiError::Forbidden(
                    "Viewers cannot add assets to this album".into(),
                ));
            }
            let now = clock::now_api();
            let mut results = Vec::with_capacity(body.ids.len());
            for raw in &body.ids {
                let Ok(asset) = ids::parse("id", raw) else {
                    results.push(json!({"id": raw, "success": false, "error": "not_found"}));
                    continue;
                };
                if assets::get_owned(&tx, &owner, &asset).is_err() {
                    results.push(json!({"id": raw, "success": false, "error": "not_found"}));
                    continue;
                }
                let n = tx.execute(
                    "INSERT OR IGNORE INTO album_assets (album_id, asset_id, added_at) VALUES (?1, ?2, ?3)",
                    params![album, asset, now],
                )?;
                if n == 0 {
                    results.push(json!({"id": raw, "success": false, "error": "duplicate"}));
                } else {
                    results.push(json!({"id": raw, "success": true}));
                }
            }
            tx.execute(
                "UPDATE albums SET updated_at = ?1 WHERE id = ?2",
                params![now, album],
            )?;
            tx.commit()?;
            Ok(results)
        })
        .await?;
    Ok(Json(Value::Array(results)))
}

const ROLES: &[&str] = &["editor", "viewer"];

fn parse_role(raw: Option<&str>) -> ApiResult<&'static str> {
    match raw {
        None => Ok("editor"),
        Some(r) => ROLES
            .iter()
            .find(|x| **x == r)
            .copied()
            .ok_or_else(|| ApiError::bad_request("role must be editor or viewer")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlbumUserIn {
    user_id: String,
    #[serde(default)]
    role: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddUsers {
    album_users: Vec<AlbumUserIn>,
}

/// Only the owner manages members; a member gets 403, anyone else 404.
fn require_owner(c: &Connection, user: &User, album: &str) -> ApiResult<()> {
    match access::album(c, &Principal::User(user.clone()), album)? {
        access::AlbumRole::Owner => Ok(()),
        _ => Err(ApiError::Forbidden(
            "Only the album owner can manage its members".into(),
        )),
    }
}

/// `PUT /api/albums/{id}/users {albumUsers: [{userId, role}]}`: shares the album (a user
/// already in it gets the new role).
async fn add_users(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AddUsers>,
) -> ApiResult<Json<Value>> {
    let album = ids::parse("id", &id)?;
    if body.album_users.is_empty() || body.album_users.len() > 1000 {
        return Err(ApiError::bad_request(
            "albumUsers must list 1 to 1000 users",
        ));
    }
    let members = body
        .album_users
        .iter()
        .map(|u| {
            Ok((
                ids::parse("userId", &u.user_id)?,
                parse_role(u.role.as_deref())?,
            ))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let user = auth.user.clone();
    let a = album.clone();
    state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            require_owner(&tx, &user, &a)?;
            for (uid, role) in &members {
                if *uid == user.id {
                    return Err(ApiError::bad_request(
                        "Cannot share an album with its owner",
                    ));
                }
                let exists: bool = tx.query_row(
                    "SELECT EXISTS(SELECT 1 FROM users WHERE id = ?1 AND deleted_at IS NULL)",
                    [uid],
                    |r| r.get(0),
                )?;
                if !exists {
                    return Err(ApiError::bad_request(format!("User {uid} not found")));
                }
                tx.execute(
                    "INSERT INTO album_users (album_id, user_id, role) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (album_id, user_id) DO UPDATE SET role = excluded.role",
                    params![a, uid, role],
                )?;
            }
            tx.execute(
                "UPDATE albums SET updated_at = ?1 WHERE id = ?2",
                params![clock::now_api(), a],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    tracing::info!(album = %album, by = %auth.user.id, "album shared");
    Ok(Json(
        load(&state, &Principal::User(auth.user), album).await?,
    ))
}

#[derive(Deserialize)]
struct RoleIn {
    role: String,
}

/// `PUT /api/albums/{id}/user/{userId} {role}`: the owner changes a member's role.
async fn update_user(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, user_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<RoleIn>,
) -> ApiResult<axum::http::StatusCode> {
    let album = ids::parse("id", &id)?;
    let member = ids::parse("userId", &user_id)?;
    let role = parse_role(Some(&body.role))?;
    let user = auth.user;
    state
        .db
        .call(move |c| {
            require_owner(c, &user, &album)?;
            let n = c.execute(
                "UPDATE album_users SET role = ?3 WHERE album_id = ?1 AND user_id = ?2",
                params![album, member, role],
            )?;
            if n == 0 {
                return Err(ApiError::not_found("Album member"));
            }
            Ok(())
        })
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// `DELETE /api/albums/{id}/user/{userId}` (`me` = leave): the owner removes anyone, a member
/// only themselves.
async fn remove_user(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<axum::http::StatusCode> {
    let album = ids::parse("id", &id)?;
    let member = if user_id == "me" {
        auth.user.id.clone()
    } else {
        ids::parse("userId", &user_id)?
    };
    let user = auth.user;
    state
        .db
        .call(move |c| {
            let role = access::album(c, &Principal::User(user.clone()), &album)?;
            if role == access::AlbumRole::Owner && member == user.id {
                return Err(ApiError::bad_request("The owner cannot leave their album"));
            }
            if role != access::AlbumRole::Owner && member != user.id {
                return Err(ApiError::Forbidden(
                    "Only the album owner can remove other members".into(),
                ));
            }
            let n = c.execute(
                "DELETE FROM album_users WHERE album_id = ?1 AND user_id = ?2",
                [&album, &member],
            )?;
            if n == 0 {
                return Err(ApiError::not_found("Album member"));
            }
            Ok(())
        })
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
