//! `auth oauth2 login`: the authorization code flow with PKCE for a command-line tool
//! (RFC 8252): a one-shot redirect listener on `127.0.0.1`, the URL printed for the user to
//! open, the callback checked (state, RFC 9207 `iss`) and the code exchanged by auth-oauth2.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use auth_oauth2::OAuthClient;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::sync::mpsc;

use crate::output::{Error, Output, secret_from_env, stderr_line};

/// `auth oauth2 login`'s inputs.
#[derive(Debug)]
pub(crate) struct LoginRequest<'a> {
    /// The issuer; its metadata names the authorization and token endpoints.
    pub(crate) issuer: &'a str,
    /// The client id.
    pub(crate) client_id: &'a str,
    /// A confidential client's secret variable; none for a public client.
    pub(crate) secret_env: Option<&'a str>,
    /// Requested scopes.
    pub(crate) scopes: &'a [String],
    /// The loopback port (0: any free port).
    pub(crate) port: u16,
    /// How long to wait for the browser.
    pub(crate) timeout: Duration,
}

const CALLBACK_PATH: &str = "/callback";

/// Runs the flow: exit 0 and the access token, 1 if the server refused, 2 otherwise.
pub(crate) async fn login(request: LoginRequest<'_>, out: Output) -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", request.port))
        .await
        .map_err(|e| Error::config(format!("cannot listen on 127.0.0.1:{}: {e}", request.port)))?;
    let bound = listener.local_addr().map_err(Error::config)?;
    let redirect_uri = format!("http://{bound}{CALLBACK_PATH}");

    let (http, metadata) = crate::oauth2::discover(request.issuer).await?;
    let mut builder = OAuthClient::builder(request.client_id)
        .metadata(&metadata)
        .redirect_uri(redirect_uri)
        .http_client(Arc::new(http));
    builder = match request.secret_env {
        Some(var) => builder.client_secret_basic(secret_from_env(var)?),
        None => builder.public_client(),
    };
    if !request.scopes.is_empty() {
        builder = builder.scopes(request.scopes.join(" "));
    }
    let client = builder.build().map_err(Error::config)?;
    let (url, pending) = client
        .authorization_request()
        .map_err(Error::config)?
        .into_parts();
    stderr_line(&format!("open this URL in a browser to sign in:\n{url}"));

    let callback = tokio::time::timeout(request.timeout, wait_for_callback(listener))
        .await
        .map_err(|_| Error::config("no browser came back before the timeout"))??;
    let tokens = pending
        .finish(&client, &callback)
        .await
        .map_err(|e| match e.server_error() {
            Some(server) => Error::Rejected {
                reason: server.code().as_str().to_owned().into(),
                message: e.to_string(),
            },
            None => match e {
                auth_oauth2::Error::AuthorizationResponse(_) => Error::Rejected {
                    reason: "invalid_callback".into(),
                    message: e.to_string(),
                },
                other => Error::config(other),
            },
        })?;
    let access = tokens
        .access_token()
        .expose_str()
        .map_err(|_| Error::config("the access token is not text"))?
        .to_owned();
    let value = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_at": tokens.expires_at().map(|t| t.as_secs()),
        "scope": tokens.scopes().map(ToString::to_string),
        "refresh_token_received": tokens.refresh_token().is_some(),
    });
    out.result(&value, || access.clone());
    Ok(())
}

/// Serves the loopback listener until a request for the callback path arrives; returns its
/// path and query. Other paths (a browser's `/favicon.ico`) get 404.
async fn wait_for_callback(listener: tokio::net::TcpListener) -> Result<String, Error> {
    let (found, mut receive) = mpsc::channel::<String>(1);
    let found = Arc::new(Mutex::new(Some(found)));
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted.map_err(Error::config)?,
            Some(callback) = receive.recv() => return Ok(callback),
        };
        let found = Arc::clone(&found);
        let service = service_fn(move |request: hyper::Request<Incoming>| {
            let found = Arc::clone(&found);
            async move {
                let uri = request.uri();
                let (status, text) = if uri.path() == CALLBACK_PATH {
                    let sender = found.lock().unwrap_or_else(PoisonError::into_inner).take();
                    if let Some(sender) = sender {
                        let target = uri.path_and_query().map_or(CALLBACK_PATH, |p| p.as_str());
                        let _ = sender.try_send(target.to_owned());
                    }
                    (
                        200,
                        "signed in: you can close this window and return to the terminal",
                    )
                } else {
                    (404, "not found")
                };
                let mut response =
                    hyper::Response::new(Full::new(Bytes::from_static(text.as_bytes())));
                *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
                Ok::<_, Infallible>(response)
            }
        });
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
