//! The Python tutorial's client against `auth serve`: `requests` with an API key,
//! `requests-oauthlib` client credentials, PyJWT against the JWKS, a 429 honoured. The
//! peers are installed by `bash .ci/services` (conformance/peers/requirements.txt).

use std::path::PathBuf;
use std::process::Command;

use crate::server::{Server, create_key};
use crate::support::temp_dir;

fn python() -> PathBuf {
    let peers = std::env::var_os("AUTH_RS_PEERS_DIR").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/auth-rs/peers"),
        PathBuf::from,
    );
    let python = peers.join("venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `bash .ci/services` to install the Python peers",
        python.display()
    );
    python
}

#[test]
fn python_tutorial_client() {
    let dir = temp_dir("python");
    // One request a second, bursts of four: the fifth request in a row is refused for 1 s.
    let (server, data) =
        Server::with_config(&dir, r#"{"rate_limit": {"requests": 4, "period_secs": 4}}"#);
    let (key, id) = create_key(&data, "alice", &["read"]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/python_client.py");
    let out = Command::new(python())
        .arg(script)
        .env("AUTH_URL", &server.url)
        .env("AUTH_API_KEY", &key)
        .env("AUTH_CLIENT_ID", &id)
        // requests-oauthlib refuses http:// unless told; this is loopback.
        .env("OAUTHLIB_INSECURE_TRANSPORT", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python client failed\nstdout: {stdout}\nstderr: {}\nserver log: {}",
        String::from_utf8_lossy(&out.stderr),
        server.logs()
    );
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["ok"], true);
    assert_eq!(result["retry_after"], 1);
}
