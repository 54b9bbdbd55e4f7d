//! TLS to the shared PostgreSQL of `.ci/services` (`ssl=on`, a certificate for 127.0.0.1
//! signed by a throwaway CA): `sslmode=require` encrypts every connection of the store, and
//! a certificate the client cannot verify is refused, never bypassed.
//!
//! The server is at `AUTH_RS_DATABASE_TLS_URL` (default the shared one with
//! `sslmode=require`); the CA is `ca.pem` in `AUTH_RS_TLS_DIR` (default
//! `$AUTH_RS_PEERS_DIR/tls`), next to `other-ca.pem`, a CA that signed nothing.

use std::time::Duration;

use auth_apikey::{ApiKeys, Error, KeyFormat, NewKey};
use auth_apikey_postgres::PgStore;

use super::tls_files::{chain, tls_file};
use super::{schema, url};

fn tls_url() -> String {
    std::env::var("AUTH_RS_DATABASE_TLS_URL").unwrap_or_else(|_| {
        "postgres://auth_rs:auth_rs@127.0.0.1:5433/auth_rs?sslmode=require".into()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_require_verifies_keys_over_tls_on_every_connection() {
    let schema = schema(&url(), "tls").await;
    let store = PgStore::builder(&tls_url())
        .unwrap()
        .schema(&schema)
        .ca_certificate_pem(tls_file("ca.pem"))
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap();
    // The listener's connection is among those checked below: wait until it is up.
    let mut sync = store.sync_state();
    tokio::time::timeout(Duration::from_secs(20), sync.wait_for(|s| s.listening))
        .await
        .expect("the listener never connected")
        .unwrap();
    let keys = ApiKeys::new(KeyFormat::new("sk_tls").unwrap(), store);
    let issued = keys.create(NewKey::new("acme", "tls")).await.unwrap();
    assert!(keys.check(issued.expose_key()).await.unwrap().is_valid());

    // The server's view: the store's connections (reader, writer, listener) are all TLS.
    let (admin, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let rows = admin
        .query(
            "SELECT a.application_name, s.ssl FROM pg_stat_activity a \
             JOIN pg_stat_ssl s USING (pid) WHERE a.application_name LIKE $1",
            &[&format!("auth-apikey %{schema}")],
        )
        .await
        .unwrap();
    let seen: Vec<(String, bool)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert!(seen.len() >= 2, "{seen:?}");
    assert!(seen.iter().all(|(_, ssl)| *ssl), "{seen:?}");
    assert!(
        seen.iter().any(|(name, _)| name.contains("listener")),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_server_certificate_is_refused_never_bypassed() {
    // A CA that did not sign the server's certificate, then the platform's roots (which do
    // not hold the throwaway CA): both refuse the server; nothing retries in plaintext.
    let wrong = PgStore::builder(&tls_url())
        .unwrap()
        .ca_certificate_pem(tls_file("other-ca.pem"));
    let platform = PgStore::builder(&tls_url()).unwrap();
    for (builder, with_ca) in [(wrong, true), (platform, false)] {
        let err = builder
            .schema("it_tls_refused")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .unwrap_err();
        let text = chain(&err);
        if !with_ca && text.contains("the platform has none") {
            // A machine without a CA bundle: refused before connecting, and saying why.
            assert!(matches!(err, Error::Misconfigured(_)), "{text}");
            continue;
        }
        assert!(matches!(err, Error::Store { .. }), "{text}");
        assert!(
            text.contains("TLS") && text.contains("UnknownIssuer"),
            "{text}"
        );
        assert!(!text.contains("auth_rs:auth_rs"), "{text}");
        assert_eq!(auth_core::Error::from(err).status(), 503);
    }
}

#[tokio::test]
async fn plaintext_to_a_remote_host_is_refused_before_connecting() {
    // 192.0.2.0/24 is TEST-NET-1: nothing answers there, so only a refusal made before
    // connecting returns at once, with Misconfigured.
    let remote = "postgres://auth_rs:hunter2@192.0.2.1:5432/db?sslmode=disable";
    let err = PgStore::builder(remote)
        .unwrap()
        .connect_timeout(Duration::from_secs(30))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Misconfigured(_)), "{err:?}");
    assert!(err.to_string().contains("danger_allow_plaintext"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}
