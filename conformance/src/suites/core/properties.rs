//! Properties: no panic on any header, challenges round-trip, no secret in any output, scope
//! requirements agree with set inclusion.

use std::ffi::OsString;

use auth_core::challenge::parse_one;
use auth_core::credentials::CredentialError;
use auth_core::{
    Challenge, Guard, ScopeRequirement, Scopes, Secret, StaticCredential, TokenExtractor, Transport,
};
use http::header::{HeaderName, HeaderValue};
use proptest::prelude::*;

use super::{bearer, head};
use crate::harness::{Suite, block_on, check};

pub(super) fn add(s: &mut Suite) {
    s.case(
        "property: arbitrary header bytes never panic",
        "DESIGN: no panic on any input",
        || {
            let ex = TokenExtractor::bearer()
                .with_header(HeaderName::from_static("x-api-key"))
                .with_query_parameter("access_token");
            let guard = Guard::new(bearer().with_extractor(ex.clone()));
            let bytes = proptest::collection::vec(any::<u8>(), 0..300);
            check(
                512,
                (bytes.clone(), bytes, ".{0,64}"),
                |(auth, key, query)| {
                    let mut parts = head(&[], "/");
                    if let Ok(v) = HeaderValue::from_bytes(&auth) {
                        parts.headers.append("authorization", v.clone());
                        let _ = Challenge::parse_all(&String::from_utf8_lossy(&auth));
                        let _ = parse_one(&String::from_utf8_lossy(&auth));
                    }
                    if let Ok(v) = HeaderValue::from_bytes(&key) {
                        parts.headers.append("x-api-key", v);
                    }
                    let uri = format!("/p?access_token={}", query.replace(' ', "+"));
                    if let Ok(u) = uri.parse() {
                        parts.uri = u;
                    }
                    let _ = ex.extract(&parts);
                    let mut stripped = parts.clone();
                    ex.strip(&mut stripped);
                    let decided = block_on(guard.decide(&parts));
                    if let Err(d) = decided {
                        let status = d.to_response().status();
                        prop_assert!(
                            [400, 401, 403].contains(&status.as_u16()),
                            "status {status}"
                        );
                    }
                    Ok(())
                },
            )
        },
    );

    s.case(
        "property: render then parse a challenge",
        "RFC 9110 §11.6.1",
        || {
            let scheme = "[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,12}";
            let name = "[a-z_][a-z0-9_-]{0,10}";
            let value = "[ -~\t]{0,40}";
            let params = proptest::collection::vec((name, value), 0..5);
            check(512, (scheme, params), |(scheme, params)| {
                let mut c = Challenge::new(&scheme);
                for (n, v) in &params {
                    c.set_param(n, v);
                }
                let rendered = c.to_string();
                let parsed = Challenge::parse_all(&rendered)
                    .map_err(|e| TestCaseError::fail(format!("{rendered}: {e}")))?;
                prop_assert_eq!(parsed, vec![c.clone()], "{}", rendered);
                // Several challenges in one field too.
                let two = format!("{c}, {c}");
                let parsed = Challenge::parse_all(&two)
                    .map_err(|e| TestCaseError::fail(format!("{two}: {e}")))?;
                prop_assert_eq!(parsed.len(), 2);
                Ok(())
            })
        },
    );

    s.case(
        "property: no formatted output holds a secret",
        "DESIGN: secrets",
        || {
            check(256, "[A-Za-z0-9]{16,48}", |secret_text| {
                let secret = Secret::new(secret_text.clone());
                let mut outputs = vec![format!("{secret:?}"), format!("{secret:#?}")];

                let cred = StaticCredential::bearer(&secret)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                outputs.push(format!("{cred:?}"));

                let env = |k: &str| match k {
                    "TOKEN" => Some(OsString::from(secret_text.clone())),
                    "TOKEN_FILE" => Some(OsString::from("/nonexistent")),
                    _ => None,
                };
                if let Err(e) = Secret::from_lookup("TOKEN", env) {
                    outputs.push(format!("{e} {e:?}"));
                }
                let empty_file =
                    |k: &str| (k == "TOKEN_FILE").then(|| OsString::from("/nonexistent/auth-rs"));
                if let Err(e) = Secret::from_lookup("TOKEN", empty_file) {
                    outputs.push(format!("{e} {e:?}"));
                }

                // A wrong token presented to an authenticator: the rejection, its Debug and its
                // response never repeat it.
                let guard = Guard::new(bearer());
                let req = head(
                    &[("authorization", format!("Bearer {secret_text}").as_bytes())],
                    "/",
                );
                if let Err(d) = block_on(guard.decide(&req)) {
                    let r = d.to_response();
                    outputs.push(format!("{d} {d:?} {:?} {}", r.headers(), r.body()));
                }
                // Malformed requests carrying it.
                let req = head(
                    &[(
                        "authorization",
                        format!("Bearer {secret_text} x").as_bytes(),
                    )],
                    "/",
                );
                if let Err(d) = block_on(guard.decide(&req)) {
                    outputs.push(format!("{d} {d:?} {:?}", d.to_response()));
                }
                let err = CredentialError::TooLong { limit: 1 };
                outputs.push(format!("{err} {err:?}"));

                // A URL that carries it in user info and query.
                if let Ok(uri) = format!("http://u:{secret_text}@idp.example/x?t={secret_text}")
                    .parse::<http::Uri>()
                    && let Err(e) = Transport::default().check(&uri)
                {
                    outputs.push(format!("{e} {e:?}"));
                }
                for out in outputs {
                    prop_assert!(!out.contains(&secret_text), "secret in {:?}", out);
                }
                Ok(())
            })
        },
    );

    s.case(
        "property: scope requirement agrees with set inclusion",
        "RFC 6749 §3.3",
        || {
            let scope = "[a-d]";
            let sets = (
                proptest::collection::vec(scope, 1..4),
                proptest::collection::vec(scope, 0..5),
            );
            check(512, sets, |(need, granted)| {
                let req =
                    ScopeRequirement::all(&need).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let g: Scopes = granted.iter().collect();
                let want = need.iter().all(|n| granted.contains(n));
                prop_assert_eq!(req.is_satisfied_by(&g), want);
                Ok(())
            })
        },
    );
}
