//! `lk import`: billing data from CSV, one row per account, meter or reading. Consecutive rows
//! of one account form it; a bad row is reported with its line number and skipped, and the rest
//! goes on. Valid rows are applied in batches by the same code as the integration API.
//!
//! Columns (header required, any order): `account_number, address, last_payment_amount,
//! last_payment_date, meter_name, meter_kind, serial_number, place, installed_on,
//! last_verification, next_verification, whole_digits, decimals, reading_date, reading_value`.

use std::io::Read;

use anyhow::Context;
use domain::ReadingValue;
use time::Date;

use crate::integration::{
    self, BillingAccount, BillingMeter, BillingReadingIn, Checker, UpsertSummary, ValidAccount,
    ValidMeter,
};
use crate::readings::parse_iso_date;
use crate::store::Store;

/// Accounts per unit of work.
const BATCH: usize = 2000;
/// Batches read ahead while one is written.
const READ_AHEAD: usize = 2;

/// The columns by name; the position of each in [`COLUMNS`] is its constant below.
const COLUMNS: [&str; 15] = [
    "account_number",
    "address",
    "last_payment_amount",
    "last_payment_date",
    "meter_name",
    "meter_kind",
    "serial_number",
    "place",
    "installed_on",
    "last_verification",
    "next_verification",
    "whole_digits",
    "decimals",
    "reading_date",
    "reading_value",
];
const ACCOUNT_NUMBER: usize = 0;
const ADDRESS: usize = 1;
const LAST_PAYMENT_AMOUNT: usize = 2;
const LAST_PAYMENT_DATE: usize = 3;
const METER_NAME: usize = 4;
const METER_KIND: usize = 5;
const SERIAL_NUMBER: usize = 6;
const PLACE: usize = 7;
const INSTALLED_ON: usize = 8;
const LAST_VERIFICATION: usize = 9;
const NEXT_VERIFICATION: usize = 10;
const WHOLE_DIGITS: usize = 11;
const DECIMALS: usize = 12;
const READING_DATE: usize = 13;
const READING_VALUE: usize = 14;
/// The columns that describe the account, and those that describe the meter.
const ACCOUNT_COLUMNS: std::ops::Range<usize> = ACCOUNT_NUMBER..METER_NAME;
const METER_COLUMNS: std::ops::Range<usize> = METER_NAME..READING_DATE;

#[derive(Debug, Default)]
pub struct ImportReport {
    pub summary: UpsertSummary,
    pub rows: u64,
    /// Line number and what was wrong.
    pub rejected: Vec<(u64, String)>,
}

/// One CSV row, its fields looked up by column (an absent column reads as empty).
struct Row<'r> {
    record: &'r csv::StringRecord,
    positions: &'r [Option<usize>; COLUMNS.len()],
}

impl Row<'_> {
    fn get(&self, column: usize) -> &str {
        self.positions[column]
            .and_then(|i| self.record.get(i))
            .unwrap_or("")
    }

    fn optional(&self, column: usize) -> Option<String> {
        let value = self.get(column).trim();
        (!value.is_empty()).then(|| value.to_owned())
    }
}

fn row_meter(row: &Row<'_>, name: String) -> Result<BillingMeter, String> {
    let digits = |column: usize| -> Result<Option<u8>, String> {
        row.optional(column)
            .map(|v| {
                v.parse::<u8>()
                    .map_err(|_| format!("{}: ожидается число", COLUMNS[column]))
            })
            .transpose()
    };
    let readings = match (row.optional(READING_DATE), row.optional(READING_VALUE)) {
        (Some(date), Some(value)) => vec![BillingReadingIn { date, value }],
        (None, None) => Vec::new(),
        _ => return Err("reading_date и reading_value заполняются вместе".into()),
    };
    Ok(BillingMeter {
        name,
        kind: row.get(METER_KIND).to_owned(),
        serial_number: row.get(SERIAL_NUMBER).to_owned(),
        place: row.get(PLACE).to_owned(),
        installed_on: row.optional(INSTALLED_ON),
        last_verification: row.optional(LAST_VERIFICATION),
        next_verification: row.optional(NEXT_VERIFICATION),
        whole_digits: digits(WHOLE_DIGITS)?,
        decimals: digits(DECIMALS)?,
        readings,
    })
}

