//! ФИО — the customer's full name (F1, F7).

use std::fmt;

pub const MIN_CHARS: usize = 2;
pub const MAX_CHARS: usize = 150;

/// A full name: letters (Cyrillic or Latin), single spaces, hyphens and apostrophes between
/// letters. The case is kept as typed: «ван дер Берг» is a real spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FullName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FullNameError {
    #[error("Поле «ФИО» обязательно для заполнения.")]
    Required,
    #[error("ФИО может содержать только буквы, пробелы, дефис и апостроф.")]
    InvalidCharacters,
    #[error("ФИО должно содержать буквы.")]
    NoLetters,
    #[error(
        "Дефис и апостроф в ФИО могут стоять только между буквами, например Салтыков-Щедрин \
         или О'Нил."
    )]
    MisplacedPunctuation,
    #[error("ФИО должно содержать не менее 2 символов.")]
    TooShort,
    #[error("ФИО должно содержать не более 150 символов.")]
    TooLong,
}

impl FullNameError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required => "full_name_required",
            Self::InvalidCharacters => "full_name_invalid_characters",
            Self::NoLetters => "full_name_no_letters",
            Self::MisplacedPunctuation => "full_name_misplaced_punctuation",
            Self::TooShort => "full_name_too_short",
            Self::TooLong => "full_name_too_long",
        }
    }
}

