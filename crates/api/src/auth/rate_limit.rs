//! Fixed-window counters kept in the database, so that limits hold across every instance.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Limit;
use crate::error::ApiError;
use crate::store::Store;

#[derive(Clone)]
pub struct RateLimiter {
    store: Arc<dyn Store>,
    clock: Clock,
}

impl RateLimiter {
    pub fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Self { store, clock }
    }

    /// Counts one event for `key` and refuses it when the limit is passed.
    pub async fn hit(&self, key: &str, limit: Limit) -> Result<(), ApiError> {
        self.hit_all(&[(key, limit)]).await
    }

    /// Counts one event for each key at once (one write) and refuses it when any limit is
    /// passed, for as long as the longest of those waits.
    pub async fn hit_all(&self, keys: &[(&str, Limit)]) -> Result<(), ApiError> {
        let now = self.clock.now();
        let events: Vec<(&str, i64)> = keys
            .iter()
            .map(|&(key, limit)| (key, limit.window.as_secs() as i64))
            .collect();
        let counts = self.store.hit(&events, now).await?;
        let mut retry_after = None;
        for (((_, limit), (_, window)), (count, started)) in keys.iter().zip(&events).zip(counts) {
            if count > i64::from(limit.max) {
                retry_after = retry_after.max(Some(started + window - now));
            }
        }
        match retry_after {
            Some(wait) => Err(too_many(wait)),
            None => Ok(()),
        }
    }

    /// Takes back an event `hit` counted, once it turned out not to be a failure. Failures are
    /// counted before the work that tells them apart, so that attempts sent at once cannot all
    /// pass a check made before any of them was counted.
    pub async fn forgive(&self, key: &str) -> Result<(), ApiError> {
        Ok(self.store.forgive_hit(key).await?)
    }

    pub async fn reset(&self, key: &str) -> Result<(), ApiError> {
        Ok(self.store.reset_hits(key).await?)
    }
}

fn too_many(retry_after: i64) -> ApiError {
    let retry_after = retry_after.max(1) as u64;
    let minutes = retry_after.div_ceil(60);
    ApiError::TooManyRequests {
        code: "too_many_requests",
        detail: format!("Слишком много попыток. Повторите через {minutes} мин."),
        retry_after,
    }
}
