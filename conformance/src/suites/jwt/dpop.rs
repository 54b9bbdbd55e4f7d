//! DPoP (RFC 9449) on the resource server: RFC 9449's own proof, `ath` and thumbprint; the
//! attack catalogue (algorithm confusion, a private or foreign key in the header, replay, a
//! proof for another request or key, a bound token downgraded to Bearer); the replay cache
//! under a flood; and a property: any change to a proof's header or claims is refused.

use auth_core::{
    Authenticate as _, Decision, ManualClock, ReplayCache as _, TokenAuthenticator, UnixTime,
};
use auth_jwt::dpop::{
    self, DpopAuthenticator, DpopError, DpopKey, MemoryReplayCache, ProofVerifier,
};
use auth_jwt::{Algorithm, KeySet, SigningKey, Verifier};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

use super::{AUD, ISS, NOW};
use crate::harness::{Suite, block_on, check, ensure, ensure_eq};

const URL: &str = "https://api.example.com/orders";

fn vector() -> Value {
    serde_json::from_str(include_str!("../../../vectors/jwt/rfc9449_dpop.json"))
        .unwrap_or(Value::Null)
}

fn clock() -> ManualClock {
    ManualClock::new(UnixTime::from_secs(NOW))
}

fn proofs() -> ProofVerifier {
    ProofVerifier::new().clock(clock())
}

fn dpop_key() -> Result<DpopKey, String> {
    Ok(DpopKey::generate(Algorithm::ES256)
        .map_err(|e| e.to_string())?
        .with_clock(clock()))
}

fn verify(
    proof: &str,
    method: &http::Method,
    token: Option<&str>,
) -> Result<dpop::Proof, DpopError> {
    block_on(proofs().verify(proof, method, URL, token))
}

/// Signs `header` and `claims` as they are with `signer` (a forger's proof).
fn raw(signer: &SigningKey, header: &Value, claims: &Value) -> Result<String, String> {
    signer
        .sign_parts(header.to_string().as_bytes(), claims.to_string().as_bytes())
        .map_err(|e| e.to_string())
}

fn claims() -> Value {
    json!({"jti": "j-1", "htm": "GET", "htu": URL, "iat": NOW})
}

/// An issuer's key, a verifier of its tokens, and a token bound to `jkt`.
struct Bound {
    verifier: Verifier,
    token: String,
    unbound: String,
}

fn bound(jkt: &str) -> Result<Bound, String> {
    let issuer = SigningKey::generate(Algorithm::ES256).map_err(|e| e.to_string())?;
    let verifier = Verifier::builder()
        .keys(KeySet::new([issuer
            .verification_key()
            .map_err(|e| e.to_string())?]))
        .algorithms([Algorithm::ES256])
        .issuer(ISS)
        .audience(AUD)
        .clock(clock())
        .build()
        .map_err(|e| e.to_string())?;
    let base = json!({"iss": ISS, "aud": AUD, "sub": "alice", "exp": NOW + 600});
    let mut with_cnf = base.clone();
    with_cnf["cnf"] = json!({"jkt": jkt});
    Ok(Bound {
        verifier,
        token: issuer.sign(&with_cnf).map_err(|e| e.to_string())?,
        unbound: issuer.sign(&base).map_err(|e| e.to_string())?,
    })
}

fn request(scheme: &str, token: &str, proof: Option<&str>) -> http::request::Parts {
    let mut b = http::Request::get("/orders").header("authorization", format!("{scheme} {token}"));
    if let Some(p) = proof {
        b = b.header("dpop", p);
    }
    b.body(())
        .map(|r| r.into_parts().0)
        .unwrap_or_else(|_| http::Request::new(()).into_parts().0)
}

/// The decision's outcome as a word: `allow`, or the refusal's error code.
fn outcome(decision: Result<Decision, auth_core::Error>) -> String {
    match decision {
        Ok(Decision::Allow(_)) => "allow".into(),
        Ok(Decision::Deny(r)) => r.kind().as_str().into(),
        Ok(other) => format!("{other:?}"),
        Err(e) => format!("error: {e}"),
    }
}

