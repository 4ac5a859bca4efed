//! Wire types of the cabinet's sections: accounts, meters, readings, applications, the
//! operator's console and sessions. Plain types with their JSON mapping, tested natively.

use super::json::{FromJson, JsonObject, Value, object};

/// A linked personal account (лицевой счет) of «Мои лицевые счета».
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub number: String,
    pub address: String,
    /// `pending` until the activation link is used, then `active`.
    pub status: String,
    pub current: bool,
}

impl FromJson for Account {
    fn from_json(o: &impl JsonObject) -> Option<Self> {
        Some(Self {
            id: o.int("id")?,
            number: o.str("number")?,
            address: o.str("address").unwrap_or_default(),
            status: o.str("status")?,
            current: o.flag("current"),
        })
    }
}

/// `{number, last_payment_amount}` of «Добавить лицевой счет».
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddAccountRequest {
    pub number: String,
    pub last_payment_amount: String,
}

impl AddAccountRequest {
    pub fn to_json(&self) -> String {
        object(&[
            ("number", Value::Str(&self.number)),
            ("last_payment_amount", Value::Str(&self.last_payment_amount)),
        ])
    }
}

/// A reading in brief, as a meter shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingBrief {
    pub value: String,
    /// ISO date (`2024-07-26`).
    pub date: String,
    pub billing_month: String,
    /// `customer`, `operator` or `billing`.
    pub source: String,
    /// `sent`, `accepted` or `rejected`.
    pub status: String,
    pub reason: Option<String>,
}

impl FromJson for ReadingBrief {
    fn from_json(o: &impl JsonObject) -> Option<Self> {
        Some(Self {
            value: o.str("value")?,
            date: o.str("date")?,
            billing_month: o.str("billing_month").unwrap_or_default(),
            source: o.str("source").unwrap_or_default(),
            status: o.str("status").unwrap_or_default(),
            reason: o.str("reason"),
        })
    }
}

/// A meter of the current account (`GET /accounts/{id}/meters`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meter {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub kind_label: String,
    pub unit: String,
    pub serial_number: String,
    pub place: String,
    pub installed_on: Option<String>,
    pub last_verification: Option<String>,
    pub next_verification: Option<String>,
    /// `valid`, `expiring_soon`, `expired` or `unknown`.
    pub verification_status: String,
    pub whole_digits: u8,
    pub decimals: u8,
    pub previous_reading: Option<ReadingBrief>,
    pub current_reading: Option<ReadingBrief>,
    pub accepts_readings: bool,
    /// Why the meter does not take readings now: `(code, detail)`.
    pub refusal: Option<(String, String)>,
}

fn small(o: &impl JsonObject, key: &str, default: u8) -> u8 {
    o.int(key)
        .and_then(|n| u8::try_from(n).ok())
        .unwrap_or(default)
}

impl FromJson for Meter {
    fn from_json(o: &impl JsonObject) -> Option<Self> {
        Some(Self {
            id: o.int("id")?,
            name: o.str("name")?,
            kind: o.str("kind").unwrap_or_default(),
            kind_label: o.str("kind_label").unwrap_or_default(),
            unit: o.str("unit").unwrap_or_default(),
            serial_number: o.str("serial_number").unwrap_or_default(),
            place: o.str("place").unwrap_or_default(),
            installed_on: o.str("installed_on"),
            last_verification: o.str("last_verification"),
            next_verification: o.str("next_verification"),
            verification_status: o.str("verification_status").unwrap_or_default(),
            whole_digits: small(o, "whole_digits", 5),
            decimals: small(o, "decimals", 3),
            previous_reading: o
                .object("previous_reading")
                .and_then(|r| ReadingBrief::from_json(&r)),
            current_reading: o
                .object("current_reading")
                .and_then(|r| ReadingBrief::from_json(&r)),
            accepts_readings: o.flag("accepts_readings"),
            refusal: o
                .object("refusal")
                .and_then(|r| Some((r.str("code").unwrap_or_default(), r.str("detail")?))),
        })
    }
}

