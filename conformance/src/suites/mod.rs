//! The suites, one module each.

pub mod core;
pub mod oauth2;
