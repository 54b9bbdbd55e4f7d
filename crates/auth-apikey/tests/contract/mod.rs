//! auth-apikey's store contract: what every `KeyStore` must do, with the memory store as
//! the reference. Shared as a file (integration tests cannot share code otherwise): this
//! crate's tests and auth-apikey-postgres's include it with `mod contract;` /
//! `#[path = ...] mod contract;`.
#![allow(dead_code, clippy::unwrap_used)]

use std::num::NonZeroU32;
use std::time::Duration;

use auth_apikey::{Error, KeyHasher, KeyId, KeyRecord, KeyStore, RateQuota};
use auth_core::{Scopes, UnixTime};

/// The instant the tests start at.
pub(crate) const T0: u64 = 1_700_000_000;

pub(crate) fn record(id: &str, owner: &str, created: u64) -> KeyRecord {
    let digest = KeyHasher::sha256().digest(id.as_bytes());
    let name = format!("key {id}");
    let created = UnixTime::from_secs(created);
    let mut r = KeyRecord::new(
        id.parse().unwrap(),
        digest,
        ("sk_test", owner, &name),
        created,
    );
    r.scopes = Scopes::from_space_separated("read write");
    r.expires = Some(created.saturating_add(Duration::from_secs(3600)));
    r.remaining_uses = Some(3);
    r.rate_quota = Some(
        RateQuota::new(NonZeroU32::new(100).unwrap(), Duration::from_secs(60))
            .unwrap()
            .with_burst(NonZeroU32::new(10).unwrap()),
    );
    r
}

pub(crate) fn id(s: &str) -> KeyId {
    s.parse().unwrap()
}

/// What every store must do; the memory store is the reference.
pub(crate) async fn store_contract<S: KeyStore>(s: &S) {
    let r1 = record("AAAAAAA1", "bob", 10);
    s.insert(r1.clone()).await.unwrap();
    s.insert(record("AAAAAAA2", "bob", 5)).await.unwrap();
    s.insert(record("AAAAAAA3", "eve", 1)).await.unwrap();
    assert!(matches!(
        s.insert(record("AAAAAAA1", "mallory", 1)).await,
        Err(Error::Duplicate(_))
    ));

    // A record comes back field for field.
    let got = s.get(&r1.id).await.unwrap().unwrap();
    assert!(got.digest.ct_eq(&r1.digest));
    assert_eq!(
        (&got.prefix, &got.owner, &got.name, &got.scopes),
        (&r1.prefix, &r1.owner, &r1.name, &r1.scopes)
    );
    assert_eq!(
        (got.created, got.expires, got.revoked, got.remaining_uses),
        (r1.created, r1.expires, r1.revoked, r1.remaining_uses)
    );
    assert_eq!((got.rate_quota, got.replaced_by), (r1.rate_quota, None));
    assert!(s.get(&id("ZZZZZZZZ")).await.unwrap().is_none());

    let bob: Vec<KeyId> = s
        .list_by_owner("bob")
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(bob, [id("AAAAAAA2"), id("AAAAAAA1")], "oldest first");
    assert!(s.list_by_owner("nobody").await.unwrap().is_empty());

    // Revocation keeps the first time.
    s.revoke(&r1.id, UnixTime::from_secs(20)).await.unwrap();
    s.revoke(&r1.id, UnixTime::from_secs(30)).await.unwrap();
    assert_eq!(
        s.get(&r1.id).await.unwrap().unwrap().revoked,
        Some(UnixTime::from_secs(20))
    );
    assert!(matches!(
        s.revoke(&id("ZZZZZZZZ"), UnixTime::EPOCH).await,
        Err(Error::NotFound(_))
    ));

    let exact = UnixTime::from_duration(Duration::new(T0, 123_456_789));
    s.set_expires(&r1.id, Some(exact)).await.unwrap();
    assert_eq!(s.get(&r1.id).await.unwrap().unwrap().expires, Some(exact));
    s.set_expires(&r1.id, None).await.unwrap();
    assert_eq!(s.get(&r1.id).await.unwrap().unwrap().expires, None);

    // Uses run out, and stay out.
    let r2 = id("AAAAAAA2");
    for _ in 0..3 {
        assert!(s.consume_use(&r2).await.unwrap());
    }
    assert!(!s.consume_use(&r2).await.unwrap());
    assert!(!s.consume_use(&r2).await.unwrap());
    assert_eq!(s.get(&r2).await.unwrap().unwrap().remaining_uses, Some(0));
    let mut unlimited = record("AAAAAAA4", "bob", 11);
    unlimited.remaining_uses = None;
    s.insert(unlimited).await.unwrap();
    assert!(s.consume_use(&id("AAAAAAA4")).await.unwrap());

    // Rotation: all or nothing.
    let old = id("AAAAAAA3");
    let until = UnixTime::from_secs(600);
    let clash = s.rotate(&old, until, record("AAAAAAA1", "eve", 2)).await;
    assert!(matches!(clash, Err(Error::Duplicate(_))), "{clash:?}");
    let untouched = s.get(&old).await.unwrap().unwrap();
    assert_eq!(
        (untouched.expires, untouched.replaced_by),
        (Some(UnixTime::from_secs(3601)), None),
        "a failed rotation changes nothing"
    );
    s.rotate(&old, until, record("AAAAAAA5", "eve", 2))
        .await
        .unwrap();
    let rotated = s.get(&old).await.unwrap().unwrap();
    assert_eq!(rotated.expires, Some(until));
    assert_eq!(rotated.replaced_by, Some(id("AAAAAAA5")));
    assert!(s.get(&id("AAAAAAA5")).await.unwrap().is_some());
    assert!(matches!(
        s.rotate(&old, until, record("AAAAAAA6", "eve", 3)).await,
        Err(Error::AlreadyRotated { .. })
    ));
    assert!(s.get(&id("AAAAAAA6")).await.unwrap().is_none());
    // An earlier expiry is kept.
    s.rotate(
        &id("AAAAAAA5"),
        UnixTime::from_secs(1_000_000),
        record("AAAAAAA7", "eve", 4),
    )
    .await
    .unwrap();
    assert_eq!(
        s.get(&id("AAAAAAA5")).await.unwrap().unwrap().expires,
        Some(UnixTime::from_secs(3602))
    );
    assert!(matches!(
        s.rotate(&id("ZZZZZZZZ"), until, record("AAAAAAA8", "eve", 4))
            .await,
        Err(Error::NotFound(_))
    ));

    // The state check is part of the rotation's one step: a key revoked after a caller read
    // it active (a revocation racing the rotation) gets no successor.
    s.insert(record("AAAAAAB1", "eve", 20)).await.unwrap();
    s.insert(record("AAAAAAB2", "eve", 20)).await.unwrap();
    let (b1, b2) = (id("AAAAAAB1"), id("AAAAAAB2"));
    s.revoke(&b1, UnixTime::from_secs(30)).await.unwrap();
    let revoked = s.rotate(&b1, until, record("AAAAAAB3", "eve", 40)).await;
    assert!(matches!(revoked, Err(Error::Inactive(_))), "{revoked:?}");
    assert!(s.get(&id("AAAAAAB3")).await.unwrap().is_none());
    assert_eq!(
        s.get(&id("AAAAAAB1")).await.unwrap().unwrap().replaced_by,
        None
    );
    // Expired at the rotation's time (AAAAAAB2 expires at 3620): no successor either.
    let late = s.rotate(&b2, until, record("AAAAAAB4", "eve", 3620)).await;
    assert!(matches!(late, Err(Error::Inactive(_))), "{late:?}");
    assert!(s.get(&id("AAAAAAB4")).await.unwrap().is_none());
    // The positive twin: a second before its expiry, the same key rotates.
    s.rotate(&b2, until, record("AAAAAAB5", "eve", 3619))
        .await
        .unwrap();
    assert_eq!(
        s.get(&id("AAAAAAB2")).await.unwrap().unwrap().replaced_by,
        Some(id("AAAAAAB5"))
    );
}

