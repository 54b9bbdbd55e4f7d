//! `auth pkce` and the OAuth 2.0 client commands.

mod grants;

use auth_oauth2::{ClientAuth, Metadata, WellKnown};

pub(crate) use grants::{DeviceArgs, RefreshArgs, RevokeArgs, device, refresh, revoke};
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

/// The production HTTP client (HTTPS except to loopback) and `issuer`'s metadata, whose
/// `issuer` must equal the one asked for: RFC 8414's, or else OpenID Connect's
/// `openid-configuration` (providers publish one or the other, most both).
pub(crate) async fn discover(
    issuer: &str,
) -> Result<(auth_http::Client, auth_oauth2::Metadata), Error> {
    let http = crate::output::http_client()?;
    let transport = http.config().transport;
    let metadata = match Metadata::discover(&http, issuer, WellKnown::OAuth, transport).await {
        Ok(metadata) => metadata,
        Err(oauth) => Metadata::discover(&http, issuer, WellKnown::OpenId, transport)
            .await
            .map_err(|_| Error::with_causes(&oauth))?,
    };
    Ok((http, metadata))
}

/// A confidential client of an issuer, as `auth oauth2 token` and `introspect` take it.
#[derive(Debug, clap::Args)]
pub(crate) struct ClientArgs {
    /// The issuer URL (https, or http to loopback); its RFC 8414 (or OpenID Connect)
    /// metadata names the endpoints. A private CA: --cacert FILE (or SSL_CERT_FILE) with its
    /// PEM.
    #[arg(long, value_name = "URL", required_unless_present = "token_url")]
    pub(crate) issuer: Option<String>,
    /// The token endpoint, instead of discovering it from --issuer (`auth oauth2 token`).
    #[arg(long, value_name = "URL", conflicts_with = "issuer")]
    pub(crate) token_url: Option<String>,
    /// The client id.
    #[arg(long, value_name = "ID")]
    pub(crate) client_id: String,
    /// The environment variable holding the client secret (or `VAR_FILE` naming a file).
    #[arg(long, value_name = "VAR")]
    pub(crate) client_secret_env: String,
}

/// `auth oauth2 token`'s inputs.
#[derive(Debug)]
pub(crate) struct TokenRequest<'a> {
    /// The issuer and the client.
    pub(crate) client: &'a ClientArgs,
    /// Requested scopes.
    pub(crate) scopes: &'a [String],
    /// `client_secret_post` instead of `client_secret_basic`.
    pub(crate) post: bool,
    /// A DPoP key file: ask for a token bound to it.
    pub(crate) dpop_key: Option<&'a std::path::Path>,
}

/// `auth oauth2 token`: the client credentials grant through discovery. A refusal by the
/// authorization server (`invalid_client`, `invalid_scope`, ...) is exit 1 with its code.
pub(crate) async fn token(request: TokenRequest<'_>, out: Output) -> Result<(), Error> {
    use std::sync::Arc;

    use auth_oauth2::OAuthClient;

    let secret = crate::output::secret_from_env(&request.client.client_secret_env)?;
    let mut builder = OAuthClient::builder(&request.client.client_id);
    let (http, token_endpoint) = match (&request.client.issuer, &request.client.token_url) {
        (Some(issuer), _) => {
            let (http, metadata) = crate::oauth2::discover(issuer).await?;
            builder = builder.metadata(&metadata);
            (http, metadata.token_endpoint().map(str::to_owned))
        }
        (None, Some(url)) => {
            builder = builder.token_endpoint(url.clone());
            (crate::output::http_client()?, Some(url.clone()))
        }
        (None, None) => return Err(Error::config("give --issuer URL or --token-url URL")),
    };
    builder = builder.http_client(Arc::new(http));
    builder = if request.post {
        builder.client_auth(ClientAuth::SecretPost(secret))
    } else {
        builder.client_auth(ClientAuth::SecretBasic(secret))
    };
    if !request.scopes.is_empty() {
        builder = builder.scopes(request.scopes.join(" "));
    }
    if let Some(path) = request.dpop_key {
        builder = builder.dpop(crate::dpop::load_key(path, None)?);
    }
    let client = builder.build().map_err(Error::config)?;
    let tokens = match client.client_credentials().await {
        Ok(tokens) => tokens,
        Err(e) => {
            return Err(match e.server_error() {
                Some(server) => Error::Rejected {
                    reason: server.code().as_str().to_owned().into(),
                    message: e.to_string(),
                },
                None => Error::with_causes(&e),
            });
        }
    };
    let access = tokens
        .access_token()
        .expose_str()
        .map_err(|_| Error::config("the access token is not text"))?
        .to_owned();
    let expires_at = tokens.expires_at().map(|t| t.as_secs());
    let scope = tokens.scopes().map(ToString::to_string);
    let value = json!({
        "access_token": access,
        "token_type": match tokens.token_type() {
            auth_oauth2::TokenType::DPoP => "DPoP",
            _ => "Bearer",
        },
        "expires_at": expires_at,
        "scope": scope,
        "token_endpoint": token_endpoint,
    });
    out.result(&value, || access.clone());
    Ok(())
}

