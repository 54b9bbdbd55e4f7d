//! The suites, one module each.

pub mod apikey;
pub mod apikey_postgres;
pub mod core;
pub mod jwt;
pub mod oauth2;
pub mod ratelimit;
pub mod tower;
