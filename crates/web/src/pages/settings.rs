//! «Настройки»: «Профиль», «Email», «Пароль», «Сеансы», «Вернуться на главную страницу»,
//! «Выход».

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use crate::api;
use crate::components::{Field, FormAlert, Notice, Submit, set_title, show_errors};
use crate::forms::{EmailChangeForm, FormErrors, PasswordChangeForm, ProfileForm, check_phone};
use crate::session::Session;

/// Signs out on the server and here, then shows the login page.
pub fn logout(session: Session, navigate: impl Fn(&str, leptos_router::NavigateOptions) + 'static) {
    spawn_local(async move {
        // The session ends here whatever the server answers (it may be over already).
        let _ = api::logout().await;
        navigate("/login", Default::default());
        session.clear();
    });
}

#[component]
fn SettingsLayout(title: &'static str, children: Children) -> impl IntoView {
    set_title(title);
    let session = Session::get();
    let navigate = leptos_router::hooks::use_navigate();
    let on_logout = move |_| logout(session, navigate.clone());
    view! {
        <section class="settings" aria-labelledby="page-title">
            <h1 id="page-title">"Управление аккаунтом"</h1>
            <p class="lead">"Изменение настроек"</p>
            <div class="settings-grid">
                <nav class="settings-nav" aria-label="Разделы настроек">
                    <A href="/settings" exact=true>
                        "Профиль"
                    </A>
                    <A href="/settings/email">"Email"</A>
                    <A href="/settings/password">"Пароль"</A>
                    <A href="/settings/sessions">"Сеансы"</A>
                    <A href="/" exact=true>
                        "Вернуться на главную страницу"
                    </A>
                    <button type="button" class="link-button" on:click=on_logout>
                        "Выход"
                    </button>
                </nav>
                <div class="card settings-panel">{children()}</div>
            </div>
        </section>
    }
}

#[component]
pub fn ProfileSettingsPage() -> impl IntoView {
    let session = Session::get();
    let full_name = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let errors = RwSignal::new(FormErrors::default());
    let pending = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);

    // Filled in from the profile as soon as it is loaded (once: typing is not overwritten).
    Effect::new(move |filled: Option<bool>| {
        if filled == Some(true) {
            return true;
        }
        session.profile.with(|profile| match profile {
            Some(profile) => {
                full_name.set(profile.full_name.clone());
                phone.set(profile.phone.clone());
                true
            }
            None => false,
        })
    });

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let form = ProfileForm {
            full_name: full_name.get_untracked(),
            phone: phone.get_untracked(),
        };
        let body = match form.validate() {
            Ok(body) => body,
            Err(invalid) => return show_errors(errors, invalid, &ProfileForm::FIELDS),
        };
        errors.set(FormErrors::default());
        done.set(None);
        pending.set(true);
        spawn_local(async move {
            let result = api::update_profile(&body).await;
            pending.set(false);
            match result {
                Ok(profile) => {
                    full_name.set(profile.full_name.clone());
                    phone.set(profile.phone.clone());
                    session.profile.set(Some(profile));
                    done.set(Some("Изменения сохранены.".into()));
                }
                Err(problem) => {
                    let invalid = FormErrors::from_problem(&problem, &ProfileForm::FIELDS);
                    show_errors(errors, invalid, &ProfileForm::FIELDS);
                }
            }
        });
    };

    view! {
        <SettingsLayout title="Профиль">
            <h2>"Профиль"</h2>
            <Notice message=done.into() />
            <form on:submit=on_submit novalidate="">
                <FormAlert errors=errors />
                // As in the manual: the address one signs in with, changed under «Email».
                <div class="field">
                    <label for="username">"Username"</label>
                    <input
                        id="username"
                        type="email"
                        readonly=true
                        aria-describedby="username-hint"
                        prop:value=move || {
                            session.profile.with(|p| p.as_ref().map(|p| p.email.clone()))
                        }
                    />
                    <p class="hint" id="username-hint">"Адрес меняется в разделе «Email»."</p>
                </div>
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
                    id="full_name"
                    label="ФИО"
                    value=full_name
                    errors=errors
                    autocomplete="name"
                    placeholder="Фамилия Имя Отчество"
                    required=true
                />
                <Submit label="Сохранить" pending=pending />
            </form>
        </SettingsLayout>
    }
}

