//! API keys: create (the secret is shown once), list, get, delete, and "which key am I".

use crate::app::AppState;
use crate::auth::extract::Credential;
use crate::auth::{Auth, permissions, secrets};
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiJson;
use crate::store::api_keys::{self, ApiKey};
use crate::{clock, ids};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api-keys", get(list).post(create))
        .route("/api-keys/me", get(me))
        .route("/api-keys/{id}", get(get_one).delete(delete))
}

/// Immich's `APIKeyResponseDto`.
fn key_json(k: &ApiKey) -> Value {
    json!({
        "id": k.id,
        "name": k.name,
        "permissions": k.permissions,
        "createdAt": k.created_at,
        "updatedAt": k.updated_at,
    })
}

#[derive(Deserialize)]
struct NewKey {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    permissions: Option<Vec<String>>,
}

/// `POST /api/api-keys`: a key with the permissions asked for (Immich names, stored as given;
/// `["all"]` when none are named). A key can only hand out what it holds itself.
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
    let perms = body.permissions.unwrap_or_else(|| vec!["all".into()]);
    if perms.is_empty() || perms.len() > 200 {
        return Err(ApiError::bad_request(
            "permissions must name 1 to 200 permissions",
        ));
    }
    if let Err(bad) = permissions::validate(&perms) {
        let shown: String = bad.chars().take(64).collect();
        return Err(ApiError::bad_request(format!(
            "permissions: {shown:?} is not a permission"
        )));
    }
    if !permissions::may_grant(&auth.permissions, &perms) {
        return Err(ApiError::bad_request(
            "Cannot grant permissions you do not have",
        ));
    }
    let secret = secrets::generate()?;
    let hash = secrets::hash(&secret);
    let id = ids::new_id();
    let user = auth.user.id;
    let key = state
        .db
        .run(move |c| {
            let now = clock::now_api();
            api_keys::insert(c, &id, &user, &name, &hash, &perms, &now)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"secret": secret, "apiKey": key_json(&key)})),
    ))
}

async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let user = auth.user.id;
    let keys = state.db.run(move |c| api_keys::list(c, &user)).await?;
    Ok(Json(Value::Array(keys.iter().map(key_json).collect())))
}

async fn fetch(state: &AppState, user: String, id: String) -> ApiResult<Value> {
    state
        .db
        .run(move |c| api_keys::get(c, &user, &id))
        .await?
        .map(|k| key_json(&k))
        .ok_or_else(|| ApiError::not_found("API key"))
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
