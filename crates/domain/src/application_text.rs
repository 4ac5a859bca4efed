//! Текст заявления (F6): up to 4000 characters with a live counter.

use std::fmt;

/// Characters as the customer sees them (Unicode scalar values: «ж» counts once).
pub const MAX_CHARS: usize = 4000;

/// The trimmed text of an application, line breaks as `\n`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApplicationText(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplicationTextError {
    #[error("Опишите вашу проблему.")]
    Empty,
    #[error("Текст заявления не может быть длиннее 4000 символов.")]
    TooLong,
}

impl ApplicationTextError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "application_text_required",
            Self::TooLong => "application_text_too_long",
        }
    }
}

impl ApplicationText {
    pub const MAX_CHARS: usize = MAX_CHARS;

    pub fn parse(input: &str) -> Result<ApplicationText, ApplicationTextError> {
        let text = normalise(input);
        if text.is_empty() {
            return Err(ApplicationTextError::Empty);
        }
        if text.chars().count() > MAX_CHARS {
            return Err(ApplicationTextError::TooLong);
        }
        Ok(ApplicationText(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Length in characters, as the counter shows it.
    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }
}

impl fmt::Display for ApplicationText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ApplicationText {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The live counter under the text field: `84/4000`, counted as `parse` counts.
pub fn counter(text: &str) -> String {
    format!("{}/{MAX_CHARS}", normalise(text).chars().count())
}

/// Browsers send a textarea's line breaks as CRLF; count and store them as one `\n`, so the
/// counter and the server agree. Other control characters are invisible and PostgreSQL
/// refuses NUL in text, so they are dropped.
fn normalise(input: &str) -> String {
    let unified = input.replace("\r\n", "\n").replace('\r', "\n");
    let kept: String = unified
        .chars()
        .filter(|&c| !c.is_control() || c == '\n' || c == '\t')
        .collect();
    kept.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_and_trims() {
        let t = ApplicationText::parse("  Не работает счетчик ГВС2.\n ").unwrap();
        assert_eq!(t.as_str(), "Не работает счетчик ГВС2.");
        assert_eq!(t.to_string(), "Не работает счетчик ГВС2.");
        assert_eq!(t.char_count(), 25);
    }

    #[test]
    fn required() {
        assert_eq!(ApplicationText::parse(""), Err(ApplicationTextError::Empty));
        assert_eq!(
            ApplicationText::parse(" \r\n\t "),
            Err(ApplicationTextError::Empty)
        );
        assert_eq!(
            ApplicationText::parse("\0"),
            Err(ApplicationTextError::Empty)
        );
        assert_eq!(
            ApplicationTextError::Empty.to_string(),
            "Опишите вашу проблему."
        );
        assert_eq!(
            ApplicationTextError::Empty.code(),
            "application_text_required"
        );
    }

    #[test]
    fn length_counts_chars_not_bytes() {
        let max = "ж".repeat(MAX_CHARS);
        assert_eq!(
            ApplicationText::parse(&max).unwrap().char_count(),
            MAX_CHARS
        );
        assert_eq!(
            ApplicationText::parse(&format!("{max}ж")),
            Err(ApplicationTextError::TooLong)
        );
        // Surrounding whitespace does not count.
        assert!(ApplicationText::parse(&format!("  {max}\n")).is_ok());
        assert_eq!(
            ApplicationTextError::TooLong.code(),
            "application_text_too_long"
        );
        assert_eq!(ApplicationText::MAX_CHARS, 4000);
    }

    #[test]
    fn line_breaks_count_once() {
        let t = ApplicationText::parse("строка 1\r\nстрока 2\rстрока 3").unwrap();
        assert_eq!(t.as_str(), "строка 1\nстрока 2\nстрока 3");
        let crlf = format!("{}\r\n{}", "ж".repeat(1999), "ж".repeat(2000));
        assert_eq!(
            ApplicationText::parse(&crlf).unwrap().char_count(),
            MAX_CHARS
        );
        assert_eq!(counter(&crlf), "4000/4000");
    }

    #[test]
    fn drops_invisible_control_characters() {
        let t = ApplicationText::parse("a\0b\u{7}c\td").unwrap();
        assert_eq!(t.as_str(), "abc\td");
    }

    #[test]
    fn counter_format() {
        assert_eq!(counter(""), "0/4000");
        assert_eq!(counter(&"ы".repeat(84)), "84/4000");
        assert_eq!(counter("  abc  "), "3/4000");
        assert_eq!(counter(&"x".repeat(4100)), "4100/4000");
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = ApplicationText::parse(&s);
            let _ = counter(&s);
        }

        #[test]
        fn accepted_round_trips(s in any::<String>()) {
            if let Ok(t) = ApplicationText::parse(&s) {
                prop_assert_eq!(ApplicationText::parse(t.as_str()).unwrap(), t.clone());
                prop_assert_eq!(counter(&s), format!("{}/4000", t.char_count()));
                prop_assert!(t.char_count() <= MAX_CHARS);
            }
        }
    }
}
