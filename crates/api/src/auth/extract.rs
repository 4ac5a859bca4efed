//! Extractors for handlers: `CurrentUser` for any signed-in user, `Operator` for staff.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};

use crate::app::AppState;
use crate::error::ApiError;
use crate::store::{Role, UserRecord};

/// The signed-in user behind a valid access token whose session is still open.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: UserRecord,
    pub session_id: i64,
}

/// The bearer token of a request, if it sent one.
pub fn bearer(request: &HttpRequest) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A valid access token whose session has not been read yet: for a handler that reads the
/// session in the same read as its data, then admits the user (`SessionToken::admit`).
#[derive(Debug, Clone, Copy)]
pub struct SessionToken {
    pub user_id: i64,
    pub session_id: i64,
    token_version: i64,
}

impl SessionToken {
    fn verify(request: &HttpRequest, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(request).ok_or_else(ApiError::unauthorized)?;
        let claims = state
            .jwt
            .verify(token, state.clock.now())
            .ok_or_else(invalid_token)?;
        Ok(Self {
            user_id: claims.sub.parse().map_err(|_| invalid_token())?,
            session_id: claims.sid,
            token_version: claims.ver,
        })
    }

    /// The signed-in user, given what the store found for this token's session (`None`: not
    /// open); a token issued before the user's last password change is refused.
    pub fn admit(self, user: Option<UserRecord>) -> Result<CurrentUser, ApiError> {
        let user = user
            .filter(|user| user.token_version == self.token_version)
            .ok_or_else(invalid_token)?;
        Ok(CurrentUser {
            user,
            session_id: self.session_id,
        })
    }
}

fn state_of(request: &HttpRequest) -> Result<&web::Data<AppState>, ApiError> {
    Ok(request
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| anyhow::anyhow!("application state missing"))?)
}

impl FromRequest for SessionToken {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(state_of(request).and_then(|state| Self::verify(request, state)))
    }
}

impl CurrentUser {
    async fn authenticate(request: HttpRequest) -> Result<Self, ApiError> {
        let state = state_of(&request)?;
        let token = SessionToken::verify(&request, state)?;
        let user = state
            .store
            .user_in_session(token.user_id, token.session_id, state.clock.now())
            .await?;
        token.admit(user)
    }
}

fn invalid_token() -> ApiError {
    ApiError::Unauthorized {
        code: "invalid_token",
        detail: "Сеанс истёк или недействителен. Войдите снова.".into(),
    }
}

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(Self::authenticate(request.clone()))
    }
}

/// A signed-in operator; customers get 403.
#[derive(Debug, Clone)]
pub struct Operator(pub CurrentUser);

impl FromRequest for Operator {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let current = CurrentUser::authenticate(request).await?;
            if current.user.role() != Role::Operator {
                return Err(ApiError::Forbidden {
                    code: "operator_only",
                    detail: "Этот раздел доступен только операторам.".into(),
                });
            }
            Ok(Operator(current))
        })
    }
}

/// An integrator holding an active API key; nothing else passes.
#[derive(Debug, Clone)]
pub struct ApiClient {
    pub key_id: i64,
    pub name: String,
}

impl FromRequest for ApiClient {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let state = state_of(&request)?;
            let invalid = || ApiError::Unauthorized {
                code: "invalid_api_key",
                detail: "Нужен действующий API-ключ интегратора: Authorization: Bearer <ключ>."
                    .into(),
            };
            let key = bearer(&request).ok_or_else(invalid)?;
            let found = state.store.api_key_by_hash(&super::hash_token(key)).await?;
            let key = found.ok_or_else(invalid)?;
            Ok(ApiClient {
                key_id: key.id,
                name: key.name,
            })
        })
    }
}
