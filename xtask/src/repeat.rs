//! `cargo xtask ci --repeat N`: runs the whole test suite (every test binary, the doc tests,
//! and so every conformance case, each its own test) N times and names each test whose
//! outcome changed between runs. A suite that cannot flake shows none; the report goes to
//! standard output and `target/repeat/report.md`, the output of each failing run (with the
//! failures' messages) to `target/repeat/round-N/`.
//!
//! The test binaries are built once (`cargo test --no-run`) and run directly, each from its
//! package's directory as cargo runs it; the doc tests go through `cargo test --doc`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::cargo;

/// One test executable: a name to report it by, where it is, where it runs.
struct Binary {
    name: String,
    exe: PathBuf,
    dir: PathBuf,
}

/// Outcome counts per test: `binary::test` → (`ok` | `FAILED` | `ignored`) → runs.
type Seen = BTreeMap<String, BTreeMap<String, usize>>;

/// Runs the suite `n` times; `Err` if any test's outcome changed, or failed every time.
pub(crate) fn repeat(root: &Path, n: usize) -> Result<(), String> {
    crate::services(root)?;
    let binaries = build(root)?;
    let mut seen = Seen::new();
    for round in 1..=n {
        let mut failed = 0;
        for binary in &binaries {
            let mut cmd = Command::new(&binary.exe);
            cmd.current_dir(&binary.dir)
                .env("CARGO_MANIFEST_DIR", &binary.dir);
            failed += record(&mut seen, &binary.name, &mut cmd, &failures(root, round))?;
        }
        let mut doc = cargo();
        doc.current_dir(root)
            .args(["test", "--doc", "--workspace", "--locked"]);
        failed += record(&mut seen, "doc", &mut doc, &failures(root, round))?;
        eprintln!(
            "repeat: round {round}/{n}: {} tests, {failed} failed",
            seen.len()
        );
    }
    count_missing(&mut seen, n);
    let report = report(&seen, n);
    #[allow(clippy::print_stdout)]
    {
        print!("{report}");
    }
    let dir = root.join("target").join("repeat");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("report.md"), &report).map_err(|e| e.to_string())?;
    let unsteady = seen.values().filter(|o| o.len() > 1).count();
    let broken = seen
        .values()
        .filter(|o| o.len() == 1 && o.contains_key("FAILED"))
        .count();
    if unsteady + broken > 0 {
        return Err(format!(
            "{unsteady} tests changed outcome, {broken} failed every time"
        ));
    }
    Ok(())
}

/// Builds the test binaries; each one's name, path and package directory.
fn build(root: &Path) -> Result<Vec<Binary>, String> {
    eprintln!("\n==> cargo test --no-run (the binaries to repeat)");
    let out = cargo()
        .current_dir(root)
        .args([
            "test",
            "--workspace",
            "--locked",
            "--no-run",
            "--message-format=json",
        ])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start cargo: {e}"))?;
    if !out.status.success() {
        return Err("cargo test --no-run failed".into());
    }
    let mut binaries = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let (Some(exe), Some(manifest)) =
            (msg["executable"].as_str(), msg["manifest_path"].as_str())
        else {
            continue;
        };
        if msg["profile"]["test"] != Value::Bool(true) {
            continue;
        }
        let dir = Path::new(manifest)
            .parent()
            .map_or_else(|| root.to_owned(), Path::to_owned);
        // The package by its directory (each package here has its own).
        let package = dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let target = msg["target"]["name"].as_str().unwrap_or_default();
        let kind = msg["target"]["kind"][0].as_str().unwrap_or_default();
        binaries.push(Binary {
            name: format!("{package}/{kind}:{target}"),
            exe: PathBuf::from(exe),
            dir,
        });
    }
    Ok(binaries)
}

/// Where a round's failing output is kept: `target/repeat/round-N/`.
fn failures(root: &Path, round: usize) -> PathBuf {
    root.join("target")
        .join("repeat")
        .join(format!("round-{round}"))
}

