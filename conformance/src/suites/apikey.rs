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

use crate::harness::{CheckResult, Suite, block_on, check, ensure, ensure_eq};

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
    block_on(guard.check(parts)).map_err(|d| d.to_response())
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
    vector_cases(&mut s);
    property_cases(&mut s);
    storage_cases(&mut s);
    lifecycle_cases(&mut s);
    header_cases(&mut s);
    s
}

fn vector_cases(s: &mut Suite) {
    s.case("checksum vectors: valid tokens", SECTION_GITHUB, || {
        let v = vectors()?;
        let valid = v["valid"].as_array().ok_or("no valid vectors")?;
        ensure(!valid.is_empty(), || "no valid vectors".into())?;
        for t in valid {
            let token = field(t, "token")?;
            let random = field(t, "random30")?;
            let prefix = field(t, "prefix")?.trim_end_matches('_');
            let crc = t["crc32_of_random30"].as_u64().ok_or("no crc")?;
            ensure_eq(token, u64::from(checksum::crc32(random.as_bytes())), crc)?;
            let encoded = checksum::checksum(random.as_bytes());
            ensure_eq(token, encoded.as_slice(), field(t, "checksum6")?.as_bytes())?;
            let id = format(prefix)?
                .parse(token)
                .map_err(|r| format!("{token}: {r}"))?;
            ensure_eq(token, id.as_str(), &random[..8])?;
        }
        Ok(())
    });

    s.case("checksum vectors: invalid tokens", SECTION_GITHUB, || {
        let v = vectors()?;
        let invalid = v["invalid"].as_array().ok_or("no invalid vectors")?;
        ensure(!invalid.is_empty(), || "no invalid vectors".into())?;
        let tst = format("tst")?;
        for t in invalid {
            let token = field(t, "token")?;
            // A wrong checksum on a well-formed token is a checksum failure; everything
            // else (length, characters, separator, prefix case, whitespace) is malformed.
            let want = if t["checksum_valid"] == Value::Bool(false) {
                Refusal::BadChecksum
            } else {
                Refusal::Malformed
            };
            ensure_eq(
                &format!("{token:?} ({})", t["why"]),
                tst.parse(token),
                Err(want),
            )?;
        }
        Ok(())
    });

    s.case(
        "checksum vectors: published reference tokens",
        SECTION_GITHUB,
        || {
            let v = vectors()?;
            let items = v["public_reference_tokens_split"]["items"]
                .as_array()
                .ok_or("no reference tokens")?;
            for t in items {
                let prefix = field(t, "prefix")?;
                let token = format!("{prefix}{}", field(t, "body")?);
                let parsed = format(prefix.trim_end_matches('_'))?.parse(&token);
                let valid = t["valid"].as_bool().ok_or("no valid flag")?;
                ensure_eq(&format!("{prefix}…"), parsed.is_ok(), valid)?;
            }
            let max = v["algorithm"]["max_checksum"].as_str().ok_or("no max")?;
            ensure_eq(
                "max checksum",
                checksum::encode(u32::MAX).as_slice(),
                max.as_bytes(),
            )?;
            ensure_eq(
                "alphabet",
                ALPHABET.as_slice(),
                field(&v["algorithm"], "alphabet")?.as_bytes(),
            )
        },
    );
}

