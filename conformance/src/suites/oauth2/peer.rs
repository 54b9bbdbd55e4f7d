//! auth-oauth2 against a real authorization server on loopback: the npm `oidc-provider`
//! package (installed by `.ci/services` from `conformance/peers/package.json`) started with
//! the test configuration in `conformance/peers/oidc_provider.mjs`. Login and consent are
//! driven by plain HTTP requests, no browser.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use auth_core::{
    BoxHttpClient, Guard, HttpClient, HttpRequest, ScopeRequirement, Secret, SystemClock,
    TokenAuthenticator, Transport,
};
use auth_jwt::{Algorithm, SigningKey};
use auth_oauth2::{
    ClientAuth, ErrorCode, Introspector, Metadata, OAuthClient, PrivateKeyJwt, TokenKind,
    TokenSource, WellKnown,
};
use http::header::{COOKIE, LOCATION, SET_COOKIE};

use super::http;
use crate::harness::{Suite, block_on, ensure, ensure_eq};
use crate::services::Service;

const CLIENT: (&str, &str) = ("auth-rs", "auth-rs-client-secret-0123456789abcdef");
const RS: (&str, &str) = ("resource-server", "resource-server-secret-0123456789abcdef");
const RESOURCE: &str = "https://api.example";
/// The resource whose access tokens are JWTs (RFC 9068); the `private_key_jwt` client's.
const JWT_RESOURCE: &str = "https://jwt-api.example";
const PKJWT_CLIENT: &str = "auth-rs-pkjwt";

/// The provider process; killed (by its handle) when dropped.
struct Provider {
    child: Child,
    issuer: String,
    /// The private key of the `private_key_jwt` client, whose JWKS the provider was given.
    client_key: SigningKey,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Result<Provider, String> {
    let modules = crate::services::peers_dir().join("node/node_modules");
    if !modules.join("oidc-provider").is_dir() {
        return Err(format!(
            "oidc-provider not installed in {} (run .ci/services)",
            modules.display()
        ));
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/oidc_provider.mjs");
    let client_key = SigningKey::generate(Algorithm::ES256).map_err(|e| e.to_string())?;
    let jwks = serde_json::json!({ "keys": [client_key.public_jwk().ok_or("no public jwk")?] });
    let mut child = Command::new("node")
        .arg(script)
        .arg(&modules)
        .arg(jwks.to_string())
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
    let ready: serde_json::Value =
        serde_json::from_str(&line).map_err(|e| format!("provider said {line:?}: {e}"))?;
    let issuer = ready["issuer"].as_str().ok_or("no issuer")?.to_owned();
    Ok(Provider {
        child,
        issuer,
        client_key,
    })
}

async fn client(
    p: &Provider,
    http: &BoxHttpClient,
    id: (&str, &str),
) -> Result<OAuthClient, String> {
    let m = Metadata::discover(http, &p.issuer, WellKnown::OpenId, Transport::default())
        .await
        .map_err(|e| e.to_string())?;
    OAuthClient::builder(id.0)
        .metadata(&m)
        .client_auth(ClientAuth::SecretBasic(Secret::new(id.1)))
        .redirect_uri("http://127.0.0.1:9/cb")
        .scopes("openid api:read")
        .http_client(http.clone())
        .build()
        .map_err(|e| e.to_string())
}

fn introspector(p: &Provider, rs: OAuthClient) -> Result<Introspector, String> {
    Introspector::builder(rs, format!("{}/token/introspection", p.issuer))
        .audience(RESOURCE)
        .issuer(&p.issuer)
        .build()
        .map_err(|e| e.to_string())
}

fn bearer(token: &Secret) -> http::request::Parts {
    let mut parts = http::Request::new(()).into_parts().0;
    let value = format!("Bearer {}", token.expose_str().unwrap_or_default());
    if let Ok(v) = http::HeaderValue::from_str(&value) {
        parts.headers.insert("authorization", v);
    }
    parts
}

/// A user agent with a cookie jar (latest value per name), not following redirects.
struct Browser {
    http: BoxHttpClient,
    origin: String,
    jar: BTreeMap<String, String>,
}

impl Browser {
    /// Sends a request; returns the `Location` it redirects to.
    async fn go(&mut self, method: &str, url: &str, form: Option<&str>) -> Result<String, String> {
        let url = if url.starts_with('/') {
            format!("{}{url}", self.origin)
        } else {
            url.to_owned()
        };
        let url = url.as_str();
        let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut b = http::Request::builder()
            .method(method)
            .uri(url)
            .header(COOKIE, cookies.join("; "));
        if form.is_some() {
            b = b.header("content-type", "application/x-www-form-urlencoded");
        }
        let req: HttpRequest = b
            .body(form.unwrap_or_default().as_bytes().to_vec())
            .map_err(|e| e.to_string())?;
        let resp = self.http.send(req).await.map_err(|e| e.to_string())?;
        for c in resp.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap_or_default();
            if let Some((k, v)) = c.split(';').next().and_then(|kv| kv.split_once('=')) {
                self.jar.insert(k.trim().to_owned(), v.to_owned());
            }
        }
        let location = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok());
        location
            .map(str::to_owned)
            .ok_or_else(|| format!("{method} {url}: http {} without a redirect", resp.status()))
    }
}

