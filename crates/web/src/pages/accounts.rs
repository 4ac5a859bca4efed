//! «Мои лицевые счета»: the linked accounts, the current one, unlinking, and the dialog
//! «Добавить лицевой счет» (F3).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use crate::api::{self, Account};
use crate::components::{Field, FormAlert, Notice, Submit, focus, set_title, show_errors};
use crate::forms::{AddAccountForm, FormErrors};
use crate::pages::common::{Loaded, hotline_link, loaded_view};

fn load(accounts: Loaded<Vec<Account>>) {
    spawn_local(async move {
        accounts.set(Some(api::accounts().await));
    });
}

fn status_label(account: &Account) -> &'static str {
    match account.status.as_str() {
        "active" => "Активен",
        "pending" => "Ожидает активации: перейдите по ссылке из письма",
        _ => "—",
    }
}

#[component]
pub fn AccountsPage() -> impl IntoView {
    set_title("Мои лицевые счета");
    let accounts: Loaded<Vec<Account>> = RwSignal::new(None);
    load(accounts);
    let open = RwSignal::new(use_query_map().with_untracked(|q| q.get("add").is_some()));
    let message = RwSignal::new(None::<String>);
    let errors = RwSignal::new(FormErrors::default());
    let confirming = RwSignal::new(None::<i64>);
    let busy = RwSignal::new(false);

    let make_current = move |id: i64| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        errors.set(FormErrors::default());
        spawn_local(async move {
            let result = api::make_current(id).await;
            busy.set(false);
            match result {
                Ok(()) => {
                    message.set(Some("Текущий лицевой счет изменён.".into()));
                    load(accounts);
                }
                Err(problem) => errors.set(FormErrors::from_problem(&problem, &[])),
            }
        });
    };
    let unlink = move |id: i64| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        errors.set(FormErrors::default());
        spawn_local(async move {
            let result = api::unlink_account(id).await;
            busy.set(false);
            confirming.set(None);
            match result {
                Ok(()) => {
                    message.set(Some("Лицевой счет отвязан от личного кабинета.".into()));
                    load(accounts);
                }
                Err(problem) => errors.set(FormErrors::from_problem(&problem, &[])),
            }
        });
    };

    let list = move |list: &Vec<Account>| {
        if list.is_empty() {
            return view! {
                <p>"К личному кабинету пока не привязан ни один лицевой счет."</p>
            }
            .into_any();
        }
        let rows = list
            .iter()
            .map(|account| {
                let id = account.id;
                let number = account.number.clone();
                let can_choose = account.status == "active" && !account.current;
                let confirm_text = format!("Отвязать лицевой счет {number} от личного кабинета?");
                view! {
                    <li class="account" class:account-current=account.current>
                        <div class="account-main">
                            <p class="account-number">
                                "ЛС "
                                <strong>{number.clone()}</strong>
                                {account.current.then(|| view! {
                                    <span class="badge badge-accent">"Текущий"</span>
                                })}
                            </p>
                            <p class="account-address">{account.address.clone()}</p>
                            <p
                                class="account-status"
                                class:muted=account.status != "active"
                            >
                                {status_label(account)}
                            </p>
                        </div>
                        <div class="account-actions">
                            {can_choose.then(|| view! {
                                <button
                                    type="button"
                                    class="button button-secondary"
                                    disabled=move || busy.get()
                                    on:click=move |_| make_current(id)
                                >
                                    "Сделать текущим"
                                </button>
                            })}
                            <Show
                                when=move || confirming.get() == Some(id)
                                fallback=move || view! {
                                    <button
                                        type="button"
                                        class="button button-ghost"
                                        on:click=move |_| {
                                            confirming.set(Some(id));
                                            request_animation_frame(move || focus(&format!("unlink-yes-{id}")));
                                        }
                                    >
                                        "Отвязать"
                                    </button>
                                }
                            >
                                <div class="confirm" role="group" aria-label="Подтверждение">
                                    <p>{confirm_text.clone()}</p>
                                    <button
                                        type="button"
                                        id=format!("unlink-yes-{id}")
                                        class="button button-danger"
                                        disabled=move || busy.get()
                                        on:click=move |_| unlink(id)
                                    >
                                        "Да, отвязать"
                                    </button>
                                    <button
                                        type="button"
                                        class="button button-ghost"
                                        on:click=move |_| confirming.set(None)
                                    >
                                        "Отмена"
                                    </button>
                                </div>
                            </Show>
                        </div>
                    </li>
                }
            })
            .collect_view();
        view! { <ul class="accounts">{rows}</ul> }.into_any()
    };

    view! {
        <section aria-labelledby="page-title">
            <h1 id="page-title">"Мои лицевые счета"</h1>
            <Notice message=message.into() />
            <FormAlert errors=errors />
            <div class="card">{loaded_view(accounts, list)}</div>
            <p class="actions">
                <button
                    type="button"
                    id="add-account"
                    class="button button-primary"
                    on:click=move |_| {
                        open.set(true);
                        request_animation_frame(|| focus("number"));
                    }
                >
                    "Добавить лицевой счет"
                </button>
            </p>
            <Show when=move || open.get()>
                <AddAccountDialog
                    on_close=Callback::new(move |()| {
                        open.set(false);
                        focus("add-account");
                    })
                    on_added=Callback::new(move |()| load(accounts))
                />
            </Show>
        </section>
    }
}

