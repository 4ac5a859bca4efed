//! The built SPA: hashed assets cached for a year, `index.html` for every client-side route.
//!
//! `cargo xtask web` writes each asset also precompressed at the highest levels (`.br`, `.gz`);
//! a browser that accepts one of them gets it as is (the `Compress` middleware leaves a response
//! with `Content-Encoding` alone), which is a quarter smaller than compressing on the fly.

use std::path::{Path, PathBuf};

use actix_files::NamedFile;
use actix_web::http::header::{self, ContentEncoding, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, guard, web};

use crate::app::AppState;
use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig, spa_dir: Option<&std::path::Path>) {
    let Some(dir) = spa_dir.filter(|dir| dir.join("assets").is_dir()) else {
        return;
    };
    let assets = dir.join("assets");
    cfg.service(
        web::scope("/assets")
            .wrap(
                DefaultHeaders::new()
                    .add((header::CACHE_CONTROL, "public, max-age=31536000, immutable")),
            )
            .route(
                "/{name:.*}",
                web::route()
                    .guard(guard::Any(guard::Get()).or(guard::Head()))
                    .to(move |request: HttpRequest, name: web::Path<String>| {
                        asset(assets.clone(), request, name.into_inner())
                    }),
            ),
    );
}

/// One asset, precompressed when the browser takes it.
async fn asset(
    assets: PathBuf,
    request: HttpRequest,
    name: String,
) -> Result<HttpResponse, ApiError> {
    if !is_safe_asset_name(&name) {
        return Err(ApiError::NotFound);
    }
    let accepted = request
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    for (suffix, encoding) in [
        (".br", ContentEncoding::Brotli),
        (".gz", ContentEncoding::Gzip),
    ] {
        if !accepts(accepted, encoding.as_str()) {
            continue;
        }
        let Ok(file) = NamedFile::open_async(assets.join(format!("{name}{suffix}"))).await else {
            continue;
        };
        let mut response = file
            .set_content_type(mime_of(&name))
            .set_content_encoding(encoding)
            .disable_content_disposition()
            .into_response(&request);
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        return Ok(response);
    }
    let file = NamedFile::open_async(assets.join(&name))
        .await
        .map_err(|_| ApiError::NotFound)?;
    Ok(file.disable_content_disposition().into_response(&request))
}

/// Asset names are plain relative paths (`web-<hash>.js`, `snippets/<crate>/inline0.js`):
/// nothing hidden, no `..`, no absolute paths.
fn is_safe_asset_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('/').all(|segment| {
            !segment.is_empty()
                && !segment.starts_with('.')
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        })
}

/// Whether `Accept-Encoding` lists `coding` (or `*`) without `q=0`.
fn accepts(accept_encoding: &str, coding: &str) -> bool {
    accept_encoding.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        let refused = parts.any(|param| {
            param
                .strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q == 0.0)
        });
        (name.eq_ignore_ascii_case(coding) || name == "*") && !refused
    })
}

fn mime_of(name: &str) -> actix_web::mime::Mime {
    let extension = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    actix_files::file_extension_to_mime(extension)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_names_stay_inside_the_assets_directory() {
        for good in [
            "web-1db9d25f035dadb5.js",
            "web-b379df59c42e3070_bg.wasm",
            "snippets/leptos-1a2b/inline0.js",
        ] {
            assert!(is_safe_asset_name(good), "{good}");
        }
        for bad in [
            "",
            "../index.html",
            "a/../../etc/passwd",
            "/etc/passwd",
            ".hidden",
            "a//b",
            "a\\b",
            "web.js%00",
        ] {
            assert!(!is_safe_asset_name(bad), "{bad}");
        }
    }

    #[test]
    fn reads_accept_encoding() {
        let chromium = "gzip, deflate, br, zstd";
        assert!(accepts(chromium, "br"));
        assert!(accepts(chromium, "gzip"));
        assert!(!accepts("gzip, deflate", "br"));
        assert!(!accepts("br;q=0, gzip", "br"));
        assert!(accepts("BR;q=0.5", "br"));
        assert!(accepts("*", "gzip"));
        assert!(!accepts("", "gzip"));
        assert!(!accepts("identity", "gzip"));
    }

    #[test]
    fn knows_the_asset_types() {
        assert_eq!(mime_of("web-1_bg.wasm").essence_str(), "application/wasm");
        assert_eq!(mime_of("web-1.js").type_(), actix_web::mime::TEXT);
        assert_eq!(mime_of("style-1.css").essence_str(), "text/css");
    }
}
