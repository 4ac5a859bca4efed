//! Punycode (RFC 3492): the ASCII form of an internationalised domain label, without the
//! `xn--` prefix. Written here rather than taken from a UTS 46 crate because the portal only
//! needs Cyrillic labels, and the full Unicode tables of such a crate would be most of the
//! SPA's download.

const BASE: u32 = 36;
const T_MIN: u32 = 1;
const T_MAX: u32 = 26;
const SKEW: u32 = 38;
const DAMP: u32 = 700;
const INITIAL_BIAS: u32 = 72;
const INITIAL_N: u32 = 0x80;

/// The bias after a code point is placed (RFC 3492, section 6.1).
fn adapt(delta: u32, points: u32, first: bool) -> u32 {
    let mut delta = if first { delta / DAMP } else { delta / 2 };
    delta += delta / points;
    let mut k = 0;
    while delta > ((BASE - T_MIN) * T_MAX) / 2 {
        delta /= BASE - T_MIN;
        k += BASE;
    }
    k + (BASE - T_MIN + 1) * delta / (delta + SKEW)
}

/// The threshold of the digit at position `k` for this `bias`.
fn threshold(k: u32, bias: u32) -> u32 {
    k.saturating_sub(bias).clamp(T_MIN, T_MAX)
}

fn digit_char(digit: u32) -> char {
    let byte = match digit {
        0..=25 => b'a' + digit as u8,
        _ => b'0' + (digit - 26) as u8,
    };
    char::from(byte)
}

fn digit_value(byte: u8) -> Option<u32> {
    match byte {
        b'a'..=b'z' => Some(u32::from(byte - b'a')),
        b'A'..=b'Z' => Some(u32::from(byte - b'A')),
        b'0'..=b'9' => Some(u32::from(byte - b'0') + 26),
        _ => None,
    }
}

/// Writes `q` as a generalised variable-length integer.
fn push_number(out: &mut String, mut q: u32, bias: u32) {
    let mut k = BASE;
    loop {
        let t = threshold(k, bias);
        if q < t {
            break;
        }
        out.push(digit_char(t + (q - t) % (BASE - t)));
        q = (q - t) / (BASE - t);
        k += BASE;
    }
    out.push(digit_char(q));
}

/// The punycode of `label`; `None` only on arithmetic overflow (labels far longer than DNS
/// allows).
pub fn encode(label: &str) -> Option<String> {
    let chars: Vec<u32> = label.chars().map(u32::from).collect();
    let mut out: String = label.chars().filter(char::is_ascii).collect();
    let basic = out.len() as u32;
    let mut handled = basic;
    if basic > 0 {
        out.push('-');
    }
    let (mut n, mut delta, mut bias) = (INITIAL_N, 0u32, INITIAL_BIAS);
    while (handled as usize) < chars.len() {
        let next = chars.iter().copied().filter(|&c| c >= n).min()?;
        delta = delta.checked_add((next - n).checked_mul(handled + 1)?)?;
        n = next;
        for &c in &chars {
            if c < n {
                delta = delta.checked_add(1)?;
            } else if c == n {
                push_number(&mut out, delta, bias);
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta = delta.checked_add(1)?;
        n = n.checked_add(1)?;
    }
    Some(out)
}

/// The label a punycode string stands for; `None` when it is not valid punycode.
pub fn decode(input: &str) -> Option<String> {
    let (basic, extended) = match input.rfind('-') {
        Some(at) => (&input[..at], &input[at + 1..]),
        None => ("", input),
    };
    if !basic.is_ascii() {
        return None;
    }
    let mut out: Vec<char> = basic.chars().collect();
    let (mut n, mut i, mut bias) = (INITIAL_N, 0u32, INITIAL_BIAS);
    let mut bytes = extended.bytes().peekable();
    while bytes.peek().is_some() {
        let old_i = i;
        let mut weight = 1u32;
        let mut k = BASE;
        loop {
            let digit = digit_value(bytes.next()?)?;
            i = i.checked_add(digit.checked_mul(weight)?)?;
            let t = threshold(k, bias);
            if digit < t {
                break;
            }
            weight = weight.checked_mul(BASE - t)?;
            k += BASE;
        }
        let length = out.len() as u32 + 1;
        bias = adapt(i - old_i, length, old_i == 0);
        n = n.checked_add(i / length)?;
        i %= length;
        let c = char::from_u32(n).filter(|c| !c.is_ascii())?;
        out.insert(i as usize, c);
        i += 1;
    }
    Some(out.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_labels() {
        for (label, code) in [
            ("рф", "p1ai"),
            ("почта", "80a1acny"),
            ("пример", "e1afmkfd"),
            ("москва", "80adxhks"),
            ("münchen", "mnchen-3ya"),
            ("😀", "e28h"),
            ("abc", "abc-"),
        ] {
            assert_eq!(encode(label).as_deref(), Some(code), "{label}");
            assert_eq!(decode(code).as_deref(), Some(label), "{code}");
        }
    }

    #[test]
    fn refuses_what_is_not_punycode() {
        assert_eq!(decode("80a1acn!"), None);
        assert_eq!(decode("тест-p1ai"), None);
        // A run of digits that overflows.
        assert_eq!(decode("99999999999999"), None);
    }

    proptest! {
        #[test]
        fn round_trips(label in "\\PC{1,40}") {
            let code = encode(&label).unwrap();
            prop_assert!(code.is_ascii());
            prop_assert_eq!(decode(&code), Some(label));
        }

        #[test]
        fn decoding_never_panics(input in "[a-zA-Z0-9\\-]{0,60}|\\PC{0,20}") {
            let _ = decode(&input);
        }
    }
}