/// `{value, confirm_implausible, rollover}` of «ПЕРЕДАТЬ ПОКАЗАНИЯ».
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitReadingRequest {
    pub value: String,
    pub confirm_implausible: bool,
    pub rollover: bool,
}

impl SubmitReadingRequest {
    pub fn to_json(&self) -> String {
        object(&[
            ("value", Value::Str(&self.value)),
            ("confirm_implausible", Value::Bool(self.confirm_implausible)),
            ("rollover", Value::Bool(self.rollover)),
        ])
    }
}

/// A reading of a meter's history (`GET /meters/{id}/readings`), or the one just sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub id: i64,
    pub value: String,
    pub date: String,
    pub billing_month: String,
    pub source: String,
    pub status: String,
    pub reason: Option<String>,
    pub consumption: Option<String>,
    pub rollover: bool,
}

impl FromJson for Reading {
    fn from_json(o: &impl JsonObject) -> Option<Self> {
        Some(Self {
            id: o.int("id")?,
            value: o.str("value")?,
            date: o.str("date").unwrap_or_default(),
            billing_month: o.str("billing_month").unwrap_or_default(),
            source: o.str("source").unwrap_or_default(),
            status: o.str("status").unwrap_or_default(),
            reason: o.str("reason"),
            consumption: o.str("consumption"),
            rollover: o.flag("rollover"),
        })
    }
}

impl Reading {
    pub fn brief(&self) -> ReadingBrief {
        ReadingBrief {
            value: self.value.clone(),
            date: self.date.clone(),
            billing_month: self.billing_month.clone(),
            source: self.source.clone(),
            status: self.status.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// A file of an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    /// `/api/v1/applications/{id}/attachments/{id}`: needs the bearer token.
    pub url: String,
}

impl FromJson for Attachment {
    fn from_json(o: &impl JsonObject) -> Option<Self> {
        Some(Self {
            id: o.int("id")?,
            file_name: o.str("file_name").unwrap_or_default(),
            content_type: o.str("content_type").unwrap_or_default(),
            size: o.int("size").unwrap_or_default(),
            url: o.str("url")?,
        })
    }
}

/// An application (заявление) about a meter; the operator's queue adds the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: i64,
    /// `new`, `in_progress`, `answered` or `closed`.
    pub status: String,
    pub text: String,
    pub meter_id: i64,
    pub meter_name: String,
    pub serial_number: String,
    pub account_number: String,
    pub answer: Option<String>,
    pub answered_at: Option<String>,
    pub created_at: String,
    pub files: Vec<Attachment>,
    /// Operator views only.
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
}

impl FromJson for Application {
    fn from_json(o: &impl JsonObject) -> Option<Self> {
        Some(Self {
            id: o.int("id")?,
            status: o.str("status")?,
            text: o.str("text").unwrap_or_default(),
            meter_id: o.int("meter_id").unwrap_or_default(),
            meter_name: o.str("meter_name").unwrap_or_default(),
            serial_number: o.str("serial_number").unwrap_or_default(),
            account_number: o.str("account_number").unwrap_or_default(),
            answer: o.str("answer"),
            answered_at: o.str("answered_at"),
            created_at: o.str("created_at").unwrap_or_default(),
            files: o
                .items("files")
                .iter()
                .filter_map(Attachment::from_json)
                .collect(),
            customer_name: o.str("customer_name"),
            customer_email: o.str("customer_email"),
        })
    }
}

/// `{text}` of the operator's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRequest {
    pub text: String,
}

impl AnswerRequest {
    pub fn to_json(&self) -> String {
        object(&[("text", Value::Str(&self.text))])
    }
}

/// One recorded change of a meter's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterChange {
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub operator_name: String,
    pub application_id: Option<i64>,
    pub changed_at: String,
}

impl FromJson for MeterChange {
    fn from_json(o: &impl JsonObject) -> Option<Self> {
        Some(Self {
            field: o.str("field")?,
            old_value: o.str("old_value"),
            new_value: o.str("new_value"),
            operator_name: o.str("operator_name").unwrap_or_default(),
            application_id: o.int("application_id"),
            changed_at: o.str("changed_at").unwrap_or_default(),
        })
    }
}

