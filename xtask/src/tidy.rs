//! Repository invariants, checked by `cargo test`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Architecture invariant: the auth crates depend on `http` and small focused crates, never on
/// a web framework or an async runtime. Each crate's normal (non-dev) dependencies must be in
/// its list; a new dependency is a deliberate edit here, reviewed with the change.
#[rustfmt::skip] // one line per crate: parallel branches add lines without conflicts
const ALLOWED: &[(&str, &[&str])] = &[
    ("auth-core", &["http", "thiserror", "subtle", "zeroize", "form_urlencoded", "httpdate", "rustls-pki-types", "rustix", "serde"]), // serde: optional (feature `serde`)
    ("auth-http", &["auth-core", "http", "reqwest"]),
    ("auth-tower", &["auth-core", "auth-ratelimit", "http", "http-body-util", "tower-layer", "tower-service", "tracing", "axum"]), // axum: the optional extractors
    ("auth-jwt", &["auth-core", "jsonwebtoken", "aws-lc-rs", "base64", "serde", "serde_json", "thiserror", "arc-swap", "http", "metrics", "sha2", "hmac", "getrandom", "subtle"]), // sha2, hmac, getrandom, subtle: DPoP (ath, nonces, jti)
    ("auth-apikey", &["auth-core", "http", "thiserror", "subtle", "zeroize", "sha2", "hmac", "getrandom", "rusqlite", "foldhash", "serde"]), // serde: optional (feature `serde`)
    ("auth-ratelimit", &["auth-core", "http", "thiserror", "foldhash", "quanta", "sfv", "metrics", "serde"]), // serde: optional (feature `serde`)
    ("auth-oauth2", &["auth-core", "auth-jwt", "http", "thiserror", "oauth2", "serde", "serde_json", "thread_local", "subtle", "form_urlencoded", "base64", "sha2", "tempfile", "tokio", "metrics"]), // tokio: `sync` only, no executor
    ("auth-ratelimit-redis", &["auth-core", "auth-ratelimit", "http", "redis", "rustls", "tokio", "metrics"]), // tokio: redis drives its connection on it
    ("auth-apikey-postgres", &["auth-core", "auth-apikey", "tokio-postgres", "tokio", "foldhash", "rustls", "rustls-native-certs", "tokio-postgres-rustls"]), // tokio: a network store drives its connections
];

/// Store adapters that own network connections and so need a runtime (an adapter crate, kept
/// out of the core crates): they may depend on tokio beyond `sync` if their list names it.
const RUNTIME_ADAPTERS: &[&str] = &["auth-apikey-postgres", "auth-ratelimit-redis"];

/// Never in an auth crate's normal dependencies, whatever its list says.
const FORBIDDEN: &[&str] = &[
    "axum",
    "actix-web",
    "rocket",
    "warp",
    "poem",
    "tide",
    "tokio",
    "async-std",
    "smol",
];

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The standard output of `cargo ARGS --offline` in the workspace, which must succeed.
fn cargo(args: &[&str]) -> String {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(args)
        .arg("--offline")
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Framework integrations an adapter crate may offer behind an optional feature (auth-tower's
/// `axum` extractors): never on by default, never in a core crate.
const FRAMEWORK_FEATURES: &[(&str, &str)] = &[("auth-tower", "axum")];

fn metadata() -> Value {
    serde_json::from_str(&cargo(&["metadata", "--format-version", "1", "--no-deps"])).unwrap()
}

#[test]
fn auth_crates_stay_within_their_dependency_lists() {
    let meta = metadata();
    let mut seen = BTreeSet::new();
    for package in meta["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        if !name.starts_with("auth-") || name == "auth-cli" {
            continue;
        }
        seen.insert(name.to_owned());
        let allowed = ALLOWED
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("{name} has no entry in tidy::ALLOWED"))
            .1;
        for dep in package["dependencies"].as_array().unwrap() {
            if !dep["kind"].is_null() {
                continue; // dev or build dependency
            }
            let dep_name = dep["name"].as_str().unwrap();
            assert!(
                !FORBIDDEN.contains(&dep_name)
                    || runtime_free_tokio(dep)
                    || (dep_name == "tokio" && RUNTIME_ADAPTERS.contains(&name))
                    || (FRAMEWORK_FEATURES.contains(&(name, dep_name))
                        && dep["optional"].as_bool() == Some(true)),
                "{name} depends on {dep_name}: no framework or runtime in the auth crates"
            );
            assert!(
                allowed.contains(&dep_name),
                "{name} depends on {dep_name}, which is not in its list in xtask/src/tidy.rs"
            );
        }
    }
    for (name, _) in ALLOWED {
        assert!(
            seen.contains(*name),
            "tidy::ALLOWED names {name}, which is not in the workspace"
        );
    }
}

