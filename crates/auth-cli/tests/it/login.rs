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

/// What the browser and the terminal saw.
struct Outcome {
    code: i32,
    stdout: String,
    /// The authorization URL's query.
    query: Vec<(String, String)>,
    /// The callback page's status and text (the last one's, of several visits).
    page: (u16, String),
    /// Each visit's page, in order.
    pages: Vec<(u16, String)>,
}

/// Starts `auth --json oauth2 login` and acts as the browser, coming back to the callback
/// with the query `callback` makes of the real state.
async fn login(server: &MockServer, callback: fn(&str) -> String) -> Outcome {
    login_visits(server, &[callback], None).await
}

/// An OpenID Connect sign-in: the provider signs the ID token with `key`, and names the
/// nonce the client sent, or another one when `wrong_nonce`.
struct Oidc {
    key: auth_jwt::SigningKey,
    wrong_nonce: bool,
}

/// [`login`], coming back to the callback once per entry of `visits`, in order; with `oidc`,
/// `openid` is requested and the token response carries an ID token.
async fn login_visits(
    server: &MockServer,
    visits: &[fn(&str) -> String],
    oidc: Option<&Oidc>,
) -> Outcome {
    let scope = if oidc.is_some() { "openid" } else { "read" };
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
        .args(["--scope", scope, "--timeout", "30"])
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
    if let Some(oidc) = oidc {
        let nonce = if oidc.wrong_nonce {
            "another-nonce".to_owned()
        } else {
            get("nonce")
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let id_token = oidc
            .key
            .sign(&json!({
                "iss": server.uri(), "sub": "alice", "aud": "cli", "exp": now + 600,
                "iat": now, "nonce": nonce, "email": "alice@example.com",
            }))
            .unwrap();
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "at-from-login", "token_type": "Bearer", "expires_in": 600,
                "id_token": id_token,
            })))
            .with_priority(1)
            .mount(server)
            .await;
    }
    // The authorization server would redirect the browser here.
    let mut pages = Vec::new();
    for callback in visits {
        let back = reqwest::get(format!("{redirect}?{}", callback(&get("state"))))
            .await
            .unwrap();
        pages.push((back.status().as_u16(), back.text().await.unwrap()));
    }
    let page = pages.last().cloned().unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    Outcome {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        query,
        page,
        pages,
    }
}

/// The callback of a successful sign-in.
fn granted(state: &str) -> String {
    format!("code=the-code&state={state}")
}

#[tokio::test(flavor = "multi_thread")]
async fn login_with_pkce_through_a_loopback_redirect() {
    let server = authorization_server().await;
    let Outcome {
        code,
        stdout,
        query,
        page,
        ..
    } = login(&server, granted).await;
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(page.0, 200);
    assert!(page.1.starts_with("signed in"), "{}", page.1);
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
async fn a_refused_callback_fails_in_the_browser_too() {
    // (what, the callback's query from the real state, the refusal's reason)
    type Case = (&'static str, fn(&str) -> String, &'static str);
    let cases: [Case; 2] = [
        (
            "RFC 9207 iss of another issuer",
            |state| format!("code=the-code&state={state}&iss=https%3A%2F%2Fevil.example"),
            "invalid_callback",
        ),
        (
            "the user said no",
            |state| format!("error=access_denied&state={state}"),
            "access_denied",
        ),
    ];
    for (case, callback, reason) in cases {
        let server = authorization_server().await;
        let outcome = login(&server, callback).await;
        assert_eq!(outcome.code, 1, "{case}: {}", outcome.stdout);
        let v: Value = serde_json::from_str(&outcome.stdout).unwrap();
        assert_eq!(v["reason"], reason, "{case}: {v}");
        assert_eq!(outcome.page.0, 400, "{case}: {}", outcome.page.1);
        assert!(
            outcome.page.1.contains("failed") && !outcome.page.1.contains("signed in"),
            "{case}: {}",
            outcome.page.1
        );
        // Nothing was sent to the token endpoint.
        let requests = server.received_requests().await.unwrap();
        assert!(requests.iter().all(|r| r.url.path() != "/token"), "{case}");
    }
}

/// Callbacks without this sign-in's state (a stale tab, a forged link) are answered 400 and
/// ignored; the right one, arriving after them, still signs in, and only it reaches the
/// token endpoint.
#[tokio::test(flavor = "multi_thread")]
async fn stray_callbacks_are_ignored_until_the_right_one() {
    let server = authorization_server().await;
    let visits: [fn(&str) -> String; 4] = [
        |_| "code=forged&state=forged-state".to_owned(),
        |_| "code=forged".to_owned(),
        |state| format!("code=forged&state={state}&state=other"),
        granted,
    ];
    let outcome = login_visits(&server, &visits, None).await;
    assert_eq!(outcome.code, 0, "{}", outcome.stdout);
    for (status, text) in &outcome.pages[..3] {
        assert_eq!(*status, 400, "{text}");
        assert!(text.contains("not the sign-in"), "{text}");
    }
    assert_eq!(outcome.page.0, 200, "{}", outcome.page.1);
    let v: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(v["access_token"], "at-from-login");
    let requests = server.received_requests().await.unwrap();
    let tokens: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == "/token")
        .collect();
    assert_eq!(tokens.len(), 1);
    assert!(!String::from_utf8_lossy(&tokens[0].body).contains("forged"));
}

/// The provider of an OpenID Connect sign-in: `authorization_server`'s metadata with the
/// JWKS of `key` and the algorithm it signs ID tokens with.
async fn openid_provider(key: &auth_jwt::SigningKey) -> MockServer {
    let server = authorization_server().await;
    let issuer = server.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "id_token_signing_alg_values_supported": ["ES256"],
            "code_challenge_methods_supported": ["S256"],
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"keys": [key.public_jwk().unwrap()]})),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn with_openid_the_id_token_is_verified_and_its_claims_printed() {
    let key = auth_jwt::SigningKey::generate(auth_jwt::Algorithm::ES256)
        .unwrap()
        .with_kid("k1");
    let server = openid_provider(&key).await;
    let oidc = Oidc {
        key: key.clone(),
        wrong_nonce: false,
    };
    let good = login_visits(&server, &[granted], Some(&oidc)).await;
    assert_eq!(good.code, 0, "{}", good.stdout);
    assert!(!param(&good.query, "nonce").is_empty(), "a nonce was sent");
    let v: Value = serde_json::from_str(&good.stdout).unwrap();
    assert_eq!(v["id_token"]["subject"], "alice");
    assert_eq!(v["id_token"]["claims"]["email"], "alice@example.com");
    assert_eq!(v["id_token"]["alg"], "ES256");

    // The same provider, an ID token naming another nonce: refused, in the browser too.
    let server = openid_provider(&key).await;
    let replayed = Oidc {
        key,
        wrong_nonce: true,
    };
    let bad = login_visits(&server, &[granted], Some(&replayed)).await;
    assert_eq!(bad.code, 1, "{}", bad.stdout);
    let v: Value = serde_json::from_str(&bad.stdout).unwrap();
    assert_eq!(v["reason"], "invalid_id_token");
    assert_eq!(bad.page.0, 400);
}
