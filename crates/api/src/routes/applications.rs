//! `/api/v1/meters/{id}/applications` and `/api/v1/applications*`: a customer's applications
//! about meter data, with photos or scans (F6).

use actix_multipart::{Multipart, MultipartError};
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use futures_util::StreamExt;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::applications::{self, MAX_FILE_BYTES, MAX_FILES, UploadedFile};
use crate::auth::CurrentUser;
use crate::error::{ApiError, FieldError, Problem};
use crate::routes::me::timestamp;
use crate::store::{ApplicationRecord, AttachmentInfo, Role};

/// The text field is at most 4000 characters: up to 4 bytes each, plus line breaks.
const MAX_TEXT_BYTES: usize = 4000 * 4 + 1024;

/// How long the form may send nothing before it is given up. A slow phone keeps sending and is
/// never cut off; a body that stops (or ends inside a boundary, where the multipart parser
/// waits for more) would otherwise hold one of the upload slots for good.
const FORM_IDLE: std::time::Duration = std::time::Duration::from_secs(15);

/// The next item of a multipart stream, or an error when none comes within `FORM_IDLE`.
async fn next_within<S: futures_util::Stream + Unpin>(
    stream: &mut S,
) -> Result<Option<S::Item>, ApiError> {
    tokio::time::timeout(FORM_IDLE, stream.next())
        .await
        .map_err(|_| {
            ApiError::bad_request(
                "incomplete_form",
                "Форма заявления пришла не полностью. Отправьте заявление ещё раз.",
            )
        })
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/meters/{meter_id}/applications").post(file_application))
        .service(web::resource("/applications").get(list_applications))
        .service(web::resource("/applications/{id}").get(get_application))
        .service(
            web::resource("/applications/{id}/attachments/{attachment_id}")
                .get(download_attachment),
        );
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentMeta {
    pub id: i64,
    /// The name the file was sent with, cleaned; for display only.
    #[schema(example = "акт.jpg")]
    pub file_name: String,
    /// `image/jpeg`, `image/png` or `application/pdf`, from the file's content.
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// Where to download it.
    #[schema(example = "/api/v1/applications/1/attachments/1")]
    pub url: String,
}

impl From<AttachmentInfo> for AttachmentMeta {
    fn from(info: AttachmentInfo) -> Self {
        Self {
            url: format!(
                "/api/v1/applications/{}/attachments/{}",
                info.application_id, info.id
            ),
            id: info.id,
            file_name: info.file_name,
            content_type: info.content_type,
            size: info.size,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationInfo {
    pub id: i64,
    /// `new`, `in_progress`, `answered` or `closed`.
    #[schema(example = "new")]
    pub status: String,
    #[schema(
        example = "Добрый день. Неверно указан номер ПУ ГВС2. Актуальный - 28#####. Фото акта прилагаю."
    )]
    pub text: String,
    pub meter_id: i64,
    #[schema(example = "ГВС2")]
    pub meter_name: String,
    #[schema(example = "23_8995270")]
    pub serial_number: String,
    #[schema(example = "720000032")]
    pub account_number: String,
    /// The operator's answer, once there is one.
    pub answer: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub files: Vec<AttachmentMeta>,
}

impl ApplicationInfo {
    pub fn new(record: ApplicationRecord, files: Vec<AttachmentInfo>) -> Self {
        Self {
            id: record.id,
            status: record.status,
            text: record.text,
            meter_id: record.meter_id,
            meter_name: record.meter_name,
            serial_number: record.serial_number,
            account_number: record.account_number,
            answer: record.answer,
            answered_at: record.answered_at.map(timestamp),
            created_at: timestamp(record.created_at),
            updated_at: timestamp(record.updated_at),
            files: files.into_iter().map(AttachmentMeta::from).collect(),
        }
    }
}

/// The multipart form of a new application, as documented (the handler reads it as a stream).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ApplicationForm {
    /// «Опишите вашу проблему…»: 1 to 4000 characters.
    text: String,
    /// «ДОБАВИТЬ ФАЙЛ»: up to 5 JPEG, PNG or PDF files of at most 10 MB each.
    #[schema(value_type = Vec<String>, format = Binary)]
    files: Vec<Vec<u8>>,
}

fn multipart_error(error: MultipartError) -> ApiError {
    match error {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible
        | MultipartError::BoundaryMissing => ApiError::UnsupportedMediaType {
            detail: "Отправьте заявление как multipart/form-data с полями text и files.".into(),
        },
        other => {
            let why = match other {
                MultipartError::Incomplete | MultipartError::Payload(_) => {
                    "она пришла не целиком, отправьте её ещё раз"
                }
                MultipartError::Nested => "вложенные формы не поддерживаются",
                MultipartError::DuplicateField(_) => "поле повторяется",
                _ => "части формы оформлены неверно",
            };
            ApiError::bad_request(
                "malformed_multipart",
                format!("Не удалось прочитать форму заявления: {why}."),
            )
        }
    }
}

/// Reads a field into memory, refusing it as soon as it passes `limit` bytes.
async fn read_field(
    field: &mut actix_multipart::Field,
    limit: usize,
    too_large: impl Fn() -> ApiError,
) -> Result<Vec<u8>, ApiError> {
    let mut chunks = Vec::new();
    let mut size = 0;
    while let Some(chunk) = next_within(field).await? {
        let chunk = chunk.map_err(multipart_error)?;
        size += chunk.len();
        if size > limit {
            return Err(too_large());
        }
        chunks.push(chunk);
    }
    // One allocation of the exact size: a growing vector would copy a 10 MB file several times.
    let mut data = Vec::with_capacity(size);
    for chunk in chunks {
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}

/// The text and files of the form, each checked as it streams in.
async fn read_form(mut payload: Multipart) -> Result<(String, Vec<UploadedFile>), ApiError> {
    let mut text: Option<String> = None;
    let mut files = Vec::new();
    while let Some(field) = next_within(&mut payload).await? {
        let mut field = field.map_err(multipart_error)?;
        match field.name().unwrap_or_default() {
            "text" => {
                let bytes = read_field(&mut field, MAX_TEXT_BYTES, || {
                    ApiError::Validation(vec![FieldError::new(
                        "text",
                        "application_text_too_long",
                        "Текст заявления не может быть длиннее 4000 символов.",
                    )])
                })
                .await?;
                let value = String::from_utf8(bytes).map_err(|_| {
                    ApiError::Validation(vec![FieldError::new(
                        "text",
                        "invalid_encoding",
                        "Текст заявления должен быть в кодировке UTF-8.",
                    )])
                })?;
                text = Some(value);
            }
            "files" | "files[]" | "file" => {
                if files.len() == MAX_FILES {
                    return Err(ApiError::Validation(vec![FieldError::new(
                        "files",
                        "too_many_files",
                        format!("Можно приложить не более {MAX_FILES} файлов."),
                    )]));
                }
                let name = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .unwrap_or_default()
                    .to_owned();
                let data = read_field(&mut field, MAX_FILE_BYTES, || ApiError::PayloadTooLarge {
                    detail: format!(
                        "Файл «{}» больше {} МБ.",
                        applications::clean_file_name(&name, "").trim_end_matches('.'),
                        MAX_FILE_BYTES / 1024 / 1024
                    ),
                })
                .await?;
                if data.is_empty() && name.is_empty() {
                    continue; // an empty file input of a browser form
                }
                let Some((content_type, extension)) = applications::sniff(&data) else {
                    return Err(ApiError::UnsupportedMediaType {
                        detail: "Можно приложить только фото или скан: JPEG, PNG или PDF.".into(),
                    });
                };
                files.push(UploadedFile {
                    file_name: applications::clean_file_name(&name, extension),
                    content_type,
                    data,
                });
            }
            other => {
                return Err(ApiError::Validation(vec![FieldError::new(
                    other,
                    "unknown_field",
                    "Неизвестное поле формы: ожидаются text и files.",
                )]));
            }
        }
    }
    Ok((text.unwrap_or_default(), files))
}

/// Each application built with its files by `build`, the files of all of them read at once.
pub async fn with_files<T>(
    state: &AppState,
    records: Vec<ApplicationRecord>,
    build: impl Fn(ApplicationRecord, Vec<AttachmentInfo>) -> T,
) -> Result<Vec<T>, ApiError> {
    let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
    let mut files: std::collections::HashMap<i64, Vec<AttachmentInfo>> =
        std::collections::HashMap::new();
    for file in state.store.attachments_of(&ids).await? {
        files.entry(file.application_id).or_default().push(file);
    }
    Ok(records
        .into_iter()
        .map(|record| {
            let own = files.remove(&record.id).unwrap_or_default();
            build(record, own)
        })
        .collect())
}

/// Files an application about a meter («ОТПРАВИТЬ»). A copy of the text goes to the user's
/// e-mail; the operator's answer will show in the cabinet and come by e-mail too.
#[utoipa::path(
    post, path = "/meters/{meter_id}/applications", tag = "applications",
    security(("bearer" = [])),
    params(("meter_id" = i64, Path)),
    request_body(content = ApplicationForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = ApplicationInfo),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "A file over 10 MB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart, or a file that is not JPEG, PNG or PDF", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or too long text, more than 5 files, unknown fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "More applications this hour than `RATE_LIMIT_APPLICATIONS_PER_USER`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn file_application(
    state: web::Data<AppState>,
    current: CurrentUser,
    path: web::Path<i64>,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let meter_id = path.into_inner();
    // A stranger learns nothing about the meter, however the form looks.
    state
        .store
        .meter_of_user(current.user.id, meter_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    // Held until the files are stored: the bytes of the uploads that wait stay unread.
    let _permit = state
        .uploads
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let (text, files) = read_form(payload).await?;
    let (record, attachments) =
        applications::file(&state, &current.user, meter_id, &text, files).await?;
    Ok(HttpResponse::Created().json(ApplicationInfo::new(record, attachments)))
}

/// «Мои заявления»: the user's applications, newest first, with answers and files.
#[utoipa::path(
    get, path = "/applications", tag = "applications",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<ApplicationInfo>), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
async fn list_applications(
    state: web::Data<AppState>,
    current: CurrentUser,
) -> Result<web::Json<Vec<ApplicationInfo>>, ApiError> {
    let records = state.store.applications_of_user(current.user.id).await?;
    Ok(web::Json(
        with_files(&state, records, ApplicationInfo::new).await?,
    ))
}

/// One of the user's own applications; operators open theirs through
/// `/operator/applications/{id}`.
#[utoipa::path(
    get, path = "/applications/{id}", tag = "applications",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = ApplicationInfo),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_application(
    state: web::Data<AppState>,
    current: CurrentUser,
    path: web::Path<i64>,
) -> Result<web::Json<ApplicationInfo>, ApiError> {
    let record = state
        .store
        .application_of_user(current.user.id, path.into_inner())
        .await?
        .ok_or(ApiError::NotFound)?;
    let files = state.store.attachments_of(&[record.id]).await?;
    Ok(web::Json(ApplicationInfo::new(record, files)))
}

