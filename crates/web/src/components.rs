//! Building blocks of the pages: labelled fields with their errors, form alerts, the page
//! title.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::forms::FormErrors;

/// Sets the browser tab's title: «<page> — Личный кабинет».
pub fn set_title(page: &str) {
    document().set_title(&format!("{page} — Личный кабинет Т Плюс"));
}

/// Moves the keyboard focus to the element with this id (the first invalid field).
pub fn focus(id: &str) {
    if let Some(element) = document()
        .get_element_by_id(id)
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = element.focus();
    }
}

/// Shows `errors` on the form and focuses its first invalid field.
pub fn show_errors(target: RwSignal<FormErrors>, errors: FormErrors, order: &[&str]) {
    let first = errors.first_invalid(order);
    target.set(errors);
    if let Some(id) = first {
        focus(id);
    }
}

/// The error of one field, for [`Field`].
pub fn field_error(errors: RwSignal<FormErrors>, name: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || errors.with(|e| e.field(name).map(str::to_owned)))
}

/// A labelled input with its hint and its error, tied together for screen readers
/// (`aria-describedby`, `aria-invalid`). The input's id is the API's field name, so server
/// errors find it.
#[component]
pub fn Field(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    errors: RwSignal<FormErrors>,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] placeholder: Option<&'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] required: bool,
    /// A check run as the user leaves the field: its message, or `None` when fine.
    #[prop(optional)]
    check: Option<fn(&str) -> Option<String>>,
) -> impl IntoView {
    let error = field_error(errors, id);
    // A message goes away as soon as the field is edited, and a check runs as the user leaves
    // the field. Leaving never removes a message: the layout must not shift under a click on
    // the submit button that is taking the focus away.
    let on_input = move |_| {
        if errors.with_untracked(|e| e.field(id).is_some()) {
            errors.update(|e| e.set_field(id, None));
        }
    };
    let on_blur = move |_| {
        if let Some(message) = check.and_then(|check| check(&value.get_untracked()))
            && errors.with_untracked(|e| e.field(id) != Some(message.as_str()))
        {
            errors.update(|e| e.set_field(id, Some(message)));
        }
    };
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described_by = {
        let (error_id, hint_id) = (error_id.clone(), hint_id.clone());
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if error.with(Option::is_some) {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field" class:invalid=move || error.with(Option::is_some)>
            <label for=id>{label}</label>
            <input
                id=id
                name=id
                type=input_type
                autocomplete=autocomplete
                placeholder=placeholder
                inputmode=inputmode
                required=required
                aria-invalid=move || error.with(Option::is_some).then_some("true")
                aria-describedby=described_by
                bind:value=value
                on:input=on_input
                on:blur=on_blur
            />
            {hint.map(|hint| view! { <p class="hint" id=hint_id>{hint}</p> })}
            {move || error.get().map(|message| view! {
                <p class="field-error" id=error_id.clone()>{message}</p>
            })}
        </div>
    }
}

/// A labelled checkbox with its error.
#[component]
pub fn CheckboxField(
    id: &'static str,
    label: &'static str,
    checked: RwSignal<bool>,
    errors: RwSignal<FormErrors>,
) -> impl IntoView {
    let error = field_error(errors, id);
    let error_id = format!("{id}-error");
    let described_by = {
        let error_id = error_id.clone();
        move || error.with(Option::is_some).then(|| error_id.clone())
    };
    view! {
        <div class="field field-check" class:invalid=move || error.with(Option::is_some)>
            <input
                id=id
                name=id
                type="checkbox"
                aria-invalid=move || error.with(Option::is_some).then_some("true")
                aria-describedby=described_by
                bind:checked=checked
                on:change=move |_| {
                    if errors.with_untracked(|e| e.field(id).is_some()) {
                        errors.update(|e| e.set_field(id, None));
                    }
                }
            />
            <label for=id>{label}</label>
            {move || error.get().map(|message| view! {
                <p class="field-error" id=error_id.clone()>{message}</p>
            })}
        </div>
    }
}

/// The form's summary error (`detail` of a problem), announced to screen readers.
#[component]
pub fn FormAlert(errors: RwSignal<FormErrors>) -> impl IntoView {
    view! {
        <div class="alert-slot" role="alert">
            {move || errors.with(|e| e.summary.clone()).map(|summary| view! {
                <p class="alert alert-error">{summary}</p>
            })}
        </div>
    }
}

/// A message of success (a Russian sentence, often the API's `detail`).
#[component]
pub fn Notice(message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <div class="alert-slot" role="status">
            {move || message.get().map(|message| view! {
                <p class="alert alert-success">{message}</p>
            })}
        </div>
    }
}

/// The submit button; shows that the request is under way and cannot be sent twice.
#[component]
pub fn Submit(label: &'static str, pending: RwSignal<bool>) -> impl IntoView {
    view! {
        <button
            type="submit"
            class="button button-primary"
            disabled=move || pending.get()
            aria-busy=move || pending.get().then_some("true")
        >
            {move || if pending.get() { "Подождите…" } else { label }}
        </button>
    }
}
