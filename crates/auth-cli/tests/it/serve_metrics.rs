//! `/metrics` on a listener of its own (`--metrics-listen`): the main listener no longer
//! answers it, the other one does, with the decisions the main one took.

use reqwest::StatusCode;
use serde_json::Value;

use crate::http::{client, get};
use crate::server::Server;
use crate::support::temp_dir;

#[tokio::test]
async fn metrics_apart_from_the_clients() {
    let data = temp_dir("metrics-apart").join("data");
    let server = Server::start(&data, &["--metrics-listen", "127.0.0.1:0"]);
    let logs = server.logs_with("metrics_listening");
    let line = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["event"] == "metrics_listening")
        .unwrap_or_else(|| panic!("no metrics_listening in {logs}"));
    let metrics_url = format!("http://{}/metrics", line["listen"].as_str().unwrap());
    let http = client();
    assert_eq!(
        get(&http, server.at("/api/whoami"), None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&http, server.at("/metrics"), None).await.status(),
        StatusCode::NOT_FOUND
    );
    let r = get(&http, metrics_url, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l == r#"auth_decisions_total{route="api",outcome="unauthenticated"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn text_logs_for_people_json_by_default() {
    let data = temp_dir("log-format").join("data");
    let text = Server::start(&data, &["--log-format", "text"]);
    let http = client();
    get(&http, text.at("/api/whoami"), None).await;
    let logs = text.logs_with("path=/api/whoami");
    assert!(
        logs.lines()
            .any(|l| l.contains(" request method=GET path=/api/whoami status=401")),
        "{logs}"
    );
    assert!(!logs.lines().any(|l| l.starts_with('{')), "{logs}");
    drop(text);
    let json = Server::start(&data, &[]);
    get(&http, json.at("/api/whoami"), None).await;
    let logs = json.logs_with(r#""path":"/api/whoami""#);
    assert!(
        logs.lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "{logs}"
    );
}

/// `--otlp-endpoint`: each request's span reaches an OTLP/HTTP collector (here a loopback
/// mock), with its path, status and a refusal's reason, and never the credential; what is
/// still batched is sent when the server stops.
#[tokio::test]
async fn request_spans_are_exported_over_otlp() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let collector = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/traces"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&collector)
        .await;
    let data = temp_dir("otlp").join("data");
    let endpoint = format!("{}/v1/traces", collector.uri());
    let server = Server::start(&data, &["--otlp-endpoint", &endpoint]);
    let secret = "Bearer not-a-key-but-secret-looking";
    let r = client()
        .get(server.at("/api/whoami"))
        .header("authorization", secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The reason the server logged for the refusal: the span carries the same.
    let logs = server.logs_with("auth_refused");
    let reason = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["event"] == "auth_refused")
        .and_then(|v| v["reason"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no auth_refused in {logs}"));
    let code = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    assert_eq!(code, Some(0));
    let received = collector.received_requests().await.unwrap_or_default();
    let bodies: Vec<u8> = received.iter().flat_map(|r| r.body.clone()).collect();
    let has = |needle: &[u8]| bodies.windows(needle.len()).any(|w| w == needle);
    assert!(!received.is_empty(), "nothing was exported");
    assert_eq!(
        received[0]
            .headers
            .get("content-type")
            .map(|v| v.as_bytes()),
        Some(&b"application/x-protobuf"[..])
    );
    for needle in [
        &b"auth-serve"[..],
        b"/api/whoami",
        b"status",
        reason.as_bytes(),
    ] {
        assert!(
            has(needle),
            "{} not in the export",
            String::from_utf8_lossy(needle)
        );
    }
    assert!(
        !has(b"not-a-key-but-secret-looking"),
        "the credential was exported"
    );
}
