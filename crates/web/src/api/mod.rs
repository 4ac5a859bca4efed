//! The API client: `fetch` against `/api/v1`, problem+json errors, and the session's access
//! token, kept in memory only (never in localStorage). The refresh token is the HttpOnly cookie
//! `lk_refresh`, which this code never sees. A call that gets 401 refreshes the access token
//! once and is retried; concurrent calls share one refresh.

mod json;
mod types;

use std::cell::RefCell;

use futures_util::future::{FutureExt, LocalBoxFuture, Shared};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use json::{FromJson, Js};
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

/// One `fetch`. Cookies go only to this origin (`same-origin`): the refresh cookie is scoped to
/// `/api/v1/auth` by the server.
async fn send(
    method: &str,
    path: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> Result<Answer, Problem> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    let headers = web_sys::Headers::new().map_err(js_problem)?;
    headers
        .set("Accept", "application/json, application/problem+json")
        .map_err(js_problem)?;
    if let Some(body) = body {
        headers
            .set("Content-Type", "application/json")
            .map_err(js_problem)?;
        init.set_body(&JsValue::from_str(body));
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
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(js_problem)?
        .dyn_into()
        .map_err(js_problem)?;
    let text = JsFuture::from(response.text().map_err(js_problem)?)
        .await
        .map_err(js_problem)?;
    Ok(Answer {
        status: response.status(),
        body: text.as_string().unwrap_or_default(),
    })
}

/// A call that needs no session.
async fn public(method: &str, path: &str, body: Option<String>) -> Result<Answer, Problem> {
    send(method, path, body.as_deref(), None).await
}

/// A call in the user's session: without an access token (a reload) or on a 401 (it expired)
/// the session is refreshed once and the call retried.
async fn authed(method: &str, path: &str, body: Option<String>) -> Result<Answer, Problem> {
    let token = match access_token() {
        Some(token) => token,
        None => {
            refresh().await?;
            access_token().ok_or_else(|| Problem::unexpected(401))?
        }
    };
    let answer = send(method, path, body.as_deref(), Some(&token)).await?;
    if answer.status != 401 {
        return Ok(answer);
    }
    // Another call may have refreshed meanwhile: then its token is used, with no new refresh.
    let fresh = match access_token() {
        Some(current) if current != token => current,
        _ => {
            refresh().await?;
            access_token().ok_or_else(|| Problem::unexpected(401))?
        }
    };
    let answer = send(method, path, body.as_deref(), Some(&fresh)).await?;
    if answer.status == 401 {
        signed_out();
    }
    Ok(answer)
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
            let result = match send("POST", "/auth/refresh", None, None).await {
                Ok(answer) => answer.json::<TokenResponse>().map(|t| {
                    set_access_token(Some(t.access_token));
                }),
                Err(problem) => Err(problem),
            };
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

/// Ends the session on the server; the token is forgotten whatever the answer.
pub async fn logout() -> Result<(), Problem> {
    let result = match access_token() {
        Some(token) => send("POST", "/auth/logout", None, Some(&token))
            .await
            .and_then(Answer::empty),
        None => Ok(()),
    };
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
