//! People and faces, in Immich's shapes. Everything is the caller's own: another user's person
//! or face id answers 404, and shared-link sessions are refused (`Auth`).
//! - `GET /api/people?withHidden=&page=&size=` → `{people, total, hidden, hasNextPage}`,
//!   people with at least one face (or a name), most photographed first.
//! - `POST /api/people {name, birthDate, isHidden}` → a new, empty person.
//! - `GET /api/people/{id}`, `PUT /api/people/{id} {name, birthDate, isHidden, isFavorite,
//!   featureFaceAssetId}`, `GET /api/people/{id}/statistics` → `{assets}`.
//! - `GET /api/people/{id}/thumbnail`: the JPEG crop of the person's feature face.
//! - `POST /api/people/{id}/merge {ids}` → `[{id, success, error?}]`: the others' faces
//!   move into `{id}` and the others are deleted.
//! - `PUT /api/people/{id}/reassign {data: [{assetId, personId}]}`: the faces of `personId`
//!   in `assetId` move to `{id}`; answers the people that changed.
//! - `GET /api/faces?id={assetId}` → the asset's faces with box, image size and person;
//!   `PUT /api/faces/{faceId} {id: personId}` moves one face.
//! - `GET /api/search/person?name=&withHidden=` → people whose name contains `name`.
//!
//! Renaming or hiding a person re-queues the search text of their photos (it names them).

use crate::app::AppState;
use crate::assets;
use crate::auth::Auth;
use crate::clock;
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::jobs::{Queue, queue};
use crate::people::{self, Person};
use crate::routes::{ApiJson, field_bool, field_str};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use rusqlite::{Connection, params};
use serde::Deserialize;
use serde_json::{Map, Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/people", get(list).post(create))
        .route("/people/{id}", get(show).put(update))
        .route("/people/{id}/statistics", get(statistics))
        .route("/people/{id}/thumbnail", get(thumbnail))
        .route("/people/{id}/merge", post(merge))
        .route("/people/{id}/reassign", put(reassign))
        .route("/faces", get(faces))
        .route("/faces/{id}", put(move_face))
        .route("/search/person", get(search))
}

const MAX_NAME: usize = 200;
const MAX_BATCH: usize = 1000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    with_hidden: Option<bool>,
    page: Option<i64>,
    size: Option<i64>,
}

/// The ORDER BY of person lists: favourites, named, then most faces.
const ORDER: &str = "is_favorite DESC, (name != '') DESC, face_count DESC, name, id";

async fn list(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query?;
    let page = q.page.unwrap_or(1);
    let size = q.size.unwrap_or(500);
    if page < 1 || !(1..=1000).contains(&size) {
        return Err(ApiError::bad_request(
            "page must be at least 1 and size between 1 and 1000",
        ));
    }
    let with_hidden = q.with_hidden.unwrap_or(false);
    let owner = auth.user.id;
    let out = state
        .db
        .call(move |c| {
            let visible = "owner_id = ?1 AND (face_count > 0 OR name != '')";
            let (total, hidden): (i64, i64) = c.query_row(
                &format!(
                    "SELECT COUNT(*), COALESCE(SUM(is_hidden), 0) FROM people WHERE {visible}"
                ),
                [&owner],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let sql = format!(
                "SELECT {} FROM people WHERE {visible} AND (?2 OR is_hidden = 0) ORDER BY {ORDER} \
                 LIMIT ?3 OFFSET ?4",
                people::COLUMNS
            );
            let mut stmt = c.prepare(&sql)?;
            let mut found: Vec<Value> = stmt
                .query_map(
                    params![owner, with_hidden, size + 1, (page - 1) * size],
                    Person::from_row,
                )?
                .map(|p| p.map(|p| p.to_json()))
                .collect::<Result<_, _>>()?;
            let more = found.len() as i64 > size;
            found.truncate(size as usize);
            Ok(json!({"people": found, "total": total, "hidden": hidden, "hasNextPage": more}))
        })
        .await?;
    Ok(Json(out))
}

fn object(body: Value) -> ApiResult<Map<String, Value>> {
    match body {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::bad_request("the body must be a JSON object")),
    }
}

