//! DPoP (RFC 9449): access tokens bound to a key the client holds, so that a stolen token is
//! useless without that key.
//!
//! - The client side: [`DpopKey`] makes a proof for each request (`typ: dpop+jwt`, the public
//!   `jwk` in the header, a random `jti`, `htm`, `htu` without query and fragment, `iat`, and
//!   `ath` and `nonce` when they apply).
//! - The server side: [`ProofVerifier`] checks a proof against the request and the token
//!   (signature by the header's public key, `typ`, the algorithm allow-list, `htm`, `htu`
//!   normalised, `iat` within a window, `jti` unseen within it through a [`ReplayCache`],
//!   `ath`, and optionally a server [`Nonces`] value); [`DpopAuthenticator`] reads
//!   `Authorization: DPoP` and the `DPoP` header, verifies the token with any
//!   [`auth_core::VerifyToken`] and requires the token's `cnf.jkt` to be the proof key's
//!   thumbprint. A DPoP-bound token sent as `Bearer` is refused by
//!   [`auth_core::TokenAuthenticator`] itself.

mod authenticator;
mod key;
mod nonce;
mod proof;
mod replay;
#[cfg(test)]
mod tests;

pub use auth_core::{BoxReplayCache, DynReplayCache, ReplayCache};
pub use authenticator::{DpopAuthenticator, DpopTarget};
pub use key::DpopKey;
pub use nonce::Nonces;
pub use proof::{DpopError, Proof, ProofVerifier};
pub use replay::MemoryReplayCache;

/// The `typ` of a DPoP proof.
pub const PROOF_TYPE: &str = "dpop+jwt";

/// The request header that carries a proof, and the one a server sends its nonce in.
pub const DPOP_HEADER: &str = "dpop";
/// The response header with the server's current nonce.
pub const NONCE_HEADER: &str = "dpop-nonce";

/// `ath`: the base64url SHA-256 of an access token.
pub fn access_token_hash(access_token: &str) -> String {
    crate::jws::b64_encode(&crate::backend::sha256_of(&[access_token.as_bytes()]))
}

/// `htu` as RFC 9449 §4.3 compares it: scheme and host in lower case, no default port, an
/// empty path as `/`, without query and fragment (RFC 3986 §6.2.2 and §6.2.3). `None` when
/// `url` is not an absolute `http` or `https` URL.
pub fn normalize_htu(url: &str) -> Option<String> {
    let url = url.split(['?', '#']).next()?;
    let uri: http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let authority = uri.authority()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let host = authority.host().to_ascii_lowercase();
    let path = match uri.path() {
        "" => "/",
        p => p,
    };
    Some(match authority.port_u16() {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}{path}"),
        _ => format!("{scheme}://{host}{path}"),
    })
}

/// 16 random bytes from the operating system, base64url: a `jti`.
fn random_id() -> Result<String, crate::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| crate::Error::Signing(Box::new(e)))?;
    Ok(crate::jws::b64_encode(&bytes))
}
