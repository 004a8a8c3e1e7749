//! User administration, in Immich's `/api/admin/users` shapes: list, create, read, update
//! (name, email, admin flag, quota, password reset), soft delete with a grace period and
//! restore, and permanent delete, which removes the user's rows (assets, albums, links,
//! memberships, partners, sessions, keys, uploads cascade) and then their files.

use crate::app::AppState;
use crate::auth::{AuthAdmin, password};
use crate::db::optional;
use crate::error::{ApiError, ApiResult};
use crate::routes::auth::{NewUser, create_user};
use crate::routes::{ApiJson, field_bool, field_str};
use crate::users::{self, User};
use crate::{clock, ids, storage};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use rusqlite::{Connection, params};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::time::Duration;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list).post(create))
        .route("/admin/users/{id}", get(get_one).put(update).delete(delete))
        .route("/admin/users/{id}/restore", post(restore))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    with_deleted: Option<bool>,
}

async fn list(
    State(state): State<AppState>,
    AuthAdmin(_): AuthAdmin,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query?;
    let with_deleted = q.with_deleted.unwrap_or(false);
    let users = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {} FROM users WHERE ?1 OR deleted_at IS NULL ORDER BY created_at",
                users::COLUMNS
            ))?;
            let rows = stmt.query_map([with_deleted], User::from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    Ok(Json(Value::Array(
        users.iter().map(User::to_json).collect(),
    )))
}

async fn create(
    State(state): State<AppState>,
    AuthAdmin(admin): AuthAdmin,
    ApiJson(body): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let is_admin = body.is_admin.unwrap_or(false);
    let user = create_user(&state, body, is_admin, false).await?;
    tracing::info!(by = %admin.user.id, user = %user.id, "user created");
    Ok((StatusCode::CREATED, Json(user.to_json())))
}

/// Any user, deleted ones included (the admin may restore them).
fn load(c: &Connection, id: &str) -> ApiResult<User> {
    optional(c.query_row(
        &format!("SELECT {} FROM users WHERE id = ?1", users::COLUMNS),
        [id],
        User::from_row,
    ))?
    .ok_or_else(|| ApiError::not_found("User"))
}

async fn get_one(
    State(state): State<AppState>,
    AuthAdmin(_): AuthAdmin,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = ids::parse("id", &id)?;
    let user = state.db.call(move |c| load(c, &id)).await?;
    Ok(Json(user.to_json()))
}

/// The validated fields of an update; `quota` is `Some(None)` for an explicit `null`
/// (unlimited), `None` when the field is absent.
#[derive(Default)]
struct Changes {
    name: Option<String>,
    email: Option<String>,
    is_admin: Option<bool>,
    quota: Option<Option<i64>>,
    password_hash: Option<String>,
    should_change_password: Option<bool>,
}

async fn parse_changes(body: &Map<String, Value>) -> ApiResult<Changes> {
    let mut ch = Changes {
        is_admin: field_bool(body, "isAdmin")?,
        should_change_password: field_bool(body, "shouldChangePassword")?,
        ..Changes::default()
    };
    if let Some(name) = field_str(body, "name")? {
        let name = name.trim();
        if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
            return Err(ApiError::bad_request("name must be 1 to 200 characters"));
        }
        ch.name = Some(name.to_owned());
    }
    if let Some(email) = field_str(body, "email")? {
        let email = email.trim().to_lowercase();
        if email.len() > 254 || !email.contains('@') || email.chars().any(char::is_control) {
            return Err(ApiError::bad_request("email must be a valid email address"));
        }
        ch.email = Some(email);
    }
    match body.get("quotaSizeInBytes") {
        None => {}
        Some(Value::Null) => ch.quota = Some(None),
        Some(v) => match v.as_i64() {
            Some(q) if q >= 0 => ch.quota = Some(Some(q)),
            _ => {
                return Err(ApiError::bad_request(
                    "quotaSizeInBytes must be a non-negative integer or null",
                ));
            }
        },
    }
    if let Some(pw) = field_str(body, "password")? {
        password::check_policy(pw)?;
        ch.password_hash = Some(password::hash(pw.to_owned()).await?);
    }
    Ok(ch)
}

/// Applies validated changes to `id` (the caller's own row included, for `PUT /users/me`).
async fn apply(state: &AppState, id: String, ch: Changes) -> ApiResult<User> {
    state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            load(&tx, &id)?;
            let now = clock::now_api();
            if let Some(name) = &ch.name {
                tx.execute(
                    "UPDATE users SET name = ?1 WHERE id = ?2",
                    params![name, id],
                )?;
            }
            if let Some(email) = &ch.email {
                match tx.execute(
                    "UPDATE users SET email = ?1 WHERE id = ?2",
                    params![email, id],
                ) {
                    Err(e) if crate::db::is_unique_violation(&e) => {
                        return Err(ApiError::bad_request("Email already in use"));
                    }
                    other => other?,
                };
            }
            if let Some(admin) = ch.is_admin {
                tx.execute(
                    "UPDATE users SET is_admin = ?1 WHERE id = ?2",
                    params![admin, id],
                )?;
            }
            if let Some(quota) = ch.quota {
                tx.execute(
                    "UPDATE users SET quota_size_bytes = ?1 WHERE id = ?2",
                    params![quota, id],
                )?;
            }
            if let Some(hash) = &ch.password_hash {
                tx.execute(
                    "UPDATE users SET password_hash = ?1 WHERE id = ?2",
                    params![hash, id],
                )?;
            }
            if let Some(v) = ch.should_change_password {
                tx.execute(
                    "UPDATE users SET should_change_password = ?1 WHERE id = ?2",
                    params![v, id],
                )?;
            }
            tx.execute(
                "UPDATE users SET updated_at = ?1 WHERE id = ?2",
                params![now, id],
            )?;
            let user = load(&tx, &id)?;
            tx.commit()?;
            Ok(user)
        })
        .await
}

