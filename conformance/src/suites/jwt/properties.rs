//! Properties: any single-byte change to a valid token fails, sign then verify round-trips
//! for every algorithm, and no input makes the verifier or the key parsers panic.

use auth_jwt::{Algorithm, Key, KeySet, SigningKey};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::json;

use super::{AUD, ISS, NOW, b64, good_claims, keys, set_of, strict, verify};
use crate::harness::{Suite, check};

fn fail(why: String) -> TestCaseError {
    TestCaseError::fail(why)
}

pub(super) fn add(s: &mut Suite) {
    s.case(
        "any single-byte change to a valid token fails",
        "RFC 7515 §5.2 (integrity)",
        || {
            let k = keys();
            let mut cases: Vec<(String, auth_jwt::Verifier)> = Vec::new();
            for key in [&k.hs, &k.es, &k.ed] {
                let token = key.sign(&good_claims()).map_err(|e| e.to_string())?;
                let verifier = strict(set_of(key), &[key.algorithm()]);
                // The positive twin: unchanged, each token verifies, so a verifier that
                // refused everything could not pass this case.
                verify(&verifier, &token).map_err(|e| {
                    format!("{:?}: the unchanged token fails: {e}", key.algorithm())
                })?;
                cases.push((token, verifier));
            }
            let bytes = proptest::sample::select((0u8..=127).collect::<Vec<_>>());
            check(
                300,
                (0usize..3, any::<prop::sample::Index>(), bytes),
                |(which, at, byte)| {
                    let (token, v) = &cases[which];
                    let mut t = token.clone().into_bytes();
                    let i = at.index(t.len());
                    if t[i] == byte {
                        return Ok(());
                    }
                    t[i] = byte;
                    let changed = String::from_utf8(t).map_err(|e| fail(e.to_string()))?;
                    match verify(v, &changed) {
                        Ok(_) => Err(fail(format!(
                            "accepted with byte {i} = {byte:#x}: {changed}"
                        ))),
                        Err(_) => Ok(()),
                    }
                },
            )
        },
    );
    s.case(
        "sign then verify round-trips for every algorithm",
        "RFC 7515 §5.1-5.2",
        || {
            let signers: Vec<SigningKey> = Algorithm::ALL
                .into_iter()
                .map(|alg| match alg {
                    Algorithm::RS256 => Ok(keys().rs.clone()),
                    _ => SigningKey::generate(alg),
                })
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
            let rs_public = keys().rs.public_jwk().ok_or("no jwk")?;
            check(
                48,
                (0..signers.len(), "[a-zA-Z0-9 _.@-]{1,40}", 1u64..1_000_000),
                |(i, sub, ttl)| {
                    let alg = Algorithm::ALL[i];
                    // One RSA key pair serves every RSA algorithm: its JWK without alg verifies all.
                    let signer = if alg.family() == auth_jwt::Family::Rsa {
                        let mut jwk = rs_public.clone();
                        if let Some(o) = jwk.as_object_mut() {
                            o.remove("alg");
                        }
                        let key =
                            Key::from_jwk(&jwk.to_string()).map_err(|e| fail(e.to_string()))?;
                        let token = sign_as(&keys().rs, alg, &sub, ttl)?;
                        return expect_sub(&strict(KeySet::new([key]), &[alg]), &token, &sub);
                    } else {
                        &signers[i]
                    };
                    let token = sign_as(signer, alg, &sub, ttl)?;
                    expect_sub(&strict(set_of(signer), &[alg]), &token, &sub)
                },
            )
        },
    );
    s.case(
        "no panic on any input: tokens, headers, claims, keys",
        "RFC 8725 §3.11",
        || {
            let v = strict(set_of(&keys().hs), &Algorithm::ALL);
            check(400, any::<String>(), |s| {
                let _ = verify(&v, &s);
                let _ = Key::from_jwk(&s);
                let _ = KeySet::from_jwks(&s);
                Ok(())
            })?;
            check(
                400,
                (any::<Vec<u8>>(), any::<Vec<u8>>(), any::<Vec<u8>>()),
                |(h, p, sig)| {
                    let _ = verify(&v, &format!("{}.{}.{}", b64(&h), b64(&p), b64(&sig)));
                    Ok(())
                },
            )?;
            let kty = proptest::sample::select(vec!["RSA", "EC", "OKP", "oct"]);
        check(400, (kty, any::<Vec<u8>>(), any::<Vec<u8>>(), any::<Vec<u8>>()), |(kty, a, b, c)| {
            let jwk = json!({"kty": kty, "crv": "P-256", "n": b64(&a), "e": b64(&b), "x": b64(&a),
                             "y": b64(&b), "k": b64(&c)});
            let _ = Key::from_jwk(&jwk.to_string());
            let _ = KeySet::from_jwks(&json!({"keys": [jwk]}).to_string());
            Ok(())
        })?;
        let json_text = "[\\[\\]{}\":,a-z0-9 \\\\.eE+-]{0,80}";
            check(400, (json_text, json_text), |(h, p)| {
                let header = format!(r#"{{"alg":"HS256","kid":"hs",{h}}}"#);
                let token = keys()
                    .hs
                    .sign_parts(header.as_bytes(), p.as_bytes())
                    .map_err(|e| fail(e.to_string()))?;
                let _ = verify(&v, &token);
                let token = keys()
                    .hs
                    .sign_parts(
                        br#"{"alg":"HS256","kid":"hs"}"#,
                        format!("{{{p}}}").as_bytes(),
                    )
                    .map_err(|e| fail(e.to_string()))?;
                let _ = verify(&v, &token);
                Ok(())
            })
        },
    );
}

fn sign_as(
    signer: &SigningKey,
    alg: Algorithm,
    sub: &str,
    ttl: u64,
) -> Result<String, TestCaseError> {
    let claims = json!({"iss": ISS, "aud": AUD, "sub": sub, "exp": NOW + ttl});
    let header = json!({"alg": alg.as_str(), "kid": signer.kid()}).to_string();
    let payload = claims.to_string();
    if signer.algorithm() == alg {
        return signer.sign(&claims).map_err(|e| fail(e.to_string()));
    }
    // The same RSA key under another RSA algorithm.
    rsa_under(signer, alg, header.as_bytes(), payload.as_bytes())
}

fn rsa_under(
    signer: &SigningKey,
    alg: Algorithm,
    header: &[u8],
    payload: &[u8],
) -> Result<String, TestCaseError> {
    signer
        .with_algorithm(alg)
        .map_err(|e| fail(e.to_string()))?
        .sign_parts(header, payload)
        .map_err(|e| fail(e.to_string()))
}

fn expect_sub(v: &auth_jwt::Verifier, token: &str, sub: &str) -> Result<(), TestCaseError> {
    let claims = verify(v, token).map_err(|e| fail(format!("{e}: {token}")))?;
    if claims["sub"] == sub {
        Ok(())
    } else {
        Err(fail(format!("sub changed: {claims}")))
    }
}
