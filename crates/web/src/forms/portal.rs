//! Page logic of the cabinet's sections (accounts, readings, meters, applications, the
//! operator's console): validation with the `domain` rules → request bodies, and the words
//! and numbers the pages show. Tested natively.

use domain::{AccountNumber, ApplicationText, MeterPrecision, Money, ReadingRefusal, ReadingValue};

use super::FormErrors;
use crate::api::{
    Account, AddAccountRequest, AnswerRequest, CorrectMeterRequest, Meter, OperatorMeter, Reading,
    SubmitReadingRequest,
};

/// The branch and its hotline, for what is shown before `/info` is loaded.
pub const BRANCH: &str = "Пензенский филиал ПАО «Т Плюс»";
pub const HOTLINE: &str = "8(8412)21-07-21";
pub const ANSWER_REQUIRED: &str = "Введите текст ответа.";
pub const SERIAL_REQUIRED: &str = "Введите заводской номер прибора учета.";
pub const SERIAL_TOO_LONG: &str = "Заводской номер — не длиннее 60 символов.";
pub const DATE_INVALID: &str = "Укажите дату в формате ДД.ММ.ГГГГ.";
pub const NOTHING_CHANGED: &str = "Измените хотя бы одно поле.";
/// At most this many files of an application, each at most [`MAX_FILE_BYTES`].
pub const MAX_FILES: usize = 5;
pub const MAX_FILE_BYTES: f64 = 10.0 * 1024.0 * 1024.0;

/// The account the cabinet shows: the one marked current, else the first active one.
pub fn current_of(accounts: Vec<Account>) -> Option<Account> {
    let mut active = accounts.into_iter().filter(|a| a.status == "active");
    let first = active.next()?;
    if first.current {
        return Some(first);
    }
    Some(active.find(|a| a.current).unwrap_or(first))
}

/// «Добавить лицевой счет».
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddAccountForm {
    pub number: String,
    pub last_payment_amount: String,
}

impl AddAccountForm {
    pub const FIELDS: [&'static str; 2] = ["number", "last_payment_amount"];

    pub fn validate(&self) -> Result<AddAccountRequest, FormErrors> {
        let mut errors = FormErrors::default();
        let number = AccountNumber::parse(&self.number)
            .map_err(|e| errors.add("number", e.to_string()))
            .ok();
        let amount = Money::parse(&self.last_payment_amount)
            .map_err(|e| errors.add("last_payment_amount", e.to_string()))
            .ok();
        errors.into_result(|| AddAccountRequest {
            number: number.map(|n| n.as_str().to_owned()).unwrap_or_default(),
            last_payment_amount: amount.map(|m| m.to_string()).unwrap_or_default(),
        })
    }
}

/// The operator's search by account number: the number as the API takes it.
pub fn validate_account_search(number: &str) -> Result<String, FormErrors> {
    let mut errors = FormErrors::default();
    let number = AccountNumber::parse(number)
        .map_err(|e| errors.add("account_number", e.to_string()))
        .ok();
    errors.into_result(|| number.map(|n| n.as_str().to_owned()).unwrap_or_default())
}

/// The meter's drum: its whole digits and decimals (the default if the API sent nonsense).
pub fn precision_of(meter: &Meter) -> MeterPrecision {
    MeterPrecision::new(meter.whole_digits, meter.decimals).unwrap_or_default()
}

/// «Новые показания» of one meter, checked as the server checks it: the format of the drum,
/// and not below the previous reading (unless a roll-over is declared).
pub fn validate_reading(
    meter: &Meter,
    input: &str,
    confirm_implausible: bool,
    rollover: bool,
) -> Result<SubmitReadingRequest, String> {
    let precision = precision_of(meter);
    let value = ReadingValue::parse(input, precision).map_err(|e| e.to_string())?;
    let previous = meter
        .previous_reading
        .as_ref()
        .and_then(|p| ReadingValue::parse(&p.value, MeterPrecision::new(9, 3)?).ok());
    if let Some(previous) = previous
        && value < previous
        && !rollover
    {
        return Err(ReadingRefusal::BelowPrevious {
            previous,
            precision,
        }
        .to_string());
    }
    Ok(SubmitReadingRequest {
        value: value.format(precision),
        confirm_implausible,
        rollover,
    })
}

/// Whether the typed value is below the previous reading: then a roll-over may be declared.
pub fn is_below_previous(meter: &Meter, input: &str) -> bool {
    let precision = precision_of(meter);
    let Ok(value) = ReadingValue::parse(input, precision) else {
        return false;
    };
    meter
        .previous_reading
        .as_ref()
        .and_then(|p| ReadingValue::parse(&p.value, MeterPrecision::new(9, 3)?).ok())
        .is_some_and(|previous| value < previous)
}

/// `2024-07-26` (or an RFC 3339 timestamp) → `26.07.2024`; anything else as it is.
pub fn ru_date(iso: &str) -> String {
    let date = iso.get(..10).unwrap_or(iso);
    let parts: Vec<&str> = date.split('-').collect();
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => format!("{d}.{m}.{y}"),
        _ => iso.to_owned(),
    }
}

