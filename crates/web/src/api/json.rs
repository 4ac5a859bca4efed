//! JSON without serde in the WebAssembly: request bodies are flat objects of strings and
//! booleans, written here; answers are parsed by the browser (`JSON.parse`) and read through
//! [`JsonObject`]. This keeps serde_json's parser and float formatting out of the download
//! (tens of kilobytes), and stays testable natively (tests read `serde_json::Value`).

/// A value of a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Str(&'a str),
    Bool(bool),
    Int(i64),
    Null,
}

/// `{"key":value,…}` with JSON string escaping.
pub fn object(fields: &[(&str, Value<'_>)]) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(&mut out, key);
        out.push(':');
        match value {
            Value::Str(s) => string(&mut out, s),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => out.push_str(&n.to_string()),
            Value::Null => out.push_str("null"),
        }
    }
    out.push('}');
    out
}

fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let n = c as usize;
                out.push_str("\\u00");
                out.push(HEX[n >> 4] as char);
                out.push(HEX[n & 0xf] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A parsed JSON object of an answer.
pub trait JsonObject: Sized {
    /// A string member.
    fn str(&self, key: &str) -> Option<String>;
    /// A whole-number member.
    fn int(&self, key: &str) -> Option<i64>;
    /// The objects of an array member (empty when missing).
    fn items(&self, key: &str) -> Vec<Self>;
    /// A boolean member (`false` when missing).
    fn flag(&self, key: &str) -> bool;
    /// An object member (`None` when missing or null).
    fn object(&self, key: &str) -> Option<Self>;
}

/// A type read from an answer's JSON object; `None` when a required member is missing.
pub trait FromJson: Sized {
    fn from_json(object: &impl JsonObject) -> Option<Self>;
}

/// The browser's parser, for the WebAssembly build.
pub struct Js(wasm_bindgen::JsValue);

impl Js {
    /// `JSON.parse(text)`, if it is an object.
    pub fn parse(text: &str) -> Option<Js> {
        js_sys::JSON::parse(text)
            .ok()
            .filter(|value| value.is_object())
            .map(Js)
    }

    /// `JSON.parse(text)` of an array answer: its objects (`None` if it is not an array).
    pub fn parse_list(text: &str) -> Option<Vec<Js>> {
        let value = js_sys::JSON::parse(text).ok()?;
        if !js_sys::Array::is_array(&value) {
            return None;
        }
        Some(
            js_sys::Array::from(&value)
                .iter()
                .filter(|item| item.is_object())
                .map(Js)
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<wasm_bindgen::JsValue> {
        js_sys::Reflect::get(&self.0, &wasm_bindgen::JsValue::from_str(key)).ok()
    }
}

impl JsonObject for Js {
    fn str(&self, key: &str) -> Option<String> {
        self.get(key)?.as_string()
    }

    fn int(&self, key: &str) -> Option<i64> {
        let number = self.get(key)?.as_f64()?;
        (number.fract() == 0.0).then_some(number as i64)
    }

    fn items(&self, key: &str) -> Vec<Self> {
        match self.get(key) {
            Some(value) if js_sys::Array::is_array(&value) => js_sys::Array::from(&value)
                .iter()
                .filter(|item| item.is_object())
                .map(Js)
                .collect(),
            _ => Vec::new(),
        }
    }

    fn flag(&self, key: &str) -> bool {
        self.get(key).and_then(|v| v.as_bool()).unwrap_or(false)
    }

    fn object(&self, key: &str) -> Option<Self> {
        self.get(key)
            .filter(|v| v.is_object() && !js_sys::Array::is_array(v))
            .map(Js)
    }
}

#[cfg(test)]
impl JsonObject for serde_json::Value {
    fn str(&self, key: &str) -> Option<String> {
        self.get(key)?.as_str().map(str::to_owned)
    }

    fn int(&self, key: &str) -> Option<i64> {
        self.get(key)?.as_i64()
    }

    fn items(&self, key: &str) -> Vec<Self> {
        self.get(key)
            .and_then(serde_json::Value::as_array)
            .map(|items| items.iter().filter(|i| i.is_object()).cloned().collect())
            .unwrap_or_default()
    }

    fn flag(&self, key: &str) -> bool {
        self.get(key)
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    }

    fn object(&self, key: &str) -> Option<Self> {
        self.get(key).filter(|v| v.is_object()).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_flat_objects_that_parse_back() {
        let text = object(&[
            ("email", Value::Str("иван@почта.рф")),
            ("password", Value::Str("a\"b\\c\nd\u{1}é")),
            ("remember_me", Value::Bool(true)),
            ("consent", Value::Bool(false)),
            ("application_id", Value::Int(-12)),
            ("next_verification", Value::Null),
        ]);
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["email"], "иван@почта.рф");
        assert_eq!(parsed["password"], "a\"b\\c\nd\u{1}é");
        assert_eq!(parsed["remember_me"], true);
        assert_eq!(parsed["consent"], false);
        assert_eq!(parsed["application_id"], -12);
        assert!(parsed["next_verification"].is_null());
        assert_eq!(object(&[]), "{}");
    }

    #[test]
    fn reads_members() {
        let value: serde_json::Value =
            serde_json::from_str(r#"{"a":"x","n":7,"list":[{"k":"v"},3,{"k":"w"}]}"#).unwrap();
        assert_eq!(value.str("a").as_deref(), Some("x"));
        assert_eq!(value.str("n"), None);
        assert_eq!(value.int("n"), Some(7));
        let items = value.items("list");
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].str("k").as_deref(), Some("w"));
        assert!(value.items("missing").is_empty());
        let value: serde_json::Value =
            serde_json::from_str(r#"{"b":true,"o":{"k":"v"},"n":null}"#).unwrap();
        assert!(value.flag("b"));
        assert!(!value.flag("missing"));
        assert_eq!(value.object("o").unwrap().str("k").as_deref(), Some("v"));
        assert!(value.object("n").is_none());
    }
}
