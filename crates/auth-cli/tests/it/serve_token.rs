//! `auth serve` as an OAuth 2.0 authorization server, end to end: the token endpoint with
//! both client authentications and every refusal of RFC 6749 §5.2, its JWTs on the API and
//! verified by the CLI against the published JWKS, expiry, introspection and restarts.

use reqwest::StatusCode;
use serde_json::Value;

use crate::http::{client, get, header, oauth2_token, token_json};
use crate::server::{Server, create_key};
use crate::support::{run, temp_dir};

#[tokio::test]
async fn token_endpoint_issues_and_refuses() {
    let data = temp_dir("serve-token").join("data");
    let server = Server::start(&data, &[]);
    let (key, id) = create_key(&data, "alice", &["read", "write"]);
    let http = client();
    let mut wrong = key.clone();
    wrong.replace_range(10..11, if &key[10..11] == "a" { "b" } else { "a" });

    // Client credentials, client_secret_basic and client_secret_post.
    let token_url = server.at("/oauth/token");
    let r = http
        .post(&token_url)
        .basic_auth(&id, Some(&key))
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "cache-control"), "no-store");
    // The token endpoint spends the caller's address budget.
    assert!(header(&r, "ratelimit").starts_with(r#""60-per-60s";r="#));
    let token: Value = r.json().await.unwrap();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["scope"], "read");
    assert_eq!(token["expires_in"], 300);
    let access = token["access_token"].as_str().unwrap().to_owned();
    let r = http
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &key),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // The JWT is a Bearer credential on the API, with the granted scope only.
    let r = get(&http, server.at("/api/whoami"), Some(&access)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let who: Value = r.json().await.unwrap();
    assert_eq!(
        who,
        serde_json::json!({"subject": "alice", "scopes": ["read"], "kind": "jwt"})
    );
    // A tampered JWT is refused.
    let tampered = format!("{}x", &access[..access.len() - 1]);
    let r = get(&http, server.at("/api/whoami"), Some(&tampered)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // The CLI verifies the server's token against its published JWKS.
    let v = run(&[
        "--json",
        "jwt",
        "verify",
        &access,
        "--jwks",
        &server.at("/.well-known/jwks.json"),
        "--alg",
        "ES256",
        "--iss",
        &server.url,
        "--aud",
        &server.url,
        "--typ",
        "at+jwt",
    ])
    .expect(0)
    .json();
    assert_eq!(v["claims"]["client_id"], id);

    // Token endpoint refusals (RFC 6749 §5.2).
    let cc = ("grant_type", "client_credentials");
    let request = |basic: Option<(&str, &str)>, form: &[(&str, &str)]| {
        let request = http.post(&token_url).form(form);
        match basic {
            Some((user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        }
    };
    let (good, bad) = (
        Some((id.as_str(), key.as_str())),
        Some((id.as_str(), wrong.as_str())),
    );
    let (unauthorized, bad_request) = (StatusCode::UNAUTHORIZED, StatusCode::BAD_REQUEST);
    let cases = vec![
        (request(bad, &[cc]), unauthorized, "invalid_client"),
        (
            request(Some(("someone-else", &key)), &[cc]),
            unauthorized,
            "invalid_client",
        ),
        (request(None, &[cc]), unauthorized, "invalid_client"),
        (
            request(good, &[("grant_type", "password")]),
            bad_request,
            "unsupported_grant_type",
        ),
        (
            request(good, &[cc, ("scope", "admin")]),
            bad_request,
            "invalid_scope",
        ),
        // Scopes are read strictly: one dropped as unreadable would grant other than asked.
        (
            request(good, &[cc, ("scope", "a\"b")]),
            bad_request,
            "invalid_scope",
        ),
        (
            request(good, &[cc, ("scope", "read\u{1}")]),
            bad_request,
            "invalid_scope",
        ),
        (
            request(good, &[cc, ("client_secret", &key)]),
            bad_request,
            "invalid_request",
        ),
        (
            request(good, &[cc, ("scope", "read"), ("scope", "write")]),
            bad_request,
            "invalid_request",
        ),
        (
            http.post(&token_url)
                .basic_auth(&id, Some(&key))
                .body("grant_type=client_credentials"),
            bad_request,
            "invalid_request",
        ),
    ];
    for (i, (request, status, error)) in cases.into_iter().enumerate() {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), status, "case {i}");
        if status == StatusCode::UNAUTHORIZED {
            assert!(
                header(&r, "www-authenticate").starts_with("Basic"),
                "case {i}"
            );
        }
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], error, "case {i}");
    }
    let r = http
        .post(&token_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 20_000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let r = get(&http, token_url.clone(), None).await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);

    // No secret in the logs.
    let logs = server.stop_and_logs();
    for secret in [&key, &access, &wrong] {
        assert!(!logs.contains(secret.as_str()), "a secret in the logs");
    }
}

