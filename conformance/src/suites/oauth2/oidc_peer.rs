//! auth-oauth2 as an OpenID Connect relying party against a real provider on loopback: the
//! npm `oidc-provider` package started with `conformance/peers/oidc_provider_oidc.mjs` (ID
//! tokens, userinfo, PAR, a token exchange grant, a `client_secret_jwt` client). Login and
//! consent are driven by plain HTTP requests, no browser.

use std::collections::BTreeMap;

use auth_core::Transport;
use auth_core::{BoxHttpClient, Guard, HttpClient, HttpRequest, Secret, TokenAuthenticator};
use auth_oauth2::{
    ClientAuth, ClientSecretJwt, ErrorCode, IdToken, Introspector, Metadata, OAuthClient,
    PendingAuthorization, TokenExchange, TokenSet, TokenTypeId, WellKnown,
};
use http::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::Value;

use super::http;
use super::node_provider::Provider;
use crate::harness::{Suite, block_on, ensure, ensure_eq};
use crate::services::Service;

const CLIENT: (&str, &str) = ("auth-rs-oidc", "auth-rs-oidc-secret-0123456789abcdef");
const CSJWT: (&str, &str) = ("auth-rs-csjwt", "auth-rs-csjwt-secret-0123456789abcdef");

fn start(mode: &str) -> Result<Provider, String> {
    super::node_provider::start("oidc_provider_oidc.mjs", mode)
}

async fn metadata(p: &Provider, http: &BoxHttpClient) -> Result<Metadata, String> {
    Metadata::discover(http, &p.issuer, WellKnown::OpenId, Transport::default())
        .await
        .map_err(|e| e.to_string())
}

async fn client(p: &Provider, http: &BoxHttpClient) -> Result<OAuthClient, String> {
    OAuthClient::builder(CLIENT.0)
        .metadata(&metadata(p, http).await?)
        .client_auth(ClientAuth::SecretBasic(Secret::new(CLIENT.1)))
        .redirect_uri("http://127.0.0.1:9/cb")
        .scopes("openid offline_access profile api:read")
        .http_client(http.clone())
        .build()
        .map_err(|e| e.to_string())
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
        let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut b = http::Request::builder()
            .method(method)
            .uri(url.as_str())
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

/// Logs `user` in at `url` and consents; the callback URL the provider redirects to.
async fn sign_in(
    p: &Provider,
    http: &BoxHttpClient,
    url: &str,
    user: &str,
) -> Result<String, String> {
    let mut browser = Browser {
        http: http.clone(),
        origin: p.issuer.clone(),
        jar: BTreeMap::new(),
    };
    let login = browser.go("GET", url, None).await?;
    let form = format!("prompt=login&login={user}&password=pw");
    let resume = browser.go("POST", &login, Some(&form)).await?;
    let consent = browser.go("GET", &resume, None).await?;
    let resume = browser.go("POST", &consent, Some("prompt=consent")).await?;
    browser.go("GET", &resume, None).await
}

type Login = (TokenSet, IdToken<Value>);

async fn finish(
    client: &OAuthClient,
    pending: PendingAuthorization,
    callback: &str,
) -> Result<Login, String> {
    pending
        .finish_with_id_token::<Value>(client, callback)
        .await
        .map_err(|e| e.to_string())
}

/// The relying-party cases.
pub(super) fn cases(s: &mut Suite) {
    s.case_needing(
        &[Service::Node],
        "oidc-provider id_token: code + PKCE + nonce, the ID token verified against the JWKS; refreshed with the same sub",
        "OIDC Core §3.1.3.7, §12.2, RFC 7636",
        || block_on(id_token_case()),
    );
    s.case_needing(
        &[Service::Node],
        "oidc-provider userinfo: the signed-in user's claims with the access token; another user's ID token is refused (sub mismatch)",
        "OIDC Core §5.3, §5.3.4",
        || block_on(userinfo_case()),
    );
    s.case_needing(
        &[Service::Node],
        "oidc-provider PAR: required by the provider; the front-channel URL is refused, the pushed one carries only client_id and request_uri",
        "RFC 9126 §2, §4, §5",
        || block_on(par_case()),
    );
    s.case_needing(
        &[Service::Node],
        "oidc-provider token exchange: the user's access token swapped for one with another audience (introspected); an unknown subject token refused",
        "RFC 8693 §2.1, §2.2",
        || block_on(token_exchange_case()),
    );
    s.case_needing(
        &[Service::Node],
        "oidc-provider client_secret_jwt: an HS256 assertion over the secret is accepted; one over another secret is refused",
        "RFC 7523 §2.2, OIDC Core §9",
        || block_on(client_secret_jwt_case()),
    );
}

async fn login(
    p: &Provider,
    http: &BoxHttpClient,
    user: &str,
) -> Result<(OAuthClient, Login), String> {
    let client = client(p, http).await?;
    let (url, pending) = client
        .authorization_request()
        .map_err(|e| e.to_string())?
        .into_parts();
    ensure(url.contains("nonce="), || format!("no nonce in {url}"))?;
    let callback = sign_in(p, http, &url, user).await?;
    let done = finish(&client, pending, &callback).await?;
    Ok((client, done))
}

async fn id_token_case() -> Result<(), String> {
    let p = start("plain")?;
    let http = http()?;
    let (client, (tokens, id)) = login(&p, &http, "alice").await?;
    ensure_eq("sub", id.subject(), "alice")?;
    ensure_eq("iss", id.standard().issuer.as_str(), p.issuer.as_str())?;
    ensure(
        id.standard().audiences.iter().any(|a| a == CLIENT.0),
        || "aud".into(),
    )?;
    // A refresh answers a new ID token for the same user.
    let rt = tokens.refresh_token().ok_or("no refresh token")?;
    let (_, again) = client
        .refresh_with_id_token::<Value, _>(rt, &id)
        .await
        .map_err(|e| e.to_string())?;
    let again = again.ok_or("the refresh response carried no ID token")?;
    ensure_eq("refreshed sub", again.subject(), "alice")
}

async fn userinfo_case() -> Result<(), String> {
    let p = start("plain")?;
    let http = http()?;
    let (client, (tokens, id)) = login(&p, &http, "alice").await?;
    let info = client
        .userinfo::<Value, _>(&tokens, &id)
        .await
        .map_err(|e| e.to_string())?;
    ensure_eq("userinfo sub", info.subject(), "alice")?;
    ensure_eq(
        "name",
        info.claims()["name"].as_str().unwrap_or_default(),
        "User alice",
    )?;
    // Bob's ID token with Alice's access token: the answer is about Alice, refused.
    let (_, (_, bob)) = login(&p, &http, "bob").await?;
    let e = client
        .userinfo::<Value, _>(&tokens, &bob)
        .await
        .err()
        .ok_or("userinfo of another user accepted")?;
    ensure(
        matches!(
            e,
            auth_oauth2::Error::UserInfo(auth_oauth2::UserInfoError::SubjectMismatch)
        ),
        || format!("{e:?}"),
    )
}

async fn par_case() -> Result<(), String> {
    let p = start("par")?;
    let http = http()?;
    let m = metadata(&p, &http).await?;
    ensure(m.require_pushed_authorization_requests(), || {
        "require_pushed_authorization_requests not advertised".into()
    })?;
    let client = client(&p, &http).await?;
    let e = client
        .authorization_request()
        .err()
        .ok_or("front-channel request allowed though PAR is required")?;
    ensure(e.to_string().contains("pushed"), || e.to_string())?;
    let (url, pending) = client
        .start_authorization()
        .await
        .map_err(|e| e.to_string())?
        .into_parts();
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let names: Vec<String> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, _)| k.into_owned())
        .collect();
    ensure_eq(
        "browser parameters",
        names.join(","),
        "client_id,request_uri".to_owned(),
    )?;
    let callback = sign_in(&p, &http, &url, "alice").await?;
    let (_, id) = finish(&client, pending, &callback).await?;
    ensure_eq("sub", id.subject(), "alice")
}