/// The application if its owner or an operator asks; 404 for anyone else.
async fn visible_application(
    state: &AppState,
    current: &CurrentUser,
    id: i64,
) -> Result<ApplicationRecord, ApiError> {
    let record = match current.user.role() {
        Role::Operator => state.store.application(id).await?,
        Role::Customer => state.store.application_of_user(current.user.id, id).await?,
    };
    record.ok_or(ApiError::NotFound)
}

/// A file of an application, to its owner or an operator, as a download.
#[utoipa::path(
    get, path = "/applications/{id}/attachments/{attachment_id}", tag = "applications",
    security(("bearer" = [])),
    params(("id" = i64, Path), ("attachment_id" = i64, Path)),
    responses(
        (status = 200, description = "The file with its real type", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn download_attachment(
    state: web::Data<AppState>,
    current: CurrentUser,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, attachment_id) = path.into_inner();
    let record = visible_application(&state, &current, id).await?;
    let file = state
        .store
        .attachment(record.id, attachment_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let disposition = header::ContentDisposition {
        disposition: header::DispositionType::Attachment,
        parameters: vec![header::DispositionParam::FilenameExt(
            header::ExtendedValue {
                charset: header::Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: file.file_name.into_bytes(),
            },
        )],
    };
    Ok(HttpResponse::Ok()
        .content_type(file.content_type)
        .insert_header(disposition)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(file.data))
}
