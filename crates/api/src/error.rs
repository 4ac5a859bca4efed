//! One error type for the whole API, rendered as `application/problem+json` (RFC 9457) with a
//! stable `code`, a Russian `detail` a customer can act on, and per-field errors. Internal
//! failures are logged with their cause and answered with nothing but a request id.

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem detail (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:lk:problem:<code>`.
    #[serde(rename = "type")]
    #[schema(example = "urn:lk:problem:validation_failed")]
    pub problem_type: String,
    /// A short English summary of the kind of problem.
    #[schema(example = "Validation failed")]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 422)]
    pub status: u16,
    /// What happened and what to do, in Russian, for the customer.
    #[schema(example = "Проверьте правильность заполнения полей.")]
    pub detail: String,
    /// A stable machine-readable code; clients switch on it, never on `detail`.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// Errors of single fields, when the request had fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// What is wrong with one field of the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The request field, e.g. `email`.
    #[schema(example = "email")]
    pub field: String,
    /// A stable code, e.g. `email_foreign_domain`.
    #[schema(example = "email_foreign_domain")]
    pub code: String,
    /// The Russian message to show next to the field.
    #[schema(example = "Введите корректный адрес электронной почты.")]
    pub detail: String,
}

impl FieldError {
    pub fn new(field: &str, code: &str, detail: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            code: code.to_owned(),
            detail: detail.into(),
        }
    }
}

/// Domain errors carry a stable code and a Russian message; this turns one into a field error.
pub trait Coded: std::fmt::Display {
    fn code(&self) -> &'static str;

    fn on_field(&self, field: &str) -> FieldError {
        FieldError::new(field, self.code(), self.to_string())
    }
}

macro_rules! coded {
    ($($error:ty),* $(,)?) => {
        $(impl Coded for $error {
            fn code(&self) -> &'static str {
                <$error>::code(self)
            }
        })*
    };
}

coded!(
    domain::EmailError,
    domain::FullNameError,
    domain::PhoneError,
    domain::PasswordError,
    domain::AccountNumberError,
    domain::MoneyError,
    domain::ReadingValueError,
    domain::ApplicationTextError,
);

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// One or more fields are invalid (422).
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    /// The request is malformed (400).
    #[error("bad request {code}: {detail}")]
    BadRequest { code: &'static str, detail: String },
    /// No valid credentials (401).
    #[error("unauthorized {code}")]
    Unauthorized { code: &'static str, detail: String },
    /// Authenticated, but this role may not do this (403).
    #[error("forbidden {code}")]
    Forbidden { code: &'static str, detail: String },
    /// Nothing there, or nothing of this user's there (404).
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The state does not allow it (409).
    #[error("conflict {code}: {detail}")]
    Conflict { code: &'static str, detail: String },
    /// A business rule refused a well-formed request (422).
    #[error("refused {code}: {detail}")]
    Refused {
        code: &'static str,
        detail: String,
        field: Option<&'static str>,
    },
    #[error("payload too large")]
    PayloadTooLarge { detail: String },
    #[error("unsupported media type")]
    UnsupportedMediaType { detail: String },
    /// Too many attempts; try again after the given number of seconds (429).
    #[error("too many requests {code}")]
    TooManyRequests {
        code: &'static str,
        detail: String,
        retry_after: u64,
    },
    /// A dependency (the database) is down (503).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Anything unexpected: logged in full, answered with nothing internal (500).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        Self::Internal(error.into())
    }
}

impl ApiError {
    pub fn field(field: &str, error: &impl Coded) -> Self {
        Self::Validation(vec![error.on_field(field)])
    }

    pub fn unauthorized() -> Self {
        Self::Unauthorized {
            code: "unauthorized",
            detail: "Требуется вход в личный кабинет.".into(),
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            detail: detail.into(),
        }
    }

    fn parts(&self) -> (StatusCode, &str, String) {
        match self {
            Self::Validation(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                validation_detail(errors),
            ),
            Self::BadRequest { code, detail } => (StatusCode::BAD_REQUEST, code, detail.clone()),
            Self::Unauthorized { code, detail } => (StatusCode::UNAUTHORIZED, code, detail.clone()),
            Self::Forbidden { code, detail } => (StatusCode::FORBIDDEN, code, detail.clone()),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "Запрошенная страница или запись не найдена.".into(),
            ),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Этот метод не поддерживается для данного адреса.".into(),
            ),
            Self::Conflict { code, detail } => (StatusCode::CONFLICT, code, detail.clone()),
            Self::Refused { code, detail, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, code, detail.clone())
            }
            Self::PayloadTooLarge { detail } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                detail.clone(),
            ),
            Self::UnsupportedMediaType { detail } => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                detail.clone(),
            ),
            Self::TooManyRequests { code, detail, .. } => {
                (StatusCode::TOO_MANY_REQUESTS, code, detail.clone())
            }
            Self::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "Сервис временно недоступен. Попробуйте позже.".into(),
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Произошла внутренняя ошибка. Попробуйте позже или позвоните на горячую линию."
                    .into(),
            ),
        }
    }

    pub fn problem(&self) -> Problem {
        let (status, code, detail) = self.parts();
        let errors = match self {
            Self::Validation(errors) => errors.clone(),
            Self::Refused {
                code,
                detail,
                field: Some(field),
            } => {
                vec![FieldError::new(field, code, detail.clone())]
            }
            _ => Vec::new(),
        };
        Problem {
            problem_type: format!("urn:lk:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            code: code.to_owned(),
            errors,
        }
    }
}

/// What a client that shows only `detail` (curl, a log line) should see: the field's own message
/// when one field is wrong, a summary and each field with its message when several are.
fn validation_detail(errors: &[FieldError]) -> String {
    match errors {
        [only] => only.detail.clone(),
        _ => {
            // Each message after its field: «Обязательное поле не заполнено» six times over
            // would not say which six.
            let mut detail = String::from("Проверьте правильность заполнения полей.");
            for error in errors {
                detail.push_str(&format!(" {}: {}", error.field, error.detail));
            }
            detail
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        match self {
            Self::Internal(error) => tracing::error!(error = ?error, "internal error"),
            Self::Unavailable(reason) => tracing::warn!(%reason, "service unavailable"),
            _ => {}
        }
        let problem = self.problem();
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_JSON);
        if let Self::TooManyRequests { retry_after, .. } = self {
            response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
        }
        if matches!(self, Self::Unauthorized { .. }) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(problem)
    }
}

/// Turns actix's JSON extractor errors into problems: 413 for too large, 415 for a wrong
/// content type, 400 for broken JSON.
pub fn json_error(error: actix_web::error::JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let api_error = match &error {
        E::Overflow { limit } | E::OverflowKnownLength { limit, .. } => ApiError::PayloadTooLarge {
            detail: format!("Тело запроса слишком большое (не более {limit} байт)."),
        },
        E::ContentType => ApiError::UnsupportedMediaType {
            detail: "Отправьте тело запроса в формате JSON (Content-Type: application/json)."
                .into(),
        },
        // Only the syntax: `JsonBody` reads the value itself and names the field of a wrong one.
        E::Deserialize(_) => ApiError::bad_request(
            "malformed_json",
            "Тело запроса не является корректным JSON.",
        ),
        _ => ApiError::bad_request("malformed_body", "Не удалось прочитать тело запроса."),
    };
    actix_web::error::InternalError::from_response(error, api_error.error_response()).into()
}

pub fn path_error(error: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    actix_web::error::InternalError::from_response(error, ApiError::NotFound.error_response())
        .into()
}

pub fn query_error(
    error: actix_web::error::QueryPayloadError,
    _: &HttpRequest,
) -> actix_web::Error {
    let api_error = ApiError::bad_request("invalid_query", "Неверные параметры строки запроса.");
    actix_web::error::InternalError::from_response(error, api_error.error_response()).into()
}

/// Any error response that is not already a problem (actix's own 404, 405, 413 …) is rewritten
/// into one, so clients see one error format everywhere.
pub fn problem_for_bare_errors<B>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value == HeaderValue::from_static(PROBLEM_JSON));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let status = response.status();
    let api_error = match status {
        StatusCode::NOT_FOUND => ApiError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge {
            detail: "Тело запроса слишком большое.".into(),
        },
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType {
            detail: "Неподдерживаемый тип содержимого запроса.".into(),
        },
        status if status.is_server_error() => {
            ApiError::Internal(anyhow::anyhow!("bare {status} response"))
        }
        _ => ApiError::bad_request("bad_request", "Некорректный запрос."),
    };
    let (request, _) = response.into_parts();
    let mut rewritten = api_error.error_response();
    if rewritten.status() != status {
        // A status the mapping above has no kind for (408, 431, 503…) keeps its own number in
        // the body too, as RFC 9457 asks.
        let mut problem = api_error.problem();
        problem.status = status.as_u16();
        problem.title = status.canonical_reason().unwrap_or("Error").to_owned();
        rewritten = HttpResponse::build(status)
            .content_type(PROBLEM_JSON)
            .json(problem);
    }
    let response: ServiceResponse<EitherBody<B>> =
        ServiceResponse::new(request, rewritten).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(response))
}

#[cfg(test)]
mod tests {
    use actix_web::{HttpResponse, body::to_bytes, middleware::ErrorHandlerResponse, test};

    use super::*;

    async fn rewritten(bare: HttpResponse) -> (StatusCode, serde_json::Value) {
        let response = test::TestRequest::default().to_srv_response(bare);
        let Ok(ErrorHandlerResponse::Response(response)) = problem_for_bare_errors(response) else {
            panic!("a bare error is answered at once");
        };
        let status = response.status();
        let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        assert_eq!(content_type.unwrap(), PROBLEM_JSON);
        let body = to_bytes(response.into_body()).await.ok().unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[actix_web::test]
    async fn a_bare_error_becomes_a_problem_with_the_same_status() {
        let (status, problem) = rewritten(HttpResponse::NotFound().finish()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            (problem["status"].as_u64(), problem["code"].as_str()),
            (Some(404), Some("not_found"))
        );

        for bare in [
            StatusCode::REQUEST_TIMEOUT,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        ] {
            let (status, problem) = rewritten(HttpResponse::build(bare).finish()).await;
            assert_eq!(status, bare);
            assert_eq!(problem["status"].as_u64(), Some(u64::from(bare.as_u16())));
            assert_eq!(problem["title"], bare.canonical_reason().unwrap());
            assert!(problem["detail"].as_str().unwrap().contains("запрос"));
        }
    }
}
