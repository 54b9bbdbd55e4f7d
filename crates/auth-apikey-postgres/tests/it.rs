//! Integration tests on a real PostgreSQL: the store contract shared with auth-apikey's
//! stores, two instances (two connections each, as two servers would have) with change
//! notifications, the staleness bound when notifications are lost, and a database that
//! stops and restarts under the instances.
//!
//! The shared server comes from `.ci/services` (`AUTH_RS_DATABASE_URL`); each test works in
//! a schema of its own. The restart test runs a private server on its own port and data
//! directory, so the shared one is never stopped. TLS: see [`tls`].
#![allow(clippy::unwrap_used)]

#[path = "it/private_pg.rs"]
mod private_pg;
#[path = "it/tls.rs"]
mod tls;
#[path = "../../../.ci/tls_files.rs"]
mod tls_files;

use std::sync::Arc;
use std::time::Duration;

use auth_apikey::{ApiKeys, Error, KeyFormat, KeyStatus};
use auth_apikey::{KeyStore as _, NewKey, Refusal};
use auth_apikey_postgres::{PgStore, SyncState};
use auth_core::{ManualClock, UnixTime};

// auth-apikey's store contract, the very file its memory and SQLite stores are checked with.
#[path = "../../auth-apikey/tests/contract/mod.rs"]
mod contract;

use contract::{T0, concurrent_transitions, store_contract};
use private_pg::PrivatePg;

const BOUND: Duration = Duration::from_secs(10);

fn url() -> String {
    std::env::var("AUTH_RS_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://auth_rs:auth_rs@127.0.0.1:5433/auth_rs".into())
}

/// A schema for one test, emptied first (so a rerun starts clean).
async fn schema(url: &str, test: &str) -> String {
    let name = format!("it_{test}");
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL from .ci/services (run `bash .ci/services`)");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
        .await
        .unwrap();
    name
}

async fn instance(url: &str, schema: &str, clock: &ManualClock) -> ApiKeys<PgStore> {
    let store = PgStore::builder(url)
        .unwrap()
        .schema(schema)
        .max_stale(BOUND)
        .connect_timeout(Duration::from_secs(2))
        .clock(Arc::new(clock.clone()))
        .connect()
        .await
        .unwrap();
    ApiKeys::builder(KeyFormat::new("sk_test").unwrap())
        .clock(Arc::new(clock.clone()))
        .build(store)
        .unwrap()
}

/// Two servers' worth of key stores over one schema, on one manual clock.
async fn fleet(url: &str, test: &str) -> (ApiKeys<PgStore>, ApiKeys<PgStore>, ManualClock) {
    let schema = schema(url, test).await;
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let a = instance(url, &schema, &clock).await;
    let b = instance(url, &schema, &clock).await;
    // `connect` waits for the listener only up to its timeout: wait for the event itself, so
    // that a late listener can neither miss a notification nor clear a cache a test filled.
    for keys in [&a, &b] {
        until(keys, |s| s.listening).await;
    }
    (a, b, clock)
}

/// Waits (for an event, not for time) until the listener state satisfies `f`.
async fn until(keys: &ApiKeys<PgStore>, f: impl FnMut(&SyncState) -> bool) -> SyncState {
    let mut rx = keys.store().sync_state();
    let state = tokio::time::timeout(Duration::from_secs(20), rx.wait_for(f))
        .await
        .expect("listener state never came")
        .unwrap();
    *state
}

fn notifications(keys: &ApiKeys<PgStore>) -> u64 {
    keys.store().sync_state().borrow().notifications
}

async fn status(keys: &ApiKeys<PgStore>, key: &str) -> Result<KeyStatus, Error> {
    keys.check(key).await
}

async fn refusal(keys: &ApiKeys<PgStore>, key: &str) -> Option<Refusal> {
    status(keys, key).await.unwrap().refusal()
}

