//! Every example started on loopback and driven by a real client.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const READER: &str = "reader-key-0123456789abcdef";
const ADMIN: &str = "admin-key-0123456789abcdef";

/// A running example; killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(bin: &str) -> Self {
        Self::start_with(bin, &[])
    }

    fn start_with(bin: &str, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(bin)
            .envs(env.iter().copied())
            .env("DEMO_API_KEY", READER)
            .env("DEMO_ADMIN_KEY", ADMIN)
            .env("LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{bin} printed {line:?}"))
            .to_owned();
        Self { child, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut req = reqwest::Client::new().get(url);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, challenge, resp.text().await.unwrap())
}

/// The same four answers from every HTTP example.
async fn check_http_example(bin: &str) {
    let server = Server::start(bin);
    let url = server.url("/whoami");

    let (status, challenge, _) = get(&url, &[]).await;
    assert_eq!(
        (status, challenge.as_str()),
        (401, r#"Bearer realm="shop""#),
        "{bin}"
    );

    let bearer = format!("Bearer {READER}");
    let (status, _, body) = get(&url, &[("authorization", &bearer)]).await;
    assert_eq!(status, 200, "{bin}: {body}");
    let who: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(who["subject"], "reader");
    assert_eq!(who["kind"], "api_key");
    assert_eq!(who["plan"], "free", "{bin}: the typed attribute");

    let (status, _, _) = get(&url, &[("x-api-key", READER)]).await;
    assert_eq!(status, 200, "{bin}: X-API-Key");
    let resp = reqwest::Client::new()
        .get(&url)
        .header("x-api-key", READER)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..]),
        "{bin}: the JSON answer is labelled JSON"
    );
    // Every example runs a gate with a per-caller limit: its fields are on the answer.
    assert!(
        resp.headers().contains_key("ratelimit"),
        "{bin}: {:?}",
        resp.headers()
    );

    let (status, challenge, _) = get(&url, &[("authorization", "Bearer wrong")]).await;
    assert_eq!(
        (status, challenge.as_str()),
        (401, r#"Bearer realm="shop", error="invalid_token""#),
        "{bin}"
    );

    let (status, challenge, _) =
        get(&url, &[("authorization", &bearer), ("x-api-key", READER)]).await;
    assert_eq!(
        (status, challenge.as_str()),
        (400, r#"Bearer realm="shop", error="invalid_request""#),
        "{bin}"
    );
}

#[tokio::test]
async fn hyper_example() {
    check_http_example(env!("CARGO_BIN_EXE_hyper_server")).await;
}

#[tokio::test]
async fn actix_example() {
    check_http_example(env!("CARGO_BIN_EXE_actix_server")).await;
    // The handler's Claims<Plan> extractor read the principal's typed attribute.
    let server = Server::start(env!("CARGO_BIN_EXE_actix_server"));
    let resp = reqwest::Client::new()
        .get(server.url("/whoami"))
        .header("x-api-key", READER)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers().get("x-plan").unwrap(), "free");
}

#[tokio::test]
async fn axum_example_with_per_route_scopes() {
    check_http_example(env!("CARGO_BIN_EXE_axum_server")).await;
    let server = Server::start(env!("CARGO_BIN_EXE_axum_server"));
    let post = |key: &str| {
        reqwest::Client::new()
            .post(server.url("/orders"))
            .bearer_auth(key)
            .send()
    };
    let resp = post(READER).await.unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(
        resp.headers()["www-authenticate"],
        r#"Bearer realm="shop", error="insufficient_scope", scope="orders:write""#
    );
    let resp = post(ADMIN).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("ratelimit-policy"));
    assert!(resp.headers().contains_key("ratelimit"));
    assert_eq!(
        resp.text().await.unwrap(),
        "order created by admin on the team plan"
    );
}

#[tokio::test]
async fn tonic_example_answers_grpc_statuses() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;

    let server = Server::start(env!("CARGO_BIN_EXE_tonic_server"));
    let channel = tonic::transport::Endpoint::from_shared(server.url(""))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = HealthClient::new(channel);

    let err = client
        .check(HealthCheckRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);

    let mut request = tonic::Request::new(HealthCheckRequest::default());
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {READER}").parse().unwrap());
    let reply = client.check(request).await.unwrap().into_inner();
    assert_eq!(reply.status, 1, "SERVING");
}

