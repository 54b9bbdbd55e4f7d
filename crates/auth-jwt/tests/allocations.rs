//! Verification into borrowed claims allocates nothing on the Rust heap, counted by a
//! counting global allocator (`stats_alloc`). The counter is process-wide, so this file is a
//! binary of its own without libtest (`harness = false`) that runs its cases in turn: nothing
//! else allocates meanwhile and the counts are exact. (aws-lc's own C allocations are outside any Rust allocator.)
//!
//! Each zero is held beside a positive twin on the same setup (the owned `Principal` path,
//! a string with escapes) that the counter does see allocate.
//!
//! With the aws-lc-rs backend only (`required-features`): the rust-crypto backend verifies through jsonwebtoken,
//! whose verifier takes the signature as a `Vec`.

#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use auth_core::{ManualClock, Secret, UnixTime};
use auth_jwt::{Algorithm, Key, KeySet, Scratch, SigningKey, Verifier};
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// The allocations (and reallocations) made while `f` runs.
fn allocations<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let region = Region::new(GLOBAL);
    let out = f();
    let change = region.change();
    (out, change.allocations + change.reallocations)
}

/// Polls a future that must be ready at once (keys at hand) to completion.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("keys at hand: the verification must not wait"),
    }
}

const NOW: u64 = 1_700_000_000;
const ISS: &str = "https://issuer.example";

fn verifier_of(issuer: &str, key: Key, alg: Algorithm) -> Verifier {
    Verifier::builder()
        .algorithms([alg])
        .issuer(issuer)
        .audience("api")
        .keys(KeySet::new([key]))
        .clock(ManualClock::new(UnixTime::from_secs(NOW)))
        .build()
        .unwrap()
}

fn claims() -> serde_json::Value {
    json!({
        "iss": ISS, "sub": "user-7f3a9c2e", "aud": "api", "exp": NOW + 600, "nbf": NOW - 60,
        "iat": NOW - 60, "jti": "c8b4a1f2", "scope": "orders:read orders:write profile",
        "tenant": {"id": "acme", "tier": [1, 2]},
    })
}

fn hs256() -> (SigningKey, Key) {
    let signer = SigningKey::hmac(&Secret::new(vec![9; 32]), Algorithm::HS256)
        .unwrap()
        .with_kid("hs-1");
    let key = signer.verification_key().unwrap();
    (signer, key)
}

/// Verifies `token` into borrowed claims, reads every accessor that promises no allocation,
/// and returns the allocations of the whole (after one warm-up verification).
fn borrowed_allocations(verifier: &Verifier, token: &str) -> usize {
    let mut scratch = Scratch::new();
    let read = |scratch: &mut Scratch| {
        let c = ready(verifier.verify_in(token, scratch)).unwrap();
        let seen = (
            c.subject().map(str::len),
            c.issuer().map(str::len),
            c.audiences().count(),
            c.has_scope("orders:read"),
            c.claim("tenant").map(str::len),
            c.key_id().map(|k| k.len()),
            c.expires_at(),
        );
        std::hint::black_box(seen);
    };
    read(&mut scratch);
    allocations(|| read(&mut scratch)).1
}

fn hs256_into_borrowed_claims_allocates_nothing() {
    let (signer, key) = hs256();
    let verifier = verifier_of(ISS, key, Algorithm::HS256);
    let token = signer.sign(&claims()).unwrap();
    assert_eq!(borrowed_allocations(&verifier, &token), 0);
    // The twin: the same verification into an owned Principal allocates, and the counter sees it.
    let _ = ready(verifier.verify_principal(&token)).unwrap();
    let (principal, n) = allocations(|| ready(verifier.verify_principal(&token)).unwrap());
    assert_eq!(principal.subject(), "user-7f3a9c2e");
    assert!(n > 0, "the owned path allocates ({n})");
}

fn audience_and_scope_arrays_allocate_nothing_either() {
    let (signer, key) = hs256();
    let verifier = verifier_of(ISS, key, Algorithm::HS256);
    let mut c = claims();
    c["aud"] = json!(["other", "api", "third"]);
    c.as_object_mut().unwrap().remove("scope");
    c["scp"] = json!(["orders:read", "profile"]);
    let token = signer.sign(&c).unwrap();
    assert_eq!(borrowed_allocations(&verifier, &token), 0);
    let mut scratch = Scratch::new();
    let got = ready(verifier.verify_in(&token, &mut scratch)).unwrap();
    assert_eq!(
        got.audiences().collect::<Vec<_>>(),
        ["other", "api", "third"]
    );
    assert!(got.has_scope("profile") && !got.has_scope("orders:write"));
}

fn a_string_with_escapes_is_the_one_thing_that_allocates() {
    let (signer, key) = hs256();
    let verifier = verifier_of(ISS, key, Algorithm::HS256);
    let mut c = claims();
    c["sub"] = json!("quote \" inside");
    let token = signer.sign(&c).unwrap();
    // The twin of the tests above: one owned string, the unescaped `sub` (`claim` reads past
    // it without unescaping).
    let n = borrowed_allocations(&verifier, &token);
    assert_eq!(n, 1);
}

fn several_issuers_route_without_allocating() {
    let (signer, key) = hs256();
    let other = Key::hmac(&Secret::new(vec![4; 32]), Algorithm::HS256).unwrap();
    let set = Verifier::issuers([
        verifier_of("https://other.example", other, Algorithm::HS256),
        verifier_of(ISS, key, Algorithm::HS256),
    ])
    .build()
    .unwrap();
    let token = signer.sign(&claims()).unwrap();
    assert_eq!(borrowed_allocations(&set, &token), 0);
    // The twin: a token naming the other issuer is refused by that issuer's key (an error,
    // whose message allocates).
    let mut c = claims();
    c["iss"] = json!("https://other.example");
    let wrong = signer.sign(&c).unwrap();
    let mut scratch = Scratch::new();
    let (refused, n) = allocations(|| ready(set.verify_in(&wrong, &mut scratch)).is_err());
    assert!(refused);
    assert_eq!(n, 0, "a bad signature is a unit error");
}

fn public_key_algorithms_allocate_nothing_in_rust() {
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let signer = SigningKey::generate(alg).unwrap();
        let verifier = verifier_of(ISS, signer.verification_key().unwrap(), alg);
        let token = signer.sign(&claims()).unwrap();
        assert_eq!(borrowed_allocations(&verifier, &token), 0, "{alg}");
        // The twin: the owned path of the same verifier allocates.
        let _ = ready(verifier.verify_principal(&token)).unwrap();
        let (_, n) = allocations(|| ready(verifier.verify_principal(&token)).unwrap());
        assert!(n > 0, "{alg}");
    }
}

/// The cases in turn (see the top of this file for why one test).
/// Without libtest (`harness = false`): its main thread allocates while a test starts, which
/// the process-wide counter would count. The line printed is libtest's, for `cargo xtask ci
/// --repeat`; a failure panics, which exits non-zero.
#[allow(clippy::print_stdout)] // the line libtest would print
fn main() {
    borrowed_verification_allocates_nothing();
    println!("test borrowed_verification_allocates_nothing ... ok");
}

fn borrowed_verification_allocates_nothing() {
    hs256_into_borrowed_claims_allocates_nothing();
    audience_and_scope_arrays_allocate_nothing_either();
    a_string_with_escapes_is_the_one_thing_that_allocates();
    several_issuers_route_without_allocating();
    public_key_algorithms_allocate_nothing_in_rust();
}
