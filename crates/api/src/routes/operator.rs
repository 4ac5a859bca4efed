//! `/api/v1/operator/*`: the operators' queue of applications, answers, and corrections of meter
//! data with an audit log. Operators only (customers get 403).

use actix_web::web;
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::app::AppState;
use crate::applications::{self, CorrectionRequest};
use crate::auth::Operator;
use crate::error::{ApiError, Problem};
use crate::routes::JsonBody;
use crate::routes::applications::{ApplicationInfo, with_files};
use crate::routes::me::timestamp;
use crate::store::{AccountHolder, ApplicationRecord, AttachmentInfo, MeterChange, MeterRecord};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/operator/applications").get(queue))
        .service(web::resource("/operator/applications/{id}").get(open))
        .service(web::resource("/operator/applications/{id}/take").post(take))
        .service(web::resource("/operator/applications/{id}/answer").post(answer))
        .service(web::resource("/operator/applications/{id}/close").post(close))
        .service(
            web::resource("/operator/meters/{meter_id}")
                .get(meter)
                .patch(correct_meter),
        )
        .service(web::resource("/operator/accounts/{number}").get(account));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueItem {
    #[serde(flatten)]
    pub application: ApplicationInfo,
    #[schema(example = "Иванов Иван Иванович")]
    pub customer_name: String,
    #[schema(example = "ivanov@mail.ru")]
    pub customer_email: String,
}

impl QueueItem {
    fn new(record: ApplicationRecord, files: Vec<AttachmentInfo>) -> Self {
        let customer_name = record.customer_name.clone();
        let customer_email = record.customer_email.clone();
        Self {
            application: ApplicationInfo::new(record, files),
            customer_name,
            customer_email,
        }
    }
}

async fn item(state: &AppState, record: ApplicationRecord) -> Result<QueueItem, ApiError> {
    let files = state.store.attachments_of(&[record.id]).await?;
    Ok(QueueItem::new(record, files))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// `new`, `in_progress`, `answered` or `closed`; all when absent.
    pub status: Option<String>,
    /// At most this many (1 to 500, default 100).
    pub limit: Option<i64>,
}

/// The queue of applications, oldest first.
#[utoipa::path(
    get, path = "/operator/applications", tag = "operator",
    security(("bearer" = [])),
    params(QueueQuery),
    responses(
        (status = 200, body = Vec<QueueItem>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn queue(
    state: web::Data<AppState>,
    _operator: Operator,
    query: web::Query<QueueQuery>,
) -> Result<web::Json<Vec<QueueItem>>, ApiError> {
    let status = query.status.as_deref().filter(|s| !s.is_empty());
    if status.is_some_and(|s| !["new", "in_progress", "answered", "closed"].contains(&s)) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "status: new, in_progress, answered или closed.",
        ));
    }
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit — от 1 до 500.",
        ));
    }
    let records = state.store.application_queue(status, limit).await?;
    Ok(web::Json(
        with_files(&state, records, QueueItem::new).await?,
    ))
}

/// One application with its files.
#[utoipa::path(
    get, path = "/operator/applications/{id}", tag = "operator",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = QueueItem),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn open(
    state: web::Data<AppState>,
    _operator: Operator,
    path: web::Path<i64>,
) -> Result<web::Json<QueueItem>, ApiError> {
    let record = state
        .store
        .application(path.into_inner())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(web::Json(item(&state, record).await?))
}

