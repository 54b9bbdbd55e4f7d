//! Packaging: `cargo xtask release --dry-run [--verify]`, and the packaging check `ci` runs.
//!
//! The crates to publish are the workspace's library crates that are not `publish = false`
//! (`auth-cli`, a binary, is not among them). They are ordered so that every crate comes after
//! the workspace crates it depends on, dev-dependencies included (a published manifest keeps a
//! dev-dependency that has a version, and crates.io wants it published first).
//!
//! For each crate, before anything is built:
//!
//! - its manifest has a description, `license`, `rust-version`, a `readme`, one to five
//!   keywords, at least one category, and no `repository` that is a placeholder;
//! - `cargo package --list` holds `Cargo.toml`, `README.md`, `LICENSE-MIT` and
//!   `LICENSE-APACHE`;
//! - every `include_str!`/`include_bytes!` in its sources names a file inside the crate that
//!   the package holds (a file outside the crate is not in the `.crate`, and crates.io's build
//!   would fail where the workspace's succeeds).
//!
//! Then one `cargo package` for all of them at once: cargo packages workspace crates that
//! depend on each other against a local registry of the ones just packaged, so crates not yet
//! on crates.io resolve. `ci` passes `--no-verify`: verifying builds every crate again from its
//! `.crate` in the target directory's `package/`, under the default profile, which rebuilds the
//! whole dependency tree (aws-lc-rs's C library among it) for minutes on CI's two cores,
//! while the checks above catch what would make that build differ from the workspace's.
//! `release --dry-run --verify` runs it, as a release should.
//!
//! Publishing itself stays a person's deliberate act: `release` without `--dry-run` refuses and
//! prints the `cargo publish` commands in order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{cargo, run};

/// A crate to publish, as `cargo metadata` describes it.
#[derive(Debug, Clone)]
pub(crate) struct Crate {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) dir: PathBuf,
    /// The workspace crates it depends on (any kind).
    deps: BTreeSet<String>,
    manifest: Value,
}

/// `cargo xtask release ARGS`.
#[allow(clippy::print_stdout)] // the report is the command's output
pub(crate) fn release(root: &Path, args: &[String]) -> Result<(), String> {
    let mut dry_run = false;
    let mut verify = false;
    for arg in args {
        match arg.as_str() {
            "--dry-run" => dry_run = true,
            "--verify" => verify = true,
            other => {
                return Err(format!(
                    "release: unexpected {other:?} (release --dry-run [--verify])"
                ));
            }
        }
    }
    let meta = metadata(root)?;
    let crates = publish_order(&meta)?;
    if !dry_run {
        let commands: Vec<String> = crates
            .iter()
            .map(|c| format!("  cargo publish -p {}", c.name))
            .collect();
        return Err(format!(
            "release publishes nothing by itself: run `cargo xtask release --dry-run`, then, \
             in this order:\n{}",
            commands.join("\n")
        ));
    }
    let files = check(root, &crates)?;
    package(root, &crates, verify)?;
    let target = PathBuf::from(meta["target_directory"].as_str().unwrap_or("target"));
    println!("\nwould publish, in this order (nothing was uploaded):\n");
    println!(
        "{:<4}{:<24}{:<10}{:>10}{:>7}",
        "#", "crate", "version", "size", "files"
    );
    let mut total = 0;
    for (i, c) in crates.iter().enumerate() {
        let file = target
            .join("package")
            .join(format!("{}-{}.crate", c.name, c.version));
        let size = std::fs::metadata(&file)
            .map_err(|e| format!("{}: {e}", file.display()))?
            .len();
        total += size;
        let count = files.get(&c.name).map_or(0, Vec::len);
        println!(
            "{:<4}{:<24}{:<10}{:>10}{:>7}",
            i + 1,
            c.name,
            c.version,
            kib(size),
            count
        );
    }
    println!("\n{} crates, {} compressed", crates.len(), kib(total));
    println!(
        "the .crate files are in {}",
        target.join("package").display()
    );
    Ok(())
}

/// What `ci` runs: every check above, and `cargo package --no-verify` for every crate.
pub(crate) fn package_check(root: &Path) -> Result<(), String> {
    let meta = metadata(root)?;
    let crates = publish_order(&meta)?;
    check(root, &crates)?;
    package(root, &crates, false)
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

pub(crate) fn metadata(root: &Path) -> Result<Value, String> {
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))
}

