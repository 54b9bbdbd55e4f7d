//! `cargo xtask fuzz [--time SECS] [TARGET]`: runs one or every cargo-fuzz target of `fuzz/`
//! for SECS seconds each (default 60) with cargo-fuzz on the nightly toolchain, and prints
//! each target's executions per second and coverage from libFuzzer's final lines.
//!
//! The committed corpus `fuzz/corpus/<target>/` is read as a seed; what libFuzzer adds goes to
//! a working corpus beside the build (`<fuzz target dir>/corpus/<target>/`), so a run leaves
//! the repository clean (minimise with `cargo fuzz cmin` before committing new inputs). The
//! builds go to `$FUZZ_TARGET_DIR`, else `target/fuzz`: never the stable target directory,
//! whose artifacts a nightly build would invalidate. Each run's log is
//! `<fuzz target dir>/logs/<target>.log`; a crash's input is under `fuzz/artifacts/<target>/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const USAGE: &str = "fuzz [--time SECS] [TARGET]";

/// What libFuzzer's last lines say about a run.
#[derive(Debug, Default, PartialEq)]
struct Stats {
    execs: Option<u64>,
    execs_per_sec: Option<u64>,
    cov: Option<u64>,
    ft: Option<u64>,
    corpus: Option<String>,
}

#[allow(clippy::print_stdout)] // the table is the command's output
pub(crate) fn fuzz(root: &Path, args: &[String]) -> Result<(), String> {
    let (secs, only) = parse_args(args)?;
    let nightly = |args: &[&str]| {
        rustup_cargo()
            .arg("+nightly")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !nightly(&["--version"]) {
        return Err(
            "fuzzing needs the nightly toolchain: rustup toolchain install nightly \
                    (the corpora still replay on stable: cargo test --manifest-path \
                    fuzz/Cargo.toml --lib)"
                .into(),
        );
    }
    if !nightly(&["fuzz", "--version"]) {
        return Err("fuzzing needs cargo-fuzz: cargo install cargo-fuzz --locked".into());
    }
    let all = targets(root)?;
    let chosen: Vec<String> = match only {
        Some(t) if all.contains(&t) => vec![t],
        Some(t) => {
            return Err(format!(
                "no fuzz target {t:?}; there are {}",
                all.join(", ")
            ));
        }
        None => all,
    };
    let target_dir = std::env::var_os("FUZZ_TARGET_DIR")
        .map_or_else(|| root.join("target").join("fuzz"), PathBuf::from);
    let fuzz_dir = root.join("fuzz");
    crate::run(
        &fuzz_dir,
        "cargo +nightly fuzz build",
        rustup_cargo()
            .args(["+nightly", "fuzz", "build"])
            .args(if chosen.len() == 1 { &chosen[..] } else { &[] })
            .env("CARGO_TARGET_DIR", &target_dir),
    )?;
    let mut rows = Vec::new();
    for name in &chosen {
        let work = target_dir.join("corpus").join(name);
        let logs = target_dir.join("logs");
        for dir in [&work, &logs] {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let log_path = logs.join(format!("{name}.log"));
        let log =
            std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        eprintln!("\n==> {name}: {secs} s (log: {})", log_path.display());
        let status = rustup_cargo()
            .args(["+nightly", "fuzz", "run", name])
            .arg(&work)
            .arg(fuzz_dir.join("corpus").join(name))
            .arg("--")
            .arg(format!("-max_total_time={secs}"))
            .args(["-print_final_stats=1", "-timeout=10"])
            .env("CARGO_TARGET_DIR", &target_dir)
            .current_dir(&fuzz_dir)
            .stdout(Stdio::null())
            .stderr(log)
            .status()
            .map_err(|e| format!("cargo fuzz run {name}: {e}"))?;
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let outcome = if status.success() {
            "no crash".to_owned()
        } else {
            crash_input(&text).map_or_else(
                || format!("FAILED ({status}), see the log"),
                |p| format!("CRASH: {p}"),
            )
        };
        rows.push((name.clone(), stats(&text), outcome));
    }
    println!(
        "\n{:<22} {:>12} {:>10} {:>8} {:>8}  {:<12} result",
        "target", "execs", "execs/s", "cov", "ft", "corpus"
    );
    let show = |n: Option<u64>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
    for (name, s, outcome) in &rows {
        println!(
            "{name:<22} {:>12} {:>10} {:>8} {:>8}  {:<12} {outcome}",
            show(s.execs),
            show(s.execs_per_sec),
            show(s.cov),
            show(s.ft),
            s.corpus.as_deref().unwrap_or("?"),
        );
    }
    let crashed = rows.iter().filter(|(_, _, o)| o != "no crash").count();
    if crashed == 0 {
        Ok(())
    } else {
        Err(format!("{crashed} target(s) crashed or failed"))
    }
}

/// `cargo` through rustup's proxy (so `+nightly` works), without the variables the stable
/// cargo running xtask set for its own toolchain.
fn rustup_cargo() -> Command {
    let mut cmd = Command::new("cargo");
    for var in [
        "RUSTUP_TOOLCHAIN",
        "CARGO",
        "RUSTC",
        "RUSTDOC",
        "RUSTC_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn parse_args(args: &[String]) -> Result<(u64, Option<String>), String> {
    let mut secs = 60;
    let mut target = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--time" => {
                secs = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .filter(|&s| s > 0)
                    .ok_or(format!("--time wants a number of seconds ({USAGE})"))?;
            }
            flag if flag.starts_with('-') => return Err(format!("unknown {flag:?} ({USAGE})")),
            name if target.is_none() => target = Some(name.to_owned()),
            extra => return Err(format!("unexpected {extra:?} ({USAGE})")),
        }
    }
    Ok((secs, target))
}

