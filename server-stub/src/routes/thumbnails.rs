//! `GET /api/assets/{id}/thumbnail?size=thumbnail|preview`: the derived image with a strong
//! ETag (SHA-1 of its bytes) and `Cache-Control: private, max-age=86400, immutable`, 304 on
//! `If-None-Match`. Until a thumbnail exists (job pending) or when it cannot exist (job failed:
//! corrupt file) a grey placeholder is served with `no-cache`, so clients ask again later.

use crate::access::{self, Principal};
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::media::thumbs::{self, Kind};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new().route("/assets/{id}/thumbnail", get(thumbnail))
}

#[derive(Deserialize)]
struct SizeQuery {
    size: Option<String>,
}

const PLACEHOLDER_ETAG: &str = "\"placeholder-v1\"";

async fn thumbnail(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    query: Result<Query<SizeQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let Query(q) = query?;
    let kind = match q.size.as_deref() {
        None | Some("") => Kind::Thumbnail,
        // Immich also has `fullsize`; without a converted full-size image the preview serves it.
        Some("fullsize") => Kind::Preview,
        Some(s) => Kind::parse(s).ok_or_else(|| {
            ApiError::bad_request("size must be one of thumbnail, preview, fullsize")
        })?,
    };
    let id = ids::parse("id", &id)?;
    let file = state
        .db
        .call(move |c| {
            access::asset(c, &principal, &id)?;
            Ok(crate::db::optional(c.query_row(
                "SELECT path, etag FROM asset_files WHERE asset_id = ?1 AND kind = ?2",
                [&id, kind.as_str()],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            ))?)
        })
        .await?;
    let bytes = match &file {
        Some((rel, _)) => match tokio::fs::read(state.storage.abs(rel)).await {
            Ok(b) => Some(b),
            Err(e) => {
                tracing::warn!(path = %rel, error = %e, "derived file missing; serving placeholder");
                None
            }
        },
        None => None,
    };
    let (etag, body, cache) = match (file, bytes) {
        (Some((_, etag)), Some(b)) => (etag, b, "private, max-age=86400, immutable"),
        _ => (
            PLACEHOLDER_ETAG.to_owned(),
            thumbs::placeholder(kind).to_vec(),
            "private, no-cache",
        ),
    };
    image_response(&headers, &etag, body, cache, kind.mime())
}

/// An image body with its strong `etag`, or 304 when `If-None-Match` has it.
pub fn image_response(
    headers: &HeaderMap,
    etag: &str,
    body: Vec<u8>,
    cache: &'static str,
    mime: &'static str,
) -> ApiResult<Response> {
    let etag_value =
        HeaderValue::from_str(etag).map_err(|e| ApiError::internal("etag header", e))?;
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let cache = HeaderValue::from_static(cache);
    if matches {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (header::ETAG, etag_value),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response())
}
