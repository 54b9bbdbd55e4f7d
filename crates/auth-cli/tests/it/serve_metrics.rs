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
    let logs = server.logs();
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
    let logs = text.logs();
    assert!(
        logs.lines()
            .any(|l| l.contains(" request method=GET path=/api/whoami status=401")),
        "{logs}"
    );
    assert!(!logs.lines().any(|l| l.starts_with('{')), "{logs}");
    drop(text);
    let json = Server::start(&data, &[]);
    get(&http, json.at("/api/whoami"), None).await;
    let logs = json.logs();
    assert!(
        logs.lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "{logs}"
    );
}
