//! The standards' own examples, byte for byte: RFC 7515 Appendix A, RFC 7519 §3.1, RFC 7520
//! §4, RFC 7638 §3.1, RFC 8037 Appendix A.

use auth_core::{ManualClock, UnixTime};
use auth_jwt::danger::verify_jws_signature;
use auth_jwt::{Algorithm, ErrorKind, Key, KeySet, SigningKey, Verifier};
use serde_json::Value;

use super::{b64, expect_kind, field, vector, verify};
use crate::harness::{Suite, ensure, ensure_eq};

const MAX: usize = 8 * 1024;

fn key(jwk: &Value) -> Result<Key, String> {
    Key::from_jwk(&jwk.to_string()).map_err(|e| format!("key: {e}"))
}

/// Verifies a JWS signature and returns the payload as text.
fn jws(token: &str, jwk: &Value, alg: Algorithm) -> Result<String, String> {
    let payload = verify_jws_signature(token, &KeySet::new([key(jwk)?]), &[alg], MAX)
        .map_err(|e| e.to_string())?;
    String::from_utf8(payload).map_err(|e| e.to_string())
}

/// A DER length.
fn der_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

/// A PKCS#1 `RSAPrivateKey` PEM from a private JWK (RFC 8017 A.1.2).
fn rsa_private_pem(jwk: &Value) -> Result<String, String> {
    let mut body = vec![0x02, 0x01, 0x00];
    for name in ["n", "e", "d", "p", "q", "dp", "dq", "qi"] {
        let mut int = base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            field(jwk, name)?,
        )
        .map_err(|e| e.to_string())?;
        if int.first().is_some_and(|b| b & 0x80 != 0) {
            int.insert(0, 0);
        }
        body.push(0x02);
        der_len(&mut body, int.len());
        body.extend(int);
    }
    let mut der = vec![0x30];
    der_len(&mut der, body.len());
    der.extend(body);
    Ok(pem("RSA PRIVATE KEY", &der))
}

/// A PKCS#8 Ed25519 private key PEM from its 32-byte seed (RFC 8410 §7).
fn ed25519_private_pem(seed: &[u8]) -> String {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    pem("PRIVATE KEY", &der)
}

fn pem(label: &str, der: &[u8]) -> String {
    let text = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn unb64(s: &str) -> Result<Vec<u8>, String> {
    base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, s)
        .map_err(|e| e.to_string())
}

/// Signs the vector's protected header and payload with `signer`; must equal `compact`.
fn reproduce(
    signer: &SigningKey,
    header_b64: &str,
    payload_b64: &str,
    compact: &str,
) -> Result<(), String> {
    let token = signer
        .sign_parts(&unb64(header_b64)?, &unb64(payload_b64)?)
        .map_err(|e| e.to_string())?;
    ensure_eq("signed token", token.as_str(), compact)
}

fn at(secs: u64) -> ManualClock {
    ManualClock::new(UnixTime::from_secs(secs))
}

