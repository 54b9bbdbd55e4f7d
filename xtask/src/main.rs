//! `cargo xtask`: the repository's automation, in Rust so it runs wherever cargo does.
//!
//! - `cargo xtask ci`: exactly what CI runs: fmt check, clippy (`-D warnings`), docs
//!   (`-D warnings`), the whole test suite, packaging, the MSRV build, and benches compiled.
//! - `cargo xtask ci --repeat N`: every test and conformance case N times; names each whose
//!   outcome changed (`repeat.rs`).
//! - `cargo xtask conformance`: builds and runs the conformance harness; prints the table and
//!   writes `target/conformance/report.{json,md}`; exits non-zero on any failure.
//! - `cargo xtask bench [--quick] [--record] [FILTER]`: runs the criterion suite, prints each
//!   hot path beside its peer and floor as ratios, writes `target/bench/`; see `bench.rs`.
//! - `cargo xtask load --url URL | --compare DIRECT_URL PROXIED_URL [--connections N]
//!   [--duration SECS] [--warmup SECS] [--threads N] [--header 'Name: value']... [--json]`:
//!   a closed-loop HTTP/1.1 load generator on loopback (requests/s, latency percentiles,
//!   statuses), to measure the `auth serve` gateway against its upstream; see `load.rs`.
//! - `cargo xtask release --dry-run [--verify]`: checks and packages every library crate in
//!   dependency order and prints what it would publish (name, version, size, files); uploads
//!   nothing. `ci` runs the same checks with `cargo package --no-verify`, and builds the
//!   library crates with the workspace's `rust-version` toolchain (`msrv.rs`); see `release.rs`.
//! - `cargo xtask fuzz [--time SECS] [TARGET]`: the cargo-fuzz targets of `fuzz/` on nightly,
//!   with executions per second and coverage; see `fuzz.rs`. (`ci` replays their corpora.)
//! - `cargo xtask services`: installs and starts what the tests need (Redis on loopback, the
//!   Python and Node interop peers); `ci` and `conformance` run it first.

