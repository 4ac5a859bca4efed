//! Номер лицевого счета (F3).

use std::fmt;

pub const MIN_DIGITS: usize = 6;
pub const MAX_DIGITS: usize = 12;

/// A personal account number: 6 to 12 ASCII digits, leading zeros kept (`720000032`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountNumberError {
    #[error("Введите номер лицевого счета.")]
    Required,
    #[error("Введите номер лицевого счета цифрами, например 720000032.")]
    Invalid,
    #[error("Номер лицевого счета должен содержать от 6 до 12 цифр, например 720000032.")]
    WrongLength,
}

impl AccountNumberError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required => "account_number_required",
            Self::Invalid => "account_number_invalid",
            Self::WrongLength => "account_number_length",
        }
    }
}

impl AccountNumber {
    pub fn parse(input: &str) -> Result<AccountNumber, AccountNumberError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(AccountNumberError::Required);
        }
        let mut digits = String::with_capacity(MAX_DIGITS);
        for c in input.chars() {
            match c {
                '0'..='9' => digits.push(c),
                // Numbers are printed on bills in groups: «720 000 032», «720-000-032».
                '-' => {}
                c if c.is_whitespace() => {}
                _ => return Err(AccountNumberError::Invalid),
            }
        }
        if digits.is_empty() {
            return Err(AccountNumberError::Invalid);
        }
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits.len()) {
            return Err(AccountNumberError::WrongLength);
        }
        Ok(AccountNumber(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four digits: all that e-mails show (F3).
    pub fn last_four(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    /// Every digit but the last four replaced by `*`: `*****0032`.
    pub fn masked(&self) -> String {
        format!("{}{}", "*".repeat(self.0.len() - 4), self.last_four())
    }
}

impl fmt::Display for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for AccountNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_digits_with_separators() {
        let n = AccountNumber::parse(" 720000032 ").unwrap();
        assert_eq!(n.as_str(), "720000032");
        assert_eq!(n.to_string(), "720000032");
        assert_eq!(n.last_four(), "0032");
        assert_eq!(n.masked(), "*****0032");
        assert_eq!(AccountNumber::parse("720 000 032").unwrap(), n);
        assert_eq!(AccountNumber::parse("720-000-032").unwrap(), n);
        assert_eq!(AccountNumber::parse("001234").unwrap().masked(), "**1234");
        assert_eq!(
            AccountNumber::parse("123456789012").unwrap().masked(),
            "********9012"
        );
    }

    #[test]
    fn refuses_bad_input() {
        assert_eq!(AccountNumber::parse(""), Err(AccountNumberError::Required));
        assert_eq!(
            AccountNumber::parse("  "),
            Err(AccountNumberError::Required)
        );
        for s in [
            "72#####32",
            "7200O0032",
            "720.000.032",
            "-",
            "+720000032",
            "٧٢٠٠٠٠٠٣٢",
        ] {
            assert_eq!(
                AccountNumber::parse(s),
                Err(AccountNumberError::Invalid),
                "{s}"
            );
        }
        for s in ["12345", "1234567890123", "1 2 3"] {
            assert_eq!(
                AccountNumber::parse(s),
                Err(AccountNumberError::WrongLength),
                "{s}"
            );
        }
        assert!(
            AccountNumberError::Invalid
                .to_string()
                .contains("720000032")
        );
        assert_eq!(
            AccountNumberError::Required.code(),
            "account_number_required"
        );
        assert_eq!(AccountNumberError::Invalid.code(), "account_number_invalid");
        assert_eq!(
            AccountNumberError::WrongLength.code(),
            "account_number_length"
        );
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            if let Ok(n) = AccountNumber::parse(&s) {
                let _ = (n.last_four(), n.masked());
            }
        }

        #[test]
        fn accepted_round_trips(s in "[0-9 \\-]{0,20}") {
            if let Ok(n) = AccountNumber::parse(&s) {
                prop_assert_eq!(AccountNumber::parse(n.as_str()).unwrap(), n.clone());
                prop_assert_eq!(n.to_string(), n.as_str());
                prop_assert_eq!(n.masked().len(), n.as_str().len());
                prop_assert!(n.masked().ends_with(n.last_four()));
                prop_assert_eq!(n.last_four().len(), 4);
            }
        }
    }
}
