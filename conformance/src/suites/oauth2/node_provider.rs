//! An `oidc-provider` process on loopback, started from one of `conformance/peers/*.mjs` with
//! a mode, ready once it prints `{"issuer": ...}`; killed when dropped. Shared by the DPoP and
//! the OpenID Connect peer suites.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// The provider process; killed (by its handle) when dropped.
pub(super) struct Provider {
    child: Child,
    /// The issuer it announced.
    pub(super) issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `node peers/<script> <node_modules> <mode>` and waits for its issuer.
pub(super) fn start(script: &str, mode: &str) -> Result<Provider, String> {
    let modules = crate::services::peers_dir().join("node/node_modules");
    if !modules.join("oidc-provider").is_dir() {
        return Err(format!(
            "oidc-provider not installed in {} (run .ci/services)",
            modules.display()
        ));
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("peers")
        .join(script);
    let mut child = Command::new("node")
        .arg(script)
        .arg(&modules)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start node: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let ready: Value =
        serde_json::from_str(&line).map_err(|e| format!("provider said {line:?}: {e}"))?;
    let issuer = ready["issuer"].as_str().ok_or("no issuer")?.to_owned();
    Ok(Provider { child, issuer })
}
