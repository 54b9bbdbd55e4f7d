//! Nested JWTs (RFC 7519 §5.2, `cty: JWT`): refused by default, and with
//! `accept_nested_jwt` verified through both layers under one policy, one level deep.

use auth_core::{ManualClock, UnixTime};
use auth_jwt::{Algorithm, ErrorKind, Verifier};
use serde_json::json;

use super::{AUD, ISS, NOW, expect_kind, good_claims, keys, set_of, sign_raw, strict, verify};
use crate::harness::{Suite, ensure, ensure_eq};

/// The strict HS256 verifier of the attack cases, with nested tokens accepted.
fn accepting() -> Verifier {
    match Verifier::builder()
        .algorithms([Algorithm::HS256])
        .issuer(ISS)
        .audience(AUD)
        .keys(set_of(&keys().hs))
        .leeway(std::time::Duration::ZERO)
        .clock(ManualClock::new(UnixTime::from_secs(NOW)))
        .accept_nested_jwt()
        .build()
    {
        Ok(v) => v,
        Err(e) => panic!("test verifier: {e}"),
    }
}

/// `inner` wrapped in an HS256 token whose header has `cty`.
fn wrap(inner: &str, cty: &str) -> String {
    let header = json!({"alg": "HS256", "kid": "hs", "cty": cty}).to_string();
    sign_raw(&keys().hs, &header, inner)
}

fn hs(claims: &serde_json::Value) -> String {
    sign_raw(
        &keys().hs,
        r#"{"alg":"HS256","kid":"hs"}"#,
        &claims.to_string(),
    )
}

pub(super) fn add(s: &mut Suite) {
    s.case(
        "nested JWT: refused by default, accepted when switched on",
        "RFC 7519 §5.2, §7.2 step 8",
        || {
            let inner = hs(&good_claims());
            for cty in ["JWT", "jwt", "application/JWT"] {
                let nested = wrap(&inner, cty);
                let refusing = strict(set_of(&keys().hs), &[Algorithm::HS256]);
                expect_kind(cty, verify(&refusing, &nested), ErrorKind::Unsupported)?;
                let claims = verify(&accepting(), &nested).map_err(|e| format!("{cty}: {e}"))?;
                ensure_eq(cty, claims, good_claims())?;
            }
            // Without cty the payload is claims, not a token: the switch changes nothing.
            verify(&accepting(), &inner).map_err(|e| e.to_string())?;
            Ok(())
        },
    );
    s.case(
        "nested JWT: both layers must pass the whole policy, one level only",
        "RFC 7519 §5.2, RFC 8725 §2.8",
        || {
            let v = accepting();
            let inner = hs(&good_claims());
            // The outer signature.
            let mut outer = wrap(&inner, "JWT");
            let last = outer
                .pop()
                .map_or('A', |c| if c == 'A' { 'B' } else { 'A' });
            outer.push(last);
            expect_kind(
                "outer signature",
                verify(&v, &outer),
                ErrorKind::BadSignature,
            )?;
            // The inner signature.
            let (body, _) = inner.rsplit_once('.').unwrap_or_default();
            let forged = format!("{body}.{}", super::b64(&[0u8; 32]));
            let got = verify(&v, &wrap(&forged, "JWT"));
            expect_kind("inner signature", got, ErrorKind::BadSignature)?;
            // The inner claims: time, issuer.
            let mut expired = good_claims();
            expired["exp"] = json!(NOW);
            let got = verify(&v, &wrap(&hs(&expired), "JWT"));
            expect_kind("inner exp", got, ErrorKind::Expired)?;
            let mut other = good_claims();
            other["iss"] = json!("https://other.example");
            let got = verify(&v, &wrap(&hs(&other), "JWT"));
            expect_kind("inner iss", got, ErrorKind::WrongIssuer)?;
            // The inner header: alg none, duplicate members.
            let none = format!(
                "{}.{}.",
                super::b64(br#"{"alg":"none"}"#),
                super::b64(good_claims().to_string().as_bytes())
            );
            let got = verify(&v, &wrap(&none, "JWT"));
            ensure(got.is_err(), || "inner alg none accepted".into())?;
            let dup = sign_raw(
                &keys().hs,
                r#"{"alg":"HS256","kid":"hs","kid":"hs"}"#,
                &good_claims().to_string(),
            );
            let got = verify(&v, &wrap(&dup, "JWT"));
            expect_kind("inner duplicate", got, ErrorKind::Malformed)?;
            // Depth: a nested token inside a nested token.
            let twice = wrap(&wrap(&inner, "JWT"), "JWT");
            expect_kind("depth 2", verify(&v, &twice), ErrorKind::Unsupported)?;
            // The payload of a cty JWT token must be a token.
            let claims_only = wrap(&good_claims().to_string(), "JWT");
            expect_kind(
                "not a token",
                verify(&v, &claims_only),
                ErrorKind::Malformed,
            )?;
            // Bounded: the outer size limit holds the whole thing.
            let mut big = good_claims();
            big["pad"] = json!("x".repeat(6 * 1024));
            let got = verify(&v, &wrap(&hs(&big), "JWT"));
            expect_kind("oversized", got, ErrorKind::TooLarge)
        },
    );
}
