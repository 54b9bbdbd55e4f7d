//! `auth serve` with DPoP (RFC 9449), end to end, with proofs made by `auth dpop proof`: a
//! token request with a proof gets a `DPoP` token bound to the proof's key, and the API then
//! takes that token only with a fresh proof for that very request by that key. Each refusal
//! sits beside the request that passes on the same server.

use reqwest::StatusCode;
use serde_json::Value;

use crate::http::{client, get, header};
use crate::server::{Server, create_key};
use crate::support::{run, run_with, temp_dir};

/// `auth dpop proof` with `key`, for `method url`, with `ath` for `token` when given.
fn proof(key: &str, method: &str, url: &str, token: Option<&str>) -> String {
    proof_with_nonce(key, method, url, token, None)
}

/// [`proof`] carrying the server's `nonce`.
fn proof_with_nonce(
    key: &str,
    method: &str,
    url: &str,
    token: Option<&str>,
    nonce: Option<&str>,
) -> String {
    let mut args = vec![
        "dpop", "proof", "--key", key, "--method", method, "--url", url,
    ];
    if let Some(nonce) = nonce {
        args.extend(["--nonce", nonce]);
    }
    let env = token.map(|t| [("DPOP_TEST_TOKEN", t)]);
    if token.is_some() {
        args.extend(["--token-env", "DPOP_TEST_TOKEN"]);
    }
    let out = run_with(&args, None, env.as_ref().map_or(&[][..], |e| &e[..])).expect(0);
    out.stdout.trim().to_owned()
}

/// The payload of a JWT, decoded.
fn payload(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// A fresh ES256 private JWK in `dir`: its path.
fn dpop_key_file(dir: &std::path::Path, name: &str) -> String {
    let path = dir.join(name);
    let jwk = run(&["jwk", "generate", "--alg", "ES256"]).expect(0).stdout;
    std::fs::write(&path, jwk).unwrap();
    path.display().to_string()
}

/// A DPoP token from `server` for the API key `id`/`api_key`, its proof made with `key`.
async fn dpop_token(
    http: &reqwest::Client,
    server: &Server,
    (id, api_key): (&str, &str),
    key: &str,
) -> String {
    let token_url = server.at("/oauth/token");
    let body: Value = http
        .post(&token_url)
        .basic_auth(id, Some(api_key))
        .header("dpop", proof(key, "POST", &token_url, None))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["token_type"], "DPoP", "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn api(
    http: &reqwest::Client,
    url: &str,
    method: reqwest::Method,
    scheme: &str,
    token: &str,
    proof: Option<&str>,
) -> reqwest::Response {
    let mut request = http
        .request(method, url)
        .header("authorization", format!("{scheme} {token}"));
    if let Some(p) = proof {
        request = request.header("dpop", p);
    }
    request.send().await.unwrap()
}

fn assert_dpop_refusal(r: &reqwest::Response, error: &str) {
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let challenge = header(r, "www-authenticate");
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    assert!(
        challenge.contains(&format!("error=\"{error}\"")),
        "{challenge}"
    );
    assert!(challenge.contains("algs=\"ES256"), "{challenge}");
}

#[tokio::test]
async fn dpop_bound_tokens_need_a_fresh_proof_for_each_request() {
    let dir = temp_dir("serve-dpop");
    let data = dir.join("data");
    let server = Server::start(&data, &[]);
    let (api_key, id) = create_key(&data, "alice", &["read"]);
    let http = client();
    let (key, other_key) = (
        dpop_key_file(&dir, "dpop.jwk"),
        dpop_key_file(&dir, "other.jwk"),
    );
    let jkt = run(&["jwk", "thumbprint", &key, "--json"]).expect(0).json()["thumbprint"]
        .as_str()
        .unwrap()
        .to_owned();

    // The token request: with a proof, a DPoP token bound to the key.
    let token_url = server.at("/oauth/token");
    let token_request = |proof: Option<String>| {
        let mut r = http
            .post(&token_url)
            .basic_auth(&id, Some(&api_key))
            .form(&[("grant_type", "client_credentials")]);
        if let Some(p) = proof {
            r = r.header("dpop", p);
        }
        r.send()
    };
    let r = token_request(Some(proof(&key, "POST", &token_url, None)))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(payload(&token)["cnf"]["jkt"], jkt.as_str());
    // A proof for another URL is a 400 invalid_dpop_proof, and no token.
    let r = token_request(Some(proof(&key, "POST", &server.at("/elsewhere"), None)))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "invalid_dpop_proof"
    );
    // Without a proof, a plain bearer token, which the API takes as Bearer.
    let r = token_request(None).await.unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let bearer = body["access_token"].as_str().unwrap().to_owned();
    assert!(payload(&bearer).get("cnf").is_none());
    let r = get(&http, server.at("/api/whoami"), Some(&bearer)).await;
    assert_eq!(r.status(), StatusCode::OK);

    // The API: a fresh proof for this request, by this key, for this token.
    let whoami = server.at("/api/whoami");
    let good = proof(&key, "GET", &whoami, Some(&token));
    let r = api(
        &http,
        &whoami,
        reqwest::Method::GET,
        "DPoP",
        &token,
        Some(&good),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["subject"], "alice");
    // The same proof again: replayed.
    let r = api(
        &http,
        &whoami,
        reqwest::Method::GET,
        "DPoP",
        &token,
        Some(&good),
    )
    .await;
    assert_dpop_refusal(&r, "invalid_dpop_proof");
    // A proof for another method, another URL, by another key, without or with a wrong ath.
    let refused = [
        proof(&key, "POST", &whoami, Some(&token)),
        proof(&key, "GET", &server.at("/api/admin"), Some(&token)),
        proof(&other_key, "GET", &whoami, Some(&token)),
        proof(&key, "GET", &whoami, None),
        proof(&key, "GET", &whoami, Some(&bearer)),
    ];
    for p in &refused {
        let r = api(
            &http,
            &whoami,
            reqwest::Method::GET,
            "DPoP",
            &token,
            Some(p),
        )
        .await;
        assert_dpop_refusal(&r, "invalid_dpop_proof");
    }
    // No proof at all.
    let r = api(&http, &whoami, reqwest::Method::GET, "DPoP", &token, None).await;
    assert_dpop_refusal(&r, "invalid_dpop_proof");
    // The DPoP token sent as Bearer (with or without a proof): refused.
    let fresh = proof(&key, "GET", &whoami, Some(&token));
    let r = api(
        &http,
        &whoami,
        reqwest::Method::GET,
        "Bearer",
        &token,
        Some(&fresh),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&r, "www-authenticate").contains("invalid_token"));
    // And the fresh proof, unused by that refusal, still passes with the DPoP scheme.
    let r = api(
        &http,
        &whoami,
        reqwest::Method::GET,
        "DPoP",
        &token,
        Some(&fresh),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);

    // Without any credential, both schemes are offered.
    let r = get(&http, whoami.clone(), None).await;
    let challenges: Vec<&str> = r
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        challenges.iter().any(|c| c.starts_with("DPoP ")),
        "{challenges:?}"
    );
    assert!(
        challenges.iter().any(|c| c.starts_with("Bearer ")),
        "{challenges:?}"
    );
}

