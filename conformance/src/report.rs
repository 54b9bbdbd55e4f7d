//! The report: one table on the terminal, and the same as JSON and Markdown.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::harness::{CaseResult, Outcome};

/// All results of one run.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases that could not run here.
    pub skipped: usize,
    /// Every result, in run order.
    pub results: Vec<CaseResult>,
}

impl Report {
    /// A report of `results`.
    pub fn new(results: Vec<CaseResult>) -> Self {
        let passed = results.iter().filter(|r| r.passed()).count();
        let failed = results.iter().filter(|r| r.failed()).count();
        Self {
            passed,
            failed,
            skipped: results.len() - passed - failed,
            results,
        }
    }

    /// Whether no case failed (skipped cases do not fail a run; in CI,
    /// `AUTH_RS_REQUIRE_SERVICES=1` turns them into failures).
    pub fn all_passed(&self) -> bool {
        self.failed == 0
    }

    /// The table for a terminal, failures' reasons under their rows, and a closing count.
    pub fn to_text(&self) -> String {
        let w_suite = self
            .results
            .iter()
            .map(|r| r.suite.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let w_case = self
            .results
            .iter()
            .map(|r| r.case.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let w_sec = self
            .results
            .iter()
            .map(|r| r.section.len())
            .max()
            .unwrap_or(7)
            .max(7);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:w_suite$}  {:w_case$}  {:w_sec$}  result",
            "suite", "case", "section"
        );
        let _ = writeln!(
            out,
            "{}  {}  {}  ------",
            "-".repeat(w_suite),
            "-".repeat(w_case),
            "-".repeat(w_sec)
        );
        for r in &self.results {
            let (word, detail) = match &r.outcome {
                Outcome::Pass => ("pass", None),
                Outcome::Fail(why) => ("FAIL", Some(why)),
                Outcome::Skip(why) => ("skip", Some(why)),
            };
            let _ = writeln!(
                out,
                "{:w_suite$}  {:w_case$}  {:w_sec$}  {word}",
                r.suite, r.case, r.section
            );
            if let Some(why) = detail {
                for line in why.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        let _ = writeln!(
            out,
            "\nconformance: {} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        );
        out
    }

    /// The same table in Markdown.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("# auth-rs conformance report\n\n");
        let _ = writeln!(
            out,
            "{} passed, {} failed, {} skipped.\n",
            self.passed, self.failed, self.skipped
        );
        out.push_str("| suite | case | section | result |\n|---|---|---|---|\n");
        for r in &self.results {
            let result = match &r.outcome {
                Outcome::Pass => "pass".to_owned(),
                Outcome::Fail(why) => {
                    format!("**FAIL**: {}", why.replace('|', "\\|").replace('\n', " "))
                }
                Outcome::Skip(why) => {
                    format!("skipped: {}", why.replace('|', "\\|").replace('\n', " "))
                }
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                r.suite, r.case, r.section, result
            );
        }
        out
    }

    /// Writes `report.json` and `report.md` into `dir`.
    ///
    /// # Errors
    ///
    /// Any I/O error.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("report.json"), json)?;
        std::fs::write(dir.join("report.md"), self.to_markdown())
    }
}
