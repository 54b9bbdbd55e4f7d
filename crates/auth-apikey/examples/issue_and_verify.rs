//! Issues, verifies, rotates and revokes API keys, and prints what each request gets back:
//! `cargo run -p auth-apikey --example issue_and_verify`.
//!
//! Keys are digested with HMAC-SHA-256 keyed with the pepper in `API_KEY_PEPPER` (or the
//! file `API_KEY_PEPPER_FILE` names); without one the example uses plain SHA-256 and says
//! so. With `--features sqlite` and a path as the first argument, keys live in that SQLite
//! file and survive the next run.

#![allow(clippy::print_stdout)] // printing is what the example is for

use std::time::Duration;

use auth_apikey::{ApiKeys, KeyFormat, KeyStore, MemoryStore, NewKey};
use auth_core::{Guard, Principal, ScopeRequirement, Scopes, Secret, TokenAuthenticator};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    #[cfg(feature = "sqlite")]
    if let Some(path) = std::env::args().nth(1) {
        let store = auth_apikey::SqliteStore::open(&path)?;
        println!("store: SQLite at {path}");
        return runtime.block_on(demo(store));
    }
    println!("store: in memory");
    runtime.block_on(demo(MemoryStore::new()))
}

async fn demo<S: KeyStore>(store: S) -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = ApiKeys::builder(KeyFormat::new("sk_test")?);
    match Secret::from_env("API_KEY_PEPPER") {
        Ok(pepper) => builder = builder.pepper(pepper),
        Err(e) => println!("{e}; digesting with SHA-256, no pepper"),
    }
    let keys = builder.build(store)?;

    // Issue: the key is shown once; the store keeps its digest.
    let issued = keys
        .create(
            NewKey::new("acme-ci", "deploy pipeline")
                .with_scopes(Scopes::from_space_separated("deploys:write"))
                .expires_after(Duration::from_secs(90 * 24 * 3600)),
        )
        .await?;
    println!(
        "issued {} (shown once): {}",
        issued.id(),
        issued.expose_key()
    );
    println!("leak-scanner pattern: {}", keys.format().pattern());

    let guard = Guard::new(keys.authenticator("deploys"))
        .require_scope(ScopeRequirement::parse("deploys:write")?);
    let key = issued.expose_key().to_owned();
    let typo_char = if key.ends_with('x') { 'y' } else { 'x' };
    let typo = format!("{}{typo_char}", &key[..key.len() - 1]);
    show(&guard, "X-API-Key", &[("x-api-key", &key)]).await;
    show(
        &guard,
        "Bearer",
        &[("authorization", &format!("Bearer {key}"))],
    )
    .await;
    show(&guard, "a typo (bad checksum)", &[("x-api-key", &typo)]).await;
    show(
        &guard,
        "both headers",
        &[
            ("x-api-key", &key),
            ("authorization", &format!("Bearer {key}")),
        ],
    )
    .await;

    // Rotate with a minute of overlap: both keys work until it ends.
    let next = keys.rotate(&issued.id(), Duration::from_secs(60)).await?;
    show(&guard, "old key during overlap", &[("x-api-key", &key)]).await;
    show(&guard, "successor", &[("x-api-key", next.expose_key())]).await;

    // Revoke: refused on the next request.
    keys.revoke(&next.id()).await?;
    show(
        &guard,
        "revoked successor",
        &[("x-api-key", next.expose_key())],
    )
    .await;

    for record in keys.list("acme-ci").await? {
        println!(
            "listed {}: {:?}, expires {:?}, revoked {}",
            keys.format().hint(&record.id),
            record.name,
            record.expires.map(|t| t.as_secs()),
            record.revoked.is_some()
        );
    }
    Ok(())
}

async fn show<S: KeyStore>(
    guard: &Guard<TokenAuthenticator<ApiKeys<S>>>,
    what: &str,
    headers: &[(&str, &str)],
) {
    let mut request = http::Request::post("/deploys");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let Ok(request) = request.body(()) else {
        println!("{what}: cannot build the request");
        return;
    };
    let (mut parts, ()) = request.into_parts();
    match guard.authorize(&mut parts).await {
        Ok(()) => {
            let subject = parts.extensions.get::<Principal>().map(Principal::subject);
            println!("{what}: 200, principal {subject:?}");
        }
        Err(denial) => {
            let response = denial.to_response();
            let challenge = response.headers().get("www-authenticate");
            println!(
                "{what}: {} {challenge:?} (server log: {denial})",
                response.status()
            );
        }
    }
}