/// Runs `cmd` (a libtest binary, or cargo test), adds each `test NAME ... OUTCOME` line to
/// `seen` under `binary`; how many failed. The output of a run with failures is kept in
/// `keep/BINARY.txt`, for the reasons.
fn record(seen: &mut Seen, binary: &str, cmd: &mut Command, keep: &Path) -> Result<usize, String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("{binary}: cannot start: {e}"))?;
    let mut failed = 0;
    let mut any = false;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((name, outcome)) = parse(line) else {
            continue;
        };
        any = true;
        failed += usize::from(outcome == "FAILED");
        *seen
            .entry(format!("{binary}::{name}"))
            .or_default()
            .entry(outcome.to_owned())
            .or_default() += 1;
    }
    if failed > 0 || !out.status.success() {
        let name: String = binary
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let _ = std::fs::create_dir_all(keep);
        let _ = std::fs::write(keep.join(format!("{name}.txt")), &out.stdout);
    }
    if !out.status.success() && !any {
        // It failed before running a test: count that as one failing "test".
        *seen
            .entry(format!("{binary}::(did not run)"))
            .or_default()
            .entry("FAILED".into())
            .or_default() += 1;
        failed += 1;
    }
    Ok(failed)
}

/// `test NAME ... ok` (libtest, libtest-mimic's padding and `[kind]` included) → (name, ok).
fn parse(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("test ")?;
    let (name, outcome) = rest.rsplit_once(" ... ")?;
    let outcome = outcome.trim();
    matches!(outcome, "ok" | "FAILED" | "ignored").then(|| (name.trim(), outcome))
}

/// A test that did not run in every round changed outcome too: it went missing (a name that
/// differs between runs, a binary that stopped early). Counted as `missing`.
fn count_missing(seen: &mut Seen, n: usize) {
    for outcomes in seen.values_mut() {
        let ran: usize = outcomes.values().sum();
        if ran < n {
            outcomes.insert("missing".into(), n - ran);
        }
    }
}

fn report(seen: &Seen, n: usize) -> String {
    let mut out = format!("# cargo xtask ci --repeat {n}\n\n");
    let changed: Vec<_> = seen.iter().filter(|(_, o)| o.len() > 1).collect();
    let always_failed: Vec<_> = seen
        .iter()
        .filter(|(_, o)| o.len() == 1 && o.contains_key("FAILED"))
        .collect();
    let _ = writeln!(
        out,
        "{} tests, each run {n} times: {} changed outcome, {} failed every time.\n",
        seen.len(),
        changed.len(),
        always_failed.len()
    );
    for (title, list) in [
        ("Changed outcome", &changed),
        ("Failed every time", &always_failed),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "## {title}\n");
        for (name, outcomes) in list.iter() {
            let counts: Vec<String> = outcomes.iter().map(|(o, c)| format!("{o} {c}")).collect();
            let _ = writeln!(out, "- `{name}`: {}", counts.join(", "));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libtest_and_libtest_mimic_lines() {
        assert_eq!(parse("test a::b ... ok"), Some(("a::b", "ok")));
        assert_eq!(
            parse("test auth-tower::x: 401 ... y                 ... FAILED"),
            Some(("auth-tower::x: 401 ... y", "FAILED"))
        );
        assert_eq!(
            parse("test [skipped] auth-jwt::PyJWT signs     ... ignored"),
            Some(("[skipped] auth-jwt::PyJWT signs", "ignored"))
        );
        assert_eq!(parse("test result: ok. 3 passed"), None);
        assert_eq!(parse("running 3 tests"), None);
    }

    #[test]
    fn names_what_changed() {
        let mut seen = Seen::new();
        seen.entry("b::steady".into())
            .or_default()
            .insert("ok".into(), 3);
        let flaky = seen.entry("b::flaky".into()).or_default();
        flaky.insert("ok".into(), 2);
        flaky.insert("FAILED".into(), 1);
        let r = report(&seen, 3);
        assert!(r.contains("1 changed outcome"), "{r}");
        assert!(r.contains("`b::flaky`: FAILED 1, ok 2"), "{r}");
        assert!(!r.contains("steady`"), "{r}");
    }

    #[test]
    fn a_test_missing_from_a_round_changed_outcome() {
        let mut seen = Seen::new();
        seen.entry("b::steady".into())
            .or_default()
            .insert("ok".into(), 3);
        seen.entry("b::now_and_then".into())
            .or_default()
            .insert("ok".into(), 2);
        count_missing(&mut seen, 3);
        let r = report(&seen, 3);
        assert!(r.contains("1 changed outcome"), "{r}");
        assert!(r.contains("`b::now_and_then`: missing 1, ok 2"), "{r}");
        assert!(!r.contains("steady`"), "{r}");
    }
}
