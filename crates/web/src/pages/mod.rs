//! One module per group of screens; each page is a component the router shows.

pub mod accounts;
pub mod applications;
pub mod auth;
pub mod common;
pub mod home;
pub mod links;
pub mod meters;
pub mod operator;
pub mod readings;
pub mod settings;
