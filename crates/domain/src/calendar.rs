//! Billing months and the reading submission window (F4).

use std::fmt;

use time::{Date, Month};

/// `26.07.2024`: how dates are written to customers.
pub fn format_ru_date(date: Date) -> String {
    format!(
        "{:02}.{:02}.{:04}",
        date.day(),
        u8::from(date.month()),
        date.year()
    )
}

/// A calendar month that readings are counted in («2026-11»).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BillingMonth {
    year: i32,
    month: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillingMonthError {
    #[error("Укажите месяц в формате ГГГГ-ММ, например 2026-11.")]
    Invalid,
}

impl BillingMonthError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid => "billing_month_invalid",
        }
    }
}

impl BillingMonth {
    /// `None` unless the month is 1..=12 and the year is one `time::Date` can hold.
    pub fn new(year: i32, month: u8) -> Option<Self> {
        let month_ok = (1..=12).contains(&month);
        let year_ok = (Date::MIN.year()..=Date::MAX.year()).contains(&year);
        (month_ok && year_ok).then_some(Self { year, month })
    }

    pub fn of(date: Date) -> Self {
        Self {
            year: date.year(),
            month: u8::from(date.month()),
        }
    }

    pub fn year(&self) -> i32 {
        self.year
    }

    pub fn month(&self) -> u8 {
        self.month
    }

    pub fn first_day(&self) -> Date {
        self.day_clamped(1)
    }

    pub fn last_day(&self) -> Date {
        self.day_clamped(31)
    }

    pub fn length(&self) -> u8 {
        self.time_month().length(self.year)
    }

