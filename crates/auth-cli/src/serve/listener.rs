//! The listener: accepting connections (plain or TLS) up to `max_connections`, serving
//! HTTP/1.1 on each with a deadline on request heads (slow clients are cut off), handing each
//! request to the app, and draining requests in flight on SIGTERM or Ctrl-C.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::json;

use super::app::{App, Reply};
use super::proxy;
use auth_core::ClientCertificate;

use crate::output::Error;

/// The largest request body read (token requests are a few hundred bytes).
const MAX_BODY: usize = 16 * 1024;

/// How long a TLS handshake, a request head or a request body may take.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The answer to a connection over `max_connections`, before closing it.
const TOO_MANY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
    retry-after: 1\r\nconnection: close\r\ncontent-length: 37\r\n\r\n\
    {\"error\":\"too many open connections\"}";

/// Serves connections until a shutdown signal, then drains the requests in flight (10 s at
/// most). At most `max_connections` are open at once (idle keep-alive ones included); one
/// more is answered 503 and closed. A request head must arrive within `head_timeout`.
pub(crate) async fn accept_loop(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: Arc<App>,
) -> Result<(), Error> {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(app.config.max_connections));
    let head_timeout = app.config.head_timeout;
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    app.log.event("accept_error", &[("error", json!(e.to_string()))]);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            signal = &mut shutdown => {
                app.log.event("shutdown", &[("signal", json!(signal))]);
                break;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt as _;
                let mut stream = stream;
                let _ = tokio::time::timeout(IO_TIMEOUT, stream.write_all(TOO_MANY)).await;
            });
            app.log.event(
                "connection_refused",
                &[("reason", json!("max_connections"))],
            );
            continue;
        };
        let app = Arc::clone(&app);
        // The connection's client certificate (RFC 8705), on each of its requests.
        let service = move |cert: Option<ClientCertificate>| {
            service_fn(move |mut request: hyper::Request<Incoming>| {
                let app = Arc::clone(&app);
                if let Some(cert) = &cert {
                    request.extensions_mut().insert(cert.clone());
                }
                async move { Ok::<_, Infallible>(respond(&app, request, peer).await) }
            })
        };
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            // Held while the connection is open.
            let _slot = slot;
            let mut builder = http1::Builder::new();
            // A client that trickles its head in does not hold a connection for long.
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(head_timeout);
            match tls {
                Some(acceptor) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(IO_TIMEOUT, acceptor.accept(stream)).await
                    {
                        let cert = super::tls::client_certificate(stream.get_ref().1);
                        let conn = builder.serve_connection(TokioIo::new(stream), service(cert));
                        let _ = watcher.watch(conn).await;
                    }
                }
                None => {
                    let conn = builder.serve_connection(TokioIo::new(stream), service(None));
                    let _ = watcher.watch(conn).await;
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        app.log.event("shutdown_timeout", &[]);
    }
    app.log.event("stopped", &[]);
    Ok(())
}

/// Proxies a request for the upstream; otherwise reads the body (capped) and lets the app
/// answer.
async fn respond(
    app: &App,
    request: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> hyper::Response<proxy::Body> {
    if let Some(upstream) = &app.upstream
        && !App::is_own(request.uri().path())
    {
        return app.proxy(upstream, request, peer).await;
    }
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(IO_TIMEOUT, Limited::new(body, MAX_BODY).collect()).await;
    let reply = match read {
        Ok(Ok(body)) => app.handle(parts, &body.to_bytes(), peer).await,
        Ok(Err(_)) => Reply::json(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            &json!({"error": "request body too large or unreadable"}),
        ),
        Err(_) => Reply::json(
            http::StatusCode::REQUEST_TIMEOUT,
            &json!({"error": "request body not received in time"}),
        ),
    };
    reply.into_response().map(proxy::full)
}

/// A listener on `addr` whose queue of connections not yet accepted holds 4096 (tokio's
/// default is 1024): a burst of clients waits there instead of retrying its SYN a second
/// later.
pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// Serves `GET /metrics` (and nothing else) on `listener`, for `--metrics-listen`.
pub(crate) async fn serve_metrics(listener: tokio::net::TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let service = service_fn(|request: hyper::Request<Incoming>| async move {
            let response = match (request.method(), request.uri().path()) {
                (&http::Method::GET | &http::Method::HEAD, "/metrics") => {
                    super::metrics::response()
                }
                _ => {
                    let mut r = http::Response::new(String::new());
                    *r.status_mut() = http::StatusCode::NOT_FOUND;
                    r
                }
            };
            Ok::<_, Infallible>(response.map(proxy::full))
        });
        tokio::spawn(async move {
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(IO_TIMEOUT);
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Resolves on Ctrl-C or SIGTERM, naming which.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "interrupt",
                _ = term.recv() => "terminate",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "interrupt"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "interrupt"
    }
}

#[cfg(test)]
mod tests {
    use super::TOO_MANY;

    #[test]
    fn the_refusal_is_one_whole_response() {
        let text = std::str::from_utf8(TOO_MANY).unwrap_or_default();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_default();
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{text}"
        );
        assert!(
            serde_json::from_str::<serde_json::Value>(body).is_ok(),
            "{body}"
        );
    }
}
