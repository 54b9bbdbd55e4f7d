//! A tower service behind `GateLayer`s, driven in-process: authentication, a per-route scope
//! and a per-principal rate limit, and what each request gets back.
//!
//! `cargo run -p auth-tower --example layer`

#![allow(clippy::print_stdout)] // printing is what the example is for

use std::convert::Infallible;

use auth_core::{
    Challenge, CredentialKind, Guard, Principal, ScopeRequirement, Scopes, Secret,
    TokenAuthenticator, TokenVerdict,
};
use auth_ratelimit::{Quota, RateLimiter};
use auth_tower::{GateLayer, RateLimit, RequireScope};
use http_body_util::BodyExt;
use tower::{ServiceBuilder, ServiceExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = Secret::new("reader-key-for-the-example");
    let verify = move |token: &str| -> Result<TokenVerdict, auth_core::Error> {
        Ok(if key.ct_eq(token.as_bytes()) {
            TokenVerdict::Valid(
                Principal::new("reader", CredentialKind::ApiKey)
                    .with_scopes(Scopes::from_space_separated("orders:read")),
            )
        } else {
            TokenVerdict::Invalid("unknown key".into())
        })
    };
    let service = ServiceBuilder::new()
        .layer(GateLayer::new(Guard::new(TokenAuthenticator::bearer(
            "shop", verify,
        ))))
        .layer(GateLayer::new(RateLimit::per_principal(
            RateLimiter::builder(Quota::per_minute(3)?).build()?,
        )))
        .layer(GateLayer::new(RequireScope::new(
            ScopeRequirement::parse("orders:read")?,
            [Challenge::bearer().with_realm("shop")],
        )))
        .service_fn(|req: http::Request<()>| async move {
            let who = req
                .extensions()
                .get::<Principal>()
                .map(|p| p.subject().to_owned());
            Ok::<_, Infallible>(http::Response::new(format!("orders for {who:?}")))
        });

    let requests = [
        ("no credential", None),
        ("wrong key", Some("Bearer nope")),
        ("reader 1", Some("Bearer reader-key-for-the-example")),
        ("reader 2", Some("Bearer reader-key-for-the-example")),
        ("reader 3", Some("Bearer reader-key-for-the-example")),
        ("reader 4", Some("Bearer reader-key-for-the-example")),
    ];
    for (what, authorization) in requests {
        let mut request = http::Request::get("/orders");
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = service.clone().oneshot(request.body(())?).await?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned()
        };
        let line = format!(
            "{what:>13}: {} ratelimit={} retry-after={} www-authenticate={}",
            response.status(),
            header("ratelimit"),
            header("retry-after"),
            header("www-authenticate"),
        );
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        println!("{line} body={}", String::from_utf8_lossy(&body));
    }
    Ok(())
}
