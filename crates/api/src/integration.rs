//! Billing integration (F8): billing's accounts, payments, meters and readings come in through
//! validated batches that are applied idempotently; the same code serves the API, `lk import`
//! and `lk demo`.

use domain::{AccountNumber, BillingMonth, MeterKind, MeterPrecision, Money, ReadingValue};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::error::FieldError;
use crate::readings::{iso_date, parse_iso_date};
use crate::store::{AccountData, BillingReading, MeterData, Store, StoreResult, Upserted};

/// An account as billing sends it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BillingAccount {
    #[schema(example = "720000032")]
    pub number: String,
    #[serde(default)]
    #[schema(example = "г. Пенза, ул. Московская, д. 1, кв. 32")]
    pub address: String,
    /// The last payment in rubles, e.g. `"500.00"`; customers prove the account with it.
    #[schema(example = "500.00")]
    pub last_payment_amount: Option<String>,
    #[schema(example = "2024-07-20", format = "date")]
    pub last_payment_date: Option<String>,
    #[serde(default)]
    pub meters: Vec<BillingMeter>,
}

/// A meter as billing sends it; it is known by its account and name.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BillingMeter {
    #[schema(example = "ГВС1")]
    pub name: String,
    /// `hot_water`, `cold_water` or `heating`.
    #[schema(example = "hot_water")]
    pub kind: String,
    #[schema(example = "23_8994120")]
    pub serial_number: String,
    #[serde(default)]
    #[schema(example = "Ванная")]
    pub place: String,
    #[schema(format = "date")]
    pub installed_on: Option<String>,
    #[schema(format = "date")]
    pub last_verification: Option<String>,
    #[schema(format = "date")]
    pub next_verification: Option<String>,
    #[schema(example = 5)]
    pub whole_digits: Option<u8>,
    #[schema(example = 3)]
    pub decimals: Option<u8>,
    #[serde(default)]
    pub readings: Vec<BillingReadingIn>,
}

/// A reading billing has taken; its billing month is the month of `date`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BillingReadingIn {
    #[schema(example = "2024-07-26", format = "date")]
    pub date: String,
    #[schema(example = "0.002")]
    pub value: String,
}

/// Billing data after every rule was checked.
#[derive(Debug, Clone)]
pub struct ValidAccount {
    pub number: AccountNumber,
    pub address: String,
    pub last_payment: Option<Money>,
    pub last_payment_date: Option<Date>,
    pub meters: Vec<ValidMeter>,
}

#[derive(Debug, Clone)]
pub struct ValidMeter {
    pub name: String,
    pub kind: MeterKind,
    pub serial_number: String,
    pub place: String,
    pub installed_on: Option<Date>,
    pub last_verification: Option<Date>,
    pub next_verification: Option<Date>,
    pub precision: MeterPrecision,
    pub readings: Vec<(Date, ReadingValue)>,
}

/// Collects the errors of one batch with the path of each field.
pub struct Checker {
    pub errors: Vec<FieldError>,
}

impl Checker {
    fn date(&mut self, field: &str, text: Option<&str>) -> Option<Date> {
        let text = text?.trim();
        if text.is_empty() {
            return None;
        }
        let parsed = parse_iso_date(text);
        if parsed.is_none() {
            self.errors.push(FieldError::new(
                field,
                "invalid_date",
                "Укажите дату в формате ГГГГ-ММ-ДД.",
            ));
        }
        parsed
    }

    fn text(&mut self, field: &str, text: &str, max: usize, required: bool) -> String {
        let text = text.trim();
        if required && text.is_empty() {
            self.errors
                .push(FieldError::new(field, "required", "Поле обязательно."));
        }
        if text.chars().count() > max {
            self.errors.push(FieldError::new(
                field,
                "too_long",
                format!("Не более {max} символов."),
            ));
        }
        text.to_owned()
    }

