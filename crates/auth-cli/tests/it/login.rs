//! `auth oauth2 login` against a mock authorization server, with the test as the browser:
//! the printed URL is followed to the loopback callback, the code is exchanged with PKCE.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::Digest as _;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::bin;

/// The value of `name` in a parsed query.
fn param(query: &[(String, String)], name: &str) -> String {
    query
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap()
}

async fn authorization_server() -> MockServer {
    let server = MockServer::start().await;
    let issuer = server.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "code_challenge_methods_supported": ["S256"],
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=the-code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-from-login", "token_type": "Bearer", "expires_in": 600,
            "scope": "read",
        })))
        .mount(&server)
        .await;
    server
}

/// Starts `auth --json oauth2 login`, acts as the browser with `state` (or the real one),
/// and returns (exit code, stdout, the authorization URL's query).
async fn login(server: &MockServer, state: Option<&str>) -> (i32, String, Vec<(String, String)>) {
    let mut child = Command::new(bin())
        .args([
            "--json",
            "oauth2",
            "login",
            "--issuer",
            &server.uri(),
            "--client-id",
            "cli",
        ])
        .args(["--scope", "read", "--timeout", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let url = tokio::task::spawn_blocking(move || {
        BufReader::new(stderr)
            .lines()
            .map(Result::unwrap)
            .find(|l| l.starts_with("http"))
            .unwrap()
    })
    .await
    .unwrap();
    let (endpoint, query) = url.split_once('?').unwrap();
    assert_eq!(endpoint, format!("{}/authorize", server.uri()));
    let query: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| param(&query, k);
    let redirect = get("redirect_uri");
    assert!(redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/callback"));
    let state = state.map_or_else(|| get("state"), str::to_owned);
    // The authorization server would redirect the browser here.
    let back = reqwest::get(format!("{redirect}?code=the-code&state={state}"))
        .await
        .unwrap();
    assert_eq!(back.status(), 200);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        query,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn login_with_pkce_through_a_loopback_redirect() {
    let server = authorization_server().await;
    let (code, stdout, query) = login(&server, None).await;
    assert_eq!(code, 0, "{stdout}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["access_token"], "at-from-login");
    let get = |k: &str| param(&query, k);
    assert_eq!(get("response_type"), "code");
    assert_eq!(get("client_id"), "cli");
    assert_eq!(get("code_challenge_method"), "S256");
    // The token request proved possession of the verifier behind the challenge.
    let requests = server.received_requests().await.unwrap();
    let token = requests.iter().find(|r| r.url.path() == "/token").unwrap();
    let form: Vec<(String, String)> = form_urlencoded::parse(&token.body).into_owned().collect();
    let verifier = form
        .iter()
        .find(|(k, _)| k == "code_verifier")
        .map(|(_, v)| v)
        .unwrap();
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    assert_eq!(challenge, get("code_challenge"));
    assert!(
        form.iter()
            .any(|(k, v)| k == "redirect_uri" && *v == get("redirect_uri"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callback_with_the_wrong_state_is_refused() {
    let server = authorization_server().await;
    let (code, stdout, _) = login(&server, Some("forged-state")).await;
    assert_eq!(code, 1, "{stdout}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["reason"], "invalid_callback");
    // Nothing was sent to the token endpoint.
    let requests = server.received_requests().await.unwrap();
    assert!(requests.iter().all(|r| r.url.path() != "/token"));
}
