//! Discovery and server information, no authentication needed: what an Immich client asks
//! before it logs in.

use crate::app::AppState;
use crate::media;
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

async fn features() -> Json<Value> {
    Json(json!({
        "smartSearch": false, "facialRecognition": false, "duplicateDetection": false,
        "map": false, "reverseGeocoding": false, "importFaces": false, "sidecar": false,
        "search": false, "trash": true, "oauth": false, "oauthAutoLaunch": false,
        "passwordLogin": true, "configFile": false, "email": false, "ocr": false,
    }))
}

async fn media_types() -> Json<Value> {
    Json(json!({
        "image": media::IMAGE_EXTS,
        "video": media::VIDEO_EXTS,
        "sidecar": media::SIDECAR_EXTS,
    }))
}
