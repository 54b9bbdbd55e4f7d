//! DPoP: RFC 9449's examples, a round trip, and each rule broken beside its passing twin.

use std::time::Duration;

use auth_core::{ManualClock, Secret, UnixTime};
use http::Method;

use super::*;
use crate::Algorithm;

/// RFC 9449 §4.1's proof: ES256, `POST https://server.example.com/token`, iat 1562262616.
const RFC_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Ik\
VDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCR\
nMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JE\
QSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIj\
oiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwia\
WF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4P\
tFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
const RFC_IAT: u64 = 1_562_262_616;
const NOW: u64 = 1_800_000_000;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn clock(at: u64) -> ManualClock {
    ManualClock::new(UnixTime::from_secs(at))
}

fn key() -> DpopKey {
    DpopKey::from_signing_key(signer(0))
        .expect("key")
        .with_clock(clock(NOW))
}

fn verifier() -> ProofVerifier {
    ProofVerifier::new().clock(clock(NOW))
}

const URL: &str = "https://api.example.com/orders";

/// Three P-256 test keys (PKCS#8 PEM), so that the tests run with either crypto backend.
const TEST_KEYS: [&str; 3] = [
    "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgNwNM6VjQqiEBBugD
nrunEfyqVZJa+aYH6SBrHuvNJ/+hRANCAAQTV1/CuWznpVDWDW3gw/WdvpH++Vrb
HJ1hUUwq0QWTWfne9voc8/TZqadSRWhd4u7alIiUvltrsK/IVU3OQu/s\n-----END PRIVATE KEY-----\n",
    "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgD7IKkAHHa2kR7ICR
mxzt3tbyQ7fRiL5wSC65tIeP4EGhRANCAASGWr7PSozG0rgzkCbsqLQcxslO6XNX
FzNqLJl/4bSs6ljUm+7bnZcbNHjsNi4WlsCjuSNsuV8XenuRnsXnjPBL\n-----END PRIVATE KEY-----\n",
    "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgV2SnrvpXGXfN6Ap/
DrlPIibw5QYyXV4PrfNkyADBhnShRANCAATdhuzGLwMZc50e8PVKCf505l1LfaMN
aLKSoqXpWECftNXXlyKU7EEOrUQePye4AHURB/bz4Sge+FWUgJq6ZaOl\n-----END PRIVATE KEY-----\n",
];

/// Test key `i` as a signing key.
fn signer(i: usize) -> crate::SigningKey {
    crate::SigningKey::from_pem(TEST_KEYS[i].as_bytes(), Algorithm::ES256).expect("test key")
}

