//! Partner sharing, as Immich has it: a user shares their whole library (minus archived,
//! hidden, locked and trashed assets) with another user, who may show it in their own timeline
//! (`inTimeline`). `GET /api/partners?direction=shared-by|shared-with`, `POST /api/partners`
//! `{sharedWithId}` (or `POST /api/partners/{id}`), `PUT /api/partners/{id} {inTimeline}`
//! (the partner who shares with me), `DELETE /api/partners/{id}` (stop sharing with them).

use crate::app::AppState;
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
use rusqlite::{Connection, params};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/partners", get(list).post(create_body))
        .route(
            "/partners/{id}",
            put(update).delete(remove).post(create_path),
        )
}

fn partner_json(u: &User, in_timeline: bool) -> Value {
    let mut v = u.to_public_json();
    v["inTimeline"] = json!(in_timeline);
    v
}

#[derive(Deserialize)]
struct ListQuery {
    direction: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query?;
    // shared-by: the partners I share with; shared-with: the partners who share with me.
    let (mine, theirs) = match q.direction.as_deref() {
        Some("shared-by") => ("shared_by", "shared_with"),
        Some("shared-with") => ("shared_with", "shared_by"),
        _ => {
            return Err(ApiError::bad_request(
                "direction must be shared-by or shared-with",
            ));
        }
    };
    let me = auth.user.id;
    let rows = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT p.in_timeline, {} FROM partners p JOIN users u ON u.id = p.{theirs} \
                 WHERE p.{mine} = ?1 AND u.deleted_at IS NULL ORDER BY u.email",
                crate::db::qualified(users::COLUMNS, "u")
            ))?;
            let rows = stmt.query_map([&me], |r| {
                Ok((r.get::<_, bool>(0)?, User::from_row_offset(r, 1)?))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    Ok(Json(Value::Array(
        rows.iter().map(|(t, u)| partner_json(u, *t)).collect(),
    )))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    shared_with_id: String,
}

async fn create_body(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<CreateBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    create(state, auth, &body.shared_with_id).await
}

async fn create_path(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    create(state, auth, &id).await
}

fn live_user(c: &Connection, id: &str) -> ApiResult<User> {
    optional(c.query_row(
        &format!(
            "SELECT {} FROM users WHERE id = ?1 AND deleted_at IS NULL",
            users::COLUMNS
        ),
        [id],
        User::from_row,
    ))?
    .ok_or_else(|| ApiError::not_found("User"))
}

/// I start sharing my library with `raw`.
async fn create(state: AppState, auth: Auth, raw: &str) -> ApiResult<(StatusCode, Json<Value>)> {
    let other = ids::parse("sharedWithId", raw)?;
    if other == auth.user.id {
        return Err(ApiError::bad_request("You cannot be your own partner"));
    }
    let me = auth.user.id.clone();
    let partner = state
        .db
        .call(move |c| {
            let partner = live_user(c, &other)?;
            let n = c.execute(
                "INSERT OR IGNORE INTO partners (shared_by, shared_with, in_timeline, created_at) \
                 VALUES (?1, ?2, 0, ?3)",
                params![me, other, clock::now_api()],
            )?;
            if n == 0 {
                return Err(ApiError::bad_request("Partner already exists"));
            }
            Ok(partner)
        })
        .await?;
    tracing::info!(by = %auth.user.id, with = %partner.id, "partner sharing started");
    Ok((StatusCode::CREATED, Json(partner_json(&partner, false))))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateBody {
    in_timeline: bool,
}

/// Whether the library `id` shares with me shows in my timeline.
async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> ApiResult<Json<Value>> {
    let other = ids::parse("id", &id)?;
    let me = auth.user.id;
    let partner = state
        .db
        .call(move |c| {
            let partner = live_user(c, &other)?;
            let n = c.execute(
                "UPDATE partners SET in_timeline = ?3 WHERE shared_by = ?1 AND shared_with = ?2",
                params![other, me, body.in_timeline],
            )?;
            if n == 0 {
                return Err(ApiError::not_found("Partner"));
            }
            Ok(partner)
        })
        .await?;
    Ok(Json(partner_json(&partner, body.in_timeline)))
}

/// I stop sharing my library with `id`.
async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let other = ids::parse("id", &id)?;
    let me = auth.user.id;
    state
        .db
        .delete_owned(
            "DELETE FROM partners WHERE shared_with = ?1 AND shared_by = ?2",
            other,
            me,
            "Partner",
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
