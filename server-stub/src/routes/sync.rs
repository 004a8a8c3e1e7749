//! Delta sync for the offline timeline: `GET /api/sync/delta?cursor=&limit=` returns the
//! caller's assets inserted or changed and the ids permanently deleted since `cursor`, in change
//! order, paged. Every asset insert/update takes the next number of one monotonic change
//! sequence and every delete leaves a tombstone (SQLite triggers, see `db.rs`), so an unchanged
//! library answers with empty lists and the same cursor. `serverId` identifies the data
//! directory: a different one (or a cursor from the future, `reset: true`) means start over.

use crate::app::AppState;
use crate::assets::{self, Asset};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new().route("/sync/delta", get(delta))
}

const DEFAULT_LIMIT: usize = 1000;
const MAX_LIMIT: usize = 5000;

#[derive(Deserialize)]
struct DeltaQuery {
    cursor: Option<String>,
    limit: Option<String>,
}

enum Change {
    Upsert(Box<Asset>),
    Delete(String),
}

async fn delta(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<DeltaQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query?;
    let cursor: i64 = match q.cursor.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(c) => c.parse().ok().filter(|c: &i64| *c >= 0).ok_or_else(|| {
            ApiError::bad_request("cursor must be a cursor returned by this endpoint")
        })?,
    };
    let limit: usize = match q.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .trim()
            .parse()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| ApiError::bad_request(format!("limit must be 1 to {MAX_LIMIT}")))?,
    };
    let owner = auth.user.id;
    let (server_id, changes, has_more, reset, head, albums_etag) = state
        .db
        .call(move |c| {
            let server_id = crate::db::server_id(c)?;
            let head = crate::db::change_seq(c)?;
            // A cursor past anything we handed out comes from another data directory.
            let reset = cursor > head;
            let from = if reset { 0 } else { cursor };
            let take = limit as i64 + 1;
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {} FROM assets WHERE owner_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                assets::COLUMNS
            ))?;
            let mut ups: Vec<Asset> = stmt
                .query_map(rusqlite::params![owner, from, take], Asset::from_row)?
                .collect::<Result<_, _>>()?;
            // On a first sync the client has nothing to delete.
            let dels: Vec<(i64, String)> = if from == 0 {
                Vec::new()
            } else {
                let mut stmt = c.prepare_cached(
                    "SELECT seq, asset_id FROM tombstones WHERE owner_id = ?1 AND seq > ?2 \
                     ORDER BY seq LIMIT ?3",
                )?;
                stmt.query_map(rusqlite::params![owner, from, take], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<Result<_, _>>()?
            };
            assets::attach_exif(c, &mut ups)?;
            // Merge both streams in change order and cut at `limit`.
            let mut merged: Vec<(i64, Change)> = ups
                .into_iter()
                .map(|a| (a.seq, Change::Upsert(Box::new(a))))
                .chain(dels.into_iter().map(|(s, id)| (s, Change::Delete(id))))
                .collect();
            merged.sort_by_key(|(s, _)| *s);
            let has_more = merged.len() > limit;
            merged.truncate(limit);
            let albums_etag = albums_etag(c, &owner)?;
            Ok((server_id, merged, has_more, reset, head, albums_etag))
        })
        .await?;
    let next = match changes.last() {
        Some((s, _)) => *s,
        // Nothing newer: the client is at the head (for a reset, the head of this server).
        None if reset => head,
        None => cursor,
    };
    let mut upserted = Vec::new();
    let mut deleted = Vec::new();
    for (_, ch) in changes {
        match ch {
            Change::Upsert(a) => upserted.push(a.to_json()),
            Change::Delete(id) => deleted.push(Value::String(id)),
        }
    }
    Ok(Json(json!({
        "serverId": server_id,
        "reset": reset,
        "upserted": upserted,
        "deleted": deleted,
        "nextCursor": next.to_string(),
        "hasMore": has_more,
        "albumsEtag": albums_etag,
    })))
}

/// A fingerprint of the caller's albums and their membership: it changes whenever an album is
/// created, renamed, deleted or gains or loses an asset, so a client re-reads albums only then.
fn albums_etag(c: &rusqlite::Connection, owner: &str) -> rusqlite::Result<String> {
    use sha1::Digest;
    let mut stmt = c.prepare_cached(
        "SELECT a.id, a.name, a.updated_at, COUNT(x.asset_id), COALESCE(MAX(x.added_at), '') \
         FROM albums a LEFT JOIN album_assets x ON x.album_id = a.id \
         WHERE a.owner_id = ?1 GROUP BY a.id ORDER BY a.id",
    )?;
    let mut hasher = sha1::Sha1::new();
    let mut rows = stmt.query([owner])?;
    while let Some(r) = rows.next()? {
        for i in 0..5 {
            let v: rusqlite::types::Value = r.get(i)?;
            hasher.update(format!("{v:?}\u{1f}").as_bytes());
        }
        hasher.update(b"\x1e");
    }
    Ok(hex::encode(&hasher.finalize()[..8]))
}
