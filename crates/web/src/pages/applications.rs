//! «Мои заявления»: the list and one application with its files and the answer (F6).

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};
use wasm_bindgen::JsCast;

use crate::api::{self, Application, Attachment};
use crate::components::set_title;
use crate::forms::{application_status_label, file_size, parse_id, ru_date};
use crate::pages::common::{Loaded, loaded_view};

/// The status as a coloured badge.
pub fn status_badge(status: &str) -> impl IntoView + use<> {
    view! {
        <span class=format!("badge badge-app-{status}")>{application_status_label(status)}</span>
    }
}

#[component]
pub fn ApplicationsPage() -> impl IntoView {
    set_title("Мои заявления");
    let list: Loaded<Vec<Application>> = RwSignal::new(None);
    spawn_local(async move { list.set(Some(api::applications().await)) });
    view! {
        <section aria-labelledby="page-title">
            <h1 id="page-title">"Мои заявления"</h1>
            {loaded_view(list, |list: &Vec<Application>| {
                if list.is_empty() {
                    return view! {
                        <div class="card">
                            <p>"Заявлений пока нет. Подать заявление можно из карточки прибора учета."</p>
                            <A href="/meters">"Приборы учета"</A>
                        </div>
                    }.into_any();
                }
                view! {
                    <ul class="app-list">
                        {list.iter().map(|a| view! {
                            <li class="card app-item">
                                <a href=format!("/applications/{}", a.id) class="app-link">
                                    {format!("Заявление № {} от {}", a.id, ru_date(&a.created_at))}
                                </a>
                                {status_badge(&a.status)}
                                <p class="muted">{format!("Прибор учета {} {}, ЛС {}", a.meter_name, a.serial_number, a.account_number)}</p>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            })}
        </section>
    }
}

/// Downloads a file with the bearer token and saves it under its name.
pub fn download(file: &Attachment, error: RwSignal<Option<String>>) {
    let url = file.url.clone();
    let name = file.file_name.clone();
    spawn_local(async move {
        match api::download(&url).await {
            Ok(object_url) => {
                let document = document();
                if let Some(a) = document
                    .create_element("a")
                    .ok()
                    .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok())
                {
                    a.set_href(&object_url);
                    a.set_download(&name);
                    if let Some(body) = document.body() {
                        let _ = body.append_child(&a);
                        a.click();
                        a.remove();
                    }
                }
                // Give the browser time to start the download before the URL goes.
                set_timeout(
                    move || {
                        let _ = web_sys::Url::revoke_object_url(&object_url);
                    },
                    std::time::Duration::from_secs(30),
                );
            }
            Err(problem) => error.set(Some(problem.detail)),
        }
    });
}

/// The files of an application, each a button that downloads it.
pub fn files_view(files: &[Attachment]) -> impl IntoView + use<> {
    let error = RwSignal::new(None::<String>);
    let items = files
        .iter()
        .map(|f| {
            let file = f.clone();
            view! {
                <li>
                    <button type="button" class="link-button" on:click=move |_| download(&file, error)>
                        {format!("Скачать «{}»", f.file_name)}
                    </button>
                    " " <span class="muted">{file_size(f.size as f64)}</span>
                </li>
            }
        })
        .collect_view();
    let empty = files.is_empty();
    view! {
        <h2>"Файлы"</h2>
        {if empty { Some(view! { <p class="muted">"Файлов нет."</p> }) } else { None }}
        <ul class="file-list">{items}</ul>
        <div role="alert">{move || error.get().map(|e| view! { <p class="alert alert-error">{e}</p> })}</div>
    }
}

#[component]
pub fn ApplicationPage() -> impl IntoView {
    set_title("Заявление");
    let id = use_params_map().with_untracked(|p| p.get("id").and_then(|id| parse_id(&id)));
    let sent = use_query_map().with_untracked(|q| q.get("sent").is_some());
    let app: Loaded<Application> = RwSignal::new(None);
    spawn_local(async move {
        let result = match id {
            Some(id) => api::application(id).await,
            None => Err(api::Problem::unexpected(404)),
        };
        app.set(Some(result));
    });
    view! {
        <section aria-labelledby="page-title">
            {loaded_view(app, move |a: &Application| view! {
                <h1 id="page-title">{format!("Заявление № {}", a.id)}</h1>
                {sent.then(|| view! {
                    <p class="alert alert-success" role="status">
                        "Заявление отправлено. Его текст продублирован на вашу электронную почту; ответ появится здесь и придёт письмом."
                    </p>
                })}
                <div class="card">
                    <p>{status_badge(&a.status)} " от " {ru_date(&a.created_at)}</p>
                    <p>{format!("Прибор учета {} {}, лицевой счет {}", a.meter_name, a.serial_number, a.account_number)}</p>
                    <h2>"Текст заявления"</h2>
                    <p class="prewrap">{a.text.clone()}</p>
                    {files_view(&a.files)}
                </div>
                <div class="card">
                    <h2>"Ответ"</h2>
                    {match a.answer.clone() {
                        Some(answer) => view! {
                            <p class="prewrap">{answer}</p>
                            <p class="muted">{a.answered_at.as_deref().map(ru_date)}</p>
                        }.into_any(),
                        None => view! { <p class="muted">"Ответа пока нет."</p> }.into_any(),
                    }}
                </div>
            })}
            <p><A href="/applications">"Мои заявления"</A></p>
        </section>
    }
}