#[test]
fn rfc_9449_proof_verifies_and_names_its_key() {
    let proofs = ProofVerifier::new().clock(clock(RFC_IAT));
    let proof = block_on(proofs.verify(
        RFC_PROOF,
        &Method::POST,
        "https://server.example.com/token",
        None,
    ))
    .expect("the RFC's proof");
    assert_eq!(proof.jti, "-BwC3ESc6acc2lTc");
    // RFC 9449 §6.1: the thumbprint of this very key, as a token's cnf.jkt.
    assert_eq!(proof.jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
    // The same proof for another method is refused.
    let other = ProofVerifier::new().clock(clock(RFC_IAT));
    assert_eq!(
        block_on(other.verify(
            RFC_PROOF,
            &Method::GET,
            "https://server.example.com/token",
            None
        )),
        Err(DpopError::WrongMethod)
    );
}

#[test]
fn rfc_9449_access_token_hash() {
    // RFC 9449 §7.1.
    assert_eq!(
        access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    );
}

#[test]
fn a_fresh_proof_passes_once() {
    let (key, proofs) = (key(), verifier());
    let proof = key
        .proof(
            &Method::GET,
            "https://api.example.com/orders?page=2#top",
            Some("tok"),
            None,
        )
        .expect("proof");
    let ok = block_on(proofs.verify(&proof, &Method::GET, URL, Some("tok"))).expect("valid");
    assert_eq!(ok.jkt, key.thumbprint());
    assert_eq!(
        block_on(proofs.verify(&proof, &Method::GET, URL, Some("tok"))),
        Err(DpopError::Replayed)
    );
}

#[test]
fn each_rule_broken_is_refused_beside_its_passing_twin() {
    let key = key();
    let check = |proof: &str, method: Method, url: &str, token: Option<&str>| {
        block_on(verifier().verify(proof, &method, url, token))
    };
    let good = key
        .proof(&Method::GET, URL, Some("tok"), None)
        .expect("proof");
    assert!(check(&good, Method::GET, URL, Some("tok")).is_ok());
    assert_eq!(
        check(&good, Method::POST, URL, Some("tok")),
        Err(DpopError::WrongMethod)
    );
    assert_eq!(
        check(
            &good,
            Method::GET,
            "https://api.example.com/other",
            Some("tok")
        ),
        Err(DpopError::WrongUrl)
    );
    assert_eq!(
        check(
            &good,
            Method::GET,
            "https://evil.example.com/orders",
            Some("tok")
        ),
        Err(DpopError::WrongUrl)
    );
    assert_eq!(
        check(&good, Method::GET, URL, Some("another")),
        Err(DpopError::WrongAccessToken)
    );
    assert_eq!(
        check(&good, Method::GET, URL, None),
        Err(DpopError::WrongAccessToken)
    );
    let no_ath = key.proof(&Method::GET, URL, None, None).expect("proof");
    assert!(check(&no_ath, Method::GET, URL, None).is_ok());
    assert_eq!(
        check(&no_ath, Method::GET, URL, Some("tok")),
        Err(DpopError::WrongAccessToken)
    );
    // Equivalent URLs (RFC 3986 §6.2.2, §6.2.3) match.
    assert!(
        check(
            &good,
            Method::GET,
            "HTTPS://API.example.com:443/orders",
            Some("tok")
        )
        .is_ok()
    );
}

#[test]
fn the_iat_window_holds_on_both_sides() {
    let proofs = |at: u64| ProofVerifier::new().clock(clock(at));
    let proof = key().proof(&Method::GET, URL, None, None).expect("proof");
    let at = |now: u64| block_on(proofs(now).verify(&proof, &Method::GET, URL, None));
    assert!(at(NOW + 60).is_ok());
    assert_eq!(at(NOW + 61), Err(DpopError::Stale));
    assert!(at(NOW - 5).is_ok());
    assert_eq!(at(NOW - 6), Err(DpopError::Stale));
}

/// Signs `header` and `claims` with a fresh ES256 key, as a forger would.
fn forged(header: &serde_json::Value, claims: &serde_json::Value) -> String {
    signer(1)
        .sign_parts(header.to_string().as_bytes(), claims.to_string().as_bytes())
        .expect("signed")
}

#[test]
fn headers_a_proof_may_not_have() {
    let key = key();
    let jwk = key.public_jwk().clone();
    let claims = serde_json::json!({"jti": "j1", "htm": "GET", "htu": URL, "iat": NOW});
    let sign = |header: serde_json::Value| {
        let signer = signer(2);
        let jwk = signer.public_jwk().expect("public");
        let mut header = header;
        if header.get("jwk") == Some(&serde_json::Value::Null) {
            header["jwk"] = jwk;
        }
        signer
            .sign_parts(header.to_string().as_bytes(), claims.to_string().as_bytes())
            .expect("signed")
    };
    let check = |proof: &str| block_on(verifier().verify(proof, &Method::GET, URL, None));
    // The passing twin: the header's own key signed it.
    assert!(
        check(&sign(
            serde_json::json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": null})
        ))
        .is_ok()
    );
    assert_eq!(
        check(&sign(
            serde_json::json!({"typ": "JWT", "alg": "ES256", "jwk": null})
        )),
        Err(DpopError::WrongType)
    );
    assert_eq!(
        check(&sign(
            serde_json::json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": null})
        )),
        Err(DpopError::AlgorithmNotAllowed)
    );
    assert_eq!(
        check(&sign(
            serde_json::json!({"typ": "dpop+jwt", "alg": "none", "jwk": null})
        )),
        Err(DpopError::AlgorithmNotAllowed)
    );
    assert!(matches!(
        check(&sign(
            serde_json::json!({"typ": "dpop+jwt", "alg": "ES256"})
        )),
        Err(DpopError::BadKey(_))
    ));
    // Another key's jwk in the header: the signature does not verify with it.
    assert_eq!(
        check(&sign(
            serde_json::json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk})
        )),
        Err(DpopError::BadSignature)
    );
    // A private member in the jwk.
    let mut private = key.public_jwk().clone();
    private["d"] = "AAAA".into();
    let header = serde_json::json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": private});
    assert!(matches!(
        check(&forged(&header, &claims)),
        Err(DpopError::BadKey(_))
    ));
}

