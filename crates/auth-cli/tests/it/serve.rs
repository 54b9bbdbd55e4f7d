//! `auth serve` end to end: the binary on loopback, a real HTTP client, the CLI itself as a
//! relying party.

use reqwest::StatusCode;
use serde_json::Value;

use crate::server::{Server, create_key};
use crate::support::{run, temp_dir, write};

fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

/// GETs `url`, with a Bearer credential if given.
async fn get(http: &reqwest::Client, url: String, bearer: Option<&str>) -> reqwest::Response {
    let request = http.get(url);
    let request = match bearer {
        Some(credential) => request.bearer_auth(credential),
        None => request,
    };
    request.send().await.unwrap()
}

/// GETs `url` and reads its JSON.
async fn get_json(http: &reqwest::Client, url: String) -> Value {
    get(http, url, None).await.json().await.unwrap()
}

/// `POST /oauth/token` with `client_secret_basic` and no scope.
async fn client_credentials(
    http: &reqwest::Client,
    server: &Server,
    id: &str,
    key: &str,
) -> reqwest::Response {
    http.post(server.at("/oauth/token"))
        .basic_auth(id, Some(key))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
}

/// [`client_credentials`]'s token response, read as JSON.
async fn token_json(http: &reqwest::Client, server: &Server, id: &str, key: &str) -> Value {
    client_credentials(http, server, id, key)
        .await
        .json()
        .await
        .unwrap()
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header in {:?}", r.headers()))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn api_keys_tokens_and_refusals() {
    let data = temp_dir("serve").join("data");
    let server = Server::start(&data, &[]);
    let admin_key = server
        .admin_key
        .clone()
        .expect("a first start prints the admin key");
    let (key, id) = create_key(&data, "alice", &["read", "write"]);
    let http = client();

    // Health and discovery.
    let r = get(&http, server.at("/healthz"), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let meta: Value = get_json(&http, server.at("/.well-known/oauth-authorization-server")).await;
    assert_eq!(meta["issuer"], server.url);
    assert_eq!(meta["token_endpoint"], server.at("/oauth/token"));
    assert_eq!(meta["jwks_uri"], server.at("/.well-known/jwks.json"));

    // No credential: 401 with a bare challenge, and the rate limit headers.
    let r = get(&http, server.at("/api/whoami"), None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&r, "www-authenticate"),
        r#"Bearer realm="auth-serve""#
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
            r#"Bearer realm="auth-serve", error="invalid_token""#
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

    // A key in the query string is not a credential (RFC 6750 §2.3 is off), and not logged.
    let r = get(
        &http,
        server.at(&format!("/api/whoami?access_token={key}")),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Structured logs, and no secret in them.
    let logs = server.logs();
    for line in logs.lines() {
        let _: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    assert!(logs.contains(r#""kind":"jwt""#));
    for secret in [&key, &admin_key, &access, &wrong] {
        assert!(!logs.contains(secret.as_str()), "a secret in the logs");
    }

    // SIGTERM: a clean stop. A restart does not mint another admin key; keys persist.
    assert_eq!(server.terminate(), Some(0));
    let server = Server::start(&data, &[]);
    assert!(server.admin_key.is_none());
    let r = get(&client(), server.at("/api/whoami"), Some(&key)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let logs_before_stop = server.logs();
    assert!(logs_before_stop.contains(r#""event":"started""#));
    assert_eq!(server.terminate(), Some(0));
}

/// 3 a minute: a slot frees 20 s after the first admitted request, so `Retry-After` is 20
/// when the refusal comes within a second of it, and a little less on a slow machine (the
/// server's clock is real).
#[track_caller]
fn assert_retry_after_about_20(r: &reqwest::Response) {
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
async fn https_with_rustls() {
    let dir = temp_dir("serve-tls");
    let (ca, cert, key) = make_certificates(&dir);
    let server = Server::start(
        &dir.join("data"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let root = reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap();
    let https = reqwest::Client::builder()
        .add_root_certificate(root)
        .build()
        .unwrap();
    let meta: Value = get_json(&https, server.at("/.well-known/oauth-authorization-server")).await;
    assert_eq!(meta["issuer"], server.url);
    // Plain HTTP to the TLS port gets nothing useful.
    let plain = server.url.replace("https://", "http://");
    assert!(
        client()
            .get(format!("{plain}/healthz"))
            .send()
            .await
            .is_err()
    );
}

/// The CLI as a client of an HTTPS issuer whose CA the system does not know: the error says
/// why (the certificate), and `SSL_CERT_FILE` or `--cacert` trusts the CA.
#[test]
fn an_unknown_ca_is_named_and_ssl_cert_file_trusts_one() {
    let dir = temp_dir("serve-tls-client");
    let (ca, cert, key) = make_certificates(&dir);
    let data = dir.join("data");
    let server = Server::start(
        &data,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let (secret, id) = create_key(&data, "dave", &[]);
    let v = oauth2_token(&server.url, &id, &secret, &[], &[])
        .expect(2)
        .json();
    let message = v["message"].as_str().unwrap();
    assert!(
        message.contains("certificate") && message.contains("UnknownIssuer"),
        "{message}"
    );
    assert!(!message.contains(&secret));
    let trust = [("SSL_CERT_FILE", ca.to_str().unwrap())];
    let v = oauth2_token(&server.url, &id, &secret, &[], &trust)
        .expect(0)
        .json();
    assert!(v["access_token"].is_string(), "{v}");
    // --cacert trusts it for this command alone; a file that is no certificate is exit 2.
    let v = oauth2_token(
        &server.url,
        &id,
        &secret,
        &["--cacert", ca.to_str().unwrap()],
        &[],
    )
    .expect(0)
    .json();
    assert!(v["access_token"].is_string(), "{v}");
    let not_pem = write(&dir, "not.pem", "not a certificate");
    let v = oauth2_token(&server.url, &id, &secret, &["--cacert", &not_pem], &[])
        .expect(2)
        .json();
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("not a PEM certificate"),
        "{v}"
    );
}

#[test]
fn refuses_plain_http_off_loopback_and_bad_settings() {
    let dir = temp_dir("serve-refusals");
    let data = dir.join("data");
    let data = data.to_str().unwrap();
    let r = run(&["serve", "--listen", "0.0.0.0:0", "--data", data]).expect(2);
    assert!(r.stderr.contains("--insecure-http"), "{}", r.stderr);
    let bad = write(&dir, "bad.json", r#"{"token_ttl": 5}"#);
    run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data",
        data,
        "--config",
        &bad,
    ])
    .expect(2);
    let missing = dir.join("nope.pem");
    let missing = missing.to_str().unwrap();
    run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data",
        data,
        "--tls-cert",
        missing,
        "--tls-key",
        missing,
    ])
    .expect(2);
    run(&["serve", "--tls-cert", missing]).expect(2);
    // A busy port is exit 2, and does not spend the one showing of the admin key.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = busy.local_addr().unwrap().to_string();
    let fresh = dir.join("fresh");
    run(&[
        "serve",
        "--listen",
        &busy,
        "--data",
        fresh.to_str().unwrap(),
    ])
    .expect(2);
    assert!(Server::start(&fresh, &[]).admin_key.is_some());
}

/// A CA and a leaf certificate for localhost and 127.0.0.1 signed by it, with openssl.
fn make_certificates(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let openssl = |args: &[&str]| crate::support::openssl(dir, args);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-subj",
                "/CN=test CA",
                "-days",
                "1",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-subj",
                "/CN=localhost",
                "-keyout",
                "key.pem",
                "-out",
                "leaf.csr",
            ],
        ]
        .concat(),
    );
    write(
        dir,
        "san.ext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    );
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "san.ext",
        "-out",
        "cert.pem",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    )
}

/// `auth --json oauth2 token` from `issuer` as client `id` with `secret` (in the environment),
/// with `extra` arguments and environment variables.
fn oauth2_token(
    issuer: &str,
    id: &str,
    secret: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> crate::support::Run {
    let mut args = vec!["--json", "oauth2", "token", "--issuer", issuer];
    args.extend(["--client-id", id, "--client-secret-env", "CLIENT_SECRET"]);
    args.extend(extra);
    let mut env = env.to_vec();
    env.push(("CLIENT_SECRET", secret));
    crate::support::run_with(&args, None, &env)
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

/// Two instances of `auth serve --redis` sharing one Redis admit exactly the quota between
/// them; with Redis unreachable, an instance answers 503 (fail closed), never unlimited.
/// Two instances started with `args` share one Redis: together they admit a key's quota (3
/// a minute) once, not once each.
async fn fleet_admits_the_quota_once(data: &std::path::Path, args: &[&str], tag: &str) {
    let a = Server::start(data, args);
    let b = Server::start(data, args);
    // A subject of its own, so earlier runs' state in the shared Redis cannot interfere.
    let subject = format!("fleet-{tag}-{}", std::process::id());
    let (key, _) = create_key(data, &subject, &[]);
    let http = client();
    let mut admitted = 0;
    for i in 0..6 {
        let server = if i % 2 == 0 { &a } else { &b };
        let r = get(&http, server.at("/api/whoami"), Some(&key)).await;
        match r.status() {
            StatusCode::OK => admitted += 1,
            StatusCode::TOO_MANY_REQUESTS => assert_retry_after_about_20(&r),
            other => panic!("{tag}: unexpected {other}"),
        }
        assert_eq!(header(&r, "ratelimit-policy"), r#""3-per-60s";q=3;w=60"#);
    }
    assert_eq!(
        admitted, 3,
        "{tag}: the fleet admits the quota once, not once per instance"
    );
}

#[tokio::test]
async fn a_fleet_shares_rate_limits_through_redis() {
    let redis =
        std::env::var("AUTH_RS_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let dir = temp_dir("serve-fleet");
    let config = write(
        &dir,
        "config.json",
        r#"{"rate_limit": {"requests": 3, "period_secs": 60}}"#,
    );
    let data = dir.join("data");
    fleet_admits_the_quota_once(&data, &["--config", &config, "--redis", &redis], "plain").await;

    // The same over TLS, trusting the services' private CA.
    let rediss = std::env::var("AUTH_RS_REDIS_TLS_URL")
        .unwrap_or_else(|_| "rediss://127.0.0.1:6380".to_owned());
    let ca = String::from_utf8(crate::tls_files::tls_file("ca.pem")).unwrap();
    let ca = write(&dir, "ca.pem", &ca);
    let over_tls = ["--config", &config, "--redis", &rediss, "--redis-ca", &ca];
    fleet_admits_the_quota_once(&data, &over_tls, "tls").await;
    let key = create_key(&data, &format!("fail-closed-{}", std::process::id()), &[]).0;

    // A Redis whose certificate the given CA did not sign: no decision, 503, never a pass.
    let other = String::from_utf8(crate::tls_files::tls_file("other-ca.pem")).unwrap();
    let other = write(&dir, "other-ca.pem", &other);
    let untrusted = [
        "--config",
        &config,
        "--redis",
        &rediss,
        "--redis-ca",
        &other,
    ];
    let u = Server::start(&data, &untrusted);
    let r = get(&client(), u.at("/api/whoami"), Some(&key)).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);

    // Nothing listens on this port (bound, not listening, held until the test ends): the
    // limiter fails closed.
    let held = tokio::net::TcpSocket::new_v4().unwrap();
    held.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = held.local_addr().unwrap().port();
    let dead = format!("redis://127.0.0.1:{port}");
    let c = Server::start(&data, &["--config", &config, "--redis", &dead]);
    let r = get(&client(), c.at("/api/whoami"), Some(&key)).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().get("www-authenticate").is_none());
}

/// Two instances of `auth serve --database-env VAR` share one PostgreSQL key store: the first
/// start creates the admin key once, and a key created through one is accepted by the other.
#[tokio::test]
async fn a_fleet_shares_api_keys_through_postgres() {
    let url = std::env::var("AUTH_RS_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://auth_rs:auth_rs@127.0.0.1:5433/auth_rs".to_owned());
    // A schema of its own: earlier runs' keys cannot interfere.
    let schema = format!("cli_fleet_{}", std::process::id());
    let env = [("TEST_DATABASE_URL", url.as_str())];
    let db = [
        "--database-env",
        "TEST_DATABASE_URL",
        "--database-schema",
        &schema,
    ];
    let (a_dir, b_dir) = (temp_dir("serve-pg-a"), temp_dir("serve-pg-b"));
    // B reaches the same database over TLS (sslmode=require), trusting the services' CA.
    let tls_url = std::env::var("AUTH_RS_DATABASE_TLS_URL").unwrap_or_else(|_| {
        "postgres://auth_rs:auth_rs@127.0.0.1:5433/auth_rs?sslmode=require".to_owned()
    });
    let tls_env = [("TEST_DATABASE_URL", tls_url.as_str())];
    let ca = String::from_utf8(crate::tls_files::tls_file("ca.pem")).unwrap();
    let ca = write(&b_dir, "ca.pem", &ca);
    let mut b_db = db.to_vec();
    b_db.extend(["--database-ca", ca.as_str()]);
    // Both instances need the same pepper to agree on digests: share it.
    let a = Server::start_with_env(&a_dir.join("data"), &db, &env);
    std::fs::create_dir_all(b_dir.join("data")).unwrap();
    std::fs::copy(a_dir.join("data/pepper"), b_dir.join("data/pepper")).unwrap();
    let b = Server::start_with_env(&b_dir.join("data"), &b_db, &tls_env);
    let admin = a
        .admin_key
        .clone()
        .expect("first start prints the admin key");
    assert!(
        b.admin_key.is_none(),
        "the admin key is created once per database"
    );

    let http = client();
    for server in [&a, &b] {
        let r = get(&http, server.at("/api/whoami"), Some(&admin)).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let mut args = vec!["--json", "apikey", "create", "--data"];
    let b_data = b_dir.join("data");
    args.push(b_data.to_str().unwrap());
    args.extend(["--subject", "carol"]);
    args.extend(&b_db);
    let created = crate::support::run_with(&args, None, &tls_env)
        .expect(0)
        .json();
    let key = created["key"].as_str().unwrap();
    let r = get(&http, a.at("/api/whoami"), Some(key)).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "created through B's data over TLS, accepted by A"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["subject"], "carol");
}
