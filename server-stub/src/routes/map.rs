//! `GET /api/map/markers`: every asset of the caller with GPS coordinates, in Immich's
//! `MapMarkerResponseDto` shape `[{id, lat, lon, city, state, country}]` (place names from the
//! reverse-geocoding job; `null` until it ran or when no known place is near). Filters as in
//! Immich: `isFavorite`, `isArchived` (archived assets only with `true`), `fileCreatedAfter`,
//! `fileCreatedBefore`, `withPartners` (adds partners' timeline assets).

use crate::app::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use rusqlite::types::Value as Sql;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new().route("/map/markers", get(markers))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MarkerQuery {
    is_favorite: Option<bool>,
    is_archived: Option<bool>,
    file_created_after: Option<String>,
    file_created_before: Option<String>,
    with_partners: Option<bool>,
}

fn time(name: &str, raw: Option<String>) -> ApiResult<Option<String>> {
    raw.map(|s| {
        chrono::DateTime::parse_from_rfc3339(&s)
            .map(|t| crate::clock::to_api(t.with_timezone(&chrono::Utc)))
            .map_err(|_| ApiError::bad_request(format!("{name} must be an ISO 8601 date-time")))
    })
    .transpose()
}

async fn markers(
    State(state): State<AppState>,
    auth: Auth,
    q: Result<Query<MarkerQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let mut sql = String::from(
        "SELECT a.id, e.latitude, e.longitude, e.city, e.state, e.country FROM assets a \
         JOIN exif e ON e.asset_id = a.id WHERE e.latitude IS NOT NULL \
         AND e.longitude IS NOT NULL AND a.deleted_at IS NULL",
    );
    let mut params = vec![Sql::Text(auth.user.id.clone())];
    if q.with_partners == Some(true) {
        sql.push_str(
            " AND (a.owner_id = ?1 OR (a.visibility = 'timeline' AND a.owner_id IN \
             (SELECT p.shared_by FROM partners p JOIN users u ON u.id = p.shared_by \
             WHERE p.shared_with = ?1 AND p.in_timeline = 1 AND u.deleted_at IS NULL)))",
        );
    } else {
        sql.push_str(" AND a.owner_id = ?1");
    }
    if q.is_archived == Some(true) {
        sql.push_str(" AND a.visibility IN ('timeline', 'archive')");
    } else {
        sql.push_str(" AND a.visibility = 'timeline'");
    }
    if let Some(f) = q.is_favorite {
        params.push(Sql::Integer(f.into()));
        sql.push_str(&format!(" AND a.is_favorite = ?{}", params.len()));
    }
    for (op, raw, name) in [
        (">=", q.file_created_after, "fileCreatedAfter"),
        ("<=", q.file_created_before, "fileCreatedBefore"),
    ] {
        if let Some(t) = time(name, raw)? {
            params.push(Sql::Text(t));
            sql.push_str(&format!(" AND a.file_created_at {op} ?{}", params.len()));
        }
    }
    sql.push_str(" ORDER BY a.file_created_at DESC, a.id");
    let out = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), |r| {
                Ok(json!({
                    "id": r.get::<_, String>(0)?,
                    "lat": r.get::<_, f64>(1)?,
                    "lon": r.get::<_, f64>(2)?,
                    "city": r.get::<_, Option<String>>(3)?,
                    "state": r.get::<_, Option<String>>(4)?,
                    "country": r.get::<_, Option<String>>(5)?,
                }))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    Ok(Json(Value::Array(out)))
}
