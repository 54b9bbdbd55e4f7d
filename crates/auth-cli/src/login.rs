//! `auth oauth2 login`: the authorization code flow with PKCE for a command-line tool
//! (RFC 8252): a redirect listener on `127.0.0.1`, the URL printed for the user to open, the
//! callback checked (state, RFC 9207 `iss`) and the code exchanged by auth-oauth2. Callbacks
//! without this sign-in's state are answered and ignored until the right one or the timeout.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use auth_oauth2::{ClientAuth, OAuthClient};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::sync::{Notify, mpsc, oneshot};

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
        Some(var) => builder.client_auth(ClientAuth::SecretBasic(secret_from_env(var)?)),
        None => builder.client_auth(ClientAuth::Public),
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

    // Callbacks that do not carry this sign-in's state (a stale tab, another program, a
    // forged link) are answered, logged and ignored: the right one may still come.
    let deadline = tokio::time::Instant::now() + request.timeout;
    let mut callbacks = serve_callbacks(listener);
    let callback = loop {
        let next = tokio::time::timeout_at(deadline, callbacks.recv())
            .await
            .map_err(|_| Error::config("no browser came back before the timeout"))?
            .ok_or_else(|| Error::config("the callback listener stopped"))?;
        if carries_state(&next.target, pending.state()) {
            break next;
        }
        stderr_line("auth: ignored a callback without this sign-in's state; still waiting");
        next.refuse_stray().await;
    };
    // Later callbacks are told at once that this sign-in is answered.
    drop(callbacks);
    // With `openid`, the ID token is verified (OpenID Connect Core §3.1.3.7: the provider's
    // keys by discovery, iss, aud, azp, exp, iat, the nonce sent, at_hash) and its claims
    // are printed with the token.
    let openid = request.scopes.iter().any(|s| s == "openid");
    let finished = if openid {
        pending
            .finish_with_id_token::<serde_json::Value>(&client, &callback.target)
            .await
            .map(|(tokens, id)| (tokens, Some(id)))
    } else {
        pending
            .finish(&client, &callback.target)
            .await
            .map(|tokens| (tokens, None))
    };
    let result = finished.map_err(|e| match e.server_error() {
        Some(server) => Error::Rejected {
            reason: server.code().as_str().to_owned().into(),
            message: e.to_string(),
        },
        None => match e {
            auth_oauth2::Error::AuthorizationResponse(_) => Error::Rejected {
                reason: "invalid_callback".into(),
                message: e.to_string(),
            },
            auth_oauth2::Error::IdToken(_) => Error::Rejected {
                reason: "invalid_id_token".into(),
                message: e.to_string(),
            },
            other => Error::with_causes(&other),
        },
    });
    // The browser learns the verdict before the terminal does.
    callback.answer(&result).await;
    let (tokens, id_token) = result?;
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
        "id_token": id_token.as_ref().map(|id| json!({
            "subject": id.subject(),
            "issuer": id.standard().issuer,
            "alg": id.algorithm().as_str(),
            "claims": id.claims(),
        })),
    });
    if let Some(id) = &id_token {
        out.notice(&format!(
            "signed in as {} at {}:\n{}",
            id.subject(),
            id.standard().issuer,
            crate::output::pretty(id.claims())
        ));
    }
    out.result(&value, || access.clone());
    Ok(())
}

/// The browser's request to the callback path, held open until the flow's verdict.
struct Callback {
    /// Its path and query.
    target: String,
    /// Where the page's status and text go.
    verdict: oneshot::Sender<(http::StatusCode, String)>,
    /// Signalled when its connection has closed, the page written.
    written: Arc<Notify>,
}

impl Callback {
    /// Answers the browser: 200 "signed in", or a failure page (400 when the callback or the
    /// code was refused, 502 when the flow could not complete), and waits (briefly) until the
    /// page is written.
    async fn answer<T>(self, result: &Result<T, Error>) {
        let (status, text) = match result {
            Ok(_) => (
                http::StatusCode::OK,
                "signed in: you can close this window and return to the terminal".to_owned(),
            ),
            Err(Error::Rejected { reason, .. }) => (
                http::StatusCode::BAD_REQUEST,
                format!("sign-in failed ({reason}): the terminal says why"),
            ),
            Err(Error::Config(_)) => (
                http::StatusCode::BAD_GATEWAY,
                "sign-in failed: the terminal says why".to_owned(),
            ),
        };
        if self.verdict.send((status, text)).is_ok() {
            let _ = tokio::time::timeout(PAGE_WRITE_TIMEOUT, self.written.notified()).await;
        }
    }
}

/// How long the answer page may take to reach the browser before the command exits anyway.
const PAGE_WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether the callback's query has `state` equal to `expected` (compared in constant time).
fn carries_state(target: &str, expected: &str) -> bool {
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let mut states = form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k == "state");
    match (states.next(), states.next()) {
        (Some((_, got)), None) => {
            aws_lc_rs::constant_time::verify_slices_are_equal(got.as_bytes(), expected.as_bytes())
                .is_ok()
        }
        // None, or a repeated state: not this sign-in's answer.
        _ => false,
    }
}

impl Callback {
    /// Answers a callback that is not this sign-in's.
    async fn refuse_stray(self) {
        let text = "this is not the sign-in the terminal is waiting for: ignored".to_owned();
        if self
            .verdict
            .send((http::StatusCode::BAD_REQUEST, text))
            .is_ok()
        {
            let _ = tokio::time::timeout(PAGE_WRITE_TIMEOUT, self.written.notified()).await;
        }
    }
}

/// Serves the loopback listener in a task of its own, handing each request for the callback
/// path to the returned receiver, unanswered until [`Callback::answer`]; the task stops when
/// the receiver is dropped. Other paths (a browser's `/favicon.ico`) get 404.
fn serve_callbacks(listener: tokio::net::TcpListener) -> mpsc::Receiver<Callback> {
    let (found, receive) = mpsc::channel::<Callback>(8);
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => continue,
                },
                () = found.closed() => return,
            };
            serve_one(stream, found.clone());
        }
    });
    receive
}

/// Serves one connection of the callback listener.
fn serve_one(stream: tokio::net::TcpStream, found: mpsc::Sender<Callback>) {
    let closed = Arc::new(Notify::new());
    let written = Arc::clone(&closed);
    let service = service_fn(move |request: hyper::Request<Incoming>| {
        let found = found.clone();
        let written = Arc::clone(&written);
        async move {
            let uri = request.uri();
            let (status, text) = if uri.path() == CALLBACK_PATH {
                let target = uri.path_and_query().map_or(CALLBACK_PATH, |p| p.as_str());
                let (verdict, answer) = oneshot::channel();
                let callback = Callback {
                    target: target.to_owned(),
                    verdict,
                    written,
                };
                match found.try_send(callback) {
                    Ok(()) => answer
                        .await
                        .unwrap_or((http::StatusCode::CONFLICT, "already answered".to_owned())),
                    Err(mpsc::error::TrySendError::Full(_)) => (
                        http::StatusCode::SERVICE_UNAVAILABLE,
                        "busy: try again".to_owned(),
                    ),
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        (http::StatusCode::CONFLICT, "already answered".to_owned())
                    }
                }
            } else {
                (http::StatusCode::NOT_FOUND, "not found".to_owned())
            };
            let mut response = hyper::Response::new(Full::new(Bytes::from(text)));
            *response.status_mut() = status;
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            // One page per connection: its close tells `answer` the page is out.
            response.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
            Ok::<_, Infallible>(response)
        }
    });
    tokio::spawn(async move {
        let _ = http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .await;
        closed.notify_one();
    });
}