/// The library crates to publish, each after the workspace crates it depends on (ties by name).
pub(crate) fn publish_order(meta: &Value) -> Result<Vec<Crate>, String> {
    let packages = meta["packages"]
        .as_array()
        .ok_or("cargo metadata: no packages")?;
    let members: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut crates = BTreeMap::new();
    for p in packages {
        let publishable =
            !matches!(p["publish"].as_array(), Some(registries) if registries.is_empty());
        let is_lib = p["targets"].as_array().is_some_and(|targets| {
            targets.iter().any(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "lib"))
            })
        });
        if !publishable || !is_lib {
            continue;
        }
        let name = p["name"].as_str().unwrap_or_default().to_owned();
        let deps = p["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["name"].as_str())
            .filter(|d| members.contains(d) && *d != name)
            .map(str::to_owned)
            .collect();
        let manifest = PathBuf::from(p["manifest_path"].as_str().unwrap_or_default());
        let dir = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
        let version = p["version"].as_str().unwrap_or_default().to_owned();
        crates.insert(
            name.clone(),
            Crate {
                name,
                version,
                dir,
                deps,
                manifest: p.clone(),
            },
        );
    }
    let names: BTreeSet<String> = crates.keys().cloned().collect();
    for c in crates.values() {
        if let Some(unpublished) = c.deps.iter().find(|d| !names.contains(*d)) {
            return Err(format!(
                "{} depends on {unpublished}, a workspace crate that is not published",
                c.name
            ));
        }
    }
    let mut order: Vec<Crate> = Vec::new();
    let mut done = BTreeSet::new();
    while done.len() < crates.len() {
        let ready: Vec<String> = crates
            .values()
            .filter(|c| !done.contains(&c.name) && c.deps.iter().all(|d| done.contains(d)))
            .map(|c| c.name.clone())
            .collect();
        if ready.is_empty() {
            let left: Vec<&String> = crates.keys().filter(|n| !done.contains(*n)).collect();
            return Err(format!(
                "the workspace crates {left:?} depend on each other in a circle"
            ));
        }
        for name in ready {
            order.extend(crates.get(&name).cloned());
            done.insert(name);
        }
    }
    Ok(order)
}

