//! Поверка прибора учета (F4, F5): a meter past its verification date takes no readings.

use time::Date;

/// Highlight a verification this many days before it runs out (F5).
pub const EXPIRING_SOON_DAYS: i64 = 30;

/// A meter's last and next verification dates, as billing knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Verification {
    pub last: Option<Date>,
    pub next: Option<Date>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerificationStatus {
    Valid,
    /// The next verification is within 30 days (0 = today is the last valid day).
    ExpiringSoon {
        days_left: i64,
    },
    /// The next verification date has passed; `since` is that date.
    Expired {
        since: Date,
    },
    /// No next date is known: readings are accepted, there is nothing to refuse them on.
    Unknown,
}

impl VerificationStatus {
    /// Stable code for the API and the SPA's highlighting.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::ExpiringSoon { .. } => "expiring_soon",
            Self::Expired { .. } => "expired",
            Self::Unknown => "unknown",
        }
    }

    pub fn accepts_readings(&self) -> bool {
        !matches!(self, Self::Expired { .. })
    }
}

impl Verification {
    pub fn status(&self, today: Date) -> VerificationStatus {
        let Some(next) = self.next else {
            return VerificationStatus::Unknown;
        };
        // The next date itself is still a valid day.
        if next < today {
            return VerificationStatus::Expired { since: next };
        }
        let days_left = (next - today).whole_days();
        if days_left <= EXPIRING_SOON_DAYS {
            VerificationStatus::ExpiringSoon { days_left }
        } else {
            VerificationStatus::Valid
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn v(next: Option<Date>) -> Verification {
        Verification {
            last: Some(date!(2020 - 01 - 15)),
            next,
        }
    }

    #[test]
    fn statuses() {
        let today = date!(2026 - 11 - 20);
        assert_eq!(v(None).status(today), VerificationStatus::Unknown);
        assert_eq!(
            Verification::default().status(today),
            VerificationStatus::Unknown
        );
        assert_eq!(
            v(Some(date!(2030 - 01 - 01))).status(today),
            VerificationStatus::Valid
        );
        assert_eq!(
            v(Some(date!(2026 - 12 - 21))).status(today),
            VerificationStatus::Valid
        );
        assert_eq!(
            v(Some(date!(2026 - 12 - 20))).status(today),
            VerificationStatus::ExpiringSoon { days_left: 30 }
        );
        assert_eq!(
            v(Some(today)).status(today),
            VerificationStatus::ExpiringSoon { days_left: 0 }
        );
        assert_eq!(
            v(Some(date!(2026 - 11 - 19))).status(today),
            VerificationStatus::Expired {
                since: date!(2026 - 11 - 19)
            }
        );
    }

    #[test]
    fn only_expired_refuses_readings() {
        let today = date!(2026 - 11 - 20);
        assert!(v(None).status(today).accepts_readings());
        assert!(v(Some(today)).status(today).accepts_readings());
        assert!(
            !v(Some(date!(2020 - 01 - 01)))
                .status(today)
                .accepts_readings()
        );
        assert_eq!(
            v(Some(date!(2020 - 01 - 01))).status(today).code(),
            "expired"
        );
        assert_eq!(v(Some(today)).status(today).code(), "expiring_soon");
        assert_eq!(v(None).status(today).code(), "unknown");
        assert_eq!(v(Some(date!(2030 - 01 - 01))).status(today).code(), "valid");
    }
}
