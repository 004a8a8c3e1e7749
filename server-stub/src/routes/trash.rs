//! The trash, as Immich has it: `POST /api/trash/restore` (everything), `POST
//! /api/trash/restore/assets {ids}` and `POST /api/trash/empty` (permanent delete of every
//! trashed asset, originals and derived files). Each answers `{count}`.

use crate::app::AppState;
use crate::assets;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiJson;
use crate::{clock, ids, storage};
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/trash/restore", post(restore_all))
        .route("/trash/restore/assets", post(restore_some))
        .route("/trash/empty", post(empty))
}

/// Most ids one request may name.
pub const MAX_IDS: usize = 50_000;

#[derive(Deserialize)]
pub struct BulkIds {
    pub ids: Vec<String>,
}

/// Parses and de-duplicates client ids (400 on a malformed one or too many).
pub fn parse_ids(raw: &[String]) -> ApiResult<Vec<String>> {
    if raw.len() > MAX_IDS {
        return Err(ApiError::bad_request(format!("at most {MAX_IDS} ids")));
    }
    let mut out = raw
        .iter()
        .map(|i| ids::parse("ids", i))
        .collect::<ApiResult<Vec<_>>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

async fn restore_all(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let owner = auth.user.id;
    let n = state
        .db
        .call(move |c| {
            Ok(c.execute(
                "UPDATE assets SET deleted_at = NULL, updated_at = ?2 \
                 WHERE owner_id = ?1 AND deleted_at IS NOT NULL",
                [&owner, &clock::now_api()],
            )?)
        })
        .await?;
    Ok(Json(json!({"count": n})))
}

async fn restore_some(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<BulkIds>,
) -> ApiResult<Json<Value>> {
    let ids = parse_ids(&body.ids)?;
    let owner = auth.user.id;
    let n = state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            for id in &ids {
                assets::get_owned(&tx, &owner, id)?;
            }
            let now = clock::now_api();
            let mut n = 0;
            for id in &ids {
                n += tx.execute(
                    "UPDATE assets SET deleted_at = NULL, updated_at = ?3 \
                     WHERE id = ?1 AND owner_id = ?2 AND deleted_at IS NOT NULL",
                    [id, &owner, &now],
                )?;
            }
            tx.commit()?;
            Ok(n)
        })
        .await?;
    Ok(Json(json!({"count": n})))
}

async fn empty(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let owner = auth.user.id;
    let (n, files) = state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            let ids: Vec<String> = {
                let mut stmt = tx.prepare(
                    "SELECT id FROM assets WHERE owner_id = ?1 AND deleted_at IS NOT NULL",
                )?;
                let rows = stmt.query_map([&owner], |r| r.get(0))?;
                rows.collect::<Result<_, _>>()?
            };
            let mut files = Vec::new();
            for id in &ids {
                files.extend(assets::delete_permanently(&tx, &owner, id)?.unwrap_or_default());
            }
            tx.commit()?;
            Ok((ids.len(), files))
        })
        .await?;
    for rel in files {
        storage::remove_quietly(&state.storage.abs(&rel));
    }
    tracing::info!(count = n, "trash emptied");
    Ok(Json(json!({"count": n})))
}
