//! Albums: list, create, read with assets, add assets; and `add_to_named`, which upload paths
//! use to file an asset into albums by name (creating them), as `immich upload --album` and the
//! phone's album sync expect.

use crate::app::AppState;
use crate::assets::{self, Asset};
use crate::auth::Auth;
use crate::db::optional;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiJson;
use crate::users::User;
use crate::{clock, ids};
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
    name: String,
    description: String,
    created_at: String,
    updated_at: String,
    asset_count: i64,
    thumbnail: Option<String>,
}

const ALBUM_SELECT: &str = "SELECT a.id, a.name, a.description, a.created_at, a.updated_at, \
    (SELECT COUNT(*) FROM album_assets x WHERE x.album_id = a.id), \
    (SELECT x.asset_id FROM album_assets x WHERE x.album_id = a.id ORDER BY x.added_at LIMIT 1) \
    FROM albums a";

fn album_row(r: &Row<'_>) -> rusqlite::Result<AlbumRow> {
    Ok(AlbumRow {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        created_at: r.get(3)?,
        updated_at: r.get(4)?,
        asset_count: r.get(5)?,
        thumbnail: r.get(6)?,
    })
}

fn album_json(a: &AlbumRow, owner: &User, assets: Vec<Value>) -> Value {
    json!({
        "id": a.id,
        "ownerId": owner.id,
        "owner": owner.to_json(),
        "albumName": a.name,
        "description": a.description,
        "albumThumbnailAssetId": a.thumbnail,
        "createdAt": a.created_at,
        "updatedAt": a.updated_at,
        "assetCount": a.asset_count,
        "assets": assets,
        "albumUsers": [],
        "shared": false,
        "hasSharedLink": false,
        "isActivityEnabled": true,
        "order": "desc",
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    #[serde(default)]
    shared: Option<bool>,
    #[serde(default)]
    asset_id: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    if q.shared == Some(true) {
        // Sharing albums with other users arrives with the sharing issue.
        return Ok(Json(json!([])));
    }
    let asset_filter = q.asset_id.map(|a| ids::parse("assetId", &a)).transpose()?;
    let owner = auth.user.clone();
    let rows = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare(&format!(
                "{ALBUM_SELECT} WHERE a.owner_id = ?1 AND (?2 IS NULL OR EXISTS \
                 (SELECT 1 FROM album_assets x WHERE x.album_id = a.id AND x.asset_id = ?2)) \
                 ORDER BY a.created_at"
            ))?;
            let rows = stmt.query_map(params![owner.id, asset_filter], album_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    Ok(Json(Value::Array(
        rows.iter()
            .map(|a| album_json(a, &auth.user, vec![]))
            .collect(),
    )))
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
    let album = load(&state, &auth, id).await?;
    Ok((StatusCode::CREATED, Json(album)))
}

async fn load(state: &AppState, auth: &Auth, id: String) -> ApiResult<Value> {
    let owner = auth.user.id.clone();
    let (row, assets) = state
        .db
        .call(move |c| {
            let row = optional(c.query_row(
                &format!("{ALBUM_SELECT} WHERE a.id = ?1 AND a.owner_id = ?2"),
                [&id, &owner],
                album_row,
            ))?
            .ok_or_else(|| ApiError::not_found("Album"))?;
            let mut stmt = c.prepare(&format!(
                "SELECT {} FROM assets a JOIN album_assets x ON x.asset_id = a.id \
                 WHERE x.album_id = ?1 AND a.deleted_at IS NULL ORDER BY a.file_created_at DESC",
                crate::db::qualified(assets::COLUMNS, "a")
            ))?;
            let assets = stmt
                .query_map([&id], Asset::from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok((row, assets))
        })
        .await?;
    let assets = assets.iter().map(Asset::to_json).collect();
    Ok(album_json(&row, &auth.user, assets))
}

async fn get_one(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = ids::parse("id", &id)?;
    Ok(Json(load(&state, &auth, id).await?))
}

#[derive(Deserialize)]
struct BulkIds {
    ids: Vec<String>,
}

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
    let owner = auth.user.id;
    let results = state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            let owns: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM albums WHERE id = ?1 AND owner_id = ?2)",
                [&album, &owner],
                |r| r.get(0),
            )?;
            if !owns {
                return Err(ApiError::not_found("Album"));
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
