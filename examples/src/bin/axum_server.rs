//! axum with the tower layer: authentication on every route, a per-principal rate limit with
//! its `RateLimit` headers, a scope per route, and auth-tower's extractors: the principal
//! (`Authenticated`) and a typed attribute of it (`Claims<Plan>`).
//!
//! `DEMO_API_KEY=... DEMO_ADMIN_KEY=... cargo run -p examples --bin axum_server`

use auth_core::Challenge;
use auth_ratelimit::{Quota, RateLimiter};
use auth_tower::axum::{Authenticated, Claims};
use auth_tower::{GateLayer, RateLimit, RequireScope};
use axum::Router;
use axum::routing::{get, post};
use examples::{DemoKeys, Plan, REALM, bind, guard, whoami, write_scope};

async fn who(Authenticated(principal): Authenticated) -> http::Response<String> {
    whoami(&principal)
}

async fn create_order(who: Authenticated, Claims(plan): Claims<Plan>) -> String {
    format!("order created by {} on the {} plan", who.subject(), plan.0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let needs_write = GateLayer::new(RequireScope::new(
        write_scope(),
        [Challenge::bearer().with_realm(REALM)],
    ));
    // 100 requests a minute per caller, in bursts of up to 20.
    let limiter = RateLimiter::builder(Quota::per_minute(100)?.with_burst(20)?).build()?;
    // Layers run outside-in from the last one added: authenticate, then limit, then route.
    let app = Router::new()
        .route("/whoami", get(who))
        .route("/orders", post(create_order).route_layer(needs_write))
        .layer(GateLayer::new(RateLimit::per_principal(limiter)))
        .layer(GateLayer::new(guard(DemoKeys::from_env()?)));
    axum::serve(bind().await?, app).await?;
    Ok(())
}
