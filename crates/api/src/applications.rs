//! Applications about a meter (F6): a customer files one with photos or scans; an operator takes
//! it, answers it, and may correct the meter's data with every change recorded.

use domain::{ApplicationText, ApplicationTextError};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::{ApiError, FieldError};
use crate::mail::Letter;
use crate::readings::parse_iso_date;
use crate::store::{
    ApplicationRecord, AttachmentInfo, MeterChange, MeterCorrection, MeterRecord, NewAttachment,
    UserRecord,
};

pub const MAX_FILES: usize = 5;
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// A file as it arrived, its type already recognised from its content.
pub struct UploadedFile {
    pub file_name: String,
    pub content_type: &'static str,
    pub data: Vec<u8>,
}

/// The type of a file by its first bytes: JPEG, PNG or PDF, whatever its name or declared
/// type says.
pub fn sniff(data: &[u8]) -> Option<(&'static str, &'static str)> {
    if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png"))
    } else if data.starts_with(b"%PDF-") {
        Some(("application/pdf", "pdf"))
    } else {
        None
    }
}

/// A file name fit for display only: its last path component, without control characters or
/// leading dots, at most 100 characters, and with the extension of its real type.
pub fn clean_file_name(raw: &str, extension: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ':' | '*' | '?' | '|'))
        .collect();
    // No leading dots, however they hide among spaces: the name must not look hidden.
    let cleaned = cleaned
        .trim_start_matches(|c: char| c == '.' || c.is_whitespace())
        .trim_end();
    let stem = cleaned
        .rsplit_once('.')
        .map_or(cleaned, |(stem, _)| stem)
        .trim();
    let stem: String = stem.chars().take(90).collect();
    let stem = if stem.is_empty() {
        "файл".to_owned()
    } else {
        stem
    };
    format!("{stem}.{extension}")
}

fn meter_label(record: &ApplicationRecord) -> String {
    format!("{} {}", record.meter_name, record.serial_number)
}

