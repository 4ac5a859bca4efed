//! Demo data that mirrors the manual, so a new user can try every flow at once: account
//! 720000032 (last payment 500.00) with ГВС1, ГВС2 and ОТП1, a few more accounts, one with an
//! expired verification, and a demo operator.

use crate::integration::{self, BillingAccount, BillingMeter, BillingReadingIn, UpsertSummary};
use crate::store::Store;

pub const OPERATOR_EMAIL: &str = "operator@lk.tplus58.ru";
pub const OPERATOR_PASSWORD: &str = "Оператор-Демо-2024";

fn meter(
    name: &str,
    kind: &str,
    serial: &str,
    place: &str,
    installed: &str,
    next_verification: &str,
    readings: &[(&str, &str)],
) -> BillingMeter {
    BillingMeter {
        name: name.into(),
        kind: kind.into(),
        serial_number: serial.into(),
        place: place.into(),
        installed_on: Some(installed.into()),
        last_verification: Some(installed.into()),
        next_verification: Some(next_verification.into()),
        whole_digits: Some(5),
        decimals: Some(3),
        readings: readings
            .iter()
            .map(|(date, value)| BillingReadingIn {
                date: (*date).into(),
                value: (*value).into(),
            })
            .collect(),
    }
}

fn account(
    number: &str,
    address: &str,
    paid: &str,
    paid_on: &str,
    meters: Vec<BillingMeter>,
) -> BillingAccount {
    BillingAccount {
        number: number.into(),
        address: address.into(),
        last_payment_amount: Some(paid.into()),
        last_payment_date: Some(paid_on.into()),
        meters,
    }
}

pub fn accounts() -> Vec<BillingAccount> {
    vec![
        account(
            "720000032",
            "г. Пенза, ул. Московская, д. 12, кв. 32",
            "500.00",
            "2024-07-20",
            vec![
                meter(
                    "ГВС1",
                    "hot_water",
                    "23_8994120",
                    "Ванная",
                    "2023-03-15",
                    "2031-03-15",
                    &[("2024-07-26", "0.002")],
                ),
                meter(
                    "ГВС2",
                    "hot_water",
                    "23_8995270",
                    "Кухня",
                    "2023-03-15",
                    "2031-03-15",
                    &[("2024-07-26", "0.001")],
                ),
                meter(
                    "ОТП1",
                    "heating",
                    "9180999",
                    "Квартира",
                    "2022-10-01",
                    "2030-10-01",
                    &[("2024-04-26", "1.250")],
                ),
            ],
        ),
        account(
            "720000033",
            "г. Пенза, ул. Пушкина, д. 5, кв. 7",
            "1234.56",
            "2024-07-18",
            vec![
                // Verification expired: readings are refused with an offer to apply.
                meter(
                    "ГВС1",
                    "hot_water",
                    "23_1111111",
                    "Ванная",
                    "2019-01-15",
                    "2025-01-15",
                    &[("2024-07-25", "112.500")],
                ),
                meter(
                    "ОТП1",
                    "heating",
                    "9181000",
                    "Квартира",
                    "2022-09-01",
                    "2030-09-01",
                    &[("2024-07-25", "3.100")],
                ),
            ],
        ),
        account(
            "720000034",
            "г. Пенза, пр. Победы, д. 20, кв. 101",
            "780.00",
            "2024-07-22",
            vec![
                meter(
                    "ГВС1",
                    "hot_water",
                    "23_2222222",
                    "Ванная",
                    "2024-01-10",
                    "2032-01-10",
                    &[("2024-07-24", "25.310")],
                ),
                meter(
                    "ГВС2",
                    "hot_water",
                    "23_2222223",
                    "Кухня",
                    "2024-01-10",
                    "2032-01-10",
                    &[("2024-07-24", "17.045")],
                ),
                meter(
                    "ХВС1",
                    "cold_water",
                    "24_3333333",
                    "Ванная",
                    "2024-01-10",
                    "2032-01-10",
                    &[("2024-07-24", "41.200")],
                ),
            ],
        ),
        account(
            "720000035",
            "г. Пенза, ул. Суворова, д. 3, кв. 15",
            "2150.40",
            "2024-07-15",
            vec![meter(
                "ГВС1",
                "hot_water",
                "23_4444444",
                "Ванная",
                "2021-05-20",
                "2027-05-20",
                &[("2024-07-20", "301.007")],
            )],
        ),
    ]
}

/// Loads the demo data (idempotent) and makes sure the demo operator exists.
pub async fn load(
    store: &dyn Store,
    hasher: &crate::auth::PasswordHasher,
    now: i64,
) -> anyhow::Result<UpsertSummary> {
    let valid = integration::check_batch(&accounts())
        .map_err(|errors| anyhow::anyhow!("demo data invalid: {errors:?}"))?;
    let summary = integration::apply(store, &valid, now).await?;
    if store.user_by_email(OPERATOR_EMAIL).await?.is_none() {
        crate::identity::create_operator(
            store,
            hasher,
            OPERATOR_EMAIL,
            "Оператор Демо",
            OPERATOR_PASSWORD,
            now,
        )
        .await?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_data_passes_billing_validation() {
        let valid = crate::integration::check_batch(&super::accounts()).unwrap();
        assert_eq!(valid[0].number.as_str(), "720000032");
        assert_eq!(valid.iter().map(|a| a.meters.len()).sum::<usize>(), 9);
    }
}
