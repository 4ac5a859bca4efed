//! Page logic without a browser: form state → validation with the `domain` rules → request
//! body, and server problems → messages next to the fields. Tested natively.

use std::collections::BTreeMap;

mod portal;
pub use portal::*;

use domain::{Email, EmailError, FullName, PasswordError, Phone, check_new_password};

use crate::api::{
    ChangeEmailRequest, ChangePasswordRequest, EmailRequest, LoginRequest, Problem,
    RegisterRequest, ResetPasswordRequest, UpdateProfileRequest,
};

/// Shown at the top of a form the browser refused before sending it.
pub const CHECK_FIELDS: &str = "Проверьте правильность заполнения полей.";
pub const PASSWORD_REQUIRED: &str = "Введите пароль.";
pub const CURRENT_PASSWORD_REQUIRED: &str = "Введите текущий пароль.";
pub const CONSENT_REQUIRED: &str = "Подтвердите согласие на обработку персональных данных.";
pub const EMAIL_UNCHANGED: &str = "Новый адрес совпадает с текущим.";

/// What is wrong with a form: a sentence for its top and messages for its fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormErrors {
    pub summary: Option<String>,
    pub fields: BTreeMap<String, String>,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.summary.is_none() && self.fields.is_empty()
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// The first of `order` (the form's fields, top to bottom) that has an error: it gets the
    /// keyboard focus.
    pub fn first_invalid<'a>(&self, order: &[&'a str]) -> Option<&'a str> {
        order
            .iter()
            .copied()
            .find(|name| self.fields.contains_key(*name))
    }

    /// Sets or clears one field's message (a check as the user leaves the field).
    pub fn set_field(&mut self, field: &str, message: Option<String>) {
        match message {
            Some(message) => {
                self.fields.insert(field.to_owned(), message);
            }
            None => {
                self.fields.remove(field);
            }
        }
    }

    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.fields
            .entry(field.to_owned())
            .or_insert_with(|| message.into());
    }

    fn into_result<T>(mut self, value: impl FnOnce() -> T) -> Result<T, FormErrors> {
        if self.fields.is_empty() {
            return Ok(value());
        }
        self.summary = Some(CHECK_FIELDS.to_owned());
        Err(self)
    }

    /// A server problem: `detail` at the top, `errors[]` next to the fields of `shown` (those
    /// the form has). Errors of fields the form does not show are added to the top, so
    /// nothing is lost.
    pub fn from_problem(problem: &Problem, shown: &[&str]) -> Self {
        let mut errors = FormErrors::default();
        // The server's `detail` of a validation problem repeats the fields' messages, which the
        // form shows next to the fields.
        let top = if problem.code == "validation_failed" {
            CHECK_FIELDS.to_owned()
        } else {
            problem.detail.clone()
        };
        let mut summary = vec![top];
        for error in &problem.errors {
            if shown.contains(&error.field.as_str()) {
                errors.add(&error.field, error.detail.clone());
            } else if !summary.contains(&error.detail) {
                summary.push(error.detail.clone());
            }
        }
        summary.retain(|s| !s.is_empty());
        errors.summary = (!summary.is_empty()).then(|| summary.join(" "));
        errors
    }
}

fn password_error_field<'a>(
    error: &PasswordError,
    field: &'a str,
    confirmation: &'a str,
) -> &'a str {
    if *error == PasswordError::Mismatch {
        confirmation
    } else {
        field
    }
}

/// A new password and its confirmation, checked with every rule `domain` knows.
fn check_password_pair(
    errors: &mut FormErrors,
    (field, password): (&str, &str),
    (confirmation_field, confirmation): (&str, &str),
    email: Option<&Email>,
) {
    let result = check_new_password(password, email).and_then(|()| {
        if password == confirmation {
            Ok(())
        } else {
            Err(PasswordError::Mismatch)
        }
    });
    if let Err(error) = result {
        errors.add(
            password_error_field(&error, field, confirmation_field),
            error.to_string(),
        );
    }
}

/// «Вход».
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginForm {
    pub email: String,
    pub password: String,
    pub remember_me: bool,
}

