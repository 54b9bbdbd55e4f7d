//! TLS for the store's connections: which `sslmode` a connection string gets, and the rustls
//! connector that carries it out.
//!
//! The policy, as for outbound HTTP in auth-core ([`Transport`](auth_core::Transport)):
//! encrypted, or loopback. Whatever `sslmode` says, a connection to a host that is not
//! loopback is TLS with the server's certificate chain and name verified, unless plaintext
//! was explicitly allowed; a failed handshake is an error, never a retry in plaintext.
//!
//! | `sslmode` | loopback host | any other host |
//! |---|---|---|
//! | `disable` | plaintext | refused (allowed plaintext: plaintext) |
//! | `prefer` (the default) | plaintext | verified TLS (allowed plaintext: TLS if offered) |
//! | `require`, `verify-ca`, `verify-full` | verified TLS | verified TLS |
//!
//! Verified means against the platform's roots, or the CA certificates given instead, and
//! the host name always: `verify-ca` is as strict as `verify-full`. A Unix socket is never
//! TLS, whatever `sslmode` says (the server offers none there; libpq ignores it too).

use std::sync::Arc;

use auth_apikey::Error;
use auth_core::transport::is_loopback_host;
use auth_core::{CaCertificates, Transport};
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use tokio_postgres::Config;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

/// Parses a connection string, accepting libpq's `sslmode=verify-ca` and
/// `sslmode=verify-full`, which tokio-postgres does not know, as `require`: this crate's
/// `require` verifies the certificate and the host name.
pub(crate) fn parse(url: &str) -> Result<Config, Error> {
    let url = url
        .replace("sslmode=verify-full", "sslmode=require")
        .replace("sslmode=verify-ca", "sslmode=require");
    url.parse::<Config>().map_err(|_| {
        Error::Misconfigured(
            "database URL is not a PostgreSQL connection string (sslmode: disable, prefer, \
             require, verify-ca or verify-full)",
        )
    })
}

