//! `/api/v1/accounts*` and `/api/v1/meters/*`: the customer's personal accounts, meters and
//! readings (F3, F4, F5).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::{CurrentUser, SessionToken};
use crate::error::{ApiError, Problem};
use crate::readings::{self, Meter, Submission};
use crate::routes::JsonBody;
use crate::routes::auth::{Accepted, TokenRequest};
use crate::routes::me::timestamp;
use crate::store::{AccountRecord, LinkedAccount, ReadingRecord, ReadingSource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/accounts")
            .get(list_accounts)
            .post(add_account),
    )
    .service(web::resource("/accounts/confirm").post(confirm_account))
    .service(web::resource("/accounts/{account_id}").delete(unlink_account))
    .service(web::resource("/accounts/{account_id}/current").put(make_current))
    .service(web::resource("/accounts/{account_id}/meters").get(list_meters))
    .service(
        web::resource("/meters/{meter_id}/readings")
            .get(list_readings)
            .post(submit_reading),
    );
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountInfo {
    #[schema(example = 1)]
    pub id: i64,
    /// The account number (лицевой счет).
    #[schema(example = "720000032")]
    pub number: String,
    #[schema(example = "г. Пенза, ул. Московская, д. 1, кв. 32")]
    pub address: String,
    /// `pending` until the activation link from the e-mail is used, then `active`.
    #[schema(example = "active")]
    pub status: String,
    /// The account the cabinet shows (one of the active ones).
    pub current: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub added_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub activated_at: Option<OffsetDateTime>,
}

impl From<LinkedAccount> for AccountInfo {
    fn from(link: LinkedAccount) -> Self {
        Self {
            id: link.id,
            number: link.number,
            address: link.address,
            status: link.status,
            current: link.is_current != 0,
            added_at: timestamp(link.created_at),
            activated_at: link.activated_at.map(timestamp),
        }
    }
}

/// «Мои лицевые счета»: the accounts linked to the user (and those awaiting activation).
#[utoipa::path(
    get, path = "/accounts", tag = "accounts",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<AccountInfo>), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
