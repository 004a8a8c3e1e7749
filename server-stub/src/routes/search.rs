//! Search, in Immich's shapes (`SearchResponseDto`: `{assets: {total, count, items, facets,
//! nextPage}, albums: {...}}`):
//! - `POST /api/search/metadata`: filters `originalFileName` (substring, case-insensitive),
//!   `city`, `state`, `country`, `make`, `model`, `lensModel` (exact; JSON `null` = "unknown"),
//!   `takenAfter`/`takenBefore`, `isFavorite`, `type`, `visibility`, `withDeleted`, `id`,
//!   `deviceId`, `personIds` (assets showing all of them), `labels` (ours: object labels, all
//!   of them), `order` (`asc`/`desc` by taken time), `page` (from 1), `size` (1–1000).
//! - `POST /api/search/smart {query, ...same filters}`: the query embedded with the text model
//!   and ranked by cosine against each photo's caption embedding (see `ml::describe`). Not CLIP:
//!   it knows what the jobs wrote down (labels, people's names, place, camera, date), not the
//!   pixels. 400 when ML is
//!   off, 503 when the model files are missing.
//! - `GET /api/search/cities`: one asset per city (the newest), Immich's "browse by place".
//! - `GET /api/search/explore`: `[{fieldName: "exifInfo.city", items: [{value, data: asset}]},
//!   {fieldName: "smartInfo.objects", items}]`, "browse by place" and "browse by label".
//! - `GET /api/search/suggestions?type=country|state|city|camera-make|camera-model` with the
//!   narrowing `country`, `state`, `make` parameters.
//! - `GET /api/search/places?name=`: places of the gazetteer whose name starts with `name`.
//!
//! Everything is scoped to the caller's own assets (shared-link sessions are refused by
//! `Auth`); locked and hidden assets only with an explicit `visibility`, trashed only with
//! `withDeleted`.

use crate::app::AppState;
use crate::assets::{self, Asset, VISIBILITIES};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::ml::embed;
use crate::routes::{ApiJson, field_bool, field_str};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use rusqlite::types::Value as Sql;
use serde::Deserialize;
use serde_json::{Map, Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/search/metadata", post(metadata))
        .route("/search/smart", post(smart))
        .route("/search/cities", get(cities))
        .route("/search/explore", get(explore))
        .route("/search/suggestions", get(suggestions))
        .route("/search/places", get(places))
}

/// Largest page.
const MAX_SIZE: i64 = 1000;
const DEFAULT_SIZE: i64 = 250;
/// Longest text filter or query accepted.
const MAX_TEXT: usize = 1000;

/// Validated filters: a WHERE clause over `assets a LEFT JOIN exif e` and its parameters.
struct Filters {
    sql: String,
    params: Vec<Sql>,
    page: i64,
    size: i64,
    ascending: bool,
}

fn text<'a>(body: &'a Map<String, Value>, name: &str) -> ApiResult<Option<&'a str>> {
    let v = field_str(body, name)?;
    if v.is_some_and(|s| s.len() > MAX_TEXT) {
        return Err(ApiError::bad_request(format!("{name} is too long")));
    }
    Ok(v)
}

fn int(body: &Map<String, Value>, name: &str) -> ApiResult<Option<i64>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("{name} must be an integer"))),
    }
}

fn date(body: &Map<String, Value>, name: &str) -> ApiResult<Option<String>> {
    let Some(s) = text(body, name)? else {
        return Ok(None);
    };
    let t = chrono::DateTime::parse_from_rfc3339(s)
        .map_err(|_| ApiError::bad_request(format!("{name} must be an ISO 8601 date-time")))?;
    Ok(Some(crate::clock::to_api(t.with_timezone(&chrono::Utc))))
}

/// An optional array of strings (at most 100, each at most `MAX_TEXT` bytes).
fn string_array(body: &Map<String, Value>, name: &str) -> ApiResult<Vec<String>> {
    let items = match body.get(name) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) if items.len() <= 100 => items,
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "{name} must be an array of at most 100 strings"
            )));
        }
    };
    items
        .iter()
        .map(|v| match v {
            Value::String(s) if s.len() <= MAX_TEXT => Ok(s.clone()),
            _ => Err(ApiError::bad_request(format!("{name} must hold strings"))),
        })
        .collect()
}

fn id_array(body: &Map<String, Value>, name: &str) -> ApiResult<Vec<String>> {
    string_array(body, name)?
        .iter()
        .map(|s| ids::parse(name, s))
        .collect()
}

