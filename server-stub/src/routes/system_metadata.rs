//! `/api/system-metadata/*` (admin): the first-run onboarding flag the web app's welcome
//! screens read and set, and the state of the reverse-geocoding data.

use crate::app::AppState;
use crate::auth::AuthAdmin;
use crate::error::{ApiError, ApiResult};
use crate::routes::{ApiJson, field_bool};
use crate::store::system_metadata;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/system-metadata/admin-onboarding",
            get(onboarding).post(set_onboarding),
        )
        .route(
            "/system-metadata/reverse-geocoding-state",
            get(geocoding_state),
        )
}

async fn onboarding(State(state): State<AppState>, _admin: AuthAdmin) -> ApiResult<Json<Value>> {
    let done = state
        .db
        .run(|c| system_metadata::admin_onboarded(c))
        .await?;
    Ok(Json(json!({ "isOnboarded": done })))
}

async fn set_onboarding(
    State(state): State<AppState>,
    _admin: AuthAdmin,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<StatusCode> {
    let done = field_bool(&body, "isOnboarded")?
        .ok_or_else(|| ApiError::bad_request("isOnboarded must be a boolean"))?;
    state
        .db
        .run(move |c| system_metadata::set_admin_onboarded(c, done))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The gazetteer the reverse geocoder reads (`make models` puts it in the model directory):
/// its file name and when it was written; both null when it is not installed.
async fn geocoding_state(State(state): State<AppState>, _admin: AuthAdmin) -> Json<Value> {
    let file = state.ml.dir.join("geo").join("cities.json");
    let updated = std::fs::metadata(&file)
        .and_then(|m| m.modified())
        .ok()
        .map(|t| crate::clock::to_api(t.into()));
    Json(match updated {
        Some(at) => json!({ "lastUpdate": at, "lastImportFileName": "cities.json" }),
        None => json!({ "lastUpdate": null, "lastImportFileName": null }),
    })
}
