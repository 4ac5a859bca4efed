//! «Передача показаний»: a row per meter of the current account (F4).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use crate::api::{self, Account, Meter, ReadingBrief};
use crate::components::{Notice, focus, set_title};
use crate::forms::{
    is_below_previous, month_label, reading_status_label, ru_date, source_label, validate_reading,
};
use crate::pages::common::{Loaded, loaded_view, meter_title};

/// The current account and its meters (`None`: no active account yet).
pub type AccountMeters = Option<(Account, Vec<Meter>)>;

pub fn load_account_meters(target: Loaded<AccountMeters>) {
    spawn_local(async move {
        let result = async {
            match api::current_account().await? {
                Some(account) => {
                    let meters = api::meters(account.id).await?;
                    Ok(Some((account, meters)))
                }
                None => Ok(None),
            }
        }
        .await;
        target.set(Some(result));
    });
}

/// «Лицевой счет 720000032, адрес» above the meters, or how to add an account.
pub fn account_header(data: &AccountMeters) -> Option<AnyView> {
    match data {
        Some((account, _)) => Some(
            view! {
                <p class="lead">
                    "Лицевой счет " <strong>{account.number.clone()}</strong> ", "
                    {account.address.clone()}
                </p>
            }
            .into_any(),
        ),
        None => Some(
            view! {
                <div class="card">
                    <p>"Лицевой счет не привязан к личному кабинету."</p>
                    <a class="button button-primary" href="/accounts?add=1">
                        "Добавить лицевой счет"
                    </a>
                </div>
            }
            .into_any(),
        ),
    }
}

#[component]
pub fn ReadingsPage() -> impl IntoView {
    set_title("Передача показаний");
    let data: Loaded<AccountMeters> = RwSignal::new(None);
    load_account_meters(data);
    view! {
        <section aria-labelledby="page-title">
            <h1 id="page-title">"Передача показаний"</h1>
            {loaded_view(data, |data: &AccountMeters| {
                let meters = data.as_ref().map(|(_, m)| m.clone()).unwrap_or_default();
                view! {
                    {account_header(data)}
                    {(data.is_some() && meters.is_empty()).then(|| view! {
                        <p class="card">"У лицевого счета нет приборов учета."</p>
                    })}
                    <div class="meter-rows">
                        {meters.into_iter().map(|meter| view! { <ReadingRow meter=meter /> }).collect_view()}
                    </div>
                }
            })}
        </section>
    }
}

/// This month's reading, with its status and where it came from.
fn current_reading_view(reading: &ReadingBrief) -> impl IntoView + use<> {
    view! {
        <div class="reading-current" class:reading-rejected=reading.status == "rejected">
            <p>
                "Показания за " {month_label(&reading.billing_month)} ": "
                <strong>{reading.value.clone()}</strong>
                " от " {ru_date(&reading.date)}
            </p>
            <p>
                <span class=format!("badge badge-{}", reading.status)>
                    {reading_status_label(&reading.status)}
                </span>
                " Источник: " {source_label(&reading.source)}
            </p>
            {reading.reason.clone().map(|reason| view! { <p>"Причина: " {reason}</p> })}
        </div>
    }
}

