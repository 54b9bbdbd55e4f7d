//! Two instances of a service sharing keys in PostgreSQL: a key issued on one verifies on
//! the other, and a revocation on one is refused on the other as soon as the notification
//! arrives. Needs the PostgreSQL from `bash .ci/services` (or `AUTH_RS_DATABASE_URL`).

use std::time::Duration;

use auth_apikey::{ApiKeys, KeyFormat, NewKey};
use auth_apikey_postgres::PgStore;

async fn instance(url: &str) -> Result<ApiKeys<PgStore>, auth_apikey::Error> {
    let store = PgStore::builder(url)?
        .schema("example_fleet")
        .max_stale(Duration::from_secs(10))
        .connect()
        .await?;
    Ok(ApiKeys::new(KeyFormat::new("sk_test")?, store))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("AUTH_RS_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://auth_rs:auth_rs@127.0.0.1:5433/auth_rs".into());
    let (east, west) = (instance(&url).await?, instance(&url).await?);

    let issued = east.create(NewKey::new("acme", "ci deploy")).await?;
    eprintln!(
        "west verifies east's key: {:?}",
        west.check(issued.expose_key()).await?.is_valid()
    );

    let mut sync = west.store().sync_state();
    let seen = sync.borrow().notifications;
    east.revoke(&issued.id()).await?;
    tokio::time::timeout(
        Duration::from_secs(5),
        sync.wait_for(|s| s.notifications > seen),
    )
    .await??;
    let refusal = west.check(issued.expose_key()).await?.refusal();
    eprintln!("west after east revoked it: {refusal:?}");
    Ok(())
}
