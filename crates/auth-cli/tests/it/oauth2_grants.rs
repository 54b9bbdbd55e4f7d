//! `auth oauth2 device | refresh | revoke` against a loopback authorization server
//! (wiremock): the device grant's pending-then-ready poll, a refresh, a revocation, each
//! beside the server's refusal of the same request; endpoints given directly or found
//! through `openid-configuration` alone.

use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Run, run_with};

async fn auth(args: Vec<String>, env: Vec<(String, String)>) -> Run {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_with(&args, None, &env)
    })
    .await
    .unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

fn tokens(access: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": access, "token_type": "Bearer", "expires_in": 3600,
        "refresh_token": format!("{access}-refresh"), "scope": "read"
    }))
}

fn error(code: &str) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({ "error": code }))
}

async fn device_server(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/device"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "dc-1", "user_code": "WDJB-MJHT",
            "verification_uri": format!("{}/activate", server.uri()),
            "expires_in": 600, "interval": 1
        })))
        .mount(&server)
        .await;
    // The first poll: not yet; then the answer.
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("device_code=dc-1"))
        .respond_with(error("authorization_pending"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_grant_waits_for_the_approval() {
    let server = device_server(tokens("at-device")).await;
    let uri = server.uri();
    let args = |extra: &[&str]| {
        let mut a = strings(&["--json", "oauth2", "device", "--client-id", "tv"]);
        a.extend(strings(extra));
        a
    };
    let token_url = format!("{uri}/token");
    let device_url = format!("{uri}/device");
    let run = auth(
        args(&["--token-url", &token_url, "--device-url", &device_url]),
        vec![],
    )
    .await;
    let out = run.expect(0);
    assert!(out.stderr.contains("WDJB-MJHT"), "{}", out.stderr);
    let v: Value = out.json();
    assert_eq!(v["access_token"], "at-device");
    assert_eq!(v["refresh_token"], "at-device-refresh");
    let polls = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/token")
        .count();
    assert_eq!(polls, 2, "one pending answer, then the tokens");

    // The user said no: exit 1, access_denied.
    let denied = device_server(error("access_denied")).await;
    let (token_url, device_url) = (
        format!("{}/token", denied.uri()),
        format!("{}/device", denied.uri()),
    );
    let run = auth(
        args(&["--token-url", &token_url, "--device-url", &device_url]),
        vec![],
    )
    .await;
    assert_eq!(run.expect(1).json()["reason"], "access_denied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_come_from_openid_configuration_alone() {
    let server = device_server(tokens("at-oidc")).await;
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": uri,
            "token_endpoint": format!("{uri}/token"),
            "device_authorization_endpoint": format!("{uri}/device"),
        })))
        .mount(&server)
        .await;
    let args = strings(&[
        "--json",
        "oauth2",
        "device",
        "--issuer",
        &uri,
        "--client-id",
        "tv",
    ]);
    assert_eq!(
        auth(args, vec![]).await.expect(0).json()["access_token"],
        "at-oidc"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_and_revoke() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=rt-good"))
        .respond_with(tokens("at-2"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(error("invalid_grant"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .and(body_string_contains("token=at-2"))
        .and(body_string_contains("token_type_hint=refresh_token"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(error("unsupported_token_type"))
        .mount(&server)
        .await;
    let token_url = format!("{}/token", server.uri());
    let refresh = |token: &str| {
        auth(
            strings(&[
                "--json",
                "oauth2",
                "refresh",
                "--token-url",
                &token_url,
                "--client-id",
                "app",
                "--client-secret-env",
                "SECRET",
                "--refresh-token-env",
                "RT",
            ]),
            vec![
                ("RT".into(), token.into()),
                ("SECRET".into(), "s3cret".into()),
            ],
        )
    };
    assert_eq!(
        refresh("rt-good").await.expect(0).json()["access_token"],
        "at-2"
    );
    assert_eq!(
        refresh("rt-old").await.expect(1).json()["reason"],
        "invalid_grant"
    );

    let revocation_url = format!("{}/revoke", server.uri());
    let revoke = |hint: &str| {
        auth(
            strings(&[
                "--json",
                "oauth2",
                "revoke",
                "at-2",
                "--token-url",
                &token_url,
                "--revocation-url",
                &revocation_url,
                "--client-id",
                "app",
                "--client-secret-env",
                "SECRET",
                "--token-type-hint",
                hint,
            ]),
            vec![("SECRET".into(), "s3cret".into())],
        )
    };
    assert_eq!(
        revoke("refresh_token").await.expect(0).json()["revoked"],
        true
    );
    assert_eq!(
        revoke("access_token").await.expect(1).json()["reason"],
        "unsupported_token_type"
    );
    revoke("id_token").await.expect(2);
}

/// `auth oauth2 token --token-url`: the client credentials grant without discovery, beside the
/// same request to a token endpoint that refuses the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_with_the_token_endpoint_given() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(tokens("at-direct"))
        .mount(&server)
        .await;
    let token_url = format!("{}/token", server.uri());
    let run = |secret: &str| {
        auth(
            strings(&[
                "--json",
                "oauth2",
                "token",
                "--token-url",
                &token_url,
                "--client-id",
                "svc",
                "--client-secret-env",
                "SECRET",
            ]),
            vec![("SECRET".into(), secret.into())],
        )
    };
    let out = run("s3cret").await.expect(0).json();
    assert_eq!(out["access_token"], "at-direct");
    assert_eq!(out["token_endpoint"], token_url.as_str());
    // --issuer and --token-url together: a usage error.
    let both = auth(
        strings(&[
            "oauth2",
            "token",
            "--issuer",
            &server.uri(),
            "--token-url",
            &token_url,
            "--client-id",
            "svc",
            "--client-secret-env",
            "SECRET",
        ]),
        vec![("SECRET".into(), "s3cret".into())],
    )
    .await;
    both.expect(2);
}
