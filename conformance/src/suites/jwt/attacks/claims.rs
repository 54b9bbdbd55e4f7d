//! Claims attacks: time boundaries with and without leeway, mistyped and missing `aud`, `iss`
//! and `sub`.

use std::time::Duration;

use auth_jwt::ErrorKind;
use serde_json::json;

use super::{HS, hs, with};
use crate::harness::{Suite, ensure_eq};
use crate::suites::jwt::{AUD, ISS, NOW, expect_kind, keys, set_of, strict, strict_with, verify};

pub(super) fn add(s: &mut Suite) {
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
}
