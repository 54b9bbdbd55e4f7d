//! auth-oauth2's DPoP client (RFC 9449) against a real authorization server: the npm
//! `oidc-provider` package with `features.dPoP` on (`conformance/peers/oidc_provider_dpop.mjs`),
//! once without nonces and once requiring them. Tokens are introspected at the provider to
//! read their `cnf.jkt`; a resource on our side checks each request's proof with auth-jwt's
//! `ProofVerifier` and `DpopAuthenticator`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::{BoxHttpClient, Guard, HttpClient, HttpRequest, Secret, TokenAuthenticator};
use auth_jwt::Algorithm;
use auth_jwt::dpop::{DpopAuthenticator, DpopKey, Nonces, ProofVerifier};
use auth_oauth2::{
    ClientAuth, ErrorCode, Introspector, Metadata, OAuthClient, TokenSource, TokenType, WellKnown,
};
use http::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::Value;

use super::http;
use super::node_provider::Provider;
use crate::harness::{Suite, block_on, ensure, ensure_eq};
use crate::services::Service;

const CLIENT: (&str, &str) = ("auth-rs-dpop", "auth-rs-dpop-secret-0123456789abcdef");
const PUBLIC: &str = "auth-rs-dpop-public";
const RS: (&str, &str) = ("resource-server", "resource-server-secret-0123456789abcdef");
const RESOURCE: &str = "https://api.example";

fn start(mode: &str) -> Result<Provider, String> {
    super::node_provider::start("oidc_provider_dpop.mjs", mode)
}

/// The proofs (`None` for a request without one) sent to each path, in order.
type Sent = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// auth-http, recording the `DPoP` header of every request.
fn recording() -> Result<(BoxHttpClient, Sent), String> {
    let inner = http()?;
    let sent: Sent = Arc::default();
    let log = Arc::clone(&sent);
    let client = move |req: HttpRequest| {
        let proof = req.headers().get("dpop").and_then(|v| v.to_str().ok());
        if let Ok(mut log) = log.lock() {
            log.push((req.uri().path().to_owned(), proof.map(str::to_owned)));
        }
        let inner = inner.clone();
        async move { inner.send(req).await }
    };
    Ok((BoxHttpClient::new(client), sent))
}

fn dpop_key() -> Result<DpopKey, String> {
    DpopKey::generate(Algorithm::ES256).map_err(|e| e.to_string())
}

async fn client(
    p: &Provider,
    http: &BoxHttpClient,
    id: &str,
    auth: ClientAuth,
    key: Option<DpopKey>,
) -> Result<OAuthClient, String> {
    let m = Metadata::discover(http, &p.issuer, WellKnown::OpenId, Default::default())
        .await
        .map_err(|e| e.to_string())?;
    let mut b = OAuthClient::builder(id)
        .metadata(&m)
        .client_auth(auth)
        .redirect_uri("http://127.0.0.1:9/cb")
        // The client credentials client may not ask for openid.
        .scopes(if id == PUBLIC {
            "openid api:read"
        } else {
            "api:read"
        })
        .http_client(http.clone());
    if let Some(key) = key {
        b = b.dpop(key);
    }
    b.build().map_err(|e| e.to_string())
}

fn secret_basic(id: (&str, &str)) -> ClientAuth {
    ClientAuth::SecretBasic(Secret::new(id.1))
}

fn introspector(p: &Provider, http: &BoxHttpClient) -> Result<Introspector, String> {
    let rs = OAuthClient::builder(RS.0)
        .client_auth(secret_basic(RS))
        .http_client(http.clone())
        .build()
        .map_err(|e| e.to_string())?;
    Introspector::builder(rs, format!("{}/token/introspection", p.issuer))
        .audience(RESOURCE)
        .issuer(&p.issuer)
        .max_cache_ttl(Duration::ZERO)
        .build()
        .map_err(|e| e.to_string())
}

/// The provider's introspection of `token`, as JSON.
async fn introspect(p: &Provider, http: &BoxHttpClient, token: &Secret) -> Result<Value, String> {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", RS.0, RS.1));
    let form = format!("token={}", token.expose_str().map_err(|e| e.to_string())?);
    let req = http::Request::post(format!("{}/token/introspection", p.issuer))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.into_bytes())
        .map_err(|e| e.to_string())?;
    let resp = http.send(req).await.map_err(|e| e.to_string())?;
    serde_json::from_slice(resp.body()).map_err(|e| e.to_string())
}

/// Checks that the provider bound `token` to `jkt` (or to nothing).
async fn bound_to(
    p: &Provider,
    http: &BoxHttpClient,
    token: &Secret,
    jkt: Option<&str>,
) -> Result<(), String> {
    let doc = introspect(p, http, token).await?;
    ensure_eq("active", doc["active"].as_bool(), Some(true))?;
    ensure_eq("cnf.jkt", doc["cnf"]["jkt"].as_str(), jkt)?;
    let token_type = if jkt.is_some() { "DPoP" } else { "Bearer" };
    ensure_eq("token_type", doc["token_type"].as_str(), Some(token_type))
}