fn property_cases(s: &mut Suite) {
    s.case(
        "any single-character change fails the checksum",
        SECTION_GITHUB,
        || {
            // Exhaustive: every position of the body, every other base62 character. CRC-32
            // detects every burst of up to 32 bits, so none may pass.
            let f = format("sk_live")?;
            let head = "sk_live_".len();
            for _ in 0..20 {
                let (_, key) = f.generate().map_err(|e| e.to_string())?;
                let key = key.expose_str().map_err(|e| e.to_string())?.to_owned();
                let mut bytes = key.clone().into_bytes();
                for i in head..bytes.len() {
                    let original = bytes[i];
                    for &c in ALPHABET.iter().filter(|&&c| c != original) {
                        bytes[i] = c;
                        let changed = std::str::from_utf8(&bytes).map_err(|e| e.to_string())?;
                        ensure_eq("changed key", f.parse(changed), Err(Refusal::BadChecksum))?;
                    }
                    bytes[i] = original;
                }
            }
            // Any byte at all, anywhere (prefix included): refused, never accepted.
            let (_, key) = f.generate().map_err(|e| e.to_string())?;
            let key = key.expose_str().map_err(|e| e.to_string())?.to_owned();
            check(2000, (0..key.len(), any::<char>()), |(i, c)| {
                let mut changed = key.clone();
                let old = changed.as_bytes()[i] as char;
                prop_assume!(c != old);
                changed.replace_range(i..=i, c.encode_utf8(&mut [0; 4]));
                prop_assert!(f.parse(&changed).is_err(), "accepted {i} -> {c:?}");
                Ok(())
            })
        },
    );

    s.case(
        "a million generated keys: distinct, well formed, uniform",
        "auth-apikey format: 130-bit secret from the OS CSPRNG",
        || {
            let n: usize = std::env::var("CONFORMANCE_APIKEY_KEYS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1_000_000);
            let f = format("sk_live")?;
            let scan = regex::Regex::new(KEY_PATTERN).map_err(|e| e.to_string())?;
            let exact = regex::Regex::new(&f.pattern()).map_err(|e| e.to_string())?;
            let mut seen: HashSet<[u8; 30]> = HashSet::with_capacity(n);
            let mut counts = [0u64; 256];
            for i in 0..n {
                let (id, key) = f.generate().map_err(|e| e.to_string())?;
                let key = key.expose_str().map_err(|e| e.to_string())?;
                if f.parse(key) != Ok(id) {
                    return Err(format!("key {i} does not parse back to its id"));
                }
                let mut random = [0u8; 30];
                random.copy_from_slice(&key.as_bytes()[8..38]);
                for &c in &random {
                    counts[usize::from(c)] += 1;
                }
                if !seen.insert(random) {
                    return Err(format!("key {i} repeats an earlier key"));
                }
                if i < 1000 {
                    let line = format!("export ACME_KEY={key}; echo ok");
                    ensure(scan.find(&line).map(|m| m.as_str()) == Some(key), || {
                        "KEY_PATTERN misses a generated key".into()
                    })?;
                    ensure(exact.is_match(&line), || {
                        "pattern() misses a generated key".into()
                    })?;
                }
            }
            // Chi-square over the 62 characters (61 degrees of freedom): a modulo bias of
            // 256 % 62 would give thousands; 130 is beyond the one-in-a-million tail.
            let expected = (n * 30) as f64 / 62.0;
            let chi2: f64 = ALPHABET
                .iter()
                .map(|&a| (counts[usize::from(a)] as f64 - expected).powi(2) / expected)
                .sum();
            ensure(n < 10_000 || chi2 < 130.0, || {
                format!("characters not uniform: chi-square {chi2:.1} over 61 dof")
            })
        },
    );

    s.case(
        "leak-scanner patterns reject near misses",
        "auth-apikey format",
        || {
            let f = format("sk_live")?;
            let scan = regex::Regex::new(KEY_PATTERN).map_err(|e| e.to_string())?;
            let exact = regex::Regex::new(&f.pattern()).map_err(|e| e.to_string())?;
            let (_, key) = f.generate().map_err(|e| e.to_string())?;
            let key = key.expose_str().map_err(|e| e.to_string())?;
            for near in [
                format!("{key}A"),
                key[..key.len() - 1].to_owned(),
                key.replacen("sk_live_", "sk_live-", 1),
            ] {
                ensure(!exact.is_match(&near), || {
                    format!("pattern() matches {near}")
                })?;
            }
            ensure(!scan.is_match(&format!("{key}A")), || {
                "KEY_PATTERN matches a 37-character body".into()
            })?;
            let other = format("sk_test")?;
            let (_, test_key) = other.generate().map_err(|e| e.to_string())?;
            let test_key = test_key.expose_str().map_err(|e| e.to_string())?;
            ensure(!exact.is_match(test_key), || {
                "sk_live pattern matches sk_test".into()
            })?;
            ensure(scan.is_match(test_key), || {
                "KEY_PATTERN misses sk_test".into()
            })
        },
    );

    s.case(
        "verification never panics, and refuses anything not issued",
        "auth-rs DESIGN: no panic on any input",
        || {
            let (keys, _) = keys_on(MemoryStore::new())?;
            issue(&keys, NewKey::new("alice", "k"))?;
            check(2000, any::<String>(), |input| {
                let got = block_on(keys.check(&input));
                prop_assert!(matches!(got, Ok(s) if !s.is_valid()));
                Ok(())
            })?;
            check(500, "sk_test_[0-9A-Za-z]{36}", |input| {
                let got = block_on(keys.check(&input)).map(|s| s.refusal());
                prop_assert!(matches!(
                    got,
                    Ok(Some(Refusal::BadChecksum | Refusal::UnknownKey))
                ));
                Ok(())
            })
        },
    );
}

fn storage_cases(s: &mut Suite) {
    s.case(
        "the store never holds the key or any part of its secret",
        "auth-apikey: digests at rest",
        || {
            let dir = TempDir::new("at-rest")?;
            let memory = keys_on(MemoryStore::new())?.0;
            let sqlite = keys_on(open_sqlite(&dir.db())?)?.0;
            let mut issued = Vec::new();
            for i in 0..20 {
                let settings = NewKey::new(format!("owner-{i}"), format!("key {i}"))
                    .with_scopes(Scopes::from_space_separated("read write"));
                issued.push(issue(&memory, settings.clone())?.0);
                issued.push(issue(&sqlite, settings)?.0);
            }
            drop(sqlite);
            let on_disk = dir.all_bytes()?;
            let in_memory = format!("{:?}", memory.store());
            for key in &issued {
                holds_no_secret("SQLite files", &on_disk, key)?;
                holds_no_secret("MemoryStore", in_memory.as_bytes(), key)?;
            }
            Ok(())
        },
    );

    s.case(
        "no Debug of key, record, store, status or error shows the key",
        "auth-rs DESIGN: secrets never in messages",
        || {
            let (keys, _) = keys_on(MemoryStore::new())?;
            let issued =
                block_on(keys.create(NewKey::new("alice", "k"))).map_err(|e| e.to_string())?;
            let key = issued.expose_key().to_owned();
            let status = block_on(keys.check(&key)).map_err(|e| e.to_string())?;
            let record = block_on(keys.get(&issued.id())).map_err(|e| e.to_string())?;
            // A mistyped key loaded by a client: the error names the variable only.
            let typo = format!("{}x", &key[..key.len() - 1]);
            let client_error = client_credential_from_lookup(
                "ACME_KEY",
                |_| Some(OsString::from(&typo)),
                keys.format(),
                Placement::Bearer,
            )
            .err()
            .ok_or("a mistyped key was accepted")?;
            // A refused request: the rejection the server logs.
            let guard = Guard::new(keys.authenticator("api"));
            block_on(keys.revoke(&issued.id())).map_err(|e| e.to_string())?;
            let denial = block_on(guard.check(&head(&[("x-api-key", &key)], "/")))
                .err()
                .ok_or("a revoked key was accepted")?;
            let shown = [
                format!("{issued:?}"),
                format!("{status:?}"),
                format!("{record:?}"),
                format!("{keys:?}"),
                format!("{:?}", keys.store()),
                format!("{client_error:?} {client_error}"),
                format!("{denial:?} {denial}"),
                format!("{:?}", denial.to_response()),
            ];
            for text in &shown {
                holds_no_secret("Debug output", text.as_bytes(), &key)?;
                holds_no_secret("Debug output", text.as_bytes(), &typo)?;
            }
            Ok(())
        },
    );

    s.case(
        "SQLite store survives reopen",
        "auth-apikey: persistent store",
        || {
            let dir = TempDir::new("reopen")?;
            let (live, revoked, limited, old, successor) = {
                let (keys, clock) = keys_on(open_sqlite(&dir.db())?)?;
                let live = issue(&keys, NewKey::new("alice", "live"))?;
                let revoked = issue(&keys, NewKey::new("alice", "revoked"))?;
                block_on(keys.revoke(&revoked.1)).map_err(|e| e.to_string())?;
                let limited = issue(&keys, NewKey::new("alice", "limited").with_max_uses(2))?;
                ensure_eq("first use", status(&keys, &limited.0)?, None)?;
                let old = issue(&keys, NewKey::new("alice", "rotated"))?;
                clock.advance(Duration::from_secs(10));
                let next = block_on(keys.rotate(&old.1, Duration::from_secs(60)))
                    .map_err(|e| e.to_string())?;
                (live, revoked, limited, old, next.expose_key().to_owned())
            };
            // A new process: new connections, a clock at the same instant.
            let (keys, clock) = keys_on(open_sqlite(&dir.db())?)?;
            clock.advance(Duration::from_secs(10));
            ensure_eq("live key", status(&keys, &live.0)?, None)?;
            ensure_eq(
                "revoked key",
                status(&keys, &revoked.0)?,
                Some(Refusal::Revoked),
            )?;
            ensure_eq("second use", status(&keys, &limited.0)?, None)?;
            ensure_eq(
                "third use",
                status(&keys, &limited.0)?,
                Some(Refusal::Exhausted),
            )?;
            ensure_eq("old key in overlap", status(&keys, &old.0)?, None)?;
            ensure_eq("successor", status(&keys, &successor)?, None)?;
            clock.advance(Duration::from_secs(60));
            ensure_eq(
                "old key after overlap",
                status(&keys, &old.0)?,
                Some(Refusal::Expired),
            )?;
            let listed = block_on(keys.list("alice")).map_err(|e| e.to_string())?;
            ensure_eq("keys listed", listed.len(), 5)
        },
    );

    s.case(
        "uses are never over-spent under concurrency",
        "auth-apikey: remaining uses",
        || {
            let dir = TempDir::new("uses")?;
            let memory = keys_on(MemoryStore::new())?.0;
            let sqlite = keys_on(open_sqlite(&dir.db())?)?.0;
            fn spend<S: KeyStore + 'static>(keys: &ApiKeys<S>) -> Result<usize, String> {
                let (key, _) = issue(keys, NewKey::new("alice", "k").with_max_uses(50))?;
                let threads: Vec<_> = (0..8)
                    .map(|_| {
                        let (keys, key) = (keys.clone(), key.clone());
                        std::thread::spawn(move || {
                            (0..20)
                                .filter(|_| matches!(status(&keys, &key), Ok(None)))
                                .count()
                        })
                    })
                    .collect();
                let mut total = 0;
                for t in threads {
                    total += t.join().map_err(|_| "thread panicked")?;
                }
                Ok(total)
            }
            ensure_eq("memory: accepted", spend(&memory)?, 50)?;
            ensure_eq("sqlite: accepted", spend(&sqlite)?, 50)
        },
    );
}

