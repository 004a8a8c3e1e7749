//! Sign-up of the first admin, login (argon2id, rate-limited) and logout.

use crate::app::AppState;
use crate::auth::client::ClientIp;
use crate::auth::extract::Credential;
use crate::auth::rate_limit::Keys;
use crate::auth::{Auth, password, secrets};
use crate::db::optional;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiJson;
use crate::users::{self, User};
use crate::{clock, ids};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use rusqlite::params;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/admin-sign-up", post(admin_sign_up))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewUser {
    pub email: String,
    pub password: String,
    pub name: String,
    #[serde(default)]
    pub quota_size_in_bytes: Option<i64>,
    #[serde(default)]
    pub is_admin: Option<bool>,
    #[serde(default)]
    pub should_change_password: Option<bool>,
}

/// Validates and inserts a user; `first_admin_only` makes it fail with 400 once anyone exists.
pub async fn create_user(
    state: &AppState,
    new: NewUser,
    is_admin: bool,
    first_admin_only: bool,
) -> ApiResult<User> {
    let email = new.email.trim().to_lowercase();
    if email.len() > 254 || !email.contains('@') || email.chars().any(char::is_control) {
        return Err(ApiError::bad_request("email must be a valid email address"));
    }
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::bad_request("name must be 1 to 200 characters"));
    }
    if new.quota_size_in_bytes.is_some_and(|q| q < 0) {
        return Err(ApiError::bad_request(
            "quotaSizeInBytes must not be negative",
        ));
    }
    password::check_policy(&new.password)?;
    let hash = password::hash(new.password).await?;
    let id = ids::new_id();
    let now = clock::now_api();
    let quota = new.quota_size_in_bytes;
    let must_change = new.should_change_password.unwrap_or(false);
    state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            if first_admin_only {
                let any: i64 = tx.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?;
                if any > 0 {
                    return Err(ApiError::bad_request("The server already has an admin"));
                }
            }
            let res = tx.execute(
                "INSERT INTO users (id, email, name, password_hash, is_admin, quota_size_bytes, \
                 should_change_password, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                params![id, email, name, hash, is_admin, quota, must_change, now],
            );
            match res {
                Err(e) if crate::db::is_unique_violation(&e) => {
                    return Err(ApiError::bad_request("User exists"));
                }
                other => other?,
            };
            let user = tx.query_row(
                &format!("SELECT {} FROM users WHERE id = ?1", users::COLUMNS),
                [&id],
                User::from_row,
            )?;
            tx.commit()?;
            Ok(user)
        })
        .await
}

async fn admin_sign_up(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let user = create_user(&state, body, true, true).await?;
    tracing::info!(user = %user.id, "admin signed up");
    Ok((StatusCode::CREATED, Json(user.to_json())))
}

#[derive(Deserialize)]
struct Login {
    email: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    ApiJson(body): ApiJson<Login>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let email = body.email.trim().to_lowercase();
    let keys = Keys::new(&format!("email:{email}"), peer);
    state
        .throttle
        .check(&keys)
        .map_err(|wait| ApiError::TooManyRequests {
            message: format!("Too many failed login attempts; try again in {wait} seconds"),
            retry_after_secs: wait,
        })?;
    let lookup = email.clone();
    let found = state
        .db
        .call(move |c| {
            Ok(optional(c.query_row(
                &format!(
                    "SELECT password_hash, {} FROM users WHERE email = ?1 AND deleted_at IS NULL",
                    users::COLUMNS
                ),
                [&lookup],
                |r| Ok((r.get::<_, String>(0)?, User::from_row_offset(r, 1)?)),
            ))?)
        })
        .await?;
    // Verify against a dummy hash when the user is unknown so timing does not reveal emails.
    let (phc, user) = match found {
        Some((phc, user)) => (phc, Some(user)),
        None => (dummy_hash().await?, None),
    };
    let ok = password::verify(body.password, phc).await?;
    let user = match (ok, user) {
        (true, Some(user)) => user,
        _ => {
            state.throttle.failed(&keys);
            tracing::warn!(%email, %peer, "failed login");
            return Err(ApiError::Unauthorized("Incorrect email or password".into()));
        }
    };
    state.throttle.succeeded(&keys);
    let token = secrets::generate()?;
    let token_hash = secrets::hash(&token);
    let user_id = user.id.clone();
    state
        .db
        .call(move |c| {
            c.execute(
                "INSERT INTO sessions (id, user_id, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![ids::new_id(), user_id, token_hash, clock::now_api()],
            )?;
            Ok(())
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "accessToken": token,
            "userId": user.id,
            "userEmail": user.email,
            "name": user.name,
            "isAdmin": user.is_admin,
            "profileImagePath": "",
            "shouldChangePassword": user.should_change_password,
            "isOnboarded": true,
        })),
    ))
}

async fn dummy_hash() -> ApiResult<String> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_try_init(|| password::hash("shoebox-dummy-password".into()))
        .await
        .cloned()
}

async fn logout(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    if let Credential::Session(id) = auth.credential {
        state
            .db
            .call(move |c| {
                c.execute("DELETE FROM sessions WHERE id = ?1", [id])?;
                Ok(())
            })
            .await?;
    }
    Ok(Json(
        json!({"successful": true, "redirectUri": "/auth/login"}),
    ))
}
