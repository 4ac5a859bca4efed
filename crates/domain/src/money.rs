//! Денежная сумма (F3 «Сумма последнего платежа»): exact kopecks, never floats.

use std::fmt;

/// At most this many whole-ruble digits: far above any utility bill, far below `i64` limits.
pub const MAX_WHOLE_DIGITS: usize = 12;

/// A non-negative amount of money in kopecks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Money(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("Введите сумму в рублях, например 500,00.")]
    Required,
    #[error("Введите сумму цифрами, например 500 или 500,00.")]
    Invalid,
    #[error("Сумма не может быть отрицательной.")]
    Negative,
    #[error("Укажите не более двух знаков после запятой (копейки), например 500,50.")]
    TooManyDecimals,
    #[error("Сумма слишком большая: не более 12 цифр до запятой.")]
    TooLarge,
}

impl MoneyError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required => "amount_required",
            Self::Invalid => "amount_invalid",
            Self::Negative => "amount_negative",
            Self::TooManyDecimals => "amount_too_many_decimals",
            Self::TooLarge => "amount_too_large",
        }
    }
}

impl Money {
    pub const ZERO: Money = Money(0);

    /// Accepts `500`, `500.00`, `500,00`, `500.5` (500 rubles 50 kopecks) and thousands
    /// groups separated by spaces (`1 500,00`, also no-break spaces as Russian locales print).
    pub fn parse(input: &str) -> Result<Money, MoneyError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(MoneyError::Required);
        }
        if s.starts_with(['-', '\u{2212}']) {
            return Err(MoneyError::Negative);
        }
        let (whole, fraction) = match s.find(['.', ',']) {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        };
        let whole = whole_digits(whole).ok_or(MoneyError::Invalid)?;
        let kopecks = match fraction {
            None => 0,
            Some(f) => {
                if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(MoneyError::Invalid);
                }
                match f.as_bytes() {
                    [d] => i64::from(d - b'0') * 10,
                    [d1, d2] => i64::from(d1 - b'0') * 10 + i64::from(d2 - b'0'),
                    _ => return Err(MoneyError::TooManyDecimals),
                }
            }
        };
        let significant = whole.trim_start_matches('0');
        if significant.len() > MAX_WHOLE_DIGITS {
            return Err(MoneyError::TooLarge);
        }
        let rubles: i64 = if significant.is_empty() {
            0
        } else {
            // At most 12 ASCII digits: cannot fail or overflow.
            significant.parse().map_err(|_| MoneyError::TooLarge)?
        };
        Ok(Money(rubles * 100 + kopecks))
    }

    /// `None` for a negative amount.
    pub fn from_kopecks(kopecks: i64) -> Option<Money> {
        (kopecks >= 0).then_some(Money(kopecks))
    }

    pub fn kopecks(self) -> i64 {
        self.0
    }
}