/// Files an application about one of the user's meters; a copy of the text goes to their
/// e-mail in the same unit of work.
pub async fn file(
    state: &AppState,
    user: &UserRecord,
    meter_id: i64,
    text: &str,
    files: Vec<UploadedFile>,
) -> Result<(ApplicationRecord, Vec<AttachmentInfo>), ApiError> {
    state
        .store
        .meter_of_user(user.id, meter_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let text = ApplicationText::parse(text).map_err(|e| ApiError::field("text", &e))?;
    let limit = state.config.rate_limits.applications_per_user;
    state
        .limiter
        .hit(&format!("applications:user:{}", user.id), limit)
        .await?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    let id = tx
        .insert_application(user.id, meter_id, text.as_str(), now)
        .await?;
    for file in &files {
        let sha256 = hex::encode(Sha256::digest(&file.data));
        tx.insert_attachment(
            id,
            &NewAttachment {
                file_name: &file.file_name,
                content_type: file.content_type,
                sha256: &sha256,
                data: &file.data,
            },
            now,
        )
        .await?;
    }
    let record = tx.application_by_id(id).await?.ok_or(ApiError::NotFound)?;
    let letter = state.templates.render(
        &crate::mail::send_to(&user.email),
        &Letter::ApplicationCopy {
            full_name: &user.full_name,
            number: &id.to_string(),
            meter: &meter_label(&record),
            text: text.as_str(),
            link: &state.link(&format!("/applications/{id}")),
        },
    );
    tx.enqueue_mail(&letter, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    let attachments = state.store.attachments_of(&[id]).await?;
    Ok((record, attachments))
}

/// Takes a new application into work.
pub async fn take(
    state: &AppState,
    operator: &UserRecord,
    id: i64,
) -> Result<ApplicationRecord, ApiError> {
    let mut tx = state.store.begin().await?;
    let moved = tx
        .move_application(id, &["new"], "in_progress", operator.id, state.clock.now())
        .await?;
    let record = tx.application_by_id(id).await?.ok_or(ApiError::NotFound)?;
    if !moved && record.status != "in_progress" {
        return Err(ApiError::Conflict {
            code: "application_not_new",
            detail: "Заявление уже обработано.".into(),
        });
    }
    tx.commit().await?;
    Ok(record)
}

pub async fn close(
    state: &AppState,
    operator: &UserRecord,
    id: i64,
) -> Result<ApplicationRecord, ApiError> {
    let mut tx = state.store.begin().await?;
    let moved = tx
        .move_application(
            id,
            &["new", "in_progress", "answered"],
            "closed",
            operator.id,
            state.clock.now(),
        )
        .await?;
    let record = tx.application_by_id(id).await?.ok_or(ApiError::NotFound)?;
    if !moved {
        return Err(ApiError::Conflict {
            code: "application_closed",
            detail: "Заявление уже закрыто.".into(),
        });
    }
    tx.commit().await?;
    Ok(record)
}

/// Answers an application; the answer shows in the cabinet and is e-mailed to the customer.
pub async fn answer(
    state: &AppState,
    operator: &UserRecord,
    id: i64,
    answer: &str,
) -> Result<ApplicationRecord, ApiError> {
    let answer = ApplicationText::parse(answer).map_err(|e| match e {
        // The customer's wording («Опишите вашу проблему») is not the operator's.
        ApplicationTextError::Empty => ApiError::Validation(vec![FieldError::new(
            "text",
            "answer_text_required",
            "Напишите ответ заявителю.",
        )]),
        e => ApiError::field("text", &e),
    })?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    if tx.application_by_id(id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    if !tx
        .answer_application(id, operator.id, answer.as_str(), now)
        .await?
    {
        return Err(ApiError::Conflict {
            code: "application_closed",
            detail: "Заявление закрыто: ответить на него нельзя.".into(),
        });
    }
    let record = tx.application_by_id(id).await?.ok_or(ApiError::NotFound)?;
    let letter = state.templates.render(
        &crate::mail::send_to(&record.customer_email),
        &Letter::ApplicationAnswered {
            full_name: &record.customer_name,
            number: &id.to_string(),
            meter: &meter_label(&record),
            text: &record.text,
            answer: answer.as_str(),
            link: &state.link(&format!("/applications/{id}")),
        },
    );
    tx.enqueue_mail(&letter, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(record)
}

/// What an operator asks to change; absent fields stay as they are, `Some(None)` clears a date.
#[derive(Debug, Default)]
pub struct CorrectionRequest {
    pub serial_number: Option<String>,
    pub installed_on: Option<Option<String>>,
    pub last_verification: Option<Option<String>>,
    pub next_verification: Option<Option<String>>,
    pub application_id: Option<i64>,
}

/// Corrects a meter's serial number and dates, recording each changed field.
pub async fn correct_meter(
    state: &AppState,
    operator: &UserRecord,
    meter_id: i64,
    request: CorrectionRequest,
) -> Result<(MeterRecord, Vec<MeterChange>), ApiError> {
    let mut errors = Vec::new();
    let serial = request
        .serial_number
        .as_deref()
        .map(str::trim)
        .map(str::to_owned);
    if let Some(serial) = &serial
        && (serial.is_empty() || serial.chars().count() > 60)
    {
        errors.push(FieldError::new(
            "serial_number",
            "invalid_serial_number",
            "Укажите номер прибора учета (до 60 символов).",
        ));
    }
    let mut date = |field: &str, value: &Option<Option<String>>| -> Option<Option<String>> {
        let value = value.as_ref()?;
        match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => Some(None),
            Some(text) => match parse_iso_date(text) {
                Some(date) => Some(Some(crate::readings::iso_date(date))),
                None => {
                    errors.push(FieldError::new(
                        field,
                        "invalid_date",
                        "Укажите дату в формате ГГГГ-ММ-ДД.",
                    ));
                    None
                }
            },
        }
    };
    let installed_on = date("installed_on", &request.installed_on);
    let last_verification = date("last_verification", &request.last_verification);
    let next_verification = date("next_verification", &request.next_verification);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if let Some(application_id) = request.application_id {
        let application = state.store.application(application_id).await?;
        if application.is_none_or(|a| a.meter_id != meter_id) {
            return Err(ApiError::Validation(vec![FieldError::new(
                "application_id",
                "application_mismatch",
                "Заявление не относится к этому прибору учета.",
            )]));
        }
    }

    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    let meter = tx
        .meter_for_update(meter_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let corrected = MeterCorrection {
        serial_number: serial.unwrap_or_else(|| meter.serial_number.clone()),
        installed_on: installed_on.unwrap_or_else(|| meter.installed_on.clone()),
        last_verification: last_verification.unwrap_or_else(|| meter.last_verification.clone()),
        next_verification: next_verification.unwrap_or_else(|| meter.next_verification.clone()),
    };
    if let (Some(last), Some(next)) = (&corrected.last_verification, &corrected.next_verification)
        && next < last
    {
        return Err(ApiError::Validation(vec![FieldError::new(
            "next_verification",
            "verification_order",
            "Дата следующей поверки не может быть раньше даты последней.",
        )]));
    }
    let changes = [
        (
            "serial_number",
            Some(meter.serial_number.as_str()),
            Some(corrected.serial_number.as_str()),
        ),
        (
            "installed_on",
            meter.installed_on.as_deref(),
            corrected.installed_on.as_deref(),
        ),
        (
            "last_verification",
            meter.last_verification.as_deref(),
            corrected.last_verification.as_deref(),
        ),
        (
            "next_verification",
            meter.next_verification.as_deref(),
            corrected.next_verification.as_deref(),
        ),
    ];
    for (field, old, new) in changes.iter().filter(|(_, old, new)| old != new) {
        tx.record_meter_change(
            meter_id,
            operator.id,
            request.application_id,
            field,
            *old,
            *new,
            now,
        )
        .await?;
    }
    tx.correct_meter(meter_id, &corrected, now).await?;
    tx.commit().await?;
    let meter = state
        .store
        .meter(meter_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let history = state.store.meter_changes(meter_id).await?;
    Ok((meter, history))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{clean_file_name, sniff};

    #[test]
    fn names_lose_their_paths_and_take_the_real_extension() {
        assert_eq!(clean_file_name("../../etc/passwd", "png"), "passwd.png");
        assert_eq!(clean_file_name("C:\\Users\\акт.JPG", "jpg"), "акт.jpg");
        assert_eq!(clean_file_name(".bashrc", "pdf"), "bashrc.pdf");
        assert_eq!(clean_file_name("", "png"), "файл.png");
        assert_eq!(clean_file_name("a\u{0}b\n.png", "png"), "ab.png");
    }

    proptest! {
        #[test]
        fn a_cleaned_name_is_never_a_path(raw in any::<String>(), ext in prop_oneof!["jpg", "png", "pdf"]) {
            let name = clean_file_name(&raw, &ext);
            prop_assert!(!name.contains(['/', '\\']), "{name:?}");
            prop_assert!(!name.starts_with('.'), "{name:?}");
            prop_assert!(!name.chars().any(char::is_control), "{name:?}");
            let suffix = format!(".{ext}");
            prop_assert!(name.ends_with(&suffix), "{name:?}");
            prop_assert!(name.chars().count() <= 91 + ext.len(), "{name:?}");
        }

        #[test]
        fn sniffing_never_panics_and_names_only_the_three_types(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Some((mime, _)) = sniff(&data) {
                prop_assert!(["image/jpeg", "image/png", "application/pdf"].contains(&mime));
            }
        }
    }
}
