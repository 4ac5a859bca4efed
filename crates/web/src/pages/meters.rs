//! «Приборы учета»: a card per meter (F5), the application form «Сообщить о неточности»
//! (F6) and a meter's readings history with a consumption chart.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::{self, Meter, Reading};
use crate::components::{FormAlert, focus, set_title, show_errors};
use crate::forms::{
    Bar, ChosenFile, FormErrors, check_files, consumption_bars, file_size, month_label, parse_id,
    reading_status_label, ru_date, source_label, validate_application, verification_label,
};
use crate::pages::common::{Loaded, find_meter, loaded_view, meter_title};
use crate::pages::readings::{AccountMeters, account_header, load_account_meters};

fn date_or_dash(date: &Option<String>) -> String {
    date.as_deref().map(ru_date).unwrap_or_else(|| "—".into())
}

#[component]
pub fn MetersPage() -> impl IntoView {
    set_title("Приборы учета");
    let data: Loaded<AccountMeters> = RwSignal::new(None);
    load_account_meters(data);
    view! {
        <section aria-labelledby="page-title">
            <h1 id="page-title">"Приборы учета"</h1>
            {loaded_view(data, |data: &AccountMeters| {
                let meters = data.as_ref().map(|(_, m)| m.clone()).unwrap_or_default();
                view! {
                    {account_header(data)}
                    <ul class="meter-cards">
                        {meters.iter().map(meter_card).collect_view()}
                    </ul>
                }
            })}
        </section>
    }
}

fn meter_card(meter: &Meter) -> impl IntoView + use<> {
    let id = meter.id;
    let warning = verification_label(&meter.verification_status);
    let status = meter.verification_status.clone();
    let last = meter
        .previous_reading
        .as_ref()
        .or(meter.current_reading.as_ref())
        .map(|r| format!("{} {} от {}", r.value, meter.unit, ru_date(&r.date)));
    let last = meter
        .current_reading
        .as_ref()
        .map(|r| format!("{} {} от {}", r.value, meter.unit, ru_date(&r.date)))
        .or(last)
        .unwrap_or_else(|| "—".into());
    let digits = format!(
        "{} до запятой, {} после",
        meter.whole_digits, meter.decimals
    );
    let title_id = format!("meter-card-{id}");
    let labelled_by = title_id.clone();
    view! {
        <li
            class="card meter-card"
            class:verification-expired=status == "expired"
            class:verification-soon=status == "expiring_soon"
            aria-labelledby=labelled_by
        >
            <h2 id=title_id>{meter.name.clone()} " " {meter.serial_number.clone()}</h2>
            {warning.map(|w| view! { <p class=format!("badge badge-{status}")>{w}</p> })}
            <dl class="facts">
                <div><dt>"Тип"</dt><dd>{format!("{}, {}", meter.kind_label, meter.unit)}</dd></div>
                <div><dt>"Заводской номер"</dt><dd>{meter.serial_number.clone()}</dd></div>
                <div><dt>"Место установки"</dt><dd>{if meter.place.is_empty() { "—".to_owned() } else { meter.place.clone() }}</dd></div>
                <div><dt>"Дата установки"</dt><dd>{date_or_dash(&meter.installed_on)}</dd></div>
                <div><dt>"Дата последней поверки"</dt><dd>{date_or_dash(&meter.last_verification)}</dd></div>
                <div class="fact-verification"><dt>"Дата следующей поверки"</dt><dd>{date_or_dash(&meter.next_verification)}</dd></div>
                <div><dt>"Разрядность"</dt><dd>{digits}</dd></div>
                <div><dt>"Последние показания"</dt><dd>{last}</dd></div>
            </dl>
            <p class="row-links">
                <A href=format!("/meters/{id}/application")>"Сообщить о неточности"</A>
                <A href=format!("/meters/{id}/history")>"История показаний"</A>
            </p>
        </li>
    }
}

fn route_id() -> Option<i64> {
    use_params_map().with_untracked(|p| p.get("id").and_then(|id| parse_id(&id)))
}

/// Loads the meter of the route (among the user's accounts): 404 as a problem.
fn load_meter(target: Loaded<(Meter, String)>) {
    let id = route_id();
    spawn_local(async move {
        let result = match id {
            Some(id) => find_meter(id).await,
            None => Ok(None),
        };
        target.set(Some(result.and_then(|found| {
            found.ok_or_else(|| crate::api::Problem {
                status: 404,
                code: "not_found".into(),
                detail: "Прибор учета не найден среди приборов ваших лицевых счетов.".into(),
                errors: Vec::new(),
            })
        })));
    });
}

fn chosen_files(input: &web_sys::HtmlInputElement) -> (Vec<ChosenFile>, Vec<web_sys::File>) {
    let mut chosen = Vec::new();
    let mut files = Vec::new();
    if let Some(list) = input.files() {
        for i in 0..list.length() {
            if let Some(file) = list.get(i) {
                chosen.push(ChosenFile {
                    name: file.name(),
                    size: file.size(),
                    content_type: file.type_(),
                });
                files.push(file);
            }
        }
    }
    (chosen, files)
}

