//! «Вход», «Регистрация», «Забыли пароль ?» and «Отправить повторно подтверждение на почту».

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api;
use crate::components::{CheckboxField, Field, FormAlert, Notice, Submit, set_title, show_errors};
use crate::forms::{
    EmailForm, FormErrors, LoginForm, RegisterForm, check_new_email, check_phone,
    encode_query_value, safe_next,
};
use crate::session::Session;

#[component]
pub fn LoginPage() -> impl IntoView {
    set_title("Вход");
    let session = Session::get();
    let query = use_query_map();
    let navigate = use_navigate();
    let email = RwSignal::new(query.with_untracked(|q| q.get("email").unwrap_or_default()));
    let password = RwSignal::new(String::new());
    let remember_me = RwSignal::new(false);
    let errors = RwSignal::new(FormErrors::default());
    let pending = RwSignal::new(false);
    let unconfirmed = RwSignal::new(false);

    // Signed in, now or already when the page opened: go where the user was going.
    Effect::new(move |_| {
        if session.is_signed_in() {
            let next = safe_next(query.with_untracked(|q| q.get("next")).as_deref());
            navigate(
                &next,
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
    });

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        unconfirmed.set(false);
        let form = LoginForm {
            email: email.get_untracked(),
            password: password.get_untracked(),
            remember_me: remember_me.get_untracked(),
        };
        let body = match form.validate() {
            Ok(body) => body,
            Err(invalid) => return show_errors(errors, invalid, &LoginForm::FIELDS),
        };
        errors.set(FormErrors::default());
        pending.set(true);
        spawn_local(async move {
            let result = api::login(&body).await;
            pending.set(false);
            match result {
                Ok(()) => session.signed_in(),
                Err(problem) => {
                    unconfirmed.set(problem.is("email_not_confirmed"));
                    let invalid = FormErrors::from_problem(&problem, &LoginForm::FIELDS);
                    show_errors(errors, invalid, &LoginForm::FIELDS);
                }
            }
        });
    };

    let resend_href = move || {
        format!(
            "/resend-confirmation?email={}",
            encode_query_value(email.get().trim())
        )
    };

    view! {
        <section class="card auth-card" aria-labelledby="page-title">
            <h1 id="page-title">"Вход"</h1>
            <p class="lead">"Пожалуйста введите свои данные!"</p>
            <form on:submit=on_submit novalidate="">
                <FormAlert errors=errors />
                {move || {
                    unconfirmed
                        .get()
                        .then(|| {
                            view! {
                                <p class="alert-action">
                                    <a href=resend_href>
                                        "Отправить повторно подтверждение на почту"
                                    </a>
                                </p>
                            }
                        })
                }}
                <Field
                    id="email"
                    label="Email"
                    value=email
                    errors=errors
                    input_type="email"
                    autocomplete="username"
                    inputmode="email"
                    placeholder="username@mail.ru"
                    required=true
                />
                <Field
                    id="password"
                    label="Пароль"
                    value=password
                    errors=errors
                    input_type="password"
                    autocomplete="current-password"
                    required=true
                />
                <CheckboxField
                    id="remember_me"
                    label="Запомнить меня?"
                    checked=remember_me
                    errors=errors
                />
                <Submit label="Войти" pending=pending />
            </form>
            <nav class="auth-links" aria-label="Другие действия">
                <A href="/forgot-password">"Забыли пароль ?"</A>
                <A href="/register">"Зарегистрироваться"</A>
                <A href="/resend-confirmation">"Отправить повторно подтверждение на почту"</A>
            </nav>
        </section>
    }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    set_title("Регистрация");
    let email = RwSignal::new(String::new());
    let full_name = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let password_confirmation = RwSignal::new(String::new());
    let consent = RwSignal::new(false);
    let errors = RwSignal::new(FormErrors::default());
    let pending = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let form = RegisterForm {
            email: email.get_untracked(),
            full_name: full_name.get_untracked(),
            phone: phone.get_untracked(),
            password: password.get_untracked(),
            password_confirmation: password_confirmation.get_untracked(),
            consent: consent.get_untracked(),
        };
        let body = match form.validate() {
            Ok(body) => body,
            Err(invalid) => return show_errors(errors, invalid, &RegisterForm::FIELDS),
        };
        errors.set(FormErrors::default());
        pending.set(true);
        spawn_local(async move {
            let result = api::register(&body).await;
            pending.set(false);
            match result {
                Ok(message) => {
                    password.set(String::new());
                    password_confirmation.set(String::new());
                    done.set(Some(message.detail));
                }
                Err(problem) => {
                    let invalid = FormErrors::from_problem(&problem, &RegisterForm::FIELDS);
                    show_errors(errors, invalid, &RegisterForm::FIELDS);
                }
            }
        });
    };

    let form = move || {
        view! {
            <form on:submit=on_submit novalidate="">
                <FormAlert errors=errors />
                <Field
                    id="email"
                    label="Email"
                    value=email
                    errors=errors
                    input_type="email"
                    autocomplete="email"
                    inputmode="email"
                    placeholder="username@mail.ru"
                    hint="Только российские почтовые домены: .ru, .рф, .su."
                    required=true
                    check=check_new_email
                />
                <Field
                    id="full_name"
                    label="ФИО"
                    value=full_name
                    errors=errors
                    autocomplete="name"
                    placeholder="Фамилия Имя Отчество"
                    required=true
                />
                <Field
                    id="phone"
                    label="Номер телефона"
                    value=phone
                    errors=errors
                    input_type="tel"
                    autocomplete="tel"
                    inputmode="tel"
                    placeholder="79876543210"
                    hint="Начинается с 7, без знака «+», например 79876543210."
                    required=true
                    check=check_phone
                />
                <Field
                    id="password"
                    label="Пароль"
                    value=password
                    errors=errors
                    input_type="password"
                    autocomplete="new-password"
                    hint="Не менее 8 символов; не используйте распространённые пароли и адрес почты."
                    required=true
                />
                <Field
                    id="password_confirmation"
                    label="Подтверждения пароля"
                    value=password_confirmation
                    errors=errors
                    input_type="password"
                    autocomplete="new-password"
                    required=true
                />
                <CheckboxField
                    id="consent"
                    label="Подтвердить обработку перс данных"
                    checked=consent
                    errors=errors
                />
                <Submit label="Регистрация" pending=pending />
            </form>
        }
    };

    view! {
        <section class="card auth-card" aria-labelledby="page-title">
            <h1 id="page-title">"Регистрация"</h1>
            <p class="lead">"Создание нового аккаунта."</p>
            <Notice message=done.into() />
            <Show
                when=move || done.with(Option::is_none)
                fallback=|| {
                    view! {
                        <p>
                            "Перейдите по ссылке из письма «Подтверждение регистрации», чтобы подтвердить адрес электронной почты."
                        </p>
                        <nav class="auth-links" aria-label="Другие действия">
                            <A href="/login">"Войти"</A>
                            <A href="/resend-confirmation">
                                "Отправить повторно подтверждение на почту"
                            </A>
                        </nav>
                    }
                }
            >
                {form}
                <aside class="note" aria-label="Требования к адресу электронной почты">
                    <p>
                        "Для регистрации в личном кабинете укажите адрес электронной почты с российским доменом. К ним относятся:"
                    </p>
                    <ul>
                        <li>"домен верхнего уровня .RU;"</li>
                        <li>"домен верхнего уровня .РФ;"</li>
                        <li>"домен верхнего уровня .SU."</li>
                    </ul>
                    <p>
                        "Вы можете воспользоваться любым российским почтовым сервисом (Mail.ru, Яндекс Почта, Рамблер/почта и т.д.)."
                    </p>
                    <p>
                        <strong>"Примечание:"</strong>
                        " в соответствии с Федеральным законом от 31.07.2023 № 406-ФЗ «О внесении изменений в Федеральный закон «Об информации, информационных технологиях и о защите информации» и Федеральный закон «О связи» введен запрет на использование иностранной электронной почты."
                    </p>
                </aside>
                <nav class="auth-links" aria-label="Другие действия">
                    <A href="/login">"Уже зарегистрированы? Войти"</A>
                </nav>
            </Show>
        </section>
    }
}

