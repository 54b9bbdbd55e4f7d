//! DPoP (RFC 9449) on the client, against wiremock token endpoints on 127.0.0.1 (port 0)
//! reached through auth-http: every proof the client sends is checked with auth-jwt's
//! `ProofVerifier`, each refusal beside its accepted twin.
#![cfg(feature = "aws-lc-rs")]
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use auth_core::{BoxHttpClient, Clock as _, ManualClock, Secret, SystemClock};
use auth_jwt::Algorithm;
use auth_jwt::dpop::{DpopError, ProofVerifier};
use auth_oauth2::dpop::DpopKey;
use auth_oauth2::{
    ClientAuth, DevicePoll, Error, MemoryTokenStore, OAuthClient, TokenSet, TokenSource, TokenType,
};
use base64::Engine as _;
use http::Method;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn http() -> BoxHttpClient {
    BoxHttpClient::new(auth_http::Client::new(auth_http::Config::default()).unwrap())
}

fn key() -> DpopKey {
    DpopKey::generate(Algorithm::ES256).unwrap()
}

fn client(server: &MockServer, key: Option<DpopKey>) -> OAuthClient {
    let mut b = OAuthClient::builder("c")
        .token_endpoint(format!("{}/token", server.uri()))
        .authorization_endpoint(format!("{}/authorize", server.uri()))
        .device_authorization_endpoint(format!("{}/device", server.uri()))
        .redirect_uri("http://127.0.0.1:9/cb")
        .client_auth(ClientAuth::SecretBasic(Secret::new("client-secret-xyz")))
        .http_client(http())
        .clock(Arc::new(ManualClock::new(SystemClock.now())));
    if let Some(k) = key {
        b = b.dpop(k);
    }
    b.build().unwrap()
}

/// The claims of a proof, unverified (the tests verify separately).
fn claims(proof: &str) -> Value {
    let payload = proof.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn proof_of(r: &Request) -> Option<String> {
    r.headers
        .get("dpop")
        .map(|v| v.to_str().unwrap().to_owned())
}

fn nonce_of(r: &Request) -> Option<String> {
    proof_of(r).and_then(|p| claims(&p)["nonce"].as_str().map(str::to_owned))
}

fn token(at: &str, token_type: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": at, "token_type": token_type, "expires_in": 600,
        "refresh_token": format!("RT-{at}"),
    }))
}

/// `DPoP` to a request with a proof, `Bearer` to one without.
fn binding(r: &Request) -> ResponseTemplate {
    token(
        "AT1",
        if proof_of(r).is_some() {
            "DPoP"
        } else {
            "Bearer"
        },
    )
}

async fn token_server(
    respond: impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static,
) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(respond)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/device"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "DC", "user_code": "UC", "verification_uri": "https://as.example/d",
            "expires_in": 600,
        })))
        .mount(&server)
        .await;
    server
}

async fn token_requests(server: &MockServer) -> Vec<Request> {
    let all = server.received_requests().await.unwrap();
    all.into_iter()
        .filter(|r| r.url.path() == "/token")
        .collect()
}