/// The targets: the files of `fuzz/fuzz_targets/`, sorted.
fn targets(root: &Path) -> Result<Vec<String>, String> {
    let dir = root.join("fuzz").join("fuzz_targets");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            let stem = path.file_stem()?.to_str()?.to_owned();
            path.extension().is_some_and(|x| x == "rs").then_some(stem)
        })
        .collect();
    names.sort();
    Ok(names)
}

/// The numbers of libFuzzer's last status line (`#N DONE cov: C ft: F corp: U/S ...`) and of
/// its final statistics (`stat::average_exec_per_sec: E`).
fn stats(log: &str) -> Stats {
    let mut s = Stats::default();
    let field = |words: &[&str], key: &str| {
        let i = words.iter().position(|w| *w == key)?;
        words.get(i + 1).map(|v| (*v).to_owned())
    };
    for line in log.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with('#') && words.contains(&"cov:") {
            s.cov = field(&words, "cov:").and_then(|v| v.parse().ok());
            s.ft = field(&words, "ft:").and_then(|v| v.parse().ok());
            s.corpus = field(&words, "corp:");
        } else if let Some(v) = line.strip_prefix("stat::average_exec_per_sec:") {
            s.execs_per_sec = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("stat::number_of_executed_units:") {
            s.execs = v.trim().parse().ok();
        }
    }
    s
}

/// Where libFuzzer wrote the input that crashed.
fn crash_input(log: &str) -> Option<&str> {
    log.lines()
        .find_map(|l| l.split_once("Test unit written to "))
        .map(|(_, path)| path.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libfuzzer_final_lines() {
        let log = "INFO: Seed: 1\n\
                   #2\tINITED cov: 10 ft: 11 corp: 1/1b exec/s: 0 rss: 30Mb\n\
                   #4096\tpulse  cov: 120 ft: 300 corp: 40/2Kb lim: 4 exec/s: 2048 rss: 31Mb\n\
                   #61234\tDONE   cov: 130 ft: 321 corp: 45/2500b lim: 8 exec/s: 1003 rss: 32Mb\n\
                   Done 61234 runs in 61 second(s)\n\
                   stat::number_of_executed_units: 61234\n\
                   stat::average_exec_per_sec:     1003\n\
                   stat::new_units_added:          44\n";
        assert_eq!(
            stats(log),
            Stats {
                execs: Some(61234),
                execs_per_sec: Some(1003),
                cov: Some(130),
                ft: Some(321),
                corpus: Some("45/2500b".into()),
            }
        );
        assert_eq!(stats(""), Stats::default());
    }

    #[test]
    fn finds_the_crashing_input() {
        let log = "==1== ERROR: libFuzzer: deadly signal\n\
                   artifact_prefix='/r/fuzz/artifacts/jwk/'; Test unit written to /r/fuzz/artifacts/jwk/crash-ab\n";
        assert_eq!(crash_input(log), Some("/r/fuzz/artifacts/jwk/crash-ab"));
        assert_eq!(crash_input("Done 5 runs"), None);
    }

    #[test]
    fn arguments() {
        let args = |a: &[&str]| parse_args(&a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(args(&[]), Ok((60, None)));
        assert_eq!(args(&["--time", "5", "jwk"]), Ok((5, Some("jwk".into()))));
        assert!(args(&["--time", "0"]).is_err());
        assert!(args(&["a", "b"]).is_err());
        assert!(args(&["--jobs"]).is_err());
    }

    #[test]
    fn every_target_is_found() {
        let names = targets(&crate::workspace_root()).unwrap_or_default();
        assert!(names.iter().any(|n| n == "jws_verify"), "{names:?}");
    }
}
