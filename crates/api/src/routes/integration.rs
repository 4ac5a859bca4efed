//! `/api/v1/integration/*`: billing pushes accounts, payments, meters and readings, takes the
//! readings customers submitted, and reports their fate. API keys only.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::app::AppState;
use crate::auth::ApiClient;
use crate::error::{ApiError, FieldError, Problem};
use crate::integration::{self, BillingAccount, UpsertSummary};
use crate::routes::JsonBody;
use crate::routes::me::timestamp;
use crate::store::VerdictOutcome;

/// Accounts per upsert request; larger imports go in several requests (or `lk import`).
pub const MAX_BATCH: usize = 1000;
const BATCH_BODY_LIMIT: usize = 16 * 1024 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/integration/accounts")
            .app_data(
                web::JsonConfig::default()
                    .limit(BATCH_BODY_LIMIT)
                    .content_type_required(true)
                    .error_handler(crate::error::json_error),
            )
            .put(upsert_accounts),
    )
    .service(web::resource("/integration/readings").get(export_readings))
    .service(web::resource("/integration/readings/{id}/status").post(report_status));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BillingBatch {
    /// At most 1000 accounts per request.
    pub accounts: Vec<BillingAccount>,
}

/// Idempotent bulk upsert of accounts (with their last payment), meters and billing readings.
/// The batch is applied whole or not at all; the same batch twice changes nothing.
#[utoipa::path(
    put, path = "/integration/accounts", tag = "integration",
    security(("api_key" = [])),
    request_body = BillingBatch,
    responses(
        (status = 200, body = UpsertSummary),
        (status = 401, description = "`invalid_api_key`", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Errors name their place, e.g. `accounts[3].meters[0].kind`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn upsert_accounts(
    state: web::Data<AppState>,
    client: ApiClient,
    body: JsonBody<BillingBatch>,
) -> Result<web::Json<UpsertSummary>, ApiError> {
    if body.accounts.len() > MAX_BATCH {
        return Err(ApiError::Validation(vec![FieldError::new(
            "accounts",
            "batch_too_large",
            format!("Не более {MAX_BATCH} лицевых счетов в одном запросе."),
        )]));
    }
    let valid = integration::check_batch(&body.accounts).map_err(ApiError::Validation)?;
    let summary = integration::apply(state.store.as_ref(), &valid, state.clock.now()).await?;
    tracing::info!(client = %client.name, ?summary, "billing batch applied");
    Ok(web::Json(summary))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// The `next_cursor` of the previous page; 0 (the default) from the beginning.
    pub after: Option<i64>,
    /// Items per page, 1 to 1000 (default 500).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedReadingInfo {
    /// Position in the export order.
    pub cursor: i64,
    /// The reading's id, for reporting its status.
    pub id: i64,
    #[schema(example = "720000032")]
    pub account_number: String,
    pub meter_id: i64,
    #[schema(example = "ГВС1")]
    pub meter_name: String,
    #[schema(example = "23_8994120")]
    pub serial_number: String,
    #[schema(example = "2026-11")]
    pub billing_month: String,
    #[schema(example = "0.009")]
    pub value: String,
    #[schema(example = "2026-11-25", format = "date")]
    pub date: String,
    /// `customer` or `operator`.
    pub source: String,
    /// `sent`, `accepted` or `rejected`.
    pub status: String,
    /// Since the previous reading, in the meter's unit; absent for a meter's first reading.
    #[schema(example = "0.007")]
    pub consumption: Option<String>,
    /// The customer declared that the drum passed its maximum and started again from zero.
    pub rollover: bool,
    /// The customer confirmed a consumption above the usual limit.
    pub confirmed_implausible: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub submitted_at: OffsetDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportPage {
    pub items: Vec<ExportedReadingInfo>,
    /// Pass as `after` for the next page; equal to `after` when nothing new came.
    pub next_cursor: i64,
}

/// Readings submitted by customers and operators after a cursor, in a stable order with no
/// gaps: a reading replaced later in its month comes again with a new cursor.
#[utoipa::path(
    get, path = "/integration/readings", tag = "integration",
    security(("api_key" = [])),
    params(ExportQuery),
    responses(
        (status = 200, body = ExportPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn export_readings(
    state: web::Data<AppState>,
    _client: ApiClient,
    query: web::Query<ExportQuery>,
) -> Result<web::Json<ExportPage>, ApiError> {
    let after = query.after.unwrap_or(0);
    let limit = query.limit.unwrap_or(500);
    if after < 0 || !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "after — неотрицательное число, limit — от 1 до 1000.",
        ));
    }
    let rows = state.store.exported_readings(after, limit).await?;
    let next_cursor = rows.last().map_or(after, |r| r.export_seq);
    let items = rows
        .into_iter()
        .map(|r| {
            let precision = domain::MeterPrecision::new(5, u8::try_from(r.decimals).unwrap_or(3))
                .unwrap_or_default();
            let format = |thousandths| {
                domain::ReadingValue::from_thousandths(thousandths).map(|v| v.format(precision))
            };
            ExportedReadingInfo {
                cursor: r.export_seq,
                id: r.id,
                account_number: r.account_number,
                meter_id: r.meter_id,
                meter_name: r.meter_name,
                serial_number: r.serial_number,
                billing_month: r.billing_month,
                value: format(r.value).unwrap_or_default(),
                date: r.taken_on,
                source: r.source,
                status: r.status,
                consumption: r.consumption.and_then(format),
                rollover: r.rollover != 0,
                confirmed_implausible: r.confirmed_implausible != 0,
                submitted_at: timestamp(r.updated_at),
            }
        })
        .collect();
    Ok(web::Json(ExportPage { items, next_cursor }))
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BillingVerdict {
    Accepted,
    Rejected,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingStatusRequest {
    pub status: BillingVerdict,
    /// Required when rejected; the customer sees it.
    #[schema(example = "Показание меньше принятого ранее")]
    pub reason: Option<String>,
    /// The reading's `cursor` in the export the verdict is about. When given, a reading the
    /// customer replaced since (it is exported again with a new cursor) is not touched: 409.
    pub cursor: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadingStatusInfo {
    pub id: i64,
    pub status: BillingVerdict,
    pub reason: Option<String>,
}

/// Billing's verdict on a submitted reading; the customer sees it on the reading.
#[utoipa::path(
    post, path = "/integration/readings/{id}/status", tag = "integration",
    security(("api_key" = [])),
    params(("id" = i64, Path, description = "The reading's id from the export")),
    request_body = ReadingStatusRequest,
    responses(
        (status = 200, body = ReadingStatusInfo),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The reading was replaced after the export `cursor` names", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn report_status(
    state: web::Data<AppState>,
    _client: ApiClient,
    path: web::Path<i64>,
    body: JsonBody<ReadingStatusRequest>,
) -> Result<HttpResponse, ApiError> {
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let reason = match (body.status, reason) {
        (BillingVerdict::Rejected, None) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "reason",
                "required",
                "Укажите причину отклонения показания.",
            )]));
        }
        (_, Some(reason)) if reason.chars().count() > 500 => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "reason",
                "too_long",
                "Не более 500 символов.",
            )]));
        }
        (BillingVerdict::Accepted, _) => None,
        (BillingVerdict::Rejected, reason) => reason,
    };
    let status = match body.status {
        BillingVerdict::Accepted => "accepted",
        BillingVerdict::Rejected => "rejected",
    };
    let id = path.into_inner();
    let mut tx = state.store.begin().await?;
    let outcome = tx
        .set_reading_status(id, body.cursor, status, reason, state.clock.now())
        .await?;
    match outcome {
        VerdictOutcome::Recorded => tx.commit().await?,
        VerdictOutcome::NotFound => return Err(ApiError::NotFound),
        VerdictOutcome::Replaced => {
            return Err(ApiError::Conflict {
                code: "reading_replaced",
                detail: "Показание заменено после этой выгрузки: новое значение придёт в \
                         выгрузке с новым курсором, решение по нему отправьте отдельно."
                    .into(),
            });
        }
    }
    Ok(HttpResponse::Ok().json(ReadingStatusInfo {
        id,
        status: body.status,
        reason: reason.map(str::to_owned),
    }))
}
