//! Shared pieces of the worked examples: the demo authenticator (API keys from the
//! environment), the serverless-style handler, and a helper that prints the bound address.
//!
//! Each binary in `src/bin/` embeds auth-rs in one HTTP stack; `tests/it.rs` starts each one on
//! loopback and talks to it with a real client.

use auth_core::{
    BoxGate, CredentialKind, GateExt as _, Guard, Principal, RateLimit, ScopeRequirement, Scopes,
    Secret, SecretError, TokenAuthenticator, TokenVerdict,
};

/// The realm every example answers in.
pub const REALM: &str = "shop";

/// The demo's own claim about each key, a typed attribute of its principal: what a JWT
/// verifier's `with_claims::<C>()` attaches, read by the frameworks' claims extractors
/// (auth-tower's `Claims<Plan>` in axum, the actix example's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan(pub &'static str);

/// The demo verifier: `DEMO_API_KEY` grants `orders:read`; `DEMO_ADMIN_KEY`, if set, grants
/// `orders:read orders:write`. Keys are compared in constant time.
#[derive(Debug)]
pub struct DemoKeys {
    reader: Secret,
    admin: Option<Secret>,
}

impl DemoKeys {
    /// Loads the keys from the environment (or their `_FILE` forms).
    ///
    /// # Errors
    ///
    /// When `DEMO_API_KEY` is missing; the message names the variable.
    pub fn from_env() -> Result<Self, SecretError> {
        Ok(Self {
            reader: Secret::from_env("DEMO_API_KEY")?,
            admin: Secret::from_env("DEMO_ADMIN_KEY").ok(),
        })
    }

    fn verify(&self, token: &str) -> TokenVerdict {
        let (subject, scopes, plan) = if self.reader.ct_eq(token.as_bytes()) {
            ("reader", "orders:read", "free")
        } else if self
            .admin
            .as_ref()
            .is_some_and(|a| a.ct_eq(token.as_bytes()))
        {
            ("admin", "orders:read orders:write", "team")
        } else {
            return TokenVerdict::Invalid("unknown API key".into());
        };
        TokenVerdict::Valid(
            Principal::new(subject, CredentialKind::ApiKey)
                .with_scopes(Scopes::from_space_separated(scopes))
                .with_attribute(Plan(plan)),
        )
    }
}

impl auth_core::VerifyToken for DemoKeys {
    async fn verify(&self, token: &str) -> Result<TokenVerdict, auth_core::Error> {
        Ok(DemoKeys::verify(self, token))
    }
}

/// The authentication guard every example uses: `Authorization: Bearer <key>` or `X-API-Key`.
pub fn guard(keys: DemoKeys) -> Guard<TokenAuthenticator<DemoKeys>> {
    let extractor =
        auth_core::TokenExtractor::bearer().with_header(http::HeaderName::from_static("x-api-key"));
    Guard::new(TokenAuthenticator::bearer(REALM, keys).with_extractor(extractor))
}

/// The gate the framework-free examples run (hyper, actix-web, serverless): [`guard`], then
/// 100 requests a minute per caller in bursts of 20. The same `auth_core::Gate` auth-tower's
/// layer runs for axum and tonic; its headers (the `RateLimit` fields) go on the response.
///
/// # Errors
///
/// When the quota is refused (it is not: the numbers are valid).
pub fn gate(keys: DemoKeys) -> Result<BoxGate, Box<dyn std::error::Error>> {
    let quota = auth_ratelimit::Quota::per_minute(100)?.with_burst(20)?;
    let limiter = auth_ratelimit::RateLimiter::builder(quota).build::<String>()?;
    Ok(guard(keys).then(RateLimit::per_principal(limiter)).boxed())
}

/// `response` with the gate's `headers` added.
pub fn with_headers(
    mut response: http::Response<String>,
    headers: http::HeaderMap,
) -> http::Response<String> {
    for (name, value) in &headers {
        response.headers_mut().append(name, value.clone());
    }
    response
}

/// What the write routes need.
pub fn write_scope() -> ScopeRequirement {
    ScopeRequirement::parse("orders:write").unwrap_or_else(|_| unreachable!("valid literal"))
}

/// The answer of `GET /whoami`: the principal as JSON, labelled `application/json`.
pub fn whoami(principal: &Principal) -> http::Response<String> {
    let body = serde_json::json!({
        "subject": principal.subject(),
        "scopes": principal.scopes().iter().collect::<Vec<_>>(),
        "kind": principal.kind().as_str(),
        "plan": principal.attribute::<Plan>().map(|p| p.0),
    })
    .to_string();
    let mut response = http::Response::new(body);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// Binds `127.0.0.1:0` (or `LISTEN`), and prints `listening on ADDR` for whoever started us.
///
/// # Errors
///
/// When the address cannot be bound.
pub async fn bind() -> std::io::Result<tokio::net::TcpListener> {
    let addr = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    announce(listener.local_addr()?);
    Ok(listener)
}

/// Prints `listening on ADDR` on standard output.
pub fn announce(addr: std::net::SocketAddr) {
    #[allow(clippy::print_stdout)]
    {
        println!("listening on {addr}");
    }
}

pub mod serverless {
    //! A serverless-style handler: a plain async function from `http::Request` to
    //! `http::Response`, the shape of AWS Lambda's and Cloudflare's Rust runtimes.

    use std::sync::OnceLock;

    use auth_core::{BoxGate, Gate as _, Principal};

    use super::DemoKeys;

    /// Made once per process (a cold start), kept for every invocation after.
    fn gate() -> Option<&'static BoxGate> {
        static GATE: OnceLock<Option<BoxGate>> = OnceLock::new();
        GATE.get_or_init(|| DemoKeys::from_env().ok().and_then(|k| super::gate(k).ok()))
            .as_ref()
    }

    /// Handles one request: `GET /whoami` for any authenticated caller.
    pub async fn handle(request: http::Request<String>) -> http::Response<String> {
        let Some(gate) = gate() else {
            return auth_core::Error::Misconfigured("DEMO_API_KEY is not set".into()).to_response();
        };
        let (mut parts, _body) = request.into_parts();
        let headers = match gate.check(&mut parts).await {
            Ok(headers) => headers,
            Err(denial) => return denial.to_response(),
        };
        let response = match parts.extensions.get::<Principal>() {
            Some(p) => super::whoami(p),
            None => auth_core::Error::Misconfigured("no principal".into()).to_response(),
        };
        super::with_headers(response, headers)
    }
}

/// auth-tower's README quickstart (axum), compiled as a doctest here where axum is at hand.
#[cfg(doctest)]
#[doc = include_str!("../../crates/auth-tower/README.md")]
pub struct TowerReadmeDoctests;

/// The examples in the repository's README.md, compiled as doctests so they stay true (here,
/// in a crate that is never published, so no library crate reaches outside its directory).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
