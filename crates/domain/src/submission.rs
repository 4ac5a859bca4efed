//! Whether a new meter reading is accepted (F4), as one pure decision.

use time::Date;

use crate::calendar::{BillingMonth, SubmissionWindow, format_ru_date};
use crate::reading::{MeterPrecision, ReadingValue};
use crate::verification::{Verification, VerificationStatus};

/// The reading the new one is compared with: the last one counted before this billing month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviousReading {
    pub value: ReadingValue,
    pub date: Date,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmissionRequest {
    /// Already parsed with the meter's precision.
    pub value: ReadingValue,
    pub precision: MeterPrecision,
    pub previous: Option<PreviousReading>,
    pub verification: Verification,
    pub window: SubmissionWindow,
    /// Plausibility limit per month for this meter.
    pub monthly_limit: ReadingValue,
    pub today: Date,
    /// The customer confirmed an unusually large consumption.
    pub confirm_implausible: bool,
    /// The customer declared that the drum passed its maximum and started from zero.
    pub rollover: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// Consumption since the previous reading; `None` for a meter's first reading.
    pub consumption: Option<ReadingValue>,
    pub rolled_over: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadingRefusal {
    #[error(
        "Истёк срок поверки прибора учета (дата поверки {}): показания не принимаются. \
         Подайте заявление по прибору учета, чтобы обновить данные о поверке.",
        format_ru_date(*.since)
    )]
    VerificationExpired { since: Date },
    #[error(
        "Показания принимаются {window}. Передать показания можно будет с {}.",
        format_ru_date(*.opens)
    )]
    OutsideWindow {
        window: SubmissionWindow,
        opens: Date,
    },
    #[error(
        "Новое показание не может быть меньше предыдущего ({}).",
        .previous.format(*.precision)
    )]
    BelowPrevious {
        previous: ReadingValue,
        precision: MeterPrecision,
    },
    #[error(
        "Переход счетчика через ноль можно указать, только если новое показание меньше \
         предыдущего. Проверьте показание или снимите отметку о переходе через ноль."
    )]
    RolloverNotPossible,
    /// The consumption exceeded `allowed`: the monthly limit times the `months` elapsed since
    /// the previous reading.
    #[error(
        "Расход {consumption} больше обычного (не более {}). Проверьте показание и подтвердите \
         его, если оно верно.",
        allowance(*allowed, *months)
    )]
    ImplausibleConsumption {
        consumption: ReadingValue,
        allowed: ReadingValue,
        months: u32,
    },
}

/// «10.000 в месяц», or for readings a few months apart «40.000 за 4 мес.».
fn allowance(allowed: ReadingValue, months: u32) -> String {
    if months > 1 {
        format!("{allowed} за {months} мес. с предыдущего показания")
    } else {
        format!("{allowed} в месяц")
    }
}

impl ReadingRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::VerificationExpired { .. } => "verification_expired",
            Self::OutsideWindow { .. } => "outside_submission_window",
            Self::BelowPrevious { .. } => "reading_below_previous",
            Self::RolloverNotPossible => "rollover_not_possible",
            Self::ImplausibleConsumption { .. } => "implausible_consumption",
        }
    }
}

