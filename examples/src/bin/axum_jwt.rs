//! The resource server in ten lines: axum accepting JWT access tokens from an OpenID
//! provider. The keys are found by discovery from the issuer URL, the handler gets the
//! token's claims as its own type, and each client address is rate limited.
//!
//! `ISSUER=https://login.example.com cargo run -p examples --bin axum_jwt`

use std::net::SocketAddr;

use auth_jwt::{Algorithm, Verifier};
use auth_tower::axum::Claims;
use auth_tower::{GateExt as _, GateLayer, Guard, PerIp, Quota};
use axum::Router;
use axum::routing::get;

/// The claims this API reads from its access tokens.
#[derive(Clone, serde::Deserialize)]
struct OrderClaims {
    sub: String,
    tenant: String,
}

async fn orders(Claims(claims): Claims<OrderClaims>) -> String {
    format!("orders of {} in {}", claims.sub, claims.tenant)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let http = auth_http::Client::new(Default::default())?;
    let verifier = Verifier::builder()
        .issuer_url(&std::env::var("ISSUER")?, http)
        .algorithms([Algorithm::ES256, Algorithm::RS256])
        .audience("orders-api")
        .build()?;
    let guard = Guard::bearer("orders", verifier.with_claims::<OrderClaims>());
    let per_ip = PerIp::in_memory(Quota::per_minute(60)?)?;
    let app = Router::new().route("/orders", get(orders));
    let app = app.layer(GateLayer::new(per_ip.then(guard)));
    // The peer address, for the per-IP limit, comes with the connection info.
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(examples::bind().await?, app).await?;
    Ok(())
}
