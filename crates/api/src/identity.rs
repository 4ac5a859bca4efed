//! Registration, e-mail confirmation, login and sessions, password recovery and the account
//! settings (F1, F2, F7). Handlers call these; these apply the domain rules, the limits and
//! the store, and queue the e-mails in the same unit of work as the change that causes them.

use std::future::Future;

use actix_web::web;
use domain::{Email, FullName, Password, Phone};
use tracing::Instrument;

use crate::app::AppState;
use crate::auth::{
    ACCESS_TOKEN_SECS, CurrentUser, hash_token, new_secret_token, normalized_password,
};
use crate::error::{ApiError, Coded, FieldError};
use crate::mail::Letter;
use crate::store::{
    NewSession, NewUser, RefreshOutcome, Role, TokenOutcome, TokenPurpose, Tx, UserRecord,
    is_unique_violation,
};

/// The version of the consent text a customer agrees to when registering.
pub const CONSENT_VERSION: &str = "2024-07-01";
const CONFIRMATION_SECS: i64 = 24 * 3600;
const RESET_SECS: i64 = 3600;
/// Without «Запомнить меня» a session ends with the browser session or after 12 hours.
pub const SHORT_SESSION_SECS: i64 = 12 * 3600;
pub const REMEMBERED_SESSION_SECS: i64 = 30 * 24 * 3600;

/// Where a request came from, for sessions and per-IP limits.
pub struct Origin {
    pub ip: String,
    pub user_agent: String,
}

pub struct Registration {
    pub email: String,
    pub full_name: String,
    pub phone: String,
    pub password: String,
    pub password_confirmation: String,
    pub consent: bool,
}

/// A new session or a refreshed one.
pub struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub remember: bool,
    /// Seconds the refresh cookie should live.
    pub refresh_secs: i64,
}

fn parsed<T, E: Coded>(
    field: &str,
    result: Result<T, E>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    result.map_err(|e| errors.push(e.on_field(field))).ok()
}

async fn limit_mail(state: &AppState, email: &str, origin: &Origin) -> Result<(), ApiError> {
    limit_mail_to(state, &[email], origin).await
}

/// Counts a request that e-mails `addresses` against each of them and against the caller's IP.
async fn limit_mail_to(
    state: &AppState,
    addresses: &[&str],
    origin: &Origin,
) -> Result<(), ApiError> {
    let limits = &state.config.rate_limits;
    let mut keys = vec![(format!("mail:ip:{}", origin.ip), limits.mail_per_ip)];
    keys.extend(
        addresses
            .iter()
            .map(|address| (format!("mail:address:{address}"), limits.mail_per_address)),
    );
    let keys: Vec<(&str, _)> = keys
        .iter()
        .map(|(key, limit)| (key.as_str(), *limit))
        .collect();
    state.limiter.hit_all(&keys).await
}

fn token_error(outcome: &TokenOutcome) -> ApiError {
    match outcome {
        TokenOutcome::Expired => ApiError::bad_request(
            "token_expired",
            "Срок действия ссылки истёк. Запросите новое письмо.",
        ),
        _ => ApiError::bad_request(
            "token_invalid",
            "Ссылка недействительна или уже была использована. Запросите новое письмо.",
        ),
    }
}

