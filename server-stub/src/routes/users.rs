//! The caller's own user: `GET /api/users/me` (with quota and usage) and `PUT /api/users/me`
//! (name, email, password; never the admin flag or quota). Admin user management lives in
//! `routes/admin.rs`.

use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::routes::ApiJson;
use crate::routes::admin;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value};

pub fn routes() -> Router<AppState> {
    Router::new().route("/users/me", get(me).put(update_me))
}

async fn me(auth: Auth) -> Json<Value> {
    Json(auth.user.to_json())
}

async fn update_me(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<Json<Value>> {
    let user = admin::update_me(&state, &auth.user, body).await?;
    Ok(Json(user.to_json()))
}