async fn token_exchange_case() -> Result<(), String> {
    let p = start("plain")?;
    let http = http()?;
    let (client, (tokens, _)) = login(&p, &http, "alice").await?;
    let exchanged = client
        .exchange_token(
            TokenExchange::new(tokens.access_token().clone(), TokenTypeId::AccessToken)
                .audience("https://b.example"),
        )
        .await
        .map_err(|e| e.to_string())?;
    ensure_eq(
        "issued_token_type",
        exchanged.issued_token_type(),
        &TokenTypeId::AccessToken,
    )?;
    let introspector =
        Introspector::builder(client.clone(), format!("{}/token/introspection", p.issuer))
            .audience("https://b.example")
            .issuer(&p.issuer)
            .build()
            .map_err(|e| e.to_string())?;
    let guard = Guard::new(TokenAuthenticator::bearer("b", introspector));
    let mut parts = http::Request::new(()).into_parts().0;
    let bearer = format!(
        "Bearer {}",
        exchanged.token().expose_str().map_err(|e| e.to_string())?
    );
    parts
        .headers
        .insert("authorization", bearer.parse().map_err(|_| "header")?);
    let who = guard
        .decide(&parts)
        .await
        .map_err(|d| d.to_string())?
        .ok_or("anonymous")?;
    ensure_eq("exchanged for", who.subject(), "alice")?;
    let e = client
        .exchange_token(TokenExchange::new(
            Secret::new("not-a-token-of-this-provider"),
            TokenTypeId::AccessToken,
        ))
        .await
        .err()
        .ok_or("an unknown subject token was exchanged")?;
    ensure(e.is_server_error(&ErrorCode::InvalidGrant), || {
        format!("{e:?}")
    })
}

async fn client_secret_jwt_case() -> Result<(), String> {
    let p = start("plain")?;
    let http = http()?;
    let m = metadata(&p, &http).await?;
    ensure(
        m.get("token_endpoint_auth_methods_supported")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|m| m == "client_secret_jwt")),
        || "client_secret_jwt not advertised".into(),
    )?;
    let with = |secret: &str| {
        OAuthClient::builder(CSJWT.0)
            .metadata(&m)
            .client_auth(ClientAuth::SecretJwt(ClientSecretJwt::new(Secret::new(
                secret,
            ))))
            .scopes("api:read")
            .http_client(http.clone())
            .build()
            .map_err(|e| e.to_string())
    };
    let tokens = with(CSJWT.1)?
        .client_credentials()
        .await
        .map_err(|e| e.to_string())?;
    ensure(
        tokens.scopes().is_some_and(|s| s.contains("api:read")),
        || "scope api:read".into(),
    )?;
    let e = with("another-secret-of-at-least-32-bytes-long")?
        .client_credentials()
        .await
        .err()
        .ok_or("assertion over another secret accepted")?;
    ensure(e.is_server_error(&ErrorCode::InvalidClient), || {
        format!("{e:?}")
    })
}
