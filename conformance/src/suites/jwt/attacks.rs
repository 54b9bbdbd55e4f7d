//! The attack catalogue: every trick JWT verifiers have fallen for. Each case builds the
//! hostile token itself and checks both that it is refused and why (the error kind).

use std::time::Duration;

use auth_core::Secret;
use auth_jwt::{Algorithm, ErrorKind, Key, KeySet, SigningKey};
use serde_json::json;

use super::{
    AUD, ISS, NOW, b64, expect_kind, good_claims, keys, set_of, sign_raw, strict, strict_with,
    verify,
};
use crate::harness::{Suite, block_on, ensure, ensure_eq};

const HS: &[Algorithm] = &[Algorithm::HS256];

/// A token with `header` and `payload` JSON text and an arbitrary signature.
fn unsigned(header: &str, payload: &str, sig: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.as_bytes()),
        b64(payload.as_bytes()),
        b64(sig)
    )
}

/// HS256 token with the fixture secret and `claims`.
fn hs(claims: &serde_json::Value) -> String {
    sign_raw(
        &keys().hs,
        r#"{"alg":"HS256","kid":"hs"}"#,
        &claims.to_string(),
    )
}

fn with(f: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> serde_json::Value {
    let mut c = good_claims();
    if let Some(o) = c.as_object_mut() {
        f(o);
    }
    c
}

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
    s.case(
        "exp, nbf, iat boundaries without leeway",
        "RFC 7519 §4.1.4-6",
        || {
            let v = strict(set_of(&keys().hs), HS);
            let at = |k: &str, t: u64| {
                with(|o| {
                    o.insert(k.into(), t.into());
                })
            };
            expect_kind(
                "exp == now",
                verify(&v, &hs(&at("exp", NOW))),
                ErrorKind::Expired,
            )?;
            verify(&v, &hs(&at("exp", NOW + 1))).map_err(|e| format!("exp now+1: {e}"))?;
            verify(&v, &hs(&at("nbf", NOW))).map_err(|e| format!("nbf == now: {e}"))?;
            expect_kind(
                "nbf now+1",
                verify(&v, &hs(&at("nbf", NOW + 1))),
                ErrorKind::NotYetValid,
            )?;
            verify(&v, &hs(&at("iat", NOW))).map_err(|e| format!("iat == now: {e}"))?;
            expect_kind(
                "iat now+1",
                verify(&v, &hs(&at("iat", NOW + 1))),
                ErrorKind::NotYetValid,
            )?;
            expect_kind(
                "no exp",
                verify(
                    &v,
                    &hs(&with(|o| {
                        o.remove("exp");
                    })),
                ),
                ErrorKind::MissingClaim,
            )?;
            let frac = with(|o| {
                o.insert("exp".into(), json!(NOW as f64 + 0.5));
            });
            verify(&v, &hs(&frac)).map_err(|e| format!("fractional exp: {e}"))?;
            Ok(())
        },
    );
    s.case(
        "exp, nbf, iat boundaries with a 30 s leeway",
        "RFC 7519 §4.1.4-6",
        || {
            let v = strict_with(set_of(&keys().hs), HS, Duration::from_secs(30), None);
            let at = |k: &str, t: u64| {
                with(|o| {
                    o.insert(k.into(), t.into());
                })
            };
            verify(&v, &hs(&at("exp", NOW - 29))).map_err(|e| format!("exp now-29: {e}"))?;
            expect_kind(
                "exp now-30",
                verify(&v, &hs(&at("exp", NOW - 30))),
                ErrorKind::Expired,
            )?;
            verify(&v, &hs(&at("nbf", NOW + 30))).map_err(|e| format!("nbf now+30: {e}"))?;
            expect_kind(
                "nbf now+31",
                verify(&v, &hs(&at("nbf", NOW + 31))),
                ErrorKind::NotYetValid,
            )?;
            expect_kind(
                "iat now+31",
                verify(&v, &hs(&at("iat", NOW + 31))),
                ErrorKind::NotYetValid,
            )?;
            let msg = verify(&v, &hs(&at("exp", NOW - 432)))
                .err()
                .map(|e| e.to_string());
            ensure_eq("message", msg.as_deref(), Some("token expired 7m12s ago"))
        },
    );
    s.case(
        "mistyped, missing and wrong aud, iss, sub",
        "RFC 7519 §4.1.1-3",
        || {
            let v = strict(set_of(&keys().hs), HS);
            for (k, bad) in [
                ("aud", json!(1)),
                ("aud", json!(null)),
                ("aud", json!([1])),
                ("aud", json!({"a": AUD})),
                ("aud", json!([AUD, null])),
                ("iss", json!(1)),
                ("iss", json!([ISS])),
                ("iss", json!(null)),
                ("sub", json!(1)),
                ("sub", json!(["alice"])),
                ("exp", json!("9999999999")),
                ("iat", json!(-1)),
            ] {
                let c = with(|o| {
                    o.insert(k.into(), bad.clone());
                });
                expect_kind(
                    &format!("{k}: {bad}"),
                    verify(&v, &hs(&c)),
                    ErrorKind::Malformed,
                )?;
            }
            expect_kind(
                "no iss",
                verify(
                    &v,
                    &hs(&with(|o| {
                        o.remove("iss");
                    })),
                ),
                ErrorKind::MissingClaim,
            )?;
            expect_kind(
                "no aud",
                verify(
                    &v,
                    &hs(&with(|o| {
                        o.remove("aud");
                    })),
                ),
                ErrorKind::MissingClaim,
            )?;
            let iss = with(|o| {
                o.insert("iss".into(), format!("{ISS}/").into());
            });
            expect_kind(
                "iss with a slash",
                verify(&v, &hs(&iss)),
                ErrorKind::WrongIssuer,
            )?;
            let aud = with(|o| {
                o.insert("aud".into(), json!(["other", "API"]));
            });
            expect_kind(
                "aud others",
                verify(&v, &hs(&aud)),
                ErrorKind::WrongAudience,
            )?;
            let aud = with(|o| {
                o.insert("aud".into(), json!([]));
            });
            expect_kind("aud empty", verify(&v, &hs(&aud)), ErrorKind::WrongAudience)?;
            let aud = with(|o| {
                o.insert("aud".into(), json!(["other", AUD]));
            });
            verify(&v, &hs(&aud))
                .map(|_| ())
                .map_err(|e| format!("aud in a list: {e}"))
        },
    );
    s.case("JWE and nested JWTs are refused", "RFC 7516, RFC 7519 §5.2", || {
        let v = strict(set_of(&keys().hs), HS);
        let jwe = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nfa6c9d-StnImGyFDbSv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_lDp5XnZAYpQdb76FdIKLaVmqgfwX7XWRxv2322i-vDxRfqNzo_tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0je81860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawVCWTIy3brGPi6UklfCpIMfIjf7iGdXKHzg.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ";
        expect_kind("five parts", verify(&v, jwe), ErrorKind::Unsupported)?;
        let payload = good_claims().to_string();
        let enc = sign_raw(&keys().hs, r#"{"alg":"HS256","kid":"hs","enc":"A256GCM"}"#, &payload);
        expect_kind("enc in a JWS header", verify(&v, &enc), ErrorKind::Unsupported)?;
        let inner = hs(&good_claims());
        for cty in ["JWT", "jwt", "application/JWT"] {
            let header = json!({"alg": "HS256", "kid": "hs", "cty": cty}).to_string();
            let nested = keys().hs.sign_parts(header.as_bytes(), inner.as_bytes()).map_err(|e| e.to_string())?;
            expect_kind(cty, verify(&v, &nested), ErrorKind::Unsupported)?;
        }
        Ok(())
    });
    s.case(
        "oversized tokens are refused before decoding",
        "RFC 8725 §3.11 (resource use)",
        || {
            let v = strict(set_of(&keys().hs), HS);
            let big = with(|o| {
                o.insert("pad".into(), "x".repeat(8 * 1024).into());
            });
            expect_kind("8 KiB + claims", verify(&v, &hs(&big)), ErrorKind::TooLarge)?;
            let huge = format!("{}.{}.{}", "e".repeat(700_000), "e".repeat(700_000), "e");
            expect_kind("1.4 MB", verify(&v, &huge), ErrorKind::TooLarge)?;
            let at_limit = "a".repeat(8 * 1024);
            ensure(
                verify(&v, &at_limit).is_err_and(|e| e.kind() != ErrorKind::TooLarge),
                || "8 KiB exactly counted as too large".into(),
            )
        },
    );
    s.case(
        "bad base64url in any part",
        "RFC 7515 §2, RFC 4648 §5",
        || {
            let v = strict(set_of(&keys().hs), HS);
            let token = hs(&good_claims());
            let parts: Vec<&str> = token.split('.').collect();
            for i in 0..3 {
                for bad in ["=", "+", "/", " ", "%", "\n"] {
                    let mut p: Vec<String> = parts.iter().map(|s| (*s).to_owned()).collect();
                    p[i].push_str(bad);
                    ensure(verify(&v, &p.join(".")).is_err(), || {
                        format!("part {i} with {bad:?} accepted")
                    })?;
                }
            }
            // Non-zero trailing bits: "Zh" is not a canonical encoding.
            let sig = parts[2];
            let last = sig.chars().last().ok_or("empty")?;
            let twin = match last {
                'A'..='Y' | 'a'..='y' | '0'..='8' => ((last as u8) + 1) as char,
                _ => 'A',
            };
            let other = format!(
                "{}.{}.{}{}",
                parts[0],
                parts[1],
                &sig[..sig.len() - 1],
                twin
            );
            ensure(verify(&v, &other).is_err(), || {
                "non-canonical signature accepted".into()
            })
        },
    );
    s.case(
        "trailing data after the token or inside a part",
        "RFC 7515 §7.1, RFC 8259",
        || {
            let v = strict(set_of(&keys().hs), HS);
            let token = hs(&good_claims());
            for bad in [
                format!("{token}."),
                format!("{token}.x"),
                format!("{token} "),
                format!(" {token}"),
            ] {
                ensure(verify(&v, &bad).is_err(), || format!("accepted {bad:?}"))?;
            }
            let payload = format!("{} {{}}", good_claims());
            let t = sign_raw(&keys().hs, r#"{"alg":"HS256","kid":"hs"}"#, &payload);
            expect_kind(
                "JSON after the claims",
                verify(&v, &t),
                ErrorKind::Malformed,
            )?;
            let t = sign_raw(
                &keys().hs,
                r#"{"alg":"HS256","kid":"hs"} x"#,
                &good_claims().to_string(),
            );
            expect_kind(
                "text after the header",
                verify(&v, &t),
                ErrorKind::Malformed,
            )
        },
    );
    s.case(
        "typ requirement: at+jwt, case-insensitive, with or without application/",
        "RFC 9068 §2.1, RFC 8725 §3.11",
        || {
            let v = strict_with(set_of(&keys().hs), HS, Duration::ZERO, Some("at+jwt"));
            let payload = good_claims().to_string();
            for typ in [
                "at+jwt",
                "AT+JWT",
                "application/at+jwt",
                "Application/At+Jwt",
            ] {
                let t = sign_raw(
                    &keys().hs,
                    &json!({"alg": "HS256", "kid": "hs", "typ": typ}).to_string(),
                    &payload,
                );
                verify(&v, &t).map_err(|e| format!("{typ}: {e}"))?;
            }
            for typ in [Some("JWT"), Some("at+jwt+x"), Some("application/jwt"), None] {
                let t = sign_raw(
                    &keys().hs,
                    &json!({"alg": "HS256", "kid": "hs", "typ": typ}).to_string(),
                    &payload,
                );
                let t = if typ.is_none() {
                    sign_raw(&keys().hs, r#"{"alg":"HS256","kid":"hs"}"#, &payload)
                } else {
                    t
                };
                expect_kind(&format!("{typ:?}"), verify(&v, &t), ErrorKind::WrongType)?;
            }
            Ok(())
        },
    );
    s.case(
        "short HMAC secrets and family mismatches never load or verify",
        "RFC 7518 §3.2",
        || {
            for (alg, min) in [
                (Algorithm::HS256, 32),
                (Algorithm::HS384, 48),
                (Algorithm::HS512, 64),
            ] {
                ensure(
                    Key::hmac(&Secret::new(vec![1; min - 1]), alg).is_err(),
                    || format!("{alg} short secret loaded"),
                )?;
                ensure(
                    SigningKey::hmac(&Secret::new(vec![1; min - 1]), alg).is_err(),
                    || format!("{alg} short signer"),
                )?;
            }
            // An Ed25519 key never verifies an ES256 header, even with a matching kid.
            let ed = &keys().ed;
            let v = strict(set_of(ed), &[Algorithm::ES256, Algorithm::EdDSA]);
            let real = ed.sign(&good_claims()).map_err(|e| e.to_string())?;
            verify(&v, &real).map_err(|e| format!("the Ed25519 key's own token: {e}"))?;
            let header = json!({"alg": "ES256", "kid": ed.kid()}).to_string();
            let t = sign_raw(&keys().es, &header, &good_claims().to_string());
            expect_kind(
                "ES256 header, Ed25519 key",
                verify(&v, &t),
                ErrorKind::UnknownKey,
            )
        },
    );
    s.case(
        "no kid and several fitting keys: refused, not guessed",
        "auth-jwt key policy",
        || {
            let a = SigningKey::hmac(&Secret::new(vec![1; 32]), Algorithm::HS256)
                .map_err(|e| e.to_string())?;
            let b = SigningKey::hmac(&Secret::new(vec![2; 32]), Algorithm::HS256)
                .map_err(|e| e.to_string())?;
            let set = || -> Result<KeySet, String> {
                Ok(KeySet::new([
                    a.verification_key().map_err(|e| e.to_string())?,
                    b.verification_key().map_err(|e| e.to_string())?,
                ]))
            };
            let t = a.sign(&good_claims()).map_err(|e| e.to_string())?;
            expect_kind(
                "two keys",
                verify(&strict(set()?, HS), &t),
                ErrorKind::UnknownKey,
            )?;
            let each = auth_jwt::Verifier::builder()
                .algorithms(HS.iter().copied())
                .issuer(ISS)
                .audience(AUD)
                .keys(set()?)
                .try_each_key_without_kid()
                .clock(auth_core::ManualClock::new(auth_core::UnixTime::from_secs(
                    NOW,
                )))
                .build()
                .map_err(|e| e.to_string())?;
            verify(&each, &t).map(|_| ()).map_err(|e| e.to_string())
        },
    );
}
