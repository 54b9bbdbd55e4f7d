//! `auth serve` end to end: the binary on loopback, a real HTTP client, the CLI itself as a
//! relying party.

use reqwest::StatusCode;
use serde_json::Value;

use crate::http::{client, client_credentials, get, get_json, header, token_json};
use crate::server::{Server, create_key};
use crate::support::temp_dir;

#[tokio::test]
async fn api_keys_and_refusals() {
    let data = temp_dir("serve").join("data");
    let server = Server::start(&data, &[]);
    let admin_key = server
        .admin_key
        .clone()
        .expect("a first start prints the admin key");
    let (key, _) = create_key(&data, "alice", &["read", "write"]);
    let http = client();

    // Health and discovery.
    let r = get(&http, server.at("/healthz"), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let meta: Value = get_json(&http, server.at("/.well-known/oauth-authorization-server")).await;
    assert_eq!(meta["issuer"], server.url);
    assert_eq!(meta["token_endpoint"], server.at("/oauth/token"));
    assert_eq!(meta["jwks_uri"], server.at("/.well-known/jwks.json"));
    // RFC 9728: the API's metadata, named in every challenge below.
    let resource_url = server.at("/.well-known/oauth-protected-resource");
    let resource: Value = get_json(&http, resource_url.clone()).await;
    assert_eq!(resource["resource"], server.url);
    assert_eq!(resource["authorization_servers"][0], server.url);
    assert_eq!(resource["bearer_methods_supported"][0], "header");
    let named = format!(r#"resource_metadata="{resource_url}""#);

    // No credential: 401 with a bare challenge, and the rate limit headers.
    let r = get(&http, server.at("/api/whoami"), None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&r, "www-authenticate"),
        format!(r#"Bearer realm="auth-serve", {named}"#)
    );
    assert!(header(&r, "ratelimit-policy").contains("q=60"));

    // An API key as Bearer, and as X-API-Key.
    let r = get(&http, server.at("/api/whoami"), Some(&key)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        header(&r, "ratelimit").contains("r=59"),
        "{:?}",
        r.headers()
    );
    let who: Value = r.json().await.unwrap();
    assert_eq!(
        who,
        serde_json::json!({"subject": "alice", "scopes": ["read", "write"], "kind": "api_key"})
    );
    let r = http
        .get(server.at("/api/whoami"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // A credential of no kind the server knows was still sent: 401 invalid_token, not the
    // bare challenge of a request without one (RFC 6750 §3.1).
    for r in [
        get(&http, server.at("/api/whoami"), Some("garbage")).await,
        http.get(server.at("/api/whoami"))
            .header("x-api-key", "garbage")
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            header(&r, "www-authenticate"),
            format!(r#"Bearer realm="auth-serve", error="invalid_token", {named}"#)
        );
    }

    // A wrong key: 401 invalid_token. A good key without the admin scope: 403.
    let mut wrong = key.clone();
    wrong.replace_range(10..11, if &key[10..11] == "a" { "b" } else { "a" });
    let r = get(&http, server.at("/api/whoami"), Some(&wrong)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&r, "www-authenticate").contains(r#"error="invalid_token""#));
    let r = get(&http, server.at("/api/admin"), Some(&key)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        header(&r, "www-authenticate").contains(r#"error="insufficient_scope", scope="admin""#)
    );
    let r = get(&http, server.at("/api/admin"), Some(&admin_key)).await;
    assert_eq!(r.status(), StatusCode::OK);
    // The admin key is also an OAuth client, whose tokens carry the admin scope.
    let admin_id = server.admin_id.clone().unwrap();
    let admin_token: Value = client_credentials(&http, &server, &admin_id, &admin_key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(admin_token["scope"], "admin");
    let admin_access = admin_token["access_token"].as_str().unwrap();
    let r = get(&http, server.at("/api/admin"), Some(admin_access)).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Two credentials at once: 400 invalid_request.
    let r = http
        .get(server.at("/api/whoami"))
        .bearer_auth(&key)
        .header("x-api-key", &admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // A key in the query string is not a credential (RFC 6750 §2.3 is off), and not logged.
    let r = get(
        &http,
        server.at(&format!("/api/whoami?access_token={key}")),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Structured logs, and no secret in them. SIGTERM: a clean stop, with every line written.
    let logs = server.stop_and_logs();
    for line in logs.lines() {
        let _: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    assert!(logs.contains(r#""kind":"jwt""#));
    for secret in [
        key.as_str(),
        admin_key.as_str(),
        admin_access,
        wrong.as_str(),
    ] {
        assert!(!logs.contains(secret), "a secret in the logs");
    }

    // A restart does not mint another admin key; keys persist.
    let server = Server::start(&data, &[]);
    assert!(server.admin_key.is_none());
    let r = get(&client(), server.at("/api/whoami"), Some(&key)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let logs_before_stop = server.logs_with(r#""event":"started""#);
    assert!(logs_before_stop.contains(r#""event":"started""#));
    assert_eq!(server.terminate(), Some(0));
}

/// 3 a minute: a slot frees 20 s after the first admitted request, so `Retry-After` is 20
/// when the refusal comes within a second of it, and a little less on a slow machine (the
/// server's clock is real).
#[track_caller]
pub(crate) fn assert_retry_after_about_20(r: &reqwest::Response) {
    let secs: u64 = header(r, "retry-after").parse().unwrap();
    assert!((15..=20).contains(&secs), "retry-after {secs}");
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let (server, data) = Server::with_config(
        &temp_dir("serve-limits"),
        r#"{"rate_limit": {"requests": 3, "period_secs": 60}}"#,
    );
    let key = server.admin_key.clone().unwrap();
    let http = client();
    for remaining in (0..3).rev() {
        let r = get(&http, server.at("/api/whoami"), Some(&key)).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "ratelimit-policy"), r#""3-per-60s";q=3;w=60"#);
        assert!(header(&r, "ratelimit").contains(&format!("r={remaining}")));
    }
    let r = get(&http, server.at("/api/whoami"), Some(&key)).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_retry_after_about_20(&r);
    assert!(header(&r, "ratelimit").contains("r=0"));
    // Another principal has its own budget.
    let (other, _) = create_key(&data, "bob", &[]);
    let r = get(&http, server.at("/api/whoami"), Some(&other)).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_broken_key_store_is_503_not_401() {
    let data = temp_dir("serve-503").join("data");
    let server = Server::start(&data, &[]);
    let (key, id) = create_key(&data, "erin", &[]);
    let http = client();
    let token = token_json(&http, &server, &id, &key).await;
    // Overwrite the database under the running server.
    for file in ["keys.db", "keys.db-wal", "keys.db-shm"] {
        let path = data.join(file);
        if let Ok(meta) = std::fs::metadata(&path) {
            let len = usize::try_from(meta.len()).unwrap().max(4096);
            std::fs::write(&path, vec![0x42; len]).unwrap();
        }
    }
    // No decision about the key can be reached: 503, never 401, and no challenge.
    let r = get(&http, server.at("/api/whoami"), Some(&key)).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().get("www-authenticate").is_none());
    let r = client_credentials(&http, &server, &id, &key).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    // The server's own JWTs are good only while their key is: whether it was revoked cannot
    // be told either, so no decision, 503.
    let access = token["access_token"].as_str().unwrap();
    let r = get(&http, server.at("/api/whoami"), Some(access)).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().get("www-authenticate").is_none());
}
