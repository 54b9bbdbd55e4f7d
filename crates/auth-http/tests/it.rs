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
    // The positive twin: a body of exactly the cap is read whole.
    let at_cap = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 1024]))
        .mount(&at_cap)
        .await;
    let ok = client.send(get(&at_cap.uri())).await.unwrap();
    assert_eq!(ok.body().len(), 1024);
}

/// A one-request server that answers with `body` in chunks of 256 bytes and no
/// `Content-Length`, so that only the cap checked while reading can stop it; its URL.
async fn chunked_server(body: usize) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.ends_with(b"\r\n\r\n") {
            let n = conn.read(&mut buf).await.unwrap();
            assert!(n > 0, "the client hung up before its request ended");
            head.extend_from_slice(&buf[..n]);
        }
        let mut out = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        let mut left = body;
        while left > 0 {
            let n = left.min(256);
            out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
            out.extend(std::iter::repeat_n(b'x', n));
            out.extend_from_slice(b"\r\n");
            left -= n;
        }
        out.extend_from_slice(b"0\r\n\r\n");
        // The client may stop reading at the cap and close: not an error here.
        let _ = conn.write_all(&out).await;
    });
    url
}

#[tokio::test]
async fn a_streamed_body_is_capped_while_reading() {
    let client = Client::new(Config::default().with_max_body_bytes(1024)).unwrap();
    let err = client
        .send(get(&chunked_server(4096).await))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), HttpErrorKind::BodyTooLarge);
    let err = client
        .send(get(&chunked_server(1025).await))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), HttpErrorKind::BodyTooLarge);
    // The positive twin: the same server streaming exactly the cap is read whole.
    let ok = client.send(get(&chunked_server(1024).await)).await.unwrap();
    assert_eq!(ok.body(), &vec![b'x'; 1024]);
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
    // A socket bound but not listening: connections to it are refused, and it keeps the
    // port for the whole test, so no other server can take it meanwhile.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
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
            .with_transport(Transport::danger_allow_plaintext())
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
