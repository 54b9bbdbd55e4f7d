//! Shape and key-policy attacks: JWE and nesting, oversize, bad base64url, trailing data,
//! `typ`, weak HMAC secrets, several fitting keys without a `kid`.

use std::time::Duration;

use auth_core::Secret;
use auth_jwt::{Algorithm, ErrorKind, Key, KeySet, SigningKey};
use serde_json::json;

use super::{HS, hs, with};
use crate::harness::{Suite, ensure};
use crate::suites::jwt::{
    AUD, ISS, NOW, expect_kind, good_claims, keys, set_of, sign_raw, strict, strict_with, verify,
};

pub(super) fn add(s: &mut Suite) {
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
