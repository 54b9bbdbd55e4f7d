//! Integration tests: the store contract, run against every store; verification statuses;
//! the lifecycle on a manual clock.
#![allow(clippy::unwrap_used)]

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use auth_apikey::{
    ApiKeys, Error, KeyFormat, KeyId, KeyStatus, KeyStore, MemoryStore, NewKey, RateQuota, Refusal,
};
use auth_core::{CredentialKind, ManualClock, Scopes, Secret, TokenVerdict, UnixTime, VerifyToken};

mod contract;

use contract::{T0, concurrent_transitions, id, record, store_contract};

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn keys_on<S: KeyStore>(store: S) -> (ApiKeys<S>, ManualClock) {
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let keys = ApiKeys::builder(KeyFormat::new("sk_test").unwrap())
        .clock(Arc::new(clock.clone()))
        .build(store)
        .unwrap();
    (keys, clock)
}

#[test]
fn memory_store_contract() {
    block_on(store_contract(&MemoryStore::new()));
    block_on(concurrent_transitions(&MemoryStore::new(), 20));
}

#[test]
fn statuses() {
    block_on(async {
        let (keys, clock) = keys_on(MemoryStore::new());
        let issued = keys
            .create(NewKey::new("alice", "ci").with_max_uses(2))
            .await
            .unwrap();
        let key = issued.expose_key().to_owned();
        let status = |k: String| {
            let keys = keys.clone();
            async move { keys.check(&k).await.unwrap().refusal() }
        };
        assert_eq!(status(key.clone()).await, None);
        assert_eq!(status(key[1..].to_owned()).await, Some(Refusal::Malformed));
        assert_eq!(
            status(key.replace("sk_test_", "sk_live_")).await,
            Some(Refusal::Malformed)
        );

        // Same id, another secret with a valid checksum: wrong secret.
        let body = &key["sk_test_".len()..];
        let mut random = body[..30].to_owned();
        random.replace_range(29..30, if &random[29..] == "a" { "b" } else { "a" });
        let forged = format!(
            "sk_test_{random}{}",
            std::str::from_utf8(&auth_apikey::checksum::checksum(random.as_bytes())).unwrap()
        );
        assert_eq!(status(forged).await, Some(Refusal::WrongSecret));

        // A changed checksum character: bad checksum, without a lookup.
        let mut typo = key.clone();
        let last = if typo.ends_with('0') { "1" } else { "0" };
        typo.replace_range(typo.len() - 1.., last);
        assert_eq!(status(typo).await, Some(Refusal::BadChecksum));

        // A made-up key of the right format: unknown.
        let (_, other) = keys.format().generate().unwrap();
        assert_eq!(
            status(other.expose_str().unwrap().to_owned()).await,
            Some(Refusal::UnknownKey)
        );

        // Looking at the key takes no use: after any number of looks, the second use is
        // still there.
        for _ in 0..3 {
            assert!(keys.inspect(&key).await.unwrap().is_valid());
        }
        // Two uses were granted and one is gone.
        assert_eq!(status(key.clone()).await, None);
        assert_eq!(
            keys.inspect(&key).await.unwrap().refusal(),
            Some(Refusal::Exhausted)
        );
        assert_eq!(status(key.clone()).await, Some(Refusal::Exhausted));
        clock.advance(Duration::from_secs(1));
        assert_eq!(status(key).await, Some(Refusal::Exhausted));
    });
}

/// A store that counts its lookups, to see which refusals reach it.
struct CountingStore {
    inner: MemoryStore,
    gets: std::sync::atomic::AtomicUsize,
}

