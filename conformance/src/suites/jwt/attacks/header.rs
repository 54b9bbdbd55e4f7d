//! Algorithm, key and header attacks: `alg: none`, key confusion, empty and psychic
//! signatures, `kid` tricks, `jku` and friends, `crit`, duplicate members.

use auth_core::Secret;
use auth_jwt::{Algorithm, ErrorKind, Key, KeySet, SigningKey};
use serde_json::json;

use super::{HS, hs, unsigned};
use crate::harness::{Suite, block_on, ensure, ensure_eq};
use crate::suites::jwt::{b64, expect_kind, good_claims, keys, set_of, sign_raw, strict, verify};

pub(super) fn add(s: &mut Suite) {
    s.case("baseline: the fixture token verifies", "auth-jwt", || {
        verify(&strict(set_of(&keys().hs), HS), &hs(&good_claims()))
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    s.case(
        "alg none in every spelling, signed or not",
        "RFC 8725 §3.1, RFC 7518 §3.6",
        || {
            let v = strict(set_of(&keys().hs), &Algorithm::ALL);
            let payload = good_claims().to_string();
            for alg in [
                "none",
                "None",
                "NONE",
                "nOnE",
                "none ",
                " none",
                "none\u{0}",
            ] {
                let header = json!({"alg": alg, "kid": "hs"}).to_string();
                for sig in [&b""[..], b"x", &[0u8; 32]] {
                    let token = unsigned(&header, &payload, sig);
                    let got = verify(&v, &token);
                    ensure(got.is_err(), || format!("alg {alg:?} accepted"))?;
                }
                // Signed with the real key's HMAC, alg none still names no algorithm.
                let token = sign_raw(&keys().hs, &header, &payload);
                expect_kind(alg, verify(&v, &token), ErrorKind::AlgorithmNotAllowed)?;
            }
            expect_kind(
                "no alg",
                verify(&v, &unsigned(r#"{"kid":"hs"}"#, &payload, b"x")),
                ErrorKind::Malformed,
            )
        },
    );
    s.case(
        "RSA public key used as an HMAC secret",
        "RFC 8725 §2.1, CVE-2015-9235",
        || {
            let rs = &keys().rs;
            let jwk = rs.public_jwk().ok_or("no jwk")?;
            let payload = good_claims().to_string();
            let header = json!({"alg": "HS256", "kid": rs.kid()}).to_string();
            // The positive twin: both verifiers accept the key's own RS256 token.
            let real = rs.sign(&good_claims()).map_err(|e| e.to_string())?;
            for algs in [
                &[Algorithm::RS256, Algorithm::HS256][..],
                &[Algorithm::RS256],
            ] {
                verify(&strict(set_of(rs), algs), &real)
                    .map_err(|e| format!("{algs:?}: the RS256 token is refused: {e}"))?;
            }
            // The attacker HMACs with every public form of the key they can find.
            for secret in [
                jwk.to_string().into_bytes(),
                jwk["n"].as_str().unwrap_or("").as_bytes().to_vec(),
            ] {
                let forged = SigningKey::hmac(&Secret::new(secret), Algorithm::HS256)
                    .map_err(|e| e.to_string())?;
                let token = forged
                    .sign_parts(header.as_bytes(), payload.as_bytes())
                    .map_err(|e| e.to_string())?;
                let both = strict(set_of(rs), &[Algorithm::RS256, Algorithm::HS256]);
                expect_kind(
                    "RS+HS allowed",
                    verify(&both, &token),
                    ErrorKind::UnknownKey,
                )?;
                let rs_only = strict(set_of(rs), &[Algorithm::RS256]);
                expect_kind(
                    "RS allowed",
                    verify(&rs_only, &token),
                    ErrorKind::AlgorithmNotAllowed,
                )?;
            }
            Ok(())
        },
    );
    s.case("empty and truncated signatures", "RFC 7515 §5.2", || {
        let v = strict(set_of(&keys().hs), HS);
        let token = hs(&good_claims());
        let (input, _) = token.rsplit_once('.').ok_or("no dot")?;
        expect_kind(
            "empty",
            verify(&v, &format!("{input}.")),
            ErrorKind::Malformed,
        )?;
        expect_kind(
            "one byte",
            verify(&v, &format!("{input}.AA")),
            ErrorKind::BadSignature,
        )?;
        expect_kind(
            "31 bytes",
            verify(&v, &format!("{input}.{}", b64(&[0; 31]))),
            ErrorKind::BadSignature,
        )
    });
    s.case(
        "ECDSA r = s = 0 and r = s = n (psychic signatures)",
        "CVE-2022-21449",
        || {
            let es = &keys().es;
            let v = strict(set_of(es), &[Algorithm::ES256]);
            let token = es.sign(&good_claims()).map_err(|e| e.to_string())?;
            verify(&v, &token).map_err(|e| format!("the real signature is refused: {e}"))?;
            let (input, _) = token.rsplit_once('.').ok_or("no dot")?;
            let n = [
                0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2,
                0xfc, 0x63, 0x25, 0x51u8,
            ];
            for sig in [
                vec![0u8; 64],
                [n, n].concat(),
                [vec![0; 32], n.to_vec()].concat(),
            ] {
                expect_kind(
                    "forged",
                    verify(&v, &format!("{input}.{}", b64(&sig))),
                    ErrorKind::BadSignature,
                )?;
            }
            Ok(())
        },
    );
    s.case(
        "kid path traversal, injection and oversize are plain non-matches",
        "RFC 8725 §3.10",
        || {
            let v = strict(
                KeySet::new([
                    Key::hmac(&Secret::new(vec![1; 32]), Algorithm::HS256)
                        .map_err(|e| e.to_string())?
                        .with_kid("a"),
                    Key::hmac(&Secret::new(vec![2; 32]), Algorithm::HS256)
                        .map_err(|e| e.to_string())?
                        .with_kid("b"),
                ]),
                HS,
            );
            let payload = good_claims().to_string();
            // Signed with key a's own secret, so only the kid lookup can refuse them.
            let a = SigningKey::hmac(&Secret::new(vec![1; 32]), Algorithm::HS256)
                .map_err(|e| e.to_string())?;
            // The positive twin: kid "a" finds key a and verifies.
            let good = sign_raw(
                &a,
                &json!({"alg": "HS256", "kid": "a"}).to_string(),
                &payload,
            );
            verify(&v, &good).map_err(|e| format!("kid \"a\" refused: {e}"))?;
            let long = "k".repeat(4000);
            for kid in [
                "../../../../dev/null",
                "/etc/passwd",
                "a' OR '1'='1",
                "a\"}",
                "a\n",
                "a\u{0}",
                "*",
                long.as_str(),
            ] {
                let header = json!({"alg": "HS256", "kid": kid}).to_string();
                let token = sign_raw(&a, &header, &payload);
                let err = match verify(&v, &token) {
                    Ok(_) => return Err(format!("kid {kid:?} accepted")),
                    Err(e) => e,
                };
                if err.kind() != ErrorKind::UnknownKey {
                    return Err(format!("kid {kid:?}: {:?}, want UnknownKey", err.kind()));
                }
                let msg = err.to_string();
                ensure(
                    !msg.contains('\n') && !msg.contains('\u{0}') && msg.len() < 200,
                    || format!("unescaped or unbounded message: {msg:?}"),
                )?;
            }
            Ok(())
        },
    );
    s.case("jku, x5u, jwk and x5c are never followed or trusted", "RFC 8725 §3.10, RFC 7515 §4.1.2-6", || {
        block_on(async {
            let server = wiremock::MockServer::start().await;
            let attacker = SigningKey::generate(Algorithm::ES256).map_err(|e| e.to_string())?;
            let v = strict(set_of(&keys().es), &[Algorithm::ES256]);
            let url = format!("{}/jwks.json", server.uri());
            let payload = good_claims().to_string();
            // The positive twin: a kid-less token by the configured key verifies.
            let honest = sign_raw(&keys().es, r#"{"alg":"ES256"}"#, &payload);
            verify(&v, &honest).map_err(|e| format!("the configured key's token is refused: {e}"))?;
            for header in [
                json!({"alg": "ES256", "jku": url}),
                json!({"alg": "ES256", "x5u": url}),
                json!({"alg": "ES256", "jwk": attacker.public_jwk()}),
                json!({"alg": "ES256", "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]}),
                json!({"alg": "ES256", "kid": attacker.kid(), "jwk": attacker.public_jwk(), "jku": url}),
            ] {
                let token = sign_raw(&attacker, &header.to_string(), &payload);
                ensure(verify(&v, &token).is_err(), || format!("accepted: {header}"))?;
            }
            let requests = server.received_requests().await.unwrap_or_default();
            ensure_eq("requests to jku/x5u", requests.len(), 0)
        })
    });
    s.case(
        "crit is refused whatever it lists",
        "RFC 7515 §4.1.11, RFC 7797",
        || {
            let v = strict(set_of(&keys().hs), HS);
            let payload = good_claims().to_string();
            for header in [
                json!({"alg": "HS256", "kid": "hs", "crit": ["exp"], "exp": 1}),
                json!({"alg": "HS256", "kid": "hs", "crit": ["b64"], "b64": false}),
                json!({"alg": "HS256", "kid": "hs", "crit": ["x-custom"], "x-custom": 1}),
                json!({"alg": "HS256", "kid": "hs", "crit": []}),
                json!({"alg": "HS256", "kid": "hs", "b64": false}),
            ] {
                let token = sign_raw(&keys().hs, &header.to_string(), &payload);
                expect_kind(
                    &header.to_string(),
                    verify(&v, &token),
                    ErrorKind::UnsupportedCritical,
                )?;
            }
            let token = sign_raw(
                &keys().hs,
                r#"{"alg":"HS256","kid":"hs","crit":"exp"}"#,
                &payload,
            );
            expect_kind(
                "crit not an array",
                verify(&v, &token),
                ErrorKind::Malformed,
            )
        },
    );
    s.case(
        "duplicate members in header or claims, at any depth",
        "RFC 7515 §4, RFC 7519 §4",
        || {
            let v = strict(set_of(&keys().hs), HS);
            let c = good_claims().to_string();
            let inner = c.trim_start_matches('{').trim_end_matches('}');
            for (header, payload) in [
                (
                    r#"{"alg":"HS256","kid":"hs","alg":"HS256"}"#.to_owned(),
                    c.clone(),
                ),
                (
                    r#"{"alg":"HS256","kid":"hs","kid":"hs"}"#.to_owned(),
                    c.clone(),
                ),
                (
                    r#"{"alg":"HS256","kid":"hs"}"#.to_owned(),
                    format!(r#"{{{inner},"sub":"mallory"}}"#),
                ),
                (
                    r#"{"alg":"HS256","kid":"hs"}"#.to_owned(),
                    format!(r#"{{{inner},"aud":"other"}}"#),
                ),
                (
                    r#"{"alg":"HS256","kid":"hs"}"#.to_owned(),
                    format!(r#"{{{inner},"x":{{"a":1,"a":2}}}}"#),
                ),
                (
                    r#"{"alg":"HS256","kid":"hs"}"#.to_owned(),
                    format!(r#"{{{inner},"\u0073ub":"mallory"}}"#),
                ),
            ] {
                let token = sign_raw(&keys().hs, &header, &payload);
                expect_kind(&payload, verify(&v, &token), ErrorKind::Malformed)?;
            }
            Ok(())
        },
    );
}
