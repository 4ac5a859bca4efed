//! The built SPA: hashed assets cached for a year, `index.html` for every client-side route.

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::app::AppState;
use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig, spa_dir: Option<&std::path::Path>) {
    let Some(dir) = spa_dir.filter(|dir| dir.join("assets").is_dir()) else {
        return;
    };
    cfg.service(
        web::scope("/assets")
            .wrap(
                DefaultHeaders::new()
                    .add((header::CACHE_CONTROL, "public, max-age=31536000, immutable")),
            )
            .service(actix_files::Files::new("", dir.join("assets"))),
    );
}

pub async fn index(_request: &HttpRequest, state: &AppState) -> Result<HttpResponse, ApiError> {
    let Some(dir) = &state.config.spa_dir else {
        return Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(
            "<!DOCTYPE html><html lang=\"ru\"><meta charset=\"utf-8\"><title>Личный кабинет</title>\
             <p>Интерфейс личного кабинета не собран: выполните <code>cargo xtask web</code>. \
             API работает, документация: <a href=\"/docs/\">/docs</a>.</p></html>",
        ));
    };
    let html = tokio::fs::read(dir.join("index.html"))
        .await
        .map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(html))
}
