//! The layer's response mapping, HTTP and gRPC, through real tower services.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use auth_core::{
    Challenge, CredentialKind, Denial, Error, Guard, Principal, Rejection, ScopeRequirement,
    Scopes, TokenAuthenticator, TokenVerdict,
};
use auth_tower::{Gate, GateLayer, RequireScope};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::Either;
use tower::{ServiceBuilder, ServiceExt};

fn verify(token: &str) -> Result<TokenVerdict, Error> {
    match token {
        "reader" => Ok(TokenVerdict::Valid(
            Principal::new("reader", CredentialKind::ApiKey)
                .with_scopes(Scopes::from_space_separated("orders:read")),
        )),
        "down" => Err(Error::unavailable("introspection", "connection refused")),
        "broken" => Err(Error::Misconfigured("no keys".into())),
        _ => Ok(TokenVerdict::Invalid("unknown".into())),
    }
}

type Verify = fn(&str) -> Result<TokenVerdict, Error>;

fn guard() -> Guard<TokenAuthenticator<Verify>> {
    Guard::new(TokenAuthenticator::bearer("shop", verify as Verify))
}

/// A gate that refuses the third request and on; otherwise adds a header, like a limiter.
struct Quota(AtomicUsize);

impl Gate for Quota {
    async fn check(&self, _: &mut Parts) -> Result<HeaderMap, Denial> {
        if self.0.fetch_add(1, Ordering::SeqCst) >= 2 {
            return Err(Rejection::rate_limited(Duration::from_millis(1500)).into());
        }
        let mut h = HeaderMap::new();
        h.insert("ratelimit", HeaderValue::from_static("\"default\";r=1;t=1"));
        Ok(h)
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
    inner_called: bool,
}

async fn call<G: Gate + 'static>(layer: GateLayer<G>, request: Request<()>) -> Answer {
    let called = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&called);
    let service = ServiceBuilder::new()
        .layer(layer)
        .service_fn(move |req: Request<()>| {
            seen.fetch_add(1, Ordering::SeqCst);
            let who = req
                .extensions()
                .get::<Principal>()
                .map_or("-".to_owned(), |p| p.subject().to_owned());
            async move { Ok::<_, Infallible>(Response::new(who)) }
        });
    let response = service.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: match body {
            Either::Left(s) | Either::Right(s) => s,
        },
        inner_called: called.load(Ordering::SeqCst) > 0,
    }
}

fn req(auth: Option<&str>) -> Request<()> {
    let mut b = Request::get("/orders");
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    b.body(()).unwrap()
}

#[track_caller]
fn header<'a>(a: &'a Answer, name: &str) -> &'a str {
    a.headers.get(name).map_or("", |v| v.to_str().unwrap())
}

#[tokio::test]
async fn http_mapping() {
    let cases: [(Option<&str>, u16, &str); 5] = [
        (Some("Bearer reader"), 200, ""),
        (None, 401, r#"Bearer realm="shop""#),
        (
            Some("Bearer nope"),
            401,
            r#"Bearer realm="shop", error="invalid_token""#,
        ),
        (
            Some("Bearer a b"),
            400,
            r#"Bearer realm="shop", error="invalid_request""#,
        ),
        (Some("Bearer down"), 503, ""),
    ];
    for (auth, status, challenge) in cases {
        let a = call(GateLayer::new(guard()), req(auth)).await;
        assert_eq!(a.status, status, "{auth:?}");
        assert_eq!(header(&a, "www-authenticate"), challenge, "{auth:?}");
        assert_eq!(a.inner_called, status == 200, "{auth:?}");
        if status == 200 {
            assert_eq!(a.body, "reader", "principal reached the handler");
        }
    }
    let a = call(GateLayer::new(guard()), req(Some("Bearer broken"))).await;
    assert_eq!(a.status, 500);
    assert_eq!(a.body, r#"{"error":"server_error"}"#);
}

#[tokio::test]
async fn scope_layer_maps_to_403() {
    let scope = |need: &str| {
        GateLayer::new(RequireScope::new(
            ScopeRequirement::parse(need).unwrap(),
            [Challenge::bearer().with_realm("shop")],
        ))
    };
    let service = |need: &'static str| {
        ServiceBuilder::new()
            .layer(GateLayer::new(guard()))
            .layer(scope(need))
            .service_fn(|_req: Request<()>| async {
                Ok::<_, Infallible>(Response::new(String::new()))
            })
    };
    let r = service("orders:write")
        .oneshot(req(Some("Bearer reader")))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.headers()["www-authenticate"],
        r#"Bearer realm="shop", error="insufficient_scope", scope="orders:write""#
    );
    let r = service("orders:read")
        .oneshot(req(Some("Bearer reader")))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The scope layer alone, with no principal before it: 401.
    let a = call(scope("orders:read"), req(None)).await;
    assert_eq!(a.status, 401);
}