pub async fn register(
    state: &AppState,
    form: Registration,
    origin: &Origin,
) -> Result<String, ApiError> {
    let mut errors = Vec::new();
    let email = parsed("email", Email::parse(&form.email), &mut errors);
    let full_name = parsed("full_name", FullName::parse(&form.full_name), &mut errors);
    let phone = parsed("phone", Phone::parse(&form.phone), &mut errors);
    let (typed, confirmation) = (
        normalized_password(&form.password),
        normalized_password(&form.password_confirmation),
    );
    let password = match &email {
        Some(email) => Password::parse(&typed, &confirmation, email).map(Some),
        // The e-mail is wrong: still tell what is wrong with the password.
        None => domain::check_new_password(&typed, None).map(|()| None),
    };
    let password = match password {
        Err(domain::PasswordError::Mismatch) => parsed(
            "password_confirmation",
            Err(domain::PasswordError::Mismatch),
            &mut errors,
        ),
        other => parsed("password", other, &mut errors).flatten(),
    };
    if !form.consent {
        errors.push(FieldError::new(
            "consent",
            "consent_required",
            "Подтвердите согласие на обработку персональных данных.",
        ));
    }
    let (Some(email), Some(full_name), Some(phone), Some(password), true) =
        (email, full_name, phone, password, errors.is_empty())
    else {
        return Err(ApiError::Validation(errors));
    };
    limit_mail(state, email.as_str(), origin).await?;
    // Hashed whether or not the address is taken, so both answers take as long.
    let password_hash = state.hasher.hash(password.expose_secret()).await?;
    let now = state.clock.now();
    let (token, token_hash) = new_secret_token();

    let mut tx = state.store.begin().await?;
    let new_user = NewUser {
        email: email.as_str(),
        full_name: full_name.as_str(),
        phone: phone.as_str(),
        password_hash: &password_hash,
        role: Role::Customer,
        confirmed: false,
        consent_version: CONSENT_VERSION,
        now,
    };
    let inserted = match tx.user_by_email(email.as_str()).await? {
        Some(_) => None,
        None => match tx.insert_user(&new_user).await {
            Ok(id) => Some(id),
            Err(error) if is_unique_violation(&error) => {
                // Registered by a concurrent request. The failed statement aborted this unit
                // of work on PostgreSQL: roll it back and queue the notice in a new one.
                drop(tx);
                tx = state.store.begin().await?;
                None
            }
            Err(error) => return Err(error.into()),
        },
    };
    let letter = match inserted {
        Some(user_id) => {
            tx.insert_token(
                user_id,
                TokenPurpose::ConfirmEmail,
                &token_hash,
                None,
                now,
                now + CONFIRMATION_SECS,
            )
            .await?;
            let link = state.link(&format!("/confirm-email?token={token}"));
            state.templates.render(
                &email.to_ascii(),
                &Letter::ConfirmRegistration {
                    full_name: full_name.as_str(),
                    link: &link,
                },
            )
        }
        // The address is taken: tell its owner instead of telling the caller.
        None => state.templates.render(
            &email.to_ascii(),
            &Letter::AlreadyRegistered {
                login_link: &state.link("/login"),
                forgot_link: &state.link("/forgot-password"),
            },
        ),
    };
    tx.enqueue_mail(&letter, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(format!(
        "Мы отправили письмо на {}. Перейдите по ссылке из письма, чтобы подтвердить регистрацию.",
        email.as_str()
    ))
}

pub async fn resend_confirmation(
    state: &web::Data<AppState>,
    raw_email: &str,
    origin: &Origin,
) -> Result<String, ApiError> {
    let email = Email::parse(raw_email).map_err(|e| ApiError::field("email", &e))?;
    limit_mail(state, email.as_str(), origin).await?;
    let answer = format!(
        "Если адрес {} зарегистрирован и ещё не подтверждён, на него отправлено новое письмо со ссылкой.",
        email.as_str()
    );
    after_the_answer(state, "resend-confirmation", move |state| async move {
        queue_new_confirmation(&state, &email).await
    });
    Ok(answer)
}

/// Runs what depends on whether an address is registered after the answer is sent: a known
/// address costs a write that waits for the disk, an unknown one nothing, and the difference
/// would tell a stranger which addresses are registered. A failure is logged; the caller can
/// ask again.
fn after_the_answer<F, Fut>(state: &web::Data<AppState>, what: &'static str, work: F)
where
    F: FnOnce(web::Data<AppState>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), ApiError>> + Send + 'static,
{
    let state = state.clone();
    let span = tracing::Span::current();
    tokio::spawn(
        async move {
            if let Err(error) = work(state).await {
                tracing::error!(%error, what, "a requested letter could not be queued");
            }
        }
        .instrument(span),
    );
}

async fn queue_new_confirmation(state: &AppState, email: &Email) -> Result<(), ApiError> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    if let Some(user) = tx.user_by_email(email.as_str()).await?
        && user.email_confirmed_at.is_none()
    {
        let (token, token_hash) = new_secret_token();
        tx.insert_token(
            user.id,
            TokenPurpose::ConfirmEmail,
            &token_hash,
            None,
            now,
            now + CONFIRMATION_SECS,
        )
        .await?;
        let link = state.link(&format!("/confirm-email?token={token}"));
        let letter = state.templates.render(
            &email.to_ascii(),
            &Letter::ConfirmRegistration {
                full_name: &user.full_name,
                link: &link,
            },
        );
        tx.enqueue_mail(&letter, now).await?;
    }
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
}

pub async fn confirm_email(state: &AppState, token: &str) -> Result<(), ApiError> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    match tx
        .take_token(&hash_token(token), TokenPurpose::ConfirmEmail, now)
        .await?
    {
        TokenOutcome::Taken { user_id, .. } => tx.confirm_email(user_id, now).await?,
        // Opened twice (a mail scanner, a second click): the address is confirmed already.
        TokenOutcome::Used => {
            return Err(ApiError::bad_request(
                "email_already_confirmed",
                "Адрес уже подтверждён этой ссылкой. Войдите, указав email и пароль.",
            ));
        }
        other => return Err(token_error(&other)),
    }
    tx.commit().await?;
    Ok(())
}

