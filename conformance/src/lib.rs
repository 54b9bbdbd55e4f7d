//! The auth-rs conformance harness.
//!
//! Each suite is a list of [`Case`]s: a name, the section of the standard it checks, and a
//! check that returns `Ok(())` or says what was wrong. The same cases run in two ways:
//! `cargo xtask conformance` prints them as one table and writes the report under
//! `target/conformance/`, and `cargo test -p conformance` runs them as tests.
//!
//! Property tests run inside cases through proptest's `TestRunner`, so a failing property is a
//! failing row with its minimal counterexample.

pub mod harness;
pub mod report;
pub mod services;
pub mod suites;

pub use harness::{Case, CaseResult, Outcome, Suite, check, ensure, ensure_eq};
pub use report::Report;
pub use services::Service;

/// Every suite, in report order.
pub fn all_suites() -> Vec<Suite> {
    vec![
        suites::core::suite(),
        suites::jwt::suite(),
        suites::oauth2::suite(),
        suites::ratelimit::suite(),
        suites::tower::suite(),
        suites::apikey::suite(),
        suites::apikey_postgres::suite(),
    ]
}
