//! The minimum supported Rust version: the workspace's `rust-version` must be true.
//!
//! Two checks hold it:
//!
//! - `ci` builds (`cargo check`, all features) every library crate with that toolchain, which
//!   it installs with rustup (`--profile minimal`) when missing, in a target directory of its
//!   own (`target/msrv`). Where rustup is absent or cannot install it, `ci` says so and goes
//!   on, and the test below still holds.
//! - The test `no_dependency_needs_a_newer_rust_than_the_workspace_promises` reads
//!   `cargo metadata`: no crate in a library crate's normal or build dependencies (as locked)
//!   declares a `rust-version` above the workspace's. It cannot see a newer language feature
//!   or standard library call in our own code; clippy's `incompatible_msrv` lint (on by
//!   default, reading the same `rust-version`) catches the standard library calls.

use std::path::Path;
use std::process::Command;

use crate::run;

/// The workspace's `rust-version`, from its Cargo.toml.
pub(crate) fn workspace_rust_version(root: &Path) -> Result<String, String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))
        .map_err(|e| format!("read Cargo.toml: {e}"))?;
    manifest
        .lines()
        .find_map(|l| {
            let value = l
                .trim()
                .strip_prefix("rust-version")?
                .trim()
                .strip_prefix('=')?;
            Some(value.trim().trim_matches('"').to_owned())
        })
        .ok_or_else(|| "Cargo.toml has no rust-version".to_owned())
}

/// `cargo +MSRV check` of every library crate, all features; skipped (with a note) where the
/// toolchain cannot be had.
pub(crate) fn check(root: &Path) -> Result<(), String> {
    let version = workspace_rust_version(root)?;
    let installed = Command::new("rustup")
        .args(["toolchain", "install", &version, "--profile", "minimal"])
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        eprintln!(
            "\n==> MSRV {version}: rustup cannot install the toolchain here; skipping the build \
             (the dependency check in xtask's tests still holds)"
        );
        return Ok(());
    }
    let meta = crate::release::metadata(root)?;
    let crates = crate::release::publish_order(&meta)?;
    // Through rustup's `cargo` proxy, which honours `+VERSION` (the `CARGO` that runs xtask
    // is the current toolchain's own binary, which would not).
    let mut cmd = Command::new("cargo");
    cmd.env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("RUSTUP_TOOLCHAIN")
        .arg(format!("+{version}"))
        .args(["check", "--locked", "--all-features", "--lib"])
        .env("CARGO_TARGET_DIR", target_dir(root).join("msrv"));
    for c in &crates {
        cmd.args(["-p", &c.name]);
    }
    run(
        root,
        &format!("cargo +{version} check (MSRV, library crates)"),
        &mut cmd,
    )
}

fn target_dir(root: &Path) -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `1.88` and `1.88.0` alike, as three numbers.
    fn parse(v: &str) -> [u64; 3] {
        let mut out = [0; 3];
        for (slot, part) in out.iter_mut().zip(v.split('.')) {
            *slot = part.parse().unwrap_or(0);
        }
        out
    }

    #[test]
    fn no_dependency_needs_a_newer_rust_than_the_workspace_promises() {
        let root = crate::tidy::root();
        let msrv = workspace_rust_version(&root).unwrap();
        // The host's dependencies only, as the MSRV build checks them: without
        // `--filter-platform`, `--offline` needs every platform's crates (android, wasm...)
        // downloaded, which a fresh machine's build never does.
        let rustc = Command::new("rustc").arg("-vV").output().unwrap();
        let rustc = String::from_utf8_lossy(&rustc.stdout).into_owned();
        let host = rustc
            .lines()
            .find_map(|l| l.strip_prefix("host: "))
            .unwrap();
        let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["metadata", "--format-version", "1", "--offline"])
            .args(["--filter-platform", host])
            .current_dir(&root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let packages = meta["packages"].as_array().unwrap();
        let by_id = |id: &str| packages.iter().find(|p| p["id"] == id).unwrap();
        let nodes = meta["resolve"]["nodes"].as_array().unwrap();
        let libs =
            crate::release::publish_order(&crate::release::metadata(&root).unwrap()).unwrap();
        let mut too_new = Vec::new();
        for lib in libs {
            let start = packages
                .iter()
                .find(|p| p["name"] == lib.name.as_str() && p["source"].is_null())
                .unwrap();
            let mut stack = vec![start["id"].as_str().unwrap().to_owned()];
            let mut seen = std::collections::BTreeSet::new();
            while let Some(id) = stack.pop() {
                if !seen.insert(id.clone()) {
                    continue;
                }
                let p = by_id(&id);
                if let Some(rv) = p["rust_version"].as_str()
                    && parse(rv) > parse(&msrv)
                {
                    too_new.push(format!("{} (via {}) needs {rv}", p["name"], lib.name));
                }
                let node = nodes.iter().find(|n| n["id"] == id.as_str()).unwrap();
                for dep in node["deps"].as_array().unwrap() {
                    let normal_or_build = dep["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].is_null() || k["kind"] == "build");
                    if normal_or_build {
                        stack.push(dep["pkg"].as_str().unwrap().to_owned());
                    }
                }
            }
        }
        assert!(
            too_new.is_empty(),
            "rust-version {msrv} in Cargo.toml is not true: {too_new:?}"
        );
    }

    #[test]
    fn the_workspace_rust_version_is_read() {
        let v = workspace_rust_version(&crate::tidy::root()).unwrap();
        assert!(parse(&v) >= [1, 85, 0], "{v}: edition 2024 needs 1.85");
        assert_eq!(parse("1.88"), parse("1.88.0"));
    }
}