fn name_field(body: &Map<String, Value>) -> ApiResult<Option<String>> {
    let Some(n) = field_str(body, "name")? else {
        return Ok(None);
    };
    let n = n.trim();
    if n.chars().count() > MAX_NAME || n.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "name must be at most {MAX_NAME} characters, without control characters"
        )));
    }
    Ok(Some(n.to_owned()))
}

/// `birthDate`: absent → unchanged, `null` → cleared, `YYYY-MM-DD` → set.
fn birth_date_field(body: &Map<String, Value>) -> ApiResult<Option<Option<String>>> {
    match body.get("birthDate") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => {
            let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| ApiError::bad_request("birthDate must be YYYY-MM-DD"))?;
            if d > chrono::Utc::now().date_naive() {
                return Err(ApiError::bad_request("birthDate cannot be in the future"));
            }
            Ok(Some(Some(d.format("%Y-%m-%d").to_string())))
        }
        Some(_) => Err(ApiError::bad_request("birthDate must be a string or null")),
    }
}

fn owned(c: &Connection, owner: &str, id: &str) -> ApiResult<Person> {
    people::get(c, owner, id)?.ok_or_else(|| ApiError::not_found("Person"))
}

/// Re-queues the search text of every asset the person is in (their name is part of it).
fn requeue_captions(c: &Connection, person: &str) -> rusqlite::Result<()> {
    let mut stmt = c.prepare("SELECT DISTINCT asset_id FROM faces WHERE person_id = ?1")?;
    let assets: Vec<String> = stmt
        .query_map([person], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for a in assets {
        queue::enqueue(c, Queue::SmartSearch, &a)?;
    }
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(axum::http::StatusCode, Json<Value>)> {
    let body = object(body)?;
    let name = name_field(&body)?.unwrap_or_default();
    let birth = birth_date_field(&body)?.flatten();
    let hidden = field_bool(&body, "isHidden")?.unwrap_or(false);
    let owner = auth.user.id;
    let person = state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            let id = people::create(&tx, &owner, &name, None)?;
            tx.execute(
                "UPDATE people SET birth_date = ?2, is_hidden = ?3 WHERE id = ?1",
                params![id, birth, hidden],
            )?;
            let p = owned(&tx, &owner, &id)?;
            tx.commit()?;
            Ok(p.to_json())
        })
        .await?;
    Ok((axum::http::StatusCode::CREATED, Json(person)))
}

async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = ids::parse("id", &id)?;
    let owner = auth.user.id;
    let p = state
        .db
        .call(move |c| Ok(owned(c, &owner, &id)?.to_json()))
        .await?;
    Ok(Json(p))
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let id = ids::parse("id", &id)?;
    let body = object(body)?;
    let name = name_field(&body)?;
    let birth = birth_date_field(&body)?;
    let hidden = field_bool(&body, "isHidden")?;
    let favorite = field_bool(&body, "isFavorite")?;
    let feature_asset = field_str(&body, "featureFaceAssetId")?
        .map(|a| ids::parse("featureFaceAssetId", a))
        .transpose()?;
    let owner = auth.user.id;
    let p = state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            let before = owned(&tx, &owner, &id)?;
            let now = clock::now_api();
            if let Some(n) = &name {
                tx.execute(
                    "UPDATE people SET name = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id, n, now],
                )?;
            }
            if let Some(b) = &birth {
                tx.execute(
                    "UPDATE people SET birth_date = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id, b, now],
                )?;
            }
            if let Some(h) = hidden {
                tx.execute(
                    "UPDATE people SET is_hidden = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id, h, now],
                )?;
            }
            if let Some(f) = favorite {
                tx.execute(
                    "UPDATE people SET is_favorite = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id, f, now],
                )?;
            }
            if let Some(asset) = &feature_asset {
                let face: String = crate::db::optional(tx.query_row(
                    "SELECT id FROM faces WHERE person_id = ?1 AND asset_id = ?2 \
                     ORDER BY score DESC LIMIT 1",
                    [&id, asset],
                    |r| r.get(0),
                ))?
                .ok_or_else(|| {
                    ApiError::bad_request("featureFaceAssetId: the person is not in that asset")
                })?;
                tx.execute(
                    "UPDATE people SET feature_face_id = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id, face, now],
                )?;
            }
            let after = owned(&tx, &owner, &id)?;
            if after.name != before.name || after.is_hidden != before.is_hidden {
                requeue_captions(&tx, &id)?;
            }
            tx.commit()?;
            Ok(after.to_json())
        })
        .await?;
    state.workers.wake();
    Ok(Json(p))
}

