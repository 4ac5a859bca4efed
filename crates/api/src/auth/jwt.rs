//! Short-lived access tokens: HS256 only, a 256-bit key at least, `iss`, `aud`, `typ` and `exp`
//! required, and the user's token version so that a password change voids older tokens.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::config::Secret;

/// Lifetime of an access token: a stolen one is useful for minutes at most.
pub const ACCESS_TOKEN_SECS: i64 = 15 * 60;
const ISSUER: &str = "lk";
const AUDIENCE: &str = "lk-api";
const ACCESS_TYPE: &str = "access";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user id.
    pub sub: String,
    /// The session the token belongs to.
    pub sid: i64,
    /// The user's token version when it was issued.
    pub ver: i64,
    pub typ: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    pub fn new(secret: &Secret) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
        }
    }

    pub fn issue(&self, user_id: i64, session_id: i64, token_version: i64, now: i64) -> String {
        let claims = AccessClaims {
            sub: user_id.to_string(),
            sid: session_id,
            ver: token_version,
            typ: ACCESS_TYPE.to_owned(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now + ACCESS_TOKEN_SECS,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 encoding of plain claims cannot fail")
    }

    /// The claims of a valid access token; `None` for anything else (wrong key or algorithm,
    /// expired, a refresh token, garbage).
    pub fn verify(&self, token: &str, now: i64) -> Option<AccessClaims> {
        let data = decode::<AccessClaims>(token, &self.decoding, &self.validation).ok()?;
        let claims = data.claims;
        // jsonwebtoken checks `exp` against the system clock; the portal's clock may be ahead.
        (claims.typ == ACCESS_TYPE && claims.exp + self.validation.leeway as i64 > now)
            .then_some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(&Secret::new("0123456789abcdef0123456789abcdef"))
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_session() {
        let token = keys().issue(7, 3, 1, now());
        let claims = keys().verify(&token, now()).unwrap();
        assert_eq!((claims.sub.as_str(), claims.sid, claims.ver), ("7", 3, 1));
    }

    #[test]
    fn other_keys_expired_and_unsigned_tokens_fail() {
        let other = JwtKeys::new(&Secret::new("another-secret-another-secret-xx"));
        assert!(keys().verify(&other.issue(7, 3, 1, now()), now()).is_none());
        assert!(
            keys()
                .verify(&keys().issue(7, 3, 1, now() - 3600), now())
                .is_none()
        );
        let token = keys().issue(7, 3, 1, now());
        let payload = token.split('.').nth(1).unwrap();
        // {"alg":"none","typ":"JWT"}
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(keys().verify(&unsigned, now()).is_none());
    }
}
