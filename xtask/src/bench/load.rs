//! The load generator: N workers send requests back to back (or at a fixed pace) for a fixed
//! time; each request's latency goes into a histogram. Requests sent during the warm-up are
//! not counted.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub workers: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Each worker starts a request every `pace` instead of back to back (a probe).
    pub pace: Option<Duration>,
}

impl Load {
    pub fn closed(workers: usize, warmup: Duration, duration: Duration) -> Self {
        Self {
            workers,
            warmup,
            duration,
            pace: None,
        }
    }
}

pub struct Outcome {
    pub ok: u64,
    pub failed: u64,
    pub duration: Duration,
    /// Microseconds.
    pub latency: Histogram<u64>,
    pub first_error: Option<String>,
}

impl Outcome {
    /// Successful requests per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.duration.as_secs_f64()
    }

    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }

    pub fn p50_ms(&self) -> f64 {
        self.quantile_ms(0.5)
    }

    pub fn p99_ms(&self) -> f64 {
        self.quantile_ms(0.99)
    }

    /// Fails when nothing succeeded or more than 1% failed: a broken benchmark must not print
    /// a figure.
    pub fn check(&self, what: &str) -> anyhow::Result<()> {
        let total = self.ok + self.failed;
        if self.ok == 0 || self.failed * 100 > total {
            anyhow::bail!(
                "{what}: {} of {total} requests failed; first error: {}",
                self.failed,
                self.first_error.as_deref().unwrap_or("none")
            );
        }
        Ok(())
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds")
}

/// Runs `request(worker, iteration)` from `load.workers` workers.
pub async fn run<F, Fut>(load: Load, request: F) -> Outcome
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let request = Arc::new(request);
    let counted_from = Instant::now() + load.warmup;
    let end = counted_from + load.duration;
    let mut workers = Vec::with_capacity(load.workers);
    for worker in 0..load.workers {
        let request = request.clone();
        workers.push(tokio::spawn(async move {
            let mut latency = histogram();
            let (mut ok, mut failed, mut first_error) = (0u64, 0u64, None);
            // Paced probes start spread over one period, not all at once.
            let mut next = Instant::now()
                + load
                    .pace
                    .map_or(Duration::ZERO, |p| p * worker as u32 / load.workers as u32);
            for iteration in 0.. {
                if let Some(pace) = load.pace {
                    tokio::time::sleep_until(next.into()).await;
                    next += pace;
                }
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let result = request(worker, iteration).await;
                if sent < counted_from {
                    continue;
                }
                match result {
                    Ok(()) => {
                        ok += 1;
                        latency.saturating_record(sent.elapsed().as_micros() as u64);
                    }
                    Err(error) => {
                        failed += 1;
                        first_error.get_or_insert(error);
                    }
                }
            }
            (latency, ok, failed, first_error)
        }));
    }
    let mut outcome = Outcome {
        ok: 0,
        failed: 0,
        duration: load.duration,
        latency: histogram(),
        first_error: None,
    };
    for worker in workers {
        let (latency, ok, failed, first_error) = worker.await.expect("a load worker panicked");
        outcome
            .latency
            .add(latency)
            .expect("histograms with equal bounds");
        outcome.ok += ok;
        outcome.failed += failed;
        if outcome.first_error.is_none() {
            outcome.first_error = first_error;
        }
    }
    outcome
}

/// Checks a response's status; the body is read so the connection can be reused.
pub async fn expect_status(
    response: Result<reqwest::Response, reqwest::Error>,
    status: u16,
) -> Result<reqwest::Response, String> {
    let response = response.map_err(|e| e.to_string())?;
    if response.status().as_u16() != status {
        let got = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(format!(
            "expected {status}, got {got}: {}",
            body.chars().take(300).collect::<String>()
        ));
    }
    Ok(response)
}

/// A request that must answer `status`; its body is read and dropped.
pub async fn check(
    response: Result<reqwest::Response, reqwest::Error>,
    status: u16,
) -> Result<(), String> {
    let response = expect_status(response, status).await?;
    response.bytes().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// A client for one benchmark: keep-alive connections, no proxy, no redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(1024)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()
        .expect("an HTTP client")
}
