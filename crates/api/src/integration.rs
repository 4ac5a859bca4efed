//! Billing integration (F8): billing's accounts, payments, meters and readings come in through
//! validated batches that are applied idempotently; the same code serves the API, `lk import`
//! and `lk demo`.

use domain::{AccountNumber, BillingMonth, MeterKind, MeterPrecision, Money, ReadingValue};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::error::FieldError;
use crate::readings::{iso_date, parse_iso_date};
use std::collections::HashMap;

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
        // An absent date is `null` or left out; an empty or padded string is a mistake (the CSV
        // import turns its empty cells into absent values before they come here).
        let parsed = parse_iso_date(text?);
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

    pub fn meter(&mut self, at: &str, input: &BillingMeter) -> Option<ValidMeter> {
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

/// An account of the batch as it will be after the batch: as stored, then changed by the batch.
struct AccountState<'a> {
    id: Option<i64>,
    number: &'a str,
    address: String,
    kopecks: Option<i64>,
    date: Option<String>,
    changed: bool,
    /// Indices into the meters.
    meters: Vec<usize>,
}

struct MeterState {
    id: Option<i64>,
    account: usize,
    name: String,
    kind: &'static str,
    serial_number: String,
    place: String,
    installed_on: Option<String>,
    last_verification: Option<String>,
    next_verification: Option<String>,
    whole_digits: i64,
    decimals: i64,
    changed: bool,
    readings: Vec<ReadingState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ReadingChange {
    None,
    /// Billing took the customer's value: only the status changes.
    Accepted,
    /// Billing's own value replaces the reading.
    Replaced,
}

struct ReadingState {
    id: Option<i64>,
    month: BillingMonth,
    value: i64,
    taken_on: Date,
    from_billing: bool,
    accepted: bool,
    change: ReadingChange,
}

impl MeterState {
    fn same(&self, meter: &ValidMeter, dates: &[Option<String>; 3]) -> bool {
        self.kind == meter.kind.code()
            && self.serial_number == meter.serial_number
            && self.place == meter.place
            && self.installed_on == dates[0]
            && self.last_verification == dates[1]
            && self.next_verification == dates[2]
            && self.whole_digits == i64::from(meter.precision.whole_digits())
            && self.decimals == i64::from(meter.precision.decimals())
    }

    fn data(&self, account_id: i64) -> MeterData<'_> {
        MeterData {
            account_id,
            name: &self.name,
            kind: self.kind,
            serial_number: &self.serial_number,
            place: &self.place,
            installed_on: self.installed_on.as_deref(),
            last_verification: self.last_verification.as_deref(),
            next_verification: self.next_verification.as_deref(),
            whole_digits: self.whole_digits,
            decimals: self.decimals,
        }
    }
}

impl ReadingState {
    fn billing(&self, meter_id: i64) -> BillingReading {
        BillingReading {
            meter_id,
            billing_month: self.month,
            value: self.value,
            taken_on: self.taken_on,
        }
    }
}

