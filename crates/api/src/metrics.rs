//! Prometheus metrics: requests by route pattern and status, their latency, and the outbox;
//! and the `X-Request-Id` of every response.

use std::future::Future;
use std::time::Instant;

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pub outbox_pending: IntGauge,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new_custom(Some("lk".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency"),
            &["method", "route"],
        )?;
        let outbox_pending =
            IntGauge::new("outbox_pending_messages", "E-mails queued and not yet sent")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(outbox_pending.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            outbox_pending,
        })
    }

    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let encoder = prometheus::TextEncoder::new();
        if let Err(error) = encoder.encode(&self.registry.gather(), &mut buffer) {
            tracing::warn!(%error, "cannot encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }

    /// Middleware body: times the request and counts it under its route pattern (not the raw
    /// path, which would make a label per account id).
    pub fn observe<S, B>(
        &self,
        request: ServiceRequest,
        service: &S,
    ) -> impl Future<Output = Result<ServiceResponse<B>, Error>> + use<S, B>
    where
        S: actix_web::dev::Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
        S::Future: 'static,
    {
        let started = Instant::now();
        let method = request.method().to_string();
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        // The id under which the request's log lines are, so a customer's report finds them.
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .and_then(|id| actix_web::http::header::HeaderValue::from_str(&id.to_string()).ok());
        let metrics = self.clone();
        let response = service.call(request);
        async move {
            let mut response = response.await?;
            if let Some(id) = request_id {
                response.headers_mut().insert(
                    actix_web::http::header::HeaderName::from_static("x-request-id"),
                    id,
                );
            }
            let status = response.status().as_u16().to_string();
            metrics
                .requests
                .with_label_values(&[&method, &route, &status])
                .inc();
            metrics
                .latency
                .with_label_values(&[&method, &route])
                .observe(started.elapsed().as_secs_f64());
            Ok(response)
        }
    }
}
