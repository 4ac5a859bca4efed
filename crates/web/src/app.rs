//! The shell (top bar, ☰ side menu, footer with the hotline) and the routes.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::path;

use crate::api;
use crate::components::focus;
use crate::forms::{BRANCH, HOTLINE, login_path_for, tel_href};
use crate::pages::accounts::AccountsPage;
use crate::pages::applications::{ApplicationPage, ApplicationsPage};
use crate::pages::auth::{ForgotPasswordPage, LoginPage, RegisterPage, ResendConfirmationPage};
use crate::pages::home::{HomePage, Icon, NotFoundPage, OPERATIONS, icon};
use crate::pages::links::{
    ConfirmAccountPage, ConfirmEmailChangePage, ConfirmEmailPage, ResetPasswordPage,
};
use crate::pages::meters::{ApplicationFormPage, HistoryPage, MetersPage};
use crate::pages::operator::{OperatorAccountsPage, OperatorApplicationPage, OperatorQueuePage};
use crate::pages::readings::ReadingsPage;
use crate::pages::settings::{
    EmailSettingsPage, PasswordSettingsPage, ProfileSettingsPage, SessionsSettingsPage, logout,
};
use crate::session::{AuthState, Session};

/// The address bar's path and query, for coming back after signing in.
fn current_path() -> String {
    let location = window().location();
    let path = location.pathname().unwrap_or_default();
    let search = location.search().unwrap_or_default();
    format!("{path}{search}")
}

#[component]
pub fn App() -> impl IntoView {
    let session = Session::start();
    provide_context(session);

    view! {
        <Router>
            <a class="skip-link" href="#main">
                "Перейти к содержимому"
            </a>
            <TopBar />
            <main id="main" tabindex="-1">
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/login") view=LoginPage />
                    <Route path=path!("/register") view=RegisterPage />
                    <Route path=path!("/forgot-password") view=ForgotPasswordPage />
                    <Route path=path!("/resend-confirmation") view=ResendConfirmationPage />
                    <Route path=path!("/confirm-email") view=ConfirmEmailPage />
                    <Route path=path!("/reset-password") view=ResetPasswordPage />
                    <Route path=path!("/confirm-email-change") view=ConfirmEmailChangePage />
                    <Route
                        path=path!("/")
                        view=|| view! { <RequireAuth><HomePage /></RequireAuth> }
                    />
                    <Route
                        path=path!("/accounts")
                        view=|| view! { <RequireAuth><AccountsPage /></RequireAuth> }
                    />
                    <Route
                        path=path!("/readings")
                        view=|| view! { <RequireAuth><ReadingsPage /></RequireAuth> }
                    />
                    <Route
                        path=path!("/meters")
                        view=|| view! { <RequireAuth><MetersPage /></RequireAuth> }
                    />
                    <Route
                        path=path!("/applications")
                        view=|| view! { <RequireAuth><ApplicationsPage /></RequireAuth> }
                    />
                    <Route path=path!("/accounts/confirm") view=ConfirmAccountPage />
                    <Route
                        path=path!("/meters/:id/application")
                        view=|| view! { <RequireAuth><ApplicationFormPage /></RequireAuth> }
                    />
                    <Route
                        path=path!("/meters/:id/history")
                        view=|| view! { <RequireAuth><HistoryPage /></RequireAuth> }
                    />
                    <Route
                        path=path!("/applications/:id")
                        view=|| view! { <RequireAuth><ApplicationPage /></RequireAuth> }
                    />
                    <Route
                        path=path!("/settings")
                        view=|| view! { <RequireAuth><ProfileSettingsPage /></RequireAuth> }
                    />
                    <Route
                        path=path!("/settings/email")
                        view=|| view! { <RequireAuth><EmailSettingsPage /></RequireAuth> }
                    />
                    <Route
                        path=path!("/settings/sessions")
                        view=|| view! { <RequireAuth><SessionsSettingsPage /></RequireAuth> }
                    />
                    <Route
                        path=path!("/operator")
                        view=|| view! { <RequireAuth><OperatorQueuePage /></RequireAuth> }
                    />
                    <Route
                        path=path!("/operator/accounts")
                        view=|| view! { <RequireAuth><OperatorAccountsPage /></RequireAuth> }
                    />
                    <Route
                        path=path!("/operator/applications/:id")
                        view=|| view! { <RequireAuth><OperatorApplicationPage /></RequireAuth> }
                    />
                    <Route
                        path=path!("/settings/password")
                        view=|| view! { <RequireAuth><PasswordSettingsPage /></RequireAuth> }
                    />
                </Routes>
            </main>
            <Footer />
        </Router>
    }
}