mod bench;
mod fuzz;
mod load;
#[cfg(test)]
mod module_circles;
mod msrv;
mod release;
mod repeat;
#[cfg(test)]
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("ci") => match args.get(1..).unwrap_or_default() {
            [] => ci(&root),
            [flag, n] if flag == "--repeat" => match n.parse::<usize>() {
                Ok(n) if n > 0 => repeat::repeat(&root, n),
                _ => Err(format!("--repeat wants a number of runs, not {n:?}")),
            },
            other => Err(format!("ci: unexpected {other:?} (ci [--repeat N])")),
        },
        Some("conformance") => services(&root).and_then(|()| conformance(&root, &args[1..])),
        Some("services") => services(&root),
        Some("bench") => bench::bench(&root, &args[1..]),
        Some("load") => load::load(&args[1..]),
        Some("release") => release::release(&root, &args[1..]),
        Some("man") => man(&root),
        Some("fuzz") => fuzz::fuzz(&root, &args[1..]),
        Some("timing") => timing(&root, &args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 ci           fmt, clippy, docs, tests, benches compiled: what CI runs\n  \
                 ci --repeat N  run every test and conformance case N times, name the unsteady\n  \
                 conformance  run the conformance harness and write target/conformance/\n  \
                 services     install and start Redis and the interop peers (loopback only)\n  \
                 bench        run the benches [--quick] [--record] [FILTER]: table, JSON, Markdown, SVG\n  \
                 load         HTTP load on loopback: --url URL | --compare DIRECT_URL PROXIED_URL\n  \
                 release --dry-run [--verify]  package every library crate in publishing order\n  \
                 man          write the auth command's man page to target/man/auth.1\n  \
                 timing [--samples N]  dudect-style t-tests of the constant-time checks\n  \
                 fuzz [--time SECS] [TARGET]  run the cargo-fuzz targets (nightly), print execs/s and coverage\n\n\
                 {}",
                load::USAGE
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    // xtask/Cargo.toml's directory is <root>/xtask. Read when run (`cargo run` sets it), not
    // only when built: one target directory may serve several checkouts, and cargo reuses a
    // binary built in another one, whose compile-time path points there.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

pub(crate) fn run(root: &Path, what: &str, cmd: &mut Command) -> Result<(), String> {
    eprintln!("\n==> {what}");
    let status = cmd
        .current_dir(root)
        .status()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

pub(crate) fn services(root: &Path) -> Result<(), String> {
    run(
        root,
        "services (.ci/services)",
        Command::new("bash").arg(root.join(".ci").join("services")),
    )
}

fn ci(root: &Path) -> Result<(), String> {
    services(root)?;
    run(
        root,
        "cargo fmt --check",
        cargo().args(["fmt", "--all", "--check"]),
    )?;
    run(
        root,
        "cargo clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    run(
        root,
        "cargo doc",
        cargo()
            .args(["doc", "--workspace", "--no-deps", "--locked"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    run(
        root,
        "cargo test",
        cargo().args(["test", "--workspace", "--locked"]),
    )?;
    // The fuzz corpora through the targets' properties, on stable (fuzz/ is its own workspace).
    run(
        root,
        "cargo test --manifest-path fuzz/Cargo.toml --lib (fuzz corpora replayed)",
        cargo().args([
            "test",
            "--manifest-path",
            "fuzz/Cargo.toml",
            "--lib",
            "--locked",
        ]),
    )?;
    // Cargo unifies features across a build: both backends at once must build (aws-lc-rs
    // is then used), as the auth-jwt docs promise.
    run(
        root,
        "cargo check -p auth-jwt (both backends)",
        cargo().args([
            "check",
            "--package",
            "auth-jwt",
            "--features",
            "rust-crypto",
            "--locked",
        ]),
    )?;
    // The workspace builds auth-jwt with aws-lc-rs; its pure-Rust backend is tested alone.
    run(
        root,
        "cargo test -p auth-jwt (rust-crypto)",
        cargo().args([
            "test",
            "--package",
            "auth-jwt",
            "--no-default-features",
            "--features",
            "rust-crypto",
            "--locked",
        ]),
    )?;
    // An OAuth client without `jwt` builds neither auth-jwt nor a crypto library.
    run(
        root,
        "cargo test -p auth-oauth2 (no default features)",
        cargo().args([
            "test",
            "--package",
            "auth-oauth2",
            "--no-default-features",
            "--locked",
        ]),
    )?;
    // The `serde` features (off in the workspace build): linted and their round trips tested.
    // (auth-apikey with `sqlite`, as the workspace builds it: its tests assume it.)
    let serde =
        "auth-core/serde,auth-apikey/serde,auth-apikey/sqlite,auth-ratelimit/serde,auth-jwt/serde";
    let serde_crates = [
        "-p",
        "auth-core",
        "-p",
        "auth-apikey",
        "-p",
        "auth-ratelimit",
        "-p",
        "auth-jwt",
    ];
    run(
        root,
        "cargo clippy (serde features)",
        cargo()
            .args(["clippy", "--all-targets", "--locked", "--features", serde])
            .args(serde_crates)
            .args(["--", "-D", "warnings"]),
    )?;
    run(
        root,
        "cargo test (serde features)",
        cargo()
            .args(["test", "--lib", "--locked", "--features", serde])
            .args(serde_crates),
    )?;
    // Every library crate packages: manifests, file lists, no include outside the crate.
    release::package_check(root)?;
    msrv::check(root)?;
    run(
        root,
        "cargo bench --no-run",
        // Only `benches` has benchmarks; `--workspace` would also build every library's unit
        // tests in release mode for nothing.
        cargo().args(["bench", "--package", "benches", "--locked", "--no-run"]),
    )
}

/// `cargo xtask timing [--samples N]`: the dudect-style t-tests of `benches/benches/timing.rs`
/// (N measurements per pair, default 1 000 000), optimized. Not part of `ci`: timing on a
/// shared machine is noisy, and the answer is a statistic to read, not a gate.
fn timing(root: &Path, args: &[String]) -> Result<(), String> {
    let samples = match args {
        [] => "1000000".to_owned(),
        [flag, n] if flag == "--samples" && n.parse::<u64>().is_ok_and(|n| n >= 1000) => n.clone(),
        other => {
            return Err(format!(
                "timing: unexpected {other:?} (timing [--samples N >= 1000])"
            ));
        }
    };
    run(
        root,
        "timing (dudect t-tests)",
        cargo().args([
            "bench",
            "--locked",
            "-p",
            "benches",
            "--bench",
            "timing",
            "--",
            "--samples",
            &samples,
        ]),
    )
}

/// `cargo xtask man`: the `auth` command's man page, made by clap_mangen from the same
/// definitions as its `--help` (`auth man` prints it), written to `target/man/auth.1`.
fn man(root: &Path) -> Result<(), String> {
    let output = cargo()
        .args([
            "run",
            "--quiet",
            "--locked",
            "--package",
            "auth-cli",
            "--bin",
            "auth",
            "--",
            "man",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cargo run: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "auth man failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let dir = root.join("target").join("man");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let page = dir.join("auth.1");
    std::fs::write(&page, &output.stdout).map_err(|e| format!("{}: {e}", page.display()))?;
    eprintln!("wrote {} (man {})", page.display(), page.display());
    Ok(())
}

fn conformance(root: &Path, extra: &[String]) -> Result<(), String> {
    let out = root.join("target").join("conformance");
    run(
        root,
        "conformance",
        cargo()
            .args([
                "run",
                "--quiet",
                "--locked",
                "--package",
                "conformance",
                "--",
            ])
            .arg("--out")
            .arg(&out)
            .args(extra),
    )
}
