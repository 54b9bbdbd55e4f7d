//! `auth serve` in fleets: instances sharing rate limits through Redis (plain and TLS) and
//! API keys through PostgreSQL.

use reqwest::StatusCode;
use serde_json::Value;

use crate::http::{client, get, header};
use crate::serve::assert_retry_after_about_20;
use crate::server::{Server, create_key};
use crate::support::{temp_dir, write};

/// Two instances of `auth serve --redis` sharing one Redis admit exactly the quota between
/// them; with Redis unreachable, an instance answers 503 (fail closed), never unlimited.
/// Two instances started with `args` share one Redis: together they admit a key's quota (3
/// a minute) once, not once each.
async fn fleet_admits_the_quota_once(data: &std::path::Path, args: &[&str], tag: &str) {
    let a = Server::start(data, args);
    let b = Server::start(data, args);
    // Each connected to Redis before it listened, so no request pays the handshake.
    for server in [&a, &b] {
        let logs = server.logs_with("redis_");
        assert!(logs.contains("redis_connected"), "{tag}: {logs}");
    }
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
    // A budget far above the default 250 ms: a debug build shaking hands over TLS beside a
    // parallel test suite can take longer than that, which would be a 503 (fail closed), not
    // what this test is about. The dead and untrusted servers below keep the default.
    let budget = ["--redis-timeout-ms", "10000"];
    let plain = ["--config", &config, "--redis", &redis, budget[0], budget[1]];
    fleet_admits_the_quota_once(&data, &plain, "plain").await;

    // The same over TLS, trusting the services' private CA.
    let rediss = std::env::var("AUTH_RS_REDIS_TLS_URL")
        .unwrap_or_else(|_| "rediss://127.0.0.1:6380".to_owned());
    let ca = String::from_utf8(crate::tls_files::tls_file("ca.pem")).unwrap();
    let ca = write(&dir, "ca.pem", &ca);
    let over_tls = [
        "--config",
        &config,
        "--redis",
        &rediss,
        "--redis-ca",
        &ca,
        budget[0],
        budget[1],
    ];
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
    assert!(u.logs_with("redis_").contains("redis_unavailable"));

    // Nothing listens on this port (bound, not listening, held until the test ends): the
    // limiter fails closed.
    let held = tokio::net::TcpSocket::new_v4().unwrap();
    held.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = held.local_addr().unwrap().port();
    // The start logs that Redis did not answer, naming the server without its password,
    // and serves anyway (503 on the API until Redis answers).
    let dead = format!("redis://:hunter2@127.0.0.1:{port}");
    let c = Server::start(&data, &["--config", &config, "--redis", &dead]);
    let r = get(&client(), c.at("/api/whoami"), Some(&key)).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().get("www-authenticate").is_none());
    let logs = c.logs_with("redis_");
    assert!(
        logs.contains("redis_unavailable") && logs.contains(&port.to_string()),
        "{logs}"
    );
    assert!(
        !logs.contains("redis_connected") && !logs.contains("hunter2"),
        "{logs}"
    );
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
