//! Discovery and server information, no authentication needed: what an Immich client asks
//! before it logs in.

use crate::app::AppState;
use crate::media;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

/// The Immich API version we answer as; `@immich/cli` 2.x/3.x talk to it.
pub const IMMICH_VERSION: (u32, u32, u32) = (2, 3, 0);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/server/ping",
            get(|| async { Json(json!({"res": "pong"})) }),
        )
        .route("/server/version", get(version))
        .route("/server/features", get(features))
        .route("/server/media-types", get(media_types))
}

pub async fn well_known() -> Json<Value> {
    Json(json!({"api": {"endpoint": "/api"}}))
}

async fn version() -> Json<Value> {
    let (major, minor, patch) = IMMICH_VERSION;
    Json(json!({"major": major, "minor": minor, "patch": patch}))
}

/// Immich's `ServerFeaturesDto`: what is really on, so clients show the screens that work.
/// Smart search and facial recognition need ML on and their models on disk; reverse
/// geocoding needs the gazetteer; the map (GPS markers), metadata search, XMP sidecars and
/// the trash are always there. Duplicate detection, face import, OAuth, e-mail and OCR are not
/// implemented.
async fn features(State(state): State<AppState>) -> Json<Value> {
    let on = state.ml.available();
    Json(json!({
        "smartSearch": on.smart_search, "facialRecognition": on.faces,
        "duplicateDetection": false, "map": true, "reverseGeocoding": on.geocoding,
        "importFaces": false, "sidecar": true, "search": true, "trash": true, "oauth": false,
        "oauthAutoLaunch": false, "passwordLogin": true, "configFile": false, "email": false,
        "ocr": false,
    }))
}

async fn media_types() -> Json<Value> {
    Json(json!({
        "image": media::IMAGE_EXTS,
        "video": media::VIDEO_EXTS,
        "sidecar": media::SIDECAR_EXTS,
    }))
}
