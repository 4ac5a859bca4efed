//! The API client: `fetch` against `/api/v1`, problem+json errors, and the session's access
//! token, kept in memory only (never in localStorage). The refresh token is the HttpOnly cookie
//! `lk_refresh`, which this code never sees. A call that gets 401 refreshes the access token
//! once and is retried; concurrent calls share one refresh.

mod json;
mod portal;
mod types;

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::future::{FutureExt, LocalBoxFuture, Shared};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use json::{FromJson, Js};
pub use portal::*;
pub use types::*;

const BASE: &str = "/api/v1";

/// A refresh under way, awaited by every call that needs it.
type RunningRefresh = Shared<LocalBoxFuture<'static, Result<(), Problem>>>;

thread_local! {
    /// The access token of this tab's session, in memory only.
    static ACCESS_TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The refresh under way, if any: every caller awaits the same one.
    static REFRESHING: RefCell<Option<RunningRefresh>> = const { RefCell::new(None) };
    /// Told when the session ends without the user asking (the refresh token is gone).
    static ON_SIGNED_OUT: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
}

pub fn access_token() -> Option<String> {
    ACCESS_TOKEN.with(|t| t.borrow().clone())
}

fn set_access_token(token: Option<String>) {
    ACCESS_TOKEN.with(|t| *t.borrow_mut() = token);
}

/// Forgets the access token (after logout, or when the server ended every session).
pub fn forget_session() {
    set_access_token(None);
}

/// Registers what to do when the session turns out to be over (a refresh failed).
pub fn on_signed_out(handler: impl Fn() + 'static) {
    ON_SIGNED_OUT.with(|h| *h.borrow_mut() = Some(Box::new(handler)));
}

fn signed_out() {
    set_access_token(None);
    ON_SIGNED_OUT.with(|h| {
        if let Some(handler) = h.borrow().as_ref() {
            handler();
        }
    });
}

struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn problem(&self) -> Problem {
        Problem::from_answer(self.status, Js::parse(&self.body).as_ref())
    }

    fn json<T: FromJson>(self) -> Result<T, Problem> {
        if !self.ok() {
            return Err(self.problem());
        }
        Js::parse(&self.body)
            .and_then(|object| T::from_json(&object))
            .ok_or_else(|| Problem::unexpected(self.status))
    }

    fn empty(self) -> Result<(), Problem> {
        if self.ok() {
            Ok(())
        } else {
            Err(self.problem())
        }
    }
}

fn js_problem(_: JsValue) -> Problem {
    Problem::network()
}

/// A request body: JSON text, or a multipart form (the browser sets its boundary).
#[derive(Clone)]
enum Body {
    Json(String),
    Form(web_sys::FormData),
}

/// One `fetch`, answered with the raw response. Cookies go only to this origin
/// (`same-origin`): the refresh cookie is scoped to `/api/v1/auth` by the server.
async fn fetch(
    method: &str,
    path: &str,
    body: Option<&Body>,
    token: Option<&str>,
) -> Result<web_sys::Response, Problem> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    let headers = web_sys::Headers::new().map_err(js_problem)?;
    headers
        .set("Accept", "application/json, application/problem+json")
        .map_err(js_problem)?;
    match body {
        Some(Body::Json(text)) => {
            headers
                .set("Content-Type", "application/json")
                .map_err(js_problem)?;
            init.set_body(&JsValue::from_str(text));
        }
        Some(Body::Form(form)) => init.set_body(form),
        None => {}
    }
    if let Some(token) = token {
        headers
            .set("Authorization", &format!("Bearer {token}"))
            .map_err(js_problem)?;
    }
    init.set_headers(&headers);
    let url = format!("{BASE}{path}");
    let request = web_sys::Request::new_with_str_and_init(&url, &init).map_err(js_problem)?;
    let window = web_sys::window().ok_or_else(Problem::network)?;
    JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(js_problem)?
        .dyn_into()
        .map_err(js_problem)
}

async fn read_answer(response: web_sys::Response) -> Result<Answer, Problem> {
    let text = JsFuture::from(response.text().map_err(js_problem)?)
        .await
        .map_err(js_problem)?;
    Ok(Answer {
        status: response.status(),
        body: text.as_string().unwrap_or_default(),
    })
}

