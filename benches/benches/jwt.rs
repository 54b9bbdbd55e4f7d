//! auth-jwt verification beside `jsonwebtoken::decode` (same token, same checks) and beside
//! the raw signature primitive with a prepared key (the floor); and key lookup by `kid`.
//!
//! Each group verifies one ~400-byte token signed with HS256, RS256, ES256 or EdDSA.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use auth_core::{ManualClock, Secret, UnixTime};
use auth_jwt::{Algorithm, Key, KeySet, SigningKey, Verifier};
use aws_lc_rs::signature as sig;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use serde::Deserialize;

const NOW: u64 = 1_700_000_000;
const ISS: &str = "https://issuer.example.com/realms/production";
const AUD: &str = "https://api.example.com/orders";

/// The claims jsonwebtoken deserializes: what auth-jwt checks and returns.
#[derive(Deserialize)]
#[allow(dead_code)] // read by serde, held to make the work comparable
struct Claims {
    sub: String,
    iss: String,
    aud: String,
    exp: u64,
    scope: String,
}

fn claims() -> serde_json::Value {
    serde_json::json!({
        "iss": ISS, "sub": "user-7f3a9c2e-41d8-4c1b-9b0e-0c3f5d2a8e61", "aud": AUD,
        "exp": NOW + 3600, "nbf": NOW - 60, "iat": NOW - 60,
        "jti": "c8b4a1f2-9d7e-4e3b-a6f5-2b1c0d9e8f7a",
        "scope": "orders:read orders:write profile", "tenant": "acme"
    })
}

fn block<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            return v;
        }
    }
}

fn verifier(key: Key, alg: Algorithm) -> Verifier {
    Verifier::builder()
        .algorithms([alg])
        .issuer(ISS)
        .audience(AUD)
        .keys(KeySet::new([key]))
        .clock(ManualClock::new(UnixTime::from_secs(NOW)))
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn peer_validation(alg: jsonwebtoken::Algorithm) -> jsonwebtoken::Validation {
    let mut v = jsonwebtoken::Validation::new(alg);
    v.set_issuer(&[ISS]);
    v.set_audience(&[AUD]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.validate_nbf = true;
    // jsonwebtoken reads the wall clock: the token expires far enough ahead for both.
    v.leeway = 0;
    v
}

/// The raw primitive: (signing input, signature) -> valid.
type Floor = Box<dyn Fn(&[u8], &[u8]) -> bool>;

struct Case {
    name: &'static str,
    token: String,
    ours: Verifier,
    peer_key: jsonwebtoken::DecodingKey,
    peer_validation: jsonwebtoken::Validation,
    floor: Floor,
}

fn b64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap_or_default()
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let far = |mut c: serde_json::Value| {
        // jsonwebtoken checks against the real clock; auth-jwt against NOW.
        c["exp"] = serde_json::json!(4_000_000_000u64);
        c
    };
    // HS256
    let secret = Secret::new(b"bench secret of at least thirty-two bytes".to_vec());
    let hs = SigningKey::hmac(&secret, Algorithm::HS256)
        .unwrap_or_else(|e| panic!("{e}"))
        .with_kid("hs-1");
    let token = hs.sign(&far(claims())).unwrap_or_else(|e| panic!("{e}"));
    let hkey = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.expose_secret());
    out.push(Case {
        name: "HS256",
        ours: verifier(
            hs.verification_key().unwrap_or_else(|e| panic!("{e}")),
            Algorithm::HS256,
        ),
        peer_key: jsonwebtoken::DecodingKey::from_secret(secret.expose_secret())
            .unwrap_or_else(|e| panic!("{e}")),
        peer_validation: peer_validation(jsonwebtoken::Algorithm::HS256),
        floor: Box::new(move |m, s| aws_lc_rs::hmac::verify(&hkey, m, s).is_ok()),
        token,
    });
    for (name, alg, jalg) in [
        ("RS256", Algorithm::RS256, jsonwebtoken::Algorithm::RS256),
        ("ES256", Algorithm::ES256, jsonwebtoken::Algorithm::ES256),
        ("EdDSA", Algorithm::EdDSA, jsonwebtoken::Algorithm::EdDSA),
    ] {
        let k = SigningKey::generate(alg).unwrap_or_else(|e| panic!("{e}"));
        let token = k.sign(&far(claims())).unwrap_or_else(|e| panic!("{e}"));
        let jwk = k.public_jwk().unwrap_or_default();
        let s = |m: &str| jwk[m].as_str().unwrap_or_default().to_owned();
        let (peer_key, floor): (_, Floor) = match alg {
            Algorithm::RS256 => {
                let (n, e) = (b64(&s("n")), b64(&s("e")));
                let der = rsa_pkcs1_der(&n, &e);
                let parsed = sig::ParsedPublicKey::new(&sig::RSA_PKCS1_2048_8192_SHA256, der)
                    .unwrap_or_else(|e| panic!("{e}"));
                (
                    jsonwebtoken::DecodingKey::from_rsa_components(&s("n"), &s("e"))
                        .unwrap_or_else(|e| panic!("{e}")),
                    Box::new(move |m, sg| parsed.verify_sig(m, sg).is_ok()),
                )
            }
            Algorithm::ES256 => {
                let point = [vec![4], b64(&s("x")), b64(&s("y"))].concat();
                let parsed = sig::ParsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point)
                    .unwrap_or_else(|e| panic!("{e}"));
                (
                    jsonwebtoken::DecodingKey::from_ec_components(&s("x"), &s("y"))
                        .unwrap_or_else(|e| panic!("{e}")),
                    Box::new(move |m, sg| parsed.verify_sig(m, sg).is_ok()),
                )
            }
            _ => {
                let parsed = sig::ParsedPublicKey::new(&sig::ED25519, b64(&s("x")))
                    .unwrap_or_else(|e| panic!("{e}"));
                (
                    jsonwebtoken::DecodingKey::from_ed_components(&s("x"))
                        .unwrap_or_else(|e| panic!("{e}")),
                    Box::new(move |m, sg| parsed.verify_sig(m, sg).is_ok()),
                )
            }
        };
        out.push(Case {
            name,
            ours: verifier(k.verification_key().unwrap_or_else(|e| panic!("{e}")), alg),
            peer_key,
            peer_validation: peer_validation(jalg),
            floor,
            token,
        });
    }
    out
}

