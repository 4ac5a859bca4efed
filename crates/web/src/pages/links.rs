//! The pages the e-mailed links open. Mail scanners open links too, so opening the page
//! consumes nothing: the token is sent by a POST when the user presses the button.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::api;
use crate::components::{Field, FormAlert, Notice, Submit, set_title, show_errors};
use crate::forms::{FormErrors, ResetPasswordForm};
use crate::session::{AuthState, Session};

const INCOMPLETE_LINK: &str = "Ссылка неполная. Откройте ссылку из письма целиком или скопируйте её в адресную строку браузера.";

fn token_from_query() -> Option<String> {
    use_query_map()
        .with_untracked(|q| q.get("token"))
        .filter(|token| !token.trim().is_empty())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confirmation {
    /// «Подтверждение регистрации».
    Registration,
    /// The link sent to a new address from «Настройки» → «Email».
    EmailChange,
    /// The activation of a personal account added in «Мои лицевые счета».
    Account,
}

#[component]
pub fn ConfirmEmailPage() -> impl IntoView {
    view! { <ConfirmPage kind=Confirmation::Registration /> }
}

#[component]
pub fn ConfirmEmailChangePage() -> impl IntoView {
    view! { <ConfirmPage kind=Confirmation::EmailChange /> }
}

/// `/accounts/confirm?token=…`: the activation link of «Добавить лицевой счет».
#[component]
pub fn ConfirmAccountPage() -> impl IntoView {
    view! { <ConfirmPage kind=Confirmation::Account /> }
}

#[component]
fn ConfirmPage(kind: Confirmation) -> impl IntoView {
    let (title, intro, button, again_href, again) = match kind {
        Confirmation::Registration => (
            "Подтверждение регистрации",
            "Чтобы завершить регистрацию в личном кабинете, подтвердите адрес электронной почты.",
            "Подтвердить email",
            "/resend-confirmation",
            "Отправить повторно подтверждение на почту",
        ),
        Confirmation::EmailChange => (
            "Подтверждение нового email",
            "Чтобы сменить адрес электронной почты личного кабинета, подтвердите новый адрес.",
            "Подтвердить новый email",
            "/settings/email",
            "Запросить новое письмо в настройках",
        ),
        Confirmation::Account => (
            "Активация лицевого счета",
            "Чтобы лицевой счет появился в личном кабинете, подтвердите его привязку.",
            "Активировать лицевой счет",
            "/accounts",
            "Мои лицевые счета",
        ),
    };
    let session = Session::get();
    let next = move || match kind {
        Confirmation::Account => ("/accounts", "Мои лицевые счета"),
        Confirmation::EmailChange if session.is_signed_in() => {
            ("/", "Вернуться на главную страницу")
        }
        _ => ("/login", "Войти"),
    };
    set_title(title);
    let token = token_from_query();
    let has_token = token.is_some();
    let errors = RwSignal::new(FormErrors::default());
    let pending = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);
    if !has_token {
        errors.set(FormErrors {
            summary: Some(INCOMPLETE_LINK.into()),
            ..Default::default()
        });
    }

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        let Some(token) = token.clone() else { return };
        if pending.get_untracked() {
            return;
        }
        errors.set(FormErrors::default());
        pending.set(true);
        spawn_local(async move {
            let result = match kind {
                Confirmation::Registration => api::confirm_email(&token).await,
                Confirmation::EmailChange => api::confirm_email_change(&token).await,
                Confirmation::Account => api::confirm_account(&token).await,
            };
            pending.set(false);
            match result {
                Ok(message) => {
                    if kind == Confirmation::EmailChange
                        && session.state.get_untracked() == AuthState::SignedIn
                    {
                        // The session that asked goes on with the new address; any other one
                        // the server ended, which the profile's reload finds out.
                        session.reload_profile();
                    }
                    done.set(Some(message.detail));
                }
                Err(problem) => errors.set(FormErrors::from_problem(&problem, &[])),
            }
        });
    };

    view! {
        <section class="card auth-card" aria-labelledby="page-title">
            <h1 id="page-title">{title}</h1>
            <Notice message=done.into() />
            <Show
                when=move || done.with(Option::is_none)
                fallback=move || {
                    view! {
                        <nav class="auth-links" aria-label="Дальше">
                            <A href=move || next().0.to_owned()>{move || next().1}</A>
                        </nav>
                    }
                }
            >
                <p class="lead">{intro}</p>
                <form on:submit=on_submit.clone() novalidate="">
                    <FormAlert errors=errors />
                    <Show when=move || has_token>
                        <Submit label=button pending=pending />
                    </Show>
                </form>
                <nav class="auth-links" aria-label="Другие действия">
                    <a href=again_href>{again}</a>
                    <A href="/login">"Вернуться ко входу"</A>
                </nav>
            </Show>
        </section>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    set_title("Смена пароля");
    let session = Session::get();
    let token = token_from_query();
    let has_token = token.is_some();
    let password = RwSignal::new(String::new());
    let password_confirmation = RwSignal::new(String::new());
    let errors = RwSignal::new(FormErrors::default());
    let pending = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);
    if !has_token {
        errors.set(FormErrors {
            summary: Some(INCOMPLETE_LINK.into()),
            ..Default::default()
        });
    }

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        let Some(token) = token.clone() else { return };
        if pending.get_untracked() {
            return;
        }
        let form = ResetPasswordForm {
            password: password.get_untracked(),
            password_confirmation: password_confirmation.get_untracked(),
        };
        let body = match form.validate(&token) {
            Ok(body) => body,
            Err(invalid) => return show_errors(errors, invalid, &ResetPasswordForm::FIELDS),
        };
        errors.set(FormErrors::default());
        pending.set(true);
        spawn_local(async move {
            let result = api::reset_password(&body).await;
            pending.set(false);
            match result {
                Ok(()) => {
                    // Every session ended on the server, this tab's too.
                    session.clear();
                    done.set(Some(
                        "Пароль изменён. Войдите в личный кабинет с новым паролем.".into(),
                    ));
                }
                Err(problem) => {
                    let invalid = FormErrors::from_problem(&problem, &ResetPasswordForm::FIELDS);
                    show_errors(errors, invalid, &ResetPasswordForm::FIELDS);
                }
            }
        });
    };

    view! {
        <section class="card auth-card" aria-labelledby="page-title">
            <h1 id="page-title">"Смена пароля"</h1>
            <Notice message=done.into() />
            <Show
                when=move || done.with(Option::is_none)
                fallback=|| {
                    view! {
                        <nav class="auth-links" aria-label="Дальше">
                            <A href="/login">"Войти"</A>
                        </nav>
                    }
                }
            >
                <p class="lead">"Придумайте новый пароль для входа в личный кабинет."</p>
                <form on:submit=on_submit.clone() novalidate="">
                    <FormAlert errors=errors />
                    <Show when=move || has_token>
                        <Field
                            id="password"
                            label="Новый пароль"
                            value=password
                            errors=errors
                            input_type="password"
                            autocomplete="new-password"
                            hint="Не менее 8 символов; не используйте распространённые пароли и адрес почты."
                            required=true
                        />
                        <Field
                            id="password_confirmation"
                            label="Подтверждение пароля"
                            value=password_confirmation
                            errors=errors
                            input_type="password"
                            autocomplete="new-password"
                            required=true
                        />
                        <Submit label="Сохранить пароль" pending=pending />
                    </Show>
                </form>
                <nav class="auth-links" aria-label="Другие действия">
                    <A href="/forgot-password">"Запросить новую ссылку"</A>
                    <A href="/login">"Вернуться ко входу"</A>
                </nav>
            </Show>
        </section>
    }
}
