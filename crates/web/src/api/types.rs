//! What travels over the wire: request bodies, answers and the problem+json error shape.
//! Plain types with their JSON mapping, tested natively.

use super::json::{FromJson, JsonObject, Value, object};

/// An error answer of the API (`application/problem+json`, RFC 9457), or a failure to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: u16,
    /// Stable machine-readable code: the SPA switches on it, never on `detail`.
    pub code: String,
    /// What happened and what to do, in Russian: shown at the top of the form.
    pub detail: String,
    /// Errors of single fields: shown next to them.
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
    pub detail: String,
}

pub const NETWORK_ERROR: &str =
    "Нет связи с сервером. Проверьте подключение к интернету и попробуйте ещё раз.";
pub const UNEXPECTED_ERROR: &str =
    "Сервис временно недоступен. Попробуйте позже или позвоните на горячую линию.";

impl Problem {
    /// The API could not be reached at all (offline, DNS, the server down).
    pub fn network() -> Self {
        Self {
            status: 0,
            code: "network_error".into(),
            detail: NETWORK_ERROR.into(),
            errors: Vec::new(),
        }
    }

    /// An answer that is not the expected JSON (a proxy's error page, a truncated body).
    pub fn unexpected(status: u16) -> Self {
        Self {
            status,
            code: "unexpected_response".into(),
            detail: UNEXPECTED_ERROR.into(),
            errors: Vec::new(),
        }
    }