#[test]
fn serverless_handler() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_serverless"))
            .env("DEMO_API_KEY", READER)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let ok = run(&[&format!("Bearer {READER}")]);
    assert!(ok.starts_with("200\n"), "{ok}");
    assert!(ok.contains(r#""subject":"reader""#), "{ok}");
    assert!(ok.contains("ratelimit: "), "{ok}");
    let denied = run(&[]);
    assert!(denied.starts_with("401\n"), "{denied}");
    assert!(
        denied.contains(r#"www-authenticate: Bearer realm="shop""#),
        "{denied}"
    );
}

#[test]
fn reqwest_client_sends_the_key_from_the_environment() {
    let server = Server::start(env!("CARGO_BIN_EXE_axum_server"));
    let out = Command::new(env!("CARGO_BIN_EXE_reqwest_client"))
        .env("API_KEY", READER)
        .arg(server.url("/whoami"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(r#""subject":"reader""#));

    let out = Command::new(env!("CARGO_BIN_EXE_reqwest_client"))
        .env_remove("API_KEY")
        .env_remove("API_KEY_FILE")
        .arg(server.url("/whoami"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("API_KEY"));
}

/// The resource server in ten lines, against a loopback OpenID provider (wiremock): the keys
/// found by discovery, the claims typed in the handler, a per-IP limit.
#[tokio::test]
async fn axum_jwt_example_verifies_tokens_of_a_discovered_issuer() {
    use auth_jwt::{Algorithm, SigningKey};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let issuer = MockServer::start().await;
    let key = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("k1");
    let json = |v: serde_json::Value| ResponseTemplate::new(200).set_body_json(v);
    let doc =
        serde_json::json!({"issuer": issuer.uri(), "jwks_uri": format!("{}/jwks", issuer.uri())});
    for (at, body) in [
        ("/.well-known/openid-configuration", doc),
        ("/jwks", serde_json::json!({"keys": [key.public_jwk()]})),
    ] {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(json(body))
            .mount(&issuer)
            .await;
    }
    let server = Server::start_with(env!("CARGO_BIN_EXE_axum_jwt"), &[("ISSUER", &issuer.uri())]);
    let url = server.url("/orders");
    let token = |k: &SigningKey, aud: &str| {
        let claims = serde_json::json!({"iss": issuer.uri(), "aud": aud, "sub": "alice",
            "tenant": "acme", "exp": 4_000_000_000u64});
        format!("Bearer {}", k.sign(&claims).unwrap())
    };

    let (status, challenge, _) = get(&url, &[]).await;
    assert_eq!(
        (status, challenge.as_str()),
        (401, r#"Bearer realm="orders""#)
    );
    let good = token(&key, "orders-api");
    let (status, _, body) = get(&url, &[("authorization", &good)]).await;
    assert_eq!((status, body.as_str()), (200, "orders of alice in acme"));
    // Another key with the same kid, and the right key for another audience: refused.
    let forged = token(
        &SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_kid("k1"),
        "orders-api",
    );
    let other_api = token(&key, "billing-api");
    for bad in [forged, other_api] {
        let (status, challenge, _) = get(&url, &[("authorization", &bad)]).await;
        assert_eq!(status, 401);
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{challenge}"
        );
    }
    // 60 a minute per client address: the 4 requests above count too; the limit is reached
    // after 60 (a few more if seconds pass meanwhile, as the quota refills one a second).
    let mut admitted = 4;
    let limited = loop {
        let (status, _, _) = get(&url, &[("authorization", &good)]).await;
        match status {
            200 | 401 if admitted < 200 => admitted += 1,
            other => break other,
        }
    };
    assert_eq!(limited, 429, "after {admitted} requests");
    assert!(admitted >= 60, "limited after {admitted} requests");
}

/// The top README leads with the axum_jwt example: its code block is the example's own code,
/// line for line, so what the README shows is what CI runs.
#[test]
fn the_readme_shows_the_axum_jwt_example_as_it_is() {
    let readme = include_str!("../../README.md");
    let example = include_str!("../src/bin/axum_jwt.rs");
    let start = readme.find("```rust,ignore\n").unwrap() + "```rust,ignore\n".len();
    let block = &readme[start..start + readme[start..].find("```").unwrap()];
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            example.lines().any(|e| e == line),
            "README line not in the example: {line:?}"
        );
    }
    let setup = block
        .lines()
        .skip_while(|l| !l.contains("let http"))
        .count();
    assert!(setup <= 10, "the setup is {setup} lines");
}
