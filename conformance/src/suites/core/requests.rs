//! Reading the credential and the status of each refusal: schemes, missing, doubled,
//! malformed and oversized credentials, wrong tokens, missing scopes, an unavailable key
//! service.

use auth_core::{Guard, Principal, ScopeRequirement, TokenExtractor};
use http::StatusCode;
use http::header::HeaderName;

use super::{GOOD, bearer, expect_denied, head, respond, www_authenticate};
use crate::harness::{Suite, block_on, ensure, ensure_eq};

pub(super) fn add(s: &mut Suite) {
    s.case("bearer scheme in any case", "RFC 9110 §11.1", || {
        let guard = Guard::new(bearer());
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let value = format!("{scheme} {GOOD}");
            let got = respond(&guard, &head(&[("authorization", value.as_bytes())], "/"));
            let principal = got.map_err(|r| format!("{scheme}: answered {}", r.status()))?;
            ensure_eq(
                "subject",
                principal.as_ref().map(Principal::subject),
                Some("alice"),
            )?;
        }
        Ok(())
    });

    s.case(
        "no credential: 401, realm, no error",
        "RFC 6750 §3.1",
        || {
            let guard = Guard::new(bearer());
            expect_denied(
                respond(&guard, &head(&[], "/")),
                StatusCode::UNAUTHORIZED,
                r#"Bearer realm="example""#,
            )?;
            // Another scheme's credential is not ours: the same bare challenge.
            expect_denied(
                respond(
                    &guard,
                    &head(&[("authorization", b"Basic dXNlcjpwYXNz")], "/"),
                ),
                StatusCode::UNAUTHORIZED,
                r#"Bearer realm="example""#,
            )
        },
    );

    s.case(
        "two Authorization headers: 400 invalid_request",
        "RFC 6750 §3.1, RFC 9110 §5.3",
        || {
            let guard = Guard::new(bearer());
            let req = head(
                &[
                    ("authorization", b"Bearer a"),
                    ("authorization", b"Bearer b"),
                ],
                "/",
            );
            expect_denied(
                respond(&guard, &req),
                StatusCode::BAD_REQUEST,
                r#"Bearer realm="example", error="invalid_request""#,
            )
        },
    );

    s.case(
        "credential sent two ways: 400 invalid_request",
        "RFC 6750 §2",
        || {
            let ex = TokenExtractor::bearer()
                .with_header(HeaderName::from_static("x-api-key"))
                .with_query_parameter("access_token");
            let guard = Guard::new(bearer().with_extractor(ex));
            for req in [
                head(&[("authorization", b"Bearer a"), ("x-api-key", b"a")], "/"),
                head(&[("authorization", b"Bearer a")], "/?access_token=a"),
            ] {
                expect_denied(
                    respond(&guard, &req),
                    StatusCode::BAD_REQUEST,
                    r#"Bearer realm="example", error="invalid_request""#,
                )?;
            }
            Ok(())
        },
    );

    s.case(
        "query parameter ignored unless enabled",
        "RFC 6750 §2.3, §5.3",
        || {
            let guard = Guard::new(bearer());
            expect_denied(
                respond(&guard, &head(&[], &format!("/?access_token={GOOD}"))),
                StatusCode::UNAUTHORIZED,
                r#"Bearer realm="example""#,
            )?;
            let guard = Guard::new(
                bearer()
                    .with_extractor(TokenExtractor::bearer().with_query_parameter("access_token")),
            );
            let got = respond(&guard, &head(&[], &format!("/?access_token={GOOD}")));
            ensure(matches!(got, Ok(Some(_))), || {
                "enabled query parameter not read".into()
            })
        },
    );

    s.case(
        "malformed b64token: 400 invalid_request",
        "RFC 6750 §2.1",
        || {
            let guard = Guard::new(bearer());
            for value in [
                &b"Bearer"[..],
                b"Bearer ",
                b"Bearer a b",
                b"Bearer a=b",
                b"Bearer \xe9t\xe9",
                b"Bearer a,b",
            ] {
                expect_denied(
                    respond(&guard, &head(&[("authorization", value)], "/")),
                    StatusCode::BAD_REQUEST,
                    r#"Bearer realm="example", error="invalid_request""#,
                )
                .map_err(|e| format!("{}: {e}", String::from_utf8_lossy(value)))?;
            }
            Ok(())
        },
    );

    s.case(
        "oversized credential (1 MiB): 400 invalid_request",
        "RFC 6750 §3.1",
        || {
            let guard = Guard::new(bearer());
            let huge = format!("Bearer {}", "A".repeat(1 << 20));
            expect_denied(
                respond(&guard, &head(&[("authorization", huge.as_bytes())], "/")),
                StatusCode::BAD_REQUEST,
                r#"Bearer realm="example", error="invalid_request""#,
            )
        },
    );

    s.case(
        "wrong token: 401 invalid_token, reason kept server-side",
        "RFC 6750 §3.1",
        || {
            let guard = Guard::new(bearer());
            let req = head(&[("authorization", b"Bearer wrong-token")], "/");
            let denial = block_on(guard.decide(&req)).err().ok_or("let through")?;
            ensure(denial.to_string().contains("unknown token"), || {
                format!("server-side reason lost: {denial}")
            })?;
            let r = denial.to_response();
            ensure(!r.body().contains("unknown"), || {
                format!("reason leaked into body: {}", r.body())
            })?;
            expect_denied(
                Err(r),
                StatusCode::UNAUTHORIZED,
                r#"Bearer realm="example", error="invalid_token""#,
            )
        },
    );

    s.case(
        "missing scope: 403 insufficient_scope with scope",
        "RFC 6750 §3.1",
        || {
            let guard = Guard::new(bearer())
                .require_scope(ScopeRequirement::parse("write admin").map_err(|e| e.to_string())?);
            let req = head(
                &[("authorization", format!("Bearer {GOOD}").as_bytes())],
                "/",
            );
            expect_denied(
                respond(&guard, &req),
                StatusCode::FORBIDDEN,
                r#"Bearer realm="example", error="insufficient_scope", scope="write admin""#,
            )?;
            let guard = Guard::new(bearer())
                .require_scope(ScopeRequirement::parse("write | read").map_err(|e| e.to_string())?);
            ensure(matches!(respond(&guard, &req), Ok(Some(_))), || {
                "alternative scope not accepted".into()
            })
        },
    );

    s.case(
        "key service down: 503, never 401",
        "DESIGN: could-not-decide",
        || {
            let guard = Guard::new(bearer());
            let r = respond(&guard, &head(&[("authorization", b"Bearer down")], "/"))
                .err()
                .ok_or("let through")?;
            ensure_eq("status", r.status(), StatusCode::SERVICE_UNAVAILABLE)?;
            ensure(www_authenticate(&r).is_empty(), || {
                "503 carries a challenge".into()
            })?;
            ensure(
                !r.body().contains("refused") && !r.body().contains("idp"),
                || format!("detail leaked: {}", r.body()),
            )
        },
    );
}