    pub fn account(&mut self, at: &str, input: &BillingAccount) -> Option<ValidAccount> {
        let before = self.errors.len();
        let number = AccountNumber::parse(&input.number)
            .map_err(|e| {
                self.errors
                    .push(crate::error::Coded::on_field(&e, &format!("{at}.number")))
            })
            .ok();
        let address = self.text(&format!("{at}.address"), &input.address, 300, false);
        let last_payment = input.last_payment_amount.as_deref().and_then(|amount| {
            Money::parse(amount)
                .map_err(|e| {
                    let field = format!("{at}.last_payment_amount");
                    self.errors.push(crate::error::Coded::on_field(&e, &field))
                })
                .ok()
        });
        let last_payment_date = self.date(
            &format!("{at}.last_payment_date"),
            input.last_payment_date.as_deref(),
        );
        let mut meters = Vec::new();
        for (index, meter) in input.meters.iter().enumerate() {
            if let Some(valid) = self.meter(&format!("{at}.meters[{index}]"), meter) {
                if meters.iter().any(|m: &ValidMeter| m.name == valid.name) {
                    self.errors.push(FieldError::new(
                        &format!("{at}.meters[{index}].name"),
                        "duplicate",
                        "Прибор с таким названием уже есть в этом лицевом счете.",
                    ));
                }
                meters.push(valid);
            }
        }
        let number = number?;
        (self.errors.len() == before).then_some(ValidAccount {
            number,
            address,
            last_payment,
            last_payment_date,
            meters,
        })
    }

    fn meter(&mut self, at: &str, input: &BillingMeter) -> Option<ValidMeter> {
        let before = self.errors.len();
        let name = self.text(&format!("{at}.name"), &input.name, 40, true);
        let kind = MeterKind::parse_code(input.kind.trim());
        if kind.is_none() {
            self.errors.push(FieldError::new(
                &format!("{at}.kind"),
                "invalid_kind",
                "Вид прибора: hot_water, cold_water или heating.",
            ));
        }
        let serial_number = self.text(
            &format!("{at}.serial_number"),
            &input.serial_number,
            60,
            true,
        );
        let place = self.text(&format!("{at}.place"), &input.place, 120, false);
        let installed_on = self.date(&format!("{at}.installed_on"), input.installed_on.as_deref());
        let last_verification = self.date(
            &format!("{at}.last_verification"),
            input.last_verification.as_deref(),
        );
        let next_verification = self.date(
            &format!("{at}.next_verification"),
            input.next_verification.as_deref(),
        );
        let precision =
            MeterPrecision::new(input.whole_digits.unwrap_or(5), input.decimals.unwrap_or(3));
        if precision.is_none() {
            self.errors.push(FieldError::new(
                &format!("{at}.whole_digits"),
                "invalid_precision",
                "Разрядность: от 1 до 9 знаков до запятой и от 0 до 3 после.",
            ));
        }
        let mut readings: Vec<(Date, ReadingValue)> = Vec::new();
        for (index, reading) in input.readings.iter().enumerate() {
            let field = format!("{at}.readings[{index}]");
            let date = self.date(&format!("{field}.date"), Some(&reading.date));
            if reading.date.trim().is_empty() {
                self.errors.push(FieldError::new(
                    &format!("{field}.date"),
                    "required",
                    "Поле обязательно.",
                ));
            }
            let value = precision.and_then(|precision| {
                ReadingValue::parse(&reading.value, precision)
                    .map_err(|e| {
                        self.errors
                            .push(crate::error::Coded::on_field(&e, &format!("{field}.value")))
                    })
                    .ok()
            });
            if let (Some(date), Some(value)) = (date, value) {
                let month = BillingMonth::of(date);
                if readings.iter().any(|(d, _)| BillingMonth::of(*d) == month) {
                    self.errors.push(FieldError::new(
                        &format!("{field}.date"),
                        "duplicate_month",
                        "Одно показание на прибор за расчётный месяц.",
                    ));
                }
                readings.push((date, value));
            }
        }
        let (kind, precision) = (kind?, precision?);
        (self.errors.len() == before).then_some(ValidMeter {
            name,
            kind,
            serial_number,
            place,
            installed_on,
            last_verification,
            next_verification,
            precision,
            readings,
        })
    }
}