/// Which one-address form: both send a link and answer the same whether the address is
/// registered or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EmailAction {
    ForgotPassword,
    ResendConfirmation,
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    view! { <EmailActionPage action=EmailAction::ForgotPassword /> }
}

#[component]
pub fn ResendConfirmationPage() -> impl IntoView {
    view! { <EmailActionPage action=EmailAction::ResendConfirmation /> }
}

#[component]
fn EmailActionPage(action: EmailAction) -> impl IntoView {
    let (title, intro, button) = match action {
        EmailAction::ForgotPassword => (
            "Забыли пароль?",
            "Укажите email, с которым вы зарегистрированы в личном кабинете. Мы отправим на него ссылку для смены пароля.",
            "Отправить ссылку",
        ),
        EmailAction::ResendConfirmation => (
            "Подтверждение почты",
            "Если письмо «Подтверждение регистрации» не пришло или ссылка в нём устарела, укажите email, и мы отправим новую ссылку.",
            "Отправить повторно",
        ),
    };
    set_title(title);
    let query = use_query_map();
    let email = RwSignal::new(query.with_untracked(|q| q.get("email").unwrap_or_default()));
    let errors = RwSignal::new(FormErrors::default());
    let pending = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let body = match (EmailForm {
            email: email.get_untracked(),
        })
        .validate()
        {
            Ok(body) => body,
            Err(invalid) => return show_errors(errors, invalid, &EmailForm::FIELDS),
        };
        errors.set(FormErrors::default());
        done.set(None);
        pending.set(true);
        spawn_local(async move {
            let result = match action {
                EmailAction::ForgotPassword => api::forgot_password(&body).await,
                EmailAction::ResendConfirmation => api::resend_confirmation(&body).await,
            };
            pending.set(false);
            match result {
                Ok(message) => done.set(Some(message.detail)),
                Err(problem) => {
                    let invalid = FormErrors::from_problem(&problem, &EmailForm::FIELDS);
                    show_errors(errors, invalid, &EmailForm::FIELDS);
                }
            }
        });
    };

    view! {
        <section class="card auth-card" aria-labelledby="page-title">
            <h1 id="page-title">{title}</h1>
            <p class="lead">{intro}</p>
            <Notice message=done.into() />
            <form on:submit=on_submit novalidate="">
                <FormAlert errors=errors />
                <Field
                    id="email"
                    label="Email"
                    value=email
                    errors=errors
                    input_type="email"
                    autocomplete="email"
                    inputmode="email"
                    placeholder="username@mail.ru"
                    required=true
                />
                <Submit label=button pending=pending />
            </form>
            <nav class="auth-links" aria-label="Другие действия">
                <A href="/login">"Вернуться ко входу"</A>
                <A href="/register">"Зарегистрироваться"</A>
            </nav>
        </section>
    }
}
