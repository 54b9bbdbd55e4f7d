//! For integration tests: the throwaway CA that `.ci/services` generates for the TLS tests,
//! and an error's whole chain for checking that a refusal names its cause. Included with
//! `#[path = "../../../.ci/tls_files.rs"] mod tls_files;` by the crates that test TLS.
//!
//! The files are in `AUTH_RS_TLS_DIR` (default `$AUTH_RS_PEERS_DIR/tls`, itself by default
//! `$HOME/.cache/auth-rs/peers/tls`): `ca.pem`, which signed the servers' certificate, and
//! `other-ca.pem`, a CA that signed nothing.

use std::path::PathBuf;

/// The contents of `name` in the test CA directory.
pub(crate) fn tls_file(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("AUTH_RS_TLS_DIR").map_or_else(
        || {
            let peers = std::env::var_os("AUTH_RS_PEERS_DIR").map_or_else(
                || {
                    PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                        .join(".cache/auth-rs/peers")
                },
                PathBuf::from,
            );
            peers.join("tls")
        },
        PathBuf::from,
    );
    let path = dir.join(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{} (run `bash .ci/services`): {e}", path.display()))
}

/// The error and its sources, joined by `": "`.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
