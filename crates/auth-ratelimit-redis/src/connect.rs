//! From a Redis URL to a client: the transport policy (TLS, or plaintext only to loopback
//! unless explicitly allowed), the trusted CA, and a printable form of the URL with no
//! credential in it.
//!
//! TLS is the `redis` crate's rustls support: `rediss://` verifies the server's certificate
//! chain and name against the platform's roots, or against the CA certificates given instead.

use std::borrow::Cow;
use std::fmt;

use auth_core::{CaCertificates, Transport};
use auth_ratelimit::Error;
use redis::{ConnectionAddr, IntoConnectionInfo, TlsCertificates};

/// Opens a client for `url` under the policy, trusting `ca_pem` instead of the platform's
/// roots when given.
pub(crate) fn client(
    url: &str,
    ca_pem: Option<&[u8]>,
    transport: Transport,
) -> Result<redis::Client, Error> {
    check_scheme(url)?;
    let info = url
        .into_connection_info()
        .map_err(|e| invalid(format!("redis URL refused: {}", describe(&e))))?;
    match info.addr() {
        ConnectionAddr::TcpTls { insecure: true, .. } => {
            return Err(invalid(
                "redis URL asks for #insecure (no certificate verification), which this \
                 limiter does not support: trust the server's CA with `ca_certificate_pem`"
                    .into(),
            ));
        }
        ConnectionAddr::TcpTls { .. } => install_crypto_provider(),
        ConnectionAddr::Tcp(host, _) if !transport.allows_plaintext_to(host) => {
            return Err(invalid(
                "plaintext redis:// to a host that is not loopback: use rediss:// (TLS), \
                 or allow it explicitly with `danger_allow_plaintext`"
                    .into(),
            ));
        }
        _ => {}
    }
    let Some(pem) = ca_pem else {
        return redis::Client::open(info)
            .map_err(|e| invalid(format!("redis URL refused: {}", describe(&e))));
    };
    if !matches!(info.addr(), ConnectionAddr::TcpTls { .. }) {
        return Err(invalid(
            "a CA certificate was given but the redis URL does not use TLS (rediss://)".into(),
        ));
    }
    CaCertificates::from_pem(pem).map_err(|e| invalid(e.to_string()))?;
    let certificates = TlsCertificates {
        client_tls: None,
        root_cert: Some(pem.to_vec()),
    };
    redis::Client::build_with_tls(info, certificates)
        .map_err(|e| invalid(format!("CA certificate refused: {}", describe(&e))))
}

/// The schemes the `redis` crate takes; it says only "did not parse" for any other.
const SCHEMES: [&str; 7] = [
    "redis",
    "rediss",
    "valkey",
    "valkeys",
    "unix",
    "redis+unix",
    "valkey+unix",
];

fn check_scheme(url: &str) -> Result<(), Error> {
    match url.split_once("://") {
        Some((scheme, _)) if SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)) => Ok(()),
        // The scheme is printed only when it is one, never a credential.
        Some((scheme, _))
            if scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+') =>
        {
            Err(invalid(format!(
                "redis URL scheme {scheme}:// is not one of rediss:// (TLS), redis:// or unix://"
            )))
        }
        _ => Err(invalid(
            "redis URL does not parse: expected rediss://host:port, redis://host:port or \
             unix:///path"
                .into(),
        )),
    }
}

/// "redis 127.0.0.1:6379" or "rediss 10.0.0.5:6380": names the server in errors and logs.
pub(crate) fn server_name(client: &redis::Client) -> String {
    let addr = client.get_connection_info().addr();
    let scheme = match addr {
        ConnectionAddr::TcpTls { .. } => "rediss",
        _ => "redis",
    };
    format!("{scheme} {addr}")
}

/// The `redis` crate builds its rustls configuration on the process's default crypto
/// provider; if the application chose none, choose aws-lc-rs (the workspace's provider), so
/// a connection never fails, or panics, for want of one.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only if another thread installed one first: that one is used.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

/// The redis error's description and detail, which never repeat the URL.
fn describe(e: &redis::RedisError) -> String {
    let text = e.to_string();
    // "Redis URL did not parse - InvalidClientConfig": the kind's name is noise here.
    let kind = format!(" - {:?}", e.kind());
    text.replacen(&kind, "", 1).to_lowercase()
}

fn invalid(message: String) -> Error {
    Error::Misconfigured(Cow::Owned(message))
}

