//! Номер телефона (F1, F7): stored as 11 digits starting with 7.

use std::fmt;

/// A Russian phone number as 11 ASCII digits, the first being 7 (`79876543210`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("Введите номер телефона.")]
    Required,
    #[error("Введите номер без знака «+», например 79876543210.")]
    PlusSign,
    #[error("Номер телефона должен состоять из 11 цифр и начинаться с 7, например 79876543210.")]
    Invalid,
}

impl PhoneError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required => "phone_required",
            Self::PlusSign => "phone_plus_sign",
            Self::Invalid => "phone_invalid",
        }
    }
}

impl Phone {
    pub fn parse(input: &str) -> Result<Phone, PhoneError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(PhoneError::Required);
        }
        // The manual's format has no «+»; say so plainly rather than a generic refusal.
        if input.starts_with('+') {
            return Err(PhoneError::PlusSign);
        }
        let mut digits = String::with_capacity(11);
        for c in input.chars() {
            match c {
                '0'..='9' => digits.push(c),
                '(' | ')' | '-' => {}
                c if c.is_whitespace() => {}
                _ => return Err(PhoneError::Invalid),
            }
            // Stop early on pasted garbage instead of collecting it all.
            if digits.len() > 11 {
                return Err(PhoneError::Invalid);
            }
        }
        if digits.len() != 11 || !digits.starts_with('7') {
            return Err(PhoneError::Invalid);
        }
        Ok(Phone(digits))
    }

    /// The 11 digits, e.g. `79876543210`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Phone {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(s: &str) -> String {
        Phone::parse(s)
            .unwrap_or_else(|e| panic!("{s:?} refused: {e}"))
            .to_string()
    }

    #[test]
    fn accepts_and_drops_separators() {
        assert_eq!(ok("79876543210"), "79876543210");
        assert_eq!(ok("7(987)-654-32-10"), "79876543210");
        assert_eq!(ok(" 7 987 654 32 10 "), "79876543210");
        assert_eq!(ok("7 (987) 654-32-10"), "79876543210");
        assert_eq!(Phone::parse("79876543210").unwrap().as_str(), "79876543210");
    }

    #[test]
    fn refuses_plus_sign() {
        assert_eq!(Phone::parse("+79876543210"), Err(PhoneError::PlusSign));
        assert_eq!(
            Phone::parse("  +7 (987) 654-32-10"),
            Err(PhoneError::PlusSign)
        );
        assert_eq!(PhoneError::PlusSign.code(), "phone_plus_sign");
        assert!(PhoneError::PlusSign.to_string().contains("без знака «+»"));
    }

    #[test]
    fn required() {
        assert_eq!(Phone::parse(""), Err(PhoneError::Required));
        assert_eq!(Phone::parse("   "), Err(PhoneError::Required));
        assert_eq!(PhoneError::Required.code(), "phone_required");
    }

    #[test]
    fn refuses_invalid() {
        for s in [
            "89876543210",
            "7987654321",
            "798765432100",
            "7987654321a",
            "7.987.654.32.10",
            "7987+6543210",
            "()--",
            "７９８７６５４３２１０",
            "7/987/654/32/10",
        ] {
            assert_eq!(Phone::parse(s), Err(PhoneError::Invalid), "{s}");
        }
        assert_eq!(PhoneError::Invalid.code(), "phone_invalid");
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = Phone::parse(&s);
        }

        #[test]
        fn formatted_numbers_are_accepted(d in "7[0-9]{10}", sep in prop::sample::select(vec!["", " ", "-"])) {
            let formatted = format!("{}({}){}{}{}{}", &d[..1], &d[1..4], sep, &d[4..7], sep, &d[7..]);
            let phone = Phone::parse(&formatted).unwrap();
            prop_assert_eq!(phone.as_str(), d.as_str());
        }

        #[test]
        fn accepted_round_trips(s in "\\+?[78]([0-9][ ()\\-]?){9,11}|[0-9 ()+\\-]{0,20}") {
            if let Ok(p) = Phone::parse(&s) {
                prop_assert_eq!(p.as_str().len(), 11);
                prop_assert_eq!(Phone::parse(p.as_str()).unwrap(), p.clone());
                prop_assert_eq!(p.to_string(), p.as_str());
            }
        }
    }
}
