use api::import::import;

use crate::helpers::spawn_app;

const CSV: &str = "\
account_number,address,last_payment_amount,last_payment_date,meter_name,meter_kind,serial_number,place,installed_on,last_verification,next_verification,whole_digits,decimals,reading_date,reading_value
740000001,ул. Первая 1,100.00,2026-10-01,ГВС1,hot_water,A-1,Ванная,2024-01-01,2024-01-01,2032-01-01,5,3,2026-09-25,1.000
740000001,ул. Первая 1,100.00,2026-10-01,ГВС1,hot_water,A-1,Ванная,2024-01-01,2024-01-01,2032-01-01,5,3,2026-10-25,2.500
740000001,ул. Первая 1,100.00,2026-10-01,ОТП1,heating,B-1,Квартира,,,,,,,
74000000X,ул. Плохая,100.00,,,,,,,,,,,,
740000002,ул. Вторая 2,abc,,ГВС1,hot_water,C-1,,,,,,,,
740000003,ул. Третья 3,55,,ГВС1,gas,D-1,,,,,,,,
740000004,ул. Четвёртая 4,\"1 200,50\",2026-10-02,ГВС1,hot_water,E-1,,,,2032-01-01,,,2026-10-20,7
";

#[tokio::test]
async fn csv_rows_are_imported_and_bad_rows_reported_by_line() {
    let app = spawn_app().await;
    let store = app.state.store.as_ref();
    let progress = indicatif::ProgressBar::hidden();
    let report = import(store, CSV.as_bytes(), 1_000, &progress)
        .await
        .unwrap();
    assert_eq!(report.rows, 7);
    let lines: Vec<u64> = report.rejected.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [5, 6, 7], "{:?}", report.rejected);
    assert!(
        report.rejected[0].1.contains("number"),
        "{:?}",
        report.rejected[0]
    );
    assert!(
        report.rejected[2].1.contains("kind"),
        "{:?}",
        report.rejected[2]
    );
    let summary = report.summary;
    assert_eq!(
        (
            summary.accounts.created,
            summary.meters.created,
            summary.readings.created
        ),
        (2, 3, 3)
    );

    let account = store.account_by_number("740000004").await.unwrap().unwrap();
    assert_eq!(account.last_payment_kopecks, Some(120_050));
    let meters = store
        .meters_of_account(
            store
                .account_by_number("740000001")
                .await
                .unwrap()
                .unwrap()
                .id,
        )
        .await
        .unwrap();
    assert_eq!(meters.len(), 2);

    // The same file again changes nothing.
    let again = import(store, CSV.as_bytes(), 2_000, &progress)
        .await
        .unwrap();
    assert_eq!(
        (
            again.summary.accounts.created,
            again.summary.accounts.updated
        ),
        (0, 0)
    );
    assert_eq!(
        (
            again.summary.readings.created,
            again.summary.readings.updated
        ),
        (0, 0)
    );
}

#[tokio::test]
async fn a_file_without_the_account_column_is_refused() {
    let app = spawn_app().await;
    let progress = indicatif::ProgressBar::hidden();
    let error = import(
        app.state.store.as_ref(),
        "number,amount\n1,2\n".as_bytes(),
        1,
        &progress,
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("account_number"));
}

const HEADER: &str = "account_number,address,last_payment_amount,meter_name,meter_kind,serial_number,reading_date,reading_value\n";

#[tokio::test]
async fn an_account_that_comes_back_later_in_the_file_counts_as_applied_in_order() {
    let app = spawn_app().await;
    let store = app.state.store.as_ref();
    let progress = indicatif::ProgressBar::hidden();
    let rows = |first: &str| {
        format!(
            "{HEADER}\
             740000010,ул. Десятая 10,10.00,ГВС1,hot_water,S-10,2026-09-25,{first}\n\
             740000011,ул. Одиннадцатая 11,11.00,ГВС1,hot_water,S-11,2026-09-25,5.000\n\
             740000010,ул. Десятая 10,10.00,ГВС1,hot_water,S-10,2026-10-25,2.000\n"
        )
    };
    let first = import(store, std::io::Cursor::new(rows("1.000")), 1_000, &progress)
        .await
        .unwrap();
    assert!(first.rejected.is_empty(), "{:?}", first.rejected);
    let s = first.summary;
    assert_eq!(
        (s.accounts.created, s.accounts.updated, s.accounts.unchanged),
        (2, 0, 1)
    );
    assert_eq!((s.meters.created, s.meters.unchanged), (2, 1));
    assert_eq!((s.readings.created, s.readings.updated), (3, 0));

    // Billing corrected one value: only that reading changes.
    let second = import(store, std::io::Cursor::new(rows("1.500")), 2_000, &progress)
        .await
        .unwrap();
    let s = second.summary;
    assert_eq!((s.accounts.created, s.accounts.updated), (0, 0));
    assert_eq!((s.meters.created, s.meters.updated), (0, 0));
    assert_eq!(
        (s.readings.created, s.readings.updated, s.readings.unchanged),
        (0, 1, 2)
    );
    let account = store.account_by_number("740000010").await.unwrap().unwrap();
    let meter = &store.meters_of_account(account.id).await.unwrap()[0];
    let values: Vec<i64> = store
        .readings_of_meter(meter.id)
        .await
        .unwrap()
        .iter()
        .map(|r| r.value)
        .collect();
    assert_eq!(values, [2_000, 1_500]);
}
