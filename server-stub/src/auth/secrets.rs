//! Opaque bearer secrets (session tokens, API keys, shared-link keys): 43 random alphanumeric
//! characters (≈ 256 bits) shown once to the client, stored only as SHA-256. Alphanumeric like
//! Immich's, so a key never starts with `-` (a command line such as `immich login URL KEY`
//! would take it for an option) and needs no escaping in URLs or shells. They carry full entropy, so a fast hash suffices, and lookup
//! by hash means no secret is ever compared byte by byte against a stored one.

use sha2::{Digest, Sha256};

const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// 43 characters of 62 carry 256 bits.
const LEN: usize = 43;

pub fn generate() -> Result<String, crate::error::ApiError> {
    let mut out = String::with_capacity(LEN);
    let mut pool = [0u8; 64];
    while out.len() < LEN {
        getrandom::fill(&mut pool).map_err(|e| crate::error::ApiError::internal("random", e))?;
        // Rejection sampling: bytes ≥ 248 (= 4 × 62) would bias the modulo.
        for b in pool.iter().filter(|b| **b < 248) {
            if out.len() == LEN {
                break;
            }
            out.push(ALPHABET[usize::from(*b % 62)] as char);
        }
    }
    Ok(out)
}

pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_long_alphanumeric_and_distinct() {
        let a = super::generate().unwrap();
        let b = super::generate().unwrap();
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, b);
    }
}
