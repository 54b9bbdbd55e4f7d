//! Several issuers behind one verifier, each a real loopback issuer found by discovery:
//! routing by `iss`, a token naming one issuer signed by another's key, an unknown `iss`
//! that costs no request, and a flood of tenant ids that stays bounded.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use auth_core::{ManualClock, UnixTime};
use auth_jwt::{Algorithm, ErrorKind, SigningKey, Tenants, Verifier};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::{AUD, NOW, keys};
use crate::harness::{Suite, block_on, ensure, ensure_eq};

/// An issuer on a loopback server: each path `P/.well-known/openid-configuration` answers
/// the metadata of issuer `{server}P` with `jwks_uri` `{server}P/keys`, and every
/// `P/keys` the public key of `signer`.
struct Issuer {
    signer: SigningKey,
}

impl Respond for Issuer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        // wiremock's request URL names no port: the origin is the Host the client sent.
        let host = request
            .headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let origin = format!("http://{host}");
        let path = request.url.path();
        let body = if let Some(prefix) = path.strip_suffix("/.well-known/openid-configuration") {
            json!({"issuer": format!("{origin}{prefix}"), "jwks_uri": format!("{origin}{prefix}/keys")})
        } else if path.ends_with("/keys") {
            json!({"keys": [self.signer.public_jwk()]})
        } else {
            return ResponseTemplate::new(404);
        };
        ResponseTemplate::new(200)
            .insert_header("content-type", "application/json")
            .set_body_string(body.to_string())
    }
}

async fn issuer(signer: &SigningKey) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(Issuer {
            signer: signer.clone(),
        })
        .mount(&server)
        .await;
    server
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

/// A verifier of `issuer` by discovery with its own audience and algorithm.
fn one(
    issuer: &str,
    aud: &str,
    alg: Algorithm,
    clock: &ManualClock,
) -> Result<Verifier, auth_jwt::Error> {
    let http =
        auth_http::Client::new(auth_http::Config::default().with_timeout(Duration::from_secs(5)))
            .map_err(|e| auth_jwt::Error::Misconfigured(e.to_string().into()))?;
    Verifier::builder()
        .issuer_url(issuer, http)
        .audience(aud)
        .algorithms([alg])
        .clock(clock.clone())
        .build()
}

fn token(k: &SigningKey, iss: &str, aud: &str) -> Result<String, String> {
    k.sign(&json!({"iss": iss, "aud": aud, "sub": "alice", "exp": NOW + 100_000}))
        .map_err(|e| e.to_string())
}

