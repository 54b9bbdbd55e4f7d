//! Every conformance case as its own test, named `suite::case`: `cargo test -p conformance`
//! runs them in parallel, filters them by name, and lists each one's outcome. A case whose
//! service (Redis, PostgreSQL, the Node and Python peers) is missing is reported as ignored
//! with the reason on standard error, and the run stays green; with
//! `AUTH_RS_REQUIRE_SERVICES=1` (as `.ci/run` sets) it fails instead.

use std::sync::Arc;

use conformance::{Outcome, Suite, all_suites, services};
use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for suite in all_suites() {
        let suite = Arc::new(suite);
        for index in 0..suite.cases.len() {
            trials.push(trial(&suite, index));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

fn trial(suite: &Arc<Suite>, index: usize) -> Trial {
    let case = &suite.cases[index];
    let name = format!("{}::{}", suite.name, case.name);
    if let Err(why) = case.available()
        && !services::required()
    {
        eprintln!("skipped {name}: {why}");
        return Trial::test(name, || Ok(()))
            .with_ignored_flag(true)
            .with_kind("skipped");
    }
    let suite = Arc::clone(suite);
    Trial::test(name, move || match suite.cases[index].run() {
        Outcome::Pass => Ok(()),
        Outcome::Fail(why) | Outcome::Skip(why) => Err(Failed::from(why)),
        other => Err(Failed::from(format!("{other:?}"))),
    })
}