impl CountingStore {
    fn gets(&self) -> usize {
        self.gets.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl KeyStore for CountingStore {
    fn insert(
        &self,
        record: auth_apikey::KeyRecord,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        self.inner.insert(record)
    }
    fn get(
        &self,
        id: &KeyId,
    ) -> impl Future<Output = Result<Option<Arc<auth_apikey::KeyRecord>>, Error>> + Send {
        self.gets.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.get(id)
    }
    fn list_by_owner(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<Vec<auth_apikey::KeyRecord>, Error>> + Send {
        self.inner.list_by_owner(owner)
    }
    fn revoke(&self, id: &KeyId, at: UnixTime) -> impl Future<Output = Result<(), Error>> + Send {
        self.inner.revoke(id, at)
    }
    fn set_expires(
        &self,
        id: &KeyId,
        expires: Option<UnixTime>,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        self.inner.set_expires(id, expires)
    }
    fn consume_use(&self, id: &KeyId) -> impl Future<Output = Result<bool, Error>> + Send {
        self.inner.consume_use(id)
    }
    fn rotate(
        &self,
        old: &KeyId,
        old_expires: UnixTime,
        successor: auth_apikey::KeyRecord,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        self.inner.rotate(old, old_expires, successor)
    }
}

/// The checksum's purpose: typos and made-up strings are refused offline, before any store
/// lookup; only a key that passes every offline check costs one.
#[test]
fn offline_refusals_never_reach_the_store() {
    block_on(async {
        let store = Arc::new(CountingStore {
            inner: MemoryStore::new(),
            gets: Default::default(),
        });
        let (keys, _) = keys_on(Arc::clone(&store));
        let key = keys
            .create(NewKey::new("alice", "ci"))
            .await
            .unwrap()
            .expose_key()
            .to_owned();
        let body = &key["sk_test_".len()..];
        let mut offline = Vec::new();
        // Every single-character change to the checksum, and one to each random character.
        for i in 0..body.len() {
            let b = body.as_bytes()[i];
            let other = if b == b'x' { 'y' } else { 'x' };
            let mut k = key.clone();
            let at = "sk_test_".len() + i;
            k.replace_range(at..=at, &other.to_string());
            offline.push((k, Refusal::BadChecksum));
        }
        offline.push((key[1..].to_owned(), Refusal::Malformed));
        offline.push((format!("{key} "), Refusal::Malformed));
        offline.push((key.replace("sk_test_", "sk_live_"), Refusal::Malformed));
        offline.push((key.replace(&body[3..4], "-"), Refusal::Malformed));
        offline.push((String::new(), Refusal::Malformed));
        for (k, expected) in &offline {
            assert_eq!(
                keys.check(k).await.unwrap().refusal(),
                Some(*expected),
                "{k}"
            );
        }
        assert_eq!(store.gets(), 0, "an offline refusal looked the key up");

        // A well-formed key reaches the store once, known or not.
        let (_, unknown) = keys.format().generate().unwrap();
        let unknown = unknown.expose_str().unwrap().to_owned();
        assert_eq!(
            keys.check(&unknown).await.unwrap().refusal(),
            Some(Refusal::UnknownKey)
        );
        assert!(keys.check(&key).await.unwrap().is_valid());
        assert_eq!(store.gets(), 2);
    });
}

#[test]
fn principal_carries_the_key_id_and_quota() {
    block_on(async {
        let (keys, _) = keys_on(MemoryStore::new());
        let quota = RateQuota::new(NonZeroU32::new(5).unwrap(), Duration::from_secs(1)).unwrap();
        let issued = keys
            .create(
                NewKey::new("svc-billing", "prod")
                    .with_scopes(Scopes::from_space_separated("invoices:read"))
                    .with_rate_quota(quota),
            )
            .await
            .unwrap();
        assert!(keys.recognizes(issued.expose_key()));
        assert!(!keys.recognizes("eyJhbGciOiJIUzI1NiJ9.e30.x"));
        let TokenVerdict::Valid(p) = keys.verify(issued.expose_key()).await.unwrap() else {
            panic!("valid key refused");
        };
        assert_eq!(p.subject(), "svc-billing");
        assert_eq!(p.kind(), CredentialKind::ApiKey);
        assert!(p.scopes().contains("invoices:read"));
        assert_eq!(p.attribute::<KeyId>(), Some(&issued.id()));
        assert_eq!(p.attribute::<RateQuota>(), Some(&quota));
        let TokenVerdict::Invalid(reason) = keys.verify("sk_test_nope").await.unwrap() else {
            panic!("malformed key accepted");
        };
        assert_eq!(reason, "malformed key");
    });
}

#[test]
fn the_pepper_is_part_of_the_digest() {
    block_on(async {
        let store = Arc::new(MemoryStore::new());
        let with = |pepper: &str| {
            ApiKeys::builder(KeyFormat::new("sk_live").unwrap())
                .pepper(Secret::new(pepper))
                .build(Arc::clone(&store))
                .unwrap()
        };
        let a = with("pepper-a-0123456789abcdef");
        let b = with("pepper-b-0123456789abcdef");
        let issued = a.create(NewKey::new("alice", "k")).await.unwrap();
        assert!(a.check(issued.expose_key()).await.unwrap().is_valid());
        assert_eq!(
            b.check(issued.expose_key()).await.unwrap().refusal(),
            Some(Refusal::WrongSecret)
        );
        let plain = ApiKeys::new(KeyFormat::new("sk_live").unwrap(), Arc::clone(&store));
        assert_eq!(
            plain.check(issued.expose_key()).await.unwrap().refusal(),
            Some(Refusal::WrongSecret)
        );
        assert!(matches!(
            ApiKeys::builder(KeyFormat::new("sk_live").unwrap())
                .pepper(Secret::new("short"))
                .build(MemoryStore::new()),
            Err(Error::WeakPepper)
        ));
    });
}

/// Instances sharing a store must share the pepper: the first records its fingerprint, one
/// with another pepper is refused at start-up instead of refusing every key.
#[test]
fn an_instance_with_another_pepper_is_told_at_once() {
    block_on(async {
        let store = Arc::new(MemoryStore::new());
        let with = |pepper: u8| {
            ApiKeys::builder(KeyFormat::new("sk_test").unwrap())
                .pepper(Secret::new(vec![pepper; 32]))
                .build(Arc::clone(&store))
                .unwrap()
        };
        with(1).check_pepper().await.unwrap();
        with(1).check_pepper().await.unwrap();
        let refused = with(2).check_pepper().await.unwrap_err();
        assert!(
            matches!(refused, Error::PepperMismatch { .. }),
            "{refused:?}"
        );
        assert!(!refused.to_string().contains("0202"), "{refused}");
    });
}

#[test]
fn settings_are_checked() {
    block_on(async {
        let (keys, _) = keys_on(MemoryStore::new());
        for bad in [
            NewKey::new("", "no owner"),
            NewKey::new("a", "zero uses").with_max_uses(0),
            NewKey::new("a", "past").expires_at(UnixTime::from_secs(T0 - 1)),
            NewKey::new("a", "now").expires_at(UnixTime::from_secs(T0)),
        ] {
            assert!(
                matches!(keys.create(bad).await, Err(Error::Misconfigured(_))),
                "settings accepted"
            );
        }
        assert!(keys.store().is_empty());
        // The positive twins: the nearest good settings are accepted.
        for good in [
            NewKey::new("a", "one use").with_max_uses(1),
            NewKey::new("a", "a second from now").expires_at(UnixTime::from_secs(T0 + 1)),
        ] {
            let _issued = keys.create(good).await.unwrap();
        }
        assert_eq!(keys.store().len(), 2);
    });
}

#[test]
fn rotation_inherits_and_refuses_inactive_keys() {
    block_on(async {
        let (keys, clock) = keys_on(MemoryStore::new());
        let first = keys
            .create(
                NewKey::new("alice", "deploy")
                    .with_scopes(Scopes::from_space_separated("deploy"))
                    .expires_after(Duration::from_secs(86_400)),
            )
            .await
            .unwrap();
        clock.advance(Duration::from_secs(1000));
        let second = keys
            .rotate(&first.id(), Duration::from_secs(60))
            .await
            .unwrap();
        let r = second.record();
        assert_eq!((r.owner.as_str(), r.name.as_str()), ("alice", "deploy"));
        assert!(r.scopes.contains("deploy"));
        assert_eq!(r.created, UnixTime::from_secs(T0 + 1000));
        assert_eq!(r.expires, Some(UnixTime::from_secs(T0 + 1000 + 86_400)));
        assert!(matches!(
            keys.rotate(&first.id(), Duration::ZERO).await,
            Err(Error::AlreadyRotated { successor, .. }) if successor == second.id()
        ));
        keys.revoke(&second.id()).await.unwrap();
        assert!(matches!(
            keys.rotate(&second.id(), Duration::ZERO).await,
            Err(Error::Inactive(_))
        ));
        let listed: Vec<KeyId> = keys
            .list("alice")
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(listed, [first.id(), second.id()]);
    });
}

#[test]
fn nothing_secret_in_debug() {
    block_on(async {
        let (keys, _) = keys_on(MemoryStore::new());
        let issued = keys.create(NewKey::new("alice", "k")).await.unwrap();
        let secret = &issued.expose_key()["sk_test_".len() + 8..];
        let status = keys.check(issued.expose_key()).await.unwrap();
        assert!(matches!(status, KeyStatus::Valid(_)));
        for shown in [
            format!("{issued:?}"),
            format!("{keys:?}"),
            format!("{status:?}"),
            format!("{:?}", keys.store()),
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
    });
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use auth_apikey::SqliteStore;
    use std::path::PathBuf;

    /// A fresh directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "auth-apikey-it-{name}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn sqlite_store_contract() {
        let dir = TempDir::new("contract");
        let store = SqliteStore::open(dir.0.join("keys.db")).unwrap();
        block_on(store_contract(&store));
    }

    /// Rotations and a revocation of one key from several threads at once, each with its
    /// own connection to the writer: the state check and the update are one transaction.
    #[test]
    fn sqlite_transitions_race_safely() {
        let dir = TempDir::new("race");
        let store = SqliteStore::open(dir.0.join("keys.db")).unwrap();
        block_on(concurrent_transitions(&store, 5));
        for round in 0..20u32 {
            let old = format!("R{round:07}");
            block_on(store.insert(record(&old, "race", 100))).unwrap();
            let outcomes: Vec<_> = std::thread::scope(|scope| {
                let workers: Vec<_> = (0..4u32)
                    .map(|i| {
                        let store = &store;
                        let old = id(&old);
                        scope.spawn(move || {
                            let next = record(&format!("S{round:06}{i}"), "race", 200);
                            if i == 3 {
                                let at = UnixTime::from_secs(150);
                                block_on(store.revoke(&old, at)).map(|()| "revoked")
                            } else {
                                let until = UnixTime::from_secs(300);
                                block_on(store.rotate(&old, until, next)).map(|()| "rotated")
                            }
                        })
                    })
                    .collect();
                workers.into_iter().map(|w| w.join().unwrap()).collect()
            });
            let after = block_on(store.get(&id(&old))).unwrap().unwrap();
            let rotated = outcomes
                .iter()
                .filter(|o| matches!(o, Ok("rotated")))
                .count();
            assert!(rotated <= 1, "{outcomes:?}");
            assert_eq!(after.replaced_by.is_some(), rotated == 1, "{outcomes:?}");
            assert!(after.revoked.is_some());
            for o in &outcomes {
                assert!(
                    matches!(
                        o,
                        Ok(_) | Err(Error::AlreadyRotated { .. } | Error::Inactive(_))
                    ),
                    "{o:?}"
                );
            }
        }
    }

    #[test]
    fn keys_survive_reopen() {
        let dir = TempDir::new("reopen");
        let path = dir.0.join("keys.db");
        let (key, id) = block_on(async {
            let (keys, _) = keys_on(SqliteStore::open(&path).unwrap());
            let issued = keys.create(NewKey::new("alice", "k")).await.unwrap();
            let revoked = keys.create(NewKey::new("alice", "gone")).await.unwrap();
            keys.revoke(&revoked.id()).await.unwrap();
            (issued.expose_key().to_owned(), revoked.id())
        });
        block_on(async {
            let (keys, _) = keys_on(SqliteStore::open(&path).unwrap());
            assert!(keys.check(&key).await.unwrap().is_valid());
            assert!(keys.get(&id).await.unwrap().unwrap().revoked.is_some());
            assert_eq!(keys.list("alice").await.unwrap().len(), 2);
        });
    }

    /// A new database (and its WAL) is the owner's alone; settings are claimed once.
    #[test]
    fn a_new_database_is_private_and_settings_are_claimed_once() {
        let dir = TempDir::new("private");
        let path = dir.0.join("keys.db");
        let store = SqliteStore::open(&path).unwrap();
        block_on(store.insert(record("AAAAAAA1", "bob", 1))).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            for file in ["keys.db", "keys.db-wal"] {
                let mode = std::fs::metadata(dir.0.join(file))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "{file}");
            }
        }
        let claim = |s: &SqliteStore, name: &str, value: &str| {
            block_on(s.claim_setting(name, value)).unwrap()
        };
        assert_eq!(claim(&store, "fp", "a"), "a");
        assert_eq!(claim(&store, "fp", "b"), "a");
        assert_eq!(claim(&store, "other", "b"), "b");
        drop(store);
        let again = SqliteStore::open(&path).unwrap();
        assert_eq!(claim(&again, "fp", "c"), "a");
    }

    #[test]
    fn a_corrupt_row_is_a_store_error_not_a_refusal() {
        let dir = TempDir::new("corrupt");
        let path = dir.0.join("keys.db");
        let store = SqliteStore::open(&path).unwrap();
        block_on(store.insert(record("AAAAAAA1", "bob", 1))).unwrap();
        // A time no record can hold, written behind the store's back.
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute(
            "UPDATE api_keys SET expires_ns = -5 WHERE id = 'AAAAAAA1'",
            [],
        )
        .unwrap();
        let err = block_on(store.get(&id("AAAAAAA1"))).unwrap_err();
        assert!(matches!(err, Error::Store { .. }), "{err}");
        let core: auth_core::Error = err.into();
        assert_eq!(core.status(), 503);
    }

    /// Set in the child process of `crash_mid_write`: the database it writes to.
    const CRASH_DB: &str = "AUTH_APIKEY_CRASH_TEST_DB";

    /// The child of `crash_mid_write`: issues and rotates keys until it is killed, printing
    /// each key once its transaction committed.
    #[allow(clippy::print_stdout)] // stdout is how the parent learns what was committed
    fn crash_child(path: &std::ffi::OsStr) {
        block_on(async {
            let (keys, _) = keys_on(SqliteStore::open(path).unwrap());
            for i in 0..10_000 {
                let issued = keys
                    .create(NewKey::new("alice", format!("k{i}")))
                    .await
                    .unwrap();
                println!("committed {}", issued.expose_key());
                let next = keys
                    .rotate(&issued.id(), Duration::from_secs(3600))
                    .await
                    .unwrap();
                println!("rotated {} {}", issued.id(), next.expose_key());
            }
        });
    }

    /// A process killed (SIGKILL) in the middle of its writes loses no committed key and
    /// leaves no half-done rotation.
    #[test]
    fn crash_mid_write() {
        use std::io::{BufRead, BufReader};
        if let Some(path) = std::env::var_os(CRASH_DB) {
            return crash_child(&path);
        }
        let dir = TempDir::new("crash");
        let path = dir.0.join("keys.db");
        // This same test, in a new process, as the child.
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "sqlite::crash_mid_write",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_DB, &path)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut committed = Vec::new();
        let mut rotated = Vec::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            let words: Vec<&str> = line.split(' ').collect();
            match words.as_slice() {
                ["committed", key] => committed.push((*key).to_owned()),
                ["rotated", old, key] => rotated.push(((*old).to_owned(), (*key).to_owned())),
                _ => continue,
            }
            if committed.len() >= 40 {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(
            committed.len(),
            40,
            "the child stopped before it was killed"
        );
        assert!(rotated.len() >= 39);

        let raw = rusqlite::Connection::open(&path).unwrap();
        let check: String = raw
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        drop(raw);
        block_on(async {
            let (keys, _) = keys_on(SqliteStore::open(&path).unwrap());
            for key in &committed {
                assert!(
                    keys.check(key).await.unwrap().is_valid(),
                    "a committed key was lost"
                );
            }
            for (old, successor) in &rotated {
                assert!(keys.check(successor).await.unwrap().is_valid());
                let old = keys.get(&id(old)).await.unwrap().unwrap();
                assert!(old.replaced_by.is_some() && old.expires.is_some());
            }
            // Whatever was in flight is all there or not there: every rotated key has its
            // successor in the store.
            for record in keys.list("alice").await.unwrap() {
                if let Some(next) = record.replaced_by {
                    assert!(keys.get(&next).await.unwrap().is_some(), "half a rotation");
                }
            }
        });
    }
}
