//! auth-tower: the layer's answers, as a client of any tower stack sees them. Refusals are
//! RFC 6750 challenges (401, 403 with the scope), 429 with `Retry-After` and the RateLimit
//! fields, 503 without a challenge, and gRPC's trailers-only statuses; the service behind
//! the layer is called only for a request that passed, with the principal in its extensions
//! and the gate's headers on its response.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use auth_core::{BoxLimiter, SubjectKey};
use auth_core::{
    Challenge, CredentialKind, Error, Guard, ManualClock, Principal, ScopeRequirement, Scopes,
    TokenAuthenticator, TokenVerdict, UnixTime,
};
use auth_ratelimit::{Quota, RateLimiter};
use auth_tower::{Gate, GateLayer, RateLimit, RequireScope};
use http::{Request, Response};
use http_body_util::Either;
use tower_layer::Layer as _;
use tower_service::Service;

use crate::harness::{CheckResult, Suite, block_on, ensure, ensure_eq};
use crate::services::Service as Needs;

fn verify(token: &str) -> Result<TokenVerdict, Error> {
    match token {
        "reader" | "writer" => Ok(TokenVerdict::Valid(
            Principal::new(token, CredentialKind::ApiKey)
                .with_scopes(Scopes::from_space_separated("orders:read")),
        )),
        "down" => Err(Error::unavailable("introspection", "connection refused")),
        "broken" => Err(Error::Misconfigured("no keys".into())),
        _ => Ok(TokenVerdict::Invalid("unknown token".into())),
    }
}

type Verify = fn(&str) -> Result<TokenVerdict, Error>;

fn guard() -> Guard<TokenAuthenticator<Verify>> {
    Guard::new(TokenAuthenticator::bearer("shop", verify as Verify))
}

/// The service behind the layer: answers with the principal's subject, or `-`.
#[derive(Clone)]
struct Echo;

impl Service<Request<()>> for Echo {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<String>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        let who = request
            .extensions()
            .get::<Principal>()
            .map_or("-".to_owned(), |p| p.subject().to_owned());
        Box::pin(async move { Ok(Response::new(who)) })
    }
}

/// What came back, and whether the service behind the layer answered it.
struct Answer {
    response: Response<String>,
    reached: bool,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn status(&self) -> u16 {
        self.response.status().as_u16()
    }
}

fn call<G: Gate + 'static>(layer: &GateLayer<G>, request: Request<()>) -> Answer {
    block_on(call_async(layer, request))
}

async fn call_async<G: Gate + 'static>(layer: &GateLayer<G>, request: Request<()>) -> Answer {
    let mut service = layer.layer(Echo);
    let response = service.call(request).await.unwrap_or_else(|e| match e {});
    let (parts, body) = response.into_parts();
    let (body, reached) = match body {
        Either::Left(refusal) => (refusal, false),
        Either::Right(answer) => (answer, true),
    };
    Answer {
        response: Response::from_parts(parts, body),
        reached,
    }
}

fn request(authorization: &[&str]) -> Request<()> {
    let mut r = Request::get("/orders");
    for a in authorization {
        r = r.header("authorization", *a);
    }
    r.body(()).unwrap_or_default()
}

fn refused(a: &Answer, status: u16, challenge: &str) -> CheckResult {
    ensure_eq("status", a.status(), status)?;
    ensure_eq("WWW-Authenticate", a.header("www-authenticate"), challenge)?;
    ensure(!a.reached, || {
        "the service was called for a refused request".into()
    })
}

fn limited_layer(burst: u32) -> Result<GateLayer<impl Gate>, String> {
    let quota = Quota::per_minute(1)
        .and_then(|q| q.with_burst(burst))
        .map_err(|e| e.to_string())?;
    let limiter = RateLimiter::builder(quota)
        .clock(ManualClock::new(UnixTime::from_secs(1_700_000_000)))
        .build()
        .map_err(|e| e.to_string())?;
    Ok(GateLayer::new(RateLimit::per_principal(limiter)))
}

/// With a principal already in the request, as an authentication layer before it leaves it.
fn as_principal(subject: &str) -> Request<()> {
    let mut r = request(&[]);
    r.extensions_mut()
        .insert(Principal::new(subject, CredentialKind::Jwt));
    r
}

