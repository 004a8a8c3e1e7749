//! The one error type every handler returns, rendered in Immich's JSON error shape
//! (`{message, error, statusCode, correlationId}`) so Immich clients show our messages as they
//! show theirs. The correlation id is fresh per error and logged with it, so a user's report
//! ("correlation id 3f9a…") finds the server's log line.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// tus checksum-mismatch status (not in the HTTP registry, so not a `StatusCode` constant).
pub const CHECKSUM_MISMATCH: u16 = 460;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Locked(String),
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    /// tus: the client speaks a protocol version we do not.
    #[error("{0}")]
    UnsupportedTusVersion(String),
    #[error("{0}")]
    ChecksumMismatch(String),
    #[error("requested range not satisfiable")]
    RangeNotSatisfiable { size: u64 },
    #[error("{0}")]
    InsufficientStorage(String),
    /// A feature whose model or data files are missing on this server.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::BadRequest(msg.into())
    }
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        Self::Internal(format!("{context}: {err}"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Gone(_) => StatusCode::GONE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Locked(_) => StatusCode::LOCKED,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::UnsupportedTusVersion(_) => StatusCode::PRECONDITION_FAILED,
            Self::ChecksumMismatch(_) => {
                StatusCode::from_u16(CHECKSUM_MISMATCH).unwrap_or(StatusCode::BAD_REQUEST)
            }
            Self::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let correlation_id = correlation_id();
        let message = match &self {
            Self::Internal(detail) => {
                tracing::error!(%detail, %correlation_id, "internal error");
                "Internal server error".to_owned()
            }
            other => {
                tracing::debug!(status = status.as_u16(), message = %other, %correlation_id, "request refused");
                other.to_string()
            }
        };
        let reason = match status.as_u16() {
            CHECKSUM_MISMATCH => "Checksum Mismatch",
            _ => status.canonical_reason().unwrap_or("Error"),
        };
        let body = json!({
            "message": message,
            "error": reason,
            "statusCode": status.as_u16(),
            "correlationId": correlation_id,
        });
        let mut resp = (status, axum::Json(body)).into_response();
        let headers = resp.headers_mut();
        match self {
            Self::TooManyRequests {
                retry_after_secs, ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            Self::UnsupportedTusVersion(_) => {
                headers.insert("tus-version", HeaderValue::from_static("1.0.0"));
            }
            Self::RangeNotSatisfiable { size } => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    headers.insert(header::CONTENT_RANGE, v);
                }
            }
            _ => {}
        }
        resp
    }
}

/// A short random id naming one error response (Immich sends 8 characters).
pub fn correlation_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

impl From<JsonRejection> for ApiError {
    fn from(rej: JsonRejection) -> Self {
        match rej {
            JsonRejection::MissingJsonContentType(_) => {
                Self::bad_request("expected a JSON body with Content-Type: application/json")
            }
            other => Self::bad_request(format!("invalid JSON body: {}", other.body_text())),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rej: QueryRejection) -> Self {
        Self::bad_request(format!("invalid query: {}", rej.body_text()))
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(err: rusqlite::Error) -> Self {
        Self::internal("database", err)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        Self::internal("store", err)
    }
}

impl From<std::io::Error> for ApiError {
    fn from(err: std::io::Error) -> Self {
        if err.raw_os_error() == Some(libc::ENOSPC) {
            Self::InsufficientStorage("the server's disk is full".into())
        } else {
            Self::internal("storage", err)
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