/// A meter as the operator sees it, with its audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorMeter {
    pub id: i64,
    pub name: String,
    pub serial_number: String,
    pub place: String,
    pub installed_on: Option<String>,
    pub last_verification: Option<String>,
    pub next_verification: Option<String>,
    pub changes: Vec<MeterChange>,
}

impl FromJson for OperatorMeter {
    fn from_json(o: &impl JsonObject) -> Option<Self> {
        Some(Self {
            id: o.int("id")?,
            name: o.str("name").unwrap_or_default(),
            serial_number: o.str("serial_number").unwrap_or_default(),
            place: o.str("place").unwrap_or_default(),
            installed_on: o.str("installed_on"),
            last_verification: o.str("last_verification"),
            next_verification: o.str("next_verification"),
            changes: o
                .items("changes")
                .iter()
                .filter_map(MeterChange::from_json)
                .collect(),
        })
    }
}

/// A customer who linked an account, as the operator sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountHolder {
    pub full_name: String,
    pub email: String,
    pub phone: String,
    /// `pending` or `active`.
    pub status: String,
}

impl FromJson for AccountHolder {
    fn from_json(o: &impl JsonObject) -> Option<Self> {
        Some(Self {
            full_name: o.str("full_name")?,
            email: o.str("email")?,
            phone: o.str("phone").unwrap_or_default(),
            status: o.str("status").unwrap_or_default(),
        })
    }
}

/// `GET /operator/accounts/{number}`: an account with its meters and customers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorAccount {
    pub number: String,
    pub address: String,
    pub last_payment_amount: Option<String>,
    pub last_payment_date: Option<String>,
    pub meters: Vec<OperatorMeter>,
    pub customers: Vec<AccountHolder>,
}

impl FromJson for OperatorAccount {
    fn from_json(o: &impl JsonObject) -> Option<Self> {
        Some(Self {
            number: o.str("number")?,
            address: o.str("address").unwrap_or_default(),
            last_payment_amount: o.str("last_payment_amount"),
            last_payment_date: o.str("last_payment_date"),
            meters: o
                .items("meters")
                .iter()
                .filter_map(OperatorMeter::from_json)
                .collect(),
            customers: o
                .items("customers")
                .iter()
                .filter_map(AccountHolder::from_json)
                .collect(),
        })
    }
}

/// `PATCH /operator/meters/{id}`: only the fields that changed; an emptied date is `null`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CorrectMeterRequest {
    pub serial_number: Option<String>,
    pub last_verification: Option<Option<String>>,
    pub next_verification: Option<Option<String>>,
    pub application_id: Option<i64>,
}

impl CorrectMeterRequest {
    pub fn to_json(&self) -> String {
        let mut fields = Vec::new();
        if let Some(serial) = &self.serial_number {
            fields.push(("serial_number", Value::Str(serial)));
        }
        for (key, date) in [
            ("last_verification", &self.last_verification),
            ("next_verification", &self.next_verification),
        ] {
            match date {
                Some(Some(date)) => fields.push((key, Value::Str(date))),
                Some(None) => fields.push((key, Value::Null)),
                None => {}
            }
        }
        if let Some(id) = self.application_id {
            fields.push(("application_id", Value::Int(id)));
        }
        object(&fields)
    }

    pub fn is_empty(&self) -> bool {
        self.serial_number.is_none()
            && self.last_verification.is_none()
            && self.next_verification.is_none()
    }
}

/// A signed-in session of «Сеансы».
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: i64,
    pub current: bool,
    pub remember_me: bool,
    pub created_at: String,
    pub last_seen_at: String,
    pub user_agent: String,
    pub ip: String,
}

