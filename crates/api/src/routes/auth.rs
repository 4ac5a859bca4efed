//! `/api/v1/auth/*`: registration, confirmation, login, refresh, logout, password recovery.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, Problem};
use crate::identity::{self, Issued, Origin, Registration};
use crate::routes::JsonBody;

pub const REFRESH_COOKIE: &str = "lk_refresh";
const REFRESH_COOKIE_PATH: &str = "/api/v1/auth";

pub fn configure(cfg: &mut web::ServiceConfig) {
    let post = |path: &str| web::resource(path.to_owned());
    cfg.service(post("/auth/register").post(register))
        .service(post("/auth/resend-confirmation").post(resend_confirmation))
        .service(post("/auth/confirm-email").post(confirm_email))
        .service(post("/auth/login").post(login))
        .service(post("/auth/refresh").post(refresh))
        .service(post("/auth/logout").post(logout))
        .service(post("/auth/forgot-password").post(forgot_password))
        .service(post("/auth/reset-password").post(reset_password))
        .service(post("/auth/confirm-email-change").post(confirm_email_change));
}

/// The caller's address and browser, for sessions and limits.
pub fn origin(request: &HttpRequest, state: &AppState) -> Origin {
    let peer = request.peer_addr().map(|a| a.ip());
    let ip = if state.config.trust_proxy {
        forwarded_client(request).or(peer)
    } else {
        peer
    };
    let user_agent = request
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(300)
        .collect();
    Origin {
        ip: ip.map_or_else(|| "unknown".into(), |ip| ip.to_string()),
        user_agent,
    }
}

/// The address our proxy saw the request come from: the last entry of `X-Forwarded-For`, the
/// one the proxy appended. Entries to its left are whatever the client sent, so trusting them
/// (as `Forwarded`, also passed through untouched) would let anyone pick an address per request
/// and never meet a per-IP limit.
fn forwarded_client(request: &HttpRequest) -> Option<std::net::IpAddr> {
    let header = request
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .last()?;
    header.rsplit(',').next()?.trim().parse().ok()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// An address with a Russian top-level domain (.ru, .рф, .su).
    #[schema(example = "username@mail.ru")]
    pub email: String,
    #[schema(example = "Иванов Иван Иванович")]
    pub full_name: String,
    /// 11 digits starting with 7, without «+»; spaces, brackets and dashes are dropped.
    #[schema(example = "79876543210")]
    pub phone: String,
    #[schema(example = "Тёплый-дом-2024")]
    pub password: String,
    #[schema(example = "Тёплый-дом-2024")]
    pub password_confirmation: String,
    /// «Подтвердить обработку перс данных»: must be true.
    pub consent: bool,
}

/// The request was taken; what happens next is told in `detail`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    #[schema(example = "accepted")]
    pub status: &'static str,
    pub detail: String,
}

impl Accepted {
    pub fn response(detail: String) -> HttpResponse {
        HttpResponse::Accepted().json(Self {
            status: "accepted",
            detail,
        })
    }
}

/// A confirmation of what was done, in Russian.
#[derive(Debug, Serialize, ToSchema)]
pub struct Done {
    pub detail: String,
}