/// Checks, in order: verification, submission window, the value against the previous one
/// (with a declared roll-over), and plausibility of the consumption.
pub fn decide(req: &SubmissionRequest) -> Result<Accepted, ReadingRefusal> {
    if let VerificationStatus::Expired { since } = req.verification.status(req.today) {
        return Err(ReadingRefusal::VerificationExpired { since });
    }
    if !req.window.contains(req.today) {
        return Err(ReadingRefusal::OutsideWindow {
            window: req.window,
            opens: req.window.next_opening(req.today),
        });
    }
    let Some(previous) = req.previous else {
        if req.rollover {
            return Err(ReadingRefusal::RolloverNotPossible);
        }
        return Ok(Accepted {
            consumption: None,
            rolled_over: false,
        });
    };
    let consumption = match (req.value < previous.value, req.rollover) {
        (false, false) => req
            .value
            .checked_sub(previous.value)
            .ok_or(ReadingRefusal::RolloverNotPossible)?,
        (true, false) => {
            return Err(ReadingRefusal::BelowPrevious {
                previous: previous.value,
                precision: req.precision,
            });
        }
        (false, true) => return Err(ReadingRefusal::RolloverNotPossible),
        // The drum went past its maximum: what was left to it, plus what came after zero.
        // A previous value at or beyond the capacity cannot have rolled over.
        (true, true) => req
            .precision
            .drum_capacity()
            .checked_sub(previous.value)
            .filter(|left| *left > ReadingValue::ZERO)
            .and_then(|left| left.checked_add(req.value))
            .ok_or(ReadingRefusal::RolloverNotPossible)?,
    };
    // Readings skipped for a few months add up: allow the limit for each month elapsed.
    let months =
        BillingMonth::months_between(BillingMonth::of(previous.date), BillingMonth::of(req.today))
            .max(1)
            .unsigned_abs();
    let allowed = req.monthly_limit.checked_mul(i64::from(months));
    if let Some(allowed) = allowed.filter(|allowed| consumption > *allowed)
        && !req.confirm_implausible
    {
        return Err(ReadingRefusal::ImplausibleConsumption {
            consumption,
            allowed,
            months,
        });
    }
    Ok(Accepted {
        consumption: Some(consumption),
        rolled_over: req.rollover,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn v(s: &str) -> ReadingValue {
        ReadingValue::parse(s, MeterPrecision::default()).unwrap()
    }

    /// The seed's ГВС1: previous reading 0.002 of 26.07.2024, valid verification.
    fn req(value: &str) -> SubmissionRequest {
        SubmissionRequest {
            value: v(value),
            precision: MeterPrecision::default(),
            previous: Some(PreviousReading {
                value: v("0.002"),
                date: date!(2024 - 07 - 26),
            }),
            verification: Verification {
                last: Some(date!(2023 - 01 - 10)),
                next: Some(date!(2029 - 01 - 10)),
            },
            window: SubmissionWindow::whole_month(),
            monthly_limit: v("30"),
            today: date!(2024 - 08 - 20),
            confirm_implausible: false,
            rollover: false,
        }
    }

    fn accepted(consumption: &str, rolled_over: bool) -> Result<Accepted, ReadingRefusal> {
        Ok(Accepted {
            consumption: Some(v(consumption)),
            rolled_over,
        })
    }

    #[test]
    fn normal_reading_is_accepted_with_consumption() {
        assert_eq!(decide(&req("0.009")), accepted("0.007", false));
        assert_eq!(decide(&req("12.5")), accepted("12.498", false));
    }

    #[test]
    fn equal_to_previous_is_allowed() {
        assert_eq!(decide(&req("0.002")), accepted("0", false));
    }

    #[test]
    fn first_reading_has_no_consumption() {
        let mut r = req("123.456");
        r.previous = None;
        assert_eq!(
            decide(&r),
            Ok(Accepted {
                consumption: None,
                rolled_over: false
            })
        );
        r.rollover = true;
        assert_eq!(decide(&r), Err(ReadingRefusal::RolloverNotPossible));
    }

    #[test]
    fn below_previous_is_refused_with_the_previous_value() {
        let mut r = req("0.001");
        let e = decide(&r).unwrap_err();
        assert_eq!(
            e,
            ReadingRefusal::BelowPrevious {
                previous: v("0.002"),
                precision: MeterPrecision::default()
            }
        );
        assert_eq!(e.code(), "reading_below_previous");
        assert_eq!(
            e.to_string(),
            "Новое показание не может быть меньше предыдущего (0.002)."
        );
        // Printed with the meter's precision.
        r.precision = MeterPrecision::new(5, 1).unwrap();
        r.previous = Some(PreviousReading {
            value: v("12.5"),
            date: date!(2024 - 07 - 26),
        });
        r.value = v("12");
        assert_eq!(
            decide(&r).unwrap_err().to_string(),
            "Новое показание не может быть меньше предыдущего (12.5)."
        );
    }

    #[test]
    fn rollover_only_when_declared_and_lower() {
        let mut r = req("0.500");
        r.previous = Some(PreviousReading {
            value: v("99999.000"),
            date: date!(2024 - 07 - 26),
        });
        assert!(matches!(
            decide(&r),
            Err(ReadingRefusal::BelowPrevious { .. })
        ));
        r.rollover = true;
        assert_eq!(decide(&r), accepted("1.5", true));

        let mut up = req("0.009");
        up.rollover = true;
        let e = decide(&up).unwrap_err();
        assert_eq!(e, ReadingRefusal::RolloverNotPossible);
        assert_eq!(e.code(), "rollover_not_possible");
        up.value = v("0.002");
        assert_eq!(decide(&up), Err(ReadingRefusal::RolloverNotPossible));
    }

    #[test]
    fn rollover_from_beyond_the_drum_is_not_possible() {
        let mut r = req("1");
        r.precision = MeterPrecision::new(2, 3).unwrap();
        r.previous = Some(PreviousReading {
            value: v("100"),
            date: date!(2024 - 07 - 26),
        });
        r.rollover = true;
        assert_eq!(decide(&r), Err(ReadingRefusal::RolloverNotPossible));
    }

    #[test]
    fn expired_verification_comes_first() {
        let mut r = req("0.001");
        r.verification.next = Some(date!(2024 - 08 - 19));
        r.window = SubmissionWindow::new(1, 2).unwrap();
        let e = decide(&r).unwrap_err();
        assert_eq!(
            e,
            ReadingRefusal::VerificationExpired {
                since: date!(2024 - 08 - 19)
            }
        );
        assert_eq!(e.code(), "verification_expired");
        assert_eq!(
            e.to_string(),
            "Истёк срок поверки прибора учета (дата поверки 19.08.2024): показания не \
             принимаются. Подайте заявление по прибору учета, чтобы обновить данные о поверке."
        );
        // The next date itself is still valid, and an unknown date refuses nothing: the
        // value check comes next.
        r.window = SubmissionWindow::whole_month();
        r.verification.next = Some(r.today);
        assert!(matches!(
            decide(&r),
            Err(ReadingRefusal::BelowPrevious { .. })
        ));
        r.verification = Verification::default();
        assert!(matches!(
            decide(&r),
            Err(ReadingRefusal::BelowPrevious { .. })
        ));
    }

    #[test]
    fn outside_window_says_when_it_opens() {
        let mut r = req("0.001");
        r.window = SubmissionWindow::new(15, 25).unwrap();
        r.today = date!(2026 - 11 - 26);
        let e = decide(&r).unwrap_err();
        assert_eq!(
            e,
            ReadingRefusal::OutsideWindow {
                window: r.window,
                opens: date!(2026 - 12 - 15)
            }
        );
        assert_eq!(e.code(), "outside_submission_window");
        assert_eq!(
            e.to_string(),
            "Показания принимаются с 15 по 25 число месяца. Передать показания можно будет с \
             15.12.2026."
        );
        r.today = date!(2026 - 11 - 15);
        r.value = v("0.009");
        assert!(decide(&r).is_ok());
    }

    #[test]
    fn implausible_consumption_needs_confirmation() {
        let mut r = req("123.002");
        let e = decide(&r).unwrap_err();
        assert_eq!(
            e,
            ReadingRefusal::ImplausibleConsumption {
                consumption: v("123"),
                allowed: v("30"),
                months: 1,
            }
        );
        assert_eq!(e.code(), "implausible_consumption");
        assert_eq!(
            e.to_string(),
            "Расход 123.000 больше обычного (не более 30.000 в месяц). Проверьте показание и \
             подтвердите его, если оно верно."
        );
        r.confirm_implausible = true;
        assert_eq!(decide(&r), accepted("123", false));
        // Exactly the limit is plausible.
        assert_eq!(decide(&req("30.002")), accepted("30", false));
    }

    #[test]
    fn limit_grows_with_months_elapsed() {
        // 26.07.2024 → 20.11.2024: four billing months, so up to 120 units.
        let mut r = req("120.002");
        r.today = date!(2024 - 11 - 20);
        assert_eq!(decide(&r), accepted("120", false));
        r.value = v("120.003");
        let refusal = decide(&r).unwrap_err();
        assert_eq!(
            refusal,
            ReadingRefusal::ImplausibleConsumption {
                consumption: v("120.001"),
                allowed: v("120"),
                months: 4,
            }
        );
        assert_eq!(
            refusal.to_string(),
            "Расход 120.001 больше обычного (не более 120.000 за 4 мес. с предыдущего показания). \
             Проверьте показание и подтвердите его, если оно верно."
        );
        // Same month as the previous reading: one month's limit still applies.
        let mut same = req("30.002");
        same.today = date!(2024 - 07 - 30);
        assert_eq!(decide(&same), accepted("30", false));
        same.value = v("30.003");
        assert!(decide(&same).is_err());
    }

    #[test]
    fn rollover_consumption_is_checked_for_plausibility() {
        let mut r = req("50");
        r.previous = Some(PreviousReading {
            value: v("99990"),
            date: date!(2024 - 07 - 26),
        });
        r.rollover = true;
        assert_eq!(
            decide(&r),
            Err(ReadingRefusal::ImplausibleConsumption {
                consumption: v("60"),
                allowed: v("30"),
                months: 1,
            })
        );
        r.confirm_implausible = true;
        assert_eq!(decide(&r), accepted("60", true));
    }

    proptest! {
        #[test]
        fn never_panics_and_respects_order(
            value in 0i64..200_000_000,
            prev in proptest::option::of(0i64..200_000_000),
            whole in 1u8..=9,
            decimals in 0u8..=3,
            first in 1u8..=31,
            span in 0u8..31,
            limit in 0i64..i64::MAX,
            day_offset in -3000i64..3000,
            next_offset in proptest::option::of(-100i64..100),
            confirm in any::<bool>(),
            rollover in any::<bool>(),
        ) {
            let today = date!(2026 - 06 - 15);
            let r = SubmissionRequest {
                value: ReadingValue::from_thousandths(value).unwrap(),
                precision: MeterPrecision::new(whole, decimals).unwrap(),
                previous: prev.map(|p| PreviousReading {
                    value: ReadingValue::from_thousandths(p).unwrap(),
                    date: today + time::Duration::days(day_offset),
                }),
                verification: Verification {
                    last: None,
                    next: next_offset.map(|d| today + time::Duration::days(d)),
                },
                window: SubmissionWindow::new(first, first.saturating_add(span).min(31)).unwrap(),
                monthly_limit: ReadingValue::from_thousandths(limit).unwrap(),
                today,
                confirm_implausible: confirm,
                rollover,
            };
            match decide(&r) {
                Ok(a) => {
                    prop_assert!(r.verification.status(today).accepts_readings());
                    prop_assert!(r.window.contains(today));
                    prop_assert_eq!(a.rolled_over, rollover);
                    match (r.previous, a.consumption) {
                        (None, None) => prop_assert!(!rollover),
                        (Some(p), Some(c)) => {
                            prop_assert!(c >= ReadingValue::ZERO);
                            if !rollover {
                                prop_assert!(r.value >= p.value);
                                prop_assert_eq!(c.thousandths(), value - p.value.thousandths());
                            }
                        }
                        _ => prop_assert!(false, "consumption does not match previous"),
                    }
                }
                Err(e) => {
                    let _ = (e.code(), e.to_string());
                }
            }
        }
    }
}
