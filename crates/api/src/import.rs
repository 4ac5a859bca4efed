//! `lk import`: billing data from CSV, one row per account, meter or reading. Consecutive rows
//! of one account form it; a bad row is reported with its line number and skipped, and the rest
//! goes on. Valid rows are applied in batches by the same code as the integration API.
//!
//! Columns (header required, any order): `account_number, address, last_payment_amount,
//! last_payment_date, meter_name, meter_kind, serial_number, place, installed_on,
//! last_verification, next_verification, whole_digits, decimals, reading_date, reading_value`.

use std::collections::HashMap;
use std::io::Read;

use anyhow::Context;

use crate::integration::{
    self, BillingAccount, BillingMeter, BillingReadingIn, Checker, UpsertSummary, ValidAccount,
};
use crate::store::Store;

const BATCH: usize = 2000;

#[derive(Debug, Default)]
pub struct ImportReport {
    pub summary: UpsertSummary,
    pub rows: u64,
    /// Line number and what was wrong.
    pub rejected: Vec<(u64, String)>,
}

fn optional(row: &HashMap<String, String>, key: &str) -> Option<String> {
    row.get(key)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn row_account(row: &HashMap<String, String>) -> Result<BillingAccount, String> {
    let get = |key: &str| row.get(key).cloned().unwrap_or_default();
    let meters = match optional(row, "meter_name") {
        None => Vec::new(),
        Some(name) => {
            let digits = |key: &str| -> Result<Option<u8>, String> {
                optional(row, key)
                    .map(|v| {
                        v.parse::<u8>()
                            .map_err(|_| format!("{key}: ожидается число"))
                    })
                    .transpose()
            };
            let readings = match (
                optional(row, "reading_date"),
                optional(row, "reading_value"),
            ) {
                (Some(date), Some(value)) => vec![BillingReadingIn { date, value }],
                (None, None) => Vec::new(),
                _ => return Err("reading_date и reading_value заполняются вместе".into()),
            };
            vec![BillingMeter {
                name,
                kind: get("meter_kind"),
                serial_number: get("serial_number"),
                place: get("place"),
                installed_on: optional(row, "installed_on"),
                last_verification: optional(row, "last_verification"),
                next_verification: optional(row, "next_verification"),
                whole_digits: digits("whole_digits")?,
                decimals: digits("decimals")?,
                readings,
            }]
        }
    };
    Ok(BillingAccount {
        number: get("account_number"),
        address: get("address"),
        last_payment_amount: optional(row, "last_payment_amount"),
        last_payment_date: optional(row, "last_payment_date"),
        meters,
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

pub async fn import(
    store: &dyn Store,
    input: impl Read,
    now: i64,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<ImportReport> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(input);
    let headers: Vec<String> = reader
        .headers()
        .context("the CSV has no header row")?
        .iter()
        .map(str::to_owned)
        .collect();
    anyhow::ensure!(
        headers.iter().any(|h| h == "account_number"),
        "the CSV header must name an account_number column"
    );
    let mut report = ImportReport::default();
    let mut batch: Vec<ValidAccount> = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line());
                report.rejected.push((line, error.to_string()));
                continue;
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        report.rows += 1;
        progress.set_position(reader.position().byte());
        let row: HashMap<String, String> = headers
            .iter()
            .cloned()
            .zip(record.iter().map(str::to_owned))
            .collect();
        let account = match row_account(&row) {
            Ok(account) => account,
            Err(error) => {
                report.rejected.push((line, error));
                continue;
            }
        };
        let mut checker = Checker { errors: Vec::new() };
        let Some(valid) = checker.account("row", &account) else {
            let reasons: Vec<String> = checker
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.field.trim_start_matches("row."), e.detail))
                .collect();
            report.rejected.push((line, reasons.join("; ")));
            continue;
        };
        match batch.last_mut() {
            Some(last) if last.number == valid.number => merge(last, valid),
            _ => {
                if batch.len() >= BATCH {
                    report
                        .summary
                        .merge(integration::apply(store, &batch, now).await?);
                    batch.clear();
                }
                batch.push(valid);
            }
        }
    }
    if !batch.is_empty() {
        report
            .summary
            .merge(integration::apply(store, &batch, now).await?);
    }
    Ok(report)
}