/// `auth oauth2 introspect`'s inputs.
#[derive(Debug)]
pub(crate) struct IntrospectRequest<'a> {
    /// The token, or `-` for standard input.
    pub(crate) token: Option<&'a str>,
    /// The issuer and the calling client.
    pub(crate) client: &'a ClientArgs,
}

/// `auth oauth2 introspect`: RFC 7662. Exit 0 and the server's answer when the token is
/// active, exit 1 (`inactive`) when not, or when the server refuses this client.
pub(crate) async fn introspect(request: IntrospectRequest<'_>, out: Output) -> Result<(), Error> {
    use auth_core::HttpClient as _;
    use base64::Engine as _;
    use serde_json::Value;

    let token = crate::jwt::token_arg(request.token)?;
    let secret = crate::output::secret_from_env(&request.client.client_secret_env)?;
    let secret = secret
        .expose_str()
        .map_err(|_| Error::config("the client secret is not text"))?;
    let issuer = request.client.issuer.as_deref().ok_or_else(|| {
        Error::config("introspection needs --issuer URL: its metadata names the endpoint")
    })?;
    let (http, metadata) = crate::oauth2::discover(issuer).await?;
    let endpoint = metadata
        .introspection_endpoint()
        .ok_or_else(|| Error::config("the issuer's metadata has no introspection_endpoint"))?;
    // RFC 6749 §2.3.1: each part form-urlencoded, then Basic.
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        encode(&request.client.client_id),
        encode(secret)
    ));
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("token", &token)
        .finish();
    let mut authorization = http::HeaderValue::try_from(format!("Basic {basic}"))
        .map_err(|_| Error::config("the client credentials do not fit a header"))?;
    authorization.set_sensitive(true);
    let post = http::Request::post(endpoint)
        .header(http::header::AUTHORIZATION, authorization)
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(http::header::ACCEPT, "application/json")
        .body(body.into_bytes())
        .map_err(|e| Error::config(format!("bad introspection endpoint {endpoint}: {e}")))?;
    let response = http.send(post).await.map_err(|e| {
        Error::config(format!(
            "cannot reach {endpoint}: {}",
            crate::output::causes(&e)
        ))
    })?;
    let status = response.status();
    let answer: Value = serde_json::from_slice(response.body())
        .map_err(|_| Error::config(format!("{endpoint} answered {status} without JSON")))?;
    if !status.is_success() {
        let code = answer["error"].as_str().unwrap_or("refused").to_owned();
        return Err(if status == http::StatusCode::UNAUTHORIZED {
            Error::Rejected {
                reason: code.into(),
                message: format!("{endpoint} refused this client ({status})"),
            }
        } else {
            Error::config(format!("{endpoint} answered {status}: {code}"))
        });
    }
    match answer["active"].as_bool() {
        Some(true) => {
            out.result(&answer, || {
                format!("ACTIVE\n{}", crate::output::pretty(&answer))
            });
            Ok(())
        }
        Some(false) => Err(Error::Rejected {
            reason: "inactive".into(),
            message: "the authorization server says the token is not active".into(),
        }),
        None => Err(Error::config(format!(
            "{endpoint}: no boolean \"active\" (RFC 7662 §2.2)"
        ))),
    }
}