pub async fn login(
    state: &AppState,
    raw_email: &str,
    password: &str,
    remember: bool,
    origin: &Origin,
) -> Result<Issued, ApiError> {
    let limits = &state.config.rate_limits;
    // An address that does not parse belongs to nobody: it gets the answer of an unknown one
    // (after a dummy hash), and no counter of its own, so junk cannot fill the counters' table.
    let email = Email::parse(raw_email).ok();
    let account_key = email.as_ref().map(|e| password_guesses_key(e.as_str()));
    let ip_key = format!("login:ip:{}", origin.ip);
    // Counted as a failure up front and wiped on success (see `RateLimiter::forgive`).
    let mut keys = vec![(ip_key.as_str(), limits.login_per_ip)];
    keys.extend(
        account_key
            .as_deref()
            .map(|key| (key, limits.login_per_account)),
    );
    state.limiter.hit_all(&keys).await?;

    let user = match &email {
        Some(email) => state.store.user_by_email(email.as_str()).await?,
        None => None,
    };
    let matches = state
        .hasher
        .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
        .await?;
    // A known user's address parsed, so it has a counter.
    let (user, account_key) = match (user, account_key) {
        (Some(user), Some(account_key)) if matches => (user, account_key),
        _ => {
            return Err(ApiError::Unauthorized {
                code: "invalid_credentials",
                detail: "Неверный email или пароль.".into(),
            });
        }
    };
    if user.email_confirmed_at.is_none() {
        state.limiter.reset(&account_key).await?;
        return Err(ApiError::Forbidden {
            code: "email_not_confirmed",
            detail: "Адрес электронной почты не подтверждён. Перейдите по ссылке из письма \
                     «Подтверждение регистрации» или нажмите «Отправить повторно подтверждение \
                     на почту»."
                .into(),
        });
    }

    let now = state.clock.now();
    let lifetime = if remember {
        REMEMBERED_SESSION_SECS
    } else {
        SHORT_SESSION_SECS
    };
    let (refresh_token, refresh_hash) = new_secret_token();
    // The wrong guesses are forgotten with the session's start, in one write.
    let session = NewSession {
        user_id: user.id,
        remember,
        now,
        expires_at: now + lifetime,
        user_agent: &origin.user_agent,
        ip: &origin.ip,
        refresh_hash: &refresh_hash,
    };
    let session_id = state.store.start_session(&session, &account_key).await?;
    Ok(Issued {
        access_token: state
            .jwt
            .issue(user.id, session_id, user.token_version, now),
        refresh_token,
        remember,
        refresh_secs: lifetime,
    })
}