/// 503, as auth-core answers for this error.
fn is_unavailable(e: Error) -> bool {
    auth_core::Error::from(e).status() == 503
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_contract() {
    let (a, _, _) = fleet(&url(), "contract").await;
    store_contract(a.store()).await;
    // Two instances' transitions of one key at once: the row lock orders them.
    let (b, _, _) = fleet(&url(), "race").await;
    concurrent_transitions(b.store(), 10).await;
}

/// Two instances claiming a setting at once: one value wins, and both read it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setting_is_claimed_once_for_the_fleet() {
    let (a, b, _) = fleet(&url(), "settings").await;
    let (x, y) = tokio::join!(
        a.store().claim_setting("pepper", "from-a"),
        b.store().claim_setting("pepper", "from-b")
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x, y);
    assert!(x == "from-a" || x == "from-b", "{x}");
    // Later claims read the first value; other names are their own.
    assert_eq!(a.store().claim_setting("pepper", "late").await.unwrap(), x);
    assert_eq!(b.store().claim_setting("other", "v").await.unwrap(), "v");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_versioned_and_idempotent() {
    let url = url();
    let schema = schema(&url, "migrate").await;
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    // Four instances starting together: the advisory lock serializes them.
    let (a, b, c, d) = tokio::join!(
        instance(&url, &schema, &clock),
        instance(&url, &schema, &clock),
        instance(&url, &schema, &clock),
        instance(&url, &schema, &clock)
    );
    let issued = a.create(NewKey::new("acme", "ci")).await.unwrap();
    drop((b, c, d));
    let again = instance(&url, &schema, &clock).await;
    assert!(
        status(&again, issued.expose_key())
            .await
            .unwrap()
            .is_valid(),
        "data kept"
    );
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let versions: Vec<i32> = client
        .query(
            &format!("SELECT version FROM {schema}.schema_migrations"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, [1, 2]);
    let bad = PgStore::builder(&url)
        .unwrap()
        .schema("x; DROP TABLE y")
        .connect()
        .await;
    assert!(matches!(bad, Err(Error::Misconfigured(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_created_on_one_instance_verifies_on_another_and_its_revocation_is_pushed() {
    let (a, b, _clock) = fleet(&url(), "push").await;
    let issued = a.create(NewKey::new("acme", "ci")).await.unwrap();
    assert!(status(&b, issued.expose_key()).await.unwrap().is_valid());
    assert_eq!(
        b.store().cached(),
        1,
        "b verified from the database and cached it"
    );

    let seen = notifications(&b);
    a.revoke(&issued.id()).await.unwrap();
    until(&b, |s| s.notifications > seen).await;
    // The clock has not moved: the notification, not the bound, did it.
    assert_eq!(
        refusal(&b, issued.expose_key()).await,
        Some(Refusal::Revoked)
    );
    assert_eq!(
        refusal(&a, issued.expose_key()).await,
        Some(Refusal::Revoked)
    );

    // Rotation is pushed too: the old key's expiry moves forward on b at once.
    let old = a.create(NewKey::new("acme", "old")).await.unwrap();
    assert!(status(&b, old.expose_key()).await.unwrap().is_valid());
    let seen = notifications(&b);
    let new = a.rotate(&old.id(), Duration::ZERO).await.unwrap();
    until(&b, |s| s.notifications > seen).await;
    assert_eq!(refusal(&b, old.expose_key()).await, Some(Refusal::Expired));
    assert!(status(&b, new.expose_key()).await.unwrap().is_valid());
}

/// A key that `b` verified and cached, then revoked behind the stores' back (no notification
/// at all, as if it had been lost), in the fleet's schema `it_<test>`.
async fn revoked_unseen(test: &str) -> (ApiKeys<PgStore>, ManualClock, String) {
    let url = url();
    let (a, b, clock) = fleet(&url, test).await;
    let issued = a.create(NewKey::new("acme", "ci")).await.unwrap();
    assert!(status(&b, issued.expose_key()).await.unwrap().is_valid());
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let sql = format!("UPDATE it_{test}.api_keys SET revoked_ns = $2 WHERE id = $1");
    let at = i64::try_from(UnixTime::from_secs(T0).as_nanos()).unwrap();
    let changed = client.execute(&sql, &[&issued.id().as_str(), &at]).await;
    assert_eq!(changed.unwrap(), 1);
    (b, clock, issued.expose_key().to_owned())
}

/// After `revoked_unseen`: still served from the cache a nanosecond inside the bound,
/// refused at it.
async fn refused_at_the_bound(b: &ApiKeys<PgStore>, clock: &ManualClock, key: &str) {
    clock.advance(BOUND - Duration::from_nanos(1));
    assert!(status(b, key).await.unwrap().is_valid(), "cached, in bound");
    clock.advance(Duration::from_nanos(1));
    assert_eq!(
        refusal(b, key).await,
        Some(Refusal::Revoked),
        "at the bound"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_notification_is_lost_is_seen_within_the_bound() {
    let (b, clock, key) = revoked_unseen("lost").await;
    refused_at_the_bound(&b, &clock, &key).await;
}

/// The bound is measured on the clock's monotonic reading: a wall clock set back an hour
/// (an NTP correction) does not keep a revoked key cached an hour longer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wall_clock_stepping_back_does_not_stretch_the_bound() {
    let (b, clock, key) = revoked_unseen("stepback").await;
    clock.set(UnixTime::from_secs(T0 - 3600));
    refused_at_the_bound(&b, &clock, &key).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_listener_falls_back_to_the_bound_and_reconnects() {
    let url = url();
    let (a, b, clock) = fleet(&url, "killed").await;
    let first = a.create(NewKey::new("acme", "one")).await.unwrap();
    let second = a.create(NewKey::new("acme", "two")).await.unwrap();
    for k in [&first, &second] {
        assert!(status(&b, k.expose_key()).await.unwrap().is_valid());
    }
    until(&b, |s| s.listening).await;

    // Kill b's listener (and only b's: a's has the same name, so spare a's by pid).
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let killed: i64 = client
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = 'auth-apikey listener it_killed') t",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(killed, 2, "both instances' listeners");
    a.revoke(&first.id()).await.unwrap();
    // Whether or not b was listening again in time, the bound holds.
    clock.advance(BOUND);
    assert_eq!(
        refusal(&b, first.expose_key()).await,
        Some(Refusal::Revoked)
    );

    // b listens again (and cleared its cache when it did); notifications flow once more.
    until(&b, |s| s.listening && s.connects >= 2).await;
    assert!(status(&b, second.expose_key()).await.unwrap().is_valid());
    let seen = notifications(&b);
    a.revoke(&second.id()).await.unwrap();
    until(&b, |s| s.notifications > seen).await;
    assert_eq!(
        refusal(&b, second.expose_key()).await,
        Some(Refusal::Revoked)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_loses_nothing_and_an_outage_is_503_beyond_the_cache() {
    let pg = PrivatePg::new("restart");
    let (a, b, clock) = fleet(&pg.url(), "restart").await;
    let cached = a.create(NewKey::new("acme", "cached")).await.unwrap();
    let unseen = a.create(NewKey::new("acme", "unseen")).await.unwrap();
    assert!(status(&b, cached.expose_key()).await.unwrap().is_valid());

    pg.stop();
    until(&b, |s| !s.listening).await;
    // Cached keys keep working up to the bound; anything needing the database is 503.
    assert!(status(&b, cached.expose_key()).await.unwrap().is_valid());
    let err = status(&b, unseen.expose_key()).await.unwrap_err();
    assert!(
        is_unavailable(err),
        "unknown key while the database is down"
    );
    let err = a.revoke(&cached.id()).await.unwrap_err();
    assert!(is_unavailable(err), "a write while the database is down");
    clock.advance(BOUND);
    let err = status(&b, cached.expose_key()).await.unwrap_err();
    assert!(
        is_unavailable(err),
        "past the bound: no decision, never a pass or a 401"
    );

    pg.start();
    // Both instances reconnect by themselves; nothing was lost.
    for keys in [&a, &b] {
        for k in [&cached, &unseen] {
            assert!(status(keys, k.expose_key()).await.unwrap().is_valid());
        }
    }
    until(&b, |s| s.listening && s.connects >= 2).await;
    let seen = notifications(&b);
    a.revoke(&cached.id()).await.unwrap();
    until(&b, |s| s.notifications > seen).await;
    assert_eq!(
        refusal(&b, cached.expose_key()).await,
        Some(Refusal::Revoked)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uses_are_counted_across_the_fleet_though_records_are_cached() {
    let (a, b, _clock) = fleet(&url(), "uses").await;
    let issued = a
        .create(NewKey::new("acme", "two uses").with_max_uses(2))
        .await
        .unwrap();
    // Both instances cache the record with two uses left; the count lives in the database.
    assert!(status(&a, issued.expose_key()).await.unwrap().is_valid());
    assert!(status(&b, issued.expose_key()).await.unwrap().is_valid());
    assert_eq!(
        refusal(&a, issued.expose_key()).await,
        Some(Refusal::Exhausted)
    );
    assert_eq!(
        refusal(&b, issued.expose_key()).await,
        Some(Refusal::Exhausted)
    );
}

/// On another executor (here, a bare poll loop) the store cannot spawn its connections'
/// tasks: an error that says so, not Tokio's panic.
#[test]
fn connect_outside_a_tokio_runtime_is_an_error() {
    let connect = PgStore::builder(&url()).unwrap().connect();
    let mut connect = std::pin::pin!(connect);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let std::task::Poll::Ready(result) = connect.as_mut().poll(&mut cx) else {
        panic!("the check comes before any I/O");
    };
    assert!(
        matches!(&result, Err(Error::Misconfigured(why)) if why.contains("Tokio runtime")),
        "{:?}",
        result.err()
    );
}
