//! Password hashing with argon2id (PHC strings with their own salt and parameters), run on a
//! blocking thread because a hash costs tens of milliseconds by design.

use crate::error::ApiError;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Argon2, PasswordHash};

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 1024;

pub fn check_policy(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if n < MIN_LEN || password.len() > MAX_LEN {
        return Err(ApiError::bad_request(format!(
            "password must be {MIN_LEN} to {MAX_LEN} characters long"
        )));
    }
    Ok(())
}

pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::internal("password hash", e))
    })
    .await
    .map_err(|e| ApiError::internal("password task", e))?
}

/// Constant-time verification (inside argon2) of `password` against a stored PHC string.
pub async fn verify(password: String, phc: String) -> Result<bool, ApiError> {
    if password.len() > MAX_LEN {
        return Ok(false);
    }
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&phc).map_err(|e| ApiError::internal("stored hash", e))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| ApiError::internal("password task", e))?
}