/// The real-peer DPoP cases.
pub(super) fn cases(s: &mut Suite) {
    s.case_needing(
        &[Service::Node],
        "oidc-provider DPoP: client credentials give a DPoP token bound to our key (cnf.jkt); without a key, Bearer",
        "RFC 9449 §5, §6.2, RFC 7662",
        || block_on(client_credentials_case()),
    );
    s.case_needing(
        &[Service::Node],
        "oidc-provider DPoP: code flow, the refresh keeps the binding, another key cannot refresh",
        "RFC 9449 §5, §5.2, §10",
        || block_on(refresh_case()),
    );
    s.case_needing(
        &[Service::Node],
        "oidc-provider DPoP with nonces required: use_dpop_nonce retried exactly once, the nonce then remembered",
        "RFC 9449 §8",
        || block_on(nonce_case()),
    );
    super::dpop_resource::cases(s);
}

async fn client_credentials_case() -> Result<(), String> {
    let p = start("plain")?;
    let (http, sent) = recording()?;
    let key = dpop_key()?;
    let jkt = key.thumbprint().to_owned();
    let bound = client(&p, &http, CLIENT.0, secret_basic(CLIENT), Some(key)).await?;
    let tokens = bound
        .client_credentials()
        .await
        .map_err(|e| e.to_string())?;
    ensure_eq("token_type", tokens.token_type(), TokenType::DPoP)?;
    bound_to(&p, &http, tokens.access_token(), Some(&jkt)).await?;
    // The proof we sent: POST to the token endpoint, our key, no ath.
    let token_url = format!("{}/token", p.issuer);
    let proofs: Vec<String> = sent
        .lock()
        .map_err(|e| e.to_string())?
        .iter()
        .filter(|(path, _)| path == "/token")
        .filter_map(|(_, proof)| proof.clone())
        .collect();
    ensure_eq("proofs sent", proofs.len(), 1)?;
    let checked = ProofVerifier::new()
        .verify(&proofs[0], &http::Method::POST, &token_url, None)
        .await
        .map_err(|e| e.to_string())?;
    ensure_eq("proof key", checked.jkt, jkt)?;
    // The twin: the same client without a key gets a plain Bearer token.
    let plain = client(&p, &http, CLIENT.0, secret_basic(CLIENT), None).await?;
    let tokens = plain
        .client_credentials()
        .await
        .map_err(|e| e.to_string())?;
    ensure_eq("token_type", tokens.token_type(), TokenType::Bearer)?;
    bound_to(&p, &http, tokens.access_token(), None).await
}

async fn refresh_case() -> Result<(), String> {
    let p = start("plain")?;
    let (http, _) = recording()?;
    let key = dpop_key()?;
    let jkt = key.thumbprint().to_owned();
    let c = client(&p, &http, PUBLIC, ClientAuth::Public, Some(key)).await?;
    let tokens = login(&p, &http, &c).await?;
    ensure_eq("token_type", tokens.token_type(), TokenType::DPoP)?;
    bound_to(&p, &http, tokens.access_token(), Some(&jkt)).await?;
    let rt1 = tokens.refresh_token().ok_or("no refresh token")?.clone();
    let refreshed = c.refresh(&rt1).await.map_err(|e| e.to_string())?;
    ensure_eq("refreshed type", refreshed.token_type(), TokenType::DPoP)?;
    bound_to(&p, &http, refreshed.access_token(), Some(&jkt)).await?;
    let rt2 = refreshed
        .refresh_token()
        .ok_or("no rotated refresh token")?;
    // The refresh token is bound: another key (the same client otherwise) is refused...
    let other = client(&p, &http, PUBLIC, ClientAuth::Public, Some(dpop_key()?)).await?;
    let e = other
        .refresh(rt2)
        .await
        .err()
        .ok_or("a bound refresh token was accepted with another key")?;
    ensure(e.is_server_error(&ErrorCode::InvalidGrant), || {
        format!("{e:?}")
    })?;
    // ... and ours, on the same refresh token, is accepted.
    let again = c.refresh(rt2).await.map_err(|e| e.to_string())?;
    bound_to(&p, &http, again.access_token(), Some(&jkt)).await
}

async fn nonce_case() -> Result<(), String> {
    let p = start("nonce")?;
    let (http, sent) = recording()?;
    let key = dpop_key()?;
    let jkt = key.thumbprint().to_owned();
    let c = client(&p, &http, CLIENT.0, secret_basic(CLIENT), Some(key)).await?;
    let source = TokenSource::client_credentials(c.clone()).build();
    let token = source.get().await.map_err(|e| e.to_string())?;
    ensure_eq("token_type", token.token_type(), TokenType::DPoP)?;
    bound_to(&p, &http, token.secret(), Some(&jkt)).await?;
    c.client_credentials().await.map_err(|e| e.to_string())?;
    let nonces: Vec<Option<String>> = sent
        .lock()
        .map_err(|e| e.to_string())?
        .iter()
        .filter(|(path, _)| path == "/token")
        .map(|(_, proof)| proof.as_deref().and_then(nonce_claim))
        .collect();
    // First: no nonce, refused; the one retry with the provider's nonce; then the remembered
    // nonce at once.
    ensure_eq("token requests", nonces.len(), 3)?;
    ensure(nonces[0].is_none(), || format!("{nonces:?}"))?;
    ensure(nonces[1].is_some() && nonces[2].is_some(), || {
        format!("{nonces:?}")
    })
}