fn row_account(row: &Row<'_>) -> Result<BillingAccount, String> {
    let meters = match row.optional(METER_NAME) {
        None => Vec::new(),
        Some(name) => vec![row_meter(row, name)?],
    };
    Ok(BillingAccount {
        number: row.get(ACCOUNT_NUMBER).to_owned(),
        address: row.get(ADDRESS).to_owned(),
        last_payment_amount: row.optional(LAST_PAYMENT_AMOUNT),
        last_payment_date: row.optional(LAST_PAYMENT_DATE),
        meters,
    })
}

/// Checks a whole row; the reasons name the fields that are wrong.
fn check_row(row: &Row<'_>) -> Result<ValidAccount, String> {
    let account = row_account(row)?;
    let mut checker = Checker { errors: Vec::new() };
    checker.account("row", &account).ok_or_else(|| {
        let reasons: Vec<String> = checker
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.field.trim_start_matches("row."), e.detail))
            .collect();
        reasons.join("; ")
    })
}

/// Adds a valid row to the account it continues.
fn merge(into: &mut ValidAccount, row: ValidAccount) {
    for meter in row.meters {
        match into.meters.iter_mut().find(|m| m.name == meter.name) {
            Some(existing) => existing.readings.extend(meter.readings),
            None => into.meters.push(meter),
        }
    }
}

/// What a valid row adds, found without checking again what the row before it had checked.
enum Quick {
    /// A row with no meter.
    Account,
    /// A row with a meter and perhaps a reading.
    Meter(Option<(Date, ReadingValue)>),
}

/// The account and meter columns of the last row and what they were found to be. A billing
/// export repeats them on every reading's row; the same text checks the same way, so only
/// changed columns are checked again. Any row that is not plainly valid takes the full check,
/// which words its errors.
#[derive(Default)]
struct Seen {
    account_text: Vec<String>,
    account: Option<ValidAccount>,
    meter_text: Vec<String>,
    meter: Option<ValidMeter>,
}

fn same_text(seen: &[String], row: &Row<'_>, columns: std::ops::Range<usize>) -> bool {
    seen.len() == columns.len() && columns.zip(seen).all(|(c, text)| row.get(c) == text)
}

impl Seen {
    fn quick(&mut self, row: &Row<'_>) -> Option<Quick> {
        if !same_text(&self.account_text, row, ACCOUNT_COLUMNS) {
            self.account_text = ACCOUNT_COLUMNS.map(|c| row.get(c).to_owned()).collect();
            let head = BillingAccount {
                number: row.get(ACCOUNT_NUMBER).to_owned(),
                address: row.get(ADDRESS).to_owned(),
                last_payment_amount: row.optional(LAST_PAYMENT_AMOUNT),
                last_payment_date: row.optional(LAST_PAYMENT_DATE),
                meters: Vec::new(),
            };
            self.account = Checker { errors: Vec::new() }.account("row", &head);
        }
        self.account.as_ref()?;
        if row.get(METER_NAME).trim().is_empty() {
            return Some(Quick::Account);
        }
        if !same_text(&self.meter_text, row, METER_COLUMNS) {
            self.meter_text = METER_COLUMNS.map(|c| row.get(c).to_owned()).collect();
            self.meter = row_meter(row, row.get(METER_NAME).trim().to_owned())
                .ok()
                .and_then(|mut meter| {
                    meter.readings.clear();
                    Checker { errors: Vec::new() }.meter("row.meters[0]", &meter)
                });
        }
        let meter = self.meter.as_ref()?;
        let (date, value) = (row.get(READING_DATE).trim(), row.get(READING_VALUE).trim());
        match (date.is_empty(), value.is_empty()) {
            (true, true) => Some(Quick::Meter(None)),
            (false, false) => {
                let date = parse_iso_date(date)?;
                let value = ReadingValue::parse(value, meter.precision).ok()?;
                Some(Quick::Meter(Some((date, value))))
            }
            _ => None,
        }
    }
}