pub(super) fn add(s: &mut Suite) {
    s.case(
        "DPoP: RFC 9449's proof verifies; its key's thumbprint is the jkt of §6.1; §7.1's ath",
        "RFC 9449 §4.1, §6.1, §7.1",
        || {
            let v = vector();
            let field = |n: &str| v[n].as_str().ok_or_else(|| format!("vector has no {n}"));
            let at = ManualClock::new(UnixTime::from_secs(v["iat"].as_u64().unwrap_or(0)));
            let verifier = ProofVerifier::new().clock(at);
            let proof = block_on(verifier.verify(
                field("proof")?,
                &http::Method::POST,
                field("htu")?,
                None,
            ))
            .map_err(|e| format!("the RFC's proof: {e}"))?;
            ensure_eq("jkt", proof.jkt.as_str(), field("jkt")?)?;
            ensure_eq("jti", proof.jti.as_str(), field("jti")?)?;
            ensure_eq(
                "ath",
                dpop::access_token_hash(field("access_token")?).as_str(),
                field("ath")?,
            )?;
            // The same proof for GET is refused.
            let other = ProofVerifier::new().clock(ManualClock::new(UnixTime::from_secs(
                v["iat"].as_u64().unwrap_or(0),
            )));
            let got =
                block_on(other.verify(field("proof")?, &http::Method::GET, field("htu")?, None));
            ensure(got == Err(DpopError::WrongMethod), || {
                format!("for GET: {got:?}")
            })
        },
    );
    s.case(
        "DPoP: algorithm confusion: HS256, none and a private or foreign jwk are refused; ES256 passes",
        "RFC 9449 §4.2 (asymmetric alg, public jwk), §4.3 steps 5-7",
        || {
            let signer = SigningKey::generate(Algorithm::ES256).map_err(|e| e.to_string())?;
            let jwk = signer.public_jwk().ok_or("no public jwk")?;
            let good = raw(
                &signer,
                &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}),
                &claims(),
            )?;
            verify(&good, &http::Method::GET, None).map_err(|e| format!("the twin: {e}"))?;
            let hmac = SigningKey::hmac(&auth_core::Secret::new(vec![7u8; 32]), Algorithm::HS256)
                .map_err(|e| e.to_string())?;
            let oct = json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode([7u8; 32])});
            let mut private = jwk.clone();
            private["d"] = json!("AAAA");
            let other = SigningKey::generate(Algorithm::ES256).map_err(|e| e.to_string())?;
            let forged = [
                (
                    "HS256 with an oct jwk",
                    raw(
                        &hmac,
                        &json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": oct}),
                        &claims(),
                    )?,
                ),
                (
                    "alg none",
                    format!(
                        "{}.{}.",
                        URL_SAFE_NO_PAD.encode(
                            json!({"typ": "dpop+jwt", "alg": "none", "jwk": jwk}).to_string()
                        ),
                        URL_SAFE_NO_PAD.encode(claims().to_string())
                    ),
                ),
                (
                    "a private member in the jwk",
                    raw(
                        &signer,
                        &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": private}),
                        &claims(),
                    )?,
                ),
                (
                    "another key's jwk",
                    raw(
                        &other,
                        &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}),
                        &claims(),
                    )?,
                ),
                (
                    "typ JWT",
                    raw(
                        &signer,
                        &json!({"typ": "JWT", "alg": "ES256", "jwk": jwk}),
                        &claims(),
                    )?,
                ),
            ];
            for (what, proof) in forged {
                let got = verify(&proof, &http::Method::GET, None);
                ensure(got.is_err(), || format!("{what}: accepted"))?;
            }
            Ok(())
        },
    );
    s.case(
        "DPoP: a proof is good once, for its method, URL, token and key only",
        "RFC 9449 §4.3 steps 8-12, §7.1, §11.1",
        || {
            let key = dpop_key()?;
            let b = bound(key.thumbprint())?;
            let auth =
                DpopAuthenticator::new(b.verifier.clone(), proofs(), "https://api.example.com")
                    .map_err(|e| e.to_string())?;
            let run = |scheme: &str, token: &str, proof: Option<&str>| {
                outcome(block_on(auth.authenticate(&request(scheme, token, proof))))
            };
            let proof = |m: &http::Method, url: &str, t: Option<&str>, k: &DpopKey| {
                k.proof(m, url, t, None).map_err(|e| e.to_string())
            };
            let get = http::Method::GET;
            let good = proof(&get, URL, Some(&b.token), &key)?;
            ensure_eq(
                "fresh proof",
                run("DPoP", &b.token, Some(&good)).as_str(),
                "allow",
            )?;
            ensure_eq(
                "replayed",
                run("DPoP", &b.token, Some(&good)).as_str(),
                "invalid_dpop_proof",
            )?;
            let other_key = dpop_key()?;
            let refused = [
                (
                    "POST",
                    proof(&http::Method::POST, URL, Some(&b.token), &key)?,
                ),
                (
                    "another URL",
                    proof(&get, "https://api.example.com/other", Some(&b.token), &key)?,
                ),
                (
                    "another token's ath",
                    proof(&get, URL, Some(&b.unbound), &key)?,
                ),
                ("no ath", proof(&get, URL, None, &key)?),
                ("another key", proof(&get, URL, Some(&b.token), &other_key)?),
            ];
            for (what, p) in &refused {
                ensure_eq(
                    what,
                    run("DPoP", &b.token, Some(p)).as_str(),
                    "invalid_dpop_proof",
                )?;
            }
            // A token with no cnf cannot be used as DPoP.
            let for_unbound = proof(&get, URL, Some(&b.unbound), &key)?;
            ensure_eq(
                "unbound token as DPoP",
                run("DPoP", &b.unbound, Some(&for_unbound)).as_str(),
                "invalid_token",
            )
        },
    );
    s.case(
        "DPoP: a bound token sent as Bearer is refused; an unbound one passes",
        "RFC 9449 §7.1 (no downgrade to Bearer)",
        || {
            let key = dpop_key()?;
            let b = bound(key.thumbprint())?;
            let bearer = TokenAuthenticator::bearer("api", b.verifier.clone());
            let run = |token: &str| {
                outcome(block_on(
                    bearer.authenticate(&request("Bearer", token, None)),
                ))
            };
            ensure_eq("unbound as Bearer", run(&b.unbound).as_str(), "allow")?;
            ensure_eq("bound as Bearer", run(&b.token).as_str(), "invalid_token")
        },
    );
    s.case(
        "DPoP: 100 000 unique proofs keep the replay cache at its bound and let no replay through",
        "RFC 9449 §11.1 (jti tracking), denial of service",
        || {
            let cache = MemoryReplayCache::new(1_000);
            let id = |n: u32| {
                let mut id = [0u8; 32];
                id[..4].copy_from_slice(&n.to_be_bytes());
                id
            };
            let t = |s: u64| UnixTime::from_secs(s);
            for n in 0..100_000u32 {
                let iat = NOW + u64::from(n / 100);
                let first = block_on(cache.first_use(id(n), t(iat), t(iat + 65)))
                    .map_err(|e| e.to_string())?;
                ensure(first, || format!("proof {n} refused on first use"))?;
                ensure(cache.len() <= 1_000, || format!("{} entries", cache.len()))?;
            }
            for n in [0u32, 50_000, 99_999] {
                let iat = NOW + u64::from(n / 100);
                let again = block_on(cache.first_use(id(n), t(iat), t(iat + 65)))
                    .map_err(|e| e.to_string())?;
                ensure(!again, || format!("proof {n} replayed"))?;
            }
            Ok(())
        },
    );
    s.case(
        "DPoP: any change to a proof's header or claims, unsigned again, is refused",
        "RFC 9449 §4.3 step 6 (signature), RFC 7515 §5.2",
        || {
            let key = dpop_key()?;
            let proof = key
                .proof(&http::Method::GET, URL, Some("tok"), None)
                .map_err(|e| e.to_string())?;
            block_on(proofs().verify(&proof, &http::Method::GET, URL, Some("tok")))
                .map_err(|e| format!("the unchanged proof: {e}"))?;
            let parts: Vec<&str> = proof.split('.').collect();
            let decode = |p: &str| -> Value {
                URL_SAFE_NO_PAD
                    .decode(p)
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or(Value::Null)
            };
            let (header, payload) = (decode(parts[0]), decode(parts[1]));
            let names = [
                "typ", "alg", "jwk", "jti", "htm", "htu", "iat", "ath", "extra",
            ];
            check(
                200,
                (
                    0usize..2,
                    proptest::sample::select(names.to_vec()),
                    any::<u32>(),
                ),
                |(part, name, n)| {
                    let mut changed = [header.clone(), payload.clone()];
                    let target = &mut changed[part];
                    let new = json!(format!("v{n}"));
                    if target.get(name) == Some(&new) {
                        return Ok(());
                    }
                    target[name] = new;
                    let forged = format!(
                        "{}.{}.{}",
                        URL_SAFE_NO_PAD.encode(changed[0].to_string()),
                        URL_SAFE_NO_PAD.encode(changed[1].to_string()),
                        parts[2]
                    );
                    match block_on(proofs().verify(&forged, &http::Method::GET, URL, Some("tok"))) {
                        Ok(_) => Err(TestCaseError::fail(format!("accepted with {name} changed"))),
                        Err(_) => Ok(()),
                    }
                },
            )
        },
    );
}
