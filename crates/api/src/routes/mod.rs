//! HTTP handlers: each parses its input, calls a service and maps the result to a DTO.

pub mod accounts;
pub mod applications;
pub mod auth;
mod body;
pub mod integration;
pub mod me;
pub mod operator;
pub mod spa;
pub mod system;

pub use body::JsonBody;

use actix_web::web;

use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig, spa_dir: Option<&std::path::Path>) {
    system::configure(cfg);
    spa::configure(cfg, spa_dir);
    cfg.service(
        web::scope("/api/v1")
            .configure(system::configure_api)
            .configure(auth::configure)
            .configure(me::configure)
            .configure(accounts::configure)
            .configure(integration::configure)
            .configure(applications::configure)
            .configure(operator::configure)
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(ApiError::NotFound)
            })),
    );
}

// Calendar dates travel as ISO 8601 `YYYY-MM-DD`.
time::serde::format_description!(pub iso_date, Date, "[year]-[month]-[day]");