fn parse_filters(body: &Map<String, Value>, owner: &str) -> ApiResult<Filters> {
    let mut sql = String::from("a.owner_id = ?1");
    let mut params = vec![Sql::Text(owner.to_owned())];
    let mut add = |clause: &str, v: Sql, sql: &mut String| {
        params.push(v);
        sql.push_str(&clause.replace("?#", &format!("?{}", params.len())));
    };
    if field_bool(body, "withDeleted")? != Some(true) {
        sql.push_str(" AND a.deleted_at IS NULL");
    }
    match text(body, "visibility")? {
        Some(v) if VISIBILITIES.contains(&v) => {
            add(" AND a.visibility = ?#", Sql::Text(v.into()), &mut sql)
        }
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "visibility must be one of {}",
                VISIBILITIES.join(", ")
            )));
        }
        None => sql.push_str(" AND a.visibility IN ('timeline', 'archive')"),
    }
    if let Some(f) = field_bool(body, "isFavorite")? {
        add(" AND a.is_favorite = ?#", Sql::Integer(f.into()), &mut sql);
    }
    if let Some(t) = text(body, "type")? {
        if !["IMAGE", "VIDEO", "AUDIO", "OTHER"].contains(&t) {
            return Err(ApiError::bad_request(
                "type must be one of IMAGE, VIDEO, AUDIO, OTHER",
            ));
        }
        add(" AND a.asset_type = ?#", Sql::Text(t.into()), &mut sql);
    }
    if let Some(id) = text(body, "id")? {
        add(" AND a.id = ?#", Sql::Text(ids::parse("id", id)?), &mut sql);
    }
    if let Some(d) = text(body, "deviceId")? {
        add(" AND a.device_id = ?#", Sql::Text(d.into()), &mut sql);
    }
    if let Some(n) = text(body, "originalFileName")? {
        let escaped = n
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        add(
            " AND a.original_file_name LIKE ?# ESCAPE '\\'",
            Sql::Text(format!("%{escaped}%")),
            &mut sql,
        );
    }
    // Exact matches on exif columns; an explicit null asks for "unknown".
    for (field, column) in [
        ("city", "e.city"),
        ("state", "e.state"),
        ("country", "e.country"),
        ("make", "e.make"),
        ("model", "e.model"),
        ("lensModel", "e.lens_model"),
    ] {
        match body.get(field) {
            None => {}
            Some(Value::Null) => sql.push_str(&format!(" AND {column} IS NULL")),
            Some(_) => {
                if let Some(v) = text(body, field)? {
                    add(
                        &format!(" AND {column} = ?#"),
                        Sql::Text(v.into()),
                        &mut sql,
                    );
                }
            }
        }
    }
    // Assets showing every one of these people / carrying every one of these labels.
    for id in id_array(body, "personIds")? {
        add(
            " AND a.id IN (SELECT f.asset_id FROM faces f WHERE f.person_id = ?# \
             AND f.owner_id = ?1)",
            Sql::Text(id),
            &mut sql,
        );
    }
    for label in string_array(body, "labels")? {
        add(
            " AND a.id IN (SELECT l.asset_id FROM asset_labels l WHERE l.label = ?#)",
            Sql::Text(label),
            &mut sql,
        );
    }
    if let Some(t) = date(body, "takenAfter")? {
        add(" AND a.file_created_at >= ?#", Sql::Text(t), &mut sql);
    }
    if let Some(t) = date(body, "takenBefore")? {
        add(" AND a.file_created_at <= ?#", Sql::Text(t), &mut sql);
    }
    let page = int(body, "page")?.unwrap_or(1);
    if !(1..=1_000_000).contains(&page) {
        return Err(ApiError::bad_request("page must be at least 1"));
    }
    let size = int(body, "size")?.unwrap_or(DEFAULT_SIZE);
    if !(1..=MAX_SIZE).contains(&size) {
        return Err(ApiError::bad_request(format!(
            "size must be between 1 and {MAX_SIZE}"
        )));
    }
    let ascending = match text(body, "order")? {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(ApiError::bad_request("order must be asc or desc")),
    };
    Ok(Filters {
        sql,
        params,
        page,
        size,
        ascending,
    })
}

fn object(body: Value) -> ApiResult<Map<String, Value>> {
    match body {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::bad_request("the body must be a JSON object")),
    }
}