#[tokio::test]
async fn oauth2_token_through_discovery() {
    let data = temp_dir("serve-oauth2").join("data");
    let server = Server::start(&data, &[]);
    let (key, id) = create_key(&data, "carol", &["read", "write"]);
    let token = |extra: &[&str], secret: &str| oauth2_token(&server.url, &id, secret, extra, &[]);
    let v = token(&["--scope", "read"], &key).expect(0).json();
    assert_eq!(v["scope"], "read");
    assert_eq!(v["token_endpoint"], server.at("/oauth/token"));
    let access = v["access_token"].as_str().unwrap();
    let r = get(&client(), server.at("/api/whoami"), Some(access)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let who: Value = r.json().await.unwrap();
    assert_eq!(who["kind"], "jwt");
    assert_eq!(who["scopes"], serde_json::json!(["read"]));
    token(&["--client-secret-post"], &key).expect(0);

    // Refusals by the server are exit 1 with the RFC 6749 code; the secret is never printed.
    let (other_key, _) = create_key(&data, "mallory", &[]);
    let r = token(&[], &other_key).expect(1);
    assert_eq!(r.json()["reason"], "invalid_client");
    assert!(!r.stdout.contains(&other_key));
    assert_eq!(
        token(&["--scope", "admin"], &key).expect(1).json()["reason"],
        "invalid_scope"
    );
    // Introspection (RFC 7662) of the server's JWT and of an API key, as carol's client.
    let introspect = |token: &str, secret: &str| {
        let mut args = vec![
            "--json",
            "oauth2",
            "introspect",
            token,
            "--issuer",
            &server.url,
        ];
        args.extend(["--client-id", &id, "--client-secret-env", "CLIENT_SECRET"]);
        crate::support::run_with(&args, None, &[("CLIENT_SECRET", secret)])
    };
    let v = introspect(access, &key).expect(0).json();
    assert_eq!(
        (v["active"].clone(), v["kind"].clone()),
        (true.into(), "jwt".into())
    );
    assert_eq!(
        (v["sub"].clone(), v["scope"].clone()),
        ("carol".into(), "read".into())
    );
    let v = introspect(&other_key, &key).expect(0).json();
    assert_eq!(
        (v["kind"].clone(), v["sub"].clone()),
        ("api_key".into(), "mallory".into())
    );
    let forged = format!("{}x", &access[..access.len() - 1]);
    assert_eq!(
        introspect(&forged, &key).expect(1).json()["reason"],
        "inactive"
    );
    assert_eq!(
        introspect("junk", &key).expect(1).json()["reason"],
        "inactive"
    );
    assert_eq!(
        introspect(access, &other_key).expect(1).json()["reason"],
        "invalid_client"
    );

    // No secret, or no server: exit 2.
    crate::support::run(&[
        "oauth2",
        "token",
        "--issuer",
        &server.url,
        "--client-id",
        &id,
        "--client-secret-env",
        "AUTH_CLI_UNSET",
    ])
    .expect(2);
    let r = crate::support::run_with(
        &[
            "oauth2",
            "token",
            "--issuer",
            "http://127.0.0.1:9",
            "--client-id",
            &id,
            "--client-secret-env",
            "S",
        ],
        None,
        &[("S", &key)],
    );
    r.expect(2);
}

/// The payload of a JWT, decoded.
fn jwt_part(token: &str, index: usize) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(index).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The server's own tokens get no leeway: one past its `exp` is refused on the API at once
/// and inactive at introspection (RFC 7662 §2.2); absent members are left out, not `null`.
#[tokio::test]
async fn own_tokens_expire_on_the_second() {
    let data = temp_dir("serve-expiry").join("data");
    let server = Server::start(&data, &[]);
    let (key, id) = create_key(&data, "erin", &["read"]);
    let http = client();
    let token = token_json(&http, &server, &id, &key).await;
    let access = token["access_token"].as_str().unwrap();

    // The server's current signing key, found by the token's `kid`, re-signs its claims.
    let kid = jwt_part(access, 0)["kid"].as_str().unwrap().to_owned();
    let signer = std::fs::read_dir(data.join("signing-keys"))
        .unwrap()
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .filter_map(|pem| auth_jwt::SigningKey::from_pem(&pem, auth_jwt::Algorithm::ES256).ok())
        .find(|k| k.kid() == Some(kid.as_str()))
        .expect("the token's key is on disk")
        .with_type("at+jwt");
    let claims = jwt_part(access, 1);
    let iat = claims["iat"].as_u64().unwrap();
    let with_exp = |exp: u64| {
        let mut c = claims.clone();
        c["exp"] = exp.into();
        signer.sign(&c).unwrap()
    };
    let introspect = |token: String| {
        http.post(server.at("/oauth/introspect"))
            .basic_auth(&id, Some(&key))
            .form(&[("token", token)])
            .send()
    };

    // Re-signed as issued: accepted, so what follows tests the expiry alone.
    let fresh = with_exp(iat + 300);
    let r = get(&http, server.at("/api/whoami"), Some(&fresh)).await;
    assert_eq!(r.status(), StatusCode::OK);
    // One second past `exp` (the server's clock is at `iat` or later).
    let expired = with_exp(iat - 1);
    let r = get(&http, server.at("/api/whoami"), Some(&expired)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&r, "www-authenticate").contains(r#"error="invalid_token""#));
    let v: Value = introspect(expired).await.unwrap().json().await.unwrap();
    assert_eq!(v, serde_json::json!({"active": false}));

    // An API key without an expiry: active, and no `exp` member at all.
    let v: Value = introspect(key.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(v["active"], true);
    assert!(v.get("exp").is_none(), "{v}");
    assert!(v.as_object().unwrap().values().all(|m| !m.is_null()), "{v}");
}

#[tokio::test]
async fn tokens_survive_a_restart() {
    let dir = temp_dir("serve-restart");
    // A fixed issuer: the port changes between runs.
    let (server, data) = Server::with_config(
        &dir,
        r#"{"issuer": "https://auth.example", "audience": "api"}"#,
    );
    let (key, id) = create_key(&data, "dave", &["read"]);
    let token = token_json(&client(), &server, &id, &key).await;
    let access = token["access_token"].as_str().unwrap();
    assert_eq!(server.terminate(), Some(0));

    let server = Server::start(
        &data,
        &["--config", dir.join("config.json").to_str().unwrap()],
    );
    let r = get(&client(), server.at("/api/whoami"), Some(access)).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "a token from before the restart"
    );

    // Private material on disk is readable by its owner only.
    use std::os::unix::fs::PermissionsExt as _;
    let mut files = vec![data.join("pepper")];
    for entry in std::fs::read_dir(data.join("signing-keys")).unwrap() {
        files.push(entry.unwrap().path());
    }
    assert!(files.len() >= 3);
    for file in files {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{}: {mode:o}", file.display());
    }
}
