//! Verifies a bearer token end to end: a key ring signs, a verifier checks, a guard answers.
//!
//! Run: `cargo run -p auth-jwt --example verify`

use std::time::Duration;

use auth_core::{Guard, ManualClock, ScopeRequirement, TokenAuthenticator, UnixTime};
use auth_jwt::{Algorithm, KeyRing, Rotation, SigningKey, Verifier};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clock = ManualClock::new(UnixTime::from_secs(1_700_000_000));
    let ring = KeyRing::new(
        clock.clone(),
        Rotation::new(Duration::from_secs(24 * 3600), Duration::from_secs(3600)),
        || SigningKey::generate(Algorithm::EdDSA),
    )?;
    let verifier = Verifier::builder()
        .algorithms([Algorithm::EdDSA])
        .issuer("https://issuer.example")
        .audience("reports")
        .key_source(ring.key_source())
        .clock(clock.clone())
        .build()?;
    let guard = Guard::new(TokenAuthenticator::bearer("reports", verifier))
        .require_scope(ScopeRequirement::parse("reports:read")?);

    let token = ring.sign(&serde_json::json!({
        "iss": "https://issuer.example", "aud": "reports", "sub": "alice",
        "exp": 1_700_000_300, "scope": "reports:read",
    }))?;
    let (mut parts, ()) = http::Request::get("/reports")
        .header("authorization", format!("Bearer {token}"))
        .body(())?
        .into_parts();

    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        match guard.authorize(&mut parts).await {
            Ok(()) => eprintln!(
                "allowed: {:?}",
                parts.extensions.get::<auth_core::Principal>()
            ),
            Err(denial) => eprintln!("denied: {denial} -> {}", denial.to_response().status()),
        }
        clock.advance(Duration::from_secs(600));
        if let Err(denial) = guard.authorize(&mut parts).await {
            // The log line says why; the client gets `invalid_token` only.
            eprintln!("later: {denial} -> {:?}", denial.to_response().headers());
        }
    });
    eprintln!("published JWKS: {}", ring.jwks());
    Ok(())
}
