//! auth-jwt integration tests: sign and verify through the public API, the authenticator's
//! answers, key ring rotation.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use auth_core::{Authenticate, Decision, ManualClock, Secret, TokenAuthenticator, UnixTime};
use auth_jwt::{Algorithm, KeySet, SigningKey, Verifier};
use serde_json::json;

const NOW: u64 = 1_700_000_000;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn claims(exp: u64) -> serde_json::Value {
    json!({"iss": "https://idp.example", "aud": ["api", "other"], "sub": "alice",
           "exp": exp, "iat": NOW, "scp": ["read", "write"]})
}

fn verifier(keys: KeySet, clock: &ManualClock, algs: &[Algorithm]) -> Verifier {
    Verifier::builder()
        .algorithms(algs.iter().copied())
        .issuer("https://idp.example")
        .audience("api")
        .keys(keys)
        .clock(clock.clone())
        .leeway(Duration::ZERO)
        .build()
        .unwrap()
}

// Key generation is an aws-lc-rs feature; the rust-crypto build runs the HMAC tests.
#[cfg(feature = "aws-lc-rs")]
#[test]
fn every_algorithm_round_trips() {
    let clock = ManualClock::new(UnixTime::from_secs(NOW));
    for alg in Algorithm::ALL {
        let signer = SigningKey::generate(alg)
            .unwrap()
            .with_kid(format!("k-{alg}"));
        let v = verifier(
            KeySet::new([signer.verification_key().unwrap()]),
            &clock,
            &[alg],
        );
        let token = signer.sign(&claims(NOW + 60)).unwrap();
        let verified = block_on(v.verify::<serde_json::Value>(&token)).unwrap();
        assert_eq!(verified.algorithm(), alg);
        assert_eq!(verified.principal().unwrap().subject(), "alice");
        assert!(verified.scopes().contains("write"));
        assert_eq!(verified.claims["sub"], "alice");
        assert_eq!(verified.registered().audiences().count(), 2);
    }
}

#[test]
fn the_authenticator_answers_401_with_a_bare_invalid_token() {
    let clock = ManualClock::new(UnixTime::from_secs(NOW));
    let secret = Secret::new(vec![3; 32]);
    let signer = SigningKey::hmac(&secret, Algorithm::HS256).unwrap();
    let v = verifier(
        KeySet::new([signer.verification_key().unwrap()]),
        &clock,
        &[Algorithm::HS256],
    );
    let auth = TokenAuthenticator::bearer("api", v);
    let head = |token: &str| {
        http::Request::get("/")
            .header("authorization", format!("Bearer {token}"))
            .body(())
            .unwrap()
            .into_parts()
            .0
    };
    let good = signer.sign(&claims(NOW + 1)).unwrap();
    assert!(matches!(
        block_on(auth.authenticate(&head(&good))).unwrap(),
        Decision::Allow(p) if p.subject() == "alice"
    ));
    clock.advance(Duration::from_secs(1));
    let Decision::Deny(rejection) = block_on(auth.authenticate(&head(&good))).unwrap() else {
        panic!("expired token allowed");
    };
    assert_eq!(rejection.reason(), "token expired 0ms ago");
    let response = rejection.to_response();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer realm="api", error="invalid_token""#
    );
    // Not a JWT: left to other authenticators.
    assert!(matches!(
        block_on(auth.authenticate(&head("an-api-key"))).unwrap(),
        Decision::Unrecognized
    ));
}

