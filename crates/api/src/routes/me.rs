//! `/api/v1/me*`: the signed-in user's profile, e-mail, password and sessions (F7).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, Problem};
use crate::identity;
use crate::routes::JsonBody;
use crate::routes::auth::{Accepted, TokenResponse, origin};
use crate::store::{SessionRecord, UserRecord};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/me").get(get_me).patch(patch_me))
        .service(web::resource("/me/email").post(change_email))
        .service(web::resource("/me/password").post(change_password))
        .service(
            web::resource("/me/sessions")
                .get(list_sessions)
                .delete(end_other_sessions),
        )
        .service(web::resource("/me/sessions/{id}").delete(end_session));
}

pub fn timestamp(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Profile {
    #[schema(example = 1)]
    pub id: i64,
    #[schema(example = "username@mail.ru")]
    pub email: String,
    #[schema(example = "Иванов Иван Иванович")]
    pub full_name: String,
    #[schema(example = "79876543210")]
    pub phone: String,
    /// `customer` or `operator`.
    #[schema(example = "customer")]
    pub role: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&UserRecord> for Profile {
    fn from(user: &UserRecord) -> Self {
        Self {
            id: user.id,
            email: user.email.clone(),
            full_name: user.full_name.clone(),
            phone: user.phone.clone(),
            role: user.role().as_str().to_owned(),
            created_at: timestamp(user.created_at),
        }
    }
}

/// The signed-in user's profile.
#[utoipa::path(
    get, path = "/me",
    tag = "me",
    security(("bearer" = [])),
    responses((status = 200, body = Profile), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
async fn get_me(current: CurrentUser) -> web::Json<Profile> {
    web::Json(Profile::from(&current.user))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    #[schema(example = "Иванов Иван Иванович")]
    pub full_name: Option<String>,
    #[schema(example = "79876543210")]
    pub phone: Option<String>,
}

/// «Профиль»: changes ФИО and/or the phone number, by the registration rules.
#[utoipa::path(
    patch, path = "/me",
    tag = "me",
    security(("bearer" = [])),
    request_body = UpdateProfileRequest,
    responses(
        (status = 200, body = Profile),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn patch_me(
    state: web::Data<AppState>,
    current: CurrentUser,
    body: JsonBody<UpdateProfileRequest>,
) -> Result<web::Json<Profile>, ApiError> {
    let updated = identity::update_profile(
        &state,
        &current.user,
        body.full_name.as_deref(),
        body.phone.as_deref(),
    )
    .await?;
    Ok(web::Json(Profile::from(&updated)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeEmailRequest {
    #[schema(example = "new-address@yandex.ru")]
    pub new_email: String,
    pub current_password: String,
}

/// «Изменить email»: e-mails a confirmation link to the new address; the address changes only
/// when it is used.
#[utoipa::path(
    post, path = "/me/email",
    tag = "me",
    security(("bearer" = [])),
    request_body = ChangeEmailRequest,
    responses(
        (status = 202, body = Accepted),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn change_email(
    state: web::Data<AppState>,
    request: HttpRequest,
    current: CurrentUser,
    body: JsonBody<ChangeEmailRequest>,
) -> Result<HttpResponse, ApiError> {
    let detail = identity::request_email_change(
        &state,
        &current,
        &body.new_email,
        &body.current_password,
        &origin(&request, &state),
    )
    .await?;
    Ok(Accepted::response(detail))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
    pub new_password_confirmation: String,
}

/// «Обновить пароль»: every other session ends; the answer carries a new access token for this
/// one.
#[utoipa::path(
    post, path = "/me/password",
    tag = "me",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong current passwords for this account, or too many letters to its address", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn change_password(
    state: web::Data<AppState>,
    request: HttpRequest,
    current: CurrentUser,
    body: JsonBody<ChangePasswordRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let token = identity::change_password(
        &state,
        &current.user,
        current.session_id,
        &body.current_password,
        &body.new_password,
        &body.new_password_confirmation,
        &origin(&request, &state),
    )
    .await?;
    Ok(web::Json(TokenResponse::new(token)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    pub id: i64,
    /// The session this request was made in.
    pub current: bool,
    pub remember_me: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub user_agent: String,
    pub ip: String,
}

impl SessionInfo {
    fn new(session: SessionRecord, current: i64) -> Self {
        Self {
            id: session.id,
            current: session.id == current,
            remember_me: session.remember != 0,
            created_at: timestamp(session.created_at),
            last_seen_at: timestamp(session.last_seen_at),
            expires_at: timestamp(session.expires_at),
            user_agent: session.user_agent,
            ip: session.ip,
        }
    }
}

/// The user's open sessions, most recently used first.
#[utoipa::path(
    get, path = "/me/sessions",
    tag = "me",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<SessionInfo>), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
async fn list_sessions(
    state: web::Data<AppState>,
    current: CurrentUser,
) -> Result<web::Json<Vec<SessionInfo>>, ApiError> {
    let sessions = state
        .store
        .open_sessions(current.user.id, state.clock.now())
        .await?;
    Ok(web::Json(
        sessions
            .into_iter()
            .map(|s| SessionInfo::new(s, current.session_id))
            .collect(),
    ))
}

/// Ends every session of the user except the current one.
#[utoipa::path(
    delete, path = "/me/sessions",
    tag = "me",
    security(("bearer" = [])),
    responses((status = 204, description = "Other sessions ended"), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
async fn end_other_sessions(
    state: web::Data<AppState>,
    current: CurrentUser,
) -> Result<HttpResponse, ApiError> {
    identity::end_other_sessions(&state, current.user.id, current.session_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ends one of the user's sessions (the current one too, which signs out).
#[utoipa::path(
    delete, path = "/me/sessions/{id}",
    tag = "me",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Session id")),
    responses(
        (status = 204, description = "Session ended"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn end_session(
    state: web::Data<AppState>,
    current: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    if !identity::end_session(&state, current.user.id, path.into_inner()).await? {
        return Err(ApiError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}