/// The real-peer cases.
pub(super) fn cases(s: &mut Suite) {
    s.case_needing(
        &[Service::Node],
        "oidc-provider: private_key_jwt client; its JWT access token verified against the JWKS",
        "RFC 7523 §2.2, OIDC Core §9, RFC 9068 §4, RFC 7517",
        || block_on(pkjwt_case()),
    );

    s.case_needing(
        &[Service::Node],
        "oidc-provider: discovery, client credentials, introspection, revocation",
        "RFC 8414, 6749 §4.4, 7662, 7009",
        || {
            block_on(async {
                let p = start()?;
                let http = http()?;
                // The RFC 8414 location and the OpenID one both name the same issuer.
                Metadata::discover(&http, &p.issuer, WellKnown::OAuth, Transport::default())
                    .await
                    .map_err(|e| e.to_string())?;
                let client = client(&p, &http, CLIENT).await?;
                let source = TokenSource::client_credentials(client.clone()).build();
                let token = source.get().await.map_err(|e| e.to_string())?;
                ensure(
                    token.scopes().is_some_and(|s| s.contains("api:read")),
                    || "scope api:read".into(),
                )?;
                let rs = client_for_rs(&p, &http).await?;
                let guard = Guard::new(TokenAuthenticator::bearer(
                    "api",
                    introspector(&p, rs.clone())?,
                ))
                .require_scope(ScopeRequirement::parse("api:read").map_err(|e| e.to_string())?);
                let principal = guard
                    .decide(&bearer(token.secret()))
                    .await
                    .map_err(|d| d.to_string())?
                    .ok_or("anonymous")?;
                ensure_eq("subject", principal.subject(), CLIENT.0)?;
                client
                    .revoke(token.secret(), TokenKind::Access)
                    .await
                    .map_err(|e| e.to_string())?;
                // A fresh introspector (no cache) sees the revocation.
                let guard = Guard::new(TokenAuthenticator::bearer("api", introspector(&p, rs)?));
                let d = guard
                    .decide(&bearer(token.secret()))
                    .await
                    .err()
                    .ok_or("revoked token accepted")?;
                ensure_eq("revoked", d.status().as_u16(), 401)
            })
        },
    );

    s.case_needing(
        &[Service::Node],
        "oidc-provider: code + PKCE with iss, login and consent over HTTP, refresh rotation",
        "RFC 6749 §4.1, 7636, 9207, 6749 §6",
        || {
            block_on(async {
                let p = start()?;
                let http = http()?;
                let client = client(&p, &http, CLIENT).await?;
                let (url, pending) = client
                    .authorization_request()
                    .map_err(|e| e.to_string())?
                    .into_parts();
                let mut browser = Browser {
                    http: http.clone(),
                    origin: p.issuer.clone(),
                    jar: BTreeMap::new(),
                };
                let login = browser.go("GET", &url, None).await?;
                let resume = browser
                    .go("POST", &login, Some("prompt=login&login=alice&password=pw"))
                    .await?;
                let consent = browser.go("GET", &resume, None).await?;
                let resume = browser.go("POST", &consent, Some("prompt=consent")).await?;
                let callback = browser.go("GET", &resume, None).await?;
                ensure(callback.contains("iss="), || {
                    format!("no iss in {callback}")
                })?;
                let tokens = pending
                    .finish(&client, &callback)
                    .await
                    .map_err(|e| e.to_string())?;
                let rt1 = tokens.refresh_token().ok_or("no refresh token")?.clone();
                let rs = client_for_rs(&p, &http).await?;
                let guard = Guard::new(TokenAuthenticator::bearer("api", introspector(&p, rs)?));
                let who = guard
                    .decide(&bearer(tokens.access_token()))
                    .await
                    .map_err(|d| d.to_string())?
                    .ok_or("anonymous")?;
                ensure_eq("subject", who.subject(), "alice")?;
                let refreshed = client.refresh(&rt1).await.map_err(|e| e.to_string())?;
                let rt2 = refreshed
                    .refresh_token()
                    .ok_or("no rotated refresh token")?;
                ensure(!rt2.ct_eq(rt1.expose_secret()), || {
                    "refresh token not rotated".into()
                })?;
                let e = client
                    .refresh(&rt1)
                    .await
                    .err()
                    .ok_or("old refresh token accepted")?;
                ensure(e.is_server_error(&ErrorCode::InvalidGrant), || {
                    format!("{e:?}")
                })
            })
        },
    );
}

