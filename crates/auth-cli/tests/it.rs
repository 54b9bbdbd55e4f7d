//! The `auth` binary end to end: commands, output and exit codes as a script sees them, and
//! `auth serve` on loopback with real HTTP clients (Rust and Python).
#![allow(clippy::unwrap_used)]

#[path = "it/commands.rs"]
mod commands;
#[path = "it/http.rs"]
mod http;
#[path = "it/input.rs"]
mod input;
#[path = "it/issuer_url.rs"]
mod issuer_url;
#[path = "it/jwk.rs"]
mod jwk;
#[path = "it/login.rs"]
mod login;
#[path = "it/oauth2_grants.rs"]
mod oauth2_grants;
#[path = "it/python.rs"]
mod python;
#[path = "it/readme.rs"]
mod readme;
#[path = "it/remote_keys.rs"]
mod remote_keys;
#[path = "it/serve.rs"]
mod serve;
#[path = "it/serve_dpop.rs"]
mod serve_dpop;
#[path = "it/serve_faults.rs"]
mod serve_faults;
#[path = "it/serve_fleet.rs"]
mod serve_fleet;
#[path = "it/serve_gateway.rs"]
mod serve_gateway;
#[path = "it/serve_key_rate.rs"]
mod serve_key_rate;
#[path = "it/serve_metrics.rs"]
mod serve_metrics;
#[path = "it/serve_mtls.rs"]
mod serve_mtls;
#[path = "it/serve_nginx.rs"]
mod serve_nginx;
#[path = "it/serve_tls.rs"]
mod serve_tls;
#[path = "it/serve_token.rs"]
mod serve_token;
#[path = "it/serve_trust.rs"]
mod serve_trust;
#[path = "it/server.rs"]
mod server;
#[path = "it/shell.rs"]
mod shell;
#[path = "it/sign.rs"]
mod sign;
#[path = "it/support.rs"]
mod support;
// Shared with the store crates' TLS tests, which also use its error-chain helper.
#[allow(dead_code)]
#[path = "../../../.ci/tls_files.rs"]
mod tls_files;
