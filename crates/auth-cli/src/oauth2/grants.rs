//! `auth oauth2 device | refresh | revoke`: the device authorization grant (RFC 8628), a
//! refresh (RFC 6749 §6) and revocation (RFC 7009), through auth-oauth2's client, with the
//! endpoints found by discovery or given directly. No token or secret is ever an argument:
//! they come from the environment, a file or standard input.

use std::sync::Arc;

use auth_oauth2::{ClientAuth, DevicePoll, OAuthClient, TokenKind, TokenSet};
use serde_json::json;

use crate::output::{Error, Output};

/// An OAuth client as these commands take it: the issuer (or its endpoints), the client id,
/// and for a confidential client its secret.
#[derive(Debug, clap::Args)]
pub(crate) struct GrantClient {
    /// The issuer URL: its RFC 8414 (or OpenID Connect) metadata names the endpoints.
    #[arg(long, value_name = "URL", required_unless_present = "token_url")]
    issuer: Option<String>,
    /// The token endpoint, instead of discovering it.
    #[arg(long, value_name = "URL")]
    token_url: Option<String>,
    /// The client id.
    #[arg(long, value_name = "ID")]
    client_id: String,
    /// For a confidential client: the environment variable holding its secret (or `VAR_FILE`
    /// naming a file). A public client sends none.
    #[arg(long, value_name = "VAR")]
    client_secret_env: Option<String>,
    /// A scope to request (repeat for several).
    #[arg(long = "scope", value_name = "S")]
    scopes: Vec<String>,
}

/// `auth oauth2 device`'s arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct DeviceArgs {
    #[command(flatten)]
    client: GrantClient,
    /// The device authorization endpoint, instead of discovering it.
    #[arg(long, value_name = "URL")]
    device_url: Option<String>,
}

/// `auth oauth2 refresh`'s arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct RefreshArgs {
    #[command(flatten)]
    client: GrantClient,
    /// The environment variable holding the refresh token (or `VAR_FILE` naming a file).
    #[arg(long, value_name = "VAR")]
    refresh_token_env: String,
}

/// `auth oauth2 revoke`'s arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct RevokeArgs {
    /// The token; `-` or none reads it from standard input.
    token: Option<String>,
    #[command(flatten)]
    client: GrantClient,
    /// The revocation endpoint, instead of discovering it.
    #[arg(long, value_name = "URL")]
    revocation_url: Option<String>,
    /// What the token is: `access_token` (default) or `refresh_token` (RFC 7009 §2.1).
    #[arg(long, value_name = "HINT", default_value = "access_token")]
    token_type_hint: String,
}

impl GrantClient {
    /// The client, its endpoints from discovery unless given, `extra` setting more of them.
    async fn build(
        &self,
        extra: impl FnOnce(auth_oauth2::OAuthClientBuilder) -> auth_oauth2::OAuthClientBuilder,
    ) -> Result<OAuthClient, Error> {
        let mut builder = OAuthClient::builder(&self.client_id);
        let http = match &self.issuer {
            Some(issuer) => {
                let (http, metadata) = super::discover(issuer).await?;
                builder = builder.metadata(&metadata);
                http
            }
            None => crate::output::http_client()?,
        };
        if let Some(url) = &self.token_url {
            builder = builder.token_endpoint(url.clone());
        }
        builder = builder.http_client(Arc::new(http));
        builder = builder.client_auth(match &self.client_secret_env {
            Some(var) => ClientAuth::SecretBasic(crate::output::secret_from_env(var)?),
            None => ClientAuth::Public,
        });
        if !self.scopes.is_empty() {
            builder = builder.scopes(self.scopes.join(" "));
        }
        extra(builder).build().map_err(Error::config)
    }
}

/// A refusal by the authorization server is exit 1 with its error code; anything else 2.
fn refused(e: &auth_oauth2::Error) -> Error {
    match e.server_error() {
        Some(server) => Error::Rejected {
            reason: server.code().as_str().to_owned().into(),
            message: e.to_string(),
        },
        None => Error::with_causes(e),
    }
}

/// Prints a token response: the access token (with `--json`, every member, the refresh token
/// included: it is the caller's own, and the way to keep it).
pub(crate) fn print_tokens(tokens: &TokenSet, out: Output) -> Result<(), Error> {
    let text = |s: &auth_core::Secret| {
        s.expose_str()
            .map(str::to_owned)
            .map_err(|_| Error::config("a token is not text"))
    };
    let access = text(tokens.access_token())?;
    let refresh = tokens.refresh_token().map(text).transpose()?;
    let value = json!({
        "access_token": access,
        "token_type": match tokens.token_type() {
            auth_oauth2::TokenType::DPoP => "DPoP",
            _ => "Bearer",
        },
        "expires_at": tokens.expires_at().map(|t| t.as_secs()),
        "scope": tokens.scopes().map(ToString::to_string),
        "refresh_token": refresh,
    });
    out.result(&value, || access.clone());
    Ok(())
}

/// `auth oauth2 device`: shows where to approve, then polls until the user has.
pub(crate) async fn device(args: &DeviceArgs, out: Output) -> Result<(), Error> {
    let client = args
        .client
        .build(|b| match &args.device_url {
            Some(url) => b.device_authorization_endpoint(url.clone()),
            None => b,
        })
        .await?;
    let started = client
        .device_authorization()
        .await
        .map_err(|e| refused(&e))?;
    let open = started
        .verification_uri_complete()
        .unwrap_or(started.verification_uri());
    // On standard error even with --json: the user must see it, and stdout stays one document.
    crate::output::stderr_line(&format!(
        "To sign in, open {open} and enter the code {}",
        started.user_code()
    ));
    let tokens = loop {
        match client.poll_device_token(&started).await {
            Ok(DevicePoll::Ready(tokens)) => break tokens,
            Ok(DevicePoll::Pending { retry_in }) => tokio::time::sleep(retry_in).await,
            Ok(_) => return Err(Error::config("unexpected device poll answer")),
            Err(e) => return Err(refused(&e)),
        }
    };
    print_tokens(&tokens, out)
}

/// `auth oauth2 refresh`.
pub(crate) async fn refresh(args: &RefreshArgs, out: Output) -> Result<(), Error> {
    let client = args.client.build(|b| b).await?;
    let refresh_token = crate::output::secret_from_env(&args.refresh_token_env)?;
    let tokens = client
        .refresh(&refresh_token)
        .await
        .map_err(|e| refused(&e))?;
    print_tokens(&tokens, out)
}

/// `auth oauth2 revoke`.
pub(crate) async fn revoke(args: &RevokeArgs, out: Output) -> Result<(), Error> {
    let kind = match args.token_type_hint.as_str() {
        "access_token" => TokenKind::Access,
        "refresh_token" => TokenKind::Refresh,
        other => {
            return Err(Error::config(format!(
                "--token-type-hint {other:?}: access_token or refresh_token"
            )));
        }
    };
    let token = auth_core::Secret::new(crate::jwt::token_arg(args.token.as_deref())?);
    let client = args
        .client
        .build(|b| match &args.revocation_url {
            Some(url) => b.revocation_endpoint(url.clone()),
            None => b,
        })
        .await?;
    client.revoke(&token, kind).await.map_err(|e| refused(&e))?;
    out.result(&json!({"revoked": true}), || "revoked".to_owned());
    Ok(())
}
