//! The suites, one module each.

pub mod apikey;
pub mod core;
