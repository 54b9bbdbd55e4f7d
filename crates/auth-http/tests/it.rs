//! The real client against real servers on loopback.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::time::Duration;

use auth_core::http_client::{HttpErrorKind, HttpRequest};
use auth_core::{HttpClient, Transport};
use auth_http::{Client, Config};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn get(uri: &str) -> HttpRequest {
    http::Request::get(uri).body(Vec::new()).unwrap()
}

#[tokio::test]
async fn fetches_over_loopback_http() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .and(header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"keys":[]}"#))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::new(Config::default()).unwrap();
    let req = http::Request::get(format!("{}/jwks", server.uri()))
        .header("accept", "application/json")
        .body(Vec::new())
        .unwrap();
    let resp = client.send(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.body(), br#"{"keys":[]}"#);
}

#[tokio::test]
async fn http_errors_are_responses() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let client = Client::new(Config::default()).unwrap();
    let resp = client.send(get(&server.uri())).await.unwrap();
    assert_eq!(resp.status(), 503);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = MockServer::start().await;
    Mock::given(path("/a"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/b"))
        .mount(&server)
        .await;
    Mock::given(path("/b"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let client = Client::new(Config::default()).unwrap();
    let resp = client
        .send(get(&format!("{}/a", server.uri())))
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 4096]))
        .mount(&server)
        .await;
    let client = Client::new(Config::default().with_max_body_bytes(1024)).unwrap();
    let err = client.send(get(&server.uri())).await.unwrap_err();
    assert_eq!(err.kind(), HttpErrorKind::BodyTooLarge);
}

#[tokio::test]
async fn slow_servers_time_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let client = Client::new(Config::default().with_timeout(Duration::from_millis(200))).unwrap();
    let err = client.send(get(&server.uri())).await.unwrap_err();
    assert_eq!(err.kind(), HttpErrorKind::Timeout);
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::new(Config::default()).unwrap();
    let err = client
        .send(get(&format!("http://{addr}/")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), HttpErrorKind::Connect);
}

#[tokio::test]
async fn plain_http_to_remote_hosts_is_refused_before_connecting() {
    let client = Client::new(Config::default()).unwrap();
    let err = client
        .send(get("http://idp.example.invalid/jwks?token=abc"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), HttpErrorKind::InsecureUrl);
    assert!(!err.to_string().contains("abc"));

    // The named override lets it through to the resolver (which then fails: no network).
    let client = Client::new(
        Config::default()
            .with_transport(Transport::danger_allow_plain_http())
            .with_connect_timeout(Duration::from_millis(500))
            .with_timeout(Duration::from_secs(2)),
    )
    .unwrap();
    let err = client
        .send(get("http://idp.example.invalid/jwks"))
        .await
        .unwrap_err();
    assert_ne!(err.kind(), HttpErrorKind::InsecureUrl);
}
