//! The services some cases need (Redis, PostgreSQL, the Node and Python peers that
//! `.ci/services` installs), and whether each is there. A case whose service is missing is
//! skipped with the reason, and the run stays green, unless `AUTH_RS_REQUIRE_SERVICES=1`
//! (set by `.ci/run`): then a skip is a failure, so that CI cannot pass on cases that did
//! not run.

use std::net::{TcpStream, ToSocketAddrs as _};
use std::path::PathBuf;
use std::time::Duration;

/// A service outside the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Service {
    /// Redis at `AUTH_RS_REDIS_URL` (default `redis://127.0.0.1:6379`).
    Redis,
    /// PostgreSQL at `AUTH_RS_DATABASE_URL` (default on 127.0.0.1:5433).
    Postgres,
    /// Node.js with the npm peers (`jose`, `oidc-provider`) in the peers directory.
    Node,
    /// The Python virtualenv with the peers (PyJWT) in the peers directory.
    Python,
}

impl Service {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Redis => "redis",
            Self::Postgres => "postgres",
            Self::Node => "node peers",
            Self::Python => "python peers",
        }
    }

    /// `Ok` if the service answers; otherwise why not.
    ///
    /// # Errors
    ///
    /// What is missing, and where it was looked for.
    pub fn probe(self) -> Result<(), String> {
        match self {
            Self::Redis => reachable(&url_or("AUTH_RS_REDIS_URL", "redis://127.0.0.1:6379")),
            Self::Postgres => reachable(&url_or(
                "AUTH_RS_DATABASE_URL",
                "postgres://auth_rs:auth_rs@127.0.0.1:5433/auth_rs",
            )),
            Self::Node => {
                let modules = peers_dir().join("node/node_modules");
                if !modules.is_dir() {
                    return Err(format!("no {}", modules.display()));
                }
                let runs = std::process::Command::new("node")
                    .arg("--version")
                    .output()
                    .is_ok_and(|o| o.status.success());
                if runs {
                    Ok(())
                } else {
                    Err("node does not run".into())
                }
            }
            Self::Python => {
                let python = peers_dir().join("venv/bin/python");
                if python.is_file() {
                    Ok(())
                } else {
                    Err(format!("no {}", python.display()))
                }
            }
        }
    }
}

/// Whether a missing service fails the run (`AUTH_RS_REQUIRE_SERVICES=1`, as in CI).
pub fn required() -> bool {
    std::env::var("AUTH_RS_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// Where `.ci/services` installs the interop peers: `AUTH_RS_PEERS_DIR`, or
/// `$HOME/.cache/auth-rs/peers`.
pub fn peers_dir() -> PathBuf {
    std::env::var_os("AUTH_RS_PEERS_DIR").map_or_else(
        || {
            std::env::var_os("HOME")
                .map_or_else(|| PathBuf::from("."), PathBuf::from)
                .join(".cache/auth-rs/peers")
        },
        PathBuf::from,
    )
}

fn url_or(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// Whether something accepts TCP connections at the URL's host and port.
fn reachable(url: &str) -> Result<(), String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let addr = host_port
        .to_socket_addrs()
        .map_err(|e| format!("{host_port}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host_port}: no address"))?;
    TcpStream::connect_timeout(&addr, Duration::from_secs(1))
        .map(drop)
        .map_err(|e| format!("nothing answers at {host_port}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_port_is_reachable_and_a_refused_one_is_not() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = format!("redis://{}", listener.local_addr().unwrap());
        assert!(reachable(&open).is_ok());
        // Bound but not listening: connections are refused, and the port stays ours.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = socket.local_addr().unwrap().port();
        let refused = reachable(&format!("postgres://u:p@127.0.0.1:{port}/db"));
        assert!(refused.unwrap_err().contains("nothing answers"));
    }
}