#[component]
pub fn EmailSettingsPage() -> impl IntoView {
    let session = Session::get();
    let current_email = move || {
        session
            .profile
            .with(|p| p.as_ref().map(|p| p.email.clone()).unwrap_or_default())
    };
    let new_email = RwSignal::new(String::new());
    let current_password = RwSignal::new(String::new());
    let errors = RwSignal::new(FormErrors::default());
    let pending = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let form = EmailChangeForm {
            new_email: new_email.get_untracked(),
            current_password: current_password.get_untracked(),
        };
        let current = session
            .profile
            .with_untracked(|p| p.as_ref().map(|p| p.email.clone()).unwrap_or_default());
        let body = match form.validate(&current) {
            Ok(body) => body,
            Err(invalid) => return show_errors(errors, invalid, &EmailChangeForm::FIELDS),
        };
        errors.set(FormErrors::default());
        done.set(None);
        pending.set(true);
        spawn_local(async move {
            let result = api::change_email(&body).await;
            pending.set(false);
            match result {
                Ok(message) => {
                    new_email.set(String::new());
                    current_password.set(String::new());
                    done.set(Some(message.detail));
                }
                Err(problem) => {
                    let invalid = FormErrors::from_problem(&problem, &EmailChangeForm::FIELDS);
                    show_errors(errors, invalid, &EmailChangeForm::FIELDS);
                }
            }
        });
    };

    view! {
        <SettingsLayout title="Email">
            <h2>"Email"</h2>
            <p class="current-email">
                <span class="visually-hidden">"Текущий адрес: "</span>
                <span>{current_email}</span>
                " "
                <span class="confirmed" title="Адрес подтверждён">
                    "✓"
                </span>
            </p>
            <Notice message=done.into() />
            <form on:submit=on_submit novalidate="">
                <FormAlert errors=errors />
                <Field
                    id="new_email"
                    label="Новый email"
                    value=new_email
                    errors=errors
                    input_type="email"
                    autocomplete="email"
                    inputmode="email"
                    placeholder="username@mail.ru"
                    required=true
                    check=crate::forms::check_new_email
                />
                <Field
                    id="current_password"
                    label="Текущий пароль"
                    value=current_password
                    errors=errors
                    input_type="password"
                    autocomplete="current-password"
                    required=true
                />
                <Submit label="Изменить email" pending=pending />
                <p class="hint">"После не забудьте подтвердить новую почту."</p>
            </form>
        </SettingsLayout>
    }
}

#[component]
pub fn PasswordSettingsPage() -> impl IntoView {
    let session = Session::get();
    let current_password = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let new_password_confirmation = RwSignal::new(String::new());
    let errors = RwSignal::new(FormErrors::default());
    let pending = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let form = PasswordChangeForm {
            current_password: current_password.get_untracked(),
            new_password: new_password.get_untracked(),
            new_password_confirmation: new_password_confirmation.get_untracked(),
        };
        let email = session
            .profile
            .with_untracked(|p| p.as_ref().map(|p| p.email.clone()).unwrap_or_default());
        let body = match form.validate(&email) {
            Ok(body) => body,
            Err(invalid) => return show_errors(errors, invalid, &PasswordChangeForm::FIELDS),
        };
        errors.set(FormErrors::default());
        done.set(None);
        pending.set(true);
        spawn_local(async move {
            let result = api::change_password(&body).await;
            pending.set(false);
            match result {
                Ok(()) => {
                    current_password.set(String::new());
                    new_password.set(String::new());
                    new_password_confirmation.set(String::new());
                    done.set(Some(
                        "Пароль обновлён. Сеансы на других устройствах завершены.".into(),
                    ));
                }
                Err(problem) => {
                    let invalid = FormErrors::from_problem(&problem, &PasswordChangeForm::FIELDS);
                    show_errors(errors, invalid, &PasswordChangeForm::FIELDS);
                }
            }
        });
    };

    view! {
        <SettingsLayout title="Пароль">
            <h2>"Изменение пароля"</h2>
            <Notice message=done.into() />
            <form on:submit=on_submit novalidate="">
                <FormAlert errors=errors />
                <Field
                    id="current_password"
                    label="Текущий пароль"
                    value=current_password
                    errors=errors
                    input_type="password"
                    autocomplete="current-password"
                    required=true
                />
                <Field
                    id="new_password"
                    label="Новый пароль"
                    value=new_password
                    errors=errors
                    input_type="password"
                    autocomplete="new-password"
                    hint="Не менее 8 символов; не используйте распространённые пароли и адрес почты."
                    required=true
                />
                <Field
                    id="new_password_confirmation"
                    label="Подтверждение пароля"
                    value=new_password_confirmation
                    errors=errors
                    input_type="password"
                    autocomplete="new-password"
                    required=true
                />
                <Submit label="Обновить пароль" pending=pending />
            </form>
        </SettingsLayout>
    }
}

