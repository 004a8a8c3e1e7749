//! Identifiers: every row id is a random UUID; ids from clients are parsed strictly so a
//! malformed id is a 400 and never reaches a query as free text.

use crate::error::ApiError;
use uuid::Uuid;

pub fn new_id() -> String {
    Uuid::new_v4().to_string()
}

/// Parses a client-supplied id; answers 400 naming `what` when it is not a UUID.
pub fn parse(what: &str, raw: &str) -> Result<String, ApiError> {
    Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::bad_request(format!("{what} must be a UUID")))
}
