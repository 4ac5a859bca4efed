//! Пароль (F1, F2, F7): length, not common, not like the e-mail, equal to its confirmation.
//!
//! Follows NIST SP 800-63B: a length range and a block list instead of composition rules.

#[cfg(feature = "common-passwords")]
use std::collections::HashSet;
use std::fmt;
#[cfg(feature = "common-passwords")]
use std::sync::OnceLock;

use crate::email::Email;

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 128;

/// The local part must be at least this long before "contains the local part" applies:
/// a password containing «ivan» is not guessable from «ivan@mail.ru» in any useful sense
/// for very short parts like «a».
const MIN_LOCAL_PART_FOR_SIMILARITY: usize = 4;

/// Most common passwords, lower-cased, one per line; see `data/README.md`.
#[cfg(feature = "common-passwords")]
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// A new password that passed every rule. Never printed: `Debug` shows `Password(***)`.
#[derive(Clone)]
pub struct Password(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("Пароль должен содержать не менее 8 символов.")]
    TooShort,
    #[error("Пароль должен содержать не более 128 символов.")]
    TooLong,
    #[error(
        "Этот пароль входит в список самых распространённых и легко подбирается. \
         Придумайте другой пароль."
    )]
    TooCommon,
    #[error(
        "Пароль слишком похож на адрес электронной почты. Придумайте пароль, который не \
         содержит адрес почты или его часть до «@»."
    )]
    SimilarToEmail,
    #[error("Пароли не совпадают.")]
    Mismatch,
}

impl PasswordError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooShort => "password_too_short",
            Self::TooLong => "password_too_long",
            Self::TooCommon => "password_too_common",
            Self::SimilarToEmail => "password_similar_to_email",
            Self::Mismatch => "password_mismatch",
        }
    }
}

impl Password {
    /// Checks, in this order: length, common passwords, similarity to the e-mail, and the
    /// confirmation. The password is kept exactly as typed (no trimming): it is a secret.
    pub fn parse(
        password: &str,
        confirmation: &str,
        email: &Email,
    ) -> Result<Password, PasswordError> {
        check_new_password(password, Some(email))?;
        if password != confirmation {
            return Err(PasswordError::Mismatch);
        }
        Ok(Password(password.to_owned()))
    }

    /// The password itself, for hashing. Keep it out of logs.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Every rule but the confirmation, so the SPA can check as the user types. Without a valid
/// e-mail (the form's e-mail field is wrong) the similarity rule is left for later.
pub fn check_new_password(password: &str, email: Option<&Email>) -> Result<(), PasswordError> {
    let len = password.chars().count();
    if len < MIN_CHARS {
        return Err(PasswordError::TooShort);
    }
    if len > MAX_CHARS {
        return Err(PasswordError::TooLong);
    }
    let lower = password.to_lowercase();
    // Padding a common password with spaces does not make it any harder to guess, and spaces
    // alone are the emptiest password there is. A common password typed with the Russian
    // layout switched on («йцукенгшщз» for «qwertyuiop») is as common.
    let trimmed = lower.trim();
    if trimmed.is_empty() || is_common(trimmed) || is_common(&latin_keys(trimmed)) {
        return Err(PasswordError::TooCommon);
    }
    if email.is_some_and(|email| is_similar_to_email(&lower, email)) {
        return Err(PasswordError::SimilarToEmail);
    }
    Ok(())
}

#[cfg(feature = "common-passwords")]
fn is_common(lower: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS.lines().filter(|l| !l.is_empty()).collect())
        .contains(lower)
}

/// The Latin letters on the keys of the Russian letters (ЙЦУКЕН over QWERTY); anything else as
/// it is.
fn latin_keys(lower: &str) -> String {
    const RUSSIAN: &str = "ёйцукенгшщзхъфывапролджэячсмитьбю";
    const LATIN: &str = "`qwertyuiop[]asdfghjkl;'zxcvbnm,.";
    lower
        .chars()
        .map(|c| {
            RUSSIAN
                .chars()
                .position(|r| r == c)
                .and_then(|i| LATIN.chars().nth(i))
                .unwrap_or(c)
        })
        .collect()
}

/// Without the list (the browser SPA) this rule is left to the server.
#[cfg(not(feature = "common-passwords"))]
fn is_common(_lower: &str) -> bool {
    false
}