/// A browser in words: «Chrome, Windows» from its user agent (best effort).
fn browser_name(user_agent: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("YaBrowser", "Яндекс Браузер"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(mark, _)| user_agent.contains(mark))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(mark, _)| user_agent.contains(mark))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b}, {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => s.to_owned(),
        (None, None) if user_agent.is_empty() => "Неизвестное устройство".to_owned(),
        (None, None) => user_agent.chars().take(60).collect(),
    }
}

/// «Сеансы»: where the user is signed in; end one or all the others.
#[component]
pub fn SessionsSettingsPage() -> impl IntoView {
    let sessions: crate::pages::common::Loaded<Vec<api::SessionInfo>> = RwSignal::new(None);
    let load = move || spawn_local(async move { sessions.set(Some(api::sessions().await)) });
    load();
    let errors = RwSignal::new(FormErrors::default());
    let done = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);
    let end = move |id: Option<i64>| {
        if pending.get_untracked() {
            return;
        }
        pending.set(true);
        errors.set(FormErrors::default());
        spawn_local(async move {
            let result = match id {
                Some(id) => api::end_session(id).await,
                None => api::end_other_sessions().await,
            };
            pending.set(false);
            match result {
                Ok(()) => {
                    done.set(Some(
                        if id.is_some() {
                            "Сеанс завершён."
                        } else {
                            "Все другие сеансы завершены."
                        }
                        .into(),
                    ));
                    load();
                }
                Err(problem) => errors.set(FormErrors::from_problem(&problem, &[])),
            }
        });
    };
    view! {
        <SettingsLayout title="Сеансы">
            <h2>"Сеансы"</h2>
            <p class="lead">"Устройства, на которых выполнен вход в личный кабинет."</p>
            <Notice message=done.into() />
            <FormAlert errors=errors />
            {crate::pages::common::loaded_view(sessions, move |list: &Vec<api::SessionInfo>| {
                let others = list.iter().any(|s| !s.current);
                view! {
                    <ul class="sessions">
                        {list.iter().map(|s| {
                            let id = s.id;
                            view! {
                                <li class="session" class:session-current=s.current>
                                    <p>
                                        <strong>{browser_name(&s.user_agent)}</strong>
                                        {s.current.then(|| view! { <span class="badge badge-accent">"Этот сеанс"</span> })}
                                    </p>
                                    <p class="muted">
                                        {format!("Вход {}, последняя активность {}, IP {}", crate::forms::ru_date(&s.created_at), crate::forms::ru_date(&s.last_seen_at), s.ip)}
                                    </p>
                                    {(!s.current).then(|| view! {
                                        <button type="button" class="button button-ghost" disabled=move || pending.get()
                                            on:click=move |_| end(Some(id))>"Завершить сеанс"</button>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    {others.then(|| view! {
                        <button type="button" class="button button-primary" disabled=move || pending.get()
                            on:click=move |_| end(None)>"Завершить все другие сеансы"</button>
                    })}
                }
            })}
        </SettingsLayout>
    }
}

#[cfg(test)]
mod tests {
    use super::browser_name;

    #[test]
    fn names_browsers() {
        assert_eq!(
            browser_name(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
            ),
            "Chrome, Windows"
        );
        assert_eq!(
            browser_name("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
            "Firefox, Linux"
        );
        assert_eq!(browser_name(""), "Неизвестное устройство");
    }
}
