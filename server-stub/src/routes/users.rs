//! The caller's own user, and admin creation of users (with quotas).

use crate::app::AppState;
use crate::auth::{Auth, AuthAdmin};
use crate::error::ApiResult;
use crate::routes::ApiJson;
use crate::routes::auth::{NewUser, create_user};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users/me", get(me))
        .route("/admin/users", post(admin_create))
}

async fn me(auth: Auth) -> Json<Value> {
    Json(auth.user.to_json())
}

async fn admin_create(
    State(state): State<AppState>,
    AuthAdmin(admin): AuthAdmin,
    ApiJson(body): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let is_admin = body.is_admin.unwrap_or(false);
    let user = create_user(&state, body, is_admin, false).await?;
    tracing::info!(by = %admin.user.id, user = %user.id, "user created");
    Ok((StatusCode::CREATED, Json(user.to_json())))
}
