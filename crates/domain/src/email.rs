//! E-mail address with a Russian top-level domain (F1).
//!
//! Federal Law of 31.07.2023 № 406-ФЗ forbids registering with foreign e-mail services, so only
//! `.ru`, `.su` and `.рф` (punycode `xn--p1ai`) domains are accepted.

use std::fmt;

/// Longest address SMTP can carry (RFC 5321 path limit minus the angle brackets).
const MAX_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;
/// Russian top-level domains, in their ASCII (punycode) form.
const RUSSIAN_TLDS: [&str; 3] = ["ru", "su", "xn--p1ai"];

/// A valid, normalised e-mail address on a Russian domain.
///
/// Normal form: lower-case, the domain in Unicode (`иван@почта.рф`). The punycode form for
/// sending is kept beside it, so both are always consistent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email {
    unicode: String,
    ascii: String,
    /// Byte index of the `@` in `unicode` (the local part is ASCII, so also in `ascii`).
    at: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Введите адрес электронной почты.")]
    Empty,
    #[error("Введите корректный адрес электронной почты, например username@mail.ru.")]
    Invalid,
    #[error(
        "Укажите адрес электронной почты с российским доменом (.ru, .рф, .su): \
         использование иностранных почтовых сервисов (gmail.com, yahoo.com и др.) запрещено \
         Федеральным законом от 31.07.2023 № 406-ФЗ."
    )]
    ForeignDomain,
}

impl EmailError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "email_required",
            Self::Invalid => "email_invalid",
            Self::ForeignDomain => "email_foreign_domain",
        }
    }
}

impl Email {
    pub fn parse(input: &str) -> Result<Email, EmailError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(EmailError::Empty);
        }
        // A dot-atom local part has no `@`, so exactly one must be present.
        let (local, domain) = input.split_once('@').ok_or(EmailError::Invalid)?;
        if domain.contains('@') {
            return Err(EmailError::Invalid);
        }
        let local = local.to_ascii_lowercase();
        if !is_dot_atom(&local) || local.len() > MAX_LOCAL_LEN {
            return Err(EmailError::Invalid);
        }
        let (ascii_domain, unicode_domain) = domain_forms(domain).ok_or(EmailError::Invalid)?;
        let tld = ascii_domain.rsplit('.').next().unwrap_or_default();
        // An all-digit "TLD" is an IP address or a typo, not a domain.
        if tld.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EmailError::Invalid);
        }
        if !RUSSIAN_TLDS.contains(&tld) {
            return Err(EmailError::ForeignDomain);
        }
        let ascii = format!("{local}@{ascii_domain}");
        if ascii.len() > MAX_LEN {
            return Err(EmailError::Invalid);
        }
        Ok(Email {
            unicode: format!("{local}@{unicode_domain}"),
            ascii,
            at: local.len(),
        })
    }

    /// Normalised form with the domain in Unicode: for storage, comparison and display.
    pub fn as_str(&self) -> &str {
        &self.unicode
    }

    /// The address with the domain in punycode: what goes into SMTP headers.
    pub fn to_ascii(&self) -> String {
        self.ascii.clone()
    }

    pub fn local_part(&self) -> &str {
        &self.unicode[..self.at]
    }

    /// The domain in Unicode (`почта.рф`).
    pub fn domain(&self) -> &str {
        &self.unicode[self.at + 1..]
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.unicode)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.unicode
    }
}

/// RFC 5322 `dot-atom-text` (no quoted strings, no comments): atoms of `atext` joined by
/// single dots.
fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|atom| !atom.is_empty() && atom.bytes().all(is_atext))
}

/// Longest domain name in DNS (without the root dot).
const MAX_DOMAIN_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;
const ACE_PREFIX: &str = "xn--";

