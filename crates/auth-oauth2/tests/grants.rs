//! Pushed authorization requests (RFC 9126), token exchange (RFC 8693) and `client_secret_jwt`
//! (RFC 7523) against wiremock endpoints on 127.0.0.1 (port 0): the exact requests sent, and
//! each refusal beside its accepted twin.
#![cfg(feature = "aws-lc-rs")]
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use auth_core::{BoxHttpClient, Clock as _, ManualClock, Secret, SystemClock};
use auth_jwt::{Algorithm, Key, KeySet, Verifier};
use auth_oauth2::{
    ClientAuth, ClientSecretJwt, Error, OAuthClient, OAuthClientBuilder, TokenExchange, TokenType,
    TokenTypeId,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "a-client-secret-of-at-least-32-bytes!!";

fn http() -> BoxHttpClient {
    BoxHttpClient::new(auth_http::Client::new(auth_http::Config::default()).unwrap())
}

fn builder(server: &MockServer) -> OAuthClientBuilder {
    OAuthClient::builder("c")
        .token_endpoint(format!("{}/token", server.uri()))
        .authorization_endpoint(format!("{}/authorize", server.uri()))
        .redirect_uri("http://127.0.0.1:9/cb")
        .scopes("api:read")
        .http_client(http())
        .clock(Arc::new(ManualClock::new(SystemClock.now())))
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

#[tokio::test]
async fn par_posts_the_parameters_and_the_url_carries_only_the_request_uri() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/par"))
        .and(header("authorization", "Basic Yzpz"))
        .and(body_string_contains("code_challenge_method=S256"))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"request_uri": "urn:ietf:params:oauth:request_uri:abc", "expires_in": 60}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server)
        .client_auth(ClientAuth::SecretBasic(Secret::new("s")))
        .pushed_authorization_request_endpoint(format!("{}/par", server.uri()))
        .require_pushed_authorization_requests(true)
        .build()
        .unwrap();
    // Required: the front-channel URL is refused ...
    let e = client.authorization_request().unwrap_err();
    assert!(e.to_string().contains("pushed"), "{e}");
    // ... and the pushed one carries nothing but client_id and request_uri.
    let request = client.start_authorization().await.unwrap();
    let url: http::Uri = request.url().parse().unwrap();
    assert_eq!(url.path(), "/authorize");
    let query = form(url.query().unwrap().as_bytes());
    assert_eq!(
        query,
        [
            ("client_id".to_owned(), "c".to_owned()),
            (
                "request_uri".to_owned(),
                "urn:ietf:params:oauth:request_uri:abc".to_owned()
            )
        ]
    );
    let pushed = &server.received_requests().await.unwrap()[0];
    let body = form(&pushed.body);
    let state = request.pending().state().to_owned();
    for name in ["response_type", "redirect_uri", "scope", "code_challenge"] {
        assert!(body.iter().any(|(k, _)| k == name), "{name} not pushed");
    }
    assert!(body.contains(&("state".to_owned(), state)));
}

#[tokio::test]
async fn par_refusal_is_the_servers_error_and_without_par_the_url_is_as_before() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/par"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_request"})))
        .mount(&server)
        .await;
    let par = builder(&server)
        .client_auth(ClientAuth::Public)
        .pushed_authorization_request_endpoint(format!("{}/par", server.uri()))
        .build()
        .unwrap();
    let e = par.start_authorization().await.unwrap_err();
    assert!(e.server_error().is_some(), "{e:?}");
    // Without a PAR endpoint, start_authorization is the front-channel URL.
    let plain = builder(&server)
        .client_auth(ClientAuth::Public)
        .build()
        .unwrap();
    let r = plain.start_authorization().await.unwrap();
    assert!(r.url().contains("code_challenge="), "{}", r.url());
    // A public client's pushed request names itself once.
    let ok = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/par"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"request_uri": "urn:x", "expires_in": 60})),
        )
        .mount(&ok)
        .await;
    let public = builder(&ok)
        .client_auth(ClientAuth::Public)
        .pushed_authorization_request_endpoint(format!("{}/par", ok.uri()))
        .build()
        .unwrap();
    public.start_authorization().await.unwrap();
    let body = form(&ok.received_requests().await.unwrap()[0].body);
    assert_eq!(body.iter().filter(|(k, _)| k == "client_id").count(), 1);
}