#[component]
fn ReadingRow(meter: Meter) -> impl IntoView {
    let id = meter.id;
    let input_id = format!("reading-{id}");
    let error_id = format!("reading-{id}-error");
    let title_id = format!("meter-{id}-title");
    let title = meter_title(&meter);
    let labelled_by = title_id.clone();
    let value = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let error_code = RwSignal::new(String::new());
    let confirm = RwSignal::new(false);
    let rollover = RwSignal::new(false);
    let pending = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);
    let current = RwSignal::new(meter.current_reading.clone());
    let meter = StoredValue::new(meter);
    let below = move || meter.with_value(|m| is_below_previous(m, &value.get()));

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let body = meter.with_value(|m| {
            validate_reading(
                m,
                &value.get_untracked(),
                confirm.get_untracked() && error_code.get_untracked() == "implausible_consumption",
                rollover.get_untracked() && is_below_previous(m, &value.get_untracked()),
            )
        });
        let body = match body {
            Ok(body) => body,
            Err(message) => {
                error_code.set(String::new());
                error.set(Some(message));
                focus(&format!("reading-{id}"));
                return;
            }
        };
        error.set(None);
        done.set(None);
        pending.set(true);
        spawn_local(async move {
            let result = api::submit_reading(id, &body).await;
            pending.set(false);
            match result {
                Ok(reading) => {
                    current.set(Some(reading.brief()));
                    value.set(String::new());
                    confirm.set(false);
                    rollover.set(false);
                    error_code.set(String::new());
                    done.set(Some("Показания переданы.".into()));
                }
                Err(problem) => {
                    let mut message = problem.detail.clone();
                    for field in &problem.errors {
                        if !message.contains(&field.detail) {
                            message.push(' ');
                            message.push_str(&field.detail);
                        }
                    }
                    error_code.set(problem.code.clone());
                    error.set(Some(message));
                    focus(&format!("reading-{id}"));
                }
            }
        });
    };

    let (previous, accepts, refusal, unit) = meter.with_value(|m| {
        (
            m.previous_reading.clone(),
            m.accepts_readings,
            m.refusal.clone(),
            m.unit.clone(),
        )
    });
    let previous_date = previous
        .as_ref()
        .map(|p| ru_date(&p.date))
        .unwrap_or_else(|| "—".into());
    let previous_value = previous
        .as_ref()
        .map(|p| p.value.clone())
        .unwrap_or_else(|| "нет".into());

    let form = if accepts {
        let described = {
            let error_id = error_id.clone();
            move || {
                let previous = format!("previous-{id}");
                match error.with(Option::is_some) {
                    true => format!("{previous} {error_id}"),
                    false => previous,
                }
            }
        };
        view! {
            <form class="reading-form" on:submit=on_submit novalidate="">
                <div class="field" class:invalid=move || error.with(Option::is_some)>
                    <label for=input_id.clone()>"Новые показания"</label>
                    <div class="input-unit">
                        <input
                            id=input_id.clone()
                            name="value"
                            type="text"
                            inputmode="decimal"
                            autocomplete="off"
                            placeholder=previous.as_ref().map(|p| p.value.clone())
                            aria-invalid=move || error.with(Option::is_some).then_some("true")
                            aria-describedby=described
                            prop:value=move || value.get()
                            on:input=move |ev| {
                                value.set(event_target_value(&ev));
                                if error.with_untracked(Option::is_some) && error_code.get_untracked() != "implausible_consumption" {
                                    error.set(None);
                                }
                            }
                        />
                        <span class="unit">{unit}</span>
                    </div>
                    <p class="hint" id=format!("previous-{id}")>
                        "Предыдущие показания " <strong>{previous_value}</strong>
                    </p>
                    <div role="alert">
                        {move || error.get().map(|message| view! {
                            <p class="field-error" id=error_id.clone()>{message}</p>
                        })}
                    </div>
                    <Show when=move || error_code.get() == "verification_expired">
                        <p><a href=format!("/meters/{id}/application")>"Подать заявление по прибору учета"</a></p>
                    </Show>
                    <Show when=move || error_code.get() == "implausible_consumption">
                        <div class="field-check">
                            <input id=format!("confirm-{id}") type="checkbox" bind:checked=confirm />
                            <label for=format!("confirm-{id}")>"Показание верное, подтверждаю расход"</label>
                        </div>
                    </Show>
                    <Show when=below>
                        <div class="field-check">
                            <input id=format!("rollover-{id}") type="checkbox" bind:checked=rollover />
                            <label for=format!("rollover-{id}")>"Счетчик перешёл через ноль (после максимального значения)"</label>
                        </div>
                    </Show>
                </div>
                <button
                    type="submit"
                    class="button button-primary"
                    disabled=move || pending.get()
                    aria-busy=move || pending.get().then_some("true")
                >
                    "ПЕРЕДАТЬ ПОКАЗАНИЯ"
                </button>
            </form>
        }
        .into_any()
    } else {
        let (code, detail) = refusal.unwrap_or_default();
        view! {
            <p>"Предыдущие показания " <strong>{previous_value}</strong></p>
            <div class="alert alert-error">
                <p>{detail}</p>
                {(code == "verification_expired").then(|| view! {
                    <p><a href=format!("/meters/{id}/application")>"Подать заявление по прибору учета"</a></p>
                })}
            </div>
        }
        .into_any()
    };

    view! {
        // As in the manual: the date of the previous reading beside the meter, its value under
        // the new one.
        <section class="card meter-row" aria-labelledby=labelled_by>
            <div class="meter-row-head">
                <h2 id=title_id>{title}</h2>
                <p class="muted">"Предыдущие показания " {previous_date}</p>
            </div>

            {move || current.get().map(|r| current_reading_view(&r))}
            <Notice message=done.into() />
            {form}
            <p class="row-links">
                <A href=format!("/meters/{id}/history")>"История показаний"</A>
            </p>
        </section>
    }
}