fn is_similar_to_email(lower: &str, email: &Email) -> bool {
    let local = email.local_part();
    (local.chars().count() >= MIN_LOCAL_PART_FOR_SIMILARITY && lower.contains(local))
        || lower.contains(email.as_str())
        || lower.contains(email.to_ascii().as_str())
        || local.contains(lower)
        || is_made_of_address_words(lower, email)
}

/// True when the password's letters, forwards or backwards, are the address's words and nothing
/// else: `petrov.ivan`, `ivan_petrov`, `IvanPetrov1`, `vortep.navi` and `mail.ru1234` for
/// ivan.petrov@mail.ru. Digits and punctuation around them add little to guess.
fn is_made_of_address_words(lower: &str, email: &Email) -> bool {
    let address = email.as_str();
    let words: Vec<Vec<char>> = address
        .split(|c: char| !c.is_alphabetic())
        .filter(|word| word.chars().count() >= 2)
        .map(|word| word.chars().collect())
        .collect();
    let letters: Vec<char> = lower.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.is_empty() {
        return false;
    }
    let backwards: Vec<char> = letters.iter().rev().copied().collect();
    is_sequence_of(&letters, &words) || is_sequence_of(&backwards, &words)
}

/// Whether `text` is some of `words` one after another (each as often as needed).
fn is_sequence_of(text: &[char], words: &[Vec<char>]) -> bool {
    // ends[i]: the first i letters are such a sequence.
    let mut ends = vec![false; text.len() + 1];
    ends[0] = true;
    for start in 0..text.len() {
        if !ends[start] {
            continue;
        }
        for word in words {
            if text[start..].starts_with(word) {
                ends[start + word.len()] = true;
            }
        }
    }
    ends[text.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn email() -> Email {
        Email::parse("ivan.petrov@mail.ru").unwrap()
    }

    fn check(p: &str) -> Result<(), PasswordError> {
        check_new_password(p, Some(&email()))
    }

    #[test]
    fn accepts_good_passwords() {
        for p in [
            "correct horse battery staple",
            "Жёлтый-Кот-2024",
            "x7#Lq!9z",
            "        a       ",
            &"я".repeat(MAX_CHARS),
        ] {
            assert_eq!(check(p), Ok(()), "{p}");
            let pw = Password::parse(p, p, &email()).unwrap();
            assert_eq!(pw.expose_secret(), p);
        }
    }

    #[test]
    fn blank_passwords_are_refused_even_without_the_list() {
        assert_eq!(check("          "), Err(PasswordError::TooCommon));
        assert_eq!(check("\t\t\t\t    "), Err(PasswordError::TooCommon));
    }

    #[test]
    fn russian_keys_map_to_the_latin_ones_under_them() {
        assert_eq!(latin_keys("йцукенгшщз"), "qwertyuiop");
        assert_eq!(latin_keys("пароль123"), "gfhjkm123");
        assert_eq!(latin_keys("ёжэхъбю"), "`;'[],.");
        assert_eq!(latin_keys("abc-1"), "abc-1");
    }

    #[test]
    fn length_counts_chars_not_bytes() {
        assert_eq!(check("Шесть7!"), Err(PasswordError::TooShort));
        assert_eq!(check("абвгдеж"), Err(PasswordError::TooShort));
        assert_eq!(check("абвгдежз"), Ok(()));
        assert_eq!(check(""), Err(PasswordError::TooShort));
        assert_eq!(
            check(&"я".repeat(MAX_CHARS + 1)),
            Err(PasswordError::TooLong)
        );
        assert_eq!(PasswordError::TooShort.code(), "password_too_short");
        assert_eq!(PasswordError::TooLong.code(), "password_too_long");
    }

    #[test]
    #[cfg(feature = "common-passwords")]
    fn refuses_common_passwords_in_any_case() {
        for p in [
            "password",
            "PASSWORD",
            "Password",
            "12345678",
            "qwertyuiop",
            " iloveyou1 ",
            // Typed with the Russian layout on.
            "йцукенгшщз",
            "ПАРОЛЬ123",
        ] {
            assert_eq!(check(p), Err(PasswordError::TooCommon), "{p}");
        }
        assert_eq!(PasswordError::TooCommon.code(), "password_too_common");
    }

    #[test]
    fn refuses_passwords_like_the_email() {
        for p in [
            "ivan.petrov2024",
            "MY-IVAN.PETROV",
            "ivan.petrov@mail.ru",
            "xx ivan.petrov@mail.ru xx",
            "ivan.pet",
            "petrov.ivan",
            "ivan_petrov",
            "IvanPetrov1",
            "vortep.navi",
            "mail.ru1234",
            "Petrov-Petrov-77",
        ] {
            assert_eq!(check(p), Err(PasswordError::SimilarToEmail), "{p}");
        }
        let idn = Email::parse("maria@почта.рф").unwrap();
        assert_eq!(
            check_new_password("maria@xn--80a1acny.xn--p1ai", Some(&idn)),
            Err(PasswordError::SimilarToEmail)
        );
        assert_eq!(
            check_new_password("mymaria!!", Some(&idn)),
            Err(PasswordError::SimilarToEmail)
        );
        // A short local part does not make every password containing it similar.
        let short = Email::parse("ivo@mail.ru").unwrap();
        assert_eq!(check_new_password("ivo-the-great", Some(&short)), Ok(()));
        // One word of the address among others is not the address.
        assert_eq!(check("ivan loves borscht"), Ok(()));
        let digits = Email::parse("anna1990@почта.рф").unwrap();
        assert_eq!(
            check_new_password("1990Anna!!", Some(&digits)),
            Err(PasswordError::SimilarToEmail)
        );
        assert_eq!(
            check_new_password("почта-anna", Some(&digits)),
            Err(PasswordError::SimilarToEmail)
        );
        assert_eq!(
            check_new_password("ivo@mail.ru!!", Some(&short)),
            Err(PasswordError::SimilarToEmail)
        );
        assert_eq!(
            PasswordError::SimilarToEmail.code(),
            "password_similar_to_email"
        );
    }

    #[test]
    fn confirmation_must_match() {
        let p = "correct horse";
        assert_eq!(
            Password::parse(p, "correct horse ", &email()).unwrap_err(),
            PasswordError::Mismatch
        );
        assert_eq!(PasswordError::Mismatch.to_string(), "Пароли не совпадают.");
        assert_eq!(PasswordError::Mismatch.code(), "password_mismatch");
    }

    #[test]
    #[cfg(feature = "common-passwords")]
    fn check_order_is_length_common_similar_mismatch() {
        let e = email();
        assert_eq!(
            Password::parse("short", "other", &e).unwrap_err(),
            PasswordError::TooShort
        );
        assert_eq!(
            Password::parse("password", "other", &e).unwrap_err(),
            PasswordError::TooCommon
        );
        assert_eq!(
            Password::parse("ivan.petrov!", "other", &e).unwrap_err(),
            PasswordError::SimilarToEmail
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let pw = Password::parse("correct horse", "correct horse", &email()).unwrap();
        assert_eq!(format!("{pw:?}"), "Password(***)");
        assert!(!format!("{pw:#?}").contains("horse"));
    }

    #[test]
    #[cfg(feature = "common-passwords")]
    fn common_list_is_well_formed() {
        let lines: Vec<&str> = COMMON_PASSWORDS.lines().collect();
        assert!(lines.len() >= 10_000, "only {} passwords", lines.len());
        let unique: HashSet<&str> = lines.iter().copied().collect();
        assert_eq!(unique.len(), lines.len(), "duplicates in the list");
        for l in &lines {
            assert!(!l.is_empty());
            assert_eq!(*l, l.to_lowercase());
            assert_eq!(*l, l.trim());
        }
        assert_eq!(lines[0], "123456");
    }

    proptest! {
        #[test]
        fn never_panics(p in any::<String>(), c in any::<String>()) {
            let _ = Password::parse(&p, &c, &email());
        }

        #[test]
        fn accepted_is_kept_exactly(p in any::<String>()) {
            if let Ok(pw) = Password::parse(&p, &p, &email()) {
                prop_assert_eq!(pw.expose_secret(), p.as_str());
                prop_assert!(check_new_password(pw.expose_secret(), Some(&email())).is_ok());
                prop_assert_eq!(format!("{:?}", pw), "Password(***)");
            }
        }
    }
}
