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

impl CurrentUser {
    async fn authenticate(request: HttpRequest) -> Result<Self, ApiError> {
        let state = request
            .app_data::<web::Data<AppState>>()
            .ok_or_else(|| anyhow::anyhow!("application state missing"))?;
        let token = bearer(&request).ok_or_else(ApiError::unauthorized)?;
        let now = state.clock.now();
        let claims = state.jwt.verify(token, now).ok_or_else(invalid_token)?;
        let user_id: i64 = claims.sub.parse().map_err(|_| invalid_token())?;
        let user = state
            .store
            .user_in_session(user_id, claims.sid, now)
            .await?
            .filter(|user| user.token_version == claims.ver)
            .ok_or_else(invalid_token)?;
        Ok(Self {
            user,
            session_id: claims.sid,
        })
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
            let state = request
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| anyhow::anyhow!("application state missing"))?;
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
