//! The `Auth` extractor: resolves `x-api-key`, `Authorization: Bearer`, or the
//! `immich_access_token` cookie to a live user, or answers 401. `AuthAdmin` also requires the
//! admin flag (403 otherwise).

use crate::app::AppState;
use crate::auth::secrets;
use crate::db::optional;
use crate::error::ApiError;
use crate::users::{self, User};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    Session(String),
    ApiKey(String),
}

#[derive(Debug, Clone)]
pub struct Auth {
    pub user: User,
    pub credential: Credential,
}

pub struct AuthAdmin(pub Auth);

fn presented_secret(parts: &Parts) -> Option<String> {
    if let Some(v) = parts.headers.get("x-api-key") {
        return v.to_str().ok().map(|s| s.trim().to_owned());
    }
    if let Some(v) = parts.headers.get(header::AUTHORIZATION) {
        let v = v.to_str().ok()?;
        let (scheme, token) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == "immich_access_token")
        .map(|(_, v)| v.to_owned())
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = presented_secret(parts)
            .filter(|s| !s.is_empty() && s.len() <= 512)
            .ok_or_else(|| ApiError::Unauthorized("Authentication required".into()))?;
        let hash = secrets::hash(&secret);
        let found = state
            .db
            .call(move |c| {
                let sql = format!(
                    "SELECT k.id, 'key', {cols} FROM api_keys k JOIN users u ON u.id = k.user_id \
                     WHERE k.key_hash = ?1 AND u.deleted_at IS NULL \
                     UNION ALL \
                     SELECT s.id, 'session', {cols} FROM sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.token_hash = ?1 AND u.deleted_at IS NULL LIMIT 1",
                    cols = crate::db::qualified(users::COLUMNS, "u")
                );
                Ok(optional(c.query_row(&sql, [&hash], |r| {
                    let id: String = r.get(0)?;
                    let kind: String = r.get(1)?;
                    let user = User::from_row_offset(r, 2)?;
                    Ok((id, kind, user))
                }))?)
            })
            .await?;
        let (id, kind, user) =
            found.ok_or_else(|| ApiError::Unauthorized("Invalid user token or API key".into()))?;
        let credential = if kind == "key" {
            Credential::ApiKey(id)
        } else {
            Credential::Session(id)
        };
        Ok(Auth { user, credential })
    }
}

impl FromRequestParts<AppState> for AuthAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = Auth::from_request_parts(parts, state).await?;
        if !auth.user.is_admin {
            return Err(ApiError::Forbidden("Admin access required".into()));
        }
        Ok(AuthAdmin(auth))
    }
}
