//! Endpoint URLs as configured: parsed, without a fragment, and allowed by the transport
//! policy (HTTPS, or plain HTTP to loopback).

use auth_core::Transport;

use crate::error::Error;

/// Parses and checks an endpoint URL against the transport policy.
pub(crate) fn check_endpoint(
    what: &'static str,
    url: &str,
    transport: Transport,
) -> Result<http::Uri, Error> {
    let uri: http::Uri = url
        .parse()
        .map_err(|_| Error::misconfigured(format!("{what} is not a valid url")))?;
    if url.contains('#') {
        return Err(Error::misconfigured(format!("{what} has a fragment")));
    }
    transport
        .check(&uri)
        .map_err(|e| Error::misconfigured(format!("{what}: {e}")))?;
    Ok(uri)
}
