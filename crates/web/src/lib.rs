//! «Личный кабинет» in the browser: a Leptos client-side-rendered SPA that calls the JSON API
//! under `/api/v1` and checks every form with the same `domain` rules as the server.
//!
//! The page logic (form → validation → request body, problem → messages) lives in [`forms`]
//! and [`api`]'s types, plain Rust tested natively (`cargo test -p web`); the rest is views.

pub mod api;
mod app;
mod components;
pub mod forms;
mod pages;
mod session;

pub use app::App;

/// Entry point called by the generated JS glue once the WebAssembly is loaded.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(App);
}