/// Registers a customer and e-mails «Подтверждение регистрации». The answer is the same
/// whether or not the address is already registered (its owner gets a notice instead).
#[utoipa::path(
    post, path = "/auth/register",
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 202, body = Accepted),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn register(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: JsonBody<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let form = Registration {
        email: body.email,
        full_name: body.full_name,
        phone: body.phone,
        password: body.password,
        password_confirmation: body.password_confirmation,
        consent: body.consent,
    };
    let detail = identity::register(&state, form, &origin(&request, &state)).await?;
    Ok(Accepted::response(detail))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailRequest {
    #[schema(example = "username@mail.ru")]
    pub email: String,
}

/// «Отправить повторно подтверждение на почту»: a new confirmation link, if the address is
/// registered and not yet confirmed. The answer does not tell which.
#[utoipa::path(
    post, path = "/auth/resend-confirmation",
    tag = "auth",
    request_body = EmailRequest,
    responses(
        (status = 202, body = Accepted),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn resend_confirmation(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: JsonBody<EmailRequest>,
) -> Result<HttpResponse, ApiError> {
    let detail =
        identity::resend_confirmation(&state, &body.email, &origin(&request, &state)).await?;
    Ok(Accepted::response(detail))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The token from the e-mailed link.
    pub token: String,
}

/// Confirms the address with the token from «Подтверждение регистрации».
#[utoipa::path(
    post, path = "/auth/confirm-email",
    tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, body = Done),
        (status = 400, description = "`token_invalid`, `token_expired`, or `email_already_confirmed` when the link was used before", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn confirm_email(
    state: web::Data<AppState>,
    body: JsonBody<TokenRequest>,
) -> Result<web::Json<Done>, ApiError> {
    identity::confirm_email(&state, &body.token).await?;
    Ok(web::Json(Done {
        detail: "Готово! Вы зарегистрировались в личном кабинете ПАО «Т Плюс»! Теперь вы можете \
                 войти."
            .into(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "username@mail.ru")]
    pub email: String,
    pub password: String,
    /// «Запомнить меня?»: a 30-day session instead of one that ends with the browser.
    #[serde(default)]
    pub remember_me: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires; then call `/auth/refresh`.
    #[schema(example = 900)]
    pub expires_in: i64,
}

impl TokenResponse {
    pub fn new(access_token: String) -> Self {
        Self {
            access_token,
            token_type: "Bearer",
            expires_in: identity::access_token_secs(),
        }
    }
}

fn refresh_cookie(state: &AppState, issued: &Issued) -> Cookie<'static> {
    let mut cookie = Cookie::build(REFRESH_COOKIE, issued.refresh_token.clone())
        .path(REFRESH_COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.config.public_base_url.starts_with("https://"))
        .finish();
    if issued.remember {
        cookie.set_max_age(CookieDuration::seconds(issued.refresh_secs));
    }
    cookie
}

fn removal_cookie(state: &AppState) -> Cookie<'static> {
    let mut cookie = Cookie::build(REFRESH_COOKIE, "")
        .path(REFRESH_COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.config.public_base_url.starts_with("https://"))
        .finish();
    cookie.make_removal();
    cookie
}

fn issued_response(state: &AppState, issued: Issued) -> HttpResponse {
    HttpResponse::Ok()
        .cookie(refresh_cookie(state, &issued))
        .json(TokenResponse::new(issued.access_token))
}

/// Signs in with e-mail and password. The refresh token comes as the HttpOnly cookie
/// `lk_refresh`. Wrong e-mail and wrong password get the same answer.
#[utoipa::path(
    post, path = "/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenResponse, headers(("Set-Cookie" = String, description = "lk_refresh=…; HttpOnly; SameSite=Strict"))),
        (status = 401, description = "`invalid_credentials`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`email_not_confirmed`", body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn login(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: JsonBody<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let origin = origin(&request, &state);
    let issued = identity::login(
        &state,
        &body.email,
        &body.password,
        body.remember_me,
        &origin,
    )
    .await?;
    Ok(issued_response(&state, issued))
}

/// A new access token for the holder of the refresh cookie; the cookie is rotated. A refresh
/// token used twice ends its session.
#[utoipa::path(
    post, path = "/auth/refresh",
    tag = "auth",
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, description = "`invalid_refresh_token`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn refresh(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let Some(cookie) = request.cookie(REFRESH_COOKIE) else {
        return Err(ApiError::Unauthorized {
            code: "invalid_refresh_token",
            detail: "Сеанс завершён. Войдите снова.".into(),
        });
    };
    match identity::refresh(&state, cookie.value()).await {
        Ok(issued) => Ok(issued_response(&state, issued)),
        Err(error) => error_removing_cookie(&state, &error),
    }
}

/// The problem for `error`, removing the refresh cookie too: it names no open session.
fn error_removing_cookie(state: &AppState, error: &ApiError) -> Result<HttpResponse, ApiError> {
    let mut response = actix_web::ResponseError::error_response(error);
    response
        .add_cookie(&removal_cookie(state))
        .map_err(anyhow::Error::from)?;
    Ok(response)
}

/// Ends the current session on the server and removes the refresh cookie. The session is named
/// by the access token or, once that has expired, by the refresh cookie; 401 when neither names
/// an open one.
#[utoipa::path(
    post, path = "/auth/logout",
    tag = "auth",
    security(("bearer" = []), ()),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn logout(
    state: web::Data<AppState>,
    request: HttpRequest,
    current: Option<CurrentUser>,
) -> Result<HttpResponse, ApiError> {
    let ended = match (current, request.cookie(REFRESH_COOKIE)) {
        (Some(current), _) => {
            identity::end_session(&state, current.user.id, current.session_id).await?;
            true
        }
        (None, Some(cookie)) => identity::end_session_of_refresh(&state, cookie.value()).await?,
        (None, None) => false,
    };
    if !ended {
        return error_removing_cookie(&state, &ApiError::unauthorized());
    }
    Ok(HttpResponse::NoContent()
        .cookie(removal_cookie(&state))
        .finish())
}

/// «Забыли пароль?»: e-mails a single-use reset link valid for an hour. The answer is the same
/// whether or not the address is registered.
#[utoipa::path(
    post, path = "/auth/forgot-password",
    tag = "auth",
    request_body = EmailRequest,
    responses(
        (status = 202, body = Accepted),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn forgot_password(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: JsonBody<EmailRequest>,
) -> Result<HttpResponse, ApiError> {
    let detail = identity::forgot_password(&state, &body.email, &origin(&request, &state)).await?;
    Ok(Accepted::response(detail))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    pub token: String,
    pub password: String,
    pub password_confirmation: String,
}

/// Sets a new password with the token from the reset e-mail; every session ends.
#[utoipa::path(
    post, path = "/auth/reset-password",
    tag = "auth",
    request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "Password changed; sign in with it"),
        (status = 400, description = "`token_invalid` or `token_expired`", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn reset_password(
    state: web::Data<AppState>,
    body: JsonBody<ResetPasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    identity::reset_password(
        &state,
        &body.token,
        &body.password,
        &body.password_confirmation,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Confirms a new e-mail address with the token sent to it; the old address is told, and
/// every session ends.
#[utoipa::path(
    post, path = "/auth/confirm-email-change",
    tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, body = Done),
        (status = 400, description = "`token_invalid` or `token_expired`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn confirm_email_change(
    state: web::Data<AppState>,
    body: JsonBody<TokenRequest>,
) -> Result<web::Json<Done>, ApiError> {
    let email = identity::confirm_email_change(&state, &body.token).await?;
    Ok(web::Json(Done {
        detail: format!("Адрес электронной почты изменён на {email}. Войдите с новым адресом."),
    }))
}