/// «Опишите вашу проблему по прибору учета ГВС2 23_8995270».
#[component]
pub fn ApplicationFormPage() -> impl IntoView {
    set_title("Заявление по прибору учета");
    let meter: Loaded<(Meter, String)> = RwSignal::new(None);
    load_meter(meter);
    view! {
        <section class="application-form">
            {loaded_view(meter, |(meter, _): &(Meter, String)| {
                view! { <ApplicationForm meter_id=meter.id title=format!("Опишите вашу проблему по прибору учета {} {}", meter.name, meter.serial_number) /> }
            })}
        </section>
    }
}

#[component]
fn ApplicationForm(meter_id: i64, title: String) -> impl IntoView {
    let text = RwSignal::new(String::new());
    // What the list shows, and the files themselves (not `Send`: kept on this thread).
    let files = RwSignal::new(Vec::<ChosenFile>::new());
    let raw_files = StoredValue::new_local(Vec::<web_sys::File>::new());
    let errors = RwSignal::new(FormErrors::default());
    let pending = RwSignal::new(false);
    let input = NodeRef::<leptos::html::Input>::new();
    let navigate = use_navigate();
    let counter = move || domain::counter(&text.get());
    let text_error = move || errors.with(|e| e.field("text").map(str::to_owned));
    let files_error = move || errors.with(|e| e.field("files").map(str::to_owned));

    // «ДОБАВИТЬ ФАЙЛ» adds to the files chosen before; the input is emptied, so the same file
    // can be chosen again after it was removed.
    let on_files = move |_| {
        if let Some(el) = input.get_untracked() {
            let (chosen, raw) = chosen_files(&el);
            el.set_value("");
            files.update(|files| files.extend(chosen));
            raw_files.update_value(|files| files.extend(raw));
            errors.update(|e| e.set_field("files", files.with_untracked(|f| check_files(f))));
        }
    };
    let remove_file = move |index: usize| {
        files.update(|files| {
            files.remove(index);
        });
        raw_files.update_value(|files| {
            files.remove(index);
        });
        errors.update(|e| e.set_field("files", files.with_untracked(|f| check_files(f))));
        focus("files");
    };
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let chosen = files.get_untracked();
        let raw = raw_files.get_value();
        let body_text = match validate_application(&text.get_untracked(), &chosen) {
            Ok(t) => t,
            Err(invalid) => return show_errors(errors, invalid, &["text", "files"]),
        };
        let Ok(form) = web_sys::FormData::new() else {
            return;
        };
        let _ = form.append_with_str("text", &body_text);
        for file in &raw {
            let _ = form.append_with_blob_and_filename("files", file, &file.name());
        }
        errors.set(FormErrors::default());
        pending.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            let result = api::file_application(meter_id, form).await;
            pending.set(false);
            match result {
                Ok(application) => navigate(
                    &format!("/applications/{}?sent=1", application.id),
                    Default::default(),
                ),
                Err(problem) => {
                    let mut invalid = FormErrors::from_problem(&problem, &["text", "files"]);
                    // A refused file (413, 415) belongs next to the files.
                    if (problem.status == 413 || problem.status == 415) && invalid.fields.is_empty()
                    {
                        invalid.set_field("files", Some(problem.detail.clone()));
                    }
                    show_errors(errors, invalid, &["text", "files"]);
                }
            }
        });
    };
    let on_cancel = {
        let navigate = use_navigate();
        move |_| navigate("/meters", Default::default())
    };
    request_animation_frame(|| focus("text"));

    view! {
        <form class="card" on:submit=on_submit novalidate="">
            <h1 id="page-title"><label for="text">{title}</label></h1>
            <FormAlert errors=errors />
            <div class="field" class:invalid=move || text_error().is_some()>
                <textarea
                    id="text"
                    name="text"
                    rows="8"
                    aria-describedby="text-counter text-error"
                    aria-invalid=move || text_error().is_some().then_some("true")
                    prop:value=move || text.get()
                    on:input=move |ev| {
                        text.set(event_target_value(&ev));
                        if errors.with_untracked(|e| e.field("text").is_some()) {
                            errors.update(|e| e.set_field("text", None));
                        }
                    }
                ></textarea>
                <p class="counter" id="text-counter">{counter}</p>
                <p class="field-error" id="text-error">{text_error}</p>
            </div>
            <div class="field file-field" class:invalid=move || files_error().is_some()>
                <input
                    id="files"
                    name="files"
                    type="file"
                    multiple=true
                    class="visually-hidden"
                    accept=".jpg,.jpeg,.png,.pdf,image/jpeg,image/png,application/pdf"
                    aria-describedby="files-hint files-error"
                    node_ref=input
                    on:change=on_files
                />
                <label for="files" class="button button-secondary">"ДОБАВИТЬ ФАЙЛ"</label>
                <p class="hint" id="files-hint">"Фото или скан: JPEG, PNG или PDF, не более 5 файлов по 10 МБ."</p>
                <ul class="file-list">
                    {move || files.get().into_iter().enumerate().map(|(index, f)| {
                        let label = format!("Убрать файл {}", f.name);
                        view! {
                            <li>
                                {f.name} " (" {file_size(f.size)} ") "
                                <button type="button" class="link-button" aria-label=label
                                    on:click=move |_| remove_file(index)>"Убрать"</button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <p class="field-error" id="files-error">{files_error}</p>
            </div>
            <div class="button-row">
                <button type="button" class="button button-ghost" on:click=on_cancel>"ОТМЕНИТЬ"</button>
                <button
                    type="submit"
                    class="button button-primary"
                    disabled=move || pending.get()
                    aria-busy=move || pending.get().then_some("true")
                >
                    "ОТПРАВИТЬ"
                </button>
            </div>
        </form>
    }
}

/// A meter's readings: a table and a bar chart of consumption per month.
#[component]
pub fn HistoryPage() -> impl IntoView {
    set_title("История показаний");
    let meter: Loaded<(Meter, String)> = RwSignal::new(None);
    let history: Loaded<Vec<Reading>> = RwSignal::new(None);
    load_meter(meter);
    let id = route_id();
    spawn_local(async move {
        if let Some(id) = id {
            history.set(Some(api::readings(id).await));
        }
    });
    view! {
        <section aria-labelledby="page-title">
            <h1 id="page-title">"История показаний"</h1>
            {loaded_view(meter, |(meter, account): &(Meter, String)| view! {
                <p class="lead">{meter_title(meter)} ", лицевой счет " {account.clone()}</p>
            })}
            {move || meter.with(|m| m.as_ref().and_then(|m| m.as_ref().ok()).map(|(m, _)| m.unit.clone()))
                .map(|unit| loaded_view(history, move |history: &Vec<Reading>| history_view(history, &unit)))}
            <p><A href="/readings">"Передача показаний"</A> " · " <A href="/meters">"Приборы учета"</A></p>
        </section>
    }
}

fn history_view(history: &[Reading], unit: &str) -> AnyView {
    if history.is_empty() {
        return view! { <p class="card">"Показаний по этому прибору учета пока нет."</p> }
            .into_any();
    }
    let bars = consumption_bars(history, 12);
    let rows = history
        .iter()
        .map(|r| {
            let status = reading_status_label(&r.status);
            let reason = r.reason.clone().map(|reason| format!(": {reason}"));
            view! {
                <tr>
                    <td data-label="Месяц">{month_label(&r.billing_month)}</td>
                    <td data-label="Показание">{r.value.clone()} <span class="muted">" от " {ru_date(&r.date)}</span></td>
                    <td data-label="Расход">{r.consumption.clone().unwrap_or_else(|| "—".into())}</td>
                    <td data-label="Источник">{source_label(&r.source)}</td>
                    <td data-label="Статус">{status}{reason}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="card">
            <h2>{format!("Расход по месяцам, {unit}")}</h2>
            {chart(&bars, unit)}
        </div>
        <div class="card">
            <h2>"Показания"</h2>
            <table class="history">
                <thead>
                    <tr>
                        <th scope="col">"Месяц"</th>
                        <th scope="col">"Показание"</th>
                        <th scope="col">{format!("Расход, {unit}")}</th>
                        <th scope="col">"Источник"</th>
                        <th scope="col">"Статус"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// An inline SVG bar chart: one bar per month, its value above it and the month below.
fn chart(bars: &[Bar], unit: &str) -> AnyView {
    if bars.is_empty() {
        return view! { <p>"Расход появится, когда будет передано второе показание."</p> }
            .into_any();
    }
    const SLOT: u32 = 48;
    const TOP: u32 = 20;
    const PLOT: u32 = 140;
    let width = SLOT * bars.len() as u32;
    let height = TOP + PLOT + 24;
    let summary = bars
        .iter()
        .map(|b| format!("{}: {} {unit}", month_label(&b.month), b.consumption))
        .collect::<Vec<_>>()
        .join("; ");
    let items = bars
        .iter()
        .enumerate()
        .map(|(i, bar)| {
            let h = (bar.height * PLOT / 1000).max(1);
            let x = i as u32 * SLOT + 8;
            let y = TOP + PLOT - h;
            let center = x + (SLOT - 16) / 2;
            view! {
                <g>
                    <title>{format!("{}: {} {unit}", month_label(&bar.month), bar.consumption)}</title>
                    <rect class="bar" x=x y=y width=SLOT - 16 height=h rx="3" />
                    <text class="bar-value" x=center y=y - 4 text-anchor="middle">{bar.consumption.clone()}</text>
                    <text class="bar-label" x=center y=TOP + PLOT + 16 text-anchor="middle">{bar.label.clone()}</text>
                </g>
            }
        })
        .collect_view();
    // On a phone a year of bars is wider than the screen: the box scrolls, by keyboard too.
    view! {
        <div class="chart" tabindex="0" aria-label="График расхода, прокручивается">
            <svg
                viewBox=format!("0 0 {width} {height}")
                width=width
                height=height
                role="img"
                aria-label=format!("Расход по месяцам: {summary}")
            >
                <line class="axis" x1="0" y1=TOP + PLOT x2=width y2=TOP + PLOT />
                {items}
            </svg>
        </div>
    }
    .into_any()
}
