//! Who is calling: password hashing, opaque secrets (session tokens, API keys), the client's
//! address and the password throttle, and the `Auth` extractor every protected handler takes.

pub mod client;
pub mod extract;
pub mod password;
pub mod permissions;
pub mod rate_limit;
pub mod secrets;

pub use extract::{Auth, AuthAdmin};