async fn statistics(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = ids::parse("id", &id)?;
    let owner = auth.user.id;
    let n = state
        .db
        .call(move |c| {
            owned(c, &owner, &id)?;
            Ok(people::asset_count(c, &id)?)
        })
        .await?;
    Ok(Json(json!({"assets": n})))
}

async fn thumbnail(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = ids::parse("id", &id)?;
    let owner = auth.user.id;
    let file = state
        .db
        .call(move |c| {
            let p = owned(c, &owner, &id)?;
            // The feature face, else their best face.
            Ok(crate::db::optional(c.query_row(
                "SELECT af.path, af.etag FROM faces f JOIN asset_files af \
                 ON af.asset_id = f.asset_id AND af.kind = 'face-' || f.id \
                 WHERE f.person_id = ?1 ORDER BY f.id = ?2 DESC, f.score DESC LIMIT 1",
                params![id, p.feature_face_id],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            ))?)
        })
        .await?;
    let (rel, etag) = file.ok_or_else(|| ApiError::not_found("Person thumbnail"))?;
    let bytes = tokio::fs::read(state.storage.abs(&rel))
        .await
        .map_err(|_| ApiError::not_found("Person thumbnail"))?;
    // The feature face can change under the same URL: revalidate with the ETag every time.
    crate::routes::thumbnails::image_response(
        &headers,
        &etag,
        bytes,
        "private, no-cache",
        "image/jpeg",
    )
}

fn id_list(body: &Map<String, Value>, field: &str) -> ApiResult<Vec<String>> {
    let Some(Value::Array(items)) = body.get(field) else {
        return Err(ApiError::bad_request(format!("{field} must be an array")));
    };
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "{field} must hold 1 to {MAX_BATCH} ids"
        )));
    }
    items
        .iter()
        .map(|v| match v {
            Value::String(s) => ids::parse(field, s),
            _ => Err(ApiError::bad_request(format!("{field} must hold strings"))),
        })
        .collect()
}

async fn merge(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let id = ids::parse("id", &id)?;
    let others = id_list(&object(body)?, "ids")?;
    let owner = auth.user.id;
    let out = state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            owned(&tx, &owner, &id)?;
            let mut results = Vec::with_capacity(others.len());
            for other in others {
                let error = if other == id {
                    Some("duplicate")
                } else if people::get(&tx, &owner, &other)?.is_none() {
                    Some("not_found")
                } else {
                    people::merge(&tx, &id, &other)?;
                    None
                };
                results.push(match error {
                    None => json!({"id": other, "success": true}),
                    Some(e) => json!({"id": other, "success": false, "error": e}),
                });
            }
            requeue_captions(&tx, &id)?;
            tx.commit()?;
            Ok(results)
        })
        .await?;
    state.workers.wake();
    Ok(Json(Value::Array(out)))
}