    /// The following month; the last month `time::Date` can hold is its own successor.
    pub fn next(&self) -> Self {
        if self.month == 12 {
            Self::new(self.year + 1, 1).unwrap_or(*self)
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The preceding month; the first month `time::Date` can hold is its own predecessor.
    pub fn previous(&self) -> Self {
        if self.month == 1 {
            Self::new(self.year - 1, 12).unwrap_or(*self)
        } else {
            Self {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// Whole months from `a` to `b`: positive when `b` is later, 0 for the same month.
    pub fn months_between(a: BillingMonth, b: BillingMonth) -> i32 {
        (b.year - a.year) * 12 + i32::from(b.month) - i32::from(a.month)
    }

    /// `2026-11` (a leading `-` for years before year 0, as `Display` prints them).
    pub fn parse(input: &str) -> Result<Self, BillingMonthError> {
        let s = input.trim();
        let (negative, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let bytes = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| bytes[r].iter().all(u8::is_ascii_digit);
        if bytes.len() != 7 || bytes[4] != b'-' || !digits(0..4) || !digits(5..7) {
            return Err(BillingMonthError::Invalid);
        }
        let number = |r: std::ops::Range<usize>| {
            bytes[r]
                .iter()
                .fold(0_i32, |acc, b| acc * 10 + i32::from(b - b'0'))
        };
        let year = match (negative, number(0..4)) {
            // «-0000» would print back as «0000».
            (true, 0) => return Err(BillingMonthError::Invalid),
            (true, n) => -n,
            (false, n) => n,
        };
        let month = u8::try_from(number(5..7)).map_err(|_| BillingMonthError::Invalid)?;
        Self::new(year, month).ok_or(BillingMonthError::Invalid)
    }

    fn time_month(&self) -> Month {
        Month::try_from(self.month).unwrap_or(Month::January)
    }

    /// The given day of this month, or the month's last day when it is shorter.
    fn day_clamped(&self, day: u8) -> Date {
        let day = day.clamp(1, self.length());
        // Valid by construction: the month is 1..=12, the year in range, the day clamped.
        Date::from_calendar_date(self.year, self.time_month(), day).unwrap_or(Date::MIN)
    }
}

impl fmt::Display for BillingMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.year < 0 {
            write!(f, "-{:04}-{:02}", -self.year, self.month)
        } else {
            write!(f, "{:04}-{:02}", self.year, self.month)
        }
    }
}

/// Days of the month when readings are accepted (per branch, e.g. 15–25). A day past the end
/// of a short month means that month's last day, so «25–31» is open until 28 February.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubmissionWindow {
    first_day: u8,
    last_day: u8,
}

impl SubmissionWindow {
    /// `None` unless `1 ≤ first ≤ last ≤ 31`.
    pub fn new(first_day: u8, last_day: u8) -> Option<Self> {
        (1 <= first_day && first_day <= last_day && last_day <= 31).then_some(Self {
            first_day,
            last_day,
        })
    }

    /// Any day of the month: the default.
    pub fn whole_month() -> Self {
        Self {
            first_day: 1,
            last_day: 31,
        }
    }

    pub fn first_day(&self) -> u8 {
        self.first_day
    }

    pub fn last_day(&self) -> u8 {
        self.last_day
    }

    pub fn is_whole_month(&self) -> bool {
        self.first_day == 1 && self.last_day >= 31
    }

    pub fn contains(&self, date: Date) -> bool {
        let (first, last) = self.days_in(BillingMonth::of(date));
        (first..=last).contains(&date.day())
    }

    /// The first day readings are accepted, counting from `today`: today itself when the
    /// window is open, else its first day this month or next month.
    pub fn next_opening(&self, today: Date) -> Date {
        if self.contains(today) {
            return today;
        }
        let this_month = BillingMonth::of(today);
        let (first, _) = self.days_in(this_month);
        if today.day() < first {
            return this_month.day_clamped(first);
        }
        let next = this_month.next();
        if next == this_month {
            // No month after the last one `time::Date` can hold.
            return Date::MAX;
        }
        next.day_clamped(self.days_in(next).0)
    }

    /// The window's days in the given month, both clamped to the month's length.
    fn days_in(&self, month: BillingMonth) -> (u8, u8) {
        let len = month.length();
        (self.first_day.min(len), self.last_day.min(len))
    }
}

impl Default for SubmissionWindow {
    fn default() -> Self {
        Self::whole_month()
    }
}

/// For messages: «с 15 по 25 число месяца», «в любой день месяца».
impl fmt::Display for SubmissionWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_whole_month() {
            f.write_str("в любой день месяца")
        } else if self.first_day == self.last_day {
            write!(f, "{} числа каждого месяца", self.first_day)
        } else {
            write!(f, "с {} по {} число месяца", self.first_day, self.last_day)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn m(year: i32, month: u8) -> BillingMonth {
        BillingMonth::new(year, month).unwrap()
    }

    fn w(first: u8, last: u8) -> SubmissionWindow {
        SubmissionWindow::new(first, last).unwrap()
    }

    #[test]
    fn formats_russian_dates() {
        assert_eq!(format_ru_date(date!(2024 - 07 - 26)), "26.07.2024");
        assert_eq!(format_ru_date(date!(2026 - 12 - 01)), "01.12.2026");
    }

    #[test]
    fn billing_month_basics() {
        let nov = BillingMonth::of(date!(2026 - 11 - 17));
        assert_eq!(nov, m(2026, 11));
        assert_eq!((nov.year(), nov.month()), (2026, 11));
        assert_eq!(nov.first_day(), date!(2026 - 11 - 01));
        assert_eq!(nov.last_day(), date!(2026 - 11 - 30));
        assert_eq!(nov.next(), m(2026, 12));
        assert_eq!(m(2026, 12).next(), m(2027, 1));
        assert_eq!(m(2027, 1).previous(), m(2026, 12));
        assert_eq!(m(2024, 2).length(), 29);
        assert_eq!(m(2025, 2).last_day(), date!(2025 - 02 - 28));
        assert!(m(2026, 11) < m(2026, 12) && m(2026, 12) < m(2027, 1));
        assert!(BillingMonth::new(2026, 0).is_none());
        assert!(BillingMonth::new(2026, 13).is_none());
        assert!(BillingMonth::new(100_000, 1).is_none());
    }

    #[test]
    fn ends_of_the_calendar_do_not_panic() {
        let last = BillingMonth::of(Date::MAX);
        assert_eq!(last.next(), last);
        assert_eq!(last.last_day(), Date::MAX);
        let first = BillingMonth::of(Date::MIN);
        assert_eq!(first.previous(), first);
        assert_eq!(first.first_day(), Date::MIN);
        assert_eq!(w(15, 25).next_opening(Date::MAX), Date::MAX);
    }

    #[test]
    fn months_between() {
        assert_eq!(BillingMonth::months_between(m(2024, 7), m(2024, 7)), 0);
        assert_eq!(BillingMonth::months_between(m(2024, 7), m(2024, 8)), 1);
        assert_eq!(BillingMonth::months_between(m(2024, 7), m(2026, 11)), 28);
        assert_eq!(BillingMonth::months_between(m(2026, 11), m(2024, 7)), -28);
    }

    #[test]
    fn billing_month_text() {
        assert_eq!(m(2026, 11).to_string(), "2026-11");
        assert_eq!(m(987, 1).to_string(), "0987-01");
        assert_eq!(BillingMonth::parse("2026-11"), Ok(m(2026, 11)));
        assert_eq!(BillingMonth::parse(" 2026-01 "), Ok(m(2026, 1)));
        for s in [
            "",
            "2026-13",
            "2026-00",
            "2026-1",
            "26-11",
            "2026/11",
            "2026-11-01",
            "２０２６-11",
            "+2026-11",
            "-0000-05",
        ] {
            assert_eq!(
                BillingMonth::parse(s),
                Err(BillingMonthError::Invalid),
                "{s}"
            );
        }
        assert_eq!(BillingMonthError::Invalid.code(), "billing_month_invalid");
    }

    #[test]
    fn window_construction() {
        assert!(SubmissionWindow::new(0, 25).is_none());
        assert!(SubmissionWindow::new(26, 25).is_none());
        assert!(SubmissionWindow::new(15, 32).is_none());
        assert!(SubmissionWindow::new(25, 25).is_some());
        assert_eq!(SubmissionWindow::default(), SubmissionWindow::whole_month());
        assert_eq!((w(15, 25).first_day(), w(15, 25).last_day()), (15, 25));
    }

    #[test]
    fn window_contains() {
        let win = w(15, 25);
        assert!(!win.contains(date!(2026 - 11 - 14)));
        assert!(win.contains(date!(2026 - 11 - 15)));
        assert!(win.contains(date!(2026 - 11 - 25)));
        assert!(!win.contains(date!(2026 - 11 - 26)));
        let whole = SubmissionWindow::whole_month();
        assert!(whole.contains(date!(2026 - 02 - 01)));
        assert!(whole.contains(date!(2026 - 02 - 28)));
        assert!(whole.contains(date!(2026 - 01 - 31)));
        // Past the end of February means its last day.
        assert!(w(25, 31).contains(date!(2026 - 02 - 28)));
        assert!(w(30, 31).contains(date!(2026 - 02 - 28)));
        assert!(!w(30, 31).contains(date!(2026 - 02 - 27)));
    }

    #[test]
    fn window_next_opening() {
        let win = w(15, 25);
        assert_eq!(
            win.next_opening(date!(2026 - 11 - 20)),
            date!(2026 - 11 - 20)
        );
        assert_eq!(
            win.next_opening(date!(2026 - 11 - 03)),
            date!(2026 - 11 - 15)
        );
        assert_eq!(
            win.next_opening(date!(2026 - 11 - 26)),
            date!(2026 - 12 - 15)
        );
        assert_eq!(
            win.next_opening(date!(2026 - 12 - 31)),
            date!(2027 - 01 - 15)
        );
        assert_eq!(
            w(30, 31).next_opening(date!(2026 - 01 - 31)),
            date!(2026 - 01 - 31)
        );
        assert_eq!(
            w(30, 31).next_opening(date!(2026 - 02 - 01)),
            date!(2026 - 02 - 28)
        );
    }

    #[test]
    fn window_text() {
        assert_eq!(w(15, 25).to_string(), "с 15 по 25 число месяца");
        assert_eq!(w(20, 20).to_string(), "20 числа каждого месяца");
        assert_eq!(
            SubmissionWindow::whole_month().to_string(),
            "в любой день месяца"
        );
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (-9999i32..=9999, 1u8..=12, 1u8..=31).prop_map(|(y, mo, d)| {
            let month = Month::try_from(mo).unwrap();
            Date::from_calendar_date(y, month, d.min(month.length(y))).unwrap()
        })
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = BillingMonth::parse(&s);
        }

        #[test]
        fn parse_round_trips(s in "-?[0-9]{4}-[0-9]{2}") {
            if let Ok(month) = BillingMonth::parse(&s) {
                prop_assert_eq!(month.to_string(), s.clone());
                prop_assert_eq!(BillingMonth::parse(&month.to_string()).unwrap(), month);
            }
        }

        #[test]
        fn every_month_prints_and_parses(date in any_date()) {
            let month = BillingMonth::of(date);
            prop_assert_eq!(BillingMonth::parse(&month.to_string()).unwrap(), month);
            prop_assert!(month.first_day() <= date && date <= month.last_day());
            prop_assert_eq!(BillingMonth::months_between(month, month.next()), i32::from(month.next() != month));
        }

        #[test]
        fn next_opening_is_open_and_not_before_today(date in any_date(), first in 1u8..=31, len in 0u8..31) {
            let last = first.saturating_add(len).min(31);
            let win = w(first, last);
            let opens = win.next_opening(date);
            prop_assert!(opens >= date);
            if opens != Date::MAX {
                prop_assert!(win.contains(opens));
                // No open day is skipped between today and the opening.
                if opens > date {
                    prop_assert!(!win.contains(date));
                    let before = opens.previous_day().unwrap();
                    prop_assert!(before < date || !win.contains(before));
                }
            }
        }
    }
}