/// Sets the `sslmode` the policy gives `config` and returns the connector to use with it.
pub(crate) fn apply(
    config: &mut Config,
    ca_pem: Option<&[u8]>,
    transport: Transport,
) -> Result<MakeRustlsConnect, Error> {
    let mode = effective_mode(config, transport)?;
    config.ssl_mode(mode);
    let roots = match (mode, ca_pem) {
        (SslMode::Disable, None) => RootCertStore::empty(),
        (SslMode::Disable, Some(_)) => {
            return Err(Error::Misconfigured(
                "a CA certificate was given but the connection is plaintext (a loopback host \
                 with sslmode disable or prefer): set sslmode=require",
            ));
        }
        (_, Some(pem)) => private_roots(pem)?,
        (_, None) => platform_roots()?,
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| Error::Misconfigured("TLS: no safe protocol version in aws-lc-rs"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

fn effective_mode(config: &Config, transport: Transport) -> Result<SslMode, Error> {
    if only_unix_sockets(config) {
        // The server never speaks TLS on a Unix socket; libpq ignores sslmode there too.
        return Ok(SslMode::Disable);
    }
    let local = is_local(config);
    Ok(match config.get_ssl_mode() {
        SslMode::Disable if local || transport.allows_plaintext_anywhere() => SslMode::Disable,
        SslMode::Disable => {
            return Err(Error::Misconfigured(
                "sslmode=disable to a host that is not loopback: the password and key digests \
                 would cross the network in plaintext; use sslmode=require, or allow it \
                 explicitly with `danger_allow_plaintext`",
            ));
        }
        SslMode::Prefer if local => SslMode::Disable,
        SslMode::Prefer if transport.allows_plaintext_anywhere() => SslMode::Prefer,
        // `prefer` to a remote host would let anyone on the path downgrade the connection.
        _ => SslMode::Require,
    })
}

/// Whether every host the configuration may connect to is loopback or a Unix socket
/// (`hostaddr`, when given, is where the connection goes).
fn is_local(config: &Config) -> bool {
    let hosts_local = config.get_hosts().iter().all(|host| match host {
        Host::Tcp(name) => is_loopback_host(name),
        #[cfg(unix)]
        Host::Unix(_) => true,
    });
    hosts_local && config.get_hostaddrs().iter().all(|ip| ip.is_loopback())
}

fn only_unix_sockets(config: &Config) -> bool {
    #[cfg(unix)]
    let unix = |host: &Host| matches!(host, Host::Unix(_));
    #[cfg(not(unix))]
    let unix = |_: &Host| false;
    !config.get_hosts().is_empty()
        && config.get_hosts().iter().all(unix)
        && config.get_hostaddrs().is_empty()
}

fn private_roots(pem: &[u8]) -> Result<RootCertStore, Error> {
    let ca = CaCertificates::from_pem(pem).map_err(|e| Error::Misconfigured(e.reason()))?;
    let mut roots = RootCertStore::empty();
    for der in ca.der() {
        roots.add(CertificateDer::from(der.to_vec())).map_err(|_| {
            Error::Misconfigured("CA certificate is not an X.509 certificate rustls can use")
        })?;
    }
    Ok(roots)
}

fn platform_roots() -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    // Unreadable entries are skipped: the store is usable if any root is.
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if roots.is_empty() {
        return Err(Error::Misconfigured(
            "TLS needs trusted CA certificates and the platform has none: give the database \
             server's CA with `ca_certificate_pem`",
        ));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(url: &str, transport: Transport) -> Result<SslMode, Error> {
        effective_mode(&parse(url)?, transport)
    }

    #[test]
    fn plaintext_only_to_loopback_unless_allowed() {
        let (loopback_only, anywhere) = (Transport::default(), Transport::danger_allow_plaintext());
        use SslMode::{Disable, Prefer, Require};
        let cases = [
            ("postgres://u@127.0.0.1/db", loopback_only, Ok(Disable)),
            (
                "postgres://u@localhost/db?sslmode=disable",
                loopback_only,
                Ok(Disable),
            ),
            (
                "postgres://u@[::1]/db?sslmode=require",
                loopback_only,
                Ok(Require),
            ),
            ("host=/run/postgresql user=u", loopback_only, Ok(Disable)),
            (
                "host=/run/postgresql user=u sslmode=require",
                loopback_only,
                Ok(Disable),
            ),
            ("postgres://u@db.internal/db", loopback_only, Ok(Require)),
            ("postgres://u@db.internal/db", anywhere, Ok(Prefer)),
            (
                "postgres://u@db.internal/db?sslmode=disable",
                loopback_only,
                Err(()),
            ),
            (
                "postgres://u@db.internal/db?sslmode=disable",
                anywhere,
                Ok(Disable),
            ),
            (
                "postgres://u@db.internal/db?sslmode=verify-full",
                anywhere,
                Ok(Require),
            ),
            (
                "postgres://u@db.internal/db?sslmode=verify-ca",
                loopback_only,
                Ok(Require),
            ),
            // The name is loopback but the connection goes elsewhere.
            (
                "host=localhost hostaddr=10.0.0.5 user=u",
                loopback_only,
                Ok(Require),
            ),
            (
                "host=localhost,db.internal user=u",
                loopback_only,
                Ok(Require),
            ),
        ];
        for (url, plaintext, expected) in cases {
            let got = mode(url, plaintext).map_err(|_| ());
            assert_eq!(got, expected, "{url} {plaintext:?}");
        }
    }

    fn refused(config: &mut Config, pem: &[u8]) -> String {
        match apply(config, Some(pem), Transport::default()) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_ca_must_be_pem_and_used() {
        let mut config = parse("postgres://u@db.internal/db").unwrap();
        let err = refused(&mut config, b"nothing");
        assert!(err.contains("no CERTIFICATE block"), "{err}");
        let garbled = b"-----BEGIN CERTIFICATE-----\n!!\n";
        let err = refused(&mut config, garbled);
        assert!(err.contains("not valid PEM"), "{err}");
        let mut local = parse("postgres://u@127.0.0.1/db").unwrap();
        let pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = refused(&mut local, pem);
        assert!(err.contains("set sslmode=require"), "{err}");
    }
}
