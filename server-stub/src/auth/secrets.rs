//! Opaque bearer secrets (session tokens and API keys): 32 random bytes shown once to the
//! client, stored only as SHA-256. They carry full entropy, so a fast hash suffices, and lookup
//! by hash means no secret is ever compared byte by byte against a stored one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

pub fn generate() -> Result<String, crate::error::ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| crate::error::ApiError::internal("random", e))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}
