//! Misconfiguration and rate limits as responses, composing authenticators, and what reaches
//! the handler.

use std::time::Duration;

use auth_core::{
    AuthenticateExt, Challenge, CredentialKind, Denial, Error, Guard, Principal, Rejection,
    TokenAuthenticator, TokenVerdict,
};
use http::StatusCode;
use http::header::HeaderValue;

use super::{GOOD, bearer, expect_denied, head, respond};
use crate::harness::{Suite, block_on, ensure, ensure_eq};

pub(super) fn add(s: &mut Suite) {
    s.case("misconfiguration: 500", "DESIGN: misconfiguration", || {
        let guard = Guard::new(bearer());
        let r = respond(
            &guard,
            &head(&[("authorization", b"Bearer misconfigured")], "/"),
        )
        .err()
        .ok_or("let through")?;
        ensure_eq("status", r.status(), StatusCode::INTERNAL_SERVER_ERROR)?;
        ensure_eq("body", r.body().as_str(), r#"{"error":"server_error"}"#)
    });

    s.case(
        "429 with Retry-After rounded up",
        "RFC 9110 §10.2.3, RFC 6585 §4",
        || {
            let r =
                Denial::from(Rejection::rate_limited(Duration::from_millis(1500))).to_response();
            ensure_eq("status", r.status(), StatusCode::TOO_MANY_REQUESTS)?;
            ensure_eq(
                "Retry-After",
                r.headers().get("retry-after").cloned(),
                Some(HeaderValue::from_static("2")),
            )
        },
    );

    s.case(
        "either: first authenticator that recognises decides",
        "DESIGN: composition",
        || {
            // An API-key authenticator that only recognises `sk_` tokens, then the JWT-like one.
            let api_keys = TokenAuthenticator::bearer("example", ApiKeyLike);
            let guard = Guard::new(api_keys.or(bearer()));
            let p = respond(
                &guard,
                &head(&[("authorization", b"Bearer sk_live_123")], "/"),
            )
            .map_err(|r| format!("api key answered {}", r.status()))?;
            ensure_eq(
                "api key principal",
                p.as_ref().map(Principal::kind),
                Some(CredentialKind::ApiKey),
            )?;
            let p = respond(
                &guard,
                &head(
                    &[("authorization", format!("Bearer {GOOD}").as_bytes())],
                    "/",
                ),
            )
            .map_err(|r| format!("jwt answered {}", r.status()))?;
            ensure_eq(
                "jwt principal",
                p.as_ref().map(Principal::kind),
                Some(CredentialKind::Jwt),
            )?;
            // A recognised but wrong API key is refused; the second authenticator is not asked.
            expect_denied(
                respond(&guard, &head(&[("authorization", b"Bearer sk_wrong")], "/")),
                StatusCode::UNAUTHORIZED,
                r#"Bearer realm="example", error="invalid_token""#,
            )
        },
    );

    s.case(
        "credential no authenticator recognises: 401 invalid_token, not a bare challenge",
        "RFC 6750 §3.1",
        || {
            // Only API keys accepted: a token that is not one was still sent, so the answer
            // says it is invalid; the bare challenge is for requests that carry nothing.
            let keys_only = Guard::new(TokenAuthenticator::bearer("example", ApiKeyLike));
            let invalid = r#"Bearer realm="example", error="invalid_token""#;
            expect_denied(
                respond(
                    &keys_only,
                    &head(&[("authorization", b"Bearer garbage")], "/"),
                ),
                StatusCode::UNAUTHORIZED,
                invalid,
            )?;
            expect_denied(
                respond(&keys_only, &head(&[], "/")),
                StatusCode::UNAUTHORIZED,
                r#"Bearer realm="example""#,
            )?;
            // Neither of two: still invalid. Anonymous access does not let it through.
            let either = TokenAuthenticator::bearer("example", ApiKeyLike)
                .or(TokenAuthenticator::bearer("example", ApiKeyLike));
            expect_denied(
                respond(
                    &Guard::new(either),
                    &head(&[("authorization", b"Bearer eyJ0.e30.c2ln")], "/"),
                ),
                StatusCode::UNAUTHORIZED,
                invalid,
            )?;
            let anonymous =
                Guard::new(TokenAuthenticator::bearer("example", ApiKeyLike)).allow_anonymous();
            expect_denied(
                respond(
                    &anonymous,
                    &head(&[("authorization", b"Bearer garbage")], "/"),
                ),
                StatusCode::UNAUTHORIZED,
                invalid,
            )
        },
    );

    s.case(
        "optional: anonymous allowed, bad credential still refused",
        "DESIGN: composition",
        || {
            let guard = Guard::new(bearer()).allow_anonymous();
            ensure(matches!(respond(&guard, &head(&[], "/")), Ok(None)), || {
                "anonymous not allowed".into()
            })?;
            expect_denied(
                respond(&guard, &head(&[("authorization", b"Bearer nope")], "/")),
                StatusCode::UNAUTHORIZED,
                r#"Bearer realm="example", error="invalid_token""#,
            )
        },
    );

    s.case(
        "principal travels in extensions",
        "DESIGN: request flow 5",
        || {
            let guard = Guard::new(bearer());
            let mut req = head(
                &[("authorization", format!("Bearer {GOOD}").as_bytes())],
                "/",
            );
            block_on(guard.authorize(&mut req)).map_err(|d| d.to_string())?;
            ensure_eq(
                "subject",
                req.extensions.get::<Principal>().map(Principal::subject),
                Some("alice"),
            )
        },
    );

    s.case(
        "quote and backslash escaped in error_description",
        "RFC 9110 §5.6.4, RFC 6750 §3",
        || {
            let desc = r#"the "kid" \ was unknown"#;
            let rendered = Challenge::bearer()
                .with_realm("a\"b")
                .with_error_description(desc)
                .to_string();
            ensure_eq(
                "rendered",
                rendered.as_str(),
                r#"Bearer realm="a\"b", error_description="the \"kid\" \\ was unknown""#,
            )?;
            let parsed = Challenge::parse_all(&rendered).map_err(|e| e.to_string())?;
            ensure_eq(
                "parsed back",
                parsed[0].param("error_description"),
                Some(desc),
            )
        },
    );
}

/// Recognises only `sk_` tokens, and accepts only `sk_live_123`.
struct ApiKeyLike;

impl auth_core::VerifyToken for ApiKeyLike {
    fn recognizes(&self, token: &str) -> bool {
        token.starts_with("sk_")
    }

    async fn verify(&self, token: &str) -> Result<TokenVerdict, Error> {
        Ok(if token == "sk_live_123" {
            TokenVerdict::Valid(Principal::new("svc", CredentialKind::ApiKey))
        } else {
            TokenVerdict::Invalid("unknown key".into())
        })
    }
}
