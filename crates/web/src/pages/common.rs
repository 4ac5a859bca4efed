//! Pieces shared by the cabinet's sections: loading state, errors of a whole page, finding a
//! meter of the user's accounts.

use leptos::prelude::*;

use crate::api::{self, Meter, Problem};
use crate::forms::{HOTLINE, tel_href};

/// What a page loads: nothing yet, the data, or why it failed.
pub type Loaded<T> = RwSignal<Option<Result<T, Problem>>>;

/// «Загрузка…» while `loaded` is empty, the problem if it failed, else `view` of the data.
pub fn loaded_view<T, V>(
    loaded: Loaded<T>,
    view: impl Fn(&T) -> V + Send + Sync + 'static,
) -> impl IntoView
where
    T: Send + Sync + 'static,
    V: IntoView + 'static,
{
    move || {
        loaded.with(|state| match state {
            None => view! { <p class="loading" role="status">"Загрузка…"</p> }.into_any(),
            Some(Err(problem)) => view! { <ProblemAlert problem=problem.clone() /> }.into_any(),
            Some(Ok(data)) => view(data).into_any(),
        })
    }
}

/// A problem of a whole page (or a section of it).
#[component]
pub fn ProblemAlert(problem: Problem) -> impl IntoView {
    view! {
        <div class="alert-slot" role="alert">
            <p class="alert alert-error">{problem.detail}</p>
        </div>
    }
}

/// The hotline as a link, for refusals that say to call it.
pub fn hotline_link() -> impl IntoView {
    view! {
        <p class="hotline">
            "Горячая линия: "
            <a href=tel_href(HOTLINE)>{HOTLINE}</a>
        </p>
    }
}

/// A meter of any of the user's active accounts, with the number of its account.
pub async fn find_meter(meter_id: i64) -> Result<Option<(Meter, String)>, Problem> {
    let accounts = api::accounts().await?;
    let mut accounts: Vec<_> = accounts
        .into_iter()
        .filter(|a| a.status == "active")
        .collect();
    // The current account first: that is where the meter almost always is.
    accounts.sort_by_key(|a| !a.current);
    for account in accounts {
        let meters = api::meters(account.id).await?;
        if let Some(meter) = meters.into_iter().find(|m| m.id == meter_id) {
            return Ok(Some((meter, account.number)));
        }
    }
    Ok(None)
}

/// «Прибор учета ГВС1 23_8994120».
pub fn meter_title(meter: &Meter) -> String {
    format!("Прибор учета {} {}", meter.name, meter.serial_number)
}