/// Takes a new application into work (status `in_progress`).
#[utoipa::path(
    post, path = "/operator/applications/{id}/take", tag = "operator",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = QueueItem),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`application_not_new`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn take(
    state: web::Data<AppState>,
    operator: Operator,
    path: web::Path<i64>,
) -> Result<web::Json<QueueItem>, ApiError> {
    let record = applications::take(&state, &operator.0.user, path.into_inner()).await?;
    Ok(web::Json(item(&state, record).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// The answer, 1 to 4000 characters.
    #[schema(example = "Номер прибора учета исправлен.")]
    pub text: String,
}

/// Answers an application: the answer shows in the customer's cabinet and is e-mailed to them.
#[utoipa::path(
    post, path = "/operator/applications/{id}/answer", tag = "operator",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    request_body = AnswerRequest,
    responses(
        (status = 200, body = QueueItem),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`application_closed`", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn answer(
    state: web::Data<AppState>,
    operator: Operator,
    path: web::Path<i64>,
    body: JsonBody<AnswerRequest>,
) -> Result<web::Json<QueueItem>, ApiError> {
    let record =
        applications::answer(&state, &operator.0.user, path.into_inner(), &body.text).await?;
    Ok(web::Json(item(&state, record).await?))
}

/// Closes an application.
#[utoipa::path(
    post, path = "/operator/applications/{id}/close", tag = "operator",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = QueueItem),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`application_closed`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn close(
    state: web::Data<AppState>,
    operator: Operator,
    path: web::Path<i64>,
) -> Result<web::Json<QueueItem>, ApiError> {
    let record = applications::close(&state, &operator.0.user, path.into_inner()).await?;
    Ok(web::Json(item(&state, record).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeterChangeInfo {
    pub id: i64,
    /// `serial_number`, `installed_on`, `last_verification` or `next_verification`.
    #[schema(example = "serial_number")]
    pub field: String,
    #[schema(example = "23_8995270")]
    pub old_value: Option<String>,
    #[schema(example = "28_1234567")]
    pub new_value: Option<String>,
    pub operator_id: i64,
    pub operator_name: String,
    /// The application the change answers, if any.
    pub application_id: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
}

impl From<MeterChange> for MeterChangeInfo {
    fn from(change: MeterChange) -> Self {
        Self {
            id: change.id,
            field: change.field,
            old_value: change.old_value,
            new_value: change.new_value,
            operator_id: change.operator_id,
            operator_name: change.operator_name,
            application_id: change.application_id,
            changed_at: timestamp(change.changed_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorMeter {
    pub id: i64,
    pub account_id: i64,
    #[schema(example = "ГВС2")]
    pub name: String,
    pub kind: String,
    #[schema(example = "23_8995270")]
    pub serial_number: String,
    pub place: String,
    #[schema(format = "date")]
    pub installed_on: Option<String>,
    #[schema(format = "date")]
    pub last_verification: Option<String>,
    #[schema(format = "date")]
    pub next_verification: Option<String>,
    /// Every correction, newest first.
    pub changes: Vec<MeterChangeInfo>,
}

impl OperatorMeter {
    fn new(meter: MeterRecord, changes: Vec<MeterChange>) -> Self {
        Self {
            id: meter.id,
            account_id: meter.account_id,
            name: meter.name,
            kind: meter.kind,
            serial_number: meter.serial_number,
            place: meter.place,
            installed_on: meter.installed_on,
            last_verification: meter.last_verification,
            next_verification: meter.next_verification,
            changes: changes.into_iter().map(MeterChangeInfo::from).collect(),
        }
    }
}

/// A meter with the log of its corrections.
#[utoipa::path(
    get, path = "/operator/meters/{meter_id}", tag = "operator",
    security(("bearer" = [])),
    params(("meter_id" = i64, Path)),
    responses(
        (status = 200, body = OperatorMeter),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn meter(
    state: web::Data<AppState>,
    _operator: Operator,
    path: web::Path<i64>,
) -> Result<web::Json<OperatorMeter>, ApiError> {
    let meter_id = path.into_inner();
    let meter = state
        .store
        .meter(meter_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let changes = state.store.meter_changes(meter_id).await?;
    Ok(web::Json(OperatorMeter::new(meter, changes)))
}

/// `null` clears a date; an absent field keeps it.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectMeterRequest {
    #[schema(example = "28_1234567")]
    pub serial_number: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = "date")]
    pub installed_on: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = "date")]
    pub last_verification: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = "date", example = "2032-05-01")]
    pub next_verification: Option<Option<String>>,
    /// The application this correction answers.
    pub application_id: Option<i64>,
}

/// Corrects a meter's serial number and dates; each changed field is recorded (who, when, old
/// and new value).
#[utoipa::path(
    patch, path = "/operator/meters/{meter_id}", tag = "operator",
    security(("bearer" = [])),
    params(("meter_id" = i64, Path)),
    request_body = CorrectMeterRequest,
    responses(
        (status = 200, body = OperatorMeter),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn correct_meter(
    state: web::Data<AppState>,
    operator: Operator,
    path: web::Path<i64>,
    body: JsonBody<CorrectMeterRequest>,
) -> Result<web::Json<OperatorMeter>, ApiError> {
    let body = body.into_inner();
    let request = CorrectionRequest {
        serial_number: body.serial_number,
        installed_on: body.installed_on,
        last_verification: body.last_verification,
        next_verification: body.next_verification,
        application_id: body.application_id,
    };
    let (meter, changes) =
        applications::correct_meter(&state, &operator.0.user, path.into_inner(), request).await?;
    Ok(web::Json(OperatorMeter::new(meter, changes)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountHolderInfo {
    pub user_id: i64,
    #[schema(example = "Иванов Иван Иванович")]
    pub full_name: String,
    #[schema(example = "ivanov@mail.ru")]
    pub email: String,
    #[schema(example = "79876543210")]
    pub phone: String,
    /// `pending` or `active`.
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub linked_at: OffsetDateTime,
}

impl From<AccountHolder> for AccountHolderInfo {
    fn from(holder: AccountHolder) -> Self {
        Self {
            user_id: holder.user_id,
            full_name: holder.full_name,
            email: holder.email,
            phone: holder.phone,
            status: holder.status,
            linked_at: timestamp(holder.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorAccount {
    pub id: i64,
    #[schema(example = "720000032")]
    pub number: String,
    pub address: String,
    /// Rubles, e.g. `"500.00"`.
    pub last_payment_amount: Option<String>,
    #[schema(format = "date")]
    pub last_payment_date: Option<String>,
    pub meters: Vec<OperatorMeter>,
    /// The customers who linked the account.
    pub customers: Vec<AccountHolderInfo>,
}

/// A personal account by its number: its meters (with their corrections) and its customers.
#[utoipa::path(
    get, path = "/operator/accounts/{number}", tag = "operator",
    security(("bearer" = [])),
    params(("number" = String, Path, description = "The account number")),
    responses(
        (status = 200, body = OperatorAccount),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn account(
    state: web::Data<AppState>,
    _operator: Operator,
    path: web::Path<String>,
) -> Result<web::Json<OperatorAccount>, ApiError> {
    let number = domain::AccountNumber::parse(&path).map_err(|_| ApiError::NotFound)?;
    let account = state
        .store
        .account_by_number(number.as_str())
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut meters = Vec::new();
    for meter in state.store.meters_of_account(account.id).await? {
        let changes = state.store.meter_changes(meter.id).await?;
        meters.push(OperatorMeter::new(meter, changes));
    }
    let customers = state.store.holders_of_account(account.id).await?;
    Ok(web::Json(OperatorAccount {
        id: account.id,
        number: account.number,
        address: account.address,
        last_payment_amount: account
            .last_payment_kopecks
            .and_then(domain::Money::from_kopecks)
            .map(|m| m.to_string()),
        last_payment_date: account.last_payment_date,
        meters,
        customers: customers.into_iter().map(AccountHolderInfo::from).collect(),
    }))
}