/// Through the gateway (`--upstream`, the implied route): a DPoP-bound token with its proof
/// reaches the upstream as an identity, with neither the token nor the proof; the same proof
/// replayed never reaches it.
#[tokio::test]
async fn the_gateway_checks_dpop_and_forwards_neither_token_nor_proof() {
    let upstream = crate::serve_gateway::Upstream::start();
    let dir = temp_dir("gateway-dpop");
    let data = dir.join("data");
    let server = Server::start(&data, &["--upstream", &upstream.url]);
    let (api_key, id) = create_key(&data, "carol", &["read"]);
    let http = client();
    let key = dpop_key_file(&dir, "dpop.jwk");
    let token = &dpop_token(&http, &server, (&id, &api_key), &key).await;

    let url = server.at("/orders/7");
    let good = proof(&key, "GET", &url, Some(token));
    let r = api(
        &http,
        &url,
        reqwest::Method::GET,
        "DPoP",
        token,
        Some(&good),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let seen = upstream.seen().await;
    assert_eq!(seen.len(), 1);
    let h = &seen[0]["headers"];
    assert_eq!(h["x-auth-subject"], "carol");
    assert!(h.get("authorization").is_none(), "the token went on: {h}");
    assert!(h.get("dpop").is_none(), "the proof went on: {h}");
    // Replayed: refused, and the upstream still saw one request.
    let r = api(
        &http,
        &url,
        reqwest::Method::GET,
        "DPoP",
        token,
        Some(&good),
    )
    .await;
    assert_dpop_refusal(&r, "invalid_dpop_proof");
    assert_eq!(upstream.seen().await.len(), 1);
}

/// `dpop_nonce_secs`: proofs must carry the server's nonce (RFC 9449 §8). Without it the
/// token endpoint answers 400 `use_dpop_nonce` and the API 401 `use_dpop_nonce`, each with a
/// `DPoP-Nonce`; the same request again with that nonce passes.
#[tokio::test]
async fn server_nonces_are_asked_for_then_accepted() {
    let dir = temp_dir("serve-dpop-nonce");
    let (server, data) = Server::with_config(&dir, r#"{"dpop_nonce_secs": 300}"#);
    let (api_key, id) = create_key(&data, "dana", &["read"]);
    let http = client();
    let key = dpop_key_file(&dir, "dpop.jwk");
    let with_nonce = |method: &str, url: &str, token: Option<&str>, nonce: &str| {
        proof_with_nonce(&key, method, url, token, Some(nonce))
    };
    let token_url = server.at("/oauth/token");
    let request = |proof: String| {
        http.post(&token_url)
            .basic_auth(&id, Some(&api_key))
            .header("dpop", proof)
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    let r = request(proof(&key, "POST", &token_url, None))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let nonce = header(&r, "dpop-nonce").to_owned();
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "use_dpop_nonce");
    let r = request(with_nonce("POST", &token_url, None, &nonce))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let whoami = server.at("/api/whoami");
    let bare = proof(&key, "GET", &whoami, Some(&token));
    let r = api(
        &http,
        &whoami,
        reqwest::Method::GET,
        "DPoP",
        &token,
        Some(&bare),
    )
    .await;
    assert_dpop_refusal(&r, "use_dpop_nonce");
    // A nonce to retry with (this period's: it may have turned since the token request,
    // and the one from then stays good for one more period either way).
    assert!(!header(&r, "dpop-nonce").is_empty());
    let good = with_nonce("GET", &whoami, Some(&token), &nonce);
    let r = api(
        &http,
        &whoami,
        reqwest::Method::GET,
        "DPoP",
        &token,
        Some(&good),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    // A nonce of the server's making only: another one is refused the same way.
    let forged = with_nonce(
        "GET",
        &whoami,
        Some(&token),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    );
    let r = api(
        &http,
        &whoami,
        reqwest::Method::GET,
        "DPoP",
        &token,
        Some(&forged),
    )
    .await;
    assert_dpop_refusal(&r, "use_dpop_nonce");
}

/// `auth oauth2 token --dpop-key`: the CLI asks for a DPoP token through discovery (its proof
/// made by auth-oauth2), and `auth dpop proof` with the same key then uses it on the API.
#[tokio::test]
async fn the_cli_gets_a_dpop_token_and_proves_it() {
    let dir = temp_dir("cli-dpop");
    let data = dir.join("data");
    let server = Server::start(&data, &[]);
    let (api_key, id) = create_key(&data, "fay", &["read"]);
    let key = dpop_key_file(&dir, "dpop.jwk");
    let jkt = run(&["jwk", "thumbprint", &key, "--json"]).expect(0).json()["thumbprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = crate::http::oauth2_token(&server.url, &id, &api_key, &["--dpop-key", &key], &[])
        .expect(0)
        .json();
    assert_eq!(out["token_type"], "DPoP");
    let token = out["access_token"].as_str().unwrap().to_owned();
    assert_eq!(payload(&token)["cnf"]["jkt"], jkt.as_str());
    // Without the key: a bearer token, as before.
    let plain = crate::http::oauth2_token(&server.url, &id, &api_key, &[], &[])
        .expect(0)
        .json();
    assert_eq!(plain["token_type"], "Bearer");

    let http = client();
    let whoami = server.at("/api/whoami");
    let good = proof(&key, "GET", &whoami, Some(&token));
    let r = api(
        &http,
        &whoami,
        reqwest::Method::GET,
        "DPoP",
        &token,
        Some(&good),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = api(&http, &whoami, reqwest::Method::GET, "Bearer", &token, None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// Forward-auth (Traefik's headers): a DPoP proof is checked against the URL the client used,
/// which the proxy describes, not the gateway's own.
#[tokio::test]
async fn forward_auth_checks_a_proof_against_the_url_the_proxy_describes() {
    let dir = temp_dir("forward-auth-dpop");
    let data = dir.join("data");
    let server = Server::start(&data, &[]);
    let (api_key, id) = create_key(&data, "gus", &["read"]);
    let http = client();
    let key = dpop_key_file(&dir, "dpop.jwk");
    let token = &dpop_token(&http, &server, (&id, &api_key), &key).await;
    let ask = |proof: String| {
        http.get(server.at("/auth/verify"))
            .header("x-forwarded-method", "DELETE")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "shop.example")
            .header("x-forwarded-uri", "/orders/7?force=1")
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof)
            .send()
    };
    let good = proof(&key, "DELETE", "https://shop.example/orders/7", Some(token));
    let r = ask(good).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "x-auth-subject"), "gus");
    // A proof for the gateway's own URL, or for another host, is not for this request.
    for url in [
        server.at("/orders/7"),
        "https://other.example/orders/7".to_owned(),
    ] {
        let r = ask(proof(&key, "DELETE", &url, Some(token))).await.unwrap();
        assert_dpop_refusal(&r, "invalid_dpop_proof");
    }
}
