//! Builds the application: shared state, middleware, routes, and the server on a listener.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{Compress, DefaultHeaders, ErrorHandlers};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::auth::{JwtKeys, PasswordHasher, RateLimiter};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{self, ApiError};
use crate::mail::{self, Templates};
use crate::metrics::Metrics;
use crate::routes;
use crate::store::{self, Store};
use crate::telemetry;

/// Bodies of JSON requests are small; anything larger is refused with 413 before parsing.
const JSON_LIMIT: usize = 64 * 1024;

/// Applications with files read and stored at once: with 5 files of up to 10 MB each this bounds
/// the memory uploads take to about 4 × 50 MB in the worst case, 4 × 5 MB for typical photos.
const MAX_CONCURRENT_UPLOADS: usize = 4;

/// Everything a handler may need, shared by all workers.
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    pub hasher: PasswordHasher,
    pub jwt: JwtKeys,
    pub limiter: RateLimiter,
    pub templates: Templates,
    pub mailer: mail::Sender,
    pub metrics: Metrics,
    /// Application forms being read and stored at once; each holds its files in memory, so the
    /// rest wait, their bytes left unread in the sockets (SQLite stores one at a time anyway).
    pub uploads: tokio::sync::Semaphore,
}

impl AppState {
    /// A link into the SPA for e-mails: always from the configured public URL, never from the
    /// request's Host header.
    pub fn link(&self, path_and_query: &str) -> String {
        format!("{}{}", self.config.public_base_url, path_and_query)
    }
}

pub struct Application {
    port: u16,
    server: Server,
    pub state: web::Data<AppState>,
}

impl Application {
    /// Opens the database (migrating it), starts the mail sender and binds the listener.
    pub async fn build(config: Config, clock: Clock) -> anyhow::Result<Self> {
        let store = store::connect(config.database_url.expose())
            .await
            .context("cannot open the database")?;
        tracing::info!(backend = store.backend(), "database ready");
        let listener = TcpListener::bind(&config.listen_addr)
            .with_context(|| format!("cannot listen on {}", config.listen_addr))?;
        Self::with_store(config, clock, store, listener)
    }

    pub fn with_store(
        config: Config,
        clock: Clock,
        store: Arc<dyn Store>,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        let clock = clock.in_zone(config.branch.utc_offset);
        let transport =
            mail::MailTransport::from_config(&config.mail.transport, &config.outbox_dir())?;
        let mailer =
            mail::Sender::spawn(store.clone(), transport, config.mail.clone(), clock.clone())?;
        crate::janitor::spawn(
            store.clone(),
            clock.clone(),
            config.rate_limits.longest_window(),
        );
        let state = web::Data::new(AppState {
            hasher: PasswordHasher::new(config.max_concurrent_hashes)?,
            jwt: JwtKeys::new(&config.jwt_secret),
            limiter: RateLimiter::new(store.clone(), clock.clone()),
            templates: Templates::new(&config.branch.name, &config.branch.hotline),
            metrics: Metrics::new()?,
            uploads: tokio::sync::Semaphore::new(MAX_CONCURRENT_UPLOADS),
            config: Arc::new(config),
            store,
            clock,
            mailer,
        });
        let server_state = state.clone();
        let server = HttpServer::new(move || {
            let metrics = server_state.metrics.clone();
            let spa_dir = server_state.config.spa_dir.clone();
            App::new()
                .app_data(server_state.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(JSON_LIMIT)
                        .content_type_required(true)
                        .error_handler(error::json_error),
                )
                .app_data(web::PathConfig::default().error_handler(error::path_error))
                .app_data(web::QueryConfig::default().error_handler(error::query_error))
                .wrap(ErrorHandlers::new().default_handler(error::problem_for_bare_errors))
                .wrap(Compress::default())
                .wrap(security_headers())
                .wrap_fn(move |request, service| metrics.observe(request, service))
                .wrap(TracingLogger::<telemetry::RequestSpan>::new())
                .configure(|cfg| routes::configure(cfg, spa_dir.as_deref()))
                .default_service(web::to(fallback))
        })
        .listen(listener)?
        .shutdown_timeout(10)
        .run();
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
}

/// Unknown API paths are 404 problems; any other path is a page of the SPA (client-side routes
/// like `/confirm-email`), answered with its `index.html` when the SPA is built.
async fn fallback(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let path = request.path();
    let is_api = ["/api/", "/docs", "/openapi.json", "/metrics"]
        .iter()
        .any(|p| path.starts_with(p));
    if is_api {
        return Err(ApiError::NotFound);
    }
    routes::spa::index(&request, &state).await
}