async fn reassign(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let id = ids::parse("id", &id)?;
    let body = object(body)?;
    let Some(Value::Array(items)) = body.get("data") else {
        return Err(ApiError::bad_request("data must be an array"));
    };
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "data must hold 1 to {MAX_BATCH} items"
        )));
    }
    let mut pairs = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(o) = item else {
            return Err(ApiError::bad_request("data must hold objects"));
        };
        let asset = field_str(o, "assetId")?.ok_or_else(|| ApiError::bad_request("assetId"))?;
        let person = field_str(o, "personId")?.ok_or_else(|| ApiError::bad_request("personId"))?;
        pairs.push((
            ids::parse("assetId", asset)?,
            ids::parse("personId", person)?,
        ));
    }
    let owner = auth.user.id;
    let out = state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            owned(&tx, &owner, &id)?;
            let mut changed = vec![id.clone()];
            for (asset, from) in pairs {
                if people::get(&tx, &owner, &from)?.is_none() {
                    return Err(ApiError::not_found("Person"));
                }
                let mut stmt = tx.prepare(
                    "SELECT id FROM faces WHERE asset_id = ?1 AND person_id = ?2 AND owner_id = ?3",
                )?;
                let faces: Vec<String> = stmt
                    .query_map([&asset, &from, &owner], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                drop(stmt);
                for f in faces {
                    people::move_face(&tx, &f, Some(&id))?;
                    queue::enqueue(&tx, Queue::SmartSearch, &asset)?;
                }
                changed.push(from);
            }
            changed.sort();
            changed.dedup();
            let mut out = Vec::new();
            for p in changed {
                if let Some(p) = people::get(&tx, &owner, &p)? {
                    out.push(p.to_json());
                }
            }
            tx.commit()?;
            Ok(out)
        })
        .await?;
    state.workers.wake();
    Ok(Json(Value::Array(out)))
}

#[derive(Deserialize)]
struct FacesQuery {
    id: Option<String>,
}

async fn faces(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<FacesQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query?;
    let asset = ids::parse(
        "id",
        q.id.as_deref()
            .ok_or_else(|| ApiError::bad_request("id (the asset) is required"))?,
    )?;
    let owner = auth.user.id;
    let out = state
        .db
        .call(move |c| {
            assets::get_owned(c, &owner, &asset)?;
            Ok(people::faces_of_asset(c, &owner, &asset)?)
        })
        .await?;
    Ok(Json(Value::Array(out)))
}

async fn move_face(
    State(state): State<AppState>,
    auth: Auth,
    Path(face): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let face = ids::parse("id", &face)?;
    let body = object(body)?;
    let to = ids::parse(
        "id",
        field_str(&body, "id")?
            .ok_or_else(|| ApiError::bad_request("id (the person) is required"))?,
    )?;
    let owner = auth.user.id;
    let out = state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            let asset: String = crate::db::optional(tx.query_row(
                "SELECT asset_id FROM faces WHERE id = ?1 AND owner_id = ?2",
                [&face, &owner],
                |r| r.get(0),
            ))?
            .ok_or_else(|| ApiError::not_found("Face"))?;
            owned(&tx, &owner, &to)?;
            people::move_face(&tx, &face, Some(&to))?;
            queue::enqueue(&tx, Queue::SmartSearch, &asset)?;
            let p = owned(&tx, &owner, &to)?;
            tx.commit()?;
            Ok(p.to_json())
        })
        .await?;
    state.workers.wake();
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchQuery {
    name: Option<String>,
    with_hidden: Option<bool>,
}

async fn search(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query?;
    let name = q.name.unwrap_or_default();
    if name.chars().count() > MAX_NAME {
        return Err(ApiError::bad_request("name is too long"));
    }
    let escaped = name
        .trim()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let with_hidden = q.with_hidden.unwrap_or(false);
    let owner = auth.user.id;
    let out = state
        .db
        .call(move |c| {
            let sql = format!(
                "SELECT {} FROM people WHERE owner_id = ?1 AND name != '' \
                 AND name LIKE ?2 ESCAPE '\\' AND (?3 OR is_hidden = 0) ORDER BY {ORDER} LIMIT 100",
                people::COLUMNS
            );
            let mut stmt = c.prepare(&sql)?;
            let found: Vec<Value> = stmt
                .query_map(
                    params![owner, format!("%{escaped}%"), with_hidden],
                    Person::from_row,
                )?
                .map(|p| p.map(|p| p.to_json()))
                .collect::<Result<_, _>>()?;
            Ok(found)
        })
        .await?;
    Ok(Json(Value::Array(out)))
}
