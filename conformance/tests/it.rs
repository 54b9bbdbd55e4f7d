//! Every conformance suite as tests: `cargo test -p conformance`.

use conformance::{Suite, all_suites};

fn suite(name: &str) -> Suite {
    all_suites()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no suite {name}"))
}

#[track_caller]
fn assert_suite_passes(name: &str) {
    let results = suite(name).run();
    assert!(!results.is_empty(), "suite {name} has no cases");
    let failures: Vec<String> = results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| format!("{} ({}): {:?}", r.case, r.section, r.outcome))
        .collect();
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        name,
        failures.join("\n")
    );
}

/// One `#[test]` per suite; one line each, so parallel branches add suites without conflicts.
macro_rules! suite_tests {
    ($($test:ident => $suite:literal,)*) => {
        $(
            #[test]
            fn $test() {
                assert_suite_passes($suite);
            }
        )*
    };
}

suite_tests! {
    auth_core => "auth-core",
    auth_jwt => "auth-jwt",
    auth_oauth2 => "auth-oauth2",
    auth_ratelimit => "auth-ratelimit",
    auth_apikey => "auth-apikey",
    auth_apikey_postgres => "auth-apikey-postgres",
}