pub(super) fn add(s: &mut Suite) {
    s.case(
        "A.1 HS256 example verifies and re-signs identically",
        "RFC 7515 A.1",
        || {
            let v = vector("A1");
            let payload = jws(field(&v, "compact")?, &v["jwk"], Algorithm::HS256)?;
            ensure_eq("payload", payload.as_str(), field(&v, "payload_utf8")?)?;
            let secret = auth_core::Secret::new(unb64(field(&v["jwk"], "k")?)?);
            let signer = SigningKey::hmac(&secret, Algorithm::HS256).map_err(|e| e.to_string())?;
            reproduce(
                &signer,
                field(&v, "protected_header_b64u")?,
                field(&v, "payload_b64u")?,
                field(&v, "compact")?,
            )
        },
    );
    s.case(
        "A.2 RS256 example verifies and re-signs identically",
        "RFC 7515 A.2",
        || {
            let v = vector("A2");
            jws(field(&v, "compact")?, &v["jwk_public"], Algorithm::RS256)?;
            let signer = SigningKey::from_pem(
                rsa_private_pem(&v["jwk_private"])?.as_bytes(),
                Algorithm::RS256,
            )
            .map_err(|e| e.to_string())?;
            reproduce(
                &signer,
                field(&v, "protected_header_b64u")?,
                field(&v, "payload_b64u")?,
                field(&v, "compact")?,
            )
        },
    );
    s.case(
        "A.3 ES256 example verifies; DER and zero signatures do not",
        "RFC 7515 A.3, RFC 7518 §3.4",
        || {
            let v = vector("A3");
            jws(field(&v, "compact")?, &v["jwk_public"], Algorithm::ES256)?;
            let input = field(&v, "signing_input")?;
            let sig = unb64(field(&v, "signature_b64u")?)?;
            let (r, s) = sig.split_at(32);
            let int = |x: &[u8]| {
                let mut i = x.to_vec();
                if i[0] & 0x80 != 0 {
                    i.insert(0, 0);
                }
                let mut out = vec![0x02, i.len() as u8];
                out.extend(i);
                out
            };
            let body = [int(r), int(s)].concat();
            let der = [vec![0x30, body.len() as u8], body].concat();
            ensure(
                jws(
                    &format!("{input}.{}", b64(&der)),
                    &v["jwk_public"],
                    Algorithm::ES256,
                )
                .is_err(),
                || "DER-encoded ECDSA signature accepted".into(),
            )?;
            ensure(
                jws(
                    &format!("{input}.{}", b64(&[0; 64])),
                    &v["jwk_public"],
                    Algorithm::ES256,
                )
                .is_err(),
                || "r = s = 0 accepted (CVE-2022-21449)".into(),
            )
        },
    );
    s.case(
        "A.4 ES512 (P-521) example verifies (aws-lc-rs, not jsonwebtoken)",
        "RFC 7515 A.4",
        || {
            let v = vector("A4");
            let payload = jws(field(&v, "compact")?, &v["jwk_public"], Algorithm::ES512)?;
            ensure_eq("payload", payload.as_str(), field(&v, "payload_utf8")?)
        },
    );
    s.case(
        "A.5 unsecured JWS (alg none) is refused",
        "RFC 7515 A.5, RFC 8725 §3.2",
        || {
            let v = vector("A5");
            let a1 = vector("A1");
            let keys = KeySet::new([key(&a1["jwk"])?]);
            let got = verify_jws_signature(field(&v, "compact")?, &keys, &Algorithm::ALL, MAX);
            ensure(got.is_err(), || "alg none accepted".into())
        },
    );
    s.case(
        "§3.1 example JWT: valid before exp, claims as published, expired after",
        "RFC 7519 §3.1",
        || {
            let v = vector("7519");
            let build = |now: u64| {
                Verifier::builder()
                    .leeway(std::time::Duration::ZERO)
                    .algorithms([Algorithm::HS256])
                    .issuer("joe")
                    .danger_accept_any_audience()
                    .keys(KeySet::new([key(&v["jwk"])?]))
                    .clock(at(now))
                    .build()
                    .map_err(|e| e.to_string())
            };
            let token = field(&v, "jwt")?;
            let claims = verify(&build(1_300_819_379)?, token).map_err(|e| e.to_string())?;
            ensure_eq("claims", &claims, &v["claims_parsed"])?;
            // exp == now is expired (jsonwebtoken accepts it).
            expect_kind(
                "at exp",
                verify(&build(1_300_819_380)?, token),
                ErrorKind::Expired,
            )?;
            expect_kind(
                "now",
                verify(&build(1_700_000_000)?, token),
                ErrorKind::Expired,
            )
        },
    );
    s.case(
        "4.1 RS256 verifies with the published payload",
        "RFC 7520 §4.1",
        || {
            let v = vector("4.1");
            let payload = jws(field(&v, "compact")?, &v["jwk_public"], Algorithm::RS256)?;
            ensure_eq("payload", payload.as_str(), field(&v, "payload_utf8")?)
        },
    );
    s.case("4.2 PS384 verifies", "RFC 7520 §4.2", || {
        let v = vector("4.2");
        jws(field(&v, "compact")?, &v["jwk_public"], Algorithm::PS384).map(|_| ())
    });
    s.case(
        "4.3 ES512 verifies (aws-lc-rs, not jsonwebtoken)",
        "RFC 7520 §4.3",
        || {
            let v = vector("4.3");
            let payload = jws(field(&v, "compact")?, &v["jwk_public"], Algorithm::ES512)?;
            ensure_eq("payload", payload.as_str(), field(&v, "payload_utf8")?)
        },
    );
    s.case(
        "4.4 HS256 verifies and re-signs identically",
        "RFC 7520 §4.4",
        || {
            let v = vector("4.4");
            let payload = jws(field(&v, "compact")?, &v["jwk"], Algorithm::HS256)?;
            ensure_eq("payload", payload.as_str(), field(&v, "payload_utf8")?)?;
            let secret = auth_core::Secret::new(unb64(field(&v["jwk"], "k")?)?);
            let signer = SigningKey::hmac(&secret, Algorithm::HS256)
                .map_err(|e| e.to_string())?
                .with_kid(field(&v["jwk"], "kid")?);
            reproduce(
                &signer,
                field(&v, "protected_header_b64u")?,
                field(&v, "payload_b64u")?,
                field(&v, "compact")?,
            )
        },
    );
    s.case(
        "4.5-4.7 detached content and JSON serialization are not accepted",
        "RFC 7520 §4.5-4.7",
        || {
            let v = vector("4.5");
            let key_jwk = &v["raw_cookbook"]["input"]["key"];
            let detached = v["raw_cookbook"]["output"]["compact"]
                .as_str()
                .ok_or("no compact")?;
            ensure(jws(detached, key_jwk, Algorithm::HS256).is_err(), || {
                "detached payload accepted".into()
            })?;
            for name in ["4.6", "4.7"] {
                let v = vector(name);
                let json = v["raw_cookbook"]["output"]["json_flat"].to_string();
                let key_jwk = &v["raw_cookbook"]["input"]["key"];
                ensure(jws(&json, key_jwk, Algorithm::HS256).is_err(), || {
                    format!("{name}: JSON serialization accepted")
                })?;
            }
            Ok(())
        },
    );
    s.case(
        "4.1 RS256 signature is reproduced from the private JWK",
        "RFC 7520 §4.1",
        || {
            let v = vector("4.1");
            let signer =
                SigningKey::from_pem(rsa_private_pem(&v["jwk"])?.as_bytes(), Algorithm::RS256)
                    .map_err(|e| e.to_string())?
                    .with_kid(field(&v["jwk"], "kid")?);
            reproduce(
                &signer,
                field(&v, "protected_header_b64u")?,
                field(&v, "payload_b64u")?,
                field(&v, "compact")?,
            )
        },
    );
    s.case(
        "Ed25519: A.4 verifies, A.1 re-signs identically, A.3 thumbprint",
        "RFC 8037 A.1-A.5",
        || {
            let v = vector("8037");
            let public = &v["A.2_public_jwk"];
            let payload = jws(field(&v, "A.4_compact")?, public, Algorithm::EdDSA)?;
            ensure_eq("payload", payload.as_str(), field(&v, "A.4_payload_utf8")?)?;
            let seed = unb64(field(&v["A.1_private_jwk"], "d")?)?;
            let signer =
                SigningKey::from_pem(ed25519_private_pem(&seed).as_bytes(), Algorithm::EdDSA)
                    .map_err(|e| e.to_string())?;
            ensure_eq(
                "derived public JWK x",
                signer.public_jwk().map(|j| j["x"].clone()),
                Some(public["x"].clone()),
            )?;
            reproduce(
                &signer,
                field(&v, "A.4_protected_header_b64u")?,
                field(&v, "A.4_payload_b64u")?,
                field(&v, "A.4_compact")?,
            )?;
            let tp = auth_jwt::thumbprint(&public.to_string()).map_err(|e| e.to_string())?;
            ensure_eq("thumbprint", tp.as_str(), field(&v, "A.3_thumbprint_b64u")?)?;
            let mut flipped = field(&v, "A.4_compact")?.to_owned();
            let last = flipped.pop().ok_or("empty")?;
            flipped.push(if last == 'g' { 'w' } else { 'g' });
            ensure(jws(&flipped, public, Algorithm::EdDSA).is_err(), || {
                "flipped signature accepted".into()
            })
        },
    );
    s.case(
        "JWK thumbprint byte for byte; optional members do not change it",
        "RFC 7638 §3.1",
        || {
            let v = vector("7638");
            let mut jwk = v["input_jwk"].clone();
            let want = field(&v, "thumbprint_b64u")?;
            ensure_eq(
                "thumbprint",
                auth_jwt::thumbprint(&jwk.to_string())
                    .map_err(|e| e.to_string())?
                    .as_str(),
                want,
            )?;
            if let Some(o) = jwk.as_object_mut() {
                o.remove("alg");
                o.remove("kid");
                o.insert("use".into(), "sig".into());
            }
            ensure_eq(
                "without optional members",
                auth_jwt::thumbprint(&jwk.to_string())
                    .map_err(|e| e.to_string())?
                    .as_str(),
                want,
            )?;
            let extra = &v["extra_not_in_rfc7638"];
            if let (Some(jwk), Some(tp)) = (
                extra.get("jwk"),
                extra.get("thumbprint_b64u").and_then(Value::as_str),
            ) {
                ensure_eq(
                    "EC thumbprint",
                    auth_jwt::thumbprint(&jwk.to_string())
                        .map_err(|e| e.to_string())?
                        .as_str(),
                    tp,
                )?;
            }
            Ok(())
        },
    );
}