async fn update(
    State(state): State<AppState>,
    AuthAdmin(admin): AuthAdmin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<Json<Value>> {
    let id = ids::parse("id", &id)?;
    let ch = parse_changes(&body).await?;
    if id == admin.user.id && ch.is_admin == Some(false) {
        return Err(ApiError::bad_request(
            "An admin cannot remove their own admin rights",
        ));
    }
    let user = apply(&state, id, ch).await?;
    tracing::info!(by = %admin.user.id, user = %user.id, "user updated");
    Ok(Json(user.to_json()))
}

/// `PUT /api/users/me`: name, email and password; `isAdmin`, quota and the other admin-only
/// fields are refused, so nobody can grant themselves rights.
pub async fn update_me(state: &AppState, me: &User, body: Map<String, Value>) -> ApiResult<User> {
    for field in [
        "isAdmin",
        "quotaSizeInBytes",
        "shouldChangePassword",
        "storageLabel",
    ] {
        if body.contains_key(field) {
            return Err(ApiError::bad_request(format!(
                "{field} can only be changed by an admin"
            )));
        }
    }
    let ch = parse_changes(&body).await?;
    apply(state, me.id.clone(), ch).await
}

#[derive(Deserialize)]
struct DeleteBody {
    #[serde(default)]
    force: bool,
}

async fn delete(
    State(state): State<AppState>,
    AuthAdmin(admin): AuthAdmin,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let id = ids::parse("id", &id)?;
    if id == admin.user.id {
        return Err(ApiError::bad_request("An admin cannot delete themselves"));
    }
    // The body is optional (Immich sends `{force}` or nothing).
    let force = if body.iter().all(u8::is_ascii_whitespace) {
        false
    } else {
        serde_json::from_slice::<DeleteBody>(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
            .force
    };
    let uid = id.clone();
    let user = state
        .db
        .call(move |c| {
            let now = clock::now_api();
            c.execute(
                "UPDATE users SET deleted_at = COALESCE(deleted_at, ?1), updated_at = ?1 WHERE id = ?2",
                params![now, uid],
            )?;
            // Their sessions and keys stop working at once.
            c.execute("DELETE FROM sessions WHERE user_id = ?1", [&uid])?;
            load(c, &uid)
        })
        .await?;
    tracing::info!(by = %admin.user.id, user = %id, force, "user deleted");
    if force {
        purge(&state, &id).await?;
    }
    Ok(Json(user.to_json()))
}

async fn restore(
    State(state): State<AppState>,
    AuthAdmin(admin): AuthAdmin,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = ids::parse("id", &id)?;
    let uid = id.clone();
    let user = state
        .db
        .call(move |c| {
            c.execute(
                "UPDATE users SET deleted_at = NULL, updated_at = ?1 WHERE id = ?2",
                params![clock::now_api(), uid],
            )?;
            load(c, &uid)
        })
        .await?;
    tracing::info!(by = %admin.user.id, user = %id, "user restored");
    Ok(Json(user.to_json()))
}

/// Removes a user for good: the row (everything of theirs cascades: assets, albums, album
/// memberships, shared links, partners, sessions, keys, uploads), then their originals,
/// derived images and partial uploads. A crash between the two leaves orphan files, which
/// start-up reconciliation removes.
pub async fn purge(state: &AppState, id: &str) -> ApiResult<()> {
    let uid = id.to_owned();
    let uploads: Vec<String> = state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            let uploads: Vec<String> = {
                let mut stmt = tx.prepare("SELECT id FROM uploads WHERE owner_id = ?1")?;
                let rows = stmt.query_map([&uid], |r| r.get(0))?;
                rows.collect::<Result<_, _>>()?
            };
            tx.execute("DELETE FROM users WHERE id = ?1", [&uid])?;
            tx.commit()?;
            Ok(uploads)
        })
        .await?;
    for upload in &uploads {
        state.uploads.forget(upload);
        storage::remove_quietly(&state.storage.part_path(upload));
    }
    // `id` comes from our own rows (a UUID), never from a path a client chose.
    let dirs = [
        state.storage.library_dir().join(id),
        state.storage.thumbs_dir().join(id),
    ];
    tokio::task::spawn_blocking(move || {
        for dir in dirs {
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "could not remove"),
            }
        }
    })
    .await
    .map_err(|e| ApiError::internal("purge task", e))?;
    tracing::info!(user = %id, "user permanently deleted");
    Ok(())
}

/// Permanently deletes users whose soft delete is older than `delay`, every `every`.
pub fn spawn_purger(state: AppState, every: Duration, delay: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let cutoff = chrono::Duration::from_std(delay)
                .ok()
                .and_then(|d| clock::now().checked_sub_signed(d))
                .map(clock::to_api)
                .unwrap_or_default();
            let due = state
                .db
                .call(move |c| {
                    let mut stmt = c.prepare(
                        "SELECT id FROM users WHERE deleted_at IS NOT NULL AND deleted_at <= ?1",
                    )?;
                    let rows = stmt.query_map([&cutoff], |r| r.get::<_, String>(0))?;
                    Ok(rows.collect::<Result<Vec<_>, _>>()?)
                })
                .await;
            match due {
                Ok(ids) => {
                    for id in ids {
                        if let Err(e) = purge(&state, &id).await {
                            tracing::warn!(user = %id, error = %e, "user purge failed");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "user purge sweep failed"),
            }
        }
    });
}