/// A page for signed-in users only: while the session is being restored it shows «Загрузка…»,
/// without a session it sends the user to the login page, which brings them back here.
#[component]
fn RequireAuth(children: ChildrenFn) -> impl IntoView {
    let session = Session::get();
    // Changes only when the state does, so the page is not rebuilt by a repeated `set`.
    let state = Memo::new(move |_| session.state.get());
    let navigate = use_navigate();
    Effect::new(move |_| {
        if state.get() == AuthState::SignedOut {
            navigate(
                &login_path_for(&current_path()),
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
    });
    move || match state.get() {
        AuthState::SignedIn => Some(children().into_any()),
        AuthState::Restoring => {
            Some(view! { <p class="loading" role="status">"Загрузка…"</p> }.into_any())
        }
        AuthState::SignedOut => None,
    }
}

fn focus_new_page() {
    let document = document();
    let (Some(main), active) = (
        document.get_element_by_id("main"),
        document.active_element(),
    ) else {
        return;
    };
    if !active.is_some_and(|active| main.contains(Some(&active))) {
        focus("main");
    }
}

/// The brand, and for a signed-in user the ☰ button of the side menu.
#[component]
fn TopBar() -> impl IntoView {
    let session = Session::get();
    let open = RwSignal::new(false);
    let location = use_location();
    // A followed link closes the menu, and the new page gets the focus (a screen reader then
    // reads it), unless it focused a field of its own.
    Effect::new(move |first: Option<()>| {
        // Read, not just tracked: a memo nobody reads is never recomputed, so never changes.
        location.pathname.with(|_| ());
        open.set(false);
        if first.is_some() {
            request_animation_frame(focus_new_page);
        }
    });
    // Signing out closes it too.
    Effect::new(move |_| {
        if !session.is_signed_in() {
            open.set(false);
        }
    });
    let toggle = move |_| {
        let opening = !open.get_untracked();
        open.set(opening);
        if opening {
            // After the menu is shown.
            request_animation_frame(|| focus("side-menu-first"));
        }
    };
    let close = move || {
        open.set(false);
        focus("menu-button");
    };
    // Escape closes the menu wherever the focus is.
    let _ = window_event_listener(leptos::ev::keydown, move |event| {
        if event.key() == "Escape" && open.get_untracked() {
            close();
        }
    });
    let navigate = use_navigate();
    let on_logout = move |_| logout(session, navigate.clone());

    view! {
        <header class="topbar">
            <Show when=move || session.is_signed_in()>
                <button
                    id="menu-button"
                    type="button"
                    class="menu-button"
                    aria-label="Меню"
                    aria-controls="side-menu"
                    aria-expanded=move || if open.get() { "true" } else { "false" }
                    on:click=toggle
                >
                    <span aria-hidden="true">"☰"</span>
                </button>
            </Show>
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">
                    "Т"
                </span>
                <span class="brand-text">
                    <span class="brand-name">"Т Плюс"</span>
                    <span class="brand-title">"Личный кабинет"</span>
                </span>
            </a>
            <span class="topbar-user">
                {move || session.profile.with(|p| p.as_ref().map(|p| p.full_name.clone()))}
            </span>
        </header>
        <div class="backdrop" hidden=move || !open.get() on:click=move |_| close()></div>
        <nav
            id="side-menu"
            class="drawer"
            aria-label="Меню"
            hidden=move || !open.get()
        >
            <ul>
                <li>
                    <a id="side-menu-first" href="/" class="drawer-link">
                        {icon(Icon::Home)}
                        <span>"Главная"</span>
                    </a>
                </li>
                {OPERATIONS
                    .iter()
                    .map(|operation| {
                        view! {
                            <li>
                                <A href=operation.href>
                                    {icon(operation.icon)}
                                    <span>{operation.label}</span>
                                </A>
                            </li>
                        }
                    })
                    .collect_view()}
                <Show when=move || {
                    session.profile.with(|p| p.as_ref().is_some_and(|p| p.role == "operator"))
                }>
                    <li>
                        <A href="/operator">
                            {icon(Icon::Applications)}
                            <span>"Заявления клиентов"</span>
                        </A>
                    </li>
                    <li>
                        <A href="/operator/accounts">
                            {icon(Icon::Accounts)}
                            <span>"Лицевые счета клиентов"</span>
                        </A>
                    </li>
                </Show>
                <li>
                    <button type="button" class="drawer-link link-button" on:click=on_logout>
                        {icon(Icon::Exit)}
                        <span>"Выход"</span>
                    </button>
                </li>
            </ul>
        </nav>
    }
}

/// The branch and its hotline, from `GET /api/v1/info`; the Penza branch's until it answers, so
/// that the hotline is there even when the API is not.
#[component]
fn Footer() -> impl IntoView {
    let info = RwSignal::new(None::<api::BranchInfo>);
    leptos::task::spawn_local(async move {
        if let Ok(loaded) = api::info().await {
            info.set(Some(loaded));
        }
    });
    let shown = move || {
        info.get().map_or_else(
            || (BRANCH.to_owned(), HOTLINE.to_owned()),
            |info| (info.branch, info.hotline),
        )
    };
    view! {
        <footer class="footer">
            {move || {
                let (branch, hotline) = shown();
                let tel = tel_href(&hotline);
                view! {
                    <p>{branch}</p>
                    <p>
                        "Горячая линия: "
                        <a href=tel>{hotline}</a>
                    </p>
                }
            }}
        </footer>
    }
}
