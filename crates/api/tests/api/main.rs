//! API tests: each starts the real server on a random port with a fresh database (SQLite, or
//! PostgreSQL when `TEST_DATABASE_URL` is set) and talks to it over HTTP.

mod applications;
mod helpers;

mod identity;
mod import;
mod integration;
mod limits;
mod multipart;
mod openapi;
mod readings;
mod sessions;
mod smtp;
mod store;
mod system;
mod tokens;
