//! The suites, one module each.

pub mod core;
pub mod ratelimit;
