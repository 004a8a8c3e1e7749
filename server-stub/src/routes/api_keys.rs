//! API keys: create (the secret is shown once), list, get, delete, and "which key am I".

use crate::app::AppState;
use crate::auth::extract::Credential;
use crate::auth::{Auth, secrets};
use crate::db::optional;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiJson;
use crate::{clock, ids};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use rusqlite::{Row, params};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api-keys", get(list).post(create))
        .route("/api-keys/me", get(me))
        .route("/api-keys/{id}", get(get_one).delete(delete))
}

const COLUMNS: &str = "id, name, permissions, created_at, updated_at";

fn key_json(r: &Row<'_>) -> rusqlite::Result<Value> {
    let perms: String = r.get(2)?;
    let perms: Value = serde_json::from_str(&perms).unwrap_or_else(|_| json!(["all"]));
    Ok(json!({
        "id": r.get::<_, String>(0)?,
        "name": r.get::<_, String>(1)?,
        "permissions": perms,
        "createdAt": r.get::<_, String>(3)?,
        "updatedAt": r.get::<_, String>(4)?,
    }))
}

#[derive(Deserialize)]
struct NewKey {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    permissions: Option<Vec<String>>,
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<NewKey>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = body.name.unwrap_or_else(|| "API Key".into());
    if name.len() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "name must be at most 200 printable characters",
        ));
    }
    // Every key has full access to its owner's data for now; finer permissions come later.
    let perms = body.permissions.unwrap_or_else(|| vec!["all".into()]);
    if perms.len() > 200 || perms.iter().any(|p| p.len() > 64) {
        return Err(ApiError::bad_request("invalid permissions"));
    }
    let perms = serde_json::to_string(&["all"]).map_err(|e| ApiError::internal("json", e))?;
    let secret = secrets::generate()?;
    let hash = secrets::hash(&secret);
    let id = ids::new_id();
    let user = auth.user.id;
    let key = state
        .db
        .call(move |c| {
            let now = clock::now_api();
            c.execute(
                "INSERT INTO api_keys (id, user_id, name, key_hash, permissions, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                params![id, user, name, hash, perms, now],
            )?;
            Ok(c.query_row(
                &format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?1"),
                [&id],
                key_json,
            )?)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"secret": secret, "apiKey": key})),
    ))
}

async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let user = auth.user.id;
    let keys = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM api_keys WHERE user_id = ?1 ORDER BY created_at"
            ))?;
            let rows = stmt.query_map([&user], key_json)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    Ok(Json(Value::Array(keys)))
}

async fn fetch(state: &AppState, user: String, id: String) -> ApiResult<Value> {
    state
        .db
        .call(move |c| {
            optional(c.query_row(
                &format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?1 AND user_id = ?2"),
                [&id, &user],
                key_json,
            ))?
            .ok_or_else(|| ApiError::not_found("API key"))
        })
        .await
}

async fn get_one(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = ids::parse("id", &id)?;
    Ok(Json(fetch(&state, auth.user.id, id).await?))
}

async fn me(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    match auth.credential {
        Credential::ApiKey(id) => Ok(Json(fetch(&state, auth.user.id, id).await?)),
        // A session acts with all of its user's rights; describe it as such.
        Credential::Session(id) => Ok(Json(json!({
            "id": id, "name": "session", "permissions": ["all"],
            "createdAt": auth.user.created_at, "updatedAt": auth.user.updated_at,
        }))),
    }
}

async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = ids::parse("id", &id)?;
    let user = auth.user.id;
    state
        .db
        .delete_owned(
            "DELETE FROM api_keys WHERE id = ?1 AND user_id = ?2",
            id,
            user,
            "API key",
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