fn lifecycle_cases(s: &mut Suite) {
    s.case(
        "expiry exact to the second",
        "auth-apikey lifecycle",
        || {
            let (keys, clock) = keys_on(MemoryStore::new())?;
            let (key, id) = issue(
                &keys,
                NewKey::new("alice", "k").expires_after(Duration::from_secs(3600)),
            )?;
            clock.set(UnixTime::from_duration(Duration::new(
                T0 + 3599,
                999_999_999,
            )));
            ensure_eq("one nanosecond before", status(&keys, &key)?, None)?;
            clock.set(UnixTime::from_secs(T0 + 3600));
            ensure_eq("at expiry", status(&keys, &key)?, Some(Refusal::Expired))?;
            // Extending it brings it back; an expiry in the past ends it at once.
            block_on(keys.set_expiry(&id, Some(UnixTime::from_secs(T0 + 7200))))
                .map_err(|e| e.to_string())?;
            ensure_eq("extended", status(&keys, &key)?, None)?;
            block_on(keys.set_expiry(&id, Some(UnixTime::from_secs(T0))))
                .map_err(|e| e.to_string())?;
            ensure_eq("expired now", status(&keys, &key)?, Some(Refusal::Expired))
        },
    );

    s.case(
        "rotation: old key works until the overlap ends, to the second",
        "auth-apikey lifecycle",
        || {
            let (keys, clock) = keys_on(MemoryStore::new())?;
            let (old, id) = issue(&keys, NewKey::new("alice", "deploy"))?;
            clock.advance(Duration::from_secs(100));
            let next =
                block_on(keys.rotate(&id, Duration::from_secs(300))).map_err(|e| e.to_string())?;
            let next = next.expose_key().to_owned();
            ensure_eq("old key at rotation", status(&keys, &old)?, None)?;
            ensure_eq("successor at rotation", status(&keys, &next)?, None)?;
            clock.set(UnixTime::from_secs(T0 + 100 + 299));
            ensure_eq("old key at +299 s", status(&keys, &old)?, None)?;
            clock.set(UnixTime::from_secs(T0 + 100 + 300));
            ensure_eq(
                "old key at +300 s",
                status(&keys, &old)?,
                Some(Refusal::Expired),
            )?;
            ensure_eq("successor at +300 s", status(&keys, &next)?, None)?;
            // Zero overlap: the old key is refused at once.
            let (old, id) = issue(&keys, NewKey::new("alice", "urgent"))?;
            block_on(keys.rotate(&id, Duration::ZERO)).map_err(|e| e.to_string())?;
            ensure_eq("zero overlap", status(&keys, &old)?, Some(Refusal::Expired))
        },
    );

    s.case(
        "revocation takes effect on the next request",
        "auth-apikey lifecycle",
        || {
            let dir = TempDir::new("revoke")?;
            let memory = keys_on(MemoryStore::new())?.0;
            let sqlite = keys_on(open_sqlite(&dir.db())?)?.0;
            let (key, id) = issue(&memory, NewKey::new("alice", "k"))?;
            ensure_eq("memory before", status(&memory, &key)?, None)?;
            block_on(memory.revoke(&id)).map_err(|e| e.to_string())?;
            ensure_eq(
                "memory after",
                status(&memory, &key)?,
                Some(Refusal::Revoked),
            )?;
            let (key, id) = issue(&sqlite, NewKey::new("alice", "k"))?;
            ensure_eq("sqlite before", status(&sqlite, &key)?, None)?;
            block_on(sqlite.revoke(&id)).map_err(|e| e.to_string())?;
            ensure_eq(
                "sqlite after",
                status(&sqlite, &key)?,
                Some(Refusal::Revoked),
            )
        },
    );

    s.case(
        "list by owner, oldest first",
        "auth-apikey lifecycle",
        || {
            let (keys, clock) = keys_on(MemoryStore::new())?;
            let a = issue(&keys, NewKey::new("alice", "a"))?.1;
            clock.advance(Duration::from_secs(1));
            issue(&keys, NewKey::new("bob", "b"))?;
            let c = issue(&keys, NewKey::new("alice", "c"))?.1;
            let listed: Vec<KeyId> = block_on(keys.list("alice"))
                .map_err(|e| e.to_string())?
                .iter()
                .map(|r| r.id)
                .collect();
            ensure_eq("alice's keys", listed, vec![a, c])
        },
    );
}

