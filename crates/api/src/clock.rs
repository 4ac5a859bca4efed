//! The time as the portal sees it. Production reads the system clock; tests move it forward to
//! pass expiries, windows and months without waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
    /// Where `today` is; UTC unless set (`in_zone`).
    local: Option<time::UtcOffset>,
}

impl Clock {
    /// Unix seconds.
    pub fn now(&self) -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp() + self.offset_secs.load(Ordering::Relaxed)
    }

    /// The same clock (moved along with it), telling the date at `offset` from UTC.
    pub fn in_zone(&self, offset: time::UtcOffset) -> Self {
        Self {
            offset_secs: Arc::clone(&self.offset_secs),
            local: Some(offset),
        }
    }

    /// The local date: the branch's, for an application's clock.
    pub fn today(&self) -> time::Date {
        let local = self.local.unwrap_or(time::UtcOffset::UTC);
        time::OffsetDateTime::from_unix_timestamp(self.now())
            .map(|t| t.to_offset(local).date())
            .unwrap_or(time::Date::MIN)
    }

    /// Moves this clock (and every copy of it) forward.
    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }
}
