//! Probes, metrics, the branch's public information and the API documentation.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

use crate::app::AppState;
use crate::error::{ApiError, Problem};
use crate::openapi::ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/healthz")
            .get(healthz)
            .route(web::head().to(healthz)),
    )
    .service(
        web::resource("/readyz")
            .get(readyz)
            .route(web::head().to(readyz)),
    )
    .service(web::resource("/metrics").get(metrics))
    .service(web::resource("/docs").get(docs_page))
    .service(
        SwaggerUi::new("/docs/{_:.*}")
            .url("/openapi.json", ApiDoc::openapi())
            // Swagger UI would otherwise send the document's URL to validator.swagger.io.
            .config(utoipa_swagger_ui::Config::default().validator_url("none")),
    );
}

pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/info").get(info));
}

/// `/docs` itself is the page (a redirect would leave `curl /docs` with nothing to read); its
/// relative links to the scripts and styles resolve against `/docs/`, where they are served.
async fn docs_page() -> HttpResponse {
    let page = utoipa_swagger_ui::serve("index.html", Default::default())
        .ok()
        .flatten()
        .map(|file| String::from_utf8_lossy(&file.bytes).into_owned());
    match page {
        Some(html) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(html.replacen("<head>", "<head><base href=\"/docs/\">", 1)),
        None => HttpResponse::TemporaryRedirect()
            .insert_header(("location", "/docs/"))
            .finish(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health)))]
async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    #[schema(example = "sqlite")]
    pub database: &'static str,
}

/// Readiness: the database answers.
#[utoipa::path(
    get, path = "/readyz",
    tag = "system",
    responses(
        (status = 200, body = Readiness),
        (status = 503, description = "The database is unreachable", body = Problem,
         content_type = "application/problem+json"),
    )
)]
async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Readiness>, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(web::Json(Readiness {
        status: "ok",
        database: state.store.backend(),
    }))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    get, path = "/metrics",
    tag = "system",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"))
)]
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    if let Ok(pending) = state.store.pending_mail().await {
        state.metrics.outbox_pending.set(pending);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubmissionWindowInfo {
    /// First day of the month on which readings are taken.
    #[schema(example = 15)]
    pub first_day: u8,
    /// Last day of the month on which readings are taken.
    #[schema(example = 25)]
    pub last_day: u8,
    /// Whether readings are taken today.
    pub open_now: bool,
    /// Today, or the day the window opens next.
    #[serde(with = "crate::routes::iso_date")]
    pub next_opening: time::Date,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BranchInfo {
    #[schema(example = "Пензенский филиал ПАО «Т Плюс»")]
    pub branch: String,
    /// The hotline for problems the portal cannot solve.
    #[schema(example = "8(8412)21-07-21")]
    pub hotline: String,
    /// The portal's date today.
    #[serde(with = "crate::routes::iso_date")]
    pub today: time::Date,
    pub submission_window: SubmissionWindowInfo,
}

/// The branch's name, hotline and reading submission window.
#[utoipa::path(get, path = "/info", tag = "system", responses((status = 200, body = BranchInfo)))]
async fn info(state: web::Data<AppState>) -> web::Json<BranchInfo> {
    let today = state.clock.today();
    let window = state.config.branch.window;
    web::Json(BranchInfo {
        branch: state.config.branch.name.clone(),
        hotline: state.config.branch.hotline.clone(),
        today,
        submission_window: SubmissionWindowInfo {
            first_day: window.first_day(),
            last_day: window.last_day(),
            open_now: window.contains(today),
            next_opening: window.next_opening(today),
        },
    })
}
