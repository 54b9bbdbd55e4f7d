//! Rejections as gRPC answers: HTTP 200 with a trailers-only response whose `grpc-status` says
//! why, as gRPC clients expect (an HTTP 401 would surface as a transport error instead).

use auth_core::{Denial, Error, RejectionKind};
use http::{HeaderValue, Response, StatusCode};

/// The gRPC status code for a denial: 16 `UNAUTHENTICATED` for a missing, malformed or invalid
/// credential, 7 `PERMISSION_DENIED` for a missing scope, 8 `RESOURCE_EXHAUSTED` for a rate
/// limit, 14 `UNAVAILABLE` when no decision could be reached, 13 `INTERNAL` for
/// misconfiguration.
pub fn grpc_status(denial: &Denial) -> u8 {
    match denial {
        Denial::Rejected(r) => match r.kind() {
            RejectionKind::InsufficientScope => 7,
            RejectionKind::RateLimited => 8,
            _ => 16,
        },
        Denial::Failed(Error::Unavailable { .. }) => 14,
        _ => 13,
    }
}

/// The gRPC response for `denial`: status 200, `content-type: application/grpc`,
/// `grpc-status` and a fixed `grpc-message`, and the denial's own headers
/// (`WWW-Authenticate`, `Retry-After`, `RateLimit`), with an empty body.
pub fn grpc_response(denial: &Denial) -> Response<String> {
    let http = denial.to_response();
    let (mut parts, _) = http.into_parts();
    let message = match grpc_status(denial) {
        7 => "insufficient scope",
        8 => "rate limited",
        14 => "authentication temporarily unavailable",
        13 => "internal error",
        _ => "unauthenticated",
    };
    parts.status = StatusCode::OK;
    parts.headers.remove(http::header::CACHE_CONTROL);
    parts.headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    parts.headers.insert(
        "grpc-status",
        HeaderValue::from(u16::from(grpc_status(denial))),
    );
    parts
        .headers
        .insert("grpc-message", HeaderValue::from_static(message));
    Response::from_parts(parts, String::new())
}