/// The domain in its ASCII (punycode) and Unicode forms, when it has at least two labels and
/// each is a host name label (letters, digits, inner hyphens) in Latin or in Cyrillic.
///
/// Russian registries allow Cyrillic internationalised labels only, so this is UTS 46 (strict,
/// non-transitional) narrowed to those: case and full-width forms are mapped, «й» and «ё»
/// typed as a letter and a combining mark are composed, and anything else outside ASCII and
/// Cyrillic, an emoji or a mixed-script look-alike (a Cyrillic «а» inside «mail»), is refused.
fn domain_forms(domain: &str) -> Option<(String, String)> {
    let mapped: String = domain
        .chars()
        .map(|c| match c {
            // Ideographic, full-width and half-width full stops.
            '\u{3002}' | '\u{FF0E}' | '\u{FF61}' => '.',
            // Full-width ASCII.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect::<String>()
        .to_lowercase()
        .replace("и\u{306}", "й")
        .replace("е\u{308}", "ё");
    let mut ascii = String::with_capacity(mapped.len() * 2);
    let mut unicode = String::with_capacity(mapped.len());
    let mut labels = 0;
    for label in mapped.split('.') {
        let (ascii_label, unicode_label) = label_forms(label)?;
        if labels > 0 {
            ascii.push('.');
            unicode.push('.');
        }
        ascii.push_str(&ascii_label);
        unicode.push_str(&unicode_label);
        labels += 1;
    }
    (labels >= 2 && ascii.len() <= MAX_DOMAIN_LEN).then_some((ascii, unicode))
}

/// One lower-case label in ASCII and in Unicode.
fn label_forms(label: &str) -> Option<(String, String)> {
    let (ascii, unicode) = if let Some(code) = label.strip_prefix(ACE_PREFIX) {
        let unicode = crate::punycode::decode(code)?;
        // Only the one spelling punycode gives of a Cyrillic label.
        if unicode.is_ascii()
            || !is_cyrillic_label(&unicode)
            || crate::punycode::encode(&unicode)? != code
        {
            return None;
        }
        (label.to_owned(), unicode)
    } else if label.is_ascii() {
        let ldh = label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ldh {
            return None;
        }
        (label.to_owned(), label.to_owned())
    } else {
        if !is_cyrillic_label(label) {
            return None;
        }
        (
            format!("{ACE_PREFIX}{}", crate::punycode::encode(label)?),
            label.to_owned(),
        )
    };
    // UTS 46 CheckHyphens, on the Unicode form: no hyphen at either end, none at places 3–4.
    let hyphens_fit = !unicode.starts_with('-')
        && !unicode.ends_with('-')
        && unicode.chars().skip(2).take(2).ne(['-', '-']);
    (!ascii.is_empty() && ascii.len() <= MAX_LABEL_LEN && hyphens_fit).then_some((ascii, unicode))
}

/// Lower-case Cyrillic letters, digits and hyphens.
fn is_cyrillic_label(label: &str) -> bool {
    label.chars().all(|c| {
        c.is_ascii_digit()
            || c == '-'
            || (('\u{0400}'..='\u{04FF}').contains(&c) && c.is_lowercase())
    })
}

fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(s: &str) -> Email {
        Email::parse(s).unwrap_or_else(|e| panic!("{s:?} refused: {e}"))
    }

    #[test]
    fn accepts_russian_domains() {
        assert_eq!(ok("username@mail.ru").as_str(), "username@mail.ru");
        assert_eq!(
            ok("ivan.petrov@yandex.ru").as_str(),
            "ivan.petrov@yandex.ru"
        );
        assert_eq!(ok("old@sovet.su").as_str(), "old@sovet.su");
        assert_eq!(ok("user+tag@sub.domain.ru").local_part(), "user+tag");
        assert_eq!(ok("o'brien@mail.ru").local_part(), "o'brien");
    }

    #[test]
    fn trims_and_lowercases() {
        let e = ok("  Ivan.Petrov@Mail.RU \t");
        assert_eq!(e.as_str(), "ivan.petrov@mail.ru");
        assert_eq!(e.to_string(), "ivan.petrov@mail.ru");
        assert_eq!(e.local_part(), "ivan.petrov");
        assert_eq!(e.domain(), "mail.ru");
        assert_eq!(e.to_ascii(), "ivan.petrov@mail.ru");
    }

    #[test]
    fn idn_domains_in_both_forms() {
        let uni = ok("Ivan@Почта.РФ");
        assert_eq!(uni.as_str(), "ivan@почта.рф");
        assert_eq!(uni.domain(), "почта.рф");
        assert_eq!(uni.to_ascii(), "ivan@xn--80a1acny.xn--p1ai");
        let puny = ok("ivan@XN--80A1ACNY.XN--P1AI");
        assert_eq!(puny, uni);
        assert_eq!(ok("user@mail.xn--p1ai").as_str(), "user@mail.рф");
        assert_eq!(ok("user@mail.рф").to_ascii(), "user@mail.xn--p1ai");
        assert_eq!(ok("user@сайт.почта.рф").domain(), "сайт.почта.рф");
        // UTS 46 mapping: full-width letters and the ideographic full stop.
        assert_eq!(ok("user@mail。ｒｕ").as_str(), "user@mail.ru");
        // «й» typed as «и» and a combining breve.
        assert_eq!(ok("user@и\u{306}ошкар-ола.рф").domain(), "йошкар-ола.рф");
    }

    #[test]
    fn refuses_implausible_idn_labels() {
        for s in [
            "user@😀.ru",
            "user@xn--e28h.ru",
            "user@m\u{0430}il.ru",
            "user@münchen.ru",
            "user@xn--mnchen-3ya.ru",
            "user@ab--cd.ru",
        ] {
            assert_eq!(Email::parse(s), Err(EmailError::Invalid), "{s}");
        }
    }

    #[test]
    fn empty_is_required() {
        assert_eq!(Email::parse(""), Err(EmailError::Empty));
        assert_eq!(Email::parse("   \n"), Err(EmailError::Empty));
        assert_eq!(EmailError::Empty.code(), "email_required");
    }

    #[test]
    fn refuses_foreign_domains() {
        for s in [
            "user@gmail.com",
            "user@yahoo.com",
            "user@mail.ru.com",
            "user@example.org",
            "user@ru.net",
            "user@mail.de",
            "user@почта.рус",
        ] {
            assert_eq!(Email::parse(s), Err(EmailError::ForeignDomain), "{s}");
        }
        let msg = EmailError::ForeignDomain.to_string();
        assert!(msg.contains("406-ФЗ") && msg.contains(".рф"));
        assert_eq!(EmailError::ForeignDomain.code(), "email_foreign_domain");
    }

    #[test]
    fn refuses_malformed() {
        for s in [
            "plainaddress",
            "@mail.ru",
            "user@",
            "user@@mail.ru",
            "us@er@mail.ru",
            ".user@mail.ru",
            "user.@mail.ru",
            "us..er@mail.ru",
            "us er@mail.ru",
            "\"quoted\"@mail.ru",
            "user(comment)@mail.ru",
            "иван@mail.ru",
            "user@ru",
            "user@.ru",
            "user@mail..ru",
            "user@mail.ru.",
            "user@-mail.ru",
            "user@mail-.ru",
            "user@ma_il.ru",
            "user@mail ru",
            "user@[127.0.0.1]",
            "user@127.0.0.1",
            "user@xn--zz.ru",
        ] {
            assert_eq!(Email::parse(s), Err(EmailError::Invalid), "{s}");
        }
        assert_eq!(EmailError::Invalid.code(), "email_invalid");
    }

    #[test]
    fn length_limits() {
        let local64 = "a".repeat(64);
        assert!(Email::parse(&format!("{local64}@mail.ru")).is_ok());
        let local65 = "a".repeat(65);
        assert_eq!(
            Email::parse(&format!("{local65}@mail.ru")),
            Err(EmailError::Invalid)
        );
        let label = "b".repeat(63);
        let label64 = "b".repeat(64);
        assert_eq!(
            Email::parse(&format!("a@{label64}.ru")),
            Err(EmailError::Invalid)
        );
        // A 194-byte domain fits after a short local part but not after a 64-byte one.
        let long_domain = format!("{label}.{label}.{label}.ru");
        assert!(Email::parse(&format!("{local64}@{long_domain}")).is_err());
        assert!(Email::parse(&format!("a@{long_domain}")).is_ok());
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = Email::parse(&s);
        }

        #[test]
        fn near_misses_never_panic(s in "[a-zA-Z0-9.@+_\\-рфРФ ]{0,40}(\\.ru|\\.рф|\\.su|\\.com|\\.xn--p1ai)?") {
            let _ = Email::parse(&s);
        }

        #[test]
        fn accepted_round_trips(
            local in "[a-zA-Z0-9_+\\-]{1,20}(\\.[a-z0-9]{1,5}){0,2}",
            labels in prop::collection::vec("[a-zа-яё0-9]{1,12}", 1..3),
            tld in prop::sample::select(vec!["ru", "RU", "su", "рф", "РФ", "xn--p1ai"]),
        ) {
            let input = format!("{local}@{}.{tld}", labels.join("."));
            if let Ok(e) = Email::parse(&input) {
                let again = Email::parse(e.as_str()).unwrap();
                prop_assert_eq!(&again, &e);
                prop_assert_eq!(Email::parse(&e.to_ascii()).unwrap(), e.clone());
                prop_assert_eq!(e.to_string(), e.as_str());
                prop_assert_eq!(format!("{}@{}", e.local_part(), e.domain()), e.as_str());
            }
        }

        /// Within the labels Russian registries allow, the domain forms are those of UTS 46.
        #[test]
        fn domains_agree_with_uts46(
            labels in prop::collection::vec(
                prop_oneof![
                    "[a-zA-Z0-9]{1,3}(-?[a-zA-Zа-яА-ЯёЁ0-9]{1,8}){0,2}",
                    "[а-яА-ЯёЁ0-9\\-]{1,12}",
                    // Punycode: mostly not that of a Cyrillic label, sometimes of one.
                    "[xX][nN]--[a-z0-9\\-]{1,10}",
                    "[а-яё]{1,10}".prop_map(|label| idna::domain_to_ascii(&label).unwrap()),
                ],
                1..3,
            ),
            tld in prop::sample::select(vec!["ru", "RU", "su", "рф", "РФ", "xn--p1ai"]),
        ) {
            let domain = format!("{}.{tld}", labels.join("."));
            let ours = domain_forms(&domain);
            let reference = idna::domain_to_ascii_strict(&domain).ok().and_then(|ascii| {
                let (unicode, result) = idna::domain_to_unicode(&ascii);
                (result.is_ok() && unicode.split('.').all(|label| {
                    label.is_ascii() || is_cyrillic_label(label)
                }))
                .then_some((ascii, unicode))
            });
            prop_assert_eq!(ours, reference, "{}", domain);
        }

        #[test]
        fn any_accepted_string_round_trips(s in any::<String>()) {
            if let Ok(e) = Email::parse(&s) {
                prop_assert_eq!(Email::parse(e.as_str()).unwrap(), e);
            }
        }
    }
}