impl LoginForm {
    pub const FIELDS: [&'static str; 2] = ["email", "password"];

    pub fn validate(&self) -> Result<LoginRequest, FormErrors> {
        let mut errors = FormErrors::default();
        // A foreign address cannot have an account; the server answers that in its own words
        // («Неверный email или пароль»), so only a malformed address is refused here.
        let email = match Email::parse(&self.email) {
            Ok(email) => email.as_str().to_owned(),
            Err(EmailError::ForeignDomain) => self.email.trim().to_owned(),
            Err(error) => {
                errors.add("email", error.to_string());
                String::new()
            }
        };
        if self.password.is_empty() {
            errors.add("password", PASSWORD_REQUIRED);
        }
        errors.into_result(|| LoginRequest {
            email,
            password: self.password.clone(),
            remember_me: self.remember_me,
        })
    }
}

/// «Регистрация».
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterForm {
    pub email: String,
    pub full_name: String,
    pub phone: String,
    pub password: String,
    pub password_confirmation: String,
    pub consent: bool,
}

impl RegisterForm {
    pub const FIELDS: [&'static str; 6] = [
        "email",
        "full_name",
        "phone",
        "password",
        "password_confirmation",
        "consent",
    ];

    pub fn validate(&self) -> Result<RegisterRequest, FormErrors> {
        let mut errors = FormErrors::default();
        let email = Email::parse(&self.email)
            .map_err(|e| errors.add("email", e.to_string()))
            .ok();
        let full_name = FullName::parse(&self.full_name)
            .map_err(|e| errors.add("full_name", e.to_string()))
            .ok();
        let phone = Phone::parse(&self.phone)
            .map_err(|e| errors.add("phone", e.to_string()))
            .ok();
        check_password_pair(
            &mut errors,
            ("password", &self.password),
            ("password_confirmation", &self.password_confirmation),
            email.as_ref(),
        );
        if !self.consent {
            errors.add("consent", CONSENT_REQUIRED);
        }
        errors.into_result(|| RegisterRequest {
            email: email.map(|e| e.as_str().to_owned()).unwrap_or_default(),
            full_name: full_name.map(|n| n.as_str().to_owned()).unwrap_or_default(),
            phone: phone.map(|p| p.as_str().to_owned()).unwrap_or_default(),
            password: self.password.clone(),
            password_confirmation: self.password_confirmation.clone(),
            consent: true,
        })
    }
}

/// «Забыли пароль?» and «Отправить повторно подтверждение на почту»: one address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailForm {
    pub email: String,
}

impl EmailForm {
    pub const FIELDS: [&'static str; 1] = ["email"];

    pub fn validate(&self) -> Result<EmailRequest, FormErrors> {
        let mut errors = FormErrors::default();
        let email = Email::parse(&self.email)
            .map_err(|e| errors.add("email", e.to_string()))
            .ok();
        errors.into_result(|| EmailRequest {
            email: email.map(|e| e.as_str().to_owned()).unwrap_or_default(),
        })
    }
}

/// The page the password-reset link opens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResetPasswordForm {
    pub password: String,
    pub password_confirmation: String,
}

impl ResetPasswordForm {
    pub const FIELDS: [&'static str; 2] = ["password", "password_confirmation"];

    /// The page does not know the address, so its similarity rule is left to the server.
    pub fn validate(&self, token: &str) -> Result<ResetPasswordRequest, FormErrors> {
        let mut errors = FormErrors::default();
        check_password_pair(
            &mut errors,
            ("password", &self.password),
            ("password_confirmation", &self.password_confirmation),
            None,
        );
        errors.into_result(|| ResetPasswordRequest {
            token: token.to_owned(),
            password: self.password.clone(),
            password_confirmation: self.password_confirmation.clone(),
        })
    }
}

/// «Настройки» → «Профиль».
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileForm {
    pub full_name: String,
    pub phone: String,
}

impl ProfileForm {
    pub const FIELDS: [&'static str; 2] = ["phone", "full_name"];

    pub fn validate(&self) -> Result<UpdateProfileRequest, FormErrors> {
        let mut errors = FormErrors::default();
        let full_name = FullName::parse(&self.full_name)
            .map_err(|e| errors.add("full_name", e.to_string()))
            .ok();
        let phone = Phone::parse(&self.phone)
            .map_err(|e| errors.add("phone", e.to_string()))
            .ok();
        errors.into_result(|| UpdateProfileRequest {
            full_name: full_name.map(|n| n.as_str().to_owned()).unwrap_or_default(),
            phone: phone.map(|p| p.as_str().to_owned()).unwrap_or_default(),
        })
    }
}

/// «Настройки» → «Email».
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailChangeForm {
    pub new_email: String,
    pub current_password: String,
}

impl EmailChangeForm {
    pub const FIELDS: [&'static str; 2] = ["new_email", "current_password"];

    pub fn validate(&self, current_email: &str) -> Result<ChangeEmailRequest, FormErrors> {
        let mut errors = FormErrors::default();
        let new_email = match Email::parse(&self.new_email) {
            Ok(email) if Email::parse(current_email).is_ok_and(|current| current == email) => {
                errors.add("new_email", EMAIL_UNCHANGED);
                None
            }
            Ok(email) => Some(email),
            Err(error) => {
                errors.add("new_email", error.to_string());
                None
            }
        };
        if self.current_password.is_empty() {
            errors.add("current_password", CURRENT_PASSWORD_REQUIRED);
        }
        errors.into_result(|| ChangeEmailRequest {
            new_email: new_email.map(|e| e.as_str().to_owned()).unwrap_or_default(),
            current_password: self.current_password.clone(),
        })
    }
}

/// «Настройки» → «Пароль».
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswordChangeForm {
    pub current_password: String,
    pub new_password: String,
    pub new_password_confirmation: String,
}

impl PasswordChangeForm {
    pub const FIELDS: [&'static str; 3] = [
        "current_password",
        "new_password",
        "new_password_confirmation",
    ];

