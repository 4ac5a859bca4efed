//! Deletes, once an hour, the rows no request can use any more: rate-limit counters of windows
//! that are over, and one-time tokens, sessions and sent mail a month after they expired, ended
//! or left. Without it those tables grow with every login and every letter, for ever.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::store::Store;

const EVERY: Duration = Duration::from_secs(3600);
/// How long ended sessions, used or expired tokens and sent mail stay: a month of them explains
/// a complaint ("I did not get the letter", "who signed in?").
pub const KEPT_SECS: i64 = 30 * 24 * 3600;

/// One round: returns the number of rows deleted.
pub async fn purge(
    store: &dyn Store,
    clock: &Clock,
    longest_window: Duration,
) -> anyhow::Result<u64> {
    let now = clock.now();
    let counters_before = now - i64::try_from(longest_window.as_secs())?;
    Ok(store.purge_stale(counters_before, now - KEPT_SECS).await?)
}

/// Starts the hourly rounds on the current runtime; the first runs a minute after start.
pub fn spawn(store: Arc<dyn Store>, clock: Clock, longest_window: Duration) {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let mut every = tokio::time::interval(EVERY);
        loop {
            every.tick().await;
            match purge(store.as_ref(), &clock, longest_window).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "stale rows deleted"),
                Err(error) => tracing::warn!(%error, "could not delete stale rows"),
            }
        }
    });
}