/// A Redis URL for Debug output: scheme and host, never the user info (which holds the
/// password), the path or the query (Unix socket URLs take `pass=` there).
pub(crate) struct Redacted<'a>(pub(crate) &'a str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return f.write_str("\"<not a URL>\"");
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..end];
        match authority.rsplit_once('@') {
            Some((_, host)) => write!(f, "\"{scheme}://<redacted>@{host}\""),
            // A Unix socket: its path, without the query.
            None if authority.is_empty() => {
                let path = rest.split(['?', '#']).next().unwrap_or_default();
                write!(f, "\"{scheme}://{path}\"")
            }
            None => write!(f, "\"{scheme}://{authority}\""),
        }
    }
}

/// A lazily connecting manager for `url` under the policy: half of `timeout` to (re)connect,
/// half for a reply, no retries (the caller's timeout is the whole budget), and the printable
/// server name. `who` names the caller in the error for a missing Tokio runtime.
pub(crate) fn manager(
    url: &str,
    ca_pem: Option<&[u8]>,
    transport: auth_core::Transport,
    timeout: std::time::Duration,
    who: &str,
) -> Result<(redis::aio::ConnectionManager, String), Error> {
    use redis::aio::{ConnectionManager, ConnectionManagerConfig};
    let client = client(url, ca_pem, transport)?;
    let server = server_name(&client);
    let half = timeout / 2;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(half))
        .set_response_timeout(Some(half))
        .set_number_of_retries(0);
    // The settings are checked first; the runtime is needed from here on.
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(Error::Misconfigured(
            format!("{who} must be called inside a Tokio runtime").into(),
        ));
    }
    let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(|e| {
        Error::Unavailable {
            what: server.clone().into(),
            source: Box::new(e),
        }
    })?;
    Ok((conn, server))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(r: Result<redis::Client, Error>) -> String {
        r.map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn redacted_urls_hold_no_credentials() {
        let cases = [
            (
                "redis://:hunter2@10.0.0.5:6379/0",
                "\"redis://<redacted>@10.0.0.5:6379\"",
            ),
            (
                "rediss://alice:hunter2@cache.internal",
                "\"rediss://<redacted>@cache.internal\"",
            ),
            ("redis://127.0.0.1:6379", "\"redis://127.0.0.1:6379\""),
            (
                "redis+unix:///run/redis.sock?pass=hunter2",
                "\"redis+unix:///run/redis.sock\"",
            ),
            ("hunter2", "\"<not a URL>\""),
        ];
        for (url, shown) in cases {
            assert_eq!(format!("{:?}", Redacted(url)), shown);
        }
    }

    #[test]
    fn plaintext_only_to_loopback_unless_allowed() {
        for url in [
            "redis://127.0.0.1:6379",
            "redis://localhost",
            "redis://[::1]:6379",
        ] {
            assert!(client(url, None, Transport::default()).is_ok(), "{url}");
        }
        let remote = "redis://:hunter2@10.0.0.5:6379";
        let err = message(client(remote, None, Transport::default()));
        assert!(
            err.contains("not loopback") && !err.contains("hunter2"),
            "{err}"
        );
        assert!(client(remote, None, Transport::danger_allow_plaintext()).is_ok());
        assert!(client("rediss://10.0.0.5:6380", None, Transport::default()).is_ok());
    }

    #[test]
    fn refusals_say_why() {
        let err = message(client("http://:hunter2@x", None, Transport::default()));
        assert!(
            err.contains("scheme http://") && !err.contains("hunter2"),
            "{err}"
        );
        let err = message(client("127.0.0.1:6379", None, Transport::default()));
        assert!(err.contains("does not parse: expected rediss://"), "{err}");
        let err = message(client("redis://[::1", None, Transport::default()));
        assert!(err.contains("redis URL refused"), "{err}");
        let insecure = message(client(
            "rediss://h:1/#insecure",
            None,
            Transport::danger_allow_plaintext(),
        ));
        assert!(insecure.contains("#insecure"), "{insecure}");
        let ca = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let plain = message(client(
            "redis://127.0.0.1",
            Some(ca),
            Transport::danger_allow_plaintext(),
        ));
        assert!(plain.contains("does not use TLS"), "{plain}");
        let empty = message(client(
            "rediss://h:1",
            Some(b"nothing"),
            Transport::danger_allow_plaintext(),
        ));
        assert!(empty.contains("no CERTIFICATE block"), "{empty}");
    }
}