    pub fn validate(&self, email: &str) -> Result<ChangePasswordRequest, FormErrors> {
        let mut errors = FormErrors::default();
        if self.current_password.is_empty() {
            errors.add("current_password", CURRENT_PASSWORD_REQUIRED);
        }
        let email = Email::parse(email).ok();
        check_password_pair(
            &mut errors,
            ("new_password", &self.new_password),
            ("new_password_confirmation", &self.new_password_confirmation),
            email.as_ref(),
        );
        errors.into_result(|| ChangePasswordRequest {
            current_password: self.current_password.clone(),
            new_password: self.new_password.clone(),
            new_password_confirmation: self.new_password_confirmation.clone(),
        })
    }
}

/// Checked as the user leaves the e-mail field of the registration: a foreign address is
/// refused at once, as the manual describes.
pub fn check_new_email(value: &str) -> Option<String> {
    match Email::parse(value) {
        Err(EmailError::Empty) | Ok(_) => None,
        Err(error) => Some(error.to_string()),
    }
}

/// Checked as the user leaves a phone field.
pub fn check_phone(value: &str) -> Option<String> {
    if value.trim().is_empty() {
        return None;
    }
    Phone::parse(value).err().map(|e| e.to_string())
}

/// `tel:` link for a hotline written as `8(8412)21-07-21`: the trunk prefix 8 becomes +7.
pub fn tel_href(hotline: &str) -> String {
    let digits: String = hotline.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix('8') {
        Some(rest) if digits.len() == 11 => format!("tel:+7{rest}"),
        _ => format!("tel:{digits}"),
    }
}

/// Where to go after signing in: only a path of this site (`/…`, not `//host` nor
/// `/\host`), so a crafted link cannot send the user elsewhere.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.starts_with("/login")
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// The login page that comes back to `path` (with its query) after signing in.
pub fn login_path_for(path: &str) -> String {
    if path.is_empty() || path == "/" || path.starts_with("/login") {
        return "/login".to_owned();
    }
    format!("/login?next={}", encode_query_value(path))
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `/`.
pub fn encode_query_value(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                encoded.push(byte as char)
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::FieldProblem;

    const GOOD_PASSWORD: &str = "Тёплый-дом-2024";

    fn register_form() -> RegisterForm {
        RegisterForm {
            email: " Ivan.Petrov@Mail.RU ".into(),
            full_name: "  Иванов   Иван Иванович ".into(),
            phone: "7(987)-654-32-10".into(),
            password: GOOD_PASSWORD.into(),
            password_confirmation: GOOD_PASSWORD.into(),
            consent: true,
        }
    }

    #[test]
    fn registration_sends_normalised_values() {
        let request = register_form().validate().unwrap();
        assert_eq!(request.email, "ivan.petrov@mail.ru");
        assert_eq!(request.full_name, "Иванов Иван Иванович");
        assert_eq!(request.phone, "79876543210");
        assert_eq!(request.password, GOOD_PASSWORD);
        assert!(request.consent);
    }

    #[test]
    fn registration_refuses_gmail_before_any_request() {
        let form = RegisterForm {
            email: "ivan@gmail.com".into(),
            ..register_form()
        };
        let errors = form.validate().unwrap_err();
        let message = errors.field("email").unwrap();
        assert!(message.contains("406-ФЗ"), "{message}");
        assert_eq!(errors.summary.as_deref(), Some(CHECK_FIELDS));
        assert_eq!(errors.fields.len(), 1);
    }

    #[test]
    fn registration_reports_every_wrong_field() {
        let form = RegisterForm {
            email: "".into(),
            full_name: "".into(),
            phone: "+79876543210".into(),
            password: "123".into(),
            password_confirmation: "".into(),
            consent: false,
        };
        let errors = form.validate().unwrap_err();
        assert_eq!(
            errors.fields.keys().map(String::as_str).collect::<Vec<_>>(),
            ["consent", "email", "full_name", "password", "phone"]
        );
        assert!(errors.field("phone").unwrap().contains("без знака «+»"));
        assert_eq!(errors.field("consent"), Some(CONSENT_REQUIRED));
        assert_eq!(errors.first_invalid(&RegisterForm::FIELDS), Some("email"));
    }

    #[test]
    fn registration_checks_the_confirmation_and_the_similarity() {
        let form = RegisterForm {
            password_confirmation: "другой-пароль-2024".into(),
            ..register_form()
        };
        let errors = form.validate().unwrap_err();
        assert_eq!(
            errors.field("password_confirmation"),
            Some("Пароли не совпадают.")
        );
        assert_eq!(errors.field("password"), None);

        let form = RegisterForm {
            password: "ivan.petrov2024".into(),
            password_confirmation: "ivan.petrov2024".into(),
            ..register_form()
        };
        let errors = form.validate().unwrap_err();
        assert!(errors.field("password").unwrap().contains("похож"));
    }

    #[test]
    fn login_needs_an_address_and_a_password() {
        let errors = LoginForm::default().validate().unwrap_err();
        assert_eq!(
            errors.field("email"),
            Some("Введите адрес электронной почты.")
        );
        assert_eq!(errors.field("password"), Some(PASSWORD_REQUIRED));
        assert_eq!(errors.first_invalid(&LoginForm::FIELDS), Some("email"));

        let errors = LoginForm {
            email: "not-an-address".into(),
            password: "x".into(),
            remember_me: false,
        }
        .validate()
        .unwrap_err();
        assert!(errors.field("email").is_some());
    }

    #[test]
    fn login_keeps_the_password_as_typed_and_lets_the_server_answer_foreign_addresses() {
        let request = LoginForm {
            email: "User@Mail.ru".into(),
            password: " secret ".into(),
            remember_me: true,
        }
        .validate()
        .unwrap();
        assert_eq!(request.email, "user@mail.ru");
        assert_eq!(request.password, " secret ");
        assert!(request.remember_me);

        let request = LoginForm {
            email: " someone@gmail.com ".into(),
            password: "x".into(),
            remember_me: false,
        }
        .validate()
        .unwrap();
        assert_eq!(request.email, "someone@gmail.com");
    }

    #[test]
    fn email_form_uses_the_russian_domain_rule() {
        assert_eq!(
            EmailForm {
                email: "Ivan@Почта.РФ".into()
            }
            .validate()
            .unwrap()
            .email,
            "ivan@почта.рф"
        );
        let errors = EmailForm {
            email: "a@yahoo.com".into(),
        }
        .validate()
        .unwrap_err();
        assert!(errors.field("email").unwrap().contains("406-ФЗ"));
    }

    #[test]
    fn reset_password_checks_length_and_confirmation() {
        let errors = ResetPasswordForm {
            password: "short".into(),
            password_confirmation: "short".into(),
        }
        .validate("t")
        .unwrap_err();
        assert!(errors.field("password").unwrap().contains("не менее 8"));

        let request = ResetPasswordForm {
            password: GOOD_PASSWORD.into(),
            password_confirmation: GOOD_PASSWORD.into(),
        }
        .validate("token-1")
        .unwrap();
        assert_eq!(request.token, "token-1");
    }

    #[test]
    fn profile_form_normalises_the_phone_and_the_name() {
        let request = ProfileForm {
            full_name: " Петрова  Анна ".into(),
            phone: "7 (987) 654-32-10".into(),
        }
        .validate()
        .unwrap();
        assert_eq!(request.full_name, "Петрова Анна");
        assert_eq!(request.phone, "79876543210");

        let errors = ProfileForm {
            full_name: "".into(),
            phone: "89876543210".into(),
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            errors.field("full_name"),
            Some("Поле «ФИО» обязательно для заполнения.")
        );
        assert!(errors.field("phone").is_some());
    }

    #[test]
    fn email_change_refuses_the_same_address_and_needs_the_password() {
        let errors = EmailChangeForm {
            new_email: "IVAN@mail.ru".into(),
            current_password: "".into(),
        }
        .validate("ivan@mail.ru")
        .unwrap_err();
        assert_eq!(errors.field("new_email"), Some(EMAIL_UNCHANGED));
        assert_eq!(
            errors.field("current_password"),
            Some(CURRENT_PASSWORD_REQUIRED)
        );

        let request = EmailChangeForm {
            new_email: "New@Yandex.ru".into(),
            current_password: "старый пароль".into(),
        }
        .validate("ivan@mail.ru")
        .unwrap();
        assert_eq!(request.new_email, "new@yandex.ru");
    }

    #[test]
    fn password_change_checks_the_new_password_against_the_address() {
        let errors = PasswordChangeForm {
            current_password: "".into(),
            new_password: "ivan.petrov-2024".into(),
            new_password_confirmation: "ivan.petrov-2024".into(),
        }
        .validate("ivan.petrov@mail.ru")
        .unwrap_err();
        assert_eq!(
            errors.first_invalid(&PasswordChangeForm::FIELDS),
            Some("current_password")
        );
        assert!(errors.field("new_password").unwrap().contains("похож"));

        let errors = PasswordChangeForm {
            current_password: "old".into(),
            new_password: GOOD_PASSWORD.into(),
            new_password_confirmation: "x".into(),
        }
        .validate("ivan@mail.ru")
        .unwrap_err();
        assert_eq!(
            errors.field("new_password_confirmation"),
            Some("Пароли не совпадают.")
        );
    }

    #[test]
    fn server_problems_go_next_to_their_fields() {
        let problem = Problem {
            status: 422,
            code: "validation_failed".into(),
            detail: "Проверьте правильность заполнения полей. Адрес неверен. Тело запроса не \
                     соответствует схеме."
                .into(),
            errors: vec![
                FieldProblem {
                    field: "email".into(),
                    code: "email_invalid".into(),
                    detail: "Адрес неверен.".into(),
                },
                FieldProblem {
                    field: "body".into(),
                    code: "invalid_type".into(),
                    detail: "Тело запроса не соответствует схеме.".into(),
                },
            ],
        };
        let errors = FormErrors::from_problem(&problem, &LoginForm::FIELDS);
        assert_eq!(errors.field("email"), Some("Адрес неверен."));
        assert_eq!(
            errors.summary.as_deref(),
            Some("Проверьте правильность заполнения полей. Тело запроса не соответствует схеме.")
        );
        assert!(!errors.is_empty());
    }

    #[test]
    fn a_problem_without_fields_is_shown_at_the_top() {
        let errors = FormErrors::from_problem(&Problem::network(), &LoginForm::FIELDS);
        assert!(errors.fields.is_empty());
        assert_eq!(errors.summary.as_deref(), Some(crate::api::NETWORK_ERROR));
    }

    #[test]
    fn fields_are_checked_as_the_user_leaves_them() {
        assert_eq!(check_new_email(""), None);
        assert_eq!(check_new_email("ivan@mail.ru"), None);
        assert!(
            check_new_email("ivan@gmail.com")
                .unwrap()
                .contains("406-ФЗ")
        );
        assert!(check_new_email("ivan@").is_some());
        assert_eq!(check_phone(""), None);
        assert_eq!(check_phone("7(987)-654-32-10"), None);
        assert!(check_phone("+79876543210").unwrap().contains("«+»"));

        let mut errors = FormErrors::default();
        errors.set_field("email", Some("Ошибка.".into()));
        assert_eq!(errors.field("email"), Some("Ошибка."));
        errors.set_field("email", None);
        assert!(errors.is_empty());
    }

    #[test]
    fn hotline_links_dial_in_international_form() {
        assert_eq!(tel_href("8(8412)21-07-21"), "tel:+78412210721");
        assert_eq!(tel_href("112"), "tel:112");
    }

    #[test]
    fn next_paths_stay_on_this_site() {
        assert_eq!(safe_next(Some("/settings/email")), "/settings/email");
        assert_eq!(safe_next(Some("/meters?x=1")), "/meters?x=1");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "",
            "/login?next=/x",
            "/a\nb",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn login_path_keeps_where_the_user_was() {
        assert_eq!(login_path_for("/"), "/login");
        assert_eq!(login_path_for("/login"), "/login");
        assert_eq!(
            login_path_for("/settings/email"),
            "/login?next=/settings/email"
        );
        assert_eq!(
            login_path_for("/meters?id=1&x=ä"),
            "/login?next=/meters%3Fid%3D1%26x%3D%C3%A4"
        );
    }
}
