//! Personal accounts, meters and readings as a customer uses them (F3, F4, F5): linking an
//! account with its last payment, the meters with their previous readings, and submissions
//! decided by the domain rule inside one unit of work per meter.

use domain::{
    AccountNumber, BillingMonth, MeterKind, MeterPrecision, Money, PreviousReading, ReadingValue,
    SubmissionRequest, Verification,
};
use time::Date;

use crate::app::AppState;
use crate::auth::{SessionToken, hash_token, new_secret_token};
use crate::error::ApiError;
use crate::mail::Letter;
use crate::store::{
    AccountMeters, AccountRecord, LinkRequest, MeterRecord, NewReading, ReadingRecord,
    ReadingSource, TokenOutcome, TokenPurpose, UserRecord,
};

const ACTIVATION_SECS: i64 = 24 * 3600;

pub fn iso_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

pub fn parse_iso_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, format).ok()
}

/// A stored meter with its rules parsed back into domain values.
pub struct Meter {
    pub record: MeterRecord,
    pub kind: MeterKind,
    pub precision: MeterPrecision,
    pub verification: Verification,
}

impl Meter {
    pub fn new(record: MeterRecord) -> Self {
        let kind = MeterKind::parse_code(&record.kind).unwrap_or(MeterKind::HotWater);
        let precision = u8::try_from(record.whole_digits)
            .ok()
            .zip(u8::try_from(record.decimals).ok())
            .and_then(|(whole, decimals)| MeterPrecision::new(whole, decimals))
            .unwrap_or_default();
        let verification = Verification {
            last: record.last_verification.as_deref().and_then(parse_iso_date),
            next: record.next_verification.as_deref().and_then(parse_iso_date),
        };
        Self {
            record,
            kind,
            precision,
            verification,
        }
    }

    pub fn monthly_limit(&self) -> ReadingValue {
        self.record
            .monthly_limit
            .and_then(ReadingValue::from_thousandths)
            .unwrap_or_else(|| self.kind.default_monthly_limit())
    }

    pub fn format(&self, thousandths: i64) -> String {
        ReadingValue::from_thousandths(thousandths)
            .map(|v| v.format(self.precision))
            .unwrap_or_else(|| thousandths.to_string())
    }
}

fn hotline_message(state: &AppState) -> String {
    format!(
        "Лицевой счет не найден или сумма последнего платежа не совпадает. Проверьте данные или \
         позвоните на горячую линию {}.",
        state.config.branch.hotline
    )
}

