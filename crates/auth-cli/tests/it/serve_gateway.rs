//! `auth serve` as a gateway: a Python service behind `--upstream` on loopback, forward-auth
//! as Traefik, nginx and Envoy ask it, and `/metrics` counting the decisions.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::Value;

use crate::http::{client, get, header};
use crate::server::{Server, create_key};
use crate::support::temp_dir;

/// The Python service (`upstream.py`), killed on drop.
pub(crate) struct Upstream {
    child: Child,
    pub(crate) url: String,
}

impl Upstream {
    pub(crate) fn start() -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/upstream.py");
        let mut child = Command::new("python3")
            .arg(script)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the upstream");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap()
            .to_owned();
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The requests it received, in order.
    pub(crate) async fn seen(&self) -> Vec<Value> {
        let r = reqwest::get(format!("{}/__seen", self.url)).await.unwrap();
        r.json().await.unwrap()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fails unless `/metrics` has each of `lines`, exactly.
async fn expect_metrics(server: &Server, lines: &[&str]) {
    let metrics = get(&client(), server.at("/metrics"), None)
        .await
        .text()
        .await
        .unwrap();
    for line in lines {
        assert!(
            metrics.lines().any(|l| l == *line),
            "{line} not in\n{metrics}"
        );
    }
}

#[tokio::test]
async fn a_valid_key_reaches_the_upstream_as_an_identity_and_a_bad_one_never_does() {
    let upstream = Upstream::start();
    let data = temp_dir("gateway").join("data");
    let server = Server::start(&data, &["--upstream", &upstream.url]);
    let (key, id) = create_key(&data, "alice", &["read", "write"]);
    let http = client();

    // Refused: no credential, a wrong key. The upstream sees nothing.
    let r = get(&http, server.at("/orders/1"), None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&r, "www-authenticate").starts_with("Bearer"));
    let mut wrong = key.clone();
    wrong.replace_range(10..11, if &key[10..11] == "a" { "b" } else { "a" });
    let r = get(&http, server.at("/orders/1"), Some(&wrong)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        upstream.seen().await.is_empty(),
        "a refused request reached the upstream"
    );

    // Passed: the upstream's answer, its identity headers, no credential, no claimed identity.
    let r = http
        .post(server.at("/orders/1?x=1"))
        .header("authorization", format!("Bearer {key}"))
        .header("x-auth-subject", "root")
        .header("x-forwarded-for", "203.0.113.9")
        .body(vec![b'z'; 1 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(header(&r, "ratelimit").contains("r="), "{:?}", r.headers());
    let echoed: Value = r.json().await.unwrap();
    let seen = upstream.seen().await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0], echoed);
    let h = &seen[0]["headers"];
    assert_eq!(seen[0]["path"], "/orders/1?x=1");
    assert_eq!(
        seen[0]["body_bytes"],
        1 << 20,
        "the body was streamed whole"
    );
    assert_eq!(h["x-auth-subject"], "alice");
    assert_eq!(h["x-auth-scopes"], "read write");
    assert_eq!(h["x-auth-key-id"], id.as_str(), "{h}");
    assert!(h.get("authorization").is_none(), "the key went on: {h}");
    assert!(
        h.get("x-auth-token").is_none(),
        "upstream_token is off: {h}"
    );
    // Not trusted, the client's own X-Forwarded-For is replaced by its address.
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert!(
        h["forwarded"]
            .as_str()
            .unwrap()
            .starts_with("for=\"127.0.0.1\";proto=http")
    );
    // X-API-Key too, and the upstream's status comes back as it is.
    let r = http
        .get(server.at("/status/418"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::IM_A_TEAPOT);
    let seen = upstream.seen().await;
    assert!(seen[1]["headers"].get("x-api-key").is_none());

    // The gateway's own endpoints stay its own; the example API is off (proxied).
    assert_eq!(get(&http, server.at("/healthz"), None).await.status(), 200);
    let r = get(&http, server.at("/api/whoami"), Some(&key)).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["path"], "/api/whoami", "{body}");

    // The decisions are counted.
    expect_metrics(
        &server,
        &[
            r#"auth_decisions_total{route="/",outcome="allowed"} 3"#,
            r#"auth_decisions_total{route="/",outcome="unauthenticated"} 2"#,
            r#"auth_upstream_responses_total{status="418"} 1"#,
        ],
    )
    .await;
}

#[tokio::test]
async fn an_upstream_down_is_502_and_a_slow_one_504() {
    let upstream = Upstream::start();
    let dir = temp_dir("gateway-faults");
    let config = format!(
        r#"{{"upstream": "{}", "upstream_timeout_secs": 1}}"#,
        upstream.url
    );
    let (server, data) = Server::with_config(&dir, &config);
    let (key, _) = create_key(&data, "alice", &["read"]);
    let http = client();
    let r = get(&http, server.at("/slow/0"), Some(&key)).await;
    assert_eq!(r.status(), StatusCode::OK, "the positive twin");
    let r = get(&http, server.at("/slow/3"), Some(&key)).await;
    assert_eq!(r.status(), StatusCode::GATEWAY_TIMEOUT);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("in time"));
    drop(upstream);
    let r = get(&http, server.at("/orders"), Some(&key)).await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("cannot be reached")
    );
}

