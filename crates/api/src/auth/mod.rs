//! Who is calling: password hashing, access tokens, e-mailed one-time tokens, extractors and
//! rate limits.

mod extract;
mod jwt;
mod password;
mod rate_limit;

pub use extract::{ApiClient, CurrentUser, Operator, SessionToken};
pub use jwt::{ACCESS_TOKEN_SECS, AccessClaims, JwtKeys};
pub use password::{PasswordHasher, normalized as normalized_password};
pub use rate_limit::RateLimiter;

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A random secret for a link or a refresh cookie (256 bits, URL-safe) and the hash under
/// which it is stored; the secret itself is never stored.
pub fn new_secret_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
