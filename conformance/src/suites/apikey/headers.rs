//! Header cases through a real `Guard`: Bearer and `X-API-Key`, both at once, precedence,
//! the opt-in query parameter, stripping, and the client side.

use super::*;
use crate::harness::ensure;

pub(super) fn header_cases(s: &mut Suite) {
    const BARE: &str = r#"Bearer realm="api""#;
    const INVALID_TOKEN: &str = r#"Bearer realm="api", error="invalid_token""#;
    const INVALID_REQUEST: &str = r#"Bearer realm="api", error="invalid_request""#;

    fn setup() -> Result<(KeyGuard, ApiKeys<MemoryStore>, String), String> {
        let (keys, _) = keys_on(MemoryStore::new())?;
        let (key, _) = issue(&keys, NewKey::new("alice", "k"))?;
        Ok((Guard::new(keys.authenticator("api")), keys, key))
    }

    s.case(
        "Authorization: Bearer and X-API-Key both read",
        "RFC 6750 §2.1",
        || {
            let (guard, _, key) = setup()?;
            let bearer = format!("Bearer {key}");
            let lower = format!("bearer {key}");
            expect_subject(
                "Bearer",
                ask(&guard, &[("authorization", &bearer)], "/"),
                "alice",
            )?;
            expect_subject(
                "bearer",
                ask(&guard, &[("authorization", &lower)], "/"),
                "alice",
            )?;
            expect_subject(
                "X-API-Key",
                ask(&guard, &[("x-api-key", &key)], "/"),
                "alice",
            )
        },
    );

    s.case(
        "a key in both Bearer and X-API-Key: 400",
        "RFC 6750 §2",
        || {
            let (guard, _, key) = setup()?;
            let bearer = format!("Bearer {key}");
            expect_status(
                "both",
                ask(
                    &guard,
                    &[("authorization", &bearer), ("x-api-key", &key)],
                    "/",
                ),
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
            )?;
            expect_status(
                "X-API-Key twice",
                ask(&guard, &[("x-api-key", &key), ("x-api-key", &key)], "/"),
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
            )
        },
    );

    s.case(
        "precedence: another scheme in Authorization leaves X-API-Key to decide",
        "RFC 9110 §11.6.2",
        || {
            let (guard, _, key) = setup()?;
            expect_subject(
                "Basic + X-API-Key",
                ask(
                    &guard,
                    &[("authorization", "Basic dXNlcjpwYXNz"), ("x-api-key", &key)],
                    "/",
                ),
                "alice",
            )?;
            // A bearer token that is not one of our keys (a JWT) is not ours: unrecognised, so
            // that a JWT authenticator in an `or` can take it. Alone, the keys refuse it as an
            // invalid token: one was sent (RFC 6750 §3.1 keeps the bare challenge for none).
            expect_status(
                "foreign bearer token",
                ask(
                    &guard,
                    &[("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln")],
                    "/",
                ),
                StatusCode::UNAUTHORIZED,
                INVALID_TOKEN,
            )
        },
    );

    s.case(
        "query parameter ignored unless switched on",
        "RFC 6750 §2.3, §5.3",
        || {
            let (guard, keys, key) = setup()?;
            let uri = format!("/orders?api_key={key}");
            expect_status(
                "default",
                ask(&guard, &[], &uri),
                StatusCode::UNAUTHORIZED,
                BARE,
            )?;
            let on = Guard::new(
                keys.authenticator("api")
                    .with_extractor(default_extractor().with_query_parameter("api_key")),
            );
            expect_subject("switched on", ask(&on, &[], &uri), "alice")?;
            expect_status(
                "query and header",
                ask(&on, &[("x-api-key", &key)], &uri),
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
            )
        },
    );

    s.case(
        "unknown id and wrong secret get the same answer",
        "auth-apikey verification; RFC 6750 §3.1",
        || {
            let (guard, keys, key) = setup()?;
            let (_, unknown) = keys.format().generate().map_err(|e| e.to_string())?;
            let unknown = unknown.expose_str().map_err(|e| e.to_string())?.to_owned();
            // Same id, another secret, a correct checksum.
            let body = &key["sk_test_".len()..];
            let mut random = body[..30].to_owned();
            let last = if random.ends_with('a') { "b" } else { "a" };
            random.replace_range(29.., last);
            let sum = checksum::checksum(random.as_bytes());
            let wrong = format!("sk_test_{random}{}", String::from_utf8_lossy(&sum));
            ensure_eq(
                "unknown",
                status(&keys, &unknown)?,
                Some(Refusal::UnknownKey),
            )?;
            ensure_eq(
                "wrong secret",
                status(&keys, &wrong)?,
                Some(Refusal::WrongSecret),
            )?;
            let answer = |k: &str| {
                ask(&guard, &[("x-api-key", k)], "/")
                    .err()
                    .map(|r| (r.status(), format!("{:?}", r.headers()), r.body().clone()))
            };
            let (a, b) = (answer(&unknown), answer(&wrong));
            ensure(a.is_some(), || "unknown key let through".into())?;
            ensure_eq("responses", a, b)?;
            expect_status(
                "wrong",
                ask(&guard, &[("x-api-key", &wrong)], "/"),
                StatusCode::UNAUTHORIZED,
                INVALID_TOKEN,
            )
        },
    );

    s.case(
        "the credential can be stripped before forwarding",
        "auth-rs DESIGN: request flow 5",
        || {
            let (guard, _, key) = setup()?;
            let mut parts = head(&[("x-api-key", &key), ("accept", "*/*")], "/");
            block_on(guard.authorize(&mut parts)).map_err(|d| d.to_string())?;
            guard.authenticator().extractor().strip(&mut parts);
            ensure(parts.headers.get("x-api-key").is_none(), || {
                "X-API-Key still there".into()
            })?;
            ensure(parts.extensions.get::<Principal>().is_some(), || {
                "principal lost".into()
            })
        },
    );

    s.case(
        "client key from the environment reaches the server",
        "auth-apikey client side",
        || {
            let (guard, keys, key) = setup()?;
            for placement in [Placement::Bearer, Placement::x_api_key()] {
                let credential = client_credential_from_lookup(
                    "ACME_KEY",
                    |v| (v == "ACME_KEY").then(|| OsString::from(&key)),
                    keys.format(),
                    placement,
                )
                .map_err(|e| e.to_string())?;
                let mut request = http::Request::get("https://api.example/")
                    .body(())
                    .map_err(|e| e.to_string())?;
                credential.apply(&mut request).map_err(|e| e.to_string())?;
                let (parts, ()) = request.into_parts();
                expect_subject("client request", respond(&guard, &parts), "alice")?;
            }
            Ok(())
        },
    );
}
