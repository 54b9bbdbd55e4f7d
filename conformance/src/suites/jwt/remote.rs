//! The remote JWKS against a real loopback server (wiremock): rotation, floods of unknown
//! kids, failures served stale then 503, single-flight on a cold cache, ETag and max-age.

use std::sync::Arc;
use std::time::Duration;

use auth_core::{Authenticate, Decision, ManualClock, TokenAuthenticator, Transport, UnixTime};
use auth_jwt::{Algorithm, ErrorKind, KeySource, RemoteConfig, RemoteJwks, SigningKey, Verifier};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{AUD, ISS, NOW, good_claims, keys};
use crate::harness::{Suite, block_on, ensure, ensure_eq};

const TTL: u64 = 300;

fn jwks(signers: &[&SigningKey]) -> String {
    json!({"keys": signers.iter().filter_map(|k| k.public_jwk()).collect::<Vec<_>>()}).to_string()
}

fn ok_jwks(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json")
        .insert_header("cache-control", format!("public, max-age={TTL}").as_str())
        .set_body_string(body)
}

struct Rig {
    server: MockServer,
    clock: ManualClock,
    remote: RemoteJwks,
    verifier: Verifier,
}

async fn rig(timeout: Duration) -> Result<Rig, String> {
    let server = MockServer::start().await;
    let clock = ManualClock::new(UnixTime::from_secs(NOW));
    let client = auth_http::Client::new(auth_http::Config::default().with_timeout(timeout))
        .map_err(|e| e.to_string())?;
    let mut config = RemoteConfig::default();
    config.cooldown = Duration::from_secs(30);
    config.max_stale = Duration::from_secs(600);
    let remote = RemoteJwks::with_options(
        &format!("{}/jwks", server.uri()),
        client,
        clock.clone(),
        config,
        Transport::default(),
    )
    .map_err(|e| e.to_string())?;
    let verifier = Verifier::builder()
        .algorithms([Algorithm::ES256, Algorithm::EdDSA])
        .issuer(ISS)
        .audience(AUD)
        .key_source(KeySource::remote(remote.clone()))
        .clock(clock.clone())
        .build()
        .map_err(|e| e.to_string())?;
    Ok(Rig {
        server,
        clock,
        remote,
        verifier,
    })
}

impl Rig {
    /// Serves `response` on GET /jwks (at most `times` times when given).
    async fn serve(&self, response: ResponseTemplate, times: Option<u64>) {
        let mock = Mock::given(method("GET"))
            .and(path("/jwks"))
            .respond_with(response);
        match times {
            Some(n) => mock.up_to_n_times(n).mount(&self.server).await,
            None => mock.mount(&self.server).await,
        }
    }