/// `500.00`: a dot and two decimals, the form the API sends.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// The whole-ruble digits with group separators removed, or `None` when malformed.
/// Groups must look like thousands (`1 500`, `12 345 678`) so that `1 5` is not taken for 15.
fn whole_digits(whole: &str) -> Option<String> {
    let groups: Vec<&str> = whole.split([' ', '\u{00A0}', '\u{202F}']).collect();
    let all_digits = |g: &str| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit());
    if !groups.iter().all(|g| all_digits(g)) {
        return None;
    }
    if groups.len() > 1 && (groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3)) {
        return None;
    }
    Some(groups.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn k(s: &str) -> i64 {
        Money::parse(s)
            .unwrap_or_else(|e| panic!("{s:?} refused: {e}"))
            .kopecks()
    }

    #[test]
    fn accepts_the_manuals_forms() {
        assert_eq!(k("500"), 50000);
        assert_eq!(k("500.00"), 50000);
        assert_eq!(k("500,00"), 50000);
        assert_eq!(k("500.5"), 50050);
        assert_eq!(k("500,05"), 50005);
        assert_eq!(k(" 500 "), 50000);
        assert_eq!(k("0"), 0);
        assert_eq!(k("0,01"), 1);
        assert_eq!(k("007"), 700);
    }

    #[test]
    fn accepts_thousands_groups() {
        assert_eq!(k("1 500,00"), 150000);
        assert_eq!(k("1\u{00A0}500,00"), 150000);
        assert_eq!(k("1\u{202F}500"), 150000);
        assert_eq!(k("12 345 678.90"), 1234567890);
        assert_eq!(k("999 999 999 999.99"), 99_999_999_999_999);
    }

    #[test]
    fn refuses_bad_amounts() {
        let cases = [
            ("", MoneyError::Required),
            ("   ", MoneyError::Required),
            ("-500", MoneyError::Negative),
            ("−500", MoneyError::Negative),
            ("500.001", MoneyError::TooManyDecimals),
            ("500,000", MoneyError::TooManyDecimals),
            ("5e2", MoneyError::Invalid),
            ("5E2", MoneyError::Invalid),
            ("+500", MoneyError::Invalid),
            ("500 руб", MoneyError::Invalid),
            ("abc", MoneyError::Invalid),
            ("500.", MoneyError::Invalid),
            (".50", MoneyError::Invalid),
            ("500.0.0", MoneyError::Invalid),
            ("500,00.00", MoneyError::Invalid),
            ("1 5", MoneyError::Invalid),
            ("1500 000", MoneyError::Invalid),
            ("1  500", MoneyError::Invalid),
            ("１５００", MoneyError::Invalid),
            ("1_500", MoneyError::Invalid),
            ("1000000000000", MoneyError::TooLarge),
            ("1 000 000 000 000", MoneyError::TooLarge),
        ];
        for (s, e) in cases {
            assert_eq!(Money::parse(s), Err(e), "{s:?}");
        }
        assert_eq!(k("999999999999"), 99_999_999_999_900);
    }

    #[test]
    fn display_uses_a_dot_and_two_decimals() {
        assert_eq!(Money::parse("500").unwrap().to_string(), "500.00");
        assert_eq!(Money::parse("500,5").unwrap().to_string(), "500.50");
        assert_eq!(Money::parse("0,07").unwrap().to_string(), "0.07");
        assert_eq!(Money::ZERO.to_string(), "0.00");
    }

    #[test]
    fn from_kopecks() {
        assert_eq!(Money::from_kopecks(-1), None);
        assert_eq!(Money::from_kopecks(0), Some(Money::ZERO));
        assert_eq!(Money::from_kopecks(50050).unwrap().to_string(), "500.50");
        assert_eq!(Money::from_kopecks(i64::MAX).unwrap().kopecks(), i64::MAX);
    }

    #[test]
    fn codes() {
        assert_eq!(MoneyError::Required.code(), "amount_required");
        assert_eq!(MoneyError::Invalid.code(), "amount_invalid");
        assert_eq!(MoneyError::Negative.code(), "amount_negative");
        assert_eq!(
            MoneyError::TooManyDecimals.code(),
            "amount_too_many_decimals"
        );
        assert_eq!(MoneyError::TooLarge.code(), "amount_too_large");
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = Money::parse(&s);
        }

        #[test]
        fn near_misses_never_panic(s in "[0-9 .,eE+\\-\u{00A0}]{0,24}") {
            let _ = Money::parse(&s);
        }

        #[test]
        fn accepted_round_trips(
            s in "[0-9]{1,3}([ \u{00A0}][0-9]{3}){0,4}([.,][0-9]{1,3})?|[0-9 .,\u{00A0}]{0,20}"
        ) {
            if let Ok(m) = Money::parse(&s) {
                prop_assert!(m.kopecks() >= 0);
                prop_assert_eq!(Money::parse(&m.to_string()).unwrap(), m);
            }
        }

        #[test]
        fn display_of_any_parsable_amount_round_trips(kopecks in 0i64..100_000_000_000_000) {
            let m = Money::from_kopecks(kopecks).unwrap();
            prop_assert_eq!(Money::parse(&m.to_string()).unwrap(), m);
        }
    }
}
