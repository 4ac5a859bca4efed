//! The shell (top bar, ☰ side menu, footer with the hotline) and the routes.

use leptos::prelude::*;
use leptos::wasm_split::SplitLoaderError;
use leptos_router::NavigateOptions;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::{Lazy, LazyRoute, path};

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
                    // The login page comes with the first load; every other page is a module of
                    // its own, loaded when it is first opened (see `lazy_pages!`).
                    <Route path=path!("/login") view=LoginPage />
                    <Route path=path!("/register") view={Lazy::<Register>::new()} />
                    <Route path=path!("/forgot-password") view={Lazy::<ForgotPassword>::new()} />
                    <Route
                        path=path!("/resend-confirmation")
                        view={Lazy::<ResendConfirmation>::new()}
                    />
                    <Route path=path!("/confirm-email") view={Lazy::<ConfirmEmail>::new()} />
                    <Route path=path!("/reset-password") view={Lazy::<ResetPassword>::new()} />
                    <Route
                        path=path!("/confirm-email-change")
                        view={Lazy::<ConfirmEmailChange>::new()}
                    />
                    <Route path=path!("/accounts/confirm") view={Lazy::<ConfirmAccount>::new()} />
                    <Route path=path!("/") view={Lazy::<Home>::new()} />
                    <Route path=path!("/accounts") view={Lazy::<Accounts>::new()} />
                    <Route path=path!("/readings") view={Lazy::<Readings>::new()} />
                    <Route path=path!("/meters") view={Lazy::<Meters>::new()} />
                    <Route
                        path=path!("/meters/:id/application")
                        view={Lazy::<ApplicationForm>::new()}
                    />
                    <Route path=path!("/meters/:id/history") view={Lazy::<History>::new()} />
                    <Route path=path!("/applications") view={Lazy::<Applications>::new()} />
                    <Route path=path!("/applications/:id") view={Lazy::<Application>::new()} />
                    <Route path=path!("/settings") view={Lazy::<ProfileSettings>::new()} />
                    <Route path=path!("/settings/email") view={Lazy::<EmailSettings>::new()} />
                    <Route
                        path=path!("/settings/password")
                        view={Lazy::<PasswordSettings>::new()}
                    />
                    <Route
                        path=path!("/settings/sessions")
                        view={Lazy::<SessionsSettings>::new()}
                    />
                    <Route path=path!("/operator") view={Lazy::<Queue>::new()} />
                    <Route path=path!("/operator/accounts") view={Lazy::<CustomerAccounts>::new()} />
                    <Route
                        path=path!("/operator/applications/:id")
                        view={Lazy::<CustomerApplication>::new()}
                    />
                </Routes>
            </main>
            <Footer />
        </Router>
    }
}

/// Pages loaded with a WebAssembly module of their group when a page of the group is first
/// opened: `cargo xtask web` splits the code only a group uses out of the first load (the login
/// page's). Each group is one `wasm_split` function rendering any of its pages; a route of the
/// group awaits it (`LazyRoute`), so the page appears whole once its module is there. A page
/// behind `RequireAuth` is shown to signed-in users only.
macro_rules! lazy_pages {
    ($module:ident($group:ident) { $($route:ident => $page:ident $(behind $guard:ident)?;)* }) => {
        #[derive(Clone, Copy)]
        #[repr(u8)]
        enum $group {
            $($route,)*
        }

        #[::leptos::wasm_split::wasm_split(
            $module,
            wasm_split_path = ::leptos::wasm_split,
            fallible
        )]
        fn $module(page: $group) -> Result<AnyView, SplitLoaderError> {
            Ok(match page {
                $($group::$route => lazy_pages!(@view $page $($guard)?),)*
            })
        }

        $(
            struct $route;

            impl LazyRoute for $route {
                fn data() -> Self {
                    Self
                }

                async fn view(_this: Self) -> AnyView {
                    loaded_page($module($group::$route).await)
                }
            }
        )*
    };
    (@view $page:ident) => { view! { <$page /> }.into_any() };
    (@view $page:ident $guard:ident) => { view! { <$guard><$page /></$guard> }.into_any() };
}

lazy_pages! {
    public_pages(PublicPage) {
        Register => RegisterPage;
        ForgotPassword => ForgotPasswordPage;
        ResendConfirmation => ResendConfirmationPage;
        ConfirmEmail => ConfirmEmailPage;
        ResetPassword => ResetPasswordPage;
        ConfirmEmailChange => ConfirmEmailChangePage;
        ConfirmAccount => ConfirmAccountPage;
    }
}

lazy_pages! {
    cabinet_pages(CabinetPage) {
        Home => HomePage behind RequireAuth;
        Accounts => AccountsPage behind RequireAuth;
        Readings => ReadingsPage behind RequireAuth;
        Meters => MetersPage behind RequireAuth;
        ApplicationForm => ApplicationFormPage behind RequireAuth;
        History => HistoryPage behind RequireAuth;
        Applications => ApplicationsPage behind RequireAuth;
        Application => ApplicationPage behind RequireAuth;
        ProfileSettings => ProfileSettingsPage behind RequireAuth;
        EmailSettings => EmailSettingsPage behind RequireAuth;
        PasswordSettings => PasswordSettingsPage behind RequireAuth;
        SessionsSettings => SessionsSettingsPage behind RequireAuth;
    }
}

lazy_pages! {
    operator_pages(OperatorPage) {
        Queue => OperatorQueuePage behind RequireAuth;
        CustomerAccounts => OperatorAccountsPage behind RequireAuth;
        CustomerApplication => OperatorApplicationPage behind RequireAuth;
    }
}

/// A page whose module came, or what to do when it could not be loaded (a phone that lost its
/// connection): the app itself goes on working.
fn loaded_page(page: Result<AnyView, SplitLoaderError>) -> AnyView {
    page.unwrap_or_else(|_| {
        view! {
            <div class="alert-slot" role="alert">
                <p class="alert alert-error">
                    "Не удалось загрузить страницу. Проверьте подключение к интернету и обновите \
                     страницу."
                </p>
            </div>
        }
        .into_any()
    })
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
    view! {
        <footer class="footer">
            {move || {
                let (branch, hotline) = info.get().map_or_else(
                    || (BRANCH.to_owned(), HOTLINE.to_owned()),
                    |info| (info.branch, info.hotline),
                );
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
