//! HTTP handlers, one module per API area, plus the extractors they share.

pub mod admin;
pub mod albums;
pub mod api_keys;
pub mod assets;
pub mod auth;
pub mod devices;
pub mod jobs;
pub mod map;
pub mod partners;
pub mod people;
pub mod search;
pub mod server_info;
pub mod shared_links;
pub mod stats;
pub mod sync;
pub mod system_metadata;
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

/// An optional boolean field of a JSON object body (`null` = absent); another type is a 400.
pub fn field_bool(
    body: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<Option<bool>, ApiError> {
    match body.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::bad_request(format!("{name} must be a boolean"))),
    }
}

/// An optional string field of a JSON object body (`null` = absent); another type is a 400.
pub fn field_str<'a>(
    body: &'a serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad_request(format!("{name} must be a string"))),
    }
}