/// Applies valid billing data in one unit of work; the same data twice changes nothing. Every
/// account, meter and reading counts as if they were applied one after another in order, but
/// the batch takes a few statements per thousand rows: what exists is read in bulk, the changes
/// are worked out here, and new rows go in with multi-row `INSERT`s.
pub async fn apply(
    store: &dyn Store,
    accounts: &[ValidAccount],
    now: i64,
) -> StoreResult<UpsertSummary> {
    let mut summary = UpsertSummary::default();
    let mut tx = store.begin().await?;

    // Accounts: what is stored, then each account of the batch in turn.
    let mut numbers: Vec<&str> = accounts.iter().map(|a| a.number.as_str()).collect();
    numbers.sort_unstable();
    numbers.dedup();
    let mut states: Vec<AccountState> = Vec::with_capacity(numbers.len());
    let mut by_number: HashMap<&str, usize> = HashMap::with_capacity(numbers.len());
    let mut by_id: HashMap<i64, usize> = HashMap::new();
    let stored = tx.accounts_by_numbers(&numbers).await?;
    for record in &stored {
        let number = numbers[numbers
            .binary_search(&record.number.as_str())
            .expect("asked for")];
        by_number.insert(number, states.len());
        by_id.insert(record.id, states.len());
        states.push(AccountState {
            id: Some(record.id),
            number,
            address: record.address.clone(),
            kopecks: record.last_payment_kopecks,
            date: record.last_payment_date.clone(),
            changed: false,
            meters: Vec::new(),
        });
    }
    let stored_ids: Vec<i64> = stored.iter().map(|a| a.id).collect();
    let mut meters: Vec<MeterState> = Vec::new();
    let mut meter_by_id: HashMap<i64, usize> = HashMap::new();
    for record in tx.meters_of_accounts(&stored_ids).await? {
        let account = by_id[&record.account_id];
        states[account].meters.push(meters.len());
        meter_by_id.insert(record.id, meters.len());
        meters.push(MeterState {
            id: Some(record.id),
            account,
            kind: MeterKind::parse_code(&record.kind).map_or("hot_water", |k| k.code()),
            name: record.name,
            serial_number: record.serial_number,
            place: record.place,
            installed_on: record.installed_on,
            last_verification: record.last_verification,
            next_verification: record.next_verification,
            whole_digits: record.whole_digits,
            decimals: record.decimals,
            changed: false,
            readings: Vec::new(),
        });
    }
    let stored_meters: Vec<i64> = meter_by_id.keys().copied().collect();
    for record in tx.readings_of_meters(&stored_meters).await? {
        // Stored rows were written from these types; one that does not parse back cannot be
        // the month or the reading of anything billing sends, so it is left as it is.
        let (Ok(month), Some(taken_on)) = (
            BillingMonth::parse(&record.billing_month),
            parse_iso_date(&record.taken_on),
        ) else {
            continue;
        };
        meters[meter_by_id[&record.meter_id]]
            .readings
            .push(ReadingState {
                id: Some(record.id),
                month,
                value: record.value,
                taken_on,
                from_billing: record.source == "billing",
                accepted: record.status == "accepted",
                change: ReadingChange::None,
            });
    }

    for account in accounts {
        let kopecks = account.last_payment.map(Money::kopecks);
        let date = account.last_payment_date.map(iso_date);
        let index = match by_number.get(account.number.as_str()) {
            Some(&index) => {
                let state = &mut states[index];
                if state.address == account.address
                    && state.kopecks == kopecks
                    && state.date == date
                {
                    summary.accounts.add(Upserted::Unchanged);
                } else {
                    state.address.clone_from(&account.address);
                    state.kopecks = kopecks;
                    state.date = date;
                    state.changed = true;
                    summary.accounts.add(Upserted::Updated);
                }
                index
            }
            None => {
                by_number.insert(account.number.as_str(), states.len());
                states.push(AccountState {
                    id: None,
                    number: account.number.as_str(),
                    address: account.address.clone(),
                    kopecks,
                    date,
                    changed: false,
                    meters: Vec::new(),
                });
                summary.accounts.add(Upserted::Created);
                states.len() - 1
            }
        };
        for meter in &account.meters {
            let dates = [
                meter.installed_on.map(iso_date),
                meter.last_verification.map(iso_date),
                meter.next_verification.map(iso_date),
            ];
            let found = states[index]
                .meters
                .iter()
                .copied()
                .find(|&m| meters[m].name == meter.name);
            let m = match found {
                Some(m) => {
                    let state = &mut meters[m];
                    if state.same(meter, &dates) {
                        summary.meters.add(Upserted::Unchanged);
                    } else {
                        let [installed_on, last_verification, next_verification] = dates;
                        state.kind = meter.kind.code();
                        state.serial_number.clone_from(&meter.serial_number);
                        state.place.clone_from(&meter.place);
                        state.installed_on = installed_on;
                        state.last_verification = last_verification;
                        state.next_verification = next_verification;
                        state.whole_digits = i64::from(meter.precision.whole_digits());
                        state.decimals = i64::from(meter.precision.decimals());
                        state.changed = true;
                        summary.meters.add(Upserted::Updated);
                    }
                    m
                }
                None => {
                    let [installed_on, last_verification, next_verification] = dates;
                    states[index].meters.push(meters.len());
                    meters.push(MeterState {
                        id: None,
                        account: index,
                        name: meter.name.clone(),
                        kind: meter.kind.code(),
                        serial_number: meter.serial_number.clone(),
                        place: meter.place.clone(),
                        installed_on,
                        last_verification,
                        next_verification,
                        whole_digits: i64::from(meter.precision.whole_digits()),
                        decimals: i64::from(meter.precision.decimals()),
                        changed: false,
                        readings: Vec::new(),
                    });
                    summary.meters.add(Upserted::Created);
                    meters.len() - 1
                }
            };
            let readings = &mut meters[m].readings;
            for (date, value) in &meter.readings {
                let month = BillingMonth::of(*date);
                let value = value.thousandths();
                let outcome = match readings.iter_mut().find(|r| r.month == month) {
                    None => {
                        readings.push(ReadingState {
                            id: None,
                            month,
                            value,
                            taken_on: *date,
                            from_billing: true,
                            accepted: true,
                            change: ReadingChange::None,
                        });
                        Upserted::Created
                    }
                    // Billing took the customer's own value: it is accepted, and stays theirs.
                    Some(found) if found.value == value && found.accepted => Upserted::Unchanged,
                    Some(found) if found.value == value && !found.from_billing => {
                        found.accepted = true;
                        found.change = found.change.max(ReadingChange::Accepted);
                        Upserted::Updated
                    }
                    Some(found) => {
                        found.value = value;
                        found.taken_on = *date;
                        found.from_billing = true;
                        found.accepted = true;
                        found.change = ReadingChange::Replaced;
                        Upserted::Updated
                    }
                };
                summary.readings.add(outcome);
            }
        }
    }

    // Writes: new rows in bulk (accounts, then their meters, then readings), changes one by one.
    let new_accounts: Vec<usize> = (0..states.len())
        .filter(|&a| states[a].id.is_none())
        .collect();
    fn data<'s>(state: &'s AccountState<'_>) -> AccountData<'s> {
        AccountData {
            number: state.number,
            address: &state.address,
            last_payment_kopecks: state.kopecks,
            last_payment_date: state.date.as_deref(),
        }
    }
    let rows: Vec<AccountData> = new_accounts.iter().map(|&a| data(&states[a])).collect();
    let inserted = tx.insert_accounts(&rows, now).await?;
    drop(rows);
    for (id, number) in inserted {
        states[by_number[number.as_str()]].id = Some(id);
    }
    for state in states.iter().filter(|s| s.changed) {
        let id = state.id.expect("stored accounts have ids");
        tx.update_account(id, &data(state), now).await?;
    }

    // Stored meters whose readings billing changes: a submission decided against the readings
    // before must be decided again (`store::SubmissionBasis`).
    let stored_with_new_readings: Vec<i64> = meters
        .iter()
        .filter(|m| {
            m.readings
                .iter()
                .any(|r| r.id.is_none() || r.change == ReadingChange::Replaced)
        })
        .filter_map(|m| m.id)
        .collect();
    tx.readings_changed(&stored_with_new_readings).await?;

    let account_id = |m: &MeterState| states[m.account].id.expect("accounts are written first");
    let rows: Vec<MeterData> = meters
        .iter()
        .filter(|m| m.id.is_none())
        .map(|m| m.data(account_id(m)))
        .collect();
    let inserted = tx.insert_meters(&rows, now).await?;
    drop(rows);
    let mut new_meter_ids: HashMap<(i64, String), i64> = inserted
        .into_iter()
        .map(|(id, account, name)| ((account, name), id))
        .collect();
    for meter in meters.iter_mut().filter(|m| m.id.is_none()) {
        let key = (account_id(meter), meter.name.clone());
        meter.id = new_meter_ids.remove(&key);
    }
    for meter in meters.iter().filter(|m| m.changed) {
        let id = meter.id.expect("stored meters have ids");
        tx.update_meter(id, &meter.data(account_id(meter)), now)
            .await?;
    }

    let meter_id = |m: &MeterState| m.id.expect("meters are written first");
    let rows: Vec<BillingReading> = meters
        .iter()
        .flat_map(|m| {
            m.readings
                .iter()
                .filter(|r| r.id.is_none())
                .map(move |r| r.billing(meter_id(m)))
        })
        .collect();
    tx.insert_billing_readings(&rows, now).await?;
    drop(rows);
    for meter in &meters {
        for reading in meter.readings.iter().filter(|r| r.id.is_some()) {
            let id = reading.id.expect("checked");
            match reading.change {
                ReadingChange::None => {}
                ReadingChange::Accepted => tx.accept_reading(id, now).await?,
                ReadingChange::Replaced => {
                    tx.replace_with_billing_reading(id, &reading.billing(meter_id(meter)), now)
                        .await?
                }
            }
        }
    }
    tx.commit().await?;
    Ok(summary)
}
