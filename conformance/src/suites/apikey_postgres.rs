//! auth-apikey-postgres: the PostgreSQL store against the memory store (random operation
//! sequences, compared result for result), and the fleet promise of issue 10: a key created
//! on one instance verifies on another, a revocation is pushed at once, and a change whose
//! notification is lost is seen within `max_stale`.
//!
//! Runs against the server from `.ci/services` (`AUTH_RS_DATABASE_URL`), each case in a
//! schema of its own.

use std::sync::Arc;
use std::time::Duration;

use auth_apikey::{
    ApiKeys, Error, KeyFormat, KeyHasher, KeyId, KeyRecord, KeyStore, MemoryStore, NewKey, Refusal,
};
use auth_apikey_postgres::PgStore;
use auth_core::{ManualClock, Scopes, UnixTime};
use proptest::prelude::*;

use crate::harness::{CheckResult, Suite, block_on, check, ensure, ensure_eq};
use crate::services::Service;

const T0: u64 = 1_700_000_000;
const BOUND: Duration = Duration::from_secs(10);
const SECTION: &str = "design (fleet key store, bounded revocation delay)";

fn url() -> String {
    std::env::var("AUTH_RS_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://auth_rs:auth_rs@127.0.0.1:5433/auth_rs".to_owned())
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Empties `schema` (a rerun starts clean) and opens a store on it.
async fn store(schema: &str, clock: &ManualClock, fresh: bool) -> Result<PgStore, String> {
    if fresh {
        let (client, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("PostgreSQL from .ci/services: {e}"))?;
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await
            .map_err(err)?;
    }
    PgStore::builder(&url())
        .map_err(err)?
        .schema(schema)
        .max_stale(BOUND)
        .clock(Arc::new(clock.clone()))
        .connect()
        .await
        .map_err(err)
}

async fn fleet(schema: &str) -> Result<(ApiKeys<PgStore>, ApiKeys<PgStore>, ManualClock), String> {
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let keys = |s| {
        ApiKeys::builder(KeyFormat::new("sk_test").map_err(err)?)
            .clock(Arc::new(clock.clone()))
            .build(s)
            .map_err(err)
    };
    let a = keys(store(schema, &clock, true).await?)?;
    let b = keys(store(schema, &clock, false).await?)?;
    // `connect` waits for its listener only up to a timeout: wait for the event itself, so
    // that a late listener can neither miss a notification nor clear a cache a case filled.
    for k in [&a, &b] {
        let mut sync = k.store().sync_state();
        tokio::time::timeout(Duration::from_secs(20), sync.wait_for(|s| s.listening))
            .await
            .map_err(|_| "a listener never connected".to_owned())?
            .map_err(err)?;
    }
    Ok((a, b, clock))
}

async fn refusal(keys: &ApiKeys<PgStore>, key: &str) -> Result<Option<Refusal>, String> {
    Ok(keys.check(key).await.map_err(err)?.refusal())
}

/// One store operation on key slot `0..6`.
#[derive(Debug, Clone)]
enum Op {
    Insert(u8, bool, Option<u64>),
    Get(u8),
    List(bool),
    Revoke(u8, u64),
    SetExpires(u8, Option<u64>),
    Consume(u8),
    Rotate(u8, u64, u8),
}

fn op() -> impl Strategy<Value = Op> {
    let slot = 0u8..6;
    prop_oneof![
        (slot.clone(), any::<bool>(), prop::option::of(0u64..3))
            .prop_map(|(k, o, u)| Op::Insert(k, o, u)),
        slot.clone().prop_map(Op::Get),
        any::<bool>().prop_map(Op::List),
        (slot.clone(), 0u64..100).prop_map(|(k, t)| Op::Revoke(k, t)),
        (slot.clone(), prop::option::of(0u64..100)).prop_map(|(k, t)| Op::SetExpires(k, t)),
        slot.clone().prop_map(Op::Consume),
        (slot.clone(), 0u64..100, slot).prop_map(|(k, t, n)| Op::Rotate(k, t, n)),
    ]
}

fn key_id(slot: u8) -> KeyId {
    #[allow(clippy::unwrap_used)] // eight base62 characters
    format!("PGKEY00{slot}").parse().unwrap()
}

fn rec(slot: u8, bob: bool, uses: Option<u64>, created: u64) -> KeyRecord {
    let id = key_id(slot);
    let digest = KeyHasher::sha256().digest(id.as_str().as_bytes());
    let (owner, name) = (if bob { "bob" } else { "eve" }, format!("key {slot}"));
    let created = UnixTime::from_secs(created);
    let mut r = KeyRecord::new(id, digest, ("sk_test", owner, &name), created);
    r.scopes = Scopes::from_space_separated("read");
    r.remaining_uses = uses;
    r
}

/// What an operation gave, in a form both stores can be compared on.
fn view(r: &KeyRecord) -> String {
    format!(
        "{} {} {:?} {:?} {:?} {:?} {:?}",
        r.id, r.owner, r.created, r.expires, r.revoked, r.remaining_uses, r.replaced_by
    )
}

fn outcome<T>(r: Result<T, Error>, ok: impl FnOnce(T) -> String) -> String {
    match r {
        Ok(v) => ok(v),
        Err(Error::NotFound(id)) => format!("not found {id}"),
        Err(Error::Duplicate(id)) => format!("duplicate {id}"),
        Err(Error::AlreadyRotated { id, successor }) => format!("rotated {id} {successor}"),
        Err(other) => format!("other error: {other}"),
    }
}

async fn apply<S: KeyStore>(s: &S, op: &Op, step: u64) -> String {
    let t = UnixTime::from_secs;
    match *op {
        Op::Insert(k, bob, uses) => {
            outcome(s.insert(rec(k, bob, uses, step)).await, |()| "ok".into())
        }
        Op::Get(k) => outcome(s.get(&key_id(k)).await, |r| {
            r.map_or("none".into(), |r| view(&r))
        }),
        Op::List(bob) => outcome(
            s.list_by_owner(if bob { "bob" } else { "eve" }).await,
            |v| v.iter().map(view).collect::<Vec<_>>().join("; "),
        ),
        Op::Revoke(k, at) => outcome(s.revoke(&key_id(k), t(at)).await, |()| "ok".into()),
        Op::SetExpires(k, at) => {
            outcome(s.set_expires(&key_id(k), at.map(t)).await, |()| "ok".into())
        }
        Op::Consume(k) => outcome(s.consume_use(&key_id(k)).await, |b| b.to_string()),
        Op::Rotate(k, at, n) => outcome(
            s.rotate(&key_id(k), t(at), rec(n, true, None, step)).await,
            |()| "ok".into(),
        ),
    }
}

/// Random operation sequences give the same results on PostgreSQL as on the memory store.
fn agrees_with_the_memory_store() -> CheckResult {
    check(12, prop::collection::vec(op(), 1..40), |ops| {
        let result: Result<(), String> = block_on(async {
            let clock = ManualClock::new(UnixTime::from_secs(T0));
            let pg = store("conf_pg_differential", &clock, true).await?;
            let mem = MemoryStore::new();
            for (step, op) in (0u64..).zip(&ops) {
                let (want, got) = (apply(&mem, op, step).await, apply(&pg, op, step).await);
                ensure_eq(&format!("step {step}: {op:?}"), got, want)?;
            }
            Ok(())
        });
        result.map_err(TestCaseError::fail)
    })
}

fn a_key_created_on_one_instance_verifies_on_another_and_revocation_is_pushed() -> CheckResult {
    block_on(async {
        let (a, b, _) = fleet("conf_pg_push").await?;
        let issued = a.create(NewKey::new("acme", "ci")).await.map_err(err)?;
        ensure_eq("on b", refusal(&b, issued.expose_key()).await?, None)?;
        let mut sync = b.store().sync_state();
        let seen = sync.borrow().notifications;
        a.revoke(&issued.id()).await.map_err(err)?;
        tokio::time::timeout(
            Duration::from_secs(20),
            sync.wait_for(|s| s.notifications > seen),
        )
        .await
        .map_err(|_| "no notification reached b".to_owned())?
        .map_err(err)?;
        // The manual clock never moved: the push did it.
        ensure_eq(
            "on b after revoke",
            refusal(&b, issued.expose_key()).await?,
            Some(Refusal::Revoked),
        )
    })
}

fn a_lost_notification_is_bounded_by_max_stale() -> CheckResult {
    block_on(async {
        let (a, b, clock) = fleet("conf_pg_lost").await?;
        let issued = a.create(NewKey::new("acme", "ci")).await.map_err(err)?;
        ensure_eq("on b", refusal(&b, issued.expose_key()).await?, None)?;
        // Revoked without a notification, as if it had been lost.
        let (client, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
            .await
            .map_err(err)?;
        tokio::spawn(conn);
        let n = client
            .execute(
                "UPDATE conf_pg_lost.api_keys SET revoked_ns = 1 WHERE id = $1",
                &[&issued.id().as_str()],
            )
            .await
            .map_err(err)?;
        ensure_eq("rows revoked", n, 1)?;
        clock.advance(BOUND - Duration::from_millis(1));
        ensure_eq(
            "inside the bound (cached)",
            refusal(&b, issued.expose_key()).await?,
            None,
        )?;
        clock.advance(Duration::from_millis(1));
        let at_bound = refusal(&b, issued.expose_key()).await?;
        ensure(at_bound == Some(Refusal::Revoked), || {
            format!("at max_stale b must refuse, got {at_bound:?}")
        })
    })
}

/// The suite.
pub fn suite() -> Suite {
    let mut s = Suite::needing("auth-apikey-postgres", &[Service::Postgres]);
    s.case(
        "random operation sequences agree with the memory store",
        "auth-apikey store contract",
        agrees_with_the_memory_store,
    );
    s.case(
        "a key created on one instance verifies on another; a revocation is pushed at once",
        SECTION,
        a_key_created_on_one_instance_verifies_on_another_and_revocation_is_pushed,
    );
    s.case(
        "a change whose notification is lost is refused within max_stale",
        SECTION,
        a_lost_notification_is_bounded_by_max_stale,
    );
    s
}