/// Two transitions of one key at once (truly concurrent on a store whose futures wait on
/// I/O; one after the other on one that answers at once), `rounds` times: of several concurrent rotations
/// exactly one succeeds (the others see it rotated), and a revocation racing a rotation
/// never leaves a successor to a key that was revoked before the rotation took effect.
pub(crate) async fn concurrent_transitions<S: KeyStore>(s: &S, rounds: u32) {
    for round in 0..rounds {
        let old = format!("C{round:07}");
        s.insert(record(&old, "race", 100)).await.unwrap();
        let old = id(&old);
        let rotate = |i: u32| {
            let successor = record(&format!("D{round:06}{i}"), "race", 200);
            s.rotate(&old, UnixTime::from_secs(300), successor)
        };
        let (a, b, c, d) = tokio::join!(rotate(0), rotate(1), rotate(2), rotate(3));
        let outcomes = [a, b, c, d];
        let won = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(won, 1, "round {round}: {outcomes:?}");
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Ok(()) | Err(Error::AlreadyRotated { .. }))),
            "{outcomes:?}"
        );

        let other = format!("E{round:07}");
        s.insert(record(&other, "race", 100)).await.unwrap();
        let successor = record(&format!("F{round:07}"), "race", 200);
        let other = id(&other);
        let (rotated, revoked) = tokio::join!(
            s.rotate(&other, UnixTime::from_secs(300), successor),
            s.revoke(&other, UnixTime::from_secs(150)),
        );
        revoked.unwrap();
        let after = s.get(&other).await.unwrap().unwrap();
        assert!(after.revoked.is_some());
        match rotated {
            Ok(()) => assert!(after.replaced_by.is_some()),
            Err(Error::Inactive(_)) => assert_eq!(after.replaced_by, None),
            Err(e) => panic!("round {round}: {e:?}"),
        }
    }
}