impl FromJson for SessionInfo {
    fn from_json(o: &impl JsonObject) -> Option<Self> {
        Some(Self {
            id: o.int("id")?,
            current: o.flag("current"),
            remember_me: o.flag("remember_me"),
            created_at: o.str("created_at").unwrap_or_default(),
            last_seen_at: o.str("last_seen_at").unwrap_or_default(),
            user_agent: o.str("user_agent").unwrap_or_default(),
            ip: o.str("ip").unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn reads_a_meter_with_its_readings_and_refusal() {
        let meter = Meter::from_json(&json(
            r#"{"id":3,"name":"ГВС1","kind":"hot_water","kind_label":"Горячая вода","unit":"м³",
            "serial_number":"23_8994120","place":"Ванная","installed_on":"2020-01-10",
            "last_verification":"2023-01-10","next_verification":null,
            "verification_status":"valid","whole_digits":5,"decimals":3,"monthly_limit":"30.000",
            "previous_reading":{"id":1,"value":"0.002","date":"2024-07-26","billing_month":"2024-07",
            "source":"billing","status":"accepted","reason":null},"current_reading":null,
            "accepts_readings":false,"refusal":{"code":"verification_expired","detail":"Истёк."}}"#,
        ))
        .unwrap();
        assert_eq!(meter.serial_number, "23_8994120");
        assert_eq!(meter.next_verification, None);
        assert_eq!(meter.previous_reading.unwrap().value, "0.002");
        assert_eq!(meter.current_reading, None);
        assert!(!meter.accepts_readings);
        assert_eq!(
            meter.refusal,
            Some(("verification_expired".into(), "Истёк.".into()))
        );
    }

    #[test]
    fn reads_accounts_applications_and_sessions() {
        let account = Account::from_json(&json(
            r#"{"id":1,"number":"720000032","address":"г. Пенза","status":"active","current":true,
            "added_at":"2024-07-26T10:00:00Z","activated_at":null}"#,
        ))
        .unwrap();
        assert!(account.current);
        let app = Application::from_json(&json(
            r#"{"id":5,"status":"answered","text":"Добрый день.","meter_id":4,"meter_name":"ГВС2",
            "serial_number":"23_8995270","account_number":"720000032","answer":"Исправлено.",
            "answered_at":"2024-07-27T10:00:00Z","created_at":"2024-07-26T10:00:00Z",
            "updated_at":"2024-07-27T10:00:00Z","files":[{"id":9,"file_name":"акт.jpg",
            "content_type":"image/jpeg","size":1200,"url":"/api/v1/applications/5/attachments/9"}],
            "customer_name":"Иванов Иван","customer_email":"ivanov@mail.ru"}"#,
        ))
        .unwrap();
        assert_eq!(app.files[0].file_name, "акт.jpg");
        assert_eq!(app.answer.as_deref(), Some("Исправлено."));
        assert_eq!(app.customer_email.as_deref(), Some("ivanov@mail.ru"));
        let session = SessionInfo::from_json(&json(
            r#"{"id":2,"current":true,"remember_me":false,"created_at":"2024-07-26T10:00:00Z",
            "last_seen_at":"2024-07-26T10:00:00Z","expires_at":"2024-07-26T22:00:00Z",
            "user_agent":"Firefox","ip":"127.0.0.1"}"#,
        ))
        .unwrap();
        assert!(session.current);
    }

    #[test]
    fn writes_request_bodies() {
        let body = json(
            &AddAccountRequest {
                number: "720000032".into(),
                last_payment_amount: "500.00".into(),
            }
            .to_json(),
        );
        assert_eq!(body["last_payment_amount"], "500.00");
        let body = json(
            &SubmitReadingRequest {
                value: "0.009".into(),
                confirm_implausible: true,
                rollover: false,
            }
            .to_json(),
        );
        assert_eq!(body["value"], "0.009");
        assert_eq!(body["confirm_implausible"], true);
        let body = json(
            &CorrectMeterRequest {
                serial_number: Some("28_1234567".into()),
                last_verification: None,
                next_verification: Some(None),
                application_id: Some(5),
            }
            .to_json(),
        );
        assert_eq!(body["serial_number"], "28_1234567");
        assert!(body.get("last_verification").is_none());
        assert!(body["next_verification"].is_null());
        assert_eq!(body["application_id"], 5);
        assert_eq!(
            json(
                &AnswerRequest {
                    text: "Да".into()
                }
                .to_json()
            )["text"],
            "Да"
        );
    }
}
