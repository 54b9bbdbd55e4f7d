//! DPoP proof verification (RFC 9449) beside what it cannot do without: a proof's key arrives
//! in its header, so every check parses a JWK and verifies one ES256 signature.
//!
//! - ours: `ProofVerifier::verify`, every check (typ, alg, jwk, signature, htm, htu, iat,
//!   ath) and the in-memory replay cache, each iteration a fresh proof made in the setup;
//! - peer: the same proof through jsonwebtoken, the obvious way to write it by hand
//!   (`DecodingKey::from_jwk` of the header's key, then `decode` with the claims typed), with
//!   no `htu` normalisation, `ath` or replay check;
//! - floor: the ES256 signature alone with a prepared key (aws-lc-rs), the cost no
//!   verifier of a proof can go under.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use auth_core::{ManualClock, UnixTime};
use auth_jwt::Algorithm;
use auth_jwt::dpop::{DpopKey, ProofVerifier};
use aws_lc_rs::signature as sig;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde::Deserialize;

const NOW: u64 = 1_700_000_000;
const URL: &str = "https://api.example.com/orders/7";
const TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";

/// The claims jsonwebtoken deserializes, as a hand-written check would.
#[derive(Deserialize)]
#[allow(dead_code)] // read by serde, held to make the work comparable
struct Claims {
    jti: String,
    htm: String,
    htu: String,
    iat: u64,
    ath: String,
}

/// Runs a future that completes without waiting (the in-memory replay cache does).
fn block<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn dpop(c: &mut Criterion) {
    let clock = ManualClock::new(UnixTime::from_secs(NOW));
    let key = DpopKey::generate(Algorithm::ES256)
        .unwrap_or_else(|e| panic!("{e}"))
        .with_clock(clock.clone());
    let proof = || {
        key.proof(&http::Method::GET, URL, Some(TOKEN), None)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let verifier = ProofVerifier::new().clock(clock);
    let sample = proof();
    assert!(block(verifier.verify(&sample, &http::Method::GET, URL, Some(TOKEN))).is_ok());

    // The peer's inputs, and a check that it accepts the proof.
    let header = jsonwebtoken::decode_header(&sample).unwrap_or_else(|e| panic!("{e}"));
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let peer = |proof: &str| {
        let header = jsonwebtoken::decode_header(proof).ok()?;
        let key = jsonwebtoken::DecodingKey::from_jwk(header.jwk.as_ref()?).ok()?;
        let data = jsonwebtoken::decode::<Claims>(proof, &key, &validation).ok()?;
        (data.claims.htm == "GET" && data.claims.htu == URL).then_some(())
    };
    assert!(header.jwk.is_some() && peer(&sample).is_some());

    // The floor: the signature with a key prepared once.
    let jwk = key.public_jwk();
    let point = [
        &[4u8][..],
        &URL_SAFE_NO_PAD
            .decode(jwk["x"].as_str().unwrap_or_default())
            .unwrap_or_default(),
        &URL_SAFE_NO_PAD
            .decode(jwk["y"].as_str().unwrap_or_default())
            .unwrap_or_default(),
    ]
    .concat();
    let prepared = sig::ParsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, &point)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let (input, signature) = sample.rsplit_once('.').unwrap_or_default();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
    assert!(prepared.verify_sig(input.as_bytes(), &signature).is_ok());

    let mut g = c.benchmark_group("dpop verify (ES256)");
    g.bench_function("auth-jwt ProofVerifier::verify", |b| {
        b.iter_batched(
            proof,
            |p| block(verifier.verify(black_box(&p), &http::Method::GET, URL, Some(TOKEN))).is_ok(),
            BatchSize::SmallInput,
        );
    });
    g.bench_function("peer: jsonwebtoken from_jwk + decode", |b| {
        b.iter(|| peer(black_box(&sample)).is_some());
    });
    g.bench_function("floor: prepared-key primitive", |b| {
        b.iter(|| {
            prepared
                .verify_sig(black_box(input.as_bytes()), black_box(&signature))
                .is_ok()
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = dpop
}
criterion_main!(benches);
