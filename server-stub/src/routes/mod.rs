//! HTTP handlers, one module per API area, plus the extractors they share.

pub mod albums;
pub mod api_keys;
pub mod assets;
pub mod auth;
pub mod devices;
pub mod jobs;
pub mod server_info;
pub mod sync;
pub mod thumbnails;
pub mod timeline;
pub mod trash;
pub mod users;

use crate::error::ApiError;
use axum::extract::FromRequest;

/// `axum::Json` whose rejections are our JSON 400s instead of axum's plain-text ones.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

pub async fn not_found() -> ApiError {
    ApiError::NotFound("No such endpoint".into())
}