/// «Добавить лицевой счет»: «Введите лицевой счет и сумму последнего платежа».
#[component]
fn AddAccountDialog(on_close: Callback<()>, on_added: Callback<()>) -> impl IntoView {
    let number = RwSignal::new(String::new());
    let amount = RwSignal::new(String::new());
    let errors = RwSignal::new(FormErrors::default());
    let pending = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);
    let call_hotline = RwSignal::new(false);
    request_animation_frame(|| focus("number"));

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let form = AddAccountForm {
            number: number.get_untracked(),
            last_payment_amount: amount.get_untracked(),
        };
        let body = match form.validate() {
            Ok(body) => body,
            Err(invalid) => return show_errors(errors, invalid, &AddAccountForm::FIELDS),
        };
        errors.set(FormErrors::default());
        done.set(None);
        call_hotline.set(false);
        pending.set(true);
        spawn_local(async move {
            let result = api::add_account(&body).await;
            pending.set(false);
            match result {
                Ok(message) => {
                    done.set(Some(message.detail));
                    number.set(String::new());
                    amount.set(String::new());
                    on_added.run(());
                }
                Err(problem) => {
                    call_hotline.set(
                        problem.is("account_not_matched") || problem.is("account_number_locked"),
                    );
                    let invalid = FormErrors::from_problem(&problem, &AddAccountForm::FIELDS);
                    show_errors(errors, invalid, &AddAccountForm::FIELDS);
                }
            }
        });
    };
    let dialog = NodeRef::<leptos::html::Div>::new();
    let on_keydown = move |event: leptos::ev::KeyboardEvent| match event.key().as_str() {
        "Escape" => on_close.run(()),
        // The focus stays in the dialog: Tab from its last control goes to its first.
        "Tab" => {
            if let Some(dialog) = dialog.get_untracked()
                && keep_focus_inside(&dialog, event.shift_key())
            {
                event.prevent_default();
            }
        }
        _ => {}
    };

    view! {
        <div class="modal-backdrop" on:click=move |_| on_close.run(())></div>
        <div class="modal card" role="dialog" aria-modal="true" aria-labelledby="dialog-title"
            node_ref=dialog on:keydown=on_keydown>
            <h2 id="dialog-title">"Добавить лицевой счет"</h2>
            <p class="lead">"Введите лицевой счет и сумму последнего платежа"</p>
            <Notice message=done.into() />
            <form on:submit=on_submit novalidate="">
                <FormAlert errors=errors />
                <Show when=move || call_hotline.get()>{hotline_link()}</Show>
                <div class="field-row">
                    <Field
                        id="number"
                        label="Лицевой счет *"
                        value=number
                        errors=errors
                        inputmode="numeric"
                        placeholder="72#####32"
                        autocomplete="off"
                        required=true
                    />
                    <Field
                        id="last_payment_amount"
                        label="Сумма последнего платежа *"
                        value=amount
                        errors=errors
                        inputmode="decimal"
                        placeholder="500"
                        autocomplete="off"
                        required=true
                    />
                </div>
                <div class="button-row">
                    <Submit label="ДОБАВИТЬ >" pending=pending />
                    <button
                        type="button"
                        class="button button-ghost"
                        on:click=move |_| on_close.run(())
                    >
                        "ЗАКРЫТЬ"
                    </button>
                </div>
            </form>
        </div>
    }
}

/// On Tab at the last control of `dialog` (Shift+Tab at the first), focuses the other end and
/// says so: the caller then keeps the browser from moving the focus out.
fn keep_focus_inside(dialog: &web_sys::HtmlElement, backwards: bool) -> bool {
    use wasm_bindgen::JsCast;
    let Ok(found) = dialog.query_selector_all(
        "a[href], button:not([disabled]), input:not([disabled]), textarea, select",
    ) else {
        return false;
    };
    let controls: Vec<web_sys::HtmlElement> = (0..found.length())
        .filter_map(|i| found.get(i)?.dyn_into().ok())
        .collect();
    let (Some(first), Some(last)) = (controls.first(), controls.last()) else {
        return false;
    };
    let active = document().active_element();
    let (edge, other) = if backwards {
        (first, last)
    } else {
        (last, first)
    };
    if active.is_some_and(|active| active.is_same_node(Some(edge.as_ref()))) {
        let _ = other.focus();
        return true;
    }
    false
}