pub async fn refresh(state: &AppState, refresh_token: &str) -> Result<Issued, ApiError> {
    let now = state.clock.now();
    let (new_token, new_hash) = new_secret_token();
    let mut tx = state.store.begin().await?;
    let outcome = tx
        .rotate_refresh(&hash_token(refresh_token), &new_hash, now)
        .await?;
    // A reuse revokes the session, and that must stick although the answer is an error.
    tx.commit().await?;
    let RefreshOutcome::Rotated {
        session_id,
        user_id,
        remember,
        expires_at,
    } = outcome
    else {
        if outcome == RefreshOutcome::Reused {
            tracing::warn!("refresh token reused: its session is revoked");
        }
        return Err(ApiError::Unauthorized {
            code: "invalid_refresh_token",
            detail: "Сеанс завершён. Войдите снова.".into(),
        });
    };
    let user = state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    Ok(Issued {
        access_token: state
            .jwt
            .issue(user.id, session_id, user.token_version, now),
        refresh_token: new_token,
        remember,
        refresh_secs: expires_at - now,
    })
}

pub async fn end_session(
    state: &AppState,
    user_id: i64,
    session_id: i64,
) -> Result<bool, ApiError> {
    let mut tx = state.store.begin().await?;
    let ended = tx
        .revoke_session(user_id, session_id, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(ended)
}

/// Ends the session a refresh token belongs to: signing out once the access token has expired.
pub async fn end_session_of_refresh(
    state: &AppState,
    refresh_token: &str,
) -> Result<bool, ApiError> {
    let mut tx = state.store.begin().await?;
    let ended = tx
        .revoke_session_of_refresh(&hash_token(refresh_token), state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(ended)
}

pub async fn end_other_sessions(state: &AppState, user_id: i64, keep: i64) -> Result<(), ApiError> {
    let mut tx = state.store.begin().await?;
    tx.revoke_other_sessions(user_id, Some(keep), state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn forgot_password(
    state: &web::Data<AppState>,
    raw_email: &str,
    origin: &Origin,
) -> Result<String, ApiError> {
    let email = Email::parse(raw_email).map_err(|e| ApiError::field("email", &e))?;
    limit_mail(state, email.as_str(), origin).await?;
    let answer = format!(
        "Если адрес {} зарегистрирован, на него отправлено письмо со ссылкой для восстановления пароля.",
        email.as_str()
    );
    after_the_answer(state, "forgot-password", move |state| async move {
        queue_reset_link(&state, &email).await
    });
    Ok(answer)
}

async fn queue_reset_link(state: &AppState, email: &Email) -> Result<(), ApiError> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    if let Some(user) = tx.user_by_email(email.as_str()).await? {
        let (token, token_hash) = new_secret_token();
        tx.insert_token(
            user.id,
            TokenPurpose::ResetPassword,
            &token_hash,
            None,
            now,
            now + RESET_SECS,
        )
        .await?;
        let link = state.link(&format!("/reset-password?token={token}"));
        let letter = state.templates.render(
            &email.to_ascii(),
            &Letter::ResetPassword {
                full_name: &user.full_name,
                link: &link,
            },
        );
        tx.enqueue_mail(&letter, now).await?;
    }
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
}

/// Sets a new password, ends every session but `keep` and tells the owner.
async fn replace_password(
    state: &AppState,
    tx: &mut Box<dyn Tx>,
    user: &UserRecord,
    password: &Password,
    keep: Option<i64>,
    now: i64,
) -> Result<(), ApiError> {
    let hash = state.hasher.hash(password.expose_secret()).await?;
    tx.set_password(user.id, &hash, now).await?;
    tx.revoke_other_sessions(user.id, keep, now).await?;
    // Links asked for before the change, perhaps by whoever knew the old password, die with it.
    tx.discard_tokens(user.id, TokenPurpose::ResetPassword, now)
        .await?;
    tx.discard_tokens(user.id, TokenPurpose::ChangeEmail, now)
        .await?;
    // The owner proved themselves: wrong guesses made before no longer lock them out.
    tx.reset_hits(&password_guesses_key(&user.email)).await?;
    let letter = state.templates.render(
        &crate::mail::send_to(&user.email),
        &Letter::PasswordChanged {
            full_name: &user.full_name,
            forgot_link: &state.link("/forgot-password"),
        },
    );
    tx.enqueue_mail(&letter, now).await?;
    Ok(())
}

fn new_password(
    password: &str,
    confirmation: &str,
    email: &str,
    field: &str,
    confirmation_field: &str,
) -> Result<Password, ApiError> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("stored e-mail invalid: {e}"))?;
    let (password, confirmation) = (
        normalized_password(password),
        normalized_password(confirmation),
    );
    Password::parse(&password, &confirmation, &email).map_err(|error| {
        let field = if error == domain::PasswordError::Mismatch {
            confirmation_field
        } else {
            field
        };
        ApiError::field(field, &error)
    })
}

pub async fn reset_password(
    state: &AppState,
    token: &str,
    password: &str,
    confirmation: &str,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    let user_id = match tx
        .take_token(&hash_token(token), TokenPurpose::ResetPassword, now)
        .await?
    {
        TokenOutcome::Taken { user_id, .. } => user_id,
        other => return Err(token_error(&other)),
    };
    let user = tx.user_by_id(user_id).await?.ok_or(ApiError::NotFound)?;
    // An invalid password rolls the unit back: the link stays usable.
    let password = new_password(
        password,
        confirmation,
        &user.email,
        "password",
        "password_confirmation",
    )?;
    replace_password(state, &mut tx, &user, &password, None, now).await?;
    // The link reached the mailbox, so the address is proven too.
    tx.confirm_email(user.id, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
}

pub async fn update_profile(
    state: &AppState,
    user: &UserRecord,
    full_name: Option<&str>,
    phone: Option<&str>,
) -> Result<UserRecord, ApiError> {
    let mut errors = Vec::new();
    let full_name = full_name.map(|v| parsed("full_name", FullName::parse(v), &mut errors));
    let phone = phone.map(|v| parsed("phone", Phone::parse(v), &mut errors));
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let full_name = full_name
        .flatten()
        .map_or(user.full_name.clone(), |n| n.as_str().to_owned());
    let phone = phone
        .flatten()
        .map_or(user.phone.clone(), |p| p.as_str().to_owned());
    let mut tx = state.store.begin().await?;
    tx.update_profile(user.id, &full_name, &phone, state.clock.now())
        .await?;
    let updated = tx.user_by_id(user.id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(updated)
}

/// The counter of wrong passwords tried against one account, at login and wherever a signed-in
/// user must repeat theirs: a stolen access token does not give unlimited guesses.
fn password_guesses_key(email: &str) -> String {
    format!("login:account:{email}")
}

async fn check_current_password(
    state: &AppState,
    user: &UserRecord,
    password: &str,
) -> Result<(), ApiError> {
    let key = password_guesses_key(&user.email);
    state
        .limiter
        .hit(&key, state.config.rate_limits.login_per_account)
        .await?;
    if state
        .hasher
        .verify(password, Some(&user.password_hash))
        .await?
    {
        state.limiter.forgive(&key).await?;
        return Ok(());
    }
    Err(ApiError::Validation(vec![FieldError::new(
        "current_password",
        "wrong_password",
        "Неверный текущий пароль.",
    )]))
}

/// «Изменить email»: e-mails a link to the new address. The token names the session that asked,
/// which is the one kept when the link is used.
pub async fn request_email_change(
    state: &AppState,
    current: &CurrentUser,
    new_email: &str,
    current_password: &str,
    origin: &Origin,
) -> Result<String, ApiError> {
    let user = &current.user;
    let new_email = Email::parse(new_email).map_err(|e| ApiError::field("new_email", &e))?;
    if new_email.as_str() == user.email {
        return Err(ApiError::Validation(vec![FieldError::new(
            "new_email",
            "email_unchanged",
            "Новый адрес совпадает с текущим.",
        )]));
    }
    check_current_password(state, user, current_password).await?;
    // The account's own address counts too: one account cannot mail address after address.
    limit_mail_to(state, &[new_email.as_str(), &user.email], origin).await?;
    let now = state.clock.now();
    let (token, token_hash) = new_secret_token();
    let mut tx = state.store.begin().await?;
    tx.insert_token(
        user.id,
        TokenPurpose::ChangeEmail,
        &token_hash,
        Some(&format!("{} {}", current.session_id, new_email.as_str())),
        now,
        now + CONFIRMATION_SECS,
    )
    .await?;
    let link = state.link(&format!("/confirm-email-change?token={token}"));
    let letter = state.templates.render(
        &new_email.to_ascii(),
        &Letter::ChangeEmail {
            full_name: &user.full_name,
            link: &link,
        },
    );
    tx.enqueue_mail(&letter, now).await?;
    // The owner hears of it while it can still be stopped: a new password voids the link.
    let notice = state.templates.render(
        &crate::mail::send_to(&user.email),
        &Letter::EmailChangeRequested {
            full_name: &user.full_name,
            new_email: new_email.as_str(),
            forgot_link: &state.link("/forgot-password"),
        },
    );
    tx.enqueue_mail(&notice, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(format!(
        "Мы отправили письмо на {}. Новый адрес начнёт действовать после перехода по ссылке из письма.",
        new_email.as_str()
    ))
}

pub async fn confirm_email_change(state: &AppState, token: &str) -> Result<String, ApiError> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    let (user_id, new_email) = match tx
        .take_token(&hash_token(token), TokenPurpose::ChangeEmail, now)
        .await?
    {
        TokenOutcome::Taken {
            user_id,
            payload: Some(payload),
        } => (user_id, payload),
        other => return Err(token_error(&other)),
    };
    // "<session id> <address>"; links sent before sessions were named hold the address only.
    let (asking_session, new_email) = match new_email.split_once(' ') {
        Some((session, email)) => (session.parse::<i64>().ok(), email.to_owned()),
        None => (None, new_email),
    };
    let user = tx.user_by_id(user_id).await?.ok_or(ApiError::NotFound)?;
    match tx.set_email(user.id, &new_email, now).await {
        Err(error) if is_unique_violation(&error) => {
            return Err(ApiError::Conflict {
                code: "email_taken",
                detail: "Этот адрес уже используется другим пользователем личного кабинета.".into(),
            });
        }
        other => other?,
    }
    tx.revoke_other_sessions(user.id, asking_session, now)
        .await?;
    // Reset links went to the old address; other pending changes would switch it again.
    tx.discard_tokens(user.id, TokenPurpose::ResetPassword, now)
        .await?;
    tx.discard_tokens(user.id, TokenPurpose::ChangeEmail, now)
        .await?;
    let letter = state.templates.render(
        &crate::mail::send_to(&user.email),
        &Letter::EmailChanged {
            full_name: &user.full_name,
            new_email: &new_email,
        },
    );
    tx.enqueue_mail(&letter, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(new_email)
}

/// Changes the password of the signed-in user and returns a new access token for their session.
pub async fn change_password(
    state: &AppState,
    user: &UserRecord,
    session_id: i64,
    current_password: &str,
    new_password_text: &str,
    confirmation: &str,
    origin: &Origin,
) -> Result<String, ApiError> {
    check_current_password(state, user, current_password).await?;
    let password = new_password(
        new_password_text,
        confirmation,
        &user.email,
        "new_password",
        "new_password_confirmation",
    )?;
    // «Пароль изменён» goes to the account's address.
    limit_mail(state, &user.email, origin).await?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    replace_password(state, &mut tx, user, &password, Some(session_id), now).await?;
    let updated = tx.user_by_id(user.id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(state
        .jwt
        .issue(user.id, session_id, updated.token_version, now))
}

/// Creates a confirmed operator (from the CLI).
pub async fn create_operator(
    state_store: &dyn crate::store::Store,
    hasher: &crate::auth::PasswordHasher,
    email: &str,
    full_name: &str,
    password: &str,
    now: i64,
) -> anyhow::Result<i64> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    let full_name = FullName::parse(full_name).map_err(|e| anyhow::anyhow!("{e}"))?;
    let password =
        Password::parse(password, password, &email).map_err(|e| anyhow::anyhow!("{e}"))?;
    let hash = hasher.hash(password.expose_secret()).await?;
    let mut tx = state_store.begin().await?;
    let id = tx
        .insert_user(&NewUser {
            email: email.as_str(),
            full_name: full_name.as_str(),
            phone: "70000000000",
            password_hash: &hash,
            role: Role::Operator,
            confirmed: true,
            consent_version: CONSENT_VERSION,
            now,
        })
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                anyhow::anyhow!("a user with the e-mail {} already exists", email.as_str())
            } else {
                e.into()
            }
        })?;
    tx.commit().await?;
    Ok(id)
}

pub fn access_token_secs() -> i64 {
    ACCESS_TOKEN_SECS
}
