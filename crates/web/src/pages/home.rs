//! The main page with the operations panel and the current account.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api;
use crate::components::set_title;
use crate::session::Session;

/// One operation of the panel and of the ☰ side menu.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    pub href: &'static str,
    pub label: &'static str,
    pub description: &'static str,
    pub icon: Icon,
}

#[derive(Debug, Clone, Copy)]
pub enum Icon {
    Home,
    Exit,
    Accounts,
    Readings,
    Meters,
    Applications,
    Settings,
}

pub const OPERATIONS: [Operation; 5] = [
    Operation {
        href: "/accounts",
        label: "Мои лицевые счета",
        description: "Привязка и выбор лицевого счета",
        icon: Icon::Accounts,
    },
    Operation {
        href: "/readings",
        label: "Передача показаний",
        description: "Горячая вода (ГВС) и отопление (ОТП)",
        icon: Icon::Readings,
    },
    Operation {
        href: "/meters",
        label: "Приборы учета",
        description: "Номера и даты поверки",
        icon: Icon::Meters,
    },
    Operation {
        href: "/applications",
        label: "Мои заявления",
        description: "Заявления и ответы на них",
        icon: Icon::Applications,
    },
    Operation {
        href: "/settings",
        label: "Настройки",
        description: "Профиль, email и пароль",
        icon: Icon::Settings,
    },
];

/// A small line icon (24×24, `currentColor`), hidden from screen readers: the label says it.
pub fn icon(icon: Icon) -> impl IntoView {
    let path = match icon {
        Icon::Home => "M3 11l9-7 9 7M5 10v10h5v-6h4v6h5V10",
        Icon::Exit => "M10 4H5v16h5M14 8l4 4-4 4M18 12H9",
        Icon::Accounts => "M4 4h16v16H4zM8 9h8M8 13h8M8 17h5",
        Icon::Readings => "M12 3c3 4 6 7.5 6 11a6 6 0 0 1-12 0c0-3.5 3-7 6-11zM9 15a3 3 0 0 0 3 3",
        Icon::Meters => "M12 21a9 9 0 1 1 0-18 9 9 0 0 1 0 18zM12 12l4-4M7 15h10",
        Icon::Applications => "M6 3h9l3 3v15H6zM9 10h6M9 14h6M9 18h4",
        Icon::Settings => {
            "M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM12 2v3M12 19v3M2 12h3M19 12h3M4.9 4.9l2.1 2.1M17 17l2.1 2.1M4.9 19.1 7 17M17 7l2.1-2.1"
        }
    };
    view! {
        <svg
            class="icon"
            viewBox="0 0 24 24"
            width="24"
            height="24"
            aria-hidden="true"
            focusable="false"
        >
            <path d=path />
        </svg>
    }
}

#[component]
pub fn HomePage() -> impl IntoView {
    set_title("Главная");
    let session = Session::get();
    let greeting = move || {
        session.profile.with(|profile| match profile {
            Some(profile) => format!("Здравствуйте, {}!", profile.full_name),
            None => "Здравствуйте!".to_owned(),
        })
    };
    view! {
        <section aria-labelledby="page-title">
            <h1 id="page-title">"Личный кабинет"</h1>
            <p class="lead">{greeting}</p>
            <CurrentAccount />
            <h2 class="section-title">"Панель операций"</h2>
            <ul class="tiles">
                {OPERATIONS
                    .iter()
                    .map(|operation| {
                        view! {
                            <li>
                                <a href=operation.href class="tile">
                                    {icon(operation.icon)}
                                    <span class="tile-label">{operation.label}</span>
                                    <span class="tile-description">{operation.description}</span>
                                </a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}

/// The account the cabinet shows, or the one waiting for its activation link, or the way to add
/// one.
#[component]
fn CurrentAccount() -> impl IntoView {
    let current = RwSignal::new(None);
    leptos::task::spawn_local(async move {
        current.set(Some(api::accounts().await.map(|accounts| {
            let pending = accounts.iter().find(|a| a.status == "pending").cloned();
            (crate::forms::current_of(accounts), pending)
        })));
    });
    move || {
        current.get().map(|loaded| match loaded {
            Ok((None, Some(pending))) => view! {
                <div class="card current-account">
                    <p>
                        {format!(
                            "Лицевой счет {} ожидает активации: перейдите по ссылке из письма, \
                             отправленного на вашу почту.",
                            pending.number
                        )}
                    </p>
                    <A href="/accounts">"Мои лицевые счета"</A>
                </div>
            }
            .into_any(),
            Ok((Some(account), _)) => view! {
                <div class="card current-account">
                    <p class="current-account-label">"Текущий лицевой счет"</p>
                    <p class="account-number"><strong>{account.number}</strong></p>
                    <p class="account-address">{account.address}</p>
                    <A href="/accounts">"Мои лицевые счета"</A>
                </div>
            }
            .into_any(),
            Ok((None, None)) => view! {
                <div class="card current-account">
                    <p>"Чтобы передавать показания, привяжите лицевой счет."</p>
                    <a class="button button-primary" href="/accounts?add=1">
                        "Добавить лицевой счет"
                    </a>
                </div>
            }
            .into_any(),
            Err(problem) => view! { <p class="alert alert-error">{problem.detail}</p> }.into_any(),
        })
    }
}

#[component]
pub fn NotFoundPage() -> impl IntoView {
    set_title("Страница не найдена");
    view! {
        <section class="card" aria-labelledby="page-title">
            <h1 id="page-title">"Страница не найдена"</h1>
            <p>"Такой страницы нет. Возможно, ссылка устарела или в адресе опечатка."</p>
            <p>
                <A href="/">"Вернуться на главную страницу"</A>
            </p>
        </section>
    }
}