/// Checks every crate's manifest and package listing; answers each crate's file list.
fn check(root: &Path, crates: &[Crate]) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut problems = Vec::new();
    let mut lists = BTreeMap::new();
    for c in crates {
        problems.extend(manifest_problems(c));
        let out = cargo()
            .args(["package", "--list", "--allow-dirty", "-p", &c.name])
            .current_dir(root)
            .output()
            .map_err(|e| format!("cargo package --list: {e}"))?;
        if !out.status.success() {
            problems.push(format!(
                "{}: cargo package --list failed: {}",
                c.name,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            continue;
        }
        let files: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        for needed in ["Cargo.toml", "README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
            if !files.iter().any(|f| f == needed) {
                problems.push(format!("{}: the package has no {needed}", c.name));
            }
        }
        problems.extend(include_problems(c, &files));
        lists.insert(c.name.clone(), files);
    }
    if problems.is_empty() {
        eprintln!(
            "packaging checks: {} crates, manifests and file lists in order",
            crates.len()
        );
        Ok(lists)
    } else {
        Err(format!(
            "packaging checks failed:\n  {}",
            problems.join("\n  ")
        ))
    }
}

fn manifest_problems(c: &Crate) -> Vec<String> {
    let m = &c.manifest;
    let mut problems = Vec::new();
    let mut need = |ok: bool, what: &str| {
        if !ok {
            problems.push(format!("{}: {what}", c.name));
        }
    };
    let present = |key: &str| m[key].as_str().is_some_and(|s| !s.trim().is_empty());
    need(present("description"), "no description");
    need(present("license"), "no license");
    need(present("rust_version"), "no rust-version");
    need(present("readme"), "no readme");
    let keywords = m["keywords"].as_array().map_or(0, Vec::len);
    need((1..=5).contains(&keywords), "wants one to five keywords");
    need(
        m["categories"].as_array().is_some_and(|c| !c.is_empty()),
        "no category",
    );
    need(
        !m["repository"]
            .as_str()
            .is_some_and(|r| r.contains("example.") || r.contains("localhost")),
        "a placeholder repository: name the real one or none",
    );
    problems
}

/// Every `include_str!`/`include_bytes!` path in the crate's sources, resolved against the
/// including file, must lie inside the crate and be in its package.
fn include_problems(c: &Crate, files: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    for source in rust_files(&c.dir) {
        let Ok(text) = std::fs::read_to_string(&source) else {
            continue;
        };
        for literal in included_paths(&text) {
            let base = source.parent().unwrap_or(&c.dir);
            let target = normalize(&base.join(&literal));
            let shown = source
                .strip_prefix(&c.dir)
                .unwrap_or(&source)
                .display()
                .to_string();
            match target.strip_prefix(&c.dir) {
                Ok(inside) => {
                    let inside = inside.to_string_lossy().replace('\\', "/");
                    if !files.contains(&inside) {
                        problems.push(format!(
                            "{}: {shown} includes {literal}, which the package leaves out",
                            c.name
                        ));
                    }
                }
                Err(_) => problems.push(format!(
                    "{}: {shown} includes {literal}, outside the crate (not in the .crate)",
                    c.name
                )),
            }
        }
    }
    problems
}

/// The string literals given to `include_str!` and `include_bytes!` in `text`.
fn included_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for mac in ["include_str!(", "include_bytes!("] {
        let mut rest = text;
        while let Some(at) = rest.find(mac) {
            rest = &rest[at + mac.len()..];
            let arg = rest.trim_start();
            if let Some(body) = arg.strip_prefix('"')
                && let Some(end) = body.find('"')
            {
                out.push(body[..end].to_owned());
            }
        }
    }
    out
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                out.extend(rust_files(&path));
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// One `cargo package` for all the crates, so that each resolves the others locally.
fn package(root: &Path, crates: &[Crate], verify: bool) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args(["package", "--allow-dirty"]);
    if !verify {
        cmd.arg("--no-verify");
    }
    for c in crates {
        cmd.args(["-p", &c.name]);
    }
    let what = if verify {
        "cargo package (verified)"
    } else {
        "cargo package --no-verify"
    };
    run(root, what, &mut cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Value {
        metadata(&crate::tidy::root()).unwrap()
    }

    #[test]
    fn every_library_crate_is_published_after_what_it_depends_on() {
        let order = publish_order(&meta()).unwrap();
        let names: Vec<&str> = order.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.first(), Some(&"auth-core"), "{names:?}");
        for (i, c) in order.iter().enumerate() {
            for dep in &c.deps {
                assert!(
                    names[..i].contains(&dep.as_str()),
                    "{} before {dep}: {names:?}",
                    c.name
                );
            }
        }
        for lib in [
            "auth-http",
            "auth-apikey",
            "auth-apikey-postgres",
            "auth-jwt",
            "auth-oauth2",
        ] {
            assert!(names.contains(&lib), "{lib} missing from {names:?}");
        }
        for lib in ["auth-ratelimit", "auth-ratelimit-redis", "auth-tower"] {
            assert!(names.contains(&lib), "{lib} missing from {names:?}");
        }
        assert!(
            !names.contains(&"auth-cli") && !names.contains(&"xtask"),
            "{names:?}"
        );
    }

    /// Each crate ships the workspace's license texts, unchanged.
    #[test]
    fn every_published_crate_carries_the_license_files() {
        let root = crate::tidy::root();
        for c in publish_order(&meta()).unwrap() {
            for file in ["LICENSE-MIT", "LICENSE-APACHE"] {
                let ours = std::fs::read(root.join(file)).unwrap();
                let theirs = std::fs::read(c.dir.join(file))
                    .unwrap_or_else(|_| panic!("{} has no {file}", c.name));
                assert!(
                    ours == theirs,
                    "{}/{file} differs from the workspace's",
                    c.name
                );
            }
            assert!(
                manifest_problems(&c).is_empty(),
                "{:?}",
                manifest_problems(&c)
            );
        }
    }

    #[test]
    fn includes_are_found_and_resolved() {
        let text = "#[doc = include_str!(\"../README.md\")]\nconst S: &str = include_str!( \"s.lua\");\nlet b = include_bytes!(\"../../x.bin\");";
        assert_eq!(
            included_paths(text),
            ["../README.md", "s.lua", "../../x.bin"]
        );
        assert_eq!(
            normalize(Path::new("/w/c/src/../README.md")),
            Path::new("/w/c/README.md")
        );
        let c = Crate {
            name: "c".into(),
            version: "0.1.0".into(),
            dir: PathBuf::from("/nonexistent/c"),
            deps: BTreeSet::new(),
            manifest: Value::Null,
        };
        assert_eq!(manifest_problems(&c).len(), 6);
    }
}
