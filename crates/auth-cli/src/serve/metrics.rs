//! `GET /metrics`: the gateway's counters and histograms in the Prometheus text format,
//! recorded through the `metrics` facade and rendered by its Prometheus exporter (no listener
//! of its own: the gateway answers the route).
//!
//! | metric | labels |
//! |---|---|
//! | `auth_decisions_total` | `route` (`api`, `verify`, a configured route's prefix such as `/orders`, `none` when no route allowed the request), `outcome` (`allowed`, `bad_request`, `unauthenticated`, `forbidden`, `rate_limited`, `unavailable`, `error`) |
//! | `auth_decision_seconds` (histogram) | `route` |
//! | `auth_upstream_responses_total` | `status` (the upstream's, or `502`/`504` for the gateway's own answer when it failed) |
//! | `auth_upstream_seconds` (histogram) | |

use std::sync::OnceLock;
use std::time::Duration;

use http::StatusCode;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Buckets for latencies, in seconds: 50 µs to 10 s.
const BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder (once per process); `false` when another recorder was there.
pub(crate) fn install() -> bool {
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .ok()?
                .install_recorder()
                .ok()
        })
        .is_some()
}

/// The text exposition of everything recorded so far.
pub(crate) fn render() -> String {
    HANDLE
        .get()
        .and_then(Option::as_ref)
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}

/// The `200` with the text exposition.
pub(crate) fn response() -> http::Response<String> {
    let mut response = http::Response::new(render());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

/// One gate decision on `route`, answered `status` after `elapsed`.
pub(crate) fn decision(route: &Label, status: StatusCode, elapsed: Duration) {
    metrics::counter!("auth_decisions_total", "route" => route.clone(), "outcome" => outcome(status))
        .increment(1);
    metrics::histogram!("auth_decision_seconds", "route" => route.clone()).record(elapsed);
}

/// A decision's `route` label: `api`, `verify`, a configured route's prefix, or `none`
/// (no route allowed the request).
/// A route's label is made once, when its route is (an `Arc` inside): no allocation per
/// request.
pub(crate) type Label = metrics::SharedString;

/// One upstream exchange: its status (or the gateway's 502/504) after `elapsed`.
pub(crate) fn upstream(status: StatusCode, elapsed: Duration) {
    metrics::counter!("auth_upstream_responses_total", "status" => status.as_str().to_owned())
        .increment(1);
    metrics::histogram!("auth_upstream_seconds").record(elapsed);
}

fn outcome(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "allowed",
        400 => "bad_request",
        401 => "unauthenticated",
        403 => "forbidden",
        429 => "rate_limited",
        503 => "unavailable",
        _ => "error",
    }
}
