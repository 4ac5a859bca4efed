//! The Личный кабинет server: JSON API under `/api/v1`, the SPA, docs and probes.

pub mod app;
pub mod applications;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod error;
pub mod identity;
pub mod import;
pub mod integration;
pub mod janitor;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod os;
pub mod readings;
pub mod routes;
pub mod store;
pub mod telemetry;