/// Two layers, as two instances would hold, each over its own `RedisLimiter` on one Redis
/// and prefix: between them they admit the burst once, and the 429 carries the fields.
fn redis_behind_the_layer() -> CheckResult {
    let url =
        std::env::var("AUTH_RS_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let nanos = auth_core::Clock::now(&auth_core::SystemClock).as_nanos();
    let prefix = format!("conformance:tower:{}:{nanos}:", std::process::id());
    let quota = Quota::per_hour(1)
        .and_then(|q| q.with_burst(3))
        .map_err(|e| e.to_string())?;
    let instance = || -> Result<GateLayer<RateLimit<BoxLimiter, SubjectKey>>, String> {
        let limiter = auth_ratelimit_redis::RedisLimiter::builder(url.clone(), quota.clone())
            .prefix(prefix.clone())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(GateLayer::new(RateLimit::per_principal(BoxLimiter::new(
            limiter,
        ))))
    };
    block_on(async {
        let (a, b) = (instance()?, instance()?);
        let mut seen = Vec::new();
        for i in 0..5 {
            let layer = if i % 2 == 0 { &a } else { &b };
            let answer = call_async(layer, as_principal("fleet")).await;
            ensure(answer.reached == (answer.status() == 200), || {
                "a refused request reached the service".into()
            })?;
            if answer.status() == 429 {
                ensure(!answer.header("retry-after").is_empty(), || {
                    "429 without Retry-After".into()
                })?;
            }
            seen.push(answer.status());
        }
        ensure_eq(
            "statuses across the two instances",
            seen,
            vec![200, 200, 200, 429, 429],
        )
    })
}

/// The suite.
pub fn suite() -> Suite {
    let mut s = Suite::new("auth-tower");
    s.case(
        "a valid credential reaches the service with its principal",
        "design",
        || {
            let a = call(&GateLayer::new(guard()), request(&["Bearer reader"]));
            ensure_eq("status", a.status(), 200)?;
            ensure(a.reached, || "the service was not called".into())?;
            ensure_eq(
                "principal seen by the service",
                a.response.body().as_str(),
                "reader",
            )
        },
    );
    s.case(
        "no credential: 401 with the bare challenge",
        "RFC 6750 §3.1",
        || {
            refused(
                &call(&GateLayer::new(guard()), request(&[])),
                401,
                r#"Bearer realm="shop""#,
            )
        },
    );
    s.case(
        "a wrong credential: 401 invalid_token",
        "RFC 6750 §3.1",
        || {
            let a = call(&GateLayer::new(guard()), request(&["Bearer nope"]));
            refused(&a, 401, r#"Bearer realm="shop", error="invalid_token""#)
        },
    );
    s.case(
        "two Authorization fields: 400 invalid_request",
        "RFC 6750 §3.1, RFC 9110 §5.3",
        || {
            let a = call(
                &GateLayer::new(guard()),
                request(&["Bearer reader", "Bearer writer"]),
            );
            refused(&a, 400, r#"Bearer realm="shop", error="invalid_request""#)
        },
    );
    s.case(
        "a missing scope: 403 naming it; the scope held passes",
        "RFC 6750 §3.1",
        || {
            let layer = |scope: &str| -> Result<_, String> {
                let need = ScopeRequirement::parse(scope).map_err(|e| e.to_string())?;
                Ok(GateLayer::new(RequireScope::new(
                    need,
                    [Challenge::bearer().with_realm("shop")],
                )))
            };
            let with = |scopes: &str| {
                let mut r = request(&[]);
                r.extensions_mut().insert(
                    Principal::new("reader", CredentialKind::ApiKey)
                        .with_scopes(Scopes::from_space_separated(scopes)),
                );
                r
            };
            let a = call(&layer("orders:write")?, with("orders:read"));
            let challenge =
                r#"Bearer realm="shop", error="insufficient_scope", scope="orders:write""#;
            refused(&a, 403, challenge)?;
            let a = call(&layer("orders:write")?, with("orders:read orders:write"));
            ensure(a.reached && a.status() == 200, || {
                "the scope held was refused".into()
            })
        },
    );
    s.case(
        "no decision (a source is down): 503 without a challenge",
        "design: never 401",
        || {
            let a = call(&GateLayer::new(guard()), request(&["Bearer down"]));
            refused(&a, 503, "")?;
            let a = call(&GateLayer::new(guard()), request(&["Bearer broken"]));
            refused(&a, 500, "")
        },
    );
    s.case(
        "limited: 429 with Retry-After in whole seconds and the RateLimit fields; passes carry them",
        "RFC 6585 §4, RFC 9110 §10.2.3, draft-ietf-httpapi-ratelimit-headers",
        || {
            let layer = limited_layer(2)?;
            for left in [1, 0] {
                let a = call(&layer, as_principal("alice"));
                ensure(a.reached, || "admitted request did not reach the service".into())?;
                ensure(a.header("ratelimit").contains(&format!(";r={left};")), || {
                    format!("RateLimit on a pass: {:?}", a.header("ratelimit"))
                })?;
                ensure(!a.header("ratelimit-policy").is_empty(), || "no RateLimit-Policy".into())?;
            }
            let a = call(&layer, as_principal("alice"));
            ensure_eq("status", a.status(), 429)?;
            ensure(!a.reached, || "a limited request reached the service".into())?;
            // One a minute, a burst of two: the next slot is a whole period after the first.
            ensure_eq("Retry-After", a.header("retry-after"), "60")?;
            ensure(a.header("ratelimit").contains(";r=0;"), || "no r=0 on the 429".into())?;
            // Each principal has a budget of its own.
            ensure(call(&layer, as_principal("bob")).reached, || "bob was limited by alice".into())
        },
    );
    s.case(
        "gRPC: refusals are trailers-only responses with the mapped grpc-status",
        "gRPC status codes (16, 14, 13), gRPC over HTTP/2",
        || {
            for (auth, code) in [
                (None, "16"),
                (Some("Bearer nope"), "16"),
                (Some("Bearer down"), "14"),
                (Some("Bearer broken"), "13"),
            ] {
                let auth: Vec<&str> = auth.into_iter().collect();
                let a = call(&GateLayer::grpc(guard()), request(&auth));
                ensure_eq("HTTP status", a.status(), 200)?;
                ensure_eq("grpc-status", a.header("grpc-status"), code)?;
                ensure_eq("content-type", a.header("content-type"), "application/grpc")?;
                ensure(!a.reached && a.response.body().is_empty(), || {
                    "a body or a call".into()
                })?;
            }
            let limited = GateLayer::grpc(RateLimit::per_principal(
                RateLimiter::builder(Quota::per_minute(1).map_err(|e| e.to_string())?)
                    .clock(ManualClock::new(UnixTime::from_secs(1_700_000_000)))
                    .build()
                    .map_err(|e| e.to_string())?,
            ));
            ensure(call(&limited, as_principal("carol")).reached, || {
                "first call limited".into()
            })?;
            ensure_eq(
                "limited",
                call(&limited, as_principal("carol"))
                    .header("grpc-status")
                    .to_owned(),
                "8".to_owned(),
            )
        },
    );
    s.case(
        "gRPC: a valid credential reaches the service, no grpc-status added",
        "gRPC over HTTP/2",
        || {
            let a = call(&GateLayer::grpc(guard()), request(&["Bearer reader"]));
            ensure(a.reached, || "not called".into())?;
            ensure_eq("grpc-status", a.header("grpc-status"), "")?;
            ensure_eq("body", a.response.body().as_str(), "reader")
        },
    );
    s.case_needing(
        &[Needs::Redis],
        "a fleet's limiter (Redis) behind the layer: two instances admit the quota once",
        "design (one Limiter seam for every server)",
        redis_behind_the_layer,
    );
    s.case(
        "a scope layer alone, with no principal before it: 401, not a pass",
        "design",
        || {
            let need = ScopeRequirement::parse("orders:read").map_err(|e| e.to_string())?;
            let layer = GateLayer::new(RequireScope::new(need, [Challenge::bearer()]));
            let a = call(&layer, request(&[]));
            ensure_eq("status", a.status(), 401)?;
            ensure(!a.reached, || "passed without a principal".into())?;
            Ok(())
        },
    );
    s
}