/// PKCS#1 RSAPublicKey DER from big-endian n and e.
fn rsa_pkcs1_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn int(x: &[u8]) -> Vec<u8> {
        let mut v = x.to_vec();
        if v.first().is_some_and(|b| b & 0x80 != 0) {
            v.insert(0, 0);
        }
        [tag(0x02, v.len()), v].concat()
    }
    fn tag(t: u8, len: usize) -> Vec<u8> {
        if len < 128 {
            vec![t, len as u8]
        } else if len < 256 {
            vec![t, 0x81, len as u8]
        } else {
            vec![t, 0x82, (len >> 8) as u8, len as u8]
        }
    }
    let body = [int(n), int(e)].concat();
    [tag(0x30, body.len()), body].concat()
}

fn verify(c: &mut Criterion) {
    for case in cases() {
        let mut g = c.benchmark_group(format!("jwt verify {}", case.name));
        // Sanity: all three accept the token.
        assert!(
            block(case.ours.verify_principal(&case.token)).is_ok(),
            "auth-jwt {}",
            case.name
        );
        assert!(
            jsonwebtoken::decode::<Claims>(&case.token, &case.peer_key, &case.peer_validation)
                .is_ok(),
            "jsonwebtoken {}",
            case.name
        );
        let (input, signature) = case.token.rsplit_once('.').unwrap_or_default();
        let signature = b64(signature);
        assert!(
            (case.floor)(input.as_bytes(), &signature),
            "floor {}",
            case.name
        );
        g.bench_function("auth-jwt Verifier::verify_principal", |b| {
            b.iter(|| block(case.ours.verify_principal(black_box(&case.token))).is_ok());
        });
        g.bench_function("peer: jsonwebtoken::decode", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Claims>(
                    black_box(&case.token),
                    &case.peer_key,
                    &case.peer_validation,
                )
                .is_ok()
            });
        });
        g.bench_function("floor: prepared-key primitive", |b| {
            b.iter(|| (case.floor)(black_box(input.as_bytes()), black_box(&signature)));
        });
        g.finish();
    }
}

fn kid_lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("jwt kid lookup (HS256, 100 keys)");
    let signers: Vec<SigningKey> = (0..100u8)
        .map(|i| {
            SigningKey::hmac(&Secret::new(vec![i; 32]), Algorithm::HS256)
                .unwrap_or_else(|e| panic!("{e}"))
                .with_kid(format!("key-{i:03}"))
        })
        .collect();
    let many = verifier_set(
        signers
            .iter()
            .map(|s| s.verification_key().unwrap_or_else(|e| panic!("{e}"))),
    );
    let one = verifier_set([signers[99]
        .verification_key()
        .unwrap_or_else(|e| panic!("{e}"))]);
    let mut c2 = claims();
    c2["exp"] = serde_json::json!(NOW + 3600);
    let token = signers[99].sign(&c2).unwrap_or_else(|e| panic!("{e}"));
    assert!(block(many.verify_principal(&token)).is_ok());
    g.bench_function("last of 100 keys", |b| {
        b.iter(|| block(many.verify_principal(black_box(&token))).is_ok())
    });
    g.bench_function("the only key", |b| {
        b.iter(|| block(one.verify_principal(black_box(&token))).is_ok())
    });
    g.finish();
}

/// The cost of routing by `iss` (the payload read once more before the signature): the same
/// HS256 token through its issuer's verifier alone, and through a set of two issuers.
fn issuer_routing(c: &mut Criterion) {
    let mut g = c.benchmark_group("jwt issuers (HS256)");
    let signer = SigningKey::hmac(&Secret::new(vec![7; 32]), Algorithm::HS256)
        .unwrap_or_else(|e| panic!("{e}"));
    let key = || signer.verification_key().unwrap_or_else(|e| panic!("{e}"));
    let alone = verifier_of(ISS, [key()]);
    let set = Verifier::issuers([verifier_of("https://other.example", [key()]), alone.clone()])
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut c2 = claims();
    c2["exp"] = serde_json::json!(NOW + 3600);
    let token = signer.sign(&c2).unwrap_or_else(|e| panic!("{e}"));
    assert!(block(set.verify_principal(&token)).is_ok());
    g.bench_function("one issuer's verifier", |b| {
        b.iter(|| block(alone.verify_principal(black_box(&token))).is_ok())
    });
    g.bench_function("a set of two issuers", |b| {
        b.iter(|| block(set.verify_principal(black_box(&token))).is_ok())
    });
    g.finish();
}

fn verifier_set(keys: impl IntoIterator<Item = Key>) -> Verifier {
    verifier_of(ISS, keys)
}

fn verifier_of(issuer: &str, keys: impl IntoIterator<Item = Key>) -> Verifier {
    Verifier::builder()
        .algorithms([Algorithm::HS256])
        .issuer(issuer)
        .audience(AUD)
        .keys(KeySet::new(keys))
        .clock(ManualClock::new(UnixTime::from_secs(NOW)))
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = verify, kid_lookup, issuer_routing
}
criterion_main!(benches);
