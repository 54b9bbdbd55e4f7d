//! RemoteJwks' own unit tests: cache lifetimes, abandoned fetches, the transport rule.
use std::future::Future;
use std::task::Context;

use http::header::CACHE_CONTROL;

use super::*;

fn remote(config: RemoteConfig) -> RemoteJwks {
    let client = |_req: auth_core::HttpRequest| async {
        Err::<auth_core::HttpResponse, _>(auth_core::HttpError::new(
            auth_core::HttpErrorKind::Connect,
            "unreachable",
        ))
    };
    RemoteJwks::with_options(
        "https://idp.example/jwks",
        client,
        auth_core::ManualClock::new(UnixTime::from_secs(1000)),
        config,
        Transport::default(),
    )
    .unwrap()
}

#[test]
fn max_age_is_clamped() {
    let r = remote(RemoteConfig::default());
    let ttl = |v: &str| {
        let mut h = http::HeaderMap::new();
        h.insert(CACHE_CONTROL, v.parse().unwrap());
        r.shared.ttl(&h)
    };
    assert_eq!(ttl("public, max-age=600"), Duration::from_secs(600));
    assert_eq!(ttl("max-age=1"), Duration::from_secs(60));
    assert_eq!(ttl("max-age=99999999"), Duration::from_secs(86_400));
    assert_eq!(ttl("no-cache"), Duration::from_secs(60));
    assert_eq!(ttl("max-age=abc"), Duration::from_secs(300));
}

#[test]
fn an_abandoned_fetch_releases_the_flight() {
    use std::pin::pin;
    let client = |_req: auth_core::HttpRequest| {
        std::future::pending::<Result<auth_core::HttpResponse, auth_core::HttpError>>()
    };
    let r = RemoteJwks::with_options(
        "https://idp.example/jwks",
        client,
        auth_core::ManualClock::new(UnixTime::from_secs(1000)),
        RemoteConfig::default(),
        Transport::default(),
    )
    .unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    {
        let mut first = pin!(r.refresh());
        assert!(first.as_mut().poll(&mut cx).is_pending());
        // A second caller waits on the same flight instead of fetching.
        let mut second = pin!(r.refresh());
        assert!(second.as_mut().poll(&mut cx).is_pending());
        assert_eq!(r.health().fetches, 1);
    }
    // Both dropped: the next caller fetches again instead of waiting forever.
    let mut third = pin!(r.refresh());
    assert!(third.as_mut().poll(&mut cx).is_pending());
    assert_eq!(r.health().fetches, 2);
}

#[test]
fn abandoned_verifications_still_start_the_cooldown() {
    let client = |_req: auth_core::HttpRequest| {
        std::future::pending::<Result<auth_core::HttpResponse, auth_core::HttpError>>()
    };
    let clock = auth_core::ManualClock::new(UnixTime::from_secs(1000));
    let config = RemoteConfig::default();
    let cooldown = config.cooldown;
    let r = RemoteJwks::with_options(
        "https://idp.example/jwks",
        client,
        clock.clone(),
        config,
        Transport::default(),
    )
    .unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    let mut abandon = |r: &RemoteJwks| {
        let mut verification = std::pin::pin!(r.snapshot_for(Some("k1"), Algorithm::ES256));
        // Each caller starts a fetch (or, within the cooldown, is answered at once
        // without one), then goes away.
        let _ = verification.as_mut().poll(&mut cx);
    };
    for _ in 0..100 {
        abandon(&r);
    }
    assert_eq!(
        r.health().fetches,
        1,
        "dropped callers skipped the cooldown"
    );
    // The positive twin: once the cooldown has passed, the next caller fetches.
    clock.advance(cooldown);
    abandon(&r);
    assert_eq!(r.health().fetches, 2);
}

#[test]
fn plain_http_needs_loopback() {
    let client = |_req: auth_core::HttpRequest| async {
        Ok::<_, auth_core::HttpError>(auth_core::HttpResponse::new(Vec::new()))
    };
    assert!(RemoteJwks::new("http://idp.example/jwks", client).is_err());
    assert!(RemoteJwks::new("http://127.0.0.1:9/jwks", client).is_ok());
    assert!(RemoteJwks::new("https://idp.example/jwks", client).is_ok());
}
