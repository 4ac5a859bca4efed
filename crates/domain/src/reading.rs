//! Показание прибора учета (F4): exact fixed-point values, never floats.

use std::fmt;

/// Readings are stored in thousandths whatever the meter shows, so values of meters with
/// different precision compare and subtract directly.
const SCALE: i64 = 1000;
const STORAGE_DECIMALS: u8 = 3;

/// How many digits a meter's drum shows before and after the decimal point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MeterPrecision {
    whole_digits: u8,
    decimals: u8,
}

impl MeterPrecision {
    pub const MAX_WHOLE_DIGITS: u8 = 9;
    pub const MAX_DECIMALS: u8 = 3;

    /// `None` unless `1 ≤ whole_digits ≤ 9` and `decimals ≤ 3` (the storage scale).
    pub fn new(whole_digits: u8, decimals: u8) -> Option<Self> {
        ((1..=Self::MAX_WHOLE_DIGITS).contains(&whole_digits) && decimals <= Self::MAX_DECIMALS)
            .then_some(Self {
                whole_digits,
                decimals,
            })
    }

    pub fn whole_digits(&self) -> u8 {
        self.whole_digits
    }

    pub fn decimals(&self) -> u8 {
        self.decimals
    }

    /// The value at which the drum rolls over to zero: 10^whole_digits units.
    pub fn drum_capacity(&self) -> ReadingValue {
        ReadingValue(10_i64.pow(u32::from(self.whole_digits)) * SCALE)
    }
}

/// Five whole digits and three decimals: the usual water meter (F4 default).
impl Default for MeterPrecision {
    fn default() -> Self {
        Self {
            whole_digits: 5,
            decimals: 3,
        }
    }
}

/// A non-negative meter reading (or consumption) in thousandths of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ReadingValue(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadingValueError {
    #[error("Введите показание прибора учета.")]
    Required,
    #[error("Введите показание цифрами, например 123,456.")]
    Invalid,
    #[error("Показание не может быть отрицательным.")]
    Negative,
    #[error("{}", too_many_decimals_message(*.max))]
    TooManyDecimals { max: u8 },
    #[error("Не более {max} {} до запятой.", signs(*.max))]
    TooManyWholeDigits { max: u8 },
}

impl ReadingValueError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required => "reading_required",
            Self::Invalid => "reading_invalid",
            Self::Negative => "reading_negative",
            Self::TooManyDecimals { .. } => "reading_too_many_decimals",
            Self::TooManyWholeDigits { .. } => "reading_too_many_whole_digits",
        }
    }
}

fn too_many_decimals_message(max: u8) -> String {
    if max == 0 {
        "Показание вводится целым числом, без знаков после запятой.".to_owned()
    } else {
        format!("Не более {max} {} после запятой.", signs(max))
    }
}

/// «знака» or «знаков» after «не более N».
fn signs(n: u8) -> &'static str {
    if n % 10 == 1 && n % 100 != 11 {
        "знака"
    } else {
        "знаков"
    }
}

impl ReadingValue {
    pub const ZERO: ReadingValue = ReadingValue(0);

    /// Parses what the customer read off the meter: decimal comma or dot, at most the meter's
    /// whole digits (leading zeros, as the drum shows them, do not count) and decimals.
    pub fn parse(
        input: &str,
        precision: MeterPrecision,
    ) -> Result<ReadingValue, ReadingValueError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ReadingValueError::Required);
        }
        if s.starts_with(['-', '\u{2212}']) {
            return Err(ReadingValueError::Negative);
        }
        let (whole, fraction) = match s.find(['.', ',']) {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        };
        let is_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !is_digits(whole) || !fraction.is_none_or(is_digits) {
            return Err(ReadingValueError::Invalid);
        }
        let fraction = fraction.unwrap_or("");
        if fraction.len() > usize::from(precision.decimals) {
            return Err(ReadingValueError::TooManyDecimals {
                max: precision.decimals,
            });
        }
        let significant = whole.trim_start_matches('0');
        if significant.len() > usize::from(precision.whole_digits) {
            return Err(ReadingValueError::TooManyWholeDigits {
                max: precision.whole_digits,
            });
        }
        // At most 9 whole digits and 3 decimals: the arithmetic cannot overflow.
        let whole_value = significant
            .bytes()
            .fold(0_i64, |acc, b| acc * 10 + i64::from(b - b'0'));
        let fraction_value = fraction
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(usize::from(STORAGE_DECIMALS))
            .fold(0_i64, |acc, b| acc * 10 + i64::from(b - b'0'));
        Ok(ReadingValue(whole_value * SCALE + fraction_value))
    }

    /// `None` for a negative value.
    pub fn from_thousandths(thousandths: i64) -> Option<ReadingValue> {
        (thousandths >= 0).then_some(ReadingValue(thousandths))
    }

    pub fn thousandths(self) -> i64 {
        self.0
    }

    /// With a dot and exactly the meter's decimals (`0.002`, `12`, `12.5`), except that digits
    /// the meter cannot show are still printed: a value is never rounded for display.
    pub fn format(&self, precision: MeterPrecision) -> String {
        let places = precision.decimals.max(self.needed_decimals());
        self.format_places(places)
    }

    /// `None` when the result would be negative.
    pub fn checked_sub(self, other: ReadingValue) -> Option<ReadingValue> {
        self.0
            .checked_sub(other.0)
            .and_then(ReadingValue::from_thousandths)
    }

    pub fn checked_add(self, other: ReadingValue) -> Option<ReadingValue> {
        self.0.checked_add(other.0).map(ReadingValue)
    }

    /// `None` on overflow or a negative factor.
    pub fn checked_mul(self, factor: i64) -> Option<ReadingValue> {
        self.0
            .checked_mul(factor)
            .and_then(ReadingValue::from_thousandths)
    }

    /// Fewest decimals that print this value exactly.
    fn needed_decimals(&self) -> u8 {
        match self.0 % SCALE {
            0 => 0,
            r if r % 100 == 0 => 1,
            r if r % 10 == 0 => 2,
            _ => 3,
        }
    }

    fn format_places(&self, places: u8) -> String {
        let whole = self.0 / SCALE;
        if places == 0 {
            return whole.to_string();
        }
        let divisor = 10_i64.pow(u32::from(STORAGE_DECIMALS - places));
        let fraction = (self.0 % SCALE) / divisor;
        format!("{whole}.{fraction:0width$}", width = usize::from(places))
    }
}

