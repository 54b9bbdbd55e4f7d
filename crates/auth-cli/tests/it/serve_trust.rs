//! `auth serve` as a security reviewer tries it: junk that cannot exhaust anyone else's
//! budget, client addresses taken from trusted proxies only, revocation that ends a key's
//! tokens, introspection that takes no use, and logs that hold no credential.

use serde_json::Value;

use crate::http::{access_token, client, client_credentials, token_json};
use crate::server::{Server, create_key, create_key_with};
use crate::support::{run, temp_dir, write};

/// `POST /oauth/introspect` of `token` by the client `id`/`key`.
async fn introspect(
    http: &reqwest::Client,
    server: &Server,
    id: &str,
    key: &str,
    token: &str,
) -> Value {
    http.post(server.at("/oauth/introspect"))
        .basic_auth(id, Some(key))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A GET of `/api/whoami` with `bearer`, and `X-Forwarded-For: xff` if given: the status.
async fn whoami(http: &reqwest::Client, server: &Server, bearer: &str, xff: Option<&str>) -> u16 {
    let mut request = http.get(server.at("/api/whoami")).bearer_auth(bearer);
    if let Some(xff) = xff {
        request = request.header("x-forwarded-for", xff);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn junk_from_an_address_never_locks_out_a_valid_client() {
    let (server, _data) = Server::with_config(
        &temp_dir("serve-budgets"),
        r#"{"rate_limit": {"requests": 3, "period_secs": 60},
            "failure_rate_limit": {"requests": 3, "period_secs": 60}}"#,
    );
    let (key, id) = (
        server.admin_key.clone().unwrap(),
        server.admin_id.clone().unwrap(),
    );
    let http = client();
    // Junk on the API from this address: its failure budget, then 429.
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(whoami(&http, &server, "junk-token", None).await);
    }
    assert_eq!(seen, [401, 401, 401, 429, 429]);
    // A valid client at the same address is served: on the API and at the token endpoint.
    assert_eq!(whoami(&http, &server, &key, None).await, 200);
    assert_eq!(
        client_credentials(&http, &server, &id, &key).await.status(),
        200
    );
    // The token endpoint's failures are a budget of their own: 401 until it is spent.
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(
            client_credentials(&http, &server, &id, "wrong")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(seen, [401, 401, 401, 429]);
    // And still the valid client gets its token, and introspects.
    assert_eq!(
        client_credentials(&http, &server, &id, &key).await.status(),
        200
    );
    let v = introspect(&http, &server, &id, &key, "anything").await;
    assert_eq!(v["active"], false);
}

#[tokio::test]
async fn client_addresses_come_from_trusted_proxies_only() {
    let dir = temp_dir("serve-proxies");
    let limits = r#""failure_rate_limit": {"requests": 2, "period_secs": 60}"#;
    let config = format!(r#"{{"trusted_proxies": ["127.0.0.1"], {limits}}}"#);
    let (server, _) = Server::with_config(&dir, &config);
    let http = client();
    let junk = |xff: &'static str| whoami(&http, &server, "junk", Some(xff));
    assert_eq!(junk("203.0.113.1").await, 401);
    assert_eq!(junk("203.0.113.1").await, 401);
    assert_eq!(junk("203.0.113.1").await, 429);
    // Another client behind the same proxy has its own budget.
    assert_eq!(junk("203.0.113.2").await, 401);
    // Walked from the right: a client that writes a spent address first is still itself.
    assert_eq!(junk("203.0.113.1, 198.51.100.9").await, 401);
    // IPv6 clients are keyed by their /64.
    assert_eq!(junk("2001:db8::1").await, 401);
    assert_eq!(junk("2001:db8::2").await, 401);
    assert_eq!(junk("2001:db8::3").await, 429);
    assert_eq!(junk("2001:db8:0:1::1").await, 401);

    // Without trusted proxies the peer is the client, whatever X-Forwarded-For says.
    let plain_dir = temp_dir("serve-no-proxies");
    let (plain, _) = Server::with_config(&plain_dir, &format!("{{{limits}}}"));
    let junk = |xff: &'static str| whoami(&http, &plain, "junk", Some(xff));
    assert_eq!(junk("203.0.113.1").await, 401);
    assert_eq!(junk("203.0.113.2").await, 401);
    assert_eq!(junk("203.0.113.3").await, 429);
}

#[tokio::test]
async fn revoking_or_rotating_a_key_ends_its_tokens() {
    let data = temp_dir("serve-revoke").join("data");
    let server = Server::start(&data, &[]);
    let (admin, admin_id) = (
        server.admin_key.clone().unwrap(),
        server.admin_id.clone().unwrap(),
    );
    let http = client();
    let (bob, bob_id) = create_key(&data, "bob", &[]);
    let (carol, carol_id) = create_key(&data, "carol", &[]);
    let bob_token = access_token(&http, &server, &bob_id, &bob).await;
    let carol_token = access_token(&http, &server, &carol_id, &carol).await;
    assert_eq!(whoami(&http, &server, &bob_token, None).await, 200);
    assert_eq!(
        introspect(&http, &server, &admin_id, &admin, &bob_token).await["active"],
        true
    );

    let dir = data.to_str().unwrap();
    let v = run(&["--json", "apikey", "revoke", &bob_id, "--data", dir])
        .expect(0)
        .json();
    assert_eq!(v["revoked"], bob_id.as_str());
    assert_eq!(whoami(&http, &server, &bob_token, None).await, 401);
    assert_eq!(whoami(&http, &server, &bob, None).await, 401);
    assert_eq!(
        introspect(&http, &server, &admin_id, &admin, &bob_token).await["active"],
        false
    );
    // The positive twin: another key's token is untouched.
    assert_eq!(whoami(&http, &server, &carol_token, None).await, 200);

    // Rotation with no overlap: the successor works, the old key and its tokens do not.
    let v = run(&["--json", "apikey", "rotate", &carol_id, "--data", dir])
        .expect(0)
        .json();
    let (successor, successor_id) = (v["key"].as_str().unwrap(), v["id"].as_str().unwrap());
    assert_eq!(v["replaces"]["id"], carol_id.as_str());
    assert_eq!(whoami(&http, &server, &carol, None).await, 401);
    assert_eq!(whoami(&http, &server, &carol_token, None).await, 401);
    assert_eq!(whoami(&http, &server, successor, None).await, 200);
    let fresh = token_json(&http, &server, successor_id, successor).await;
    assert_eq!(
        whoami(
            &http,
            &server,
            fresh["access_token"].as_str().unwrap(),
            None
        )
        .await,
        200
    );

    // Keys are named by id, never by the key; an unknown id is a usage error.
    run(&["apikey", "revoke", &carol, "--data", dir]).expect(2);
    run(&["apikey", "revoke", "AAAAAAAA", "--data", dir]).expect(2);
    run(&["apikey", "rotate", &bob_id, "--data", dir]).expect(2);
}

#[tokio::test]
async fn introspecting_a_key_takes_none_of_its_uses() {
    let data = temp_dir("serve-uses").join("data");
    let server = Server::start(&data, &[]);
    let (admin, admin_id) = (
        server.admin_key.clone().unwrap(),
        server.admin_id.clone().unwrap(),
    );
    let (key, _) = create_key_with(&data, "dana", &[], &["--max-uses", "2"]);
    let http = client();
    for _ in 0..3 {
        assert_eq!(
            introspect(&http, &server, &admin_id, &admin, &key).await["active"],
            true
        );
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(whoami(&http, &server, &key, None).await);
    }
    assert_eq!(seen, [200, 200, 401]);
    assert_eq!(
        introspect(&http, &server, &admin_id, &admin, &key).await["active"],
        false
    );
}

/// Every 12-character piece of `secret`: a log line holding any of them holds a credential.
fn pieces(secret: &str) -> Vec<String> {
    let chars: Vec<char> = secret.chars().collect();
    chars.windows(12).map(|w| w.iter().collect()).collect()
}

/// The secret part of a key `ak_live_<8 id chars><secret><checksum>`: all but the id.
fn secret_of(key: &str) -> &str {
    &key["ak_live_".len() + 8..]
}

#[tokio::test]
async fn no_log_line_holds_a_credential() {
    let data = temp_dir("serve-logs").join("data");
    let server = Server::start(&data, &[]);
    let (admin, admin_id) = (
        server.admin_key.clone().unwrap(),
        server.admin_id.clone().unwrap(),
    );
    let (key, id) = create_key(&data, "erin", &["read"]);
    let (other, _) = create_key(&data, "frank", &[]);
    let http = client();
    let last = key.chars().last().unwrap();
    let typo = format!(
        "{}{}",
        &key[..key.len() - 1],
        if last == 'x' { 'y' } else { 'x' }
    );
    let token = access_token(&http, &server, &id, &key).await;
    let tampered = format!("{}A", &token[..token.len() - 1]);
    // Good and bad credentials on every route that takes one.
    for bearer in [&key, &typo, &other, &token, &tampered] {
        whoami(&http, &server, bearer, None).await;
    }
    client_credentials(&http, &server, &id, &other).await;
    client_credentials(&http, &server, &id, &typo).await;
    // A key pasted into both fields of client_secret_post.
    http.post(server.at("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &key),
            ("client_secret", &key),
        ])
        .send()
        .await
        .unwrap();
    for t in [&key, &token, &typo, &tampered] {
        introspect(&http, &server, &admin_id, &admin, t).await;
    }
    run(&["apikey", "revoke", &id, "--data", data.to_str().unwrap()]).expect(0);
    whoami(&http, &server, &key, None).await;
    whoami(&http, &server, &token, None).await;

    let logs = server.stop_and_logs();
    assert!(
        logs.contains("client_refused") && logs.contains("auth_refused"),
        "{logs}"
    );
    let mut secrets: Vec<String> = [&admin, &key, &typo, &other]
        .iter()
        .flat_map(|k| pieces(secret_of(k)))
        .collect();
    for t in [&token, &tampered] {
        secrets.push(t.rsplit('.').next().unwrap().to_owned());
        secrets.push(t.clone());
    }
    for line in logs.lines() {
        for secret in &secrets {
            assert!(!line.contains(secret.as_str()), "a credential in: {line}");
        }
    }
}

/// Runs `auth serve` expecting it to refuse to start: its exit code and standard error. A
/// server that does start is killed after 20 s and fails the test.
fn refused_start(data: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut args = vec![
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data",
        data.to_str().unwrap(),
    ];
    args.extend(extra);
    let mut child = crate::support::spawn(&args, env);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("auth serve started where it must refuse");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test]
async fn a_different_pepper_or_one_others_can_read_refuses_the_start() {
    let dir = temp_dir("serve-pepper");
    let first = dir.join("first");
    let server = Server::start(&first, &[]);
    let (key, _) = create_key(&first, "gina", &[]);
    drop(server);
    // The key database copied beside another pepper: no key of it would verify.
    let second = dir.join("second");
    std::fs::create_dir_all(&second).unwrap();
    for file in ["keys.db", "keys.db-wal"] {
        if first.join(file).exists() {
            std::fs::copy(first.join(file), second.join(file)).unwrap();
        }
    }
    let other_pepper = write(&second, "pepper", &"p".repeat(32));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let private = std::fs::Permissions::from_mode(0o600);
        std::fs::set_permissions(&other_pepper, private).unwrap();
    }
    let (code, stderr) = refused_start(&second, &[], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("pepper differs"), "{stderr}");
    // The same pepper from the environment (as a secret manager mounts it): it starts, and
    // the key made under the first directory's pepper verifies.
    let pepper_file = first.join("pepper");
    let env = [("FLEET_PEPPER_FILE", pepper_file.to_str().unwrap())];
    let server = Server::start_with_env(&second, &["--pepper-env", "FLEET_PEPPER"], &env);
    assert_eq!(whoami(&client(), &server, &key, None).await, 200);
    drop(server);
    // A pepper file others can read refuses the start, saying what to do.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&pepper_file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let (code, stderr) = refused_start(&first, &[], &[]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("chmod 600"), "{stderr}");
        std::fs::set_permissions(&pepper_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let server = Server::start(&first, &[]);
        assert_eq!(whoami(&client(), &server, &key, None).await, 200);
    }
}

/// A PostgreSQL fleet: an instance with another pepper refuses to start; with the fleet's
/// pepper from the environment it joins, and a key revoked through one instance's store
/// ends the key's tokens on the other within the store's bound (at once, by notification).
#[tokio::test]
async fn a_postgres_fleet_agrees_on_its_pepper_and_on_revocations() {
    let url = std::env::var("AUTH_RS_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://auth_rs:auth_rs@127.0.0.1:5433/auth_rs".to_owned());
    let schema = format!("cli_pepper_{}", std::process::id());
    let dir = temp_dir("serve-pg-pepper");
    let shared = write(&dir, "pepper", &"q".repeat(32));
    let db = ["--database-env", "DB_URL", "--database-schema", &schema];
    let env = [("DB_URL", url.as_str()), ("PEPPER_FILE", shared.as_str())];
    let with_pepper: Vec<&str> = db
        .iter()
        .copied()
        .chain(["--pepper-env", "PEPPER"])
        .collect();
    // One issuer for the fleet (the default is each instance's own address).
    let config = write(
        &dir,
        "config.json",
        r#"{"issuer": "https://fleet.example"}"#,
    );
    let mut serve_args = with_pepper.clone();
    serve_args.extend(["--config", &config]);
    // Two instances sharing the signing keys (one data directory) and the pepper.
    let a = Server::start_with_env(&dir.join("a"), &serve_args, &env);
    let b = Server::start_with_env(&dir.join("a"), &serve_args, &env);
    // A third with its own data directory's pepper: refused, and with the fleet's, joins.
    let (code, stderr) = refused_start(&dir.join("c"), &db, &env);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("pepper differs"), "{stderr}");
    let c = Server::start_with_env(&dir.join("c"), &serve_args, &env);
    let (key, _) = {
        let mut args = vec!["--json", "apikey", "create", "--subject", "hal", "--data"];
        let a_dir = dir.join("a");
        args.push(a_dir.to_str().unwrap());
        args.extend(&with_pepper);
        let v = crate::support::run_with(&args, None, &env).expect(0).json();
        (
            v["key"].as_str().unwrap().to_owned(),
            v["id"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(whoami(&client(), &c, &key, None).await, 200);

    let (admin, admin_id) = (a.admin_key.clone().unwrap(), a.admin_id.clone().unwrap());
    let http = client();
    let token = access_token(&http, &a, &admin_id, &admin).await;
    assert_eq!(whoami(&http, &b, &token, None).await, 200);
    let mut revoke = vec!["--json", "apikey", "revoke", &admin_id, "--data"];
    let a_dir = dir.join("a");
    revoke.push(a_dir.to_str().unwrap());
    revoke.extend(&with_pepper);
    crate::support::run_with(&revoke, None, &env).expect(0);
    // Within the bound (30 s by default); the notification makes it far sooner.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(35);
    while whoami(&http, &b, &token, None).await != 401 {
        assert!(
            std::time::Instant::now() < deadline,
            "b still accepts the token"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(whoami(&http, &a, &token, None).await, 401);
}