pub(super) fn add(s: &mut Suite) {
    s.case(
        "tokens go to their issuer's keys, audience and algorithms; another issuer's key fails",
        "RFC 8725 §3.8-3.9 (issuer and audience per key source)",
        || {
            block_on(async {
                // Both keys carry the same kid: the forged token finds a key by kid in the
                // issuer it names, and its signature must fail there.
                let ka = keys().es.clone().with_kid("k1");
                let kb = SigningKey::generate(Algorithm::ES256)
                    .map_err(|e| e.to_string())?
                    .with_kid("k1");
                let (a, b) = (issuer(&ka).await, issuer(&kb).await);
                let (ia, ib) = (a.uri(), b.uri());
                let clock = ManualClock::new(UnixTime::from_secs(NOW));
                let v = Verifier::issuers([
                    one(&ia, "api-a", Algorithm::ES256, &clock).map_err(|e| e.to_string())?,
                    one(&ib, AUD, Algorithm::ES256, &clock).map_err(|e| e.to_string())?,
                ])
                .build()
                .map_err(|e| e.to_string())?;
                let verify = |t: String| {
                    let v = v.clone();
                    async move { v.verify_principal(&t).await }
                };
                verify(token(&ka, &ia, "api-a")?)
                    .await
                    .map_err(|e| format!("a: {e}"))?;
                verify(token(&kb, &ib, AUD)?)
                    .await
                    .map_err(|e| format!("b: {e}"))?;
                let forged = verify(token(&ka, &ib, AUD)?).await;
                ensure(
                    matches!(&forged, Err(e) if e.kind() == ErrorKind::BadSignature),
                    || format!("names b, signed by a's key: {forged:?}"),
                )?;
                let wrong_aud = verify(token(&ka, &ia, AUD)?).await;
                ensure(
                    matches!(&wrong_aud, Err(e) if e.kind() == ErrorKind::WrongAudience),
                    || format!("b's audience on a's token: {wrong_aud:?}"),
                )
            })
        },
    );
    s.case(
        "an iss outside the set is invalid_token before any request",
        "RFC 6750 §3.1, RFC 8725 §3.10",
        || {
            block_on(async {
                let a = issuer(&keys().es).await;
                let clock = ManualClock::new(UnixTime::from_secs(NOW));
                let v = Verifier::issuers([
                    one(&a.uri(), AUD, Algorithm::ES256, &clock).map_err(|e| e.to_string())?
                ])
                .build()
                .map_err(|e| e.to_string())?;
                for i in 0..100 {
                    let t = token(&keys().es, &format!("https://other{i}.example"), AUD)?;
                    let got = v.verify_principal(&t).await;
                    ensure(
                        matches!(&got, Err(e) if e.kind() == ErrorKind::WrongIssuer),
                        || format!("unknown iss: {got:?}"),
                    )?;
                }
                ensure_eq("requests for unknown issuers", requests(&a).await, 0)?;
                // The positive twin: the issuer in the set fetches its metadata and keys.
                v.verify_principal(&token(&keys().es, &a.uri(), AUD)?)
                    .await
                    .map_err(|e| e.to_string())?;
                ensure_eq("requests for the known issuer", requests(&a).await, 2)
            })
        },
    );
    s.case(
        "a flood of tenant ids stays bounded; tenants not allowed make no request",
        "auth-jwt tenants (multi-tenant issuers)",
        || {
            block_on(async {
                let server = issuer(&keys().es).await;
                let pattern = format!("{}/{{tenant}}/v2.0", server.uri());
                let clock = ManualClock::new(UnixTime::from_secs(NOW));
                let made = Arc::new(AtomicUsize::new(0));
                let (c, m) = (clock.clone(), Arc::clone(&made));
                let tenants = Tenants::new(&pattern, move |iss| {
                    m.fetch_add(1, Ordering::SeqCst);
                    one(iss, AUD, Algorithm::ES256, &c)
                })
                .map_err(|e| e.to_string())?
                .allow(|t| t.starts_with("good-"))
                .max_tenants(8);
                let v = Verifier::issuers([])
                    .tenants(tenants)
                    .build()
                    .map_err(|e| e.to_string())?;
                let iss = |t: &str| pattern.replace("{tenant}", t);
                // Not admitted, or not a tenant id at all: no verifier, no request.
                for t in (0..500)
                    .map(|i| format!("evil-{i}"))
                    .chain(["a/b".into(), String::new()])
                {
                    let got = v.verify_principal(&token(&keys().es, &iss(&t), AUD)?).await;
                    ensure(
                        matches!(&got, Err(e) if e.kind() == ErrorKind::WrongIssuer),
                        || format!("tenant {t:?}: {got:?}"),
                    )?;
                }
                ensure_eq("requests", requests(&server).await, 0)?;
                ensure_eq("verifiers made", made.load(Ordering::SeqCst), 0)?;
                // Admitted tenants verify with their own discovered keys, and at most 8 are
                // held however many arrive.
                for i in 0..40 {
                    let t = iss(&format!("good-{i}"));
                    v.verify_principal(&token(&keys().es, &t, AUD)?)
                        .await
                        .map_err(|e| format!("tenant good-{i}: {e}"))?;
                    let held = v.tenants().map_or(usize::MAX, Tenants::len);
                    ensure(held <= 8, || format!("{held} tenants held"))?;
                }
                ensure_eq("verifiers made", made.load(Ordering::SeqCst), 40)
            })
        },
    );
}
