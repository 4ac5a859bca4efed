//! The JSON body of a request. Every body of this API is an object, but serde also builds a
//! struct out of an array (`[null, null]` would be an empty profile change), so bodies are read
//! as objects only. `web::Json` (configured in `app.rs`) checks the content type, the size and
//! the syntax; the value is then read with its path tracked, so that a value of the wrong type is
//! reported at its field (`accounts[0].meters[1].kind`), not at the body as a whole.

use std::marker::PhantomData;
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use utoipa::PartialSchema;
use utoipa::openapi::{RefOr, Schema};

use crate::error::{ApiError, FieldError};

pub struct JsonBody<T>(pub T);

impl<T> JsonBody<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for JsonBody<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + PartialSchema + 'static> FromRequest for JsonBody<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Json::<Box<RawValue>>::from_request(request, payload);
        Box::pin(async move {
            let raw = body.await?.into_inner();
            Ok(Self(parse(raw.get())?))
        })
    }
}

fn parse<T: DeserializeOwned + PartialSchema>(text: &str) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut deserializer)
        .map(|Object(value)| value)
        .map_err(|error| {
            let path = field_path(error.path());
            let error = shape_error(&path, error.inner());
            all_missing::<T>(text, &error).unwrap_or(error)
        })
}

/// serde stops at the first missing field; a form sent half-filled gets every missing field of
/// the body named at once, from the required fields of its documented schema.
fn all_missing<T: PartialSchema>(text: &str, first: &ApiError) -> Option<ApiError> {
    let ApiError::Validation(errors) = first else {
        return None;
    };
    let [only] = errors.as_slice() else {
        return None;
    };
    if only.code != "required" || only.field.contains(['.', '[']) {
        return None;
    }
    let RefOr::T(Schema::Object(schema)) = T::schema() else {
        return None;
    };
    let sent: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).ok()?;
    let missing: Vec<FieldError> = schema
        .required
        .iter()
        .filter(|field| !sent.contains_key(field.as_str()))
        .map(|field| FieldError::new(field, "required", "Обязательное поле не заполнено."))
        .collect();
    (!missing.is_empty()).then_some(ApiError::Validation(missing))
}

/// `accounts[0].meters[1].kind`; empty for the body itself.
fn field_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// serde's message names the problem (and a missing or unknown field in backticks); the field
/// and its place come from `path`, the message is said in Russian.
fn shape_error(path: &str, error: &serde_json::Error) -> ApiError {
    let message = error.to_string();
    let quoted = message.split('`').nth(1).unwrap_or_default();
    // The named field within the object at `path` (which may already end with it).
    let within = |name: &str| match (path, name) {
        ("", name) => name.to_owned(),
        (path, "") => path.to_owned(),
        (path, name) if path == name || path.ends_with(&format!(".{name}")) => path.to_owned(),
        (path, name) => format!("{path}.{name}"),
    };
    let (field, code, detail) = if message.starts_with("missing field") {
        (
            within(quoted),
            "required",
            "Обязательное поле не заполнено.".to_owned(),
        )
    } else if message.starts_with("unknown field") {
        (
            within(quoted),
            "unknown_field",
            "Неизвестное поле.".to_owned(),
        )
    } else if message.starts_with("duplicate field") {
        (
            within(quoted),
            "duplicate_field",
            "Поле указано дважды.".to_owned(),
        )
    } else if message.starts_with("unknown variant") {
        let allowed = message
            .split_once("expected ")
            .map(|(_, list)| list.split(" at line").next().unwrap_or(list))
            .unwrap_or_default()
            .replace('`', "")
            .replace("one of ", "")
            .replace(" or ", ", ");
        (
            within(""),
            "invalid_value",
            format!("Недопустимое значение: ожидается одно из: {allowed}."),
        )
    } else {
        (
            within(""),
            "invalid_type",
            "Значение поля имеет неверный тип.".to_owned(),
        )
    };
    if field.is_empty() {
        return ApiError::Validation(vec![FieldError::new(
            "body",
            code,
            format!("Тело запроса не соответствует схеме: {detail}"),
        )]);
    }
    ApiError::Validation(vec![FieldError::new(&field, code, &detail)])
}

/// `T`, deserialized only from a JSON object.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = T;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(ObjectVisitor(PhantomData))
            .map(Object)
    }
}
