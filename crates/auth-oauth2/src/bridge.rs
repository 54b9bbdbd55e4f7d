//! The bridge from auth-core's [`HttpClient`](auth_core::HttpClient) seam to the `oauth2` crate's
//! `AsyncHttpClient`, and the mapping of its errors into ours.
//!
//! Both speak `http::Request<Vec<u8>>` / `http::Response<Vec<u8>>`, so the bridge only adds
//! what we need around each call: the [`Transport`] policy checked on every request (not only
//! at build time), and the response's status and `Date` header remembered for the caller
//! (the `oauth2` crate consumes the response).

use std::sync::Mutex;

use auth_core::transport::redacted_origin;
use auth_core::{
    BoxFuture, Clock, DynHttpClient, HttpError, HttpRequest, HttpResponse, Transport, UnixTime,
};
use oauth2::basic::BasicErrorResponseType;
use oauth2::{AsyncHttpClient, RequestTokenError, StandardErrorResponse};

use crate::error::{Error, ErrorCode, ServerError};
use crate::proof_key::DpopState;

/// What the bridge saw of the last response.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Seen {
    /// The HTTP status.
    pub(crate) status: u16,
    /// The server's `Date` header, if it had a valid one.
    pub(crate) date: Option<UnixTime>,
    /// When the request was sent, by our clock.
    pub(crate) sent_at: UnixTime,
    /// Whether the request carried a DPoP proof.
    pub(crate) proof_sent: bool,
}

/// One use of the [`HttpClient`](auth_core::HttpClient) for `oauth2`: create one per call.
pub(crate) struct Bridge<'a> {
    http: &'a dyn DynHttpClient,
    transport: Transport,
    clock: &'a dyn Clock,
    dpop: Option<&'a DpopState>,
    seen: Mutex<Seen>,
}

impl<'a> Bridge<'a> {
    pub(crate) fn new(
        http: &'a dyn DynHttpClient,
        transport: Transport,
        clock: &'a dyn Clock,
        dpop: Option<&'a DpopState>,
    ) -> Self {
        Self {
            http,
            transport,
            clock,
            dpop,
            seen: Mutex::new(Seen::default()),
        }
    }

    /// What the last response looked like.
    pub(crate) fn seen(&self) -> Seen {
        self.seen.lock().map(|s| *s).unwrap_or_default()
    }
}

impl<'c> AsyncHttpClient<'c> for Bridge<'_> {
    type Error = HttpError;
    type Future = BoxFuture<'c, Result<HttpResponse, HttpError>>;

    fn call(&'c self, mut request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            self.transport.check(request.uri())?;
            // The `oauth2` crate puts the client's credentials here (client_secret_basic)
            // without marking them: marked, HTTP/2 HPACK keeps them out of its dynamic table
            // and transports and logging middleware treat them as secret.
            if let Some(value) = request.headers_mut().get_mut(http::header::AUTHORIZATION) {
                value.set_sensitive(true);
            }
            let sent_at = self.clock.now();
            let (mut response, proof_sent) =
                crate::proof_key::send_token_request(self.http, self.dpop, request).await?;
            // The `oauth2` crate reads the first JSON value and ignores what follows it, and
            // skims members it does not know without checking their bytes or escapes (all
            // found by fuzzing): a body that is not one JSON text (RFC 8259, UTF-8, no lone
            // surrogate) is handed on empty, so that it is refused as not JSON.
            if !is_one_json_text(response.body()) {
                response.body_mut().clear();
            }
            let date = UnixTime::from_date_header(response.headers());
            if let Ok(mut seen) = self.seen.lock() {
                *seen = Seen {
                    status: response.status().as_u16(),
                    date,
                    sent_at,
                    proof_sent,
                };
            }
            Ok(response)
        })
    }
}

/// Whether `body` is empty or one JSON text: UTF-8, one value and whitespace, every string
/// well formed (no lone surrogate), read whole rather than skimmed as the `oauth2` crate
/// skims the members it does not know. Read twice on a token response, which is rare.
fn is_one_json_text(body: &[u8]) -> bool {
    body.is_empty() || serde_json::from_slice::<serde_json::Value>(body).is_ok()
}

/// A name for an endpoint in messages: what it is and its origin, never its path or query.
pub(crate) fn endpoint_name(what: &str, uri: &http::Uri) -> String {
    format!("{what} {}", redacted_origin(uri))
}

