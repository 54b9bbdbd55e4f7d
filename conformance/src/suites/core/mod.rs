//! auth-core: credentials, challenges, decisions and responses, secrets, transport policy.
//!
//! Cases by subject: `requests`, `composition`, `fields`, `properties`; the helpers they
//! share are here.

mod composition;
mod fields;
mod properties;
mod requests;

use auth_core::{
    Authenticate, CredentialKind, Error, Guard, Principal, Scopes, TokenAuthenticator, TokenVerdict,
};
use http::header::{HeaderName, HeaderValue, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{Response, StatusCode};

use crate::harness::{CheckResult, Suite, block_on, ensure_eq};

const GOOD: &str = "mF_9.B5f-4.1JqM";

/// A verifier that knows one token, granting `read`.
fn verifier(token: &str) -> Result<TokenVerdict, Error> {
    Ok(if token == GOOD {
        TokenVerdict::Valid(
            Principal::new("alice", CredentialKind::Jwt)
                .with_scopes(Scopes::from_space_separated("read")),
        )
    } else if token == "down" {
        return Err(Error::unavailable(
            "JWKS https://idp.example/jwks",
            "connection refused",
        ));
    } else if token == "misconfigured" {
        return Err(Error::Misconfigured("no keys configured".into()));
    } else {
        TokenVerdict::Invalid(format!("unknown token of {} bytes", token.len()).into())
    })
}

type Verify = fn(&str) -> Result<TokenVerdict, Error>;

fn bearer() -> TokenAuthenticator<Verify> {
    TokenAuthenticator::bearer("example", verifier as Verify)
}

fn head(headers: &[(&str, &[u8])], uri: &str) -> Parts {
    let mut parts = http::Request::new(()).into_parts().0;
    parts.uri = uri.parse().unwrap_or_default();
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            parts.headers.append(n, v);
        }
    }
    parts
}

#[allow(clippy::result_large_err)] // test helper: the response is the point
fn respond<A: Authenticate>(
    guard: &Guard<A>,
    parts: &Parts,
) -> Result<Option<Principal>, Response<String>> {
    block_on(guard.decide(parts)).map_err(|d| d.to_response())
}

fn www_authenticate(r: &Response<String>) -> Vec<String> {
    r.headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

fn expect_denied(
    got: Result<Option<Principal>, Response<String>>,
    status: StatusCode,
    challenge: &str,
) -> CheckResult {
    let response = got.err().ok_or("request was let through")?;
    ensure_eq("status", response.status(), status)?;
    ensure_eq(
        "WWW-Authenticate",
        www_authenticate(&response),
        vec![challenge.to_owned()],
    )
}

/// The auth-core suite.
pub fn suite() -> Suite {
    let mut s = Suite::new("auth-core");
    requests::add(&mut s);
    composition::add(&mut s);
    fields::add(&mut s);
    properties::add(&mut s);
    s
}
