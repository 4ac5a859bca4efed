//! Russian letters from the files under `templates/`: a `.txt` file whose first line is the
//! subject, and an `.html` fragment placed into `layout.html`. Values are HTML-escaped there.

use crate::store::OutgoingMail;

/// Every letter the portal sends, with the values it needs.
pub enum Letter<'a> {
    ApplicationCopy {
        full_name: &'a str,
        number: &'a str,
        meter: &'a str,
        text: &'a str,
        link: &'a str,
    },
    ApplicationAnswered {
        full_name: &'a str,
        number: &'a str,
        meter: &'a str,
        text: &'a str,
        answer: &'a str,
        link: &'a str,
    },
    ActivateAccount {
        full_name: &'a str,
        masked_number: &'a str,
        link: &'a str,
    },
    ConfirmRegistration {
        full_name: &'a str,
        link: &'a str,
    },
    AlreadyRegistered {
        login_link: &'a str,
        forgot_link: &'a str,
    },
    ResetPassword {
        full_name: &'a str,
        link: &'a str,
    },
    ChangeEmail {
        full_name: &'a str,
        link: &'a str,
    },
    /// To the current address when a change to `new_email` is asked for.
    EmailChangeRequested {
        full_name: &'a str,
        new_email: &'a str,
        forgot_link: &'a str,
    },
    EmailChanged {
        full_name: &'a str,
        new_email: &'a str,
    },
    PasswordChanged {
        full_name: &'a str,
        forgot_link: &'a str,
    },
}

impl Letter<'_> {
    fn files(&self) -> (&'static str, &'static str) {
        macro_rules! template {
            ($name:literal) => {
                (
                    include_str!(concat!("../../templates/", $name, ".txt")),
                    include_str!(concat!("../../templates/", $name, ".html")),
                )
            };
        }
        match self {
            Self::ConfirmRegistration { .. } => template!("confirm_registration"),
            Self::AlreadyRegistered { .. } => template!("already_registered"),
            Self::ResetPassword { .. } => template!("reset_password"),
            Self::ChangeEmail { .. } => template!("change_email"),
            Self::EmailChangeRequested { .. } => template!("email_change_requested"),
            Self::EmailChanged { .. } => template!("email_changed"),
            Self::PasswordChanged { .. } => template!("password_changed"),
            Self::ActivateAccount { .. } => template!("activate_account"),
            Self::ApplicationCopy { .. } => template!("application_copy"),
            Self::ApplicationAnswered { .. } => template!("application_answered"),
        }
    }

    fn values(&self) -> Vec<(&'static str, &str)> {
        match *self {
            Self::ConfirmRegistration { full_name, link }
            | Self::ResetPassword { full_name, link }
            | Self::ChangeEmail { full_name, link } => {
                vec![("full_name", full_name), ("link", link)]
            }
            Self::AlreadyRegistered {
                login_link,
                forgot_link,
            } => {
                vec![("login_link", login_link), ("forgot_link", forgot_link)]
            }
            Self::EmailChangeRequested {
                full_name,
                new_email,
                forgot_link,
            } => vec![
                ("full_name", full_name),
                ("new_email", new_email),
                ("forgot_link", forgot_link),
            ],
            Self::EmailChanged {
                full_name,
                new_email,
            } => {
                vec![("full_name", full_name), ("new_email", new_email)]
            }
            Self::PasswordChanged {
                full_name,
                forgot_link,
            } => {
                vec![("full_name", full_name), ("forgot_link", forgot_link)]
            }
            Self::ActivateAccount {
                full_name,
                masked_number,
                link,
            } => vec![
                ("full_name", full_name),
                ("masked_number", masked_number),
                ("link", link),
            ],
            Self::ApplicationCopy {
                full_name,
                number,
                meter,
                text,
                link,
            } => vec![
                ("full_name", full_name),
                ("number", number),
                ("meter", meter),
                ("text", text),
                ("link", link),
            ],
            Self::ApplicationAnswered {
                full_name,
                number,
                meter,
                text,
                answer,
                link,
            } => vec![
                ("full_name", full_name),
                ("number", number),
                ("meter", meter),
                ("answer", answer),
                ("text", text),
                ("link", link),
            ],
        }
    }
}

