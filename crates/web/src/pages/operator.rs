//! The operator's console: the queue of applications, one application with its answer, and
//! the correction of a meter's data with its audit log (F6).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::{self, Application, OperatorAccount, OperatorMeter};
use crate::components::{Field, FormAlert, Notice, Submit, set_title, show_errors};
use crate::forms::{
    CorrectionForm, FormErrors, QUEUE_FILTERS, change_field_label, parse_id, ru_date,
    validate_account_search, validate_answer,
};
use crate::pages::applications::{files_view, status_badge};
use crate::pages::common::{Loaded, loaded_view};

#[component]
pub fn OperatorQueuePage() -> impl IntoView {
    set_title("Заявления клиентов");
    let status = RwSignal::new("new".to_owned());
    let queue: Loaded<Vec<Application>> = RwSignal::new(None);
    Effect::new(move |_| {
        let status = status.get();
        queue.set(None);
        spawn_local(async move {
            let result = api::operator_queue(&status).await.map(|mut list| {
                // Oldest first: the one waiting longest is answered first.
                list.sort_by(|a, b| a.created_at.cmp(&b.created_at));
                list
            });
            queue.set(Some(result));
        });
    });
    view! {
        <section aria-labelledby="page-title">
            <h1 id="page-title">"Заявления клиентов"</h1>
            <div class="field queue-filter">
                <label for="queue-status">"Статус"</label>
                <select
                    id="queue-status"
                    on:change=move |ev| status.set(event_target_value(&ev))
                >
                    {QUEUE_FILTERS.iter().map(|(value, label)| view! {
                        <option value=*value selected=move || status.get() == *value>{*label}</option>
                    }).collect_view()}
                </select>
            </div>
            {loaded_view(queue, |list: &Vec<Application>| {
                if list.is_empty() {
                    return view! { <p class="card">"Заявлений нет."</p> }.into_any();
                }
                view! {
                    <ul class="app-list">
                        {list.iter().map(|a| view! {
                            <li class="card app-item">
                                <a href=format!("/operator/applications/{}", a.id) class="app-link">
                                    {format!("Заявление № {} от {}", a.id, ru_date(&a.created_at))}
                                </a>
                                {status_badge(&a.status)}
                                <p>{a.customer_name.clone()} " · " {a.customer_email.clone()}</p>
                                <p class="muted">{format!("ЛС {}, прибор учета {} {}", a.account_number, a.meter_name, a.serial_number)}</p>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            })}
        </section>
    }
}

#[component]
pub fn OperatorApplicationPage() -> impl IntoView {
    set_title("Заявление клиента");
    let id = use_params_map().with_untracked(|p| p.get("id").and_then(|id| parse_id(&id)));
    let app: Loaded<Application> = RwSignal::new(None);
    let meter_id = RwSignal::new(None::<i64>);
    let errors = RwSignal::new(FormErrors::default());
    let done = RwSignal::new(None::<String>);
    spawn_local(async move {
        let result = match id {
            Some(id) => api::operator_application(id).await,
            None => Err(api::Problem::unexpected(404)),
        };
        if let Ok(a) = &result {
            meter_id.set(Some(a.meter_id));
        }
        app.set(Some(result));
    });
    view! {
        <section aria-labelledby="page-title">
            {loaded_view(app, move |a: &Application| view! {
                <ApplicationView application=a.clone() target=app errors=errors done=done />
            })}
            {move || meter_id.get().map(|meter| view! { <MeterCorrection meter_id=meter application_id=id /> })}
            <p><A href="/operator">"Все заявления"</A></p>
        </section>
    }
}

#[component]
fn ApplicationView(
    application: Application,
    target: Loaded<Application>,
    /// Owned by the page: the view is rebuilt when the application reloads.
    errors: RwSignal<FormErrors>,
    done: RwSignal<Option<String>>,
) -> impl IntoView {
    let id = application.id;
    let answer = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let act = move |action: &'static str, message: &'static str| {
        if pending.get_untracked() {
            return;
        }
        pending.set(true);
        errors.set(FormErrors::default());
        spawn_local(async move {
            let result = api::operator_action(id, action).await;
            pending.set(false);
            match result {
                Ok(updated) => {
                    done.set(Some(message.into()));
                    target.set(Some(Ok(updated)));
                }
                Err(problem) => errors.set(FormErrors::from_problem(&problem, &[])),
            }
        });
    };
    let on_answer = move |event: SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let body = match validate_answer(&answer.get_untracked()) {
            Ok(body) => body,
            Err(invalid) => return show_errors(errors, invalid, &["answer"]),
        };
        pending.set(true);
        errors.set(FormErrors::default());
        spawn_local(async move {
            let result = api::operator_answer(id, &body).await;
            pending.set(false);
            match result {
                Ok(updated) => {
                    done.set(Some("Ответ отправлен клиенту.".into()));
                    target.set(Some(Ok(updated)));
                }
                Err(problem) => {
                    let mut invalid = FormErrors::from_problem(&problem, &["answer"]);
                    if let Some(e) = problem.errors.iter().find(|e| e.field == "text") {
                        invalid.set_field("answer", Some(e.detail.clone()));
                    }
                    show_errors(errors, invalid, &["answer"]);
                }
            }
        });
    };
    let answer_error = move || errors.with(|e| e.field("answer").map(str::to_owned));
    let status = application.status.clone();
    let closed = status == "closed";
    view! {
        <h1 id="page-title">{format!("Заявление № {}", id)}</h1>
        <Notice message=done.into() />
        <FormAlert errors=errors />
        <div class="card">
            <p>{status_badge(&status)} " от " {ru_date(&application.created_at)}</p>
            <dl class="facts">
                <div><dt>"Клиент"</dt><dd>{application.customer_name.clone()}</dd></div>
                <div><dt>"Email"</dt><dd>{application.customer_email.clone()}</dd></div>
                <div><dt>"Лицевой счет"</dt><dd>{application.account_number.clone()}</dd></div>
                <div><dt>"Прибор учета"</dt><dd>{format!("{} {}", application.meter_name, application.serial_number)}</dd></div>
            </dl>
            <h2>"Текст заявления"</h2>
            <p class="prewrap">{application.text.clone()}</p>
            {files_view(&application.files)}
            {application.answer.clone().map(|a| view! { <h2>"Ответ оператора"</h2><p class="prewrap">{a}</p> })}
            <div class="button-row">
                {(status == "new").then(|| view! {
                    <button type="button" class="button button-secondary" disabled=move || pending.get()
                        on:click=move |_| act("take", "Заявление взято в работу.")>"Взять в работу"</button>
                })}
                {(!closed).then(|| view! {
                    <button type="button" class="button button-ghost" disabled=move || pending.get()
                        on:click=move |_| act("close", "Заявление закрыто.")>"Закрыть"</button>
                })}
            </div>
        </div>
        {(!closed).then(|| view! {
            <form class="card" on:submit=on_answer novalidate="">
                <div class="field" class:invalid=move || answer_error().is_some()>
                    <label for="answer">"Ответ"</label>
                    <textarea
                        id="answer"
                        rows="6"
                        aria-describedby="answer-counter answer-error"
                        aria-invalid=move || answer_error().is_some().then_some("true")
                        prop:value=move || answer.get()
                        on:input=move |ev| answer.set(event_target_value(&ev))
                    ></textarea>
                    <p class="counter" id="answer-counter">{move || domain::counter(&answer.get())}</p>
                    <p class="field-error" id="answer-error">{answer_error}</p>
                </div>
                <Submit label="Ответить" pending=pending />
            </form>
        })}
    }
}

/// «Лицевые счета»: an account by its number, with its customers and its meters, whose data
/// the operator may correct here too.
#[component]
pub fn OperatorAccountsPage() -> impl IntoView {
    set_title("Лицевые счета клиентов");
    let number = RwSignal::new(String::new());
    let errors = RwSignal::new(FormErrors::default());
    let pending = RwSignal::new(false);
    let found: RwSignal<Option<OperatorAccount>> = RwSignal::new(None);
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let wanted = match validate_account_search(&number.get_untracked()) {
            Ok(wanted) => wanted,
            Err(invalid) => return show_errors(errors, invalid, &["account_number"]),
        };
        pending.set(true);
        errors.set(FormErrors::default());
        found.set(None);
        spawn_local(async move {
            let result = api::operator_account(&wanted).await;
            pending.set(false);
            match result {
                Ok(account) => found.set(Some(account)),
                Err(problem) if problem.status == 404 => errors.set(FormErrors {
                    summary: Some(format!("Лицевой счет {wanted} не найден.")),
                    ..Default::default()
                }),
                Err(problem) => errors.set(FormErrors::from_problem(&problem, &[])),
            }
        });
    };
    view! {
        <section aria-labelledby="page-title">
            <h1 id="page-title">"Лицевые счета клиентов"</h1>
            <form class="card" on:submit=on_submit novalidate="">
                <FormAlert errors=errors />
                <Field id="account_number" label="Номер лицевого счета" value=number errors=errors
                    inputmode="numeric" placeholder="720000032" required=true />
                <Submit label="Найти" pending=pending />
            </form>
            {move || found.get().map(|account| view! { <AccountView account=account /> })}
        </section>
    }
}

#[component]
fn AccountView(account: OperatorAccount) -> impl IntoView {
    let editing = RwSignal::new(None::<i64>);
    let payment = match (&account.last_payment_amount, &account.last_payment_date) {
        (Some(amount), Some(date)) => format!("{amount} ₽ от {}", ru_date(date)),
        (Some(amount), None) => format!("{amount} ₽"),
        _ => "—".to_owned(),
    };
    view! {
        <div class="card">
            <h2>{format!("Лицевой счет {}", account.number)}</h2>
            <dl class="facts">
                <div><dt>"Адрес"</dt><dd>{account.address.clone()}</dd></div>
                <div><dt>"Последний платеж"</dt><dd>{payment}</dd></div>
            </dl>
            <h3>"Клиенты"</h3>
            {if account.customers.is_empty() {
                view! { <p class="muted">"Лицевой счет никто не добавил в личный кабинет."</p> }.into_any()
            } else {
                view! {
                    <ul class="plain-list">
                        {account.customers.iter().map(|c| view! {
                            <li>
                                {c.full_name.clone()} " · " {c.email.clone()} " · " {c.phone.clone()}
                                {(c.status != "active").then_some(" (ожидает активации)")}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </div>
        // One editor at a time: its fields' ids are the API's field names.
        {account.meters.iter().map(|m| {
            let id = m.id;
            let meter: Loaded<OperatorMeter> = RwSignal::new(Some(Ok(m.clone())));
            let title = format!("Прибор учета {} {}", m.name, m.serial_number);
            let dates = format!(
                "Поверка: последняя {}, следующая {}",
                m.last_verification.as_deref().map_or("—".into(), ru_date),
                m.next_verification.as_deref().map_or("—".into(), ru_date),
            );
            view! {
                <section class="card" aria-label=title.clone()>
                    <h2>{title.clone()}</h2>
                    <p class="muted">{dates}</p>
                    <Show
                        when=move || editing.get() == Some(id)
                        fallback=move || view! {
                            <button type="button" class="button button-secondary"
                                on:click=move |_| editing.set(Some(id))>"Исправить данные"</button>
                        }
                    >
                        <MeterEditor meter=meter application_id=None />
                    </Show>
                </section>
            }
        }).collect_view()}
    }
}

#[component]
fn MeterCorrection(meter_id: i64, application_id: Option<i64>) -> impl IntoView {
    let meter: Loaded<OperatorMeter> = RwSignal::new(None);
    spawn_local(async move { meter.set(Some(api::operator_meter(meter_id).await)) });
    view! {
        <section class="card" aria-labelledby="correction-title">
            <h2 id="correction-title">"Данные прибора учета"</h2>
            <MeterEditor meter=meter application_id=application_id />
        </section>
    }
}

/// The correction form of a meter, rebuilt with the saved data after each change; the notice of
/// the save outlives the rebuild.
#[component]
fn MeterEditor(meter: Loaded<OperatorMeter>, application_id: Option<i64>) -> impl IntoView {
    let done = RwSignal::new(None::<String>);
    view! {
        <Notice message=done.into() />
        {loaded_view(meter, move |m: &OperatorMeter| view! {
            <MeterForm meter=m.clone() application_id=application_id target=meter done=done />
        })}
    }
}

#[component]
fn MeterForm(
    meter: OperatorMeter,
    application_id: Option<i64>,
    target: Loaded<OperatorMeter>,
    done: RwSignal<Option<String>>,
) -> impl IntoView {
    let initial = CorrectionForm::of(&meter);
    let serial = RwSignal::new(initial.serial_number);
    let last = RwSignal::new(initial.last_verification);
    let next = RwSignal::new(initial.next_verification);
    let errors = RwSignal::new(FormErrors::default());
    let pending = RwSignal::new(false);
    let changes = meter.changes.clone();
    let id = meter.id;
    let meter = StoredValue::new(meter);
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let form = CorrectionForm {
            serial_number: serial.get_untracked(),
            last_verification: last.get_untracked(),
            next_verification: next.get_untracked(),
        };
        let body = match meter.with_value(|m| form.validate(m, application_id)) {
            Ok(body) => body,
            Err(invalid) => return show_errors(errors, invalid, &CorrectionForm::FIELDS),
        };
        pending.set(true);
        errors.set(FormErrors::default());
        done.set(None);
        spawn_local(async move {
            let result = api::correct_meter(id, &body).await;
            pending.set(false);
            match result {
                Ok(updated) => {
                    done.set(Some(
                        "Данные прибора учета сохранены, изменение записано в журнал.".into(),
                    ));
                    target.set(Some(Ok(updated)));
                }
                Err(problem) => {
                    let invalid = FormErrors::from_problem(&problem, &CorrectionForm::FIELDS);
                    show_errors(errors, invalid, &CorrectionForm::FIELDS);
                    done.set(None);
                }
            }
        });
    };
    view! {
        <form on:submit=on_submit novalidate="">
            <FormAlert errors=errors />
            <Field id="serial_number" label="Заводской номер" value=serial errors=errors required=true />
            <div class="field-row">
                <Field id="last_verification" label="Дата последней поверки" value=last errors=errors input_type="date" />
                <Field id="next_verification" label="Дата следующей поверки" value=next errors=errors input_type="date" />
            </div>
            <Submit label="Сохранить изменения" pending=pending />
        </form>
        <h3>"Журнал изменений"</h3>
        {if changes.is_empty() {
            view! { <p class="muted">"Изменений не было."</p> }.into_any()
        } else {
            view! {
                <table class="history">
                    <thead><tr>
                        <th scope="col">"Когда"</th><th scope="col">"Поле"</th><th scope="col">"Было"</th>
                        <th scope="col">"Стало"</th><th scope="col">"Оператор"</th>
                    </tr></thead>
                    <tbody>
                        {changes.iter().map(|c| view! {
                            <tr>
                                <td data-label="Когда">{ru_date(&c.changed_at)}</td>
                                <td data-label="Поле">{change_field_label(&c.field).to_owned()}</td>
                                <td data-label="Было">{c.old_value.clone().unwrap_or_else(|| "—".into())}</td>
                                <td data-label="Стало">{c.new_value.clone().unwrap_or_else(|| "—".into())}</td>
                                <td data-label="Оператор">{c.operator_name.clone()}{c.application_id.map(|a| format!(" (заявление № {a})"))}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}
