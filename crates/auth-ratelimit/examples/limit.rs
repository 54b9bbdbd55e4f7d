//! Rate-limits requests per API key with two quotas and prints what a client would see.
//!
//! Run: `cargo run -p auth-ratelimit --example limit`

use std::time::Duration;

use auth_core::{ManualClock, UnixTime};
use auth_ratelimit::{Policy, Quota, RateLimiter};

fn main() -> Result<(), auth_ratelimit::Error> {
    // A manual clock so the output is the same every run; production uses the default
    // SystemClock.
    let clock = ManualClock::new(UnixTime::from_secs(1_700_000_000));
    let policy = Policy::new(Quota::per_second(2)?.named("per-second")?)
        .quota(Quota::per_hour(100)?.named("per-hour")?);
    let limiter = RateLimiter::builder(policy).clock(clock.clone()).build()?;

    for i in 1..=4 {
        let decision = limiter.check(&"key-123");
        match limiter.enforce(&decision) {
            Ok(headers) => eprintln!("request {i}: 200, RateLimit: {:?}", headers["ratelimit"]),
            Err(rejection) => {
                let response = rejection.to_response();
                eprintln!(
                    "request {i}: {}, Retry-After: {:?}, RateLimit: {:?}",
                    response.status(),
                    response.headers()["retry-after"],
                    response.headers()["ratelimit"],
                );
            }
        }
    }
    clock.advance(Duration::from_secs(1));
    eprintln!(
        "after 1 s: allowed = {}",
        limiter.check(&"key-123").is_allowed()
    );
    Ok(())
}