/// Immich's `SearchResponseDto` for one page of assets.
fn response(items: Vec<Value>, page: i64, more: bool) -> Value {
    json!({
        "albums": {"total": 0, "count": 0, "items": [], "facets": []},
        "assets": {
            "total": items.len(),
            "count": items.len(),
            "items": items,
            "facets": [],
            "nextPage": if more { Some((page + 1).to_string()) } else { None },
        },
    })
}

fn load_assets(c: &rusqlite::Connection, ids: &[String]) -> ApiResult<Vec<Value>> {
    let sql = format!("SELECT {} FROM assets WHERE id = ?1", assets::COLUMNS);
    let mut stmt = c.prepare_cached(&sql)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(a) = crate::db::optional(stmt.query_row([id], Asset::from_row))? {
            out.push(a);
        }
    }
    assets::attach_exif(c, &mut out)?;
    Ok(out.iter().map(Asset::to_json).collect())
}

async fn metadata(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let f = parse_filters(&object(body)?, &auth.user.id)?;
    let out = state
        .db
        .call(move |c| {
            let sql = format!(
                "SELECT a.id FROM assets a LEFT JOIN exif e ON e.asset_id = a.id WHERE {} \
                 ORDER BY COALESCE(a.local_date_time, a.file_created_at) {}, a.id \
                 LIMIT {} OFFSET {}",
                f.sql,
                if f.ascending { "ASC" } else { "DESC" },
                f.size + 1,
                (f.page - 1) * f.size
            );
            let mut stmt = c.prepare(&sql)?;
            let mut ids: Vec<String> = stmt
                .query_map(rusqlite::params_from_iter(f.params.iter()), |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let more = ids.len() as i64 > f.size;
            ids.truncate(f.size as usize);
            Ok(response(load_assets(c, &ids)?, f.page, more))
        })
        .await?;
    Ok(Json(out))
}

async fn smart(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let body = object(body)?;
    let query = text(&body, "query")?
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .ok_or_else(|| ApiError::bad_request("query must be a non-empty string"))?
        .to_owned();
    let f = parse_filters(&body, &auth.user.id)?;
    if !state.ml.enabled {
        return Err(ApiError::bad_request(
            "Smart search is not enabled (SHOEBOX_ML=off)",
        ));
    }
    let ml = state.ml.clone();
    let q = tokio::task::spawn_blocking(move || {
        let model = ml.embedder().map_err(ApiError::Unavailable)?;
        ml.bounded(|| model.embed(&query))
            .map_err(|e| ApiError::internal("embedding the query", e))
    })
    .await
    .map_err(|e| ApiError::internal("embedding task", e))??;
    let out = state
        .db
        .call(move |c| {
            let sql = format!(
                "SELECT a.id, s.embedding FROM assets a JOIN smart_search s ON s.asset_id = a.id \
                 LEFT JOIN exif e ON e.asset_id = a.id WHERE {} AND s.model = '{}'",
                f.sql,
                crate::jobs::ml::TEXT_MODEL
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(f.params.iter()), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?;
            let mut scored = Vec::new();
            for row in rows {
                let (id, blob) = row?;
                if let Some(v) = embed::from_blob(&blob).filter(|v| v.len() == q.len()) {
                    scored.push((embed::cosine(&q, &v), id));
                }
            }
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            let start = ((f.page - 1) * f.size) as usize;
            let page: Vec<String> = scored
                .iter()
                .skip(start)
                .take(f.size as usize)
                .map(|(_, id)| id.clone())
                .collect();
            let more = scored.len() > start + page.len();
            Ok(response(load_assets(c, &page)?, f.page, more))
        })
        .await?;
    Ok(Json(out))
}

async fn cities(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let owner = auth.user.id;
    let out = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare(
                "SELECT id FROM (SELECT a.id, e.city, ROW_NUMBER() OVER (PARTITION BY e.city \
                 ORDER BY COALESCE(a.local_date_time, a.file_created_at) DESC, a.id) AS n \
                 FROM assets a JOIN exif e ON e.asset_id = a.id WHERE a.owner_id = ?1 \
                 AND a.deleted_at IS NULL AND a.visibility = 'timeline' AND e.city IS NOT NULL) \
                 WHERE n = 1 ORDER BY city",
            )?;
            let ids: Vec<String> = stmt
                .query_map([&owner], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            load_assets(c, &ids)
        })
        .await?;
    Ok(Json(Value::Array(out)))
}

/// Immich's explore page: one asset per city and, ours, one per object label (the photo where
/// the label scored highest), labels seen most first.
async fn explore(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let owner = auth.user.id;
    let out = state
        .db
        .call(move |c| {
            let visible = "a.owner_id = ?1 AND a.deleted_at IS NULL AND a.visibility = 'timeline'";
            let field = |sql: &str| -> ApiResult<Vec<Value>> {
                let mut stmt = c.prepare(sql)?;
                let rows: Vec<(String, String)> = stmt
                    .query_map([&owner], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                let ids: Vec<String> = rows.iter().map(|(_, id)| id.clone()).collect();
                let assets = load_assets(c, &ids)?;
                Ok(rows
                    .into_iter()
                    .zip(assets)
                    .map(|((value, _), data)| json!({"value": value, "data": data}))
                    .collect())
            };
            let cities = field(&format!(
                "SELECT city, id FROM (SELECT e.city, a.id, ROW_NUMBER() OVER (PARTITION BY e.city \
                 ORDER BY COALESCE(a.local_date_time, a.file_created_at) DESC, a.id) AS n \
                 FROM assets a JOIN exif e ON e.asset_id = a.id WHERE {visible} \
                 AND e.city IS NOT NULL) WHERE n = 1 ORDER BY city LIMIT 100"
            ))?;
            let labels = field(&format!(
                "SELECT label, id FROM (SELECT l.label, a.id, \
                 COUNT(*) OVER (PARTITION BY l.label) AS seen, ROW_NUMBER() OVER \
                 (PARTITION BY l.label ORDER BY l.score DESC, a.id) AS n \
                 FROM assets a JOIN asset_labels l ON l.asset_id = a.id WHERE {visible}) \
                 WHERE n = 1 ORDER BY seen DESC, label LIMIT 100"
            ))?;
            Ok(json!([
                {"fieldName": "exifInfo.city", "items": cities},
                {"fieldName": "smartInfo.objects", "items": labels},
            ]))
        })
        .await?;
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SuggestionQuery {
    #[serde(rename = "type")]
    kind: String,
    country: Option<String>,
    state: Option<String>,
    make: Option<String>,
}

async fn suggestions(
    State(state): State<AppState>,
    auth: Auth,
    q: Result<Query<SuggestionQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let column = match q.kind.as_str() {
        "country" => "e.country",
        "state" => "e.state",
        "city" => "e.city",
        "camera-make" => "e.make",
        "camera-model" => "e.model",
        "camera-lens-model" => "e.lens_model",
        _ => {
            return Err(ApiError::bad_request(
                "type must be one of country, state, city, camera-make, camera-model, \
                 camera-lens-model",
            ));
        }
    };
    let owner = auth.user.id;
    let out = state
        .db
        .call(move |c| {
            let mut sql = format!(
                "SELECT DISTINCT {column} FROM assets a JOIN exif e ON e.asset_id = a.id \
                 WHERE a.owner_id = ?1 AND a.deleted_at IS NULL AND {column} IS NOT NULL"
            );
            let mut params = vec![Sql::Text(owner)];
            for (col, v) in [
                ("e.country", q.country),
                ("e.state", q.state),
                ("e.make", q.make),
            ] {
                if let Some(v) = v {
                    params.push(Sql::Text(v));
                    sql.push_str(&format!(" AND {col} = ?{}", params.len()));
                }
            }
            sql.push_str(&format!(" ORDER BY {column} LIMIT 1000"));
            let mut stmt = c.prepare(&sql)?;
            let names: Vec<Value> = stmt
                .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                    r.get::<_, String>(0)
                })?
                .map(|r| r.map(Value::String))
                .collect::<Result<_, _>>()?;
            Ok(names)
        })
        .await?;
    Ok(Json(Value::Array(out)))
}

#[derive(Deserialize)]
struct PlacesQuery {
    name: String,
}

async fn places(
    State(state): State<AppState>,
    _auth: Auth,
    q: Result<Query<PlacesQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if q.name.len() > MAX_TEXT {
        return Err(ApiError::bad_request("name is too long"));
    }
    let ml = state.ml.clone();
    let found = tokio::task::spawn_blocking(move || {
        let geo = ml.geocoder().map_err(ApiError::Unavailable)?;
        Ok::<_, ApiError>(geo.search(&q.name, 20))
    })
    .await
    .map_err(|e| ApiError::internal("place search", e))??;
    let out = found
        .into_iter()
        .map(|(p, lat, lon)| {
            json!({"name": p.city, "latitude": lat, "longitude": lon,
                   "admin1name": p.state, "admin2name": null, "country": p.country})
        })
        .collect();
    Ok(Json(Value::Array(out)))
}