/// Maps the `oauth2` crate's error for a call to `endpoint` into ours.
pub(crate) fn map_error(
    endpoint: &str,
    seen: Seen,
    error: RequestTokenError<HttpError, StandardErrorResponse<BasicErrorResponseType>>,
) -> Error {
    match error {
        RequestTokenError::ServerResponse(e) => Error::Server {
            endpoint: endpoint.to_owned(),
            error: ServerError::new(ErrorCode::parse(e.error().as_ref()), seen.status)
                .with_details(e.error_description().cloned(), e.error_uri().cloned()),
        },
        RequestTokenError::Request(source) => Error::Transport {
            endpoint: endpoint.to_owned(),
            source,
        },
        RequestTokenError::Parse(e, _) if seen.status == 200 => {
            // The path and serde's message, never the body (it can hold tokens).
            Error::invalid(
                endpoint,
                format!("not a valid json response at {}", e.path()),
            )
        }
        RequestTokenError::Parse(..) => Error::Status {
            endpoint: endpoint.to_owned(),
            status: seen.status,
        },
        RequestTokenError::Other(why) if seen.status == 200 => Error::invalid(endpoint, why),
        RequestTokenError::Other(_) => Error::Status {
            endpoint: endpoint.to_owned(),
            status: seen.status,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::ManualClock;

    /// Sends `request` through a bridge over `http` (default transport, clock at 5 s); the
    /// outcome and what the bridge recorded.
    fn send(
        http: &dyn DynHttpClient,
        request: HttpRequest,
    ) -> (Result<HttpResponse, HttpError>, Seen) {
        let clock = ManualClock::new(UnixTime::from_secs(5));
        let bridge = Bridge::new(http, Transport::default(), &clock, None);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let outcome = rt.block_on(bridge.call(request));
        (outcome, bridge.seen())
    }

    #[test]
    fn a_body_is_one_json_text_in_utf8_or_nothing() {
        assert!(is_one_json_text(br#"{"access_token":"a"}"#));
        assert!(is_one_json_text(b"{\"access_token\":\"a\"}\r\n  "));
        assert!(is_one_json_text(b""));
        assert!(!is_one_json_text(b"not json"));
        assert!(!is_one_json_text(br#"{"access_token":"a","x":"\ud800"}"#));
        assert!(is_one_json_text(
            br#"{"access_token":"a","x":"\ud83d\ude00"}"#
        ));
        assert!(!is_one_json_text(br#"{"access_token":"a"}{"x":1}"#));
        assert!(!is_one_json_text(br#"{"access_token":"a"} trailing"#));
        assert!(!is_one_json_text(
            b"{\"access_token\":\"a\",\"x\":\"\xff\"}"
        ));
    }

    #[test]
    fn bridge_enforces_transport_and_records_date() {
        let http = |_req: HttpRequest| async {
            Ok::<_, HttpError>(
                http::Response::builder()
                    .status(200)
                    .header("date", "Sun, 06 Nov 1994 08:49:37 GMT")
                    .body(Vec::new())
                    .unwrap(),
            )
        };
        let plain = http::Request::post("http://as.example/token")
            .body(Vec::new())
            .unwrap();
        assert!(send(&http, plain).0.is_err());
        let ok = http::Request::post("https://as.example/token")
            .body(Vec::new())
            .unwrap();
        let (outcome, seen) = send(&http, ok);
        outcome.unwrap();
        assert_eq!(seen.status, 200);
        assert_eq!(seen.date, Some(UnixTime::from_secs(784_111_777)));
        assert_eq!(seen.sent_at, UnixTime::from_secs(5));
    }

    #[test]
    fn client_credentials_leave_marked_sensitive() {
        let http = |req: HttpRequest| async move {
            let marked = req.headers()["authorization"].is_sensitive();
            Ok::<_, HttpError>(
                http::Response::builder()
                    .status(if marked { 200 } else { 500 })
                    .body(Vec::new())
                    .unwrap(),
            )
        };
        // As the `oauth2` crate builds it for client_secret_basic: not marked.
        let request = http::Request::post("https://as.example/token")
            .header(
                "authorization",
                "Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3",
            )
            .body(Vec::new())
            .unwrap();
        let response = send(&http, request).0.unwrap();
        assert_eq!(response.status(), 200, "Authorization was sent unmarked");
    }
}