/// One `fetch` with a JSON body, if any, answered as text.
async fn send(
    method: &str,
    path: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> Result<Answer, Problem> {
    let body = body.map(|b| Body::Json(b.to_owned()));
    read_answer(fetch(method, path, body.as_ref(), token).await?).await
}

/// A call that needs no session.
async fn public(method: &str, path: &str, body: Option<String>) -> Result<Answer, Problem> {
    send(method, path, body.as_deref(), None).await
}

/// A call in the user's session: without an access token (a reload) or on a 401 (it expired)
/// the session is refreshed once and the call retried.
async fn authed_raw(
    method: &str,
    path: &str,
    body: Option<Body>,
) -> Result<web_sys::Response, Problem> {
    let token = match access_token() {
        Some(token) => token,
        None => {
            refresh().await?;
            access_token().ok_or_else(|| Problem::unexpected(401))?
        }
    };
    let response = fetch(method, path, body.as_ref(), Some(&token)).await?;
    if response.status() != 401 {
        return Ok(response);
    }
    // Another call may have refreshed meanwhile: then its token is used, with no new refresh.
    let fresh = match access_token() {
        Some(current) if current != token => current,
        _ => {
            refresh().await?;
            access_token().ok_or_else(|| Problem::unexpected(401))?
        }
    };
    let response = fetch(method, path, body.as_ref(), Some(&fresh)).await?;
    if response.status() == 401 {
        signed_out();
    }
    Ok(response)
}

async fn authed(method: &str, path: &str, body: Option<String>) -> Result<Answer, Problem> {
    read_answer(authed_raw(method, path, body.map(Body::Json)).await?).await
}

impl Answer {
    /// An answer that is a JSON array of `T`.
    fn list<T: FromJson>(self) -> Result<Vec<T>, Problem> {
        if !self.ok() {
            return Err(self.problem());
        }
        Js::parse_list(&self.body)
            .map(|items| items.iter().filter_map(T::from_json).collect())
            .ok_or_else(|| Problem::unexpected(self.status))
    }
}

/// `POST /auth/refresh` with the HttpOnly cookie: a new access token and a rotated cookie.
/// Single-flight: the refresh token rotates, so two refreshes at once would end the session.
pub async fn refresh() -> Result<(), Problem> {
    let running = REFRESHING.with(|slot| {
        let mut slot = slot.borrow_mut();
        if let Some(running) = slot.as_ref() {
            return running.clone();
        }
        let running = async {
            let rotate = async {
                let answer = send("POST", "/auth/refresh", None, None).await?;
                let token = answer.json::<TokenResponse>()?;
                set_access_token(Some(token.access_token));
                Ok(())
            };
            let result = in_turn_across_tabs("lk-refresh", rotate.boxed_local()).await;
            REFRESHING.with(|slot| slot.borrow_mut().take());
            if result.as_ref().is_err_and(|p| p.status == 401) {
                signed_out();
            }
            result
        }
        .boxed_local()
        .shared();
        *slot = Some(running.clone());
        running
    });
    running.await
}

/// Runs `work` holding the browser's lock `name` (Web Locks API), so that this site's tabs take
/// turns: two tabs refreshing at once (restored together, or woken together after their tokens
/// expired) would send the same refresh cookie twice, and a reused refresh token ends the
/// session. In turn, the second sends the cookie the first was given. Where the API is missing
/// (an old browser), `work` runs at once.
async fn in_turn_across_tabs(
    name: &str,
    work: LocalBoxFuture<'static, Result<(), Problem>>,
) -> Result<(), Problem> {
    let property = |of: &JsValue, name: &str| {
        js_sys::Reflect::get(of, &JsValue::from_str(name))
            .ok()
            .filter(|value| !value.is_undefined() && !value.is_null())
    };
    let locks = web_sys::window().and_then(|window| property(&window.navigator(), "locks"));
    let request = locks
        .as_ref()
        .and_then(|locks| property(locks, "request"))
        .and_then(|request| request.dyn_into::<js_sys::Function>().ok());
    let (Some(locks), Some(request)) = (locks, request) else {
        return work.await;
    };
    let outcome = Rc::new(RefCell::new(None));
    let filled = Rc::clone(&outcome);
    // The lock is held until the promise this callback returns settles: when `work` is done.
    let while_held = Closure::once_into_js(move |_lock: JsValue| {
        wasm_bindgen_futures::future_to_promise(async move {
            *filled.borrow_mut() = Some(work.await);
            Ok(JsValue::UNDEFINED)
        })
    });
    let released = request
        .call2(&locks, &JsValue::from_str(name), &while_held)
        .map_err(js_problem)?;
    JsFuture::from(js_sys::Promise::from(released))
        .await
        .map_err(js_problem)?;
    outcome
        .borrow_mut()
        .take()
        .unwrap_or_else(|| Err(Problem::network()))
}

pub async fn register(body: &RegisterRequest) -> Result<Message, Problem> {
    public("POST", "/auth/register", Some(body.to_json()))
        .await?
        .json()
}

pub async fn resend_confirmation(body: &EmailRequest) -> Result<Message, Problem> {
    public("POST", "/auth/resend-confirmation", Some(body.to_json()))
        .await?
        .json()
}

pub async fn confirm_email(token: &str) -> Result<Message, Problem> {
    let body = TokenRequest {
        token: token.to_owned(),
    }
    .to_json();
    public("POST", "/auth/confirm-email", Some(body))
        .await?
        .json()
}

pub async fn login(body: &LoginRequest) -> Result<(), Problem> {
    let token: TokenResponse = public("POST", "/auth/login", Some(body.to_json()))
        .await?
        .json()?;
    set_access_token(Some(token.access_token));
    Ok(())
}

/// Ends the session on the server, refreshing an expired access token first (the session, and
/// its refresh cookie, must not outlive «Выход»); the token is forgotten whatever the answer.
pub async fn logout() -> Result<(), Problem> {
    let result = authed("POST", "/auth/logout", None)
        .await
        .and_then(Answer::empty);
    forget_session();
    result
}

pub async fn forgot_password(body: &EmailRequest) -> Result<Message, Problem> {
    public("POST", "/auth/forgot-password", Some(body.to_json()))
        .await?
        .json()
}

pub async fn reset_password(body: &ResetPasswordRequest) -> Result<(), Problem> {
    public("POST", "/auth/reset-password", Some(body.to_json()))
        .await?
        .empty()
}

pub async fn confirm_email_change(token: &str) -> Result<Message, Problem> {
    let body = TokenRequest {
        token: token.to_owned(),
    }
    .to_json();
    public("POST", "/auth/confirm-email-change", Some(body))
        .await?
        .json()
}

pub async fn me() -> Result<Profile, Problem> {
    authed("GET", "/me", None).await?.json()
}

pub async fn update_profile(body: &UpdateProfileRequest) -> Result<Profile, Problem> {
    authed("PATCH", "/me", Some(body.to_json())).await?.json()
}

pub async fn change_email(body: &ChangeEmailRequest) -> Result<Message, Problem> {
    authed("POST", "/me/email", Some(body.to_json()))
        .await?
        .json()
}

/// Every other session ends; this one goes on with the new access token in the answer.
pub async fn change_password(body: &ChangePasswordRequest) -> Result<(), Problem> {
    let token: TokenResponse = authed("POST", "/me/password", Some(body.to_json()))
        .await?
        .json()?;
    set_access_token(Some(token.access_token));
    Ok(())
}

pub async fn info() -> Result<BranchInfo, Problem> {
    public("GET", "/info", None).await?.json()
}

pub async fn accounts() -> Result<Vec<Account>, Problem> {
    authed("GET", "/accounts", None).await?.list()
}

/// The current account: the one marked current, else the first active one.
pub async fn current_account() -> Result<Option<Account>, Problem> {
    let accounts = accounts().await?;
    Ok(crate::forms::current_of(accounts))
}

pub async fn add_account(body: &AddAccountRequest) -> Result<Message, Problem> {
    authed("POST", "/accounts", Some(body.to_json()))
        .await?
        .json()
}

/// The activation link's page: no session is needed, the token says whose it is.
pub async fn confirm_account(token: &str) -> Result<Message, Problem> {
    let body = TokenRequest {
        token: token.to_owned(),
    }
    .to_json();
    public("POST", "/accounts/confirm", Some(body))
        .await?
        .json()
}

pub async fn unlink_account(id: i64) -> Result<(), Problem> {
    authed("DELETE", &format!("/accounts/{id}"), None)
        .await?
        .empty()
}

pub async fn make_current(id: i64) -> Result<(), Problem> {
    authed("PUT", &format!("/accounts/{id}/current"), None)
        .await?
        .empty()
}

pub async fn meters(account_id: i64) -> Result<Vec<Meter>, Problem> {
    authed("GET", &format!("/accounts/{account_id}/meters"), None)
        .await?
        .list()
}

pub async fn readings(meter_id: i64) -> Result<Vec<Reading>, Problem> {
    authed("GET", &format!("/meters/{meter_id}/readings"), None)
        .await?
        .list()
}

pub async fn submit_reading(
    meter_id: i64,
    body: &SubmitReadingRequest,
) -> Result<Reading, Problem> {
    authed(
        "POST",
        &format!("/meters/{meter_id}/readings"),
        Some(body.to_json()),
    )
    .await?
    .json()
}

/// `multipart/form-data` with `text` and `files`.
pub async fn file_application(
    meter_id: i64,
    form: web_sys::FormData,
) -> Result<Application, Problem> {
    let response = authed_raw(
        "POST",
        &format!("/meters/{meter_id}/applications"),
        Some(Body::Form(form)),
    )
    .await?;
    read_answer(response).await?.json()
}

pub async fn applications() -> Result<Vec<Application>, Problem> {
    authed("GET", "/applications", None).await?.list()
}

pub async fn application(id: i64) -> Result<Application, Problem> {
    authed("GET", &format!("/applications/{id}"), None)
        .await?
        .json()
}

/// Downloads a file that needs the bearer token and returns an object URL for it (the
/// caller revokes it once used).
pub async fn download(url: &str) -> Result<String, Problem> {
    let path = url.strip_prefix(BASE).unwrap_or(url);
    let response = authed_raw("GET", path, None).await?;
    if !(200..300).contains(&response.status()) {
        return Err(read_answer(response).await?.problem());
    }
    let blob: web_sys::Blob = JsFuture::from(response.blob().map_err(js_problem)?)
        .await
        .map_err(js_problem)?
        .dyn_into()
        .map_err(js_problem)?;
    web_sys::Url::create_object_url_with_blob(&blob).map_err(js_problem)
}

pub async fn operator_queue(status: &str) -> Result<Vec<Application>, Problem> {
    let query = if status.is_empty() {
        String::new()
    } else {
        format!("?status={status}")
    };
    authed("GET", &format!("/operator/applications{query}"), None)
        .await?
        .list()
}

pub async fn operator_application(id: i64) -> Result<Application, Problem> {
    authed("GET", &format!("/operator/applications/{id}"), None)
        .await?
        .json()
}

/// `take` or `close`.
pub async fn operator_action(id: i64, action: &str) -> Result<Application, Problem> {
    authed(
        "POST",
        &format!("/operator/applications/{id}/{action}"),
        None,
    )
    .await?
    .json()
}

pub async fn operator_answer(id: i64, body: &AnswerRequest) -> Result<Application, Problem> {
    authed(
        "POST",
        &format!("/operator/applications/{id}/answer"),
        Some(body.to_json()),
    )
    .await?
    .json()
}

/// The account with this number (already checked by `AccountNumber`).
pub async fn operator_account(number: &str) -> Result<OperatorAccount, Problem> {
    authed("GET", &format!("/operator/accounts/{number}"), None)
        .await?
        .json()
}

pub async fn operator_meter(id: i64) -> Result<OperatorMeter, Problem> {
    authed("GET", &format!("/operator/meters/{id}"), None)
        .await?
        .json()
}

pub async fn correct_meter(id: i64, body: &CorrectMeterRequest) -> Result<OperatorMeter, Problem> {
    authed(
        "PATCH",
        &format!("/operator/meters/{id}"),
        Some(body.to_json()),
    )
    .await?
    .json()
}

pub async fn sessions() -> Result<Vec<SessionInfo>, Problem> {
    authed("GET", "/me/sessions", None).await?.list()
}

pub async fn end_session(id: i64) -> Result<(), Problem> {
    authed("DELETE", &format!("/me/sessions/{id}"), None)
        .await?
        .empty()
}

pub async fn end_other_sessions() -> Result<(), Problem> {
    authed("DELETE", "/me/sessions", None).await?.empty()
}
