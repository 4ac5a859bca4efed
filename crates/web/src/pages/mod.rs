//! One module per group of screens; each page is a component the router shows.

pub mod auth;
pub mod home;
pub mod links;
pub mod settings;