/// Renders letters with the branch's name and hotline in every footer.
#[derive(Debug, Clone)]
pub struct Templates {
    branch: String,
    hotline: String,
}

impl Templates {
    pub fn new(branch: &str, hotline: &str) -> Self {
        Self {
            branch: branch.to_owned(),
            hotline: hotline.to_owned(),
        }
    }

    /// `recipient` is the address as it is sent (punycode domain).
    pub fn render(&self, recipient: &str, letter: &Letter<'_>) -> OutgoingMail {
        let (text_file, html_file) = letter.files();
        let mut values = letter.values();
        values.push(("hotline", &self.hotline));
        values.push(("branch", &self.branch));

        let (subject, body) = text_file.split_once('\n').unwrap_or((text_file, ""));
        let subject = fill(subject.trim(), &values, |v| v.to_owned());
        let subject = subject.as_str();
        let text = fill(body.trim_start(), &values, |v| v.to_owned());
        let content = fill(html_file, &values, escape_html);
        let html = fill(
            include_str!("../../templates/layout.html"),
            &[
                ("subject", subject),
                ("branch", &self.branch),
                ("hotline", &self.hotline),
            ],
            escape_html,
        )
        .replace("{{content}}", &content);
        OutgoingMail {
            recipient: recipient.to_owned(),
            subject: subject.trim().to_owned(),
            text,
            html,
        }
    }
}

/// Replaces each `{{key}}` of the template in one pass, so text a user wrote (which may itself
/// contain braces) is never read as a placeholder.
fn fill(template: &str, values: &[(&str, &str)], encode: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let value = after.find("}}").and_then(|end| {
            let key = &after[..end];
            values
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (end, *v))
        });
        match value {
            Some((end, value)) => {
                out.push_str(&encode(value));
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn escape_html(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_fill_every_placeholder_and_escape_html() {
        let templates = Templates::new("Филиал", "8(8412)21-07-21");
        let mail = templates.render(
            "a@mail.ru",
            &Letter::ConfirmRegistration {
                full_name: "Иванов <script>",
                link: "http://x/confirm-email?token=abc&x=1",
            },
        );
        assert_eq!(mail.subject, "Подтверждение регистрации");
        assert!(mail.text.contains("http://x/confirm-email?token=abc&x=1"));
        assert!(mail.text.contains("Иванов <script>"));
        assert!(mail.html.contains("Иванов &lt;script&gt;"));
        assert!(mail.html.contains("token=abc&amp;x=1"));
        assert!(mail.html.contains("8(8412)21-07-21"));
        let answered = templates.render(
            "a@mail.ru",
            &Letter::ApplicationAnswered {
                full_name: "Иванов",
                number: "7",
                meter: "ГВС2 23_8995270",
                text: "пишу {{answer}} и {{link}",
                answer: "Исправлено",
                link: "http://x/applications/7",
            },
        );
        assert_eq!(
            answered.subject,
            "Ответ на заявление по прибору учета ГВС2 23_8995270"
        );
        assert!(
            answered.text.contains("пишу {{answer}} и {{link}"),
            "{}",
            answered.text
        );
        let requested = templates.render(
            "old@mail.ru",
            &Letter::EmailChangeRequested {
                full_name: "Иванов",
                new_email: "new@mail.ru",
                forgot_link: "http://x/forgot-password",
            },
        );
        assert_eq!(
            requested.subject,
            "Запрошена смена адреса электронной почты"
        );
        assert!(requested.text.contains("new@mail.ru"));
        assert!(requested.html.contains("href=\"http://x/forgot-password\""));
        for body in [&mail.text, &mail.html, &requested.text, &requested.html] {
            assert!(!body.contains("{{"), "unfilled placeholder in {body}");
        }
    }
}