#[tokio::test]
async fn every_grant_sends_a_proof_for_post_to_the_token_endpoint_without_ath() {
    let server = token_server(binding).await;
    let k = key();
    let jkt = k.thumbprint().to_owned();
    let c = client(&server, Some(k));
    assert_eq!(c.dpop_thumbprint(), Some(jkt.as_str()));
    let cc = c.client_credentials().await.unwrap();
    assert_eq!(cc.token_type(), TokenType::DPoP);
    let rt = c.refresh(cc.refresh_token().unwrap()).await.unwrap();
    assert_eq!(rt.token_type(), TokenType::DPoP);
    let (url, pending) = c.authorization_request().unwrap().into_parts();
    let state = url
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let callback = format!("http://127.0.0.1:9/cb?code=C&state={state}");
    let code = pending.finish(&c, &callback).await.unwrap();
    assert_eq!(code.token_type(), TokenType::DPoP);
    let device = c.device_authorization().await.unwrap();
    let DevicePoll::Ready(dc) = c.poll_device_token(&device).await.unwrap() else {
        panic!("device grant pending");
    };
    assert_eq!(dc.token_type(), TokenType::DPoP);

    let token_url = format!("{}/token", server.uri());
    let sent = token_requests(&server).await;
    assert_eq!(sent.len(), 4);
    let verifier = ProofVerifier::new();
    for r in &sent {
        let proof = proof_of(r).expect("every token request carries a proof");
        assert!(
            claims(&proof).get("ath").is_none(),
            "no ath on a token request"
        );
        let fresh = || ProofVerifier::new();
        assert_eq!(
            fresh().verify(&proof, &Method::GET, &token_url, None).await,
            Err(DpopError::WrongMethod)
        );
        let elsewhere = format!("{}/other", server.uri());
        assert_eq!(
            fresh()
                .verify(&proof, &Method::POST, &elsewhere, None)
                .await,
            Err(DpopError::WrongUrl)
        );
        let ok = verifier
            .verify(&proof, &Method::POST, &token_url, None)
            .await;
        assert_eq!(ok.unwrap().jkt, jkt, "the proof is made with our key");
    }
    let jtis: std::collections::HashSet<_> = sent
        .iter()
        .map(|r| claims(&proof_of(r).unwrap())["jti"].to_string())
        .collect();
    assert_eq!(jtis.len(), 4, "a fresh jti each time");
}

#[tokio::test]
async fn dpop_tokens_only_for_a_client_that_sent_a_proof_bearer_allowed_either_way() {
    // The server binds whatever it is asked to; a client without a key sends no proof.
    let server = token_server(|_r: &Request| token("AT1", "DPoP")).await;
    let plain = client(&server, None);
    let e = plain.client_credentials().await.unwrap_err();
    assert!(matches!(e, Error::InvalidResponse { .. }), "{e:?}");
    assert!(e.to_string().contains("sent no DPoP proof"), "{e}");
    assert!(!format!("{e} {e:?}").contains("AT1"));
    assert_eq!(proof_of(&token_requests(&server).await[0]), None);
    // Its twin: the same server, a client with a key.
    let bound = client(&server, Some(key())).client_credentials().await;
    assert_eq!(bound.unwrap().token_type(), TokenType::DPoP);

    // A server that declines to bind answers Bearer to a proof: a plain bearer token.
    let server = token_server(|_r: &Request| token("AT1", "Bearer")).await;
    let c = client(&server, Some(key()));
    let source = TokenSource::client_credentials(c).build();
    let mut request = http::Request::get("https://api.example/x")
        .body(())
        .unwrap();
    let used = source.authorize(&mut request).await.unwrap();
    assert_eq!(used.token_type(), TokenType::Bearer);
    assert_eq!(request.headers()["authorization"], "Bearer AT1");
    assert!(request.headers().get("dpop").is_none());
    assert!(proof_of(&token_requests(&server).await[0]).is_some());
}

/// A token endpoint that wants nonce `n1` or `n2`: asks for `n1` (400 `use_dpop_nonce`)
/// without one, and hands out `n2` with its answer to `n1`.
fn wants_nonce(r: &Request) -> ResponseTemplate {
    match nonce_of(r).as_deref() {
        Some("n1") => token("AT1", "DPoP").insert_header("DPoP-Nonce", "n2"),
        Some("n2") => token("AT2", "DPoP"),
        _ => ResponseTemplate::new(400)
            .insert_header("DPoP-Nonce", "n1")
            .set_body_json(json!({"error": "use_dpop_nonce"})),
    }
}

#[tokio::test]
async fn a_nonce_challenge_is_retried_once_and_the_latest_nonce_is_remembered() {
    let server = token_server(wants_nonce).await;
    let c = client(&server, Some(key()));
    assert_eq!(
        c.client_credentials().await.unwrap().token_type(),
        TokenType::DPoP
    );
    let nonces = |rs: Vec<Request>| rs.iter().map(nonce_of).collect::<Vec<_>>();
    let n = |s: &str| Some(s.to_owned());
    assert_eq!(nonces(token_requests(&server).await), [None, n("n1")]);
    // n2 came with the success; the next two requests carry it, with no retry.
    c.client_credentials().await.unwrap();
    c.refresh(&Secret::new("RT")).await.unwrap();
    assert_eq!(
        nonces(token_requests(&server).await),
        [None, n("n1"), n("n2"), n("n2")]
    );
}