/// Reads the rows into batches of valid accounts for `batches`; returns the rows read and the
/// rejected ones. Stops early when nobody takes batches any more.
fn read_batches<R: Read>(
    mut reader: csv::Reader<R>,
    positions: [Option<usize>; COLUMNS.len()],
    progress: &indicatif::ProgressBar,
    batches: &tokio::sync::mpsc::Sender<Vec<ValidAccount>>,
) -> (u64, Vec<(u64, String)>) {
    let mut rows = 0u64;
    let mut rejected = Vec::new();
    let mut batch: Vec<ValidAccount> = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut seen = Seen::default();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line());
                rejected.push((line, error.to_string()));
                continue;
            }
        }
        rows += 1;
        if rows.is_multiple_of(4096) {
            progress.set_position(reader.position().byte());
        }
        let row = Row {
            record: &record,
            positions: &positions,
        };
        let continues = |batch: &[ValidAccount], number: &str| {
            batch
                .last()
                .is_some_and(|last| last.number.as_str() == number)
        };
        match seen.quick(&row) {
            Some(quick) => {
                let account = seen.account.as_ref().expect("a quick row has an account");
                if !continues(&batch, account.number.as_str()) {
                    if batch.len() >= BATCH
                        && batches.blocking_send(std::mem::take(&mut batch)).is_err()
                    {
                        break;
                    }
                    batch.push(account.clone());
                }
                let last = batch.last_mut().expect("pushed above");
                if let Quick::Meter(reading) = quick {
                    let meter = seen.meter.as_ref().expect("a meter row has a meter");
                    match last.meters.iter_mut().find(|m| m.name == meter.name) {
                        Some(existing) => existing.readings.extend(reading),
                        None => {
                            let mut meter = meter.clone();
                            meter.readings.extend(reading);
                            last.meters.push(meter);
                        }
                    }
                }
            }
            None => {
                let line = record.position().map_or(0, |p| p.line());
                let valid = match check_row(&row) {
                    Ok(valid) => valid,
                    Err(reasons) => {
                        rejected.push((line, reasons));
                        continue;
                    }
                };
                if continues(&batch, valid.number.as_str()) {
                    merge(batch.last_mut().expect("continued"), valid);
                } else {
                    if batch.len() >= BATCH
                        && batches.blocking_send(std::mem::take(&mut batch)).is_err()
                    {
                        break;
                    }
                    batch.push(valid);
                }
            }
        }
    }
    if !batch.is_empty() {
        let _ = batches.blocking_send(batch);
    }
    progress.set_position(reader.position().byte());
    (rows, rejected)
}

/// Imports billing data from CSV. The rows are read and checked on a thread of their own while
/// the batches before them are written, each batch in one unit of work.
pub async fn import(
    store: &dyn Store,
    input: impl Read + Send + 'static,
    now: i64,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<ImportReport> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(input);
    let headers = reader.headers().context("the CSV has no header row")?;
    anyhow::ensure!(
        headers.iter().any(|h| h == "account_number"),
        "the CSV header must name an account_number column"
    );
    let mut positions = [None; COLUMNS.len()];
    for (position, header) in headers.iter().enumerate() {
        if let Some(column) = COLUMNS.iter().position(|c| *c == header) {
            positions[column] = Some(position);
        }
    }

    let (sender, mut receiver) = tokio::sync::mpsc::channel(READ_AHEAD);
    let reader_progress = progress.clone();
    let rows = tokio::task::spawn_blocking(move || {
        read_batches(reader, positions, &reader_progress, &sender)
    });
    let mut summary = UpsertSummary::default();
    let mut failed = None;
    while let Some(batch) = receiver.recv().await {
        match integration::apply(store, &batch, now).await {
            Ok(applied) => summary.merge(applied),
            Err(error) => {
                failed = Some(error);
                break;
            }
        }
    }
    drop(receiver);
    let (rows, rejected) = rows.await.context("the CSV reader failed")?;
    if let Some(error) = failed {
        return Err(error.into());
    }
    Ok(ImportReport {
        summary,
        rows,
        rejected,
    })
}