async fn pkjwt_case() -> Result<(), String> {
    let p = start()?;
    let http = http()?;
    let m = Metadata::discover(&http, &p.issuer, WellKnown::OpenId, Transport::default())
        .await
        .map_err(|e| e.to_string())?;
    ensure(
        m.get("token_endpoint_auth_methods_supported")
            .and_then(|v| v.as_array())
            .is_some_and(|a| a.iter().any(|m| m == "private_key_jwt")),
        || "private_key_jwt not advertised".into(),
    )?;
    let client = OAuthClient::builder(PKJWT_CLIENT)
        .metadata(&m)
        .client_auth(ClientAuth::PrivateKeyJwt(PrivateKeyJwt::new(
            p.client_key.clone(),
        )))
        .scopes("api:read")
        .http_client(http.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let tokens = client
        .client_credentials()
        .await
        .map_err(|e| e.to_string())?;
    let token = tokens
        .access_token()
        .expose_str()
        .map_err(|e| e.to_string())?;
    // RFC 9068: a JWT signed with the provider's key, checked against its JWKS.
    let verifier = |audience: &str| {
        m.access_token_verifier(http.clone(), SystemClock, Transport::default())
            .map_err(|e| e.to_string())?
            .algorithms([
                Algorithm::RS256,
                Algorithm::PS256,
                Algorithm::ES256,
                Algorithm::EdDSA,
            ])
            .audience(audience)
            .build()
            .map_err(|e| e.to_string())
    };
    let principal = verifier(JWT_RESOURCE)?
        .verify_principal(token)
        .await
        .map_err(|e| format!("JWT access token refused: {e}"))?;
    ensure_eq("sub", principal.subject(), PKJWT_CLIENT)?;
    ensure(principal.scopes().contains("api:read"), || {
        "scope api:read".into()
    })?;
    ensure(
        verifier(RESOURCE)?.verify_principal(token).await.is_err(),
        || "token for another audience accepted".into(),
    )?;
    // The same client authentication at the revocation endpoint: accepted (the provider
    // goes on to say JWTs cannot be revoked), while an impostor's is refused below.
    let e = client
        .revoke(tokens.access_token(), TokenKind::Access)
        .await
        .err()
        .ok_or("oidc-provider revoked a structured token")?;
    ensure(e.is_server_error(&ErrorCode::UnsupportedTokenType), || {
        format!("{e:?}")
    })?;
    // A client with another key is refused: the provider really checks the assertion.
    let impostor = OAuthClient::builder(PKJWT_CLIENT)
        .metadata(&m)
        .client_auth(ClientAuth::PrivateKeyJwt(PrivateKeyJwt::new(
            SigningKey::generate(Algorithm::ES256).map_err(|e| e.to_string())?,
        )))
        .http_client(http.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let e = impostor
        .client_credentials()
        .await
        .err()
        .ok_or("assertion signed by an unknown key accepted")?;
    ensure(e.is_server_error(&ErrorCode::InvalidClient), || {
        format!("{e:?}")
    })?;
    let e = impostor
        .revoke(tokens.access_token(), TokenKind::Access)
        .await
        .err()
        .ok_or("revocation with an unknown key accepted")?;
    ensure(e.is_server_error(&ErrorCode::InvalidClient), || {
        format!("{e:?}")
    })
}

async fn client_for_rs(p: &Provider, http: &BoxHttpClient) -> Result<OAuthClient, String> {
    OAuthClient::builder(RS.0)
        .client_auth(ClientAuth::SecretBasic(Secret::new(RS.1)))
        .http_client(http.clone())
        .build()
        .map_err(|e| format!("{e} ({})", p.issuer))
}
