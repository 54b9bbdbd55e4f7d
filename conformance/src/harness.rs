//! Cases, suites, and running them.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::services::{self, Service};

/// What a check returns: `Err` says what was wrong.
pub type CheckResult = Result<(), String>;

/// One check of one requirement.
pub struct Case {
    /// Short name of what is checked.
    pub name: &'static str,
    /// The standard and section (or design rule) it checks.
    pub section: &'static str,
    /// The services it cannot run without.
    pub needs: &'static [Service],
    run: Box<dyn Fn() -> CheckResult + Send + Sync>,
}

impl Case {
    /// Whether it can run here: `Err` names the missing service and why.
    ///
    /// # Errors
    ///
    /// The first missing service's name and reason.
    pub fn available(&self) -> Result<(), String> {
        for service in self.needs {
            service
                .probe()
                .map_err(|why| format!("needs {}: {why}", service.name()))?;
        }
        Ok(())
    }

    /// Runs it: its outcome (a panic is a failure, not an abort), skipped if a service it
    /// needs is missing, or failed then if [`services::required`].
    pub fn run(&self) -> Outcome {
        if let Err(why) = self.available() {
            return if services::required() {
                Outcome::Fail(format!("{why} (AUTH_RS_REQUIRE_SERVICES=1)"))
            } else {
                Outcome::Skip(why)
            };
        }
        match std::panic::catch_unwind(AssertUnwindSafe(|| (self.run)())) {
            Ok(Ok(())) => Outcome::Pass,
            Ok(Err(why)) => Outcome::Fail(why),
            Err(panic) => Outcome::Fail(format!("panicked: {}", panic_message(&panic))),
        }
    }
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .field("section", &self.section)
            .finish_non_exhaustive()
    }
}

/// A named list of cases, one per crate or concern.
#[derive(Debug)]
pub struct Suite {
    /// The suite's name, usually the crate it checks.
    pub name: &'static str,
    /// The cases.
    pub cases: Vec<Case>,
    /// What every case added with [`Suite::case`] needs.
    needs: &'static [Service],
}

impl Suite {
    /// An empty suite.
    pub fn new(name: &'static str) -> Self {
        Self::needing(name, &[])
    }

    /// An empty suite whose every case needs `needs` (a suite about a database).
    pub fn needing(name: &'static str, needs: &'static [Service]) -> Self {
        Self {
            name,
            cases: Vec::new(),
            needs,
        }
    }

    /// Adds a case.
    pub fn case(
        &mut self,
        name: &'static str,
        section: &'static str,
        run: impl Fn() -> CheckResult + Send + Sync + 'static,
    ) -> &mut Self {
        let needs = self.needs;
        self.case_needing(needs, name, section, run)
    }

    /// Adds a case that cannot run without `needs`.
    pub fn case_needing(
        &mut self,
        needs: &'static [Service],
        name: &'static str,
        section: &'static str,
        run: impl Fn() -> CheckResult + Send + Sync + 'static,
    ) -> &mut Self {
        self.cases.push(Case {
            name,
            section,
            needs,
            run: Box::new(run),
        });
        self
    }

    /// Runs every case, in order.
    pub fn run(&self) -> Vec<CaseResult> {
        self.cases
            .iter()
            .map(|case| {
                let start = Instant::now();
                let outcome = case.run();
                CaseResult {
                    suite: self.name,
                    case: case.name,
                    section: case.section,
                    outcome,
                    elapsed: start.elapsed(),
                }
            })
            .collect()
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".to_owned())
}

/// Pass, fail, or skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "detail", rename_all = "lowercase")]
#[non_exhaustive]
pub enum Outcome {
    /// The case held.
    Pass,
    /// The case failed, and why.
    Fail(String),
    /// The case could not run here (a service it needs is missing), and why.
    Skip(String),
}

/// The result of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// The suite.
    pub suite: &'static str,
    /// The case.
    pub case: &'static str,
    /// The section it checks.
    pub section: &'static str,
    /// Pass, fail or skip.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// How long it took.
    #[serde(skip)]
    pub elapsed: Duration,
}

impl CaseResult {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Pass
    }

    /// Whether the case failed (skipped is neither passed nor failed).
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Fail(_))
    }
}

/// Fails with `why` unless `cond`.
///
/// # Errors
///
/// `why` when `cond` is false.
pub fn ensure(cond: bool, why: impl FnOnce() -> String) -> CheckResult {
    if cond { Ok(()) } else { Err(why()) }
}

/// Fails unless `got == want`, showing both.
///
/// # Errors
///
/// A message with both values when they differ.
#[track_caller]
pub fn ensure_eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> CheckResult {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

/// Runs a proptest property inside a case, with `cases` random inputs; a failure reports the
/// minimal counterexample.
///
/// # Errors
///
/// The shrunk failing input and its message.
pub fn check<S, F>(cases: u32, strategy: S, test: F) -> CheckResult
where
    S: proptest::strategy::Strategy,
    S::Value: std::fmt::Debug,
    F: Fn(S::Value) -> Result<(), proptest::test_runner::TestCaseError>,
{
    let cases = std::env::var("CONFORMANCE_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    let config = proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    runner.run(&strategy, test).map_err(|e| e.to_string())
}

/// Runs a future to completion on a fresh multi-threaded runtime (cases are synchronous).
///
/// # Panics
///
/// If the runtime cannot be built, which only happens when the OS refuses threads.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

/// `s` with its first character replaced by a different one (`x`, or `y` where it already
/// was `x`): a value certain to differ from `s`, for the negative twin of a case. Never
/// replace with a fixed character, which equals a random first character one time in 64.
///
/// # Panics
///
/// If `s` is empty: there is nothing to change.
pub fn altered(s: &str) -> String {
    let mut chars = s.chars();
    let first = chars.next().expect("altered: an empty string");
    let other = if first == 'x' { 'y' } else { 'x' };
    std::iter::once(other).chain(chars).collect()
}

#[cfg(test)]
mod tests {
    use super::altered;

    #[test]
    fn altered_always_differs() {
        for s in ["x", "y", "xyz", "abc", "é", "xx"] {
            let a = altered(s);
            assert_ne!(a, s);
            assert_eq!(a.chars().count(), s.chars().count());
            assert_eq!(
                a.chars().skip(1).collect::<String>(),
                s.chars().skip(1).collect::<String>()
            );
        }
    }
}