/// `26.07.2024` or `2024-07-26` (what a date input gives) → `2024-07-26`; empty → `None`.
pub fn parse_date(input: &str) -> Result<Option<String>, &'static str> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let (y, m, d) = if let [d, m, y] = s.split('.').collect::<Vec<_>>().as_slice() {
        (*y, *m, *d)
    } else if let [y, m, d] = s.split('-').collect::<Vec<_>>().as_slice() {
        (*y, *m, *d)
    } else {
        return Err(DATE_INVALID);
    };
    let number = |p: &str, len: usize| {
        (p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u16>().ok())
            .flatten()
    };
    match (number(y, 4), number(m, 2), number(d, 2)) {
        (Some(y), Some(m), Some(d)) if (1900..=2200).contains(&y) && (1..=12).contains(&m) => {
            let days = match m {
                2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            if (1..=days).contains(&d) {
                Ok(Some(format!("{y:04}-{m:02}-{d:02}")))
            } else {
                Err(DATE_INVALID)
            }
        }
        _ => Err(DATE_INVALID),
    }
}

const MONTHS: [&str; 12] = [
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
];
const MONTHS_SHORT: [&str; 12] = [
    "янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек",
];

fn month_index(billing_month: &str) -> Option<(usize, &str)> {
    let (year, month) = billing_month.split_once('-')?;
    let month: usize = month.parse().ok()?;
    (1..=12).contains(&month).then_some((month - 1, year))
}

/// `2024-07` → `июль 2024`.
pub fn month_label(billing_month: &str) -> String {
    match month_index(billing_month) {
        Some((m, year)) => format!("{} {year}", MONTHS[m]),
        None => billing_month.to_owned(),
    }
}

/// `2024-07` → `июл 24`, under a bar of the chart.
pub fn month_short(billing_month: &str) -> String {
    match month_index(billing_month) {
        Some((m, year)) => format!("{} {}", MONTHS_SHORT[m], year.get(2..).unwrap_or(year)),
        None => billing_month.to_owned(),
    }
}

/// A reading's status: «передано», «принято», «отклонено».
pub fn reading_status_label(status: &str) -> &'static str {
    match status {
        "sent" => "Передано, ожидает обработки",
        "accepted" => "Принято",
        "rejected" => "Отклонено",
        _ => "—",
    }
}

/// Where a reading came from.
pub fn source_label(source: &str) -> &'static str {
    match source {
        "customer" => "Личный кабинет",
        "operator" => "Оператор",
        "billing" => "Расчётный центр",
        _ => "—",
    }
}

/// An application's status: «Новое», «В работе», «Есть ответ», «Закрыто».
pub fn application_status_label(status: &str) -> &'static str {
    match status {
        "new" => "Новое",
        "in_progress" => "В работе",
        "answered" => "Есть ответ",
        "closed" => "Закрыто",
        _ => "—",
    }
}

/// The filter of the operator's queue: (query value, label).
pub const QUEUE_FILTERS: [(&str, &str); 5] = [
    ("new", "Новые"),
    ("in_progress", "В работе"),
    ("answered", "Есть ответ"),
    ("closed", "Закрытые"),
    ("", "Все"),
];