    /// Verifies `token`, saying why on failure.
    async fn accepts(&self, token: &str) -> Result<(), String> {
        self.verifier
            .verify_principal(token)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

fn token(k: &SigningKey) -> Result<String, String> {
    let claims = json!({"iss": ISS, "aud": AUD, "sub": "alice", "exp": NOW + 100_000});
    k.sign(&claims).map_err(|e| e.to_string())
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

pub(super) fn add(s: &mut Suite) {
    s.case(
        "a rotated key is picked up on its unknown kid",
        "auth-jwt remote JWKS",
        || {
            block_on(async {
                let r = rig(Duration::from_secs(5)).await?;
                let (a, b) = (&keys().es, &keys().ed);
                r.serve(ok_jwks(jwks(&[a])), Some(1)).await;
                r.serve(ok_jwks(jwks(&[a, b])), None).await;
                r.accepts(&token(a)?).await?;
                // The cooldown has passed since the first fetch.
                r.clock.advance(Duration::from_secs(31));
                r.accepts(&token(b)?).await?;
                r.accepts(&token(a)?).await?;
                ensure_eq("fetches", requests(&r.server).await, 2)
            })
        },
    );
    s.case(
        "a published JWKS carries no secrets: oct keys skipped, HMAC refused at build",
        "RFC 8725 §3.1-3.2, RFC 7517 §5",
        || {
            block_on(async {
                // Anyone who can fetch the URL knows a key published in it: an HMAC secret
                // there would let them forge tokens.
                let secret = json!({"kty": "oct", "kid": "hs", "alg": "HS256",
                    "k": "WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo"});
                let only_secret = json!({"keys": [secret]}).to_string();
                let set =
                    auth_jwt::KeySet::from_public_jwks(&only_secret).map_err(|e| e.to_string())?;
                ensure(set.is_empty(), || "an oct key was loaded".into())?;
                ensure(
                    set.skipped().iter().any(|s| s.contains("published")),
                    || format!("no reason given: {:?}", set.skipped()),
                )?;
                let r = rig(Duration::from_secs(5)).await?;
                let refused = Verifier::builder()
                    .algorithms([Algorithm::ES256, Algorithm::HS256])
                    .issuer(ISS)
                    .audience(AUD)
                    .key_source(KeySource::remote(r.remote.clone()))
                    .build();
                ensure(
                    matches!(&refused, Err(e) if e.to_string().contains("HMAC")),
                    || format!("HMAC with a remote JWKS: {refused:?}"),
                )?;
                // Served anyway, the secret is not a key: nothing verifies, not even the
                // token it would sign.
                r.serve(ok_jwks(only_secret), None).await;
                let forged = token(&keys().hs)?;
                ensure(r.accepts(&forged).await.is_err(), || {
                    "a token signed with a published secret was accepted".into()
                })?;
                ensure(r.accepts(&token(&keys().es)?).await.is_err(), || {
                    "a key that is not in the set verified".into()
                })?;
                let why = r.remote.health().last_error.unwrap_or_default();
                ensure(why.contains("no usable key"), || {
                    format!("the fetch error does not say why: {why:?}")
                })
            })
        },
    );
    s.case(
        "a thousand random kids cost at most one fetch per cooldown",
        "RFC 8725 §3.10 (DoS)",
        || {
            block_on(async {
                let r = rig(Duration::from_secs(5)).await?;
                let a = &keys().es;
                r.serve(ok_jwks(jwks(&[a])), None).await;
                r.accepts(&token(a)?).await?;
                r.clock.advance(Duration::from_secs(31));
                for round in 0..2u64 {
                    for i in 0..1000u64 {
                        let forged = a
                            .clone()
                            .with_kid(format!("random-{round}-{i}-{}", i * 7919 % 1000));
                        let t = forged.sign(&good_claims()).map_err(|e| e.to_string())?;
                        let got = r.verifier.verify_principal(&t).await;
                        ensure(
                            matches!(&got, Err(e) if e.kind() == ErrorKind::UnknownKey),
                            || format!("random kid: {got:?}"),
                        )?;
                    }
                    ensure_eq("fetches", requests(&r.server).await, 2 + round as usize)?;
                    r.clock.advance(Duration::from_secs(31));
                }
                Ok(())
            })
        },
    );
    s.case(
        "500, timeout, malformed and oversized JWKS: stale keys serve, then 503 after max-stale",
        "auth-jwt remote JWKS",
        || {
            block_on(async {
                let r = rig(Duration::from_millis(300)).await?;
                let a = &keys().es;
                r.serve(ok_jwks(jwks(&[a])), Some(1)).await;
                let t = token(a)?;
                r.accepts(&t).await?;
                let faults = [
                    ResponseTemplate::new(500),
                    ResponseTemplate::new(200)
                        .set_body_string("[]")
                        .set_delay(Duration::from_secs(3)),
                    ResponseTemplate::new(200).set_body_string(r#"{"keys": [ {"kty": "#),
                    // A good key set, padded past the 256 KiB cap.
                    ok_jwks(jwks(&[a]).replacen(
                        '{',
                        &format!(r#"{{"pad":"{}","#, "x".repeat(300 * 1024)),
                        1,
                    )),
                ];
                for (i, fault) in faults.into_iter().enumerate() {
                    r.server.reset().await;
                    r.serve(fault, None).await;
                    // Past the TTL: a refetch fails, the last good keys still serve.
                    r.clock.advance(Duration::from_secs(TTL + 31));
                    r.verifier
                        .verify_principal(&t)
                        .await
                        .map_err(|e| format!("fault {i}: {e}"))?;
                    let health = r.remote.health();
                    let why = health.last_error.clone().unwrap_or_default();
                    ensure(i != 3 || why.contains("limit"), || {
                        format!("oversized body: {why}")
                    })?;
                    ensure(
                        health.last_error.is_some() && health.stale && health.key_count == 1,
                        || format!("fault {i}: health {health:?}"),
                    )?;
                    ensure_eq("requests", requests(&r.server).await, 1)?;
                    r.clock.set(UnixTime::from_secs(NOW));
                    r.remote
                        .refresh()
                        .await
                        .map_err(|e| format!("recover: {e}"))?;
                }
                // Past TTL + max-stale with the endpoint down: 503, never 401.
                r.clock.advance(Duration::from_secs(TTL + 601));
                let got = r.verifier.verify_principal(&t).await;
                ensure(
                    matches!(&got, Err(e) if e.kind() == ErrorKind::KeySourceUnavailable),
                    || format!("after max-stale: {got:?}"),
                )?;
                let auth = TokenAuthenticator::bearer("api", r.verifier.clone());
                let (parts, ()) = http::Request::get("/")
                    .header("authorization", format!("Bearer {t}"))
                    .body(())
                    .map_err(|e| e.to_string())?
                    .into_parts();
                match auth.authenticate(&parts).await {
                    Err(e) => ensure_eq("status", e.status().as_u16(), 503),
                    Ok(Decision::Deny(r)) => Err(format!("401 instead of 503: {r}")),
                    Ok(other) => Err(format!("{other:?}")),
                }
            })
        },
    );
    s.case(
        "a hundred concurrent verifications on a cold cache make one fetch",
        "auth-jwt remote JWKS",
        || {
            block_on(async {
                let r = rig(Duration::from_secs(5)).await?;
                let a = &keys().es;
                r.serve(
                    ok_jwks(jwks(&[a])).set_delay(Duration::from_millis(200)),
                    None,
                )
                .await;
                let t = Arc::new(token(a)?);
                let v = r.verifier.clone();
                let tasks: Vec<_> = (0..100)
                    .map(|_| {
                        let (v, t) = (v.clone(), t.clone());
                        tokio::spawn(async move { v.verify_principal(&t).await.map(|_| ()) })
                    })
                    .collect();
                for task in tasks {
                    task.await
                        .map_err(|e| e.to_string())?
                        .map_err(|e| e.to_string())?;
                }
                ensure_eq("fetches", requests(&r.server).await, 1)
            })
        },
    );
    s.case(
        "Cache-Control max-age is honoured and ETag revalidates",
        "RFC 9111 §5.2.2.1, RFC 9110 §13.1.2",
        || {
            block_on(async {
                let r = rig(Duration::from_secs(5)).await?;
                let a = &keys().es;
                Mock::given(method("GET"))
                    .and(path("/jwks"))
                    .and(header("if-none-match", "\"v1\""))
                    .respond_with(
                        ResponseTemplate::new(304).insert_header("cache-control", "max-age=300"),
                    )
                    .mount(&r.server)
                    .await;
                r.serve(ok_jwks(jwks(&[a])).insert_header("etag", "\"v1\""), None)
                    .await;
                let t = token(a)?;
                r.accepts(&t).await?;
                r.clock.advance(Duration::from_secs(TTL - 1));
                r.accepts(&t).await?;
                ensure_eq("fetches within max-age", requests(&r.server).await, 1)?;
                r.clock.advance(Duration::from_secs(2));
                r.accepts(&t).await?;
                let seen = r.server.received_requests().await.unwrap_or_default();
                ensure_eq("fetches after max-age", seen.len(), 2)?;
                ensure(seen[1].headers.get("if-none-match").is_some(), || {
                    "no If-None-Match".into()
                })?;
                let health = r.remote.health();
                ensure(
                    health.key_count == 1 && !health.stale && health.last_error.is_none(),
                    || format!("{health:?}"),
                )
            })
        },
    );
}