/// «Добавить лицевой счет»: checks the number and the last payment against billing's data and
/// e-mails an activation link. Failures count against the number (for everyone) and the user.
pub async fn request_link(
    state: &AppState,
    user: &UserRecord,
    number: &str,
    amount: &str,
) -> Result<String, ApiError> {
    let mut errors = Vec::new();
    let number = AccountNumber::parse(number)
        .map_err(|e| errors.push(crate::error::Coded::on_field(&e, "number")))
        .ok();
    let amount = Money::parse(amount)
        .map_err(|e| errors.push(crate::error::Coded::on_field(&e, "last_payment_amount")))
        .ok();
    let (Some(number), Some(amount)) = (number, amount) else {
        return Err(ApiError::Validation(errors));
    };

    let limits = &state.config.rate_limits;
    let number_key = format!("link:number:{}", number.as_str());
    let user_key = format!("link:user:{}", user.id);
    // Each attempt counts as a failure up front and is forgiven when it matches, so that
    // guesses sent at once cannot all pass before any of them is counted.
    if let Err(ApiError::TooManyRequests { retry_after, .. }) = state
        .limiter
        .hit(&number_key, limits.link_per_account_number)
        .await
    {
        return Err(ApiError::TooManyRequests {
            code: "account_number_locked",
            detail: format!(
                "Привязка лицевого счета временно заблокирована из-за неверных попыток. \
                 Повторите позже или позвоните на горячую линию {}.",
                state.config.branch.hotline
            ),
            retry_after,
        });
    }
    state.limiter.hit(&user_key, limits.link_per_user).await?;

    let account = state.store.account_by_number(number.as_str()).await?;
    let matched = account.filter(|a| {
        a.last_payment_kopecks
            .is_some_and(|paid| paid == amount.kopecks())
    });
    let Some(account) = matched else {
        return Err(ApiError::Refused {
            code: "account_not_matched",
            detail: hotline_message(state),
            field: None,
        });
    };

    state.limiter.forgive(&number_key).await?;
    state.limiter.forgive(&user_key).await?;
    // Counted apart from the mail anyone can ask for an address (`identity::limit_mail`): a
    // stranger sending password resets to it must not stop its owner linking an account.
    state
        .limiter
        .hit(
            &format!("mail:activation:{}", user.id),
            limits.mail_per_address,
        )
        .await?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    if tx.request_link(user.id, account.id, now).await? == LinkRequest::AlreadyActive {
        return Err(ApiError::Conflict {
            code: "account_already_linked",
            detail: "Этот лицевой счет уже добавлен в ваш личный кабинет.".into(),
        });
    }
    let (token, token_hash) = new_secret_token();
    tx.insert_token(
        user.id,
        TokenPurpose::ActivateAccount,
        &token_hash,
        Some(&account.id.to_string()),
        now,
        now + ACTIVATION_SECS,
    )
    .await?;
    let link = state.link(&format!("/accounts/confirm?token={token}"));
    let letter = state.templates.render(
        &crate::mail::send_to(&user.email),
        &Letter::ActivateAccount {
            full_name: &user.full_name,
            masked_number: &number.masked(),
            link: &link,
        },
    );
    tx.enqueue_mail(&letter, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(format!(
        "На вашу почту отправлено письмо для активации лицевого счета {}. Перейдите по ссылке из \
         письма.",
        number.masked()
    ))
}

/// Activates a link with the token from the activation e-mail.
pub async fn confirm_link(state: &AppState, token: &str) -> Result<AccountRecord, ApiError> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    let (user_id, account_id) = match tx
        .take_token(&hash_token(token), TokenPurpose::ActivateAccount, now)
        .await?
    {
        TokenOutcome::Taken {
            user_id,
            payload: Some(account),
        } => (
            user_id,
            account.parse::<i64>().map_err(anyhow::Error::from)?,
        ),
        TokenOutcome::Expired => {
            return Err(ApiError::bad_request(
                "token_expired",
                "Срок действия ссылки истёк. Добавьте лицевой счет ещё раз.",
            ));
        }
        _ => {
            return Err(ApiError::bad_request(
                "token_invalid",
                "Ссылка недействительна или уже была использована.",
            ));
        }
    };
    tx.activate_link(user_id, account_id, now).await?;
    tx.commit().await?;
    state
        .store
        .account_of_user(user_id, account_id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The meters of one of the signed-in user's accounts, each with its previous and this month's
/// reading; the session is read with them.
pub async fn meters(
    state: &AppState,
    token: SessionToken,
    account_id: i64,
) -> Result<Vec<(Meter, Option<ReadingRecord>, Option<ReadingRecord>)>, ApiError> {
    let month = BillingMonth::of(state.clock.today()).to_string();
    let found = state
        .store
        .meters_in_session(
            token.user_id,
            token.session_id,
            state.clock.now(),
            account_id,
            &month,
        )
        .await?;
    let (user, found) = found.unzip();
    let current = token.admit(user)?;
    let AccountMeters { meters, readings } = found.unwrap_or_default();
    if meters.is_empty() {
        // None, or not theirs: only the account itself tells which.
        state
            .store
            .account_of_user(current.user.id, account_id)
            .await?
            .ok_or(ApiError::NotFound)?;
        return Ok(Vec::new());
    }
    Ok(meters
        .into_iter()
        .map(|record| {
            let mine = readings.iter().filter(|r| r.meter_id == record.id);
            let current = mine.clone().find(|r| r.billing_month == month).cloned();
            let previous = mine
                .filter(|r| r.billing_month < month)
                .max_by(|a, b| a.billing_month.cmp(&b.billing_month))
                .cloned();
            (Meter::new(record), previous, current)
        })
        .collect())
}

pub async fn meter_of_user(
    state: &AppState,
    user: &UserRecord,
    meter_id: i64,
) -> Result<Meter, ApiError> {
    let record = state
        .store
        .meter_of_user(user.id, meter_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Meter::new(record))
}

pub struct Submission<'a> {
    pub value: &'a str,
    pub confirm_implausible: bool,
    pub rollover: bool,
}

/// How many times a submission is decided again because its meter changed meanwhile before it
/// gives up: each retry means another submission to the same meter was saved.
const SUBMISSION_ATTEMPTS: usize = 16;

/// «ПЕРЕДАТЬ ПОКАЗАНИЯ»: decides by the domain rule against the latest reading of an earlier
/// month and saves the reading of this month (replacing an earlier one), unless the meter or its
/// readings changed in between, in which case it decides again on what they are now.
pub async fn submit(
    state: &AppState,
    user: &UserRecord,
    meter_id: i64,
    submission: Submission<'_>,
    source: ReadingSource,
) -> Result<(Meter, ReadingRecord), ApiError> {
    let today = state.clock.today();
    let month = BillingMonth::of(today).to_string();
    for _ in 0..SUBMISSION_ATTEMPTS {
        let basis = state
            .store
            .meter_for_submission(user.id, meter_id, &month)
            .await?
            .ok_or(ApiError::NotFound)?;
        let meter = Meter::new(basis.meter);
        let value = ReadingValue::parse(submission.value, meter.precision)
            .map_err(|e| ApiError::field("value", &e))?;
        let previous = basis
            .previous_value
            .zip(basis.previous_taken_on.as_deref())
            .and_then(|(value, taken_on)| {
                Some(PreviousReading {
                    value: ReadingValue::from_thousandths(value)?,
                    date: parse_iso_date(taken_on)?,
                })
            });
        let request = SubmissionRequest {
            value,
            precision: meter.precision,
            previous,
            verification: meter.verification,
            window: state.config.branch.window,
            monthly_limit: meter.monthly_limit(),
            today,
            confirm_implausible: submission.confirm_implausible,
            rollover: submission.rollover,
        };
        let accepted = domain::decide(&request).map_err(|refusal| ApiError::Refused {
            code: refusal.code(),
            detail: refusal.to_string(),
            field: Some("value"),
        })?;
        let reading = NewReading {
            meter_id,
            billing_month: month.clone(),
            value: value.thousandths(),
            taken_on: iso_date(today),
            source,
            submitted_by: user.id,
            consumption: accepted.consumption.map(|c| c.thousandths()),
            rollover: accepted.rolled_over,
            confirmed_implausible: submission.confirm_implausible,
            now: state.clock.now(),
        };
        if let Some(saved) = state
            .store
            .save_reading_if_unchanged(&reading, basis.revision)
            .await?
        {
            return Ok((meter, saved));
        }
    }
    Err(ApiError::Conflict {
        code: "meter_busy",
        detail: "Показания этого прибора сейчас передают одновременно с нескольких устройств. \
                 Повторите попытку."
            .into(),
    })
}

/// Why a meter does not take readings now, if it does not.
pub fn refusal_now(state: &AppState, meter: &Meter) -> Option<(&'static str, String)> {
    let today = state.clock.today();
    if let domain::VerificationStatus::Expired { since } = meter.verification.status(today) {
        let refusal = domain::ReadingRefusal::VerificationExpired { since };
        return Some((refusal.code(), refusal.to_string()));
    }
    let window = state.config.branch.window;
    if !window.contains(today) {
        let refusal = domain::ReadingRefusal::OutsideWindow {
            window,
            opens: window.next_opening(today),
        };
        return Some((refusal.code(), refusal.to_string()));
    }
    None
}
