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
        // And as auth-core's OwnQuota, for the key's id, for rate limit gates.
        let own = p.attribute::<auth_core::OwnQuota>().unwrap();
        assert_eq!((own.id(), own.name()), (issued.id().as_str(), "key"));
        assert_eq!(
            (own.requests().get(), own.period()),
            (5, Duration::from_secs(1))
        );
        let TokenVerdict::Invalid(reason) = keys.verify("sk_test_nope").await.unwrap() else {
            panic!("malformed key accepted");
        };
        assert_eq!(reason, "malformed key");
    });
}

#[test]
fn a_keys_own_quota_follows_it_through_rotation_and_a_key_without_one_has_none() {
    block_on(async {
        use auth_core::OwnQuota;
        let (keys, _) = keys_on(MemoryStore::new());
        let two = NonZeroU32::new(2).unwrap();
        let quota = RateQuota::new(two, Duration::from_secs(60)).unwrap();
        let old = keys
            .create(NewKey::new("alice", "ci").with_rate_quota(quota))
            .await
            .unwrap();
        let new = keys.rotate(&old.id(), Duration::ZERO).await.unwrap();
        let TokenVerdict::Valid(p) = keys.verify(new.expose_key()).await.unwrap() else {
            panic!("successor refused");
        };
        let own = p.attribute::<OwnQuota>().unwrap();
        assert_eq!((own.id(), own.requests()), (new.id().as_str(), two));
        let plain = keys.create(NewKey::new("alice", "plain")).await.unwrap();
        let TokenVerdict::Valid(p) = keys.verify(plain.expose_key()).await.unwrap() else {
            panic!("valid key refused");
        };
        assert!(p.attribute::<OwnQuota>().is_none());
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
mod sqlite;