#[tokio::test]
async fn a_server_that_keeps_asking_for_a_nonce_gets_exactly_one_retry() {
    let fresh = std::sync::atomic::AtomicUsize::new(0);
    let server = token_server(move |_r: &Request| {
        let i = fresh.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        ResponseTemplate::new(400)
            .insert_header("DPoP-Nonce", format!("never-{i}").as_str())
            .set_body_json(json!({"error": "use_dpop_nonce"}))
    })
    .await;
    let c = client(&server, Some(key()));
    let e = c.client_credentials().await.unwrap_err();
    assert_eq!(e.server_error().unwrap().code().as_str(), "use_dpop_nonce");
    let sent = token_requests(&server).await;
    assert_eq!(
        sent.iter().map(nonce_of).collect::<Vec<_>>(),
        [None, Some("never-0".into())]
    );
    // Without a nonce to retry with, no retry at all.
    let server = token_server(|_r: &Request| {
        ResponseTemplate::new(400).set_body_json(json!({"error": "use_dpop_nonce"}))
    })
    .await;
    assert!(
        client(&server, Some(key()))
            .client_credentials()
            .await
            .is_err()
    );
    assert_eq!(token_requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_bound_token_goes_with_a_proof_for_the_request_with_ath_and_the_servers_nonce() {
    let server = token_server(binding).await;
    let k = key();
    let jkt = k.thumbprint().to_owned();
    let source = TokenSource::client_credentials(client(&server, Some(k))).build();
    let url = "https://api.example/reports?month=5";
    let mut request = http::Request::get(url).body(()).unwrap();
    let used = source.authorize(&mut request).await.unwrap();
    assert_eq!(used.token_type(), TokenType::DPoP);
    let auth = &request.headers()["authorization"];
    assert_eq!(auth, "DPoP AT1");
    assert!(auth.is_sensitive());
    let proof = request.headers()["dpop"].to_str().unwrap().to_owned();
    assert_eq!(claims(&proof)["htu"], "https://api.example/reports");
    let verifier = ProofVerifier::new();
    assert_eq!(
        verifier
            .verify(&proof, &Method::GET, url, Some("AT2"))
            .await,
        Err(DpopError::WrongAccessToken)
    );
    let ok = verifier
        .verify(&proof, &Method::GET, url, Some("AT1"))
        .await;
    assert_eq!(ok.unwrap().jkt, jkt);
    assert!(claims(&proof).get("nonce").is_none());

    // The resource server asks for its nonce: retry once, with it, to that origin only.
    let uri: http::Uri = url.parse().unwrap();
    let challenge = |nonce: Option<&str>| {
        let mut b = http::Response::builder().status(401).header(
            "www-authenticate",
            r#"DPoP algs="ES256", error="use_dpop_nonce""#,
        );
        if let Some(n) = nonce {
            b = b.header("dpop-nonce", n);
        }
        b.body(()).unwrap()
    };
    assert!(
        !source.should_retry_at(&uri, &challenge(None), &used),
        "no nonce to retry with"
    );
    assert!(source.should_retry_at(&uri, &challenge(Some("rs-1")), &used));
    let mut retry = http::Request::post(url).body(()).unwrap();
    source.authorize(&mut retry).await.unwrap();
    let proof = retry.headers()["dpop"].to_str().unwrap();
    assert_eq!(claims(proof)["nonce"], "rs-1");
    assert_eq!(claims(proof)["htm"], "POST");
    let mut other = http::Request::get("https://other.example/")
        .body(())
        .unwrap();
    source.authorize(&mut other).await.unwrap();
    assert!(
        claims(other.headers()["dpop"].to_str().unwrap())
            .get("nonce")
            .is_none()
    );
    // The same token was kept: no new token request.
    assert_eq!(token_requests(&server).await.len(), 1);

    // Its twin: a bearer token is not retried on a DPoP nonce challenge.
    let bearer = TokenSource::client_credentials(client(&server, None)).build();
    let mut request = http::Request::get(url).body(()).unwrap();
    let used = bearer.authorize(&mut request).await.unwrap();
    assert_eq!(request.headers()["authorization"], "Bearer AT1");
    assert!(request.headers().get("dpop").is_none());
    assert!(!bearer.should_retry_at(&uri, &challenge(Some("rs-1")), &used));
}

#[tokio::test]
async fn refreshes_keep_the_binding_with_the_same_key() {
    let server = token_server(binding).await;
    let k = key();
    let jkt = k.thumbprint().to_owned();
    let clock = ManualClock::new(SystemClock.now());
    let c = OAuthClient::builder("c")
        .token_endpoint(format!("{}/token", server.uri()))
        .client_auth(ClientAuth::SecretBasic(Secret::new("s")))
        .http_client(http())
        .clock(Arc::new(clock.clone()))
        .dpop(k)
        .build()
        .unwrap();
    let source = TokenSource::client_credentials(c).build();
    let first = source.get().await.unwrap();
    clock.advance(Duration::from_secs(601));
    let second = source.get().await.unwrap();
    assert_eq!(second.token_type(), TokenType::DPoP);
    assert!(second.expires_at() > first.expires_at(), "a new token");
    let sent = token_requests(&server).await;
    let grants: Vec<String> = sent
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert!(grants[0].contains("grant_type=client_credentials"));
    assert!(
        grants[1].contains("grant_type=refresh_token"),
        "{}",
        grants[1]
    );
    let token_url = format!("{}/token", server.uri());
    let verifier = ProofVerifier::new();
    for r in &sent {
        let proof = proof_of(r).unwrap();
        let checked = verifier
            .verify(&proof, &Method::POST, &token_url, None)
            .await;
        assert_eq!(
            checked.unwrap().jkt,
            jkt,
            "the refresh is proved with the same key"
        );
    }
}

#[tokio::test]
async fn a_stored_dpop_token_needs_the_clients_key() {
    let server = token_server(binding).await;
    let far = SystemClock.now().saturating_add(Duration::from_secs(3600));
    let stored = || {
        MemoryTokenStore::with_tokens(
            TokenSet::new(Secret::new("AT-stored"), Some(far)).with_token_type(TokenType::DPoP),
        )
    };
    let without = TokenSource::refreshing(client(&server, None))
        .store(stored())
        .build();
    let e = without.get().await.unwrap_err();
    assert!(e.to_string().contains("DPoP"), "{e}");
    assert!(!format!("{e} {e:?}").contains("AT-stored"));
    // Its twin: the client with a key uses it, with a proof.
    let with = TokenSource::refreshing(client(&server, Some(key())))
        .store(stored())
        .build();
    let mut request = http::Request::get("https://api.example/").body(()).unwrap();
    with.authorize(&mut request).await.unwrap();
    assert_eq!(request.headers()["authorization"], "DPoP AT-stored");
    assert!(request.headers().contains_key("dpop"));
    assert!(token_requests(&server).await.is_empty());
}

#[tokio::test]
async fn nothing_secret_in_debug_output() {
    let server = token_server(binding).await;
    let k = key();
    let c = client(&server, Some(k.clone()));
    let source = TokenSource::client_credentials(c.clone()).build();
    let token = source.get().await.unwrap();
    let tokens = c.client_credentials().await.unwrap();
    let shown = format!("{c:?} {source:?} {token:?} {tokens:?}");
    for secret in ["AT1", "RT-AT1", "client-secret-xyz"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    // The thumbprint (public) is shown; the private key is not.
    assert!(shown.contains(k.thumbprint()), "{shown}");
    assert!(!shown.contains("\"d\""), "{shown}");
}