async fn list_accounts(
    state: web::Data<AppState>,
    current: CurrentUser,
) -> Result<web::Json<Vec<AccountInfo>>, ApiError> {
    let accounts = state.store.accounts_of_user(current.user.id).await?;
    Ok(web::Json(
        accounts.into_iter().map(AccountInfo::from).collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddAccountRequest {
    /// «Лицевой счет»: digits.
    #[schema(example = "720000032")]
    pub number: String,
    /// «Сумма последнего платежа» in rubles: `500`, `500.00` or `500,00`.
    #[schema(example = "500.00")]
    pub last_payment_amount: String,
}

/// «Добавить лицевой счет»: the number and the last payment must match billing's data; then an
/// activation e-mail is sent. An unknown number and a wrong amount get the same answer. Failed
/// attempts lock the number (for every user) for a while.
#[utoipa::path(
    post, path = "/accounts", tag = "accounts",
    security(("bearer" = [])),
    request_body = AddAccountRequest,
    responses(
        (status = 202, body = Accepted),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`account_already_linked`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` or `account_not_matched`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`account_number_locked` or `too_many_requests`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn add_account(
    state: web::Data<AppState>,
    current: CurrentUser,
    body: JsonBody<AddAccountRequest>,
) -> Result<HttpResponse, ApiError> {
    let detail = readings::request_link(
        &state,
        &current.user,
        &body.number,
        &body.last_payment_amount,
    )
    .await?;
    Ok(Accepted::response(detail))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountActivated {
    pub detail: String,
    #[schema(example = 1)]
    pub account_id: i64,
    #[schema(example = "720000032")]
    pub number: String,
}

/// Activates an account with the token from the activation e-mail.
#[utoipa::path(
    post, path = "/accounts/confirm", tag = "accounts",
    request_body = TokenRequest,
    responses(
        (status = 200, body = AccountActivated),
        (status = 400, description = "`token_invalid` or `token_expired`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn confirm_account(
    state: web::Data<AppState>,
    body: JsonBody<TokenRequest>,
) -> Result<web::Json<AccountActivated>, ApiError> {
    let account: AccountRecord = readings::confirm_link(&state, &body.token).await?;
    Ok(web::Json(AccountActivated {
        detail: format!("Лицевой счет {} активирован.", account.number),
        account_id: account.id,
        number: account.number,
    }))
}

/// Removes an account from the user's cabinet (other users who linked it keep it).
#[utoipa::path(
    delete, path = "/accounts/{account_id}", tag = "accounts",
    security(("bearer" = [])),
    params(("account_id" = i64, Path)),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn unlink_account(
    state: web::Data<AppState>,
    current: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let mut tx = state.store.begin().await?;
    let removed = tx.unlink(current.user.id, path.into_inner()).await?;
    tx.commit().await?;
    if !removed {
        return Err(ApiError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Makes an active account the current one.
#[utoipa::path(
    put, path = "/accounts/{account_id}/current", tag = "accounts",
    security(("bearer" = [])),
    params(("account_id" = i64, Path)),
    responses(
        (status = 204, description = "Now current"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn make_current(
    state: web::Data<AppState>,
    current: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let mut tx = state.store.begin().await?;
    let done = tx
        .set_current_account(current.user.id, path.into_inner())
        .await?;
    tx.commit().await?;
    if !done {
        return Err(ApiError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// A reading in brief, as a meter shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadingBrief {
    pub id: i64,
    /// In the meter's unit, with its decimals.
    #[schema(example = "0.002")]
    pub value: String,
    /// When it was taken.
    #[schema(example = "2024-07-26", format = "date")]
    pub date: String,
    #[schema(example = "2024-07")]
    pub billing_month: String,
    /// `customer`, `operator` or `billing`.
    #[schema(example = "billing")]
    pub source: String,
    /// `sent`, `accepted` or `rejected`.
    #[schema(example = "accepted")]
    pub status: String,
    /// Why billing rejected it.
    pub reason: Option<String>,
}

impl ReadingBrief {
    fn new(meter: &Meter, record: &ReadingRecord) -> Self {
        Self {
            id: record.id,
            value: meter.format(record.value),
            date: record.taken_on.clone(),
            billing_month: record.billing_month.clone(),
            source: record.source.clone(),
            status: record.status.clone(),
            reason: record.reason.clone(),
        }
    }
}

/// Why a meter does not take readings now.
#[derive(Debug, Serialize, ToSchema)]
pub struct Refusal {
    #[schema(example = "verification_expired")]
    pub code: String,
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeterInfo {
    pub id: i64,
    /// ГВС1, ГВС2, ОТП1 …
    #[schema(example = "ГВС1")]
    pub name: String,
    /// `hot_water`, `cold_water` or `heating`.
    #[schema(example = "hot_water")]
    pub kind: String,
    #[schema(example = "Горячая вода")]
    pub kind_label: String,
    #[schema(example = "м³")]
    pub unit: String,
    #[schema(example = "23_8994120")]
    pub serial_number: String,
    #[schema(example = "Ванная")]
    pub place: String,
    #[schema(format = "date")]
    pub installed_on: Option<String>,
    #[schema(format = "date")]
    pub last_verification: Option<String>,
    #[schema(format = "date")]
    pub next_verification: Option<String>,
    /// `valid`, `expiring_soon` (30 days or less), `expired` or `unknown`.
    #[schema(example = "valid")]
    pub verification_status: String,
    /// Whole digits of the drum.
    #[schema(example = 5)]
    pub whole_digits: u8,
    /// Digits after the decimal point a reading may have.
    #[schema(example = 3)]
    pub decimals: u8,
    /// Consumption per month above which a reading needs `confirm_implausible`.
    #[schema(example = "30.000")]
    pub monthly_limit: String,
    /// The latest reading of an earlier month: a new one may not be less.
    pub previous_reading: Option<ReadingBrief>,
    /// This month's reading, if one was submitted (a new one replaces it).
    pub current_reading: Option<ReadingBrief>,
    /// Whether the meter takes readings today; if not, `refusal` says why.
    pub accepts_readings: bool,
    pub refusal: Option<Refusal>,
}

/// The meters of an account («Приборы учета», «Передача показаний»).
#[utoipa::path(
    get, path = "/accounts/{account_id}/meters", tag = "meters",
    security(("bearer" = [])),
    params(("account_id" = i64, Path)),
    responses(
        (status = 200, body = Vec<MeterInfo>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_meters(
    state: web::Data<AppState>,
    token: SessionToken,
    path: web::Path<i64>,
) -> Result<web::Json<Vec<MeterInfo>>, ApiError> {
    let today = state.clock.today();
    let meters = readings::meters(&state, token, path.into_inner()).await?;
    let infos = meters
        .into_iter()
        .map(|(meter, previous, current_reading)| {
            let refusal = readings::refusal_now(&state, &meter).map(|(code, detail)| Refusal {
                code: code.to_owned(),
                detail,
            });
            let record = &meter.record;
            MeterInfo {
                id: record.id,
                name: record.name.clone(),
                kind: meter.kind.code().to_owned(),
                kind_label: meter.kind.label().to_owned(),
                unit: meter.kind.unit().to_owned(),
                serial_number: record.serial_number.clone(),
                place: record.place.clone(),
                installed_on: record.installed_on.clone(),
                last_verification: record.last_verification.clone(),
                next_verification: record.next_verification.clone(),
                verification_status: meter.verification.status(today).code().to_owned(),
                whole_digits: meter.precision.whole_digits(),
                decimals: meter.precision.decimals(),
                monthly_limit: meter.monthly_limit().format(meter.precision),
                previous_reading: previous.as_ref().map(|r| ReadingBrief::new(&meter, r)),
                current_reading: current_reading
                    .as_ref()
                    .map(|r| ReadingBrief::new(&meter, r)),
                accepts_readings: refusal.is_none(),
                refusal,
            }
        })
        .collect();
    Ok(web::Json(infos))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadingInfo {
    pub id: i64,
    #[schema(example = 7)]
    pub meter_id: i64,
    #[schema(example = "0.009")]
    pub value: String,
    #[schema(example = "2026-11-25", format = "date")]
    pub date: String,
    #[schema(example = "2026-11")]
    pub billing_month: String,
    /// `customer`, `operator` or `billing`.
    pub source: String,
    /// `sent`, `accepted` or `rejected`.
    pub status: String,
    pub reason: Option<String>,
    /// Consumption since the previous reading, when there was one.
    #[schema(example = "0.007")]
    pub consumption: Option<String>,
    /// Whether the drum passed its maximum since the previous reading.
    pub rollover: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl ReadingInfo {
    fn new(meter: &Meter, record: ReadingRecord) -> Self {
        Self {
            id: record.id,
            meter_id: record.meter_id,
            value: meter.format(record.value),
            date: record.taken_on,
            billing_month: record.billing_month,
            source: record.source,
            status: record.status,
            reason: record.reason,
            consumption: record.consumption.map(|c| meter.format(c)),
            rollover: record.rollover != 0,
            updated_at: timestamp(record.updated_at),
        }
    }
}

/// The history of a meter's readings, newest month first, with consumption.
#[utoipa::path(
    get, path = "/meters/{meter_id}/readings", tag = "meters",
    security(("bearer" = [])),
    params(("meter_id" = i64, Path)),
    responses(
        (status = 200, body = Vec<ReadingInfo>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_readings(
    state: web::Data<AppState>,
    current: CurrentUser,
    path: web::Path<i64>,
) -> Result<web::Json<Vec<ReadingInfo>>, ApiError> {
    let meter = readings::meter_of_user(&state, &current.user, path.into_inner()).await?;
    let history = state.store.readings_of_meter(meter.record.id).await?;
    Ok(web::Json(
        history
            .into_iter()
            .map(|r| ReadingInfo::new(&meter, r))
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitReadingRequest {
    /// «Новые показания»: decimal comma or dot, at most the meter's decimals.
    #[schema(example = "0.009")]
    pub value: String,
    /// Confirms a consumption above the meter's monthly limit.
    #[serde(default)]
    pub confirm_implausible: bool,
    /// Declares that the drum passed its maximum and started from zero.
    #[serde(default)]
    pub rollover: bool,
}

/// «ПЕРЕДАТЬ ПОКАЗАНИЯ»: one reading per meter and month counts; a later one replaces it.
/// A reading below the previous one, outside the submission window, on a meter whose
/// verification expired, or with implausible consumption (unless confirmed) is refused with
/// its own `code`.
#[utoipa::path(
    post, path = "/meters/{meter_id}/readings", tag = "meters",
    security(("bearer" = [])),
    params(("meter_id" = i64, Path)),
    request_body = SubmitReadingRequest,
    responses(
        (status = 201, body = ReadingInfo),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`meter_busy`: other submissions to the meter kept being saved while this one was decided; try again", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `reading_below_previous`, `verification_expired`, `outside_submission_window`, `implausible_consumption` or `rollover_not_possible`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn submit_reading(
    state: web::Data<AppState>,
    current: CurrentUser,
    path: web::Path<i64>,
    body: JsonBody<SubmitReadingRequest>,
) -> Result<HttpResponse, ApiError> {
    let submission = Submission {
        value: &body.value,
        confirm_implausible: body.confirm_implausible,
        rollover: body.rollover,
    };
    let source = match current.user.role() {
        crate::store::Role::Operator => ReadingSource::Operator,
        crate::store::Role::Customer => ReadingSource::Customer,
    };
    let (meter, saved) =
        readings::submit(&state, &current.user, path.into_inner(), submission, source).await?;
    Ok(HttpResponse::Created().json(ReadingInfo::new(&meter, saved)))
}
