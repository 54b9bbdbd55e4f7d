//! Discovery against a real loopback issuer (wiremock): both well-known locations, the exact
//! issuer rule, plain-HTTP `jwks_uri` refused, the algorithms never taken from the document,
//! an outage served from the cache, one flight for a crowd on a cold cache.

use std::time::Duration;

use auth_core::{ManualClock, UnixTime};
use auth_jwt::{Algorithm, ErrorKind, RemoteConfig, SigningKey, Verifier};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{AUD, NOW, keys};
use crate::harness::{Suite, block_on, ensure, ensure_eq};

/// A JSON response cached for five minutes.
fn ok(body: &serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json")
        .insert_header("cache-control", "max-age=300")
        .set_body_string(body.to_string())
}

fn jwks(signers: &[&SigningKey]) -> serde_json::Value {
    json!({"keys": signers.iter().filter_map(|k| k.public_jwk()).collect::<Vec<_>>()})
}

async fn serve(server: &MockServer, at: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(response)
        .mount(server)
        .await;
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

fn client() -> Result<auth_http::Client, String> {
    auth_http::Client::new(auth_http::Config::default().with_timeout(Duration::from_secs(5)))
        .map_err(|e| e.to_string())
}

/// A verifier of `issuer` by discovery, allowing ES256 only, on `clock`.
fn verifier(issuer: &str, clock: &ManualClock) -> Result<Verifier, String> {
    let mut tuning = RemoteConfig::default();
    tuning.max_stale = Duration::from_secs(600);
    Verifier::builder()
        .issuer_url(issuer, client()?)
        .algorithms([Algorithm::ES256])
        .audience(AUD)
        .clock(clock.clone())
        .remote_config(tuning)
        .build()
        .map_err(|e| e.to_string())
}

fn token(k: &SigningKey, iss: &str) -> Result<String, String> {
    k.sign(&json!({"iss": iss, "aud": AUD, "sub": "alice", "exp": NOW + 100_000}))
        .map_err(|e| e.to_string())
}

/// Two issuers on one loopback server, `{origin}/a` publishing the document `good` makes for
/// it and `{origin}/b` the one `bad` makes (each given the issuer and the origin), the keys at
/// `/keys`. `/a`'s token must verify (the positive twin); returns how `/b`'s fared, and the
/// reason its key source gives.
async fn good_and_bad(
    good: impl Fn(&str, &str) -> serde_json::Value,
    bad: impl Fn(&str, &str) -> serde_json::Value,
) -> Result<(Result<auth_core::Principal, auth_jwt::Error>, String), String> {
    let server = MockServer::start().await;
    let origin = server.uri();
    let (a, b) = (format!("{origin}/a"), format!("{origin}/b"));
    serve(
        &server,
        "/a/.well-known/openid-configuration",
        ok(&good(&a, &origin)),
    )
    .await;
    serve(
        &server,
        "/b/.well-known/openid-configuration",
        ok(&bad(&b, &origin)),
    )
    .await;
    serve(&server, "/keys", ok(&jwks(&[&keys().es]))).await;
    let clock = ManualClock::new(UnixTime::from_secs(NOW));
    verifier(&a, &clock)?
        .verify_principal(&token(&keys().es, &a)?)
        .await
        .map_err(|e| format!("the good document: {e}"))?;
    let v = verifier(&b, &clock)?;
    let got = v.verify_principal(&token(&keys().es, &b)?).await;
    let why = v
        .key_source()
        .and_then(|k| k.as_remote())
        .and_then(|r| r.health().last_error)
        .unwrap_or_default();
    Ok((got, why))
}

pub(super) fn add(s: &mut Suite) {
    s.case(
        "openid-configuration locates the JWKS; the document's algorithms are not taken",
        "OpenID Connect Discovery 1.0 §4, RFC 8725 §3.1",
        || {
            block_on(async {
                let server = MockServer::start().await;
                let issuer = server.uri();
                // The document lists EdDSA only (ID-token algorithms): the verifier's own
                // list (ES256) is what counts, both ways.
                let doc = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/keys"),
                    "id_token_signing_alg_values_supported": ["EdDSA"]});
                serve(&server, "/.well-known/openid-configuration", ok(&doc)).await;
                serve(&server, "/keys", ok(&jwks(&[&keys().es, &keys().ed]))).await;
                let clock = ManualClock::new(UnixTime::from_secs(NOW));
                let v = verifier(&issuer, &clock)?;
                v.verify_principal(&token(&keys().es, &issuer)?)
                    .await
                    .map_err(|e| e.to_string())?;
                let ed = v.verify_principal(&token(&keys().ed, &issuer)?).await;
                ensure(
                    matches!(&ed, Err(e) if e.kind() == ErrorKind::AlgorithmNotAllowed),
                    || format!("an algorithm from the document was taken: {ed:?}"),
                )?;
                ensure_eq("requests", requests(&server).await, 2)
            })
        },
    );
    s.case(
        "no openid-configuration: RFC 8414's location, inserted before the issuer's path",
        "RFC 8414 §3.1",
        || {
            block_on(async {
                let server = MockServer::start().await;
                let issuer = format!("{}/tenant1", server.uri());
                let doc = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/keys")});
                // Nothing at {issuer}/.well-known/openid-configuration: wiremock answers 404.
                serve(
                    &server,
                    "/.well-known/oauth-authorization-server/tenant1",
                    ok(&doc),
                )
                .await;
                serve(&server, "/tenant1/keys", ok(&jwks(&[&keys().es]))).await;
                let clock = ManualClock::new(UnixTime::from_secs(NOW));
                let v = verifier(&issuer, &clock)?;
                v.verify_principal(&token(&keys().es, &issuer)?)
                    .await
                    .map_err(|e| e.to_string())?;
                ensure_eq("requests (404, metadata, keys)", requests(&server).await, 3)
            })
        },
    );
    s.case(
        "a document naming another issuer, even by a trailing slash, is refused (503, not 401)",
        "RFC 8414 §3.3, OpenID Connect Discovery 1.0 §4.3",
        || {
            block_on(async {
                let same = |issuer: &str, origin: &str| {
                    json!({"issuer": issuer, "jwks_uri": format!("{origin}/keys")})
                };
                let slash = |issuer: &str, origin: &str| {
                    json!({"issuer": format!("{issuer}/"), "jwks_uri": format!("{origin}/keys")})
                };
                let (got, why) = good_and_bad(same, slash).await?;
                ensure(
                    matches!(&got, Err(e) if e.kind() == ErrorKind::KeySourceUnavailable),
                    || format!("a mismatched issuer's document: {got:?}"),
                )?;
                ensure(why.contains("another issuer"), || format!("why: {why:?}"))
            })
        },
    );
    s.case(
        "a plain-HTTP jwks_uri to another host is refused; loopback is exempt",
        "RFC 8414 §2 (jwks_uri), RFC 6749 §1.6",
        || {
            block_on(async {
                let same = |issuer: &str, origin: &str| {
                    json!({"issuer": issuer, "jwks_uri": format!("{origin}/keys")})
                };
                let plain = |issuer: &str, _: &str| {
                    json!({"issuer": issuer, "jwks_uri": "http://keys.example/jwks"})
                };
                let (got, why) = good_and_bad(same, plain).await?;
                ensure(got.is_err() && why.contains("jwks_uri"), || {
                    format!("plain http jwks_uri: {got:?}, {why:?}")
                })
            })
        },
    );
    s.case(
        "an issuer outage: the cached metadata and keys serve until max-stale, then 503",
        "auth-jwt discovery (stale-if-error)",
        || {
            block_on(async {
                let server = MockServer::start().await;
                let issuer = server.uri();
                let doc = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/keys")});
                let once = |at: &'static str, body: serde_json::Value| {
                    Mock::given(method("GET"))
                        .and(path(at))
                        .respond_with(ok(&body))
                        .up_to_n_times(1)
                };
                once("/.well-known/openid-configuration", doc)
                    .mount(&server)
                    .await;
                once("/keys", jwks(&[&keys().es])).mount(&server).await;
                // After the first answers: a 500 everywhere.
                Mock::given(method("GET"))
                    .respond_with(ResponseTemplate::new(500))
                    .mount(&server)
                    .await;
                let clock = ManualClock::new(UnixTime::from_secs(NOW));
                let v = verifier(&issuer, &clock)?;
                let t = token(&keys().es, &issuer)?;
                v.verify_principal(&t).await.map_err(|e| e.to_string())?;
                // Past both lifetimes (300 s): the refetches fail, the cache serves.
                clock.advance(Duration::from_secs(400));
                v.verify_principal(&t)
                    .await
                    .map_err(|e| format!("stale keys did not serve: {e}"))?;
                ensure(requests(&server).await > 2, || {
                    "no refetch was tried".into()
                })?;
                // Past max-stale (600 s after expiry): 503, never 401.
                clock.advance(Duration::from_secs(600));
                let got = v.verify_principal(&t).await;
                ensure(
                    matches!(&got, Err(e) if e.kind() == ErrorKind::KeySourceUnavailable),
                    || format!("past max-stale: {got:?}"),
                )
            })
        },
    );
    s.case(
        "a crowd on a cold cache makes one metadata and one JWKS request",
        "auth-jwt discovery (single flight)",
        || {
            block_on(async {
                let server = MockServer::start().await;
                let issuer = server.uri();
                let doc = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/keys")});
                let slow = |r: ResponseTemplate| r.set_delay(Duration::from_millis(200));
                serve(&server, "/.well-known/openid-configuration", slow(ok(&doc))).await;
                serve(&server, "/keys", slow(ok(&jwks(&[&keys().es])))).await;
                let clock = ManualClock::new(UnixTime::from_secs(NOW));
                let v = verifier(&issuer, &clock)?;
                let t = token(&keys().es, &issuer)?;
                let mut crowd = tokio::task::JoinSet::new();
                for _ in 0..50 {
                    let (v, t) = (v.clone(), t.clone());
                    crowd.spawn(async move { v.verify_principal(&t).await.map(|_| ()) });
                }
                while let Some(done) = crowd.join_next().await {
                    done.map_err(|e| e.to_string())?
                        .map_err(|e| e.to_string())?;
                }
                ensure_eq("requests", requests(&server).await, 2)
            })
        },
    );
}