#[tokio::test]
async fn gate_headers_on_success_and_429_with_retry_after() {
    let layer = GateLayer::new(Quota(AtomicUsize::new(0)));
    for _ in 0..2 {
        let a = call(layer.clone(), req(None)).await;
        assert_eq!(a.status, 200);
        assert_eq!(header(&a, "ratelimit"), "\"default\";r=1;t=1");
    }
    let a = call(layer, req(None)).await;
    assert_eq!(a.status, 429);
    assert_eq!(header(&a, "retry-after"), "2");
    assert!(!a.inner_called);
}

#[tokio::test]
async fn grpc_mapping() {
    let cases: [(Option<&str>, &str); 4] = [
        (None, "16"),
        (Some("Bearer nope"), "16"),
        (Some("Bearer down"), "14"),
        (Some("Bearer broken"), "13"),
    ];
    for (auth, code) in cases {
        let a = call(GateLayer::grpc(guard()), req(auth)).await;
        assert_eq!(a.status, 200, "{auth:?}");
        assert_eq!(header(&a, "grpc-status"), code, "{auth:?}");
        assert_eq!(header(&a, "content-type"), "application/grpc");
        assert!(a.body.is_empty());
        assert!(!a.inner_called);
    }
    // The positive twin: the same gRPC layer lets a valid credential through to the service.
    let a = call(GateLayer::grpc(guard()), req(Some("Bearer reader"))).await;
    assert!(a.inner_called);
    assert_eq!(a.status, 200);
    assert_eq!(a.body, "reader");
    assert!(a.headers.get("grpc-status").is_none());
    let a = call(
        GateLayer::grpc(RequireScope::new(
            ScopeRequirement::parse("admin").unwrap(),
            [Challenge::bearer()],
        )),
        {
            let mut r = req(None);
            r.extensions_mut()
                .insert(Principal::new("x", CredentialKind::Jwt));
            r
        },
    )
    .await;
    assert_eq!(header(&a, "grpc-status"), "7");
    assert!(!a.inner_called);
    let admin = |scopes: &str| {
        let mut r = req(None);
        r.extensions_mut().insert(
            Principal::new("x", CredentialKind::Jwt)
                .with_scopes(Scopes::from_space_separated(scopes)),
        );
        r
    };
    let scope_layer = || {
        GateLayer::grpc(RequireScope::new(
            ScopeRequirement::parse("admin").unwrap(),
            [Challenge::bearer()],
        ))
    };
    assert!(call(scope_layer(), admin("admin")).await.inner_called);
    assert!(!call(scope_layer(), admin("read")).await.inner_called);

    let layer = GateLayer::grpc(Quota(AtomicUsize::new(5)));
    let a = call(layer, req(None)).await;
    assert_eq!(header(&a, "grpc-status"), "8");
    assert_eq!(header(&a, "retry-after"), "2");
}

#[tokio::test]
async fn per_principal_rate_limit_with_headers() {
    use auth_core::{ManualClock, UnixTime};
    use auth_ratelimit::{Quota, RateLimiter};
    use auth_tower::RateLimit;

    let clock = ManualClock::new(UnixTime::from_secs(1_700_000_000));
    let limiter = RateLimiter::builder(Quota::per_minute(2).unwrap())
        .clock(clock.clone())
        .build()
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(GateLayer::new(guard()))
        .layer(GateLayer::new(RateLimit::per_principal(limiter)))
        .service_fn(|_req: Request<()>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        });

    for remaining in ["1", "0"] {
        let r = service
            .clone()
            .oneshot(req(Some("Bearer reader")))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["ratelimit-policy"], r#""2-per-60s";q=2;w=60"#);
        let rl = r.headers()["ratelimit"].to_str().unwrap();
        assert!(rl.contains(&format!(";r={remaining};")), "{rl}");
    }
    let r = service
        .clone()
        .oneshot(req(Some("Bearer reader")))
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "30");

    // Waiting exactly the advertised delay is enough.
    clock.advance(Duration::from_secs(30));
    let r = service
        .clone()
        .oneshot(req(Some("Bearer reader")))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Unauthenticated requests are refused by the guard before the limiter is consulted.
    let r = service.oneshot(req(None)).await.unwrap();
    assert_eq!(r.status(), 401);
}