impl FullName {
    pub fn parse(input: &str) -> Result<FullName, FullNameError> {
        let normalised: String = compose_cyrillic(input)
            .into_iter()
            .map(|c| match c {
                // Typographic and modifier apostrophes come from phone keyboards and Word.
                '\u{2019}' | '\u{02BC}' => '\'',
                '\u{2010}' | '\u{2011}' => '-',
                other => other,
            })
            .collect();
        let folded = normalised.split_whitespace().collect::<Vec<_>>().join(" ");
        if folded.is_empty() {
            return Err(FullNameError::Required);
        }
        if !folded
            .chars()
            .all(|c| is_letter(c) || matches!(c, ' ' | '-' | '\''))
        {
            return Err(FullNameError::InvalidCharacters);
        }
        if !folded.chars().any(is_letter) {
            return Err(FullNameError::NoLetters);
        }
        if !folded.split(' ').all(punctuation_between_letters) {
            return Err(FullNameError::MisplacedPunctuation);
        }
        let len = folded.chars().count();
        if len < MIN_CHARS {
            return Err(FullNameError::TooShort);
        }
        if len > MAX_CHARS {
            return Err(FullNameError::TooLong);
        }
        Ok(FullName(folded))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FullName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for FullName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

fn is_letter(c: char) -> bool {
    let cyrillic = ('\u{0400}'..='\u{04FF}').contains(&c);
    // Latin-1 Supplement and Latin Extended-A/B cover names like «Müller» or «Émile».
    let latin = c.is_ascii_alphabetic() || ('\u{00C0}'..='\u{024F}').contains(&c);
    (cyrillic || latin) && c.is_alphabetic()
}

/// Every hyphen and apostrophe in the word has a letter on both sides.
fn punctuation_between_letters(word: &str) -> bool {
    let chars: Vec<char> = word.chars().collect();
    chars.iter().enumerate().all(|(i, &c)| {
        is_letter(c)
            || (i > 0 && i + 1 < chars.len() && is_letter(chars[i - 1]) && is_letter(chars[i + 1]))
    })
}

/// Some keyboards (macOS, iOS) send «й» and «ё» decomposed: the base letter followed by a
/// combining breve or diaeresis. Compose those so the name is stored as people see it.
fn compose_cyrillic(input: &str) -> Vec<char> {
    let mut out: Vec<char> = Vec::with_capacity(input.len());
    for c in input.chars() {
        let composed = match (out.last(), c) {
            (Some('и'), '\u{0306}') => Some('й'),
            (Some('И'), '\u{0306}') => Some('Й'),
            (Some('е'), '\u{0308}') => Some('ё'),
            (Some('Е'), '\u{0308}') => Some('Ё'),
            _ => None,
        };
        match composed {
            Some(letter) => {
                out.pop();
                out.push(letter);
            }
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(s: &str) -> String {
        FullName::parse(s)
            .unwrap_or_else(|e| panic!("{s:?} refused: {e}"))
            .to_string()
    }

    fn err(s: &str) -> FullNameError {
        FullName::parse(s).expect_err(s)
    }

    #[test]
    fn accepts_typical_names() {
        assert_eq!(ok("Иванов Иван Иванович"), "Иванов Иван Иванович");
        assert_eq!(ok("Иванов Иван"), "Иванов Иван");
        assert_eq!(ok("Ёлкина Алёна"), "Ёлкина Алёна");
        assert_eq!(ok("Салтыков-Щедрин Михаил"), "Салтыков-Щедрин Михаил");
        assert_eq!(ok("John Smith"), "John Smith");
        assert_eq!(ok("Müller Anna"), "Müller Anna");
        assert_eq!(ok("Ли"), "Ли");
        assert_eq!(ok("Петров Ivan"), "Петров Ivan");
    }

    #[test]
    fn folds_whitespace() {
        assert_eq!(ok("  Иванов \t Иван\n Иванович  "), "Иванов Иван Иванович");
        assert_eq!(ok("Иванов\u{00A0}Иван"), "Иванов Иван");
    }

    #[test]
    fn normalises_apostrophes_and_hyphens() {
        assert_eq!(ok("О’Нил Патрик"), "О'Нил Патрик");
        assert_eq!(ok("О'Нил Патрик"), "О'Нил Патрик");
        assert_eq!(ok("д\u{02BC}Артаньян"), "д'Артаньян");
        assert_eq!(ok("Анна\u{2010}Мария"), "Анна-Мария");
    }

    #[test]
    fn composes_decomposed_cyrillic() {
        assert_eq!(ok("Андреи\u{0306} Пе\u{0308}тр"), "Андрей Пётр");
        assert_eq!(ok("Е\u{0308}лкин И\u{0306}ван"), "Ёлкин Йван");
    }

    #[test]
    fn required() {
        assert_eq!(err(""), FullNameError::Required);
        assert_eq!(err("  \t "), FullNameError::Required);
        assert_eq!(
            FullNameError::Required.to_string(),
            "Поле «ФИО» обязательно для заполнения."
        );
    }

    #[test]
    fn refuses_other_characters() {
        for s in [
            "Иванов Иван1",
            "Иванов_Иван",
            "Иванов, Иван",
            "Ivan.Petrov",
            "Иван 😀",
            "Иван\0",
        ] {
            assert_eq!(err(s), FullNameError::InvalidCharacters, "{s}");
        }
    }

    #[test]
    fn needs_a_letter() {
        assert_eq!(err("-"), FullNameError::NoLetters);
        assert_eq!(err("' - '"), FullNameError::NoLetters);
    }

    #[test]
    fn punctuation_only_between_letters() {
        for s in [
            "-Иванов",
            "Иванов-",
            "Иванов - Петров",
            "Иванов--Петров",
            "'Нил",
            "Нил'",
            "Анна-'Мария",
        ] {
            assert_eq!(err(s), FullNameError::MisplacedPunctuation, "{s}");
        }
    }

    #[test]
    fn length_in_chars() {
        assert_eq!(err("Я"), FullNameError::TooShort);
        let max = "Ж".repeat(MAX_CHARS);
        assert_eq!(ok(&max), max);
        assert_eq!(err(&"Ж".repeat(MAX_CHARS + 1)), FullNameError::TooLong);
        // Folding happens before counting.
        assert_eq!(ok(&format!("  {}  ", "Ж".repeat(MAX_CHARS))), max);
    }

    #[test]
    fn codes_are_distinct() {
        let all = [
            FullNameError::Required,
            FullNameError::InvalidCharacters,
            FullNameError::NoLetters,
            FullNameError::MisplacedPunctuation,
            FullNameError::TooShort,
            FullNameError::TooLong,
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(FullNameError::code).collect();
        assert_eq!(codes.len(), all.len());
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = FullName::parse(&s);
        }

        #[test]
        fn accepted_round_trips(s in "[А-Яа-яЁёA-Za-z \\-'’\t]{0,40}") {
            if let Ok(name) = FullName::parse(&s) {
                prop_assert_eq!(FullName::parse(name.as_str()).unwrap(), name.clone());
                prop_assert_eq!(name.to_string(), name.as_str());
                prop_assert!(!name.as_str().contains("  "));
                prop_assert_eq!(name.as_str().trim(), name.as_str());
            }
        }

        #[test]
        fn any_accepted_string_round_trips(s in any::<String>()) {
            if let Ok(name) = FullName::parse(&s) {
                prop_assert_eq!(FullName::parse(name.as_str()).unwrap(), name);
            }
        }
    }
}
