//! Structured logs: human-readable by default, JSON with `LOG_FORMAT=json`; `RUST_LOG` filters.

use std::io::IsTerminal;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::{Span, field};
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};
use tracing_subscriber::{EnvFilter, fmt};

pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,actix_server=warn"));
    // Colours only for a person at a terminal: a log file or collector gets plain text (and
    // each line costs less to write).
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal());
    // A second call (tests start several apps) keeps the first subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// The span of every request, under which its log lines are: its id (also sent back as
/// `x-request-id`), method and path, and how it ended. Leaner than tracing-actix-web's default
/// (route pattern, host, scheme, client address, user agent, query), which took 7 % of the CPU
/// of a `GET …/meters`; the query is left out because links carry tokens in it.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let span = tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.target = %request.path(),
            request_id = field::Empty,
            http.status_code = field::Empty,
            otel.status_code = field::Empty,
            exception.message = field::Empty,
            exception.details = field::Empty,
        );
        if let Some(id) = request.extensions().get::<RequestId>() {
            span.record("request_id", field::display(id));
        }
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