/// The `nonce` claim of a proof.
pub(super) fn nonce_claim(proof: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = proof.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims["nonce"].as_str().map(str::to_owned)
}

/// Logs in as alice through the provider's dev interactions and exchanges the code.
async fn login(
    p: &Provider,
    http: &BoxHttpClient,
    c: &OAuthClient,
) -> Result<auth_oauth2::TokenSet, String> {
    let (url, pending) = c
        .authorization_request()
        .map_err(|e| e.to_string())?
        .into_parts();
    let mut jar = BTreeMap::new();
    let login = go(p, http, &mut jar, "GET", &url, None).await?;
    let form = "prompt=login&login=alice&password=pw";
    let resume = go(p, http, &mut jar, "POST", &login, Some(form)).await?;
    let consent = go(p, http, &mut jar, "GET", &resume, None).await?;
    let resume = go(p, http, &mut jar, "POST", &consent, Some("prompt=consent")).await?;
    let callback = go(p, http, &mut jar, "GET", &resume, None).await?;
    pending
        .finish(c, &callback)
        .await
        .map_err(|e| e.to_string())
}

/// One browser request with a cookie jar; returns where it redirects.
async fn go(
    p: &Provider,
    http: &BoxHttpClient,
    jar: &mut BTreeMap<String, String>,
    method: &str,
    url: &str,
    form: Option<&str>,
) -> Result<String, String> {
    let url = if url.starts_with('/') {
        format!("{}{url}", p.issuer)
    } else {
        url.to_owned()
    };
    let cookies: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut b = http::Request::builder()
        .method(method)
        .uri(&url)
        .header(COOKIE, cookies.join("; "));
    if form.is_some() {
        b = b.header("content-type", "application/x-www-form-urlencoded");
    }
    let req = b
        .body(form.unwrap_or_default().as_bytes().to_vec())
        .map_err(|e| e.to_string())?;
    let resp = http.send(req).await.map_err(|e| e.to_string())?;
    for c in resp.headers().get_all(SET_COOKIE) {
        let c = c.to_str().unwrap_or_default();
        if let Some((k, v)) = c.split(';').next().and_then(|kv| kv.split_once('=')) {
            jar.insert(k.trim().to_owned(), v.to_owned());
        }
    }
    let location = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok());
    location
        .map(str::to_owned)
        .ok_or_else(|| format!("{method} {url}: http {} without a redirect", resp.status()))
}

/// What the resource cases share: a provider, a DPoP token source and a recording client.
pub(super) struct Setup {
    provider: Provider,
    /// The recording HTTP client.
    pub(super) http: BoxHttpClient,
    /// A DPoP client credentials source.
    pub(super) source: TokenSource,
    /// Our key's thumbprint.
    pub(super) jkt: String,
}

impl Setup {
    /// A provider without nonces and a bound token source.
    pub(super) async fn new() -> Result<Self, String> {
        let provider = start("plain")?;
        let (http, _) = recording()?;
        let key = dpop_key()?;
        let jkt = key.thumbprint().to_owned();
        let c = client(&provider, &http, CLIENT.0, secret_basic(CLIENT), Some(key)).await?;
        let source = TokenSource::client_credentials(c).build();
        Ok(Self {
            provider,
            http,
            source,
            jkt,
        })
    }

    /// A resource at [`RESOURCE`] taking DPoP tokens (introspected at the provider), with
    /// `nonces` if given.
    pub(super) fn dpop_resource(
        &self,
        nonces: Option<Nonces>,
    ) -> Result<Guard<DpopAuthenticator<Introspector>>, String> {
        let mut proofs = ProofVerifier::new();
        if let Some(n) = nonces {
            proofs = proofs.nonces(n);
        }
        let auth =
            DpopAuthenticator::new(introspector(&self.provider, &self.http)?, proofs, RESOURCE)
                .map_err(|e| e.to_string())?;
        Ok(Guard::new(auth))
    }

    /// The same resource taking plain bearer tokens only.
    pub(super) fn bearer_resource(
        &self,
    ) -> Result<Guard<TokenAuthenticator<Introspector>>, String> {
        let i = introspector(&self.provider, &self.http)?;
        Ok(Guard::new(TokenAuthenticator::bearer("api", i)))
    }
}

/// The resource's origin.
pub(super) const RESOURCE_ORIGIN: &str = RESOURCE;
/// The client id the tokens are issued to.
pub(super) const CLIENT_ID: &str = CLIENT.0;