/// Three decimals with a dot (`0.002`): the storage scale, as the API sends readings.
impl fmt::Display for ReadingValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format_places(STORAGE_DECIMALS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(whole: u8, decimals: u8) -> MeterPrecision {
        MeterPrecision::new(whole, decimals).unwrap()
    }

    fn t(s: &str) -> i64 {
        ReadingValue::parse(s, MeterPrecision::default())
            .unwrap_or_else(|e| panic!("{s:?} refused: {e}"))
            .thousandths()
    }

    fn err(s: &str, precision: MeterPrecision) -> ReadingValueError {
        ReadingValue::parse(s, precision).expect_err(s)
    }

    #[test]
    fn precision_bounds() {
        assert_eq!(MeterPrecision::default(), p(5, 3));
        assert_eq!(p(5, 3).whole_digits(), 5);
        assert_eq!(p(5, 3).decimals(), 3);
        assert!(MeterPrecision::new(0, 3).is_none());
        assert!(MeterPrecision::new(10, 3).is_none());
        assert!(MeterPrecision::new(5, 4).is_none());
        assert!(MeterPrecision::new(9, 0).is_some());
        assert!(MeterPrecision::new(1, 0).is_some());
    }

    #[test]
    fn drum_capacity() {
        assert_eq!(p(5, 3).drum_capacity().thousandths(), 100_000_000);
        assert_eq!(p(1, 0).drum_capacity().thousandths(), 10_000);
        assert_eq!(p(9, 3).drum_capacity().to_string(), "1000000000.000");
    }

    #[test]
    fn parses_comma_and_dot() {
        assert_eq!(t("0.002"), 2);
        assert_eq!(t("0,002"), 2);
        assert_eq!(t("12,5"), 12_500);
        assert_eq!(t("12.50"), 12_500);
        assert_eq!(t("12"), 12_000);
        assert_eq!(t("  99999,999 "), 99_999_999);
        assert_eq!(t("0"), 0);
    }

    #[test]
    fn leading_zeros_do_not_count() {
        assert_eq!(t("00012,345"), 12_345);
        assert_eq!(t("0000000000012,345"), 12_345);
        assert_eq!(t("00000"), 0);
        assert_eq!(
            err("123456", MeterPrecision::default()),
            ReadingValueError::TooManyWholeDigits { max: 5 }
        );
        assert_eq!(
            err("0123456", MeterPrecision::default()),
            ReadingValueError::TooManyWholeDigits { max: 5 }
        );
    }

    #[test]
    fn decimals_limited_by_meter() {
        assert_eq!(
            err("1.2345", MeterPrecision::default()),
            ReadingValueError::TooManyDecimals { max: 3 }
        );
        assert_eq!(
            err("1.23", p(5, 1)),
            ReadingValueError::TooManyDecimals { max: 1 }
        );
        assert_eq!(
            err("1.2", p(5, 0)),
            ReadingValueError::TooManyDecimals { max: 0 }
        );
        assert_eq!(
            ReadingValue::parse("1.2", p(5, 1)).unwrap().thousandths(),
            1_200
        );
    }

    #[test]
    fn messages_name_the_limits() {
        assert_eq!(
            ReadingValueError::TooManyDecimals { max: 3 }.to_string(),
            "Не более 3 знаков после запятой."
        );
        assert_eq!(
            ReadingValueError::TooManyDecimals { max: 1 }.to_string(),
            "Не более 1 знака после запятой."
        );
        assert_eq!(
            ReadingValueError::TooManyDecimals { max: 0 }.to_string(),
            "Показание вводится целым числом, без знаков после запятой."
        );
        assert_eq!(
            ReadingValueError::TooManyWholeDigits { max: 5 }.to_string(),
            "Не более 5 знаков до запятой."
        );
        assert_eq!(
            ReadingValueError::TooManyWholeDigits { max: 1 }.to_string(),
            "Не более 1 знака до запятой."
        );
    }

    #[test]
    fn refuses_malformed() {
        let d = MeterPrecision::default();
        assert_eq!(err("", d), ReadingValueError::Required);
        assert_eq!(err("  ", d), ReadingValueError::Required);
        assert_eq!(err("-1", d), ReadingValueError::Negative);
        assert_eq!(err("−1", d), ReadingValueError::Negative);
        for s in [
            "+1", "1e3", "1E3", "abc", "1.", ".5", ",5", "1.2.3", "1,2.3", "1 234", "٣", "1_000",
            "0x10", "NaN", "inf",
        ] {
            assert_eq!(err(s, d), ReadingValueError::Invalid, "{s}");
        }
    }

    #[test]
    fn codes() {
        assert_eq!(ReadingValueError::Required.code(), "reading_required");
        assert_eq!(ReadingValueError::Invalid.code(), "reading_invalid");
        assert_eq!(ReadingValueError::Negative.code(), "reading_negative");
        assert_eq!(
            ReadingValueError::TooManyDecimals { max: 3 }.code(),
            "reading_too_many_decimals"
        );
        assert_eq!(
            ReadingValueError::TooManyWholeDigits { max: 5 }.code(),
            "reading_too_many_whole_digits"
        );
    }

    #[test]
    fn format_with_meter_precision_never_loses_digits() {
        let v = |th| ReadingValue::from_thousandths(th).unwrap();
        assert_eq!(v(2).format(p(5, 3)), "0.002");
        assert_eq!(v(2).format(p(5, 0)), "0.002");
        assert_eq!(v(1_500).format(p(5, 0)), "1.5");
        assert_eq!(v(1_500).format(p(5, 1)), "1.5");
        assert_eq!(v(1_500).format(p(5, 2)), "1.50");
        assert_eq!(v(1_000).format(p(5, 0)), "1");
        assert_eq!(v(1_230).format(p(5, 1)), "1.23");
        assert_eq!(v(12_345).format(p(5, 3)), "12.345");
        assert_eq!(v(0).format(p(5, 3)), "0.000");
    }

    #[test]
    fn display_has_three_decimals() {
        let v = |th| ReadingValue::from_thousandths(th).unwrap();
        assert_eq!(v(2).to_string(), "0.002");
        assert_eq!(v(30_000).to_string(), "30.000");
        assert_eq!(v(123_456_789).to_string(), "123456.789");
    }

    #[test]
    fn arithmetic() {
        let v = |th| ReadingValue::from_thousandths(th).unwrap();
        assert_eq!(ReadingValue::from_thousandths(-1), None);
        assert_eq!(v(5).checked_sub(v(2)), Some(v(3)));
        assert_eq!(v(2).checked_sub(v(5)), None);
        assert_eq!(v(2).checked_sub(v(2)), Some(ReadingValue::ZERO));
        assert_eq!(v(2).checked_add(v(5)), Some(v(7)));
        assert_eq!(v(i64::MAX).checked_add(v(1)), None);
        assert_eq!(v(3).checked_mul(4), Some(v(12)));
        assert_eq!(v(3).checked_mul(-1), None);
        assert_eq!(v(i64::MAX).checked_mul(2), None);
    }

    fn precision() -> impl Strategy<Value = MeterPrecision> {
        (1u8..=9, 0u8..=3).prop_map(|(w, d)| p(w, d))
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>(), precision in precision()) {
            let _ = ReadingValue::parse(&s, precision);
        }

        #[test]
        fn near_misses_never_panic(s in "[0-9.,eE+\\- ]{0,20}", precision in precision()) {
            let _ = ReadingValue::parse(&s, precision);
        }

        #[test]
        fn accepted_round_trips(s in "0{0,3}[0-9]{1,10}([.,][0-9]{1,4})?", precision in precision()) {
            if let Ok(v) = ReadingValue::parse(&s, precision) {
                prop_assert!(v.thousandths() >= 0);
                let printed = v.format(precision);
                prop_assert_eq!(ReadingValue::parse(&printed, precision).unwrap(), v);
                // Display (3 decimals) parses back with any 3-decimal precision that has room.
                let wide = p(9, 3);
                prop_assert_eq!(ReadingValue::parse(&v.to_string(), wide).unwrap(), v);
                prop_assert!(v < precision.drum_capacity());
            }
        }

        #[test]
        fn format_is_exact(th in 0i64..1_000_000_000_000, precision in precision()) {
            let v = ReadingValue::from_thousandths(th).unwrap();
            let printed = v.format(precision);
            prop_assert!(!printed.contains('.') || printed.split('.').nth(1).unwrap().len() >= usize::from(precision.decimals()));
            prop_assert_eq!(ReadingValue::parse(&printed, p(9, 3)).unwrap(), v);
        }
    }
}