#[tokio::test]
async fn token_exchange_sends_the_subject_and_actor_and_types_the_answer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("subject_token=SUBJECT"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "EXCHANGED", "token_type": "Bearer", "expires_in": 60,
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "scope": "b:read",
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("subject_token=NA"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "A-JWT", "token_type": "N_A",
            "issued_token_type": "urn:ietf:params:oauth:token-type:jwt",
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("subject_token=UNTYPED"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "X", "token_type": "Bearer"})),
        )
        .mount(&server)
        .await;
    let client = builder(&server)
        .client_auth(ClientAuth::SecretBasic(Secret::new("s")))
        .build()
        .unwrap();
    let t = client
        .exchange_token(
            TokenExchange::new(Secret::new("SUBJECT"), TokenTypeId::AccessToken)
                .actor(Secret::new("ACTOR"), TokenTypeId::Jwt)
                .audience("service-b")
                .resource("https://b.example/")
                .scope("b:read"),
        )
        .await
        .unwrap();
    assert_eq!(t.issued_token_type(), &TokenTypeId::AccessToken);
    assert_eq!(t.token_type(), Some(TokenType::Bearer));
    assert!(!format!("{t:?}").contains("EXCHANGED"));
    let set = t.into_token_set().unwrap();
    assert_eq!(set.access_token().expose_str().unwrap(), "EXCHANGED");
    let sent = form(&server.received_requests().await.unwrap()[0].body);
    let has = |k: &str, v: &str| sent.contains(&(k.to_owned(), v.to_owned()));
    assert!(has(
        "grant_type",
        "urn:ietf:params:oauth:grant-type:token-exchange"
    ));
    assert!(has(
        "subject_token_type",
        "urn:ietf:params:oauth:token-type:access_token"
    ));
    assert!(has("actor_token", "ACTOR"));
    assert!(has(
        "actor_token_type",
        "urn:ietf:params:oauth:token-type:jwt"
    ));
    assert!(has("audience", "service-b") && has("resource", "https://b.example/"));
    // N_A: a token that is not an access token.
    let na = client
        .exchange_token(TokenExchange::new(Secret::new("NA"), TokenTypeId::IdToken))
        .await
        .unwrap();
    assert_eq!(na.issued_token_type(), &TokenTypeId::Jwt);
    assert!(na.token_type().is_none() && na.into_token_set().is_none());
    // No issued_token_type: refused.
    let e = client
        .exchange_token(TokenExchange::new(
            Secret::new("UNTYPED"),
            TokenTypeId::AccessToken,
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidResponse { .. }), "{e:?}");
}

#[tokio::test]
async fn client_secret_jwt_sends_an_hs256_assertion_never_the_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"access_token": "AT", "token_type": "Bearer", "expires_in": 60}),
            ),
        )
        .mount(&server)
        .await;
    let client = builder(&server)
        .client_auth(ClientAuth::SecretJwt(ClientSecretJwt::new(Secret::new(
            SECRET,
        ))))
        .build()
        .unwrap();
    assert!(!format!("{client:?}").contains(SECRET));
    client.client_credentials().await.unwrap();
    let sent = &server.received_requests().await.unwrap()[0];
    assert!(sent.headers.get("authorization").is_none());
    let body = String::from_utf8(sent.body.clone()).unwrap();
    assert!(!body.contains(SECRET));
    let fields = form(&sent.body);
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("client_id").as_deref(), Some("c"));
    assert_eq!(
        get("client_assertion_type").as_deref(),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    let token_endpoint = format!("{}/token", server.uri());
    let verifier = |secret: &str| {
        Verifier::builder()
            .algorithms([Algorithm::HS256])
            .issuer("c")
            .audience(token_endpoint.as_str())
            .keys(KeySet::new([Key::hmac(
                &Secret::new(secret),
                Algorithm::HS256,
            )
            .unwrap()]))
            .clock(SystemClock)
            .build()
            .unwrap()
    };
    let assertion = get("client_assertion").unwrap();
    let ok = verifier(SECRET).verify::<Value>(&assertion).await.unwrap();
    assert_eq!(ok.registered().subject(), Some("c"));
    let wrong = verifier("another-secret-of-at-least-32-bytes!!!");
    assert!(wrong.verify::<Value>(&assertion).await.is_err());
    // A secret too short for HS256 is refused at build time.
    let e = builder(&server)
        .client_auth(ClientAuth::SecretJwt(ClientSecretJwt::new(Secret::new(
            "short",
        ))))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("32 bytes"), "{e}");
    let _ = SystemClock.now();
}