#[cfg(feature = "aws-lc-rs")]
#[test]
fn key_ring_rotates_and_old_tokens_verify_until_retired() {
    use auth_jwt::{ErrorKind, KeyRing, Rotation};

    let clock = ManualClock::new(UnixTime::from_secs(NOW));
    // Keeping no retired key would fail every outstanding token at each rotation.
    for (every, keep_retired_for) in [(0, 600), (3600, 0)] {
        let rotation = Rotation::new(
            Duration::from_secs(every),
            Duration::from_secs(keep_retired_for),
        );
        let refused = KeyRing::new(clock.clone(), rotation, || {
            SigningKey::generate(Algorithm::ES256)
        });
        assert!(refused.is_err_and(|e| e.kind() == ErrorKind::Misconfigured));
    }
    let ring = KeyRing::new(
        clock.clone(),
        Rotation::new(Duration::from_secs(3600), Duration::from_secs(600)),
        || SigningKey::generate(Algorithm::ES256),
    )
    .unwrap();
    let v = Verifier::builder()
        .algorithms([Algorithm::ES256])
        .issuer("https://idp.example")
        .audience("api")
        .key_source(ring.key_source())
        .clock(clock.clone())
        .build()
        .unwrap();
    let first_kid = ring.current_kid().unwrap();
    let jwks: serde_json::Value = serde_json::from_str(&ring.jwks()).unwrap();
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        2,
        "current and next"
    );
    let next_kid = jwks["keys"][1]["kid"].as_str().unwrap().to_owned();

    let old = ring.sign(&claims(NOW + 4000)).unwrap();
    clock.advance(Duration::from_secs(3600));
    let new = ring.sign(&claims(NOW + 4000)).unwrap();
    assert_eq!(ring.current_kid().unwrap(), next_kid, "next became current");
    assert_ne!(ring.current_kid().unwrap(), first_kid);
    let jwks: serde_json::Value = serde_json::from_str(&ring.jwks()).unwrap();
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        3,
        "current, next, retired"
    );
    assert!(block_on(v.verify_principal(&old)).is_ok());
    assert!(block_on(v.verify_principal(&new)).is_ok());

    clock.advance(Duration::from_secs(3600));
    ring.rotate_if_due().unwrap();
    // The first key was retired 3600 s ago, beyond keep_retired_for.
    let err = block_on(v.verify_principal(&old)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    assert!(!ring.jwks().contains(&first_kid));
}

#[test]
fn build_refuses_unsafe_configurations() {
    let keys = || {
        KeySet::new([
            SigningKey::hmac(&Secret::new(vec![9; 32]), Algorithm::HS256)
                .unwrap()
                .verification_key()
                .unwrap(),
        ])
    };
    let base = || {
        Verifier::builder()
            .algorithms([Algorithm::HS256])
            .issuer("i")
            .audience("a")
            .keys(keys())
    };
    assert!(base().build().is_ok());
    assert!(base().leeway(Duration::from_secs(301)).build().is_err());
    assert!(base().leeway(Duration::MAX).build().is_err());
    let no_aud = Verifier::builder()
        .algorithms([Algorithm::HS256])
        .issuer("i")
        .keys(keys());
    assert!(no_aud.build().is_err());
    let waived = Verifier::builder()
        .algorithms([Algorithm::HS256])
        .issuer("i")
        .danger_accept_any_audience()
        .keys(keys());
    assert!(waived.build().is_ok());
    let no_alg = Verifier::builder().issuer("i").audience("a").keys(keys());
    assert!(no_alg.build().is_err());
    let wrong_family = Verifier::builder()
        .algorithms([Algorithm::RS256])
        .issuer("i")
        .audience("a")
        .keys(keys());
    assert!(wrong_family.build().is_err());
}

/// Payloads past the 1 KiB stack buffer are decoded on the heap and read whole.
#[test]
fn payloads_larger_than_the_stack_buffer_verify() {
    let clock = ManualClock::new(UnixTime::from_secs(NOW));
    let secret = Secret::new(vec![7; 32]);
    let signer = SigningKey::hmac(&secret, Algorithm::HS256).unwrap();
    let v = verifier(
        KeySet::new([signer.verification_key().unwrap()]),
        &clock,
        &[Algorithm::HS256],
    );
    for pad in [0, 1000, 1024, 3000] {
        let mut c = claims(NOW + 60);
        c["pad"] = json!("p".repeat(pad));
        let token = signer.sign(&c).unwrap();
        let verified = block_on(v.verify::<serde_json::Value>(&token)).unwrap();
        assert_eq!(verified.claims["pad"].as_str().unwrap().len(), pad);
        assert_eq!(verified.registered().subject(), Some("alice"));
    }
}

/// With keys at hand, verification completes on its first poll, and its future does not
/// carry the decoding scratch space (a fetch runs boxed).
#[test]
fn verification_with_keys_at_hand_is_small_and_immediate() {
    let clock = ManualClock::new(UnixTime::from_secs(NOW));
    let signer = SigningKey::hmac(&Secret::new(vec![7; 32]), Algorithm::HS256).unwrap();
    let v = verifier(
        KeySet::new([signer.verification_key().unwrap()]),
        &clock,
        &[Algorithm::HS256],
    );
    let token = signer.sign(&claims(NOW + 60)).unwrap();
    let future = v.verify_principal(&token);
    assert!(
        std::mem::size_of_val(&future) < 256,
        "{} bytes",
        std::mem::size_of_val(&future)
    );
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(p) => assert_eq!(p.unwrap().subject(), "alice"),
        std::task::Poll::Pending => panic!("waited with the keys at hand"),
    }
}
