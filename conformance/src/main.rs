//! `conformance [--out DIR] [--suite NAME]...`: runs the suites, prints the table, writes the
//! report, and exits 1 if any case failed (2 on usage errors).

use std::path::PathBuf;
use std::process::ExitCode;

use conformance::{Report, all_suites};

fn main() -> ExitCode {
    let mut out = PathBuf::from("target/conformance");
    let mut only: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--out", Some(dir)) => out = PathBuf::from(dir),
            ("--suite", Some(name)) => only.push(name),
            _ => {
                eprintln!("usage: conformance [--out DIR] [--suite NAME]...");
                return ExitCode::from(2);
            }
        }
    }
    let suites: Vec<_> = all_suites()
        .into_iter()
        .filter(|s| only.is_empty() || only.iter().any(|o| o == s.name))
        .collect();
    if suites.is_empty() {
        eprintln!("no suite matches {only:?}");
        return ExitCode::from(2);
    }
    let results = suites.iter().flat_map(|s| s.run()).collect();
    let report = Report::new(results);
    #[allow(clippy::print_stdout)]
    {
        print!("{}", report.to_text());
    }
    if let Err(e) = report.write(&out) {
        eprintln!("cannot write the report to {}: {e}", out.display());
        return ExitCode::from(2);
    }
    eprintln!("report written to {}/report.{{json,md}}", out.display());
    if report.all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
