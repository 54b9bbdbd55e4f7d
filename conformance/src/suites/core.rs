//! auth-core: credentials, challenges, decisions and responses, secrets, transport policy.

use std::ffi::OsString;
use std::time::Duration;

use auth_core::challenge::parse_one;
use auth_core::credentials::CredentialError;
use auth_core::http_client::HttpErrorKind;
use auth_core::{
    Authenticate, AuthenticateExt, Challenge, CredentialKind, Denial, Error, Guard, Principal,
    Rejection, ScopeRequirement, Scopes, Secret, StaticCredential, TokenAuthenticator,
    TokenExtractor, TokenVerdict, Transport,
};
use http::header::{HeaderName, HeaderValue, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{Response, StatusCode};
use proptest::prelude::*;

use crate::harness::{CheckResult, Suite, block_on, check, ensure, ensure_eq};

const GOOD: &str = "mF_9.B5f-4.1JqM";

/// A verifier that knows one token, granting `read`.
fn verifier(token: &str) -> Result<TokenVerdict, Error> {
    Ok(if token == GOOD {
        TokenVerdict::Valid(
            Principal::new("alice", CredentialKind::Jwt)
                .with_scopes(Scopes::from_space_separated("read")),
        )
    } else if token == "down" {
        return Err(Error::unavailable(
            "JWKS https://idp.example/jwks",
            "connection refused",
        ));
    } else if token == "misconfigured" {
        return Err(Error::Misconfigured("no keys configured".into()));
    } else {
        TokenVerdict::Invalid(format!("unknown token of {} bytes", token.len()).into())
    })
}

type Verify = fn(&str) -> Result<TokenVerdict, Error>;

fn bearer() -> TokenAuthenticator<Verify> {
    TokenAuthenticator::bearer("example", verifier as Verify)
}

fn head(headers: &[(&str, &[u8])], uri: &str) -> Parts {
    let mut parts = http::Request::new(()).into_parts().0;
    parts.uri = uri.parse().unwrap_or_default();
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            parts.headers.append(n, v);
        }
    }
    parts
}

#[allow(clippy::result_large_err)] // test helper: the response is the point
fn respond<A: Authenticate>(
    guard: &Guard<A>,
    parts: &Parts,
) -> Result<Option<Principal>, Response<String>> {
    block_on(guard.decide(parts)).map_err(|d| d.to_response())
}

fn www_authenticate(r: &Response<String>) -> Vec<String> {
    r.headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

fn expect_denied(
    got: Result<Option<Principal>, Response<String>>,
    status: StatusCode,
    challenge: &str,
) -> CheckResult {
    let response = got.err().ok_or("request was let through")?;
    ensure_eq("status", response.status(), status)?;
    ensure_eq(
        "WWW-Authenticate",
        www_authenticate(&response),
        vec![challenge.to_owned()],
    )
}

/// The auth-core suite.
pub fn suite() -> Suite {
    let mut s = Suite::new("auth-core");

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

    s.case("several challenges in one field", "RFC 9110 §11.6.1", || {
        let value = r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple", Bearer"#;
        let parsed = Challenge::parse_all(value).map_err(|e| e.to_string())?;
        let schemes: Vec<_> = parsed.iter().map(Challenge::scheme).collect();
        ensure_eq("schemes", schemes, vec!["Newauth", "Basic", "Bearer"])?;
        ensure_eq("title", parsed[0].param("title"), Some(r#"Login to "apps""#))?;
        ensure_eq("type", parsed[0].param("TYPE"), Some("1"))
    });

    s.case(
        "Authorization credentials grammar",
        "RFC 9110 §11.6.2",
        || {
            let c = parse_one(r#"Digest username="Mufasa", realm="http-auth@example.org""#)
                .map_err(|e| e.to_string())?;
            ensure_eq("username", c.param("username"), Some("Mufasa"))?;
            let c = parse_one("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==").map_err(|e| e.to_string())?;
            ensure_eq("token68", c.token68(), Some("QWxhZGRpbjpvcGVuIHNlc2FtZQ=="))?;
            ensure(parse_one("Basic a b").is_err(), || {
                "two token68s accepted".into()
            })
        },
    );

    s.case(
        "HTTPS required except loopback",
        "DESIGN: secure by default; RFC 6749 §3.1",
        || {
            for (uri, ok) in [
                ("https://idp.example/token", true),
                ("http://idp.example/token", false),
                ("http://127.0.0.1:9/token", true),
                ("http://[::1]/token", true),
                ("http://localhost./token", false),
                ("http://localhost.attacker.example/token", false),
            ] {
                let uri: http::Uri = uri.parse().map_err(|e| format!("{uri}: {e}"))?;
                let got = Transport::default().check(&uri);
                ensure(got.is_ok() == ok, || format!("{uri}: {got:?}"))?;
                if let Err(e) = got {
                    ensure_eq("kind", e.kind(), HttpErrorKind::InsecureUrl)?;
                }
            }
            Ok(())
        },
    );

    s.case(
        "outgoing credential: header sensitive, never over plain http",
        "RFC 9113 §8.2.3, RFC 6750 §5.3",
        || {
            let c = StaticCredential::bearer(&Secret::new("tok-123")).map_err(|e| e.to_string())?;
            let mut req = http::Request::get("https://api.example.com/data")
                .body(())
                .map_err(|e| e.to_string())?;
            c.apply(&mut req).map_err(|e| e.to_string())?;
            let v = req.headers().get("authorization").ok_or("no header")?;
            ensure_eq("value", v.to_str().ok(), Some("Bearer tok-123"))?;
            ensure(v.is_sensitive(), || "not marked sensitive".into())?;
            // Never in clear text to another host (the tutorial's "always use HTTPS").
            let mut plain = http::Request::get("http://api.example.com/data")
                .body(())
                .map_err(|e| e.to_string())?;
            ensure(c.apply(&mut plain).is_err(), || {
                "attached over plain http".into()
            })?;
            ensure(!plain.headers().contains_key("authorization"), || {
                "header set on a refused request".into()
            })
        },
    );

    s.case(
        "secret from NAME or NAME_FILE; errors name the variable",
        "DESIGN: secrets",
        || {
            let env = |k: &str| (k == "PEPPER").then(|| OsString::from("correct horse battery"));
            let s = Secret::from_lookup("PEPPER", env).map_err(|e| e.to_string())?;
            ensure(s.ct_eq(b"correct horse battery"), || "value differs".into())?;
            let both = |k: &str| match k {
                "PEPPER" => Some(OsString::from("correct horse battery")),
                "PEPPER_FILE" => Some(OsString::from("/run/secrets/pepper")),
                _ => None,
            };
            let e = Secret::from_lookup("PEPPER", both)
                .err()
                .ok_or("ambiguous accepted")?;
            let text = format!("{e} {e:?}");
            ensure(text.contains("PEPPER"), || {
                format!("variable not named: {text}")
            })?;
            ensure(!text.contains("horse"), || format!("value leaked: {text}"))
        },
    );

    // Properties.

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

    s
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
