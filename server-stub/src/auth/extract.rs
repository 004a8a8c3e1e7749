//! The `Auth` extractor: resolves `x-api-key`, `Authorization: Bearer`, or the
//! `immich_access_token` cookie to a live user, or answers 401. An API key must also hold the
//! permission the route declares (`crate::policy::POLICIES`; 403 otherwise). `AuthAdmin` also
//! requires the admin flag (403 otherwise).

use crate::app::AppState;
use crate::auth::permissions::{self, Required};
use crate::auth::secrets;
use crate::error::ApiError;
use crate::store::api_keys::{self, Found};
use crate::users::User;
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
    /// What the caller may do: the key's permissions, or `["all"]` for a session.
    pub permissions: Vec<String>,
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
            .run(move |c| api_keys::credential(c, &hash))
            .await?;
        let (found, user) =
            found.ok_or_else(|| ApiError::Unauthorized("Invalid user token or API key".into()))?;
        let (credential, permissions) = match found {
            Found::Key { id, permissions } => (Credential::ApiKey(id), permissions),
            Found::Session { id } => (Credential::Session(id), vec!["all".to_owned()]),
        };
        // A route the policy table does not describe asks for everything (fails closed).
        let required = parts
            .extensions
            .get::<Required>()
            .copied()
            .unwrap_or(Required::Permission("all"));
        if !permissions::is_granted(&permissions, required) {
            return Err(ApiError::Forbidden(format!(
                "Missing required permission: {}",
                required.as_str().unwrap_or("all")
            )));
        }
        Ok(Auth {
            user,
            credential,
            permissions,
        })
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