    /// Reads an error answer (its parsed body, if it was a JSON object); anything that is not
    /// a problem document becomes a generic one.
    pub fn from_answer(status: u16, body: Option<&impl JsonObject>) -> Self {
        let Some(body) = body else {
            return Self::unexpected(status);
        };
        let errors: Vec<FieldProblem> = body
            .items("errors")
            .iter()
            .filter_map(|error| {
                Some(FieldProblem {
                    field: error.str("field")?,
                    code: error.str("code").unwrap_or_default(),
                    detail: error.str("detail")?,
                })
            })
            .collect();
        let detail = body.str("detail").unwrap_or_default();
        if detail.is_empty() && errors.is_empty() {
            return Self::unexpected(status);
        }
        Self {
            status,
            code: body.str("code").unwrap_or_default(),
            detail,
            errors,
        }
    }

    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRequest {
    pub email: String,
    pub full_name: String,
    pub phone: String,
    pub password: String,
    pub password_confirmation: String,
    pub consent: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    pub remember_me: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailRequest {
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetPasswordRequest {
    pub token: String,
    pub password: String,
    pub password_confirmation: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateProfileRequest {
    pub full_name: String,
    pub phone: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEmailRequest {
    pub new_email: String,
    pub current_password: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
    pub new_password_confirmation: String,
}

impl RegisterRequest {
    pub fn to_json(&self) -> String {
        object(&[
            ("email", Value::Str(&self.email)),
            ("full_name", Value::Str(&self.full_name)),
            ("phone", Value::Str(&self.phone)),
            ("password", Value::Str(&self.password)),
            (
                "password_confirmation",
                Value::Str(&self.password_confirmation),
            ),
            ("consent", Value::Bool(self.consent)),
        ])
    }
}

impl LoginRequest {
    pub fn to_json(&self) -> String {
        object(&[
            ("email", Value::Str(&self.email)),
            ("password", Value::Str(&self.password)),
            ("remember_me", Value::Bool(self.remember_me)),
        ])
    }
}

impl EmailRequest {
    pub fn to_json(&self) -> String {
        object(&[("email", Value::Str(&self.email))])
    }
}

impl TokenRequest {
    pub fn to_json(&self) -> String {
        object(&[("token", Value::Str(&self.token))])
    }
}

impl ResetPasswordRequest {
    pub fn to_json(&self) -> String {
        object(&[
            ("token", Value::Str(&self.token)),
            ("password", Value::Str(&self.password)),
            (
                "password_confirmation",
                Value::Str(&self.password_confirmation),
            ),
        ])
    }
}

impl UpdateProfileRequest {
    pub fn to_json(&self) -> String {
        object(&[
            ("full_name", Value::Str(&self.full_name)),
            ("phone", Value::Str(&self.phone)),
        ])
    }
}

impl ChangeEmailRequest {
    pub fn to_json(&self) -> String {
        object(&[
            ("new_email", Value::Str(&self.new_email)),
            ("current_password", Value::Str(&self.current_password)),
        ])
    }
}

impl ChangePasswordRequest {
    pub fn to_json(&self) -> String {
        object(&[
            ("current_password", Value::Str(&self.current_password)),
            ("new_password", Value::Str(&self.new_password)),
            (
                "new_password_confirmation",
                Value::Str(&self.new_password_confirmation),
            ),
        ])
    }
}

/// `200 {access_token, token_type, expires_in}` of login, refresh and password change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: i64,
}

impl FromJson for TokenResponse {
    fn from_json(object: &impl JsonObject) -> Option<Self> {
        Some(Self {
            access_token: object.str("access_token")?,
            expires_in: object.int("expires_in").unwrap_or_default(),
        })
    }
}

/// `{detail}` of 202 Accepted and of the confirmations: a Russian sentence to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub detail: String,
}

impl FromJson for Message {
    fn from_json(object: &impl JsonObject) -> Option<Self> {
        Some(Self {
            detail: object.str("detail")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub id: i64,
    pub email: String,
    pub full_name: String,
    pub phone: String,
    pub role: String,
}

impl FromJson for Profile {
    fn from_json(object: &impl JsonObject) -> Option<Self> {
        Some(Self {
            id: object.int("id")?,
            email: object.str("email")?,
            full_name: object.str("full_name")?,
            phone: object.str("phone")?,
            role: object.str("role")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchInfo {
    pub branch: String,
    pub hotline: String,
}

impl FromJson for BranchInfo {
    fn from_json(object: &impl JsonObject) -> Option<Self> {
        Some(Self {
            branch: object.str("branch")?,
            hotline: object.str("hotline")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }

    fn problem(status: u16, text: &str) -> Problem {
        Problem::from_answer(
            status,
            serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .as_ref(),
        )
    }

    #[test]
    fn reads_a_problem_with_field_errors() {
        let body = r#"{"type":"urn:lk:problem:validation_failed","title":"Unprocessable Entity",
            "status":422,"detail":"Проверьте правильность заполнения полей.",
            "code":"validation_failed","errors":[{"field":"email","code":"email_foreign_domain",
            "detail":"Запрещено."}]}"#;
        let problem = problem(422, body);
        assert_eq!(problem.status, 422);
        assert!(problem.is("validation_failed"));
        assert_eq!(problem.errors.len(), 1);
        assert_eq!(problem.errors[0].field, "email");
        assert_eq!(problem.errors[0].code, "email_foreign_domain");
        assert_eq!(problem.errors[0].detail, "Запрещено.");
    }

    #[test]
    fn a_problem_without_errors_has_an_empty_list() {
        let body =
            r#"{"status":401,"detail":"Неверный email или пароль.","code":"invalid_credentials"}"#;
        let problem = problem(401, body);
        assert!(problem.errors.is_empty());
        assert_eq!(problem.to_string(), "Неверный email или пароль.");
    }

    #[test]
    fn anything_else_becomes_a_generic_problem() {
        for body in [
            "",
            "<html>Bad gateway</html>",
            "{}",
            "[1,2]",
            r#"{"detail":5}"#,
        ] {
            let problem = problem(502, body);
            assert_eq!(problem.status, 502);
            assert_eq!(problem.code, "unexpected_response");
            assert_eq!(problem.detail, UNEXPECTED_ERROR);
        }
    }

    #[test]
    fn request_bodies_use_the_api_field_names() {
        let body = json(
            &RegisterRequest {
                email: "a@mail.ru".into(),
                full_name: "Иванов Иван".into(),
                phone: "79876543210".into(),
                password: "p\"q".into(),
                password_confirmation: "p\"q".into(),
                consent: true,
            }
            .to_json(),
        );
        assert_eq!(body["email"], "a@mail.ru");
        assert_eq!(body["full_name"], "Иванов Иван");
        assert_eq!(body["phone"], "79876543210");
        assert_eq!(body["password"], "p\"q");
        assert_eq!(body["password_confirmation"], "p\"q");
        assert_eq!(body["consent"], true);

        let body = json(
            &ChangePasswordRequest {
                current_password: "a".into(),
                new_password: "b".into(),
                new_password_confirmation: "b".into(),
            }
            .to_json(),
        );
        assert_eq!(body["current_password"], "a");
        assert_eq!(body["new_password_confirmation"], "b");

        let body = json(
            &LoginRequest {
                email: "a@mail.ru".into(),
                password: "x".into(),
                remember_me: false,
            }
            .to_json(),
        );
        assert_eq!(body["remember_me"], false);
        assert_eq!(
            json(&TokenRequest { token: "t".into() }.to_json())["token"],
            "t"
        );
        let body = json(
            &ChangeEmailRequest {
                new_email: "b@mail.ru".into(),
                current_password: "x".into(),
            }
            .to_json(),
        );
        assert_eq!(body["new_email"], "b@mail.ru");
        let body = json(
            &UpdateProfileRequest {
                full_name: "Иванов Иван".into(),
                phone: "79876543210".into(),
            }
            .to_json(),
        );
        assert_eq!(body["phone"], "79876543210");
        let body = json(
            &ResetPasswordRequest {
                token: "t".into(),
                password: "p".into(),
                password_confirmation: "p".into(),
            }
            .to_json(),
        );
        assert_eq!(body["password_confirmation"], "p");
        assert_eq!(
            json(
                &EmailRequest {
                    email: "a@mail.ru".into()
                }
                .to_json()
            )["email"],
            "a@mail.ru"
        );
    }

    #[test]
    fn reads_answers_and_ignores_extra_fields() {
        let token = TokenResponse::from_json(&json(
            r#"{"access_token":"abc","token_type":"Bearer","expires_in":900}"#,
        ))
        .unwrap();
        assert_eq!(token.access_token, "abc");
        assert_eq!(token.expires_in, 900);
        let profile = Profile::from_json(&json(
            r#"{"id":1,"email":"a@mail.ru","full_name":"Иванов Иван","phone":"79876543210",
                "role":"customer","created_at":"2024-07-26T10:00:00Z"}"#,
        ))
        .unwrap();
        assert_eq!(profile.full_name, "Иванов Иван");
        assert_eq!(profile.id, 1);
        let info = BranchInfo::from_json(&json(
            r#"{"branch":"Пензенский филиал ПАО «Т Плюс»","hotline":"8(8412)21-07-21",
                "today":"2024-07-26","submission_window":{"first_day":1,"last_day":31,
                "open_now":true,"next_opening":"2024-07-26"}}"#,
        ))
        .unwrap();
        assert_eq!(info.hotline, "8(8412)21-07-21");
        let message = Message::from_json(&json(
            r#"{"status":"accepted","detail":"Письмо отправлено."}"#,
        ))
        .unwrap();
        assert_eq!(message.detail, "Письмо отправлено.");
    }

    #[test]
    fn a_missing_member_is_not_an_answer() {
        assert_eq!(Profile::from_json(&json(r#"{"id":1}"#)), None);
        assert_eq!(
            TokenResponse::from_json(&json(r#"{"expires_in":900}"#)),
            None
        );
    }
}