#[tokio::test]
async fn forward_auth_answers_traefik_nginx_and_envoy() {
    let data = temp_dir("forward-auth").join("data");
    let server = Server::start(&data, &[]);
    let (key, _) = create_key(&data, "alice", &["read"]);
    let http = client();
    let ask = |path: &str, headers: &[(&str, &str)]| {
        let mut r = http.get(server.at(path));
        for (n, v) in headers {
            r = r.header(*n, *v);
        }
        r.send()
    };
    let bearer = format!("Bearer {key}");
    let traefik = [
        ("x-forwarded-method", "GET"),
        ("x-forwarded-uri", "/orders/1"),
        ("x-forwarded-host", "shop.example"),
    ];
    let nginx = [("x-original-uri", "/orders/1")];
    for (who, path, described) in [
        ("traefik", "/auth/verify", &traefik[..]),
        ("nginx", "/auth/verify", &nginx[..]),
        ("envoy", "/auth/envoy/orders/1", &[][..]),
    ] {
        let mut with_key = described.to_vec();
        with_key.push(("authorization", &bearer));
        let r = ask(path, &with_key).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{who}");
        assert_eq!(header(&r, "x-auth-subject"), "alice", "{who}");
        assert_eq!(header(&r, "x-auth-scopes"), "read", "{who}");
        assert!(header(&r, "ratelimit").contains("r="), "{who}");
        let mut wrong = described.to_vec();
        wrong.push(("authorization", "Bearer sk_live_not-a-key"));
        let r = ask(path, &wrong).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{who}");
        assert!(
            header(&r, "www-authenticate").contains("invalid_token"),
            "{who}"
        );
        assert!(r.headers().get("x-auth-subject").is_none(), "{who}");
    }
    // Nothing describes the request: 400, not a decision.
    let r = ask("/auth/verify", &[("authorization", &bearer)])
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    expect_metrics(
        &server,
        &[r#"auth_decisions_total{route="verify",outcome="allowed"} 3"#],
    )
    .await;
}

#[tokio::test]
async fn route_policies_pick_the_longest_prefix_and_deny_what_no_route_allows() {
    let upstream = Upstream::start();
    let dir = temp_dir("gateway-routes");
    // An OpenID provider on loopback whose tokens the /partners route takes.
    let signing = crate::support::write(
        &dir,
        "idp.jwk",
        &crate::support::run(&["jwk", "generate", "--alg", "ES256", "--kid", "idp"])
            .expect(0)
            .stdout,
    );
    let provider = crate::issuer_url::issuer(&signing).await;
    let config = serde_json::json!({
        "upstream": upstream.url,
        "routes": [
            {"prefix": "/open", "public": true},
            {"prefix": "/admin", "scopes": ["admin"], "credentials": ["api_key"]},
            {"prefix": "/orders", "methods": ["GET"], "credentials": ["api_key"],
             "rate_limit": {"requests": 2, "period_secs": 60}, "max_body_bytes": 1000},
            {"prefix": "/partners", "credentials": [{"jwt": {"issuer_url": provider.uri(),
             "audience": "orders-api", "algorithms": ["ES256"]}}]}
        ]
    });
    let (server, data) = Server::with_config(&dir, &config.to_string());
    let (key, _) = create_key(&data, "alice", &["read"]);
    let (admin, _) = create_key(&data, "root", &["admin"]);
    let http = client();
    let status = |r: reqwest::Response| r.status();

    // Public: no credential needed.
    assert_eq!(
        status(get(&http, server.at("/open/x"), None).await),
        StatusCode::OK
    );
    // Scopes: 403 for alice, 200 for the admin key.
    assert_eq!(
        status(get(&http, server.at("/admin/x"), Some(&key)).await),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(get(&http, server.at("/admin/x"), Some(&admin)).await),
        StatusCode::OK
    );
    // The route's own quota: 2 a minute, the third is 429.
    for _ in 0..2 {
        assert_eq!(
            status(get(&http, server.at("/orders/1"), Some(&key)).await),
            StatusCode::OK
        );
    }
    let limited = get(&http, server.at("/orders/1"), Some(&key)).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    // Deny by default: another method on /orders, or a path no route covers.
    let post = http
        .post(server.at("/orders/1"))
        .header("x-api-key", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        status(get(&http, server.at("/elsewhere"), Some(&admin)).await),
        StatusCode::FORBIDDEN
    );
    // An issuer's tokens by discovery on /partners; a key is no credential there.
    let claims =
        serde_json::json!({"iss": provider.uri(), "aud": "orders-api", "sub": "partner-7"});
    let token = crate::support::run(&[
        "jwt",
        "sign",
        "--key",
        &signing,
        "--alg",
        "ES256",
        "--exp-in",
        "600",
        "--claims",
        &claims.to_string(),
    ])
    .expect(0)
    .stdout;
    let r = get(&http, server.at("/partners/x"), Some(token.trim())).await;
    assert_eq!(r.status(), StatusCode::OK);
    let echoed: Value = r.json().await.unwrap();
    assert_eq!(echoed["headers"]["x-auth-subject"], "partner-7");
    assert_eq!(
        status(get(&http, server.at("/partners/x"), Some(&key)).await),
        StatusCode::UNAUTHORIZED
    );
    // A body over the route's limit never goes up.
    let before = upstream.seen().await.len();
    let big = http
        .get(server.at("/orders/2"))
        .header("x-api-key", &admin)
        .body(vec![b'x'; 5000])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(upstream.seen().await.len(), before);
    // The library crates' own counters, through the metrics facade: the discovered JWKS
    // fetch and the limiter's refusal.
    expect_metrics(
        &server,
        &[
            r#"auth_jwks_fetches_total{outcome="ok"} 1"#,
            "auth_ratelimit_rejections_total 1",
            // Decisions by the route that took them; `none` when no route allowed the request.
            r#"auth_decisions_total{route="/admin",outcome="forbidden"} 1"#,
            r#"auth_decisions_total{route="/orders",outcome="rate_limited"} 1"#,
            r#"auth_decisions_total{route="none",outcome="forbidden"} 2"#,
        ],
    )
    .await;
}

#[tokio::test]
async fn with_upstream_token_the_upstream_can_check_that_the_gateway_sent_the_request() {
    let upstream = Upstream::start();
    let dir = temp_dir("gateway-token");
    let config = format!(
        r#"{{"upstream": "{}", "upstream_token": true}}"#,
        upstream.url
    );
    let (server, data) = Server::with_config(&dir, &config);
    let (key, id) = create_key(&data, "alice", &["read"]);
    let r = get(&client(), server.at("/orders"), Some(&key)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let seen = upstream.seen().await;
    let token = seen[0]["headers"]["x-auth-token"]
        .as_str()
        .unwrap()
        .to_owned();
    // What the upstream would do: verify it with the gateway's published keys, for itself.
    let jwks = server.at("/.well-known/jwks.json");
    let verify = |aud: &str| {
        crate::support::run(&[
            "--json",
            "jwt",
            "verify",
            &token,
            "--jwks",
            &jwks,
            "--alg",
            "ES256",
            "--iss",
            &server.url,
            "--aud",
            aud,
        ])
    };
    let ok = verify(&upstream.url).expect(0);
    assert_eq!(ok.json()["claims"]["sub"], "alice");
    assert_eq!(ok.json()["claims"]["client_id"], id.as_str());
    // It is for the upstream only: not a token for the gateway's own audience.
    verify(&server.url).expect(1);
}

#[tokio::test]
async fn sighup_swaps_the_routes_and_a_bad_config_keeps_them() {
    let upstream = Upstream::start();
    let dir = temp_dir("gateway-reload");
    let routes = |public: &str| {
        format!(
            r#"{{"upstream": "{}", "routes": [{{"prefix": "{public}", "public": true}}]}}"#,
            upstream.url
        )
    };
    let (server, _) = Server::with_config(&dir, &routes("/a"));
    // One keep-alive connection throughout: a reload does not drop it.
    let http = reqwest::Client::new();
    let status = |path: &str| {
        let request = http.get(server.at(path)).send();
        async move { request.await.unwrap().status() }
    };
    assert_eq!(status("/a").await, StatusCode::OK);
    assert_eq!(status("/b").await, StatusCode::FORBIDDEN);
    let config = dir.join("config.json");
    std::fs::write(&config, routes("/b")).unwrap();
    server.hang_up();
    let until = |what: &'static str| {
        let logs = server.log.clone();
        async move {
            for _ in 0..500 {
                if std::fs::read_to_string(&logs).unwrap().contains(what) {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            panic!("no {what} in the logs");
        }
    };
    until("config_reloaded").await;
    assert_eq!(status("/b").await, StatusCode::OK);
    assert_eq!(status("/a").await, StatusCode::FORBIDDEN);
    // A config that does not load: logged, and the routes in force stay.
    std::fs::write(&config, "{not json").unwrap();
    server.hang_up();
    until("config_reload_failed").await;
    assert_eq!(status("/b").await, StatusCode::OK);
}
