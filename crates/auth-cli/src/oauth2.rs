//! `auth pkce` and the OAuth 2.0 client commands.

use serde_json::json;

use crate::output::{Error, Output};

/// `auth pkce`: a fresh code verifier and its S256 challenge (RFC 7636).
pub(crate) fn pkce(out: Output) -> Result<(), Error> {
    let pkce = auth_oauth2::Pkce::random();
    let verifier = pkce
        .verifier()
        .expose_str()
        .map_err(|_| Error::config("verifier is not text"))?
        .to_owned();
    let value = json!({
        "code_verifier": verifier,
        "code_challenge": pkce.challenge(),
        "code_challenge_method": "S256",
    });
    out.result(&value, || {
        format!(
            "code_verifier: {verifier}\ncode_challenge: {}\ncode_challenge_method: S256",
            pkce.challenge()
        )
    });
    Ok(())
}