fn header_cases(s: &mut Suite) {
    const BARE: &str = r#"Bearer realm="api""#;
    const INVALID_TOKEN: &str = r#"Bearer realm="api", error="invalid_token""#;
    const INVALID_REQUEST: &str = r#"Bearer realm="api", error="invalid_request""#;

    fn setup() -> Result<(KeyGuard, ApiKeys<MemoryStore>, String), String> {
        let (keys, _) = keys_on(MemoryStore::new())?;
        let (key, _) = issue(&keys, NewKey::new("alice", "k"))?;
        Ok((Guard::new(keys.authenticator("api")), keys, key))
    }

    s.case(
        "Authorization: Bearer and X-API-Key both read",
        "RFC 6750 §2.1",
        || {
            let (guard, _, key) = setup()?;
            let bearer = format!("Bearer {key}");
            let lower = format!("bearer {key}");
            expect_subject(
                "Bearer",
                ask(&guard, &[("authorization", &bearer)], "/"),
                "alice",
            )?;
            expect_subject(
                "bearer",
                ask(&guard, &[("authorization", &lower)], "/"),
                "alice",
            )?;
            expect_subject(
                "X-API-Key",
                ask(&guard, &[("x-api-key", &key)], "/"),
                "alice",
            )
        },
    );

    s.case(
        "a key in both Bearer and X-API-Key: 400",
        "RFC 6750 §2",
        || {
            let (guard, _, key) = setup()?;
            let bearer = format!("Bearer {key}");
            expect_status(
                "both",
                ask(
                    &guard,
                    &[("authorization", &bearer), ("x-api-key", &key)],
                    "/",
                ),
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
            )?;
            expect_status(
                "X-API-Key twice",
                ask(&guard, &[("x-api-key", &key), ("x-api-key", &key)], "/"),
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
            )
        },
    );

    s.case(
        "precedence: another scheme in Authorization leaves X-API-Key to decide",
        "RFC 9110 §11.6.2",
        || {
            let (guard, _, key) = setup()?;
            expect_subject(
                "Basic + X-API-Key",
                ask(
                    &guard,
                    &[("authorization", "Basic dXNlcjpwYXNz"), ("x-api-key", &key)],
                    "/",
                ),
                "alice",
            )?;
            // A bearer token that is not one of our keys (a JWT) is not ours: abstain, 401
            // with a bare challenge, so that a JWT authenticator in an `or` can take it.
            expect_status(
                "foreign bearer token",
                ask(
                    &guard,
                    &[("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln")],
                    "/",
                ),
                StatusCode::UNAUTHORIZED,
                BARE,
            )
        },
    );

    s.case(
        "query parameter ignored unless switched on",
        "RFC 6750 §2.3, §5.3",
        || {
            let (guard, keys, key) = setup()?;
            let uri = format!("/orders?api_key={key}");
            expect_status(
                "default",
                ask(&guard, &[], &uri),
                StatusCode::UNAUTHORIZED,
                BARE,
            )?;
            let on = Guard::new(
                keys.authenticator("api")
                    .with_extractor(default_extractor().with_query_parameter("api_key")),
            );
            expect_subject("switched on", ask(&on, &[], &uri), "alice")?;
            expect_status(
                "query and header",
                ask(&on, &[("x-api-key", &key)], &uri),
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
            )
        },
    );

    s.case(
        "unknown id and wrong secret get the same answer",
        "auth-apikey verification; RFC 6750 §3.1",
        || {
            let (guard, keys, key) = setup()?;
            let (_, unknown) = keys.format().generate().map_err(|e| e.to_string())?;
            let unknown = unknown.expose_str().map_err(|e| e.to_string())?.to_owned();
            // Same id, another secret, a correct checksum.
            let body = &key["sk_test_".len()..];
            let mut random = body[..30].to_owned();
            let last = if random.ends_with('a') { "b" } else { "a" };
            random.replace_range(29.., last);
            let sum = checksum::checksum(random.as_bytes());
            let wrong = format!("sk_test_{random}{}", String::from_utf8_lossy(&sum));
            ensure_eq(
                "unknown",
                status(&keys, &unknown)?,
                Some(Refusal::UnknownKey),
            )?;
            ensure_eq(
                "wrong secret",
                status(&keys, &wrong)?,
                Some(Refusal::WrongSecret),
            )?;
            let answer = |k: &str| {
                ask(&guard, &[("x-api-key", k)], "/")
                    .err()
                    .map(|r| (r.status(), format!("{:?}", r.headers()), r.body().clone()))
            };
            let (a, b) = (answer(&unknown), answer(&wrong));
            ensure(a.is_some(), || "unknown key let through".into())?;
            ensure_eq("responses", a, b)?;
            expect_status(
                "wrong",
                ask(&guard, &[("x-api-key", &wrong)], "/"),
                StatusCode::UNAUTHORIZED,
                INVALID_TOKEN,
            )
        },
    );

    s.case(
        "the credential can be stripped before forwarding",
        "auth-rs DESIGN: request flow 5",
        || {
            let (guard, _, key) = setup()?;
            let mut parts = head(&[("x-api-key", &key), ("accept", "*/*")], "/");
            block_on(guard.authorize(&mut parts)).map_err(|d| d.to_string())?;
            guard.authenticator().extractor().strip(&mut parts);
            ensure(parts.headers.get("x-api-key").is_none(), || {
                "X-API-Key still there".into()
            })?;
            ensure(parts.extensions.get::<Principal>().is_some(), || {
                "principal lost".into()
            })
        },
    );

    s.case(
        "client key from the environment reaches the server",
        "auth-apikey client side",
        || {
            let (guard, keys, key) = setup()?;
            for placement in [Placement::Bearer, Placement::x_api_key()] {
                let credential = client_credential_from_lookup(
                    "ACME_KEY",
                    |v| (v == "ACME_KEY").then(|| OsString::from(&key)),
                    keys.format(),
                    placement,
                )
                .map_err(|e| e.to_string())?;
                let mut request = http::Request::get("/")
                    .body(())
                    .map_err(|e| e.to_string())?;
                credential.apply(&mut request);
                let (parts, ()) = request.into_parts();
                expect_subject("client request", respond(&guard, &parts), "alice")?;
            }
            Ok(())
        },
    );
}
