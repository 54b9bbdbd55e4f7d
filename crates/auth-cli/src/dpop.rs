//! `auth dpop proof`: a DPoP proof (RFC 9449) for one request, signed by a private key file,
//! for curl and scripts: `curl -H "Authorization: DPoP $T" -H "DPoP: $(auth dpop proof ...)"`.

use std::path::Path;

use auth_jwt::Algorithm;
use auth_jwt::dpop::DpopKey;
use serde_json::json;

use crate::keys::KeyFile;
use crate::output::{Error, Output, read_file};

/// The arguments of `auth dpop proof`.
#[derive(Debug, clap::Args)]
pub(crate) struct ProofArgs {
    /// The private key: a JWK (`auth jwk generate --alg ES256`) or a PEM.
    #[arg(long, value_name = "FILE")]
    key: std::path::PathBuf,
    /// The request's method.
    #[arg(long, default_value = "GET")]
    method: String,
    /// The request's URL (its query and fragment are left out of the proof).
    #[arg(long)]
    url: String,
    /// The access token the request carries (adds its hash, `ath`), from this environment
    /// variable: a token on the command line would show in `ps`.
    #[arg(long, value_name = "VAR")]
    token_env: Option<String>,
    /// The server's nonce (from its `DPoP-Nonce` header).
    #[arg(long)]
    nonce: Option<String>,
    /// For a PEM key: its algorithm (default ES256).
    #[arg(long, value_parser = crate::parse_alg)]
    alg: Option<Algorithm>,
}

/// Loads a DPoP key from `path`: a private JWK or PEM, asymmetric.
pub(crate) fn load_key(path: &Path, alg: Option<Algorithm>) -> Result<DpopKey, Error> {
    let file = KeyFile::parse(read_file(path)?, &path.display().to_string())?;
    let algs = [alg.unwrap_or(Algorithm::ES256)];
    let key = match &file {
        KeyFile::Pem(_) => file.signing_key(&algs)?,
        _ => file.signing_key(&[])?,
    };
    DpopKey::from_signing_key(key).map_err(Error::config)
}

/// `auth dpop proof`: prints the proof (with `--json`, the proof and the key's thumbprint).
pub(crate) fn proof(args: &ProofArgs, out: Output) -> Result<(), Error> {
    let key = load_key(&args.key, args.alg)?;
    let method = http::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| Error::config(format!("not an HTTP method: {}", args.method)))?;
    if auth_jwt::dpop::normalize_htu(&args.url).is_none() {
        return Err(Error::config(format!(
            "--url must be an absolute http(s) URL: {}",
            args.url
        )));
    }
    let token =
        match &args.token_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                Error::config(format!("--token-env {var}: the variable is not set"))
            })?),
            None => None,
        };
    let proof = key
        .proof(&method, &args.url, token.as_deref(), args.nonce.as_deref())
        .map_err(Error::config)?;
    out.result(&json!({"proof": proof, "jkt": key.thumbprint()}), || {
        proof.clone()
    });
    Ok(())
}