/// An OAuth client that needs no JWT pulls in neither auth-jwt nor a crypto library: the
/// `jwt` feature of auth-oauth2 is off without its default features.
#[test]
fn an_oauth_client_without_jwt_builds_no_crypto() {
    let tree = cargo(&[
        "tree",
        "-p",
        "auth-oauth2",
        "--no-default-features",
        "-e",
        "normal",
        "--prefix",
        "none",
    ]);
    assert!(tree.lines().any(|l| l.starts_with("oauth2 ")), "{tree}");
    for banned in ["auth-jwt ", "aws-lc-rs ", "aws-lc-sys ", "ring ", "p256 "] {
        assert!(
            !tree.lines().any(|l| l.starts_with(banned)),
            "auth-oauth2 without default features depends on {banned}"
        );
    }
}

/// tokio with no default features and only `sync` (runtime-agnostic primitives, no executor,
/// no I/O) is not a runtime; a crate may still use it only if its list names it.
fn runtime_free_tokio(dep: &Value) -> bool {
    dep["name"] == "tokio"
        && dep["uses_default_features"] == false
        && dep["features"]
            .as_array()
            .is_some_and(|f| f.len() == 1 && f[0] == "sync")
}

/// Every Rust source of the workspace with its text; never empty, and this file among them,
/// so the checks over it cannot pass by finding nothing.
fn rust_sources() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for dir in [
        "crates",
        "conformance",
        "benches",
        "xtask",
        "examples",
        "fuzz",
    ] {
        walk(&root().join(dir), &mut |path| {
            if path.extension().is_some_and(|e| e == "rs") {
                out.push((path.to_owned(), std::fs::read_to_string(path).unwrap()));
            }
        });
    }
    assert!(
        out.iter().any(|(p, _)| p.ends_with("xtask/src/tidy.rs")),
        "the walk missed the workspace's sources"
    );
    out
}

#[test]
fn every_source_file_opens_with_a_module_doc() {
    let missing: Vec<_> = rust_sources()
        .into_iter()
        .filter(|(_, text)| {
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or_default();
            !first.starts_with("//!")
        })
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` doc: {missing:#?}"
    );
}

/// A file a reader can hold in mind: split by subject past 500 lines.
#[test]
fn no_source_file_is_over_500_lines() {
    const MAX: usize = 500;
    let sources = rust_sources();
    let long: Vec<_> = sources
        .iter()
        .map(|(path, text)| (path.display().to_string(), text.lines().count()))
        .filter(|(_, lines)| *lines > MAX)
        .collect();
    assert!(long.is_empty(), "files over {MAX} lines: {long:#?}");
    // The twin: the count is real (the longest file is long, just not too long).
    let longest = sources.iter().map(|(_, t)| t.lines().count()).max();
    assert!(longest.is_some_and(|n| n > MAX / 2), "{longest:?}");
}

pub(crate) fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && name != "node_modules" {
                walk(&path, f);
            }
        } else {
            f(&path);
        }
    }
}

/// Architecture invariant: the library crates read the time only through a `Clock`, so
/// expiry, caches, refresh and rate limits can all be tested by moving a `ManualClock`.
/// auth-core's `clock.rs` is where `SystemClock` reads it; the `auth` binary is an
/// application and may read it where it stamps files.
#[test]
fn library_crates_read_the_time_only_through_a_clock() {
    let clock_rs = Path::new("crates/auth-core/src/clock.rs");
    let mut readers = BTreeSet::new();
    for (path, text) in rust_sources() {
        let rel = path.strip_prefix(root()).unwrap_or(&path).to_path_buf();
        let in_library = rel.starts_with("crates")
            && !rel.starts_with("crates/auth-cli")
            && rel
                .components()
                .nth(2)
                .is_some_and(|c| c.as_os_str() == "src");
        let reads = text.lines().any(|l| {
            let code = l.split("//").next().unwrap_or_default();
            code.contains("SystemTime::now") || code.contains("Instant::now")
        });
        if in_library && reads {
            readers.insert(rel);
        }
    }
    // The twin: the one reader is found, so the search does see the sources.
    assert!(readers.remove(clock_rs), "SystemClock's reading not found");
    assert!(
        readers.is_empty(),
        "the wall clock read outside auth-core's clock.rs: {readers:#?}"
    );
}