/// Validates a whole batch: every account, or the errors of all of them.
pub fn check_batch(accounts: &[BillingAccount]) -> Result<Vec<ValidAccount>, Vec<FieldError>> {
    let mut checker = Checker { errors: Vec::new() };
    let mut valid = Vec::with_capacity(accounts.len());
    for (index, account) in accounts.iter().enumerate() {
        if let Some(account) = checker.account(&format!("accounts[{index}]"), account) {
            if valid
                .iter()
                .any(|a: &ValidAccount| a.number == account.number)
            {
                checker.errors.push(FieldError::new(
                    &format!("accounts[{index}].number"),
                    "duplicate",
                    "Лицевой счет повторяется в пакете.",
                ));
            }
            valid.push(account);
        }
    }
    if checker.errors.is_empty() {
        Ok(valid)
    } else {
        Err(checker.errors)
    }
}

/// How many rows of one kind a batch created, updated or left as they were.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl Counts {
    fn add(&mut self, outcome: Upserted) {
        match outcome {
            Upserted::Created => self.created += 1,
            Upserted::Updated => self.updated += 1,
            Upserted::Unchanged => self.unchanged += 1,
        }
    }

    pub fn merge(&mut self, other: Counts) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct UpsertSummary {
    pub accounts: Counts,
    pub meters: Counts,
    pub readings: Counts,
}

impl UpsertSummary {
    pub fn merge(&mut self, other: UpsertSummary) {
        self.accounts.merge(other.accounts);
        self.meters.merge(other.meters);
        self.readings.merge(other.readings);
    }
}

/// Applies valid billing data in one unit of work; the same data twice changes nothing.
pub async fn apply(
    store: &dyn Store,
    accounts: &[ValidAccount],
    now: i64,
) -> StoreResult<UpsertSummary> {
    let mut summary = UpsertSummary::default();
    let mut tx = store.begin().await?;
    for account in accounts {
        let payment_date = account.last_payment_date.map(iso_date);
        let (account_id, outcome) = tx
            .upsert_account(
                &AccountData {
                    number: account.number.as_str(),
                    address: &account.address,
                    last_payment_kopecks: account.last_payment.map(Money::kopecks),
                    last_payment_date: payment_date.as_deref(),
                },
                now,
            )
            .await?;
        summary.accounts.add(outcome);
        for meter in &account.meters {
            let installed_on = meter.installed_on.map(iso_date);
            let last_verification = meter.last_verification.map(iso_date);
            let next_verification = meter.next_verification.map(iso_date);
            let (meter_id, outcome) = tx
                .upsert_meter(
                    &MeterData {
                        account_id,
                        name: &meter.name,
                        kind: meter.kind.code(),
                        serial_number: &meter.serial_number,
                        place: &meter.place,
                        installed_on: installed_on.as_deref(),
                        last_verification: last_verification.as_deref(),
                        next_verification: next_verification.as_deref(),
                        whole_digits: i64::from(meter.precision.whole_digits()),
                        decimals: i64::from(meter.precision.decimals()),
                    },
                    now,
                )
                .await?;
            summary.meters.add(outcome);
            for (date, value) in &meter.readings {
                let month = BillingMonth::of(*date).to_string();
                let outcome = tx
                    .upsert_billing_reading(
                        &BillingReading {
                            meter_id,
                            billing_month: &month,
                            value: value.thousandths(),
                            taken_on: &iso_date(*date),
                        },
                        now,
                    )
                    .await?;
                summary.readings.add(outcome);
            }
        }
    }
    tx.commit().await?;
    Ok(summary)
}