#[test]
fn any_changed_character_is_refused() {
    let key = key();
    let proof = key
        .proof(&Method::GET, URL, Some("tok"), None)
        .expect("proof");
    assert!(block_on(verifier().verify(&proof, &Method::GET, URL, Some("tok"))).is_ok());
    for (i, c) in proof.char_indices() {
        // A character that differs from the one it replaces, at every position.
        let other = if c == 'A' { 'B' } else { 'A' };
        let changed = format!("{}{other}{}", &proof[..i], &proof[i + 1..]);
        assert_ne!(changed, proof);
        let verdict = block_on(verifier().verify(&changed, &Method::GET, URL, Some("tok")));
        assert!(verdict.is_err(), "accepted with position {i} changed");
    }
}

#[test]
fn nonces_are_asked_for_then_accepted_across_one_rotation() {
    let clock = clock(NOW);
    let nonces = || {
        Nonces::new(Secret::new(vec![7; 32]), Duration::from_secs(300)).with_clock(clock.clone())
    };
    let proofs = ProofVerifier::new().clock(clock.clone()).nonces(nonces());
    let key = key();
    let without = key.proof(&Method::GET, URL, None, None).expect("proof");
    let Err(DpopError::UseNonce { nonce }) =
        block_on(proofs.verify(&without, &Method::GET, URL, None))
    else {
        panic!("a nonce is required");
    };
    let with = key
        .proof(&Method::GET, URL, None, Some(&nonce))
        .expect("proof");
    assert!(block_on(proofs.verify(&with, &Method::GET, URL, None)).is_ok());
    let n = nonces();
    assert!(n.is_current(&nonce));
    clock.advance(Duration::from_secs(300));
    assert!(
        n.is_current(&nonce),
        "the previous period's nonce is still good"
    );
    clock.advance(Duration::from_secs(300));
    assert!(!n.is_current(&nonce), "two periods on it is not");
    assert!(n.is_current(&n.current()));
    // Another server secret, or a truncated nonce, is refused.
    let other =
        Nonces::new(Secret::new(vec![8; 32]), Duration::from_secs(300)).with_clock(clock.clone());
    assert!(!other.is_current(&n.current()));
    let current = n.current();
    assert!(!n.is_current(&current[..current.len() - 4]));
}

#[test]
fn the_replay_cache_stays_bounded_under_a_flood_and_lets_no_replay_through() {
    let cache = MemoryReplayCache::new(100);
    let at = |s: u64| UnixTime::from_secs(s);
    let id = |n: u32| {
        let mut id = [0u8; 32];
        id[..4].copy_from_slice(&n.to_be_bytes());
        id
    };
    let first = |n: u32, iat: u64| block_on(cache.first_use(id(n), at(iat), at(iat + 65))).ok();
    // 10 000 unique proofs, ten a second.
    for n in 0..10_000u32 {
        assert_eq!(first(n, NOW + u64::from(n / 10)), Some(true));
        assert!(cache.len() <= 100);
    }
    // The latest ones are remembered; the forgotten ones are refused by the floor.
    assert_eq!(first(9_999, NOW + 999), Some(false));
    assert_eq!(first(0, NOW), Some(false));
    assert_eq!(first(5_000, NOW + 500), Some(false));
    // A new proof made now passes.
    assert_eq!(first(20_000, NOW + 1_000), Some(true));
}

#[test]
fn htu_normalisation() {
    let n = |u: &str| normalize_htu(u);
    assert_eq!(
        n("HTTPS://Example.COM:443/a?b#c").as_deref(),
        Some("https://example.com/a")
    );
    assert_eq!(
        n("http://example.com:80").as_deref(),
        Some("http://example.com/")
    );
    assert_eq!(
        n("http://example.com:8080/x").as_deref(),
        Some("http://example.com:8080/x")
    );
    assert_eq!(n("ftp://example.com/"), None);
    assert_eq!(n("/relative"), None);
    assert_eq!(n("https://user@example.com/"), None);
}