/// A meter's verification, in words.
pub fn verification_label(status: &str) -> Option<&'static str> {
    match status {
        "expired" => Some("Срок поверки истёк"),
        "expiring_soon" => Some("Срок поверки скоро истекает"),
        _ => None,
    }
}

/// `1 536 000` bytes → `1,5 МБ`.
pub fn file_size(bytes: f64) -> String {
    if bytes >= 1024.0 * 1024.0 {
        let tenths = (bytes / (1024.0 * 1024.0) * 10.0).round() as u64;
        format!("{},{} МБ", tenths / 10, tenths % 10)
    } else {
        format!("{} КБ", ((bytes / 1024.0).ceil() as u64).max(1))
    }
}

/// A file chosen for an application: its name, size and the type the browser guessed.
#[derive(Debug, Clone, PartialEq)]
pub struct ChosenFile {
    pub name: String,
    pub size: f64,
    pub content_type: String,
}

fn is_allowed_file(file: &ChosenFile) -> bool {
    let name = file.name.to_lowercase();
    matches!(
        file.content_type.as_str(),
        "image/jpeg" | "image/png" | "application/pdf"
    ) || [".jpg", ".jpeg", ".png", ".pdf"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// The files of an application: at most five JPEG, PNG or PDF files of 10 MB each. The
/// server checks the content itself; this only spares a useless upload.
pub fn check_files(files: &[ChosenFile]) -> Option<String> {
    if files.len() > MAX_FILES {
        return Some(format!("Можно приложить не более {MAX_FILES} файлов."));
    }
    if let Some(file) = files.iter().find(|f| !is_allowed_file(f)) {
        return Some(format!(
            "Файл «{}»: можно приложить только фото или скан — JPEG, PNG или PDF.",
            file.name
        ));
    }
    files
        .iter()
        .find(|f| f.size > MAX_FILE_BYTES)
        .map(|file| format!("Файл «{}» больше 10 МБ.", file.name))
}

/// «Опишите вашу проблему…»: the text and the files, checked before the upload.
pub fn validate_application(text: &str, files: &[ChosenFile]) -> Result<String, FormErrors> {
    let mut errors = FormErrors::default();
    let text = ApplicationText::parse(text)
        .map_err(|e| errors.add("text", e.to_string()))
        .ok();
    if let Some(message) = check_files(files) {
        errors.add("files", message);
    }
    errors.into_result(|| text.map(|t| t.as_str().to_owned()).unwrap_or_default())
}

pub fn validate_answer(text: &str) -> Result<AnswerRequest, FormErrors> {
    let mut errors = FormErrors::default();
    match ApplicationText::parse(text) {
        Ok(text) => {
            return Ok(AnswerRequest {
                text: text.as_str().to_owned(),
            });
        }
        Err(domain::ApplicationTextError::Empty) => errors.add("answer", ANSWER_REQUIRED),
        Err(error) => errors.add("answer", error.to_string()),
    }
    errors.into_result(|| AnswerRequest {
        text: String::new(),
    })
}

/// The operator's correction of a meter: only what differs from the meter is sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorrectionForm {
    pub serial_number: String,
    pub last_verification: String,
    pub next_verification: String,
}

impl CorrectionForm {
    pub const FIELDS: [&'static str; 3] =
        ["serial_number", "last_verification", "next_verification"];

    pub fn of(meter: &OperatorMeter) -> Self {
        Self {
            serial_number: meter.serial_number.clone(),
            last_verification: meter.last_verification.clone().unwrap_or_default(),
            next_verification: meter.next_verification.clone().unwrap_or_default(),
        }
    }

    pub fn validate(
        &self,
        meter: &OperatorMeter,
        application_id: Option<i64>,
    ) -> Result<CorrectMeterRequest, FormErrors> {
        let mut errors = FormErrors::default();
        let mut request = CorrectMeterRequest {
            application_id,
            ..Default::default()
        };
        let serial = self.serial_number.trim();
        if serial.is_empty() {
            errors.add("serial_number", SERIAL_REQUIRED);
        } else if serial.chars().count() > 60 {
            errors.add("serial_number", SERIAL_TOO_LONG);
        } else if serial != meter.serial_number {
            request.serial_number = Some(serial.to_owned());
        }
        for (field, input, old, slot) in [
            (
                "last_verification",
                &self.last_verification,
                &meter.last_verification,
                &mut request.last_verification,
            ),
            (
                "next_verification",
                &self.next_verification,
                &meter.next_verification,
                &mut request.next_verification,
            ),
        ] {
            match parse_date(input) {
                Ok(date) if date != *old => *slot = Some(date),
                Ok(_) => {}
                Err(message) => errors.add(field, message),
            }
        }
        if errors.fields.is_empty() && request.is_empty() {
            return Err(FormErrors {
                summary: Some(NOTHING_CHANGED.to_owned()),
                ..Default::default()
            });
        }
        errors.into_result(|| request)
    }
}

/// What a meter change is about, in words.
pub fn change_field_label(field: &str) -> &str {
    match field {
        "serial_number" => "Заводской номер",
        "installed_on" => "Дата установки",
        "last_verification" => "Дата последней поверки",
        "next_verification" => "Дата следующей поверки",
        other => other,
    }
}

/// One bar of the consumption chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub month: String,
    pub label: String,
    pub consumption: String,
    /// Height in thousandths of the tallest bar.
    pub height: u32,
}

/// Consumption per month, oldest first, for the chart: the last `limit` months that have one.
pub fn consumption_bars(history: &[Reading], limit: usize) -> Vec<Bar> {
    let scale = MeterPrecision::new(9, 3).unwrap_or_default();
    let mut points: Vec<(String, String, i64)> = history
        .iter()
        .filter_map(|r| {
            let text = r.consumption.as_ref()?;
            let value = ReadingValue::parse(text, scale).ok()?;
            Some((r.billing_month.clone(), text.clone(), value.thousandths()))
        })
        .collect();
    points.sort_by(|a, b| a.0.cmp(&b.0));
    points.dedup_by(|b, a| a.0 == b.0);
    let skip = points.len().saturating_sub(limit);
    let points = &points[skip..];
    let max = points.iter().map(|p| p.2).max().unwrap_or(0).max(1);
    points
        .iter()
        .map(|(month, text, value)| Bar {
            label: month_short(month),
            month: month.clone(),
            consumption: text.clone(),
            height: u32::try_from(value * 1000 / max).unwrap_or(0),
        })
        .collect()
}

/// An id from the route (`/applications/7`).
pub fn parse_id(text: &str) -> Option<i64> {
    text.parse().ok().filter(|id: &i64| *id > 0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_account_search_takes_the_number_as_linking_does() {
        assert_eq!(validate_account_search(" 720000032 ").unwrap(), "720000032");
        let errors = validate_account_search("72-abc").unwrap_err();
        assert!(errors.field("account_number").is_some());
    }

    use super::*;
    use crate::api::ReadingBrief;

    fn account(id: i64, status: &str, current: bool) -> Account {
        Account {
            id,
            number: format!("72000003{id}"),
            address: String::new(),
            status: status.into(),
            current,
        }
    }

    fn meter(previous: Option<&str>) -> Meter {
        Meter {
            id: 1,
            name: "ГВС1".into(),
            kind: "hot_water".into(),
            kind_label: "Горячая вода".into(),
            unit: "м³".into(),
            serial_number: "23_8994120".into(),
            place: String::new(),
            installed_on: None,
            last_verification: None,
            next_verification: None,
            verification_status: "valid".into(),
            whole_digits: 5,
            decimals: 3,
            previous_reading: previous.map(|value| ReadingBrief {
                value: value.into(),
                date: "2024-07-26".into(),
                billing_month: "2024-07".into(),
                source: "billing".into(),
                status: "accepted".into(),
                reason: None,
            }),
            current_reading: None,
            accepts_readings: true,
            refusal: None,
        }
    }

    #[test]
    fn the_current_account_is_the_marked_active_one() {
        assert_eq!(current_of(vec![]), None);
        assert_eq!(current_of(vec![account(1, "pending", true)]), None);
        let chosen = current_of(vec![
            account(1, "pending", false),
            account(2, "active", false),
            account(3, "active", true),
        ]);
        assert_eq!(chosen.map(|a| a.id), Some(3));
        let chosen = current_of(vec![
            account(2, "active", false),
            account(3, "active", false),
        ]);
        assert_eq!(chosen.map(|a| a.id), Some(2));
    }

    #[test]
    fn adding_an_account_checks_number_and_amount() {
        let body = AddAccountForm {
            number: " 720000032 ".into(),
            last_payment_amount: "500,00".into(),
        }
        .validate()
        .unwrap();
        assert_eq!(body.number, "720000032");
        assert_eq!(body.last_payment_amount, "500.00");
        let errors = AddAccountForm {
            number: "72#####32".into(),
            last_payment_amount: "".into(),
        }
        .validate()
        .unwrap_err();
        assert!(errors.field("number").is_some());
        assert!(errors.field("last_payment_amount").is_some());
        assert_eq!(
            errors.first_invalid(&AddAccountForm::FIELDS),
            Some("number")
        );
    }

    #[test]
    fn a_reading_below_the_previous_is_refused_in_the_servers_words() {
        let m = meter(Some("0.002"));
        let body = validate_reading(&m, "0,009", false, false).unwrap();
        assert_eq!(body.value, "0.009");
        assert!(!body.confirm_implausible);
        assert_eq!(
            validate_reading(&m, "0.002", false, false).unwrap().value,
            "0.002"
        );
        let message = validate_reading(&m, "0.001", false, false).unwrap_err();
        assert_eq!(
            message,
            "Новое показание не может быть меньше предыдущего (0.002)."
        );
        assert!(is_below_previous(&m, "0.001"));
        assert!(!is_below_previous(&m, "5"));
        // A declared roll-over is left to the server.
        assert!(validate_reading(&m, "0.001", false, true).unwrap().rollover);
        assert_eq!(
            validate_reading(&m, "", false, false).unwrap_err(),
            "Введите показание прибора учета."
        );
        assert!(validate_reading(&m, "0.0001", false, false).is_err());
        assert!(validate_reading(&m, "abc", false, false).is_err());
        assert!(
            validate_reading(&meter(None), "1", true, false)
                .unwrap()
                .confirm_implausible
        );
    }

    #[test]
    fn dates_and_months_in_russian() {
        assert_eq!(ru_date("2024-07-26"), "26.07.2024");
        assert_eq!(ru_date("2024-07-26T10:00:00Z"), "26.07.2024");
        assert_eq!(ru_date("позже"), "позже");
        assert_eq!(month_label("2024-07"), "июль 2024");
        assert_eq!(month_short("2024-12"), "дек 24");
        assert_eq!(parse_date("26.07.2024"), Ok(Some("2024-07-26".into())));
        assert_eq!(parse_date("2024-02-29"), Ok(Some("2024-02-29".into())));
        assert_eq!(parse_date(""), Ok(None));
        assert_eq!(parse_date("2023-02-29"), Err(DATE_INVALID));
        assert_eq!(parse_date("31.04.2024"), Err(DATE_INVALID));
        assert_eq!(parse_date("завтра"), Err(DATE_INVALID));
    }

    #[test]
    fn labels() {
        assert_eq!(application_status_label("answered"), "Есть ответ");
        assert_eq!(application_status_label("in_progress"), "В работе");
        assert_eq!(reading_status_label("accepted"), "Принято");
        assert_eq!(source_label("customer"), "Личный кабинет");
        assert_eq!(verification_label("valid"), None);
        assert!(verification_label("expired").is_some());
        assert_eq!(file_size(1_572_864.0), "1,5 МБ");
        assert_eq!(file_size(100.0), "1 КБ");
        assert_eq!(parse_id("7"), Some(7));
        assert_eq!(parse_id("0"), None);
        assert_eq!(parse_id("x"), None);
    }

    fn file(name: &str, size: f64, content_type: &str) -> ChosenFile {
        ChosenFile {
            name: name.into(),
            size,
            content_type: content_type.into(),
        }
    }

    #[test]
    fn applications_check_text_and_files() {
        let files = vec![file("акт.jpg", 2e6, "image/jpeg")];
        assert_eq!(
            validate_application("  Неверный номер. ", &files).unwrap(),
            "Неверный номер."
        );
        let errors = validate_application(" ", &[]).unwrap_err();
        assert_eq!(errors.field("text"), Some("Опишите вашу проблему."));
        assert!(validate_application(&"ж".repeat(4001), &[]).is_err());
        assert!(check_files(&vec![file("a.png", 1.0, "image/png"); 6]).is_some());
        assert!(check_files(&[file("a.exe", 1.0, "application/x-msdownload")]).is_some());
        assert_eq!(
            check_files(&[file("скан.pdf", 11.0 * 1024.0 * 1024.0, "application/pdf")]),
            Some("Файл «скан.pdf» больше 10 МБ.".into())
        );
        assert_eq!(check_files(&[file("SCAN.PDF", 1.0, "")]), None);
        assert_eq!(validate_answer("Исправлено.").unwrap().text, "Исправлено.");
        assert_eq!(
            validate_answer("").unwrap_err().field("answer"),
            Some(ANSWER_REQUIRED)
        );
    }

    fn operator_meter() -> OperatorMeter {
        OperatorMeter {
            id: 4,
            name: "ГВС2".into(),
            serial_number: "23_8995270".into(),
            place: String::new(),
            installed_on: None,
            last_verification: Some("2023-01-10".into()),
            next_verification: Some("2029-01-10".into()),
            changes: vec![],
        }
    }

    #[test]
    fn a_correction_sends_only_what_changed() {
        let m = operator_meter();
        let mut form = CorrectionForm::of(&m);
        assert_eq!(
            form.validate(&m, Some(3)).unwrap_err().summary.as_deref(),
            Some(NOTHING_CHANGED)
        );
        form.serial_number = " 28_1234567 ".into();
        form.next_verification = "01.05.2032".into();
        let request = form.validate(&m, Some(3)).unwrap();
        assert_eq!(request.serial_number.as_deref(), Some("28_1234567"));
        assert_eq!(request.last_verification, None);
        assert_eq!(request.next_verification, Some(Some("2032-05-01".into())));
        assert_eq!(request.application_id, Some(3));
        form.last_verification = String::new();
        assert_eq!(
            form.validate(&m, None).unwrap().last_verification,
            Some(None)
        );
        form.serial_number = String::new();
        form.next_verification = "32.13.2032".into();
        let errors = form.validate(&m, None).unwrap_err();
        assert_eq!(errors.field("serial_number"), Some(SERIAL_REQUIRED));
        assert_eq!(errors.field("next_verification"), Some(DATE_INVALID));
    }

    fn reading(month: &str, consumption: Option<&str>) -> Reading {
        Reading {
            id: 1,
            value: "1".into(),
            date: format!("{month}-20"),
            billing_month: month.into(),
            source: "customer".into(),
            status: "sent".into(),
            reason: None,
            consumption: consumption.map(Into::into),
            rollover: false,
        }
    }

    #[test]
    fn the_chart_shows_consumption_oldest_first() {
        let history = vec![
            reading("2024-09", Some("2.000")),
            reading("2024-08", Some("4.000")),
            reading("2024-07", None),
            reading("2024-06", Some("1.000")),
        ];
        let bars = consumption_bars(&history, 12);
        let months: Vec<_> = bars.iter().map(|b| b.month.as_str()).collect();
        assert_eq!(months, ["2024-06", "2024-08", "2024-09"]);
        assert_eq!(bars[1].height, 1000);
        assert_eq!(bars[2].height, 500);
        assert_eq!(bars[0].label, "июн 24");
        assert_eq!(consumption_bars(&history, 2).len(), 2);
        assert!(consumption_bars(&[], 12).is_empty());
        let zero = consumption_bars(&[reading("2024-06", Some("0.000"))], 12);
        assert_eq!(zero[0].height, 0);
    }
}
