//! The OpenAPI document: every path, schema and error response. `openapi/openapi.json` is this
//! document, committed; `cargo xtask openapi` writes it and a test keeps them equal.

use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, Problem};
use crate::routes::{accounts, applications, auth, integration, me, operator, system};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Личный кабинет — API",
        version = "1.0.0",
        description = "The JSON API of the customer portal of a heat and hot-water utility. \
Errors are `application/problem+json` (RFC 9457) with a stable `code`, a Russian `detail` and \
per-field `errors`. Decimal quantities travel as strings, dates as ISO 8601. Customers and \
operators send `Authorization: Bearer <access_token>` from `/api/v1/auth/login`; integrators \
send `Authorization: Bearer <api key>`."
    ),
    paths(
        system::healthz,
        system::readyz,
        system::metrics,
        system::info,
        auth::register,
        auth::resend_confirmation,
        auth::confirm_email,
        auth::login,
        auth::refresh,
        auth::logout,
        auth::forgot_password,
        auth::reset_password,
        auth::confirm_email_change,
        me::get_me,
        me::patch_me,
        me::change_email,
        me::change_password,
        me::list_sessions,
        me::end_other_sessions,
        me::end_session,
        accounts::list_accounts,
        accounts::add_account,
        accounts::confirm_account,
        accounts::unlink_account,
        accounts::make_current,
        accounts::list_meters,
        accounts::list_readings,
        accounts::submit_reading,
        integration::upsert_accounts,
        integration::export_readings,
        integration::report_status,
        applications::file_application,
        applications::list_applications,
        applications::get_application,
        applications::download_attachment,
        operator::queue,
        operator::open,
        operator::take,
        operator::answer,
        operator::close,
        operator::meter,
        operator::correct_meter,
        operator::account,
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&Security, &ApiPrefix, &JsonBodyErrors, &InternalErrors, &SelfDescription),
    tags(
        (name = "system", description = "Probes, metrics and the branch's information"),
        (name = "auth", description = "Registration, sign-in, sessions and password recovery"),
        (name = "me", description = "The signed-in user's settings"),
        (name = "accounts", description = "Personal accounts (лицевые счета) of the signed-in user"),
        (name = "meters", description = "Meters and their readings"),
        (name = "integration", description = "Billing integration (API keys)"),
        (name = "applications", description = "Applications (заявления) about meters, with files"),
        (name = "operator", description = "The operators' console"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::builder().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Handlers are mounted under `/api/v1` (probes and docs at the root): the document shows the
/// full paths clients call.
struct ApiPrefix;

impl Modify for ApiPrefix {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        const ROOT: [&str; 3] = ["/healthz", "/readyz", "/metrics"];
        let paths = std::mem::take(&mut openapi.paths.paths);
        openapi.paths.paths = paths
            .into_iter()
            .map(|(path, item)| {
                let full = if ROOT.contains(&path.as_str()) {
                    path
                } else {
                    format!("/api/v1{path}")
                };
                (full, item)
            })
            .collect();
    }
}

/// Every JSON body can be malformed, too large, of another type or invalid, and the server answers
/// each case the same way on every operation, so the document says so here once.
struct JsonBodyErrors;

impl Modify for JsonBodyErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        const ERRORS: [(&str, &str); 4] = [
            ("400", "The body is not JSON"),
            ("413", "The body is too large"),
            ("415", "The body is not `application/json`"),
            (
                "422",
                "Missing, unknown or mistyped fields, or values the rules refuse",
            ),
        ];
        for item in openapi.paths.paths.values_mut() {
            for operation in operations_of(item) {
                if !takes_json(operation) {
                    continue;
                }
                for (status, description) in ERRORS {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| problem_response(description));
                }
            }
        }
    }
}

/// Any operation can fail inside the server; the answer is a problem that reveals nothing more.
struct InternalErrors;

impl Modify for InternalErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in operations_of(item) {
                operation
                    .responses
                    .responses
                    .entry("500".to_owned())
                    .or_insert_with(|| {
                        problem_response("An unexpected error (nothing internal is shown)")
                    });
            }
        }
    }
}

/// The operations of a path, whatever their methods.
fn operations_of(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

fn problem_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
        .build()
        .into()
}

/// The document itself and the page that shows it, both served by the server at the root.
struct SelfDescription;

impl Modify for SelfDescription {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let page = |summary: &str, content_type: &str, description: &str| {
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("system")
                    .summary(Some(summary))
                    .response(
                        "200",
                        ResponseBuilder::new()
                            .description(description)
                            .content(content_type, Content::new(None::<Ref>))
                            .build(),
                    )
                    .build(),
            )
        };
        openapi.paths.paths.insert(
            "/openapi.json".to_owned(),
            page(
                "This document (OpenAPI 3.1), as committed in `openapi/openapi.json`",
                "application/json",
                "The OpenAPI document",
            ),
        );
        openapi.paths.paths.insert(
            "/docs".to_owned(),
            page(
                "Interactive API documentation (Swagger UI, served by the server, no CDN)",
                "text/html",
                "The documentation page",
            ),
        );
    }
}

fn takes_json(operation: &Operation) -> bool {
    matches!(&operation.request_body, Some(RefOr::T(body)) if body.content.contains_key("application/json"))
}

/// The document as committed: pretty JSON with a final newline.
pub fn document() -> String {
    let mut json = ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    json.push('\n');
    json
}
