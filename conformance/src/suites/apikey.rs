//! auth-apikey: GitHub's checksum vectors, properties of generated keys, what the store
//! holds, the lifecycle on a manual clock, the SQLite store across a reopen, and the header
//! cases through a real `Guard`.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use auth_apikey::checksum::{self, ALPHABET};
use auth_apikey::{
    ApiKeys, KEY_PATTERN, KeyFormat, KeyId, KeyStore, MemoryStore, NewKey, Placement, Refusal,
    SqliteStore, client_credential_from_lookup, default_extractor,
};
use auth_core::{Guard, ManualClock, Principal, Scopes, TokenAuthenticator, UnixTime};
use http::header::{HeaderName, HeaderValue, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{Response, StatusCode};
use proptest::prelude::*;
use serde_json::Value;

use crate::harness::{CheckResult, Suite, block_on, ensure_eq};

mod format;
mod headers;
mod lifecycle;
mod quota;

const VECTORS: &str = include_str!("../../vectors/api_key_checksum_vectors.json");
const SECTION_GITHUB: &str = "GitHub token format (2021): CRC-32, base62";
const T0: u64 = 1_700_000_000;

fn vectors() -> Result<Value, String> {
    serde_json::from_str(VECTORS).map_err(|e| format!("vectors: {e}"))
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a str, String> {
    v[name]
        .as_str()
        .ok_or_else(|| format!("vector without {name}: {v}"))
}

fn format(prefix: &str) -> Result<KeyFormat, String> {
    KeyFormat::new(prefix).map_err(|e| e.to_string())
}

/// Keys on a manual clock, over `store`.
fn keys_on<S: KeyStore>(store: S) -> Result<(ApiKeys<S>, ManualClock), String> {
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let keys = ApiKeys::builder(format("sk_test")?)
        .clock(Arc::new(clock.clone()))
        .build(store)
        .map_err(|e| e.to_string())?;
    Ok((keys, clock))
}

fn issue<S: KeyStore>(keys: &ApiKeys<S>, settings: NewKey) -> Result<(String, KeyId), String> {
    let issued = block_on(keys.create(settings)).map_err(|e| e.to_string())?;
    Ok((issued.expose_key().to_owned(), issued.id()))
}

fn status<S: KeyStore>(keys: &ApiKeys<S>, key: &str) -> Result<Option<Refusal>, String> {
    block_on(keys.check(key))
        .map(|s| s.refusal())
        .map_err(|e| e.to_string())
}

/// The secret part of a key: the 22 characters after the prefix and the id.
fn secret_part(key: &str) -> &str {
    let body = &key[key.len() - auth_apikey::BODY_LEN..];
    &body[auth_apikey::ID_LEN..auth_apikey::ID_LEN + auth_apikey::SECRET_LEN]
}

/// Fails if `haystack` holds any 6-character window of the key's secret part.
fn holds_no_secret(what: &str, haystack: &[u8], key: &str) -> CheckResult {
    let secret = secret_part(key).as_bytes();
    for window in secret.windows(6) {
        if haystack.windows(6).any(|w| w == window) {
            return Err(format!("{what} holds part of a key's secret"));
        }
    }
    Ok(())
}

/// A fresh directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!(
            "auth-rs-conformance-apikey-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        Ok(Self(dir))
    }

    fn db(&self) -> PathBuf {
        self.0.join("keys.db")
    }

    /// Every byte SQLite wrote: the database, its WAL and shared-memory files.
    fn all_bytes(&self) -> Result<Vec<u8>, String> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(&self.0).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            all.extend(std::fs::read(&path).map_err(|e| e.to_string())?);
        }
        Ok(all)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn open_sqlite(path: &std::path::Path) -> Result<SqliteStore, String> {
    SqliteStore::open(path).map_err(|e| e.to_string())
}

fn head(headers: &[(&str, &str)], uri: &str) -> Parts {
    let mut parts = http::Request::new(()).into_parts().0;
    parts.uri = uri.parse().unwrap_or_default();
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            parts.headers.append(n, v);
        }
    }
    parts
}

type KeyGuard = Guard<TokenAuthenticator<ApiKeys<MemoryStore>>>;

#[allow(clippy::result_large_err)] // test helper: the response is the point
fn respond(guard: &KeyGuard, parts: &Parts) -> Result<Option<Principal>, Response<String>> {
    block_on(guard.decide(parts)).map_err(|d| d.to_response())
}

/// The answer `guard` gives a request with `headers` to `uri`.
#[allow(clippy::result_large_err)] // test helper: the response is the point
fn ask(
    guard: &KeyGuard,
    headers: &[(&str, &str)],
    uri: &str,
) -> Result<Option<Principal>, Response<String>> {
    respond(guard, &head(headers, uri))
}

fn expect_status(
    what: &str,
    got: Result<Option<Principal>, Response<String>>,
    status: StatusCode,
    challenge: &str,
) -> CheckResult {
    let response = got
        .err()
        .ok_or_else(|| format!("{what}: request was let through"))?;
    ensure_eq(what, response.status(), status)?;
    let challenges: Vec<&[u8]> = response
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .map(HeaderValue::as_bytes)
        .collect();
    ensure_eq(what, challenges, vec![challenge.as_bytes()])
}

fn expect_subject(
    what: &str,
    got: Result<Option<Principal>, Response<String>>,
    subject: &str,
) -> CheckResult {
    match got {
        Ok(Some(p)) => ensure_eq(what, p.subject(), subject),
        Ok(None) => Err(format!("{what}: no principal")),
        Err(r) => Err(format!("{what}: answered {}", r.status())),
    }
}

/// The auth-apikey suite.
pub fn suite() -> Suite {
    let mut s = Suite::new("auth-apikey");
    format::vector_cases(&mut s);
    format::property_cases(&mut s);
    lifecycle::storage_cases(&mut s);
    lifecycle::lifecycle_cases(&mut s);
    headers::header_cases(&mut s);
    quota::quota_cases(&mut s);
    s
}
