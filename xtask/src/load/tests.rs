//! The load generator's tests: its command line and loopback check, and short runs against a
//! hyper server started on 127.0.0.1:0 inside the test. Nothing here asserts a timing.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::*;

fn args(line: &str) -> Result<Args, String> {
    let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    parse_args(&words)
}

#[test]
fn only_plain_http_to_loopback_is_accepted() {
    for ok in [
        "http://127.0.0.1:8080/",
        "http://127.0.0.1",
        "http://[::1]:3000/x?y=1",
        "http://localhost:3000/health",
        "http://LocalHost:3000",
        "http://user:pw@127.0.0.1:9/",
        "http://[0:0:0:0:0:0:0:1]:1/",
    ] {
        assert!(parse_url(ok).is_ok(), "{ok} refused: {:?}", parse_url(ok));
    }
    for refused in [
        "http://10.0.0.1:8080/",
        "http://0.0.0.0:8080/",
        "http://127.0.0.2:8080/",
        "http://[::ffff:127.0.0.1]:80/",
        "http://example.com/",
        "http://localhost.example.com/",
        "http://127.0.0.1.nip.io/",
        "http://evil.com@10.0.0.1/",
        "https://127.0.0.1:8443/",
        "ftp://127.0.0.1/",
        "127.0.0.1:8080",
        "/just/a/path",
        "not a url",
    ] {
        assert!(parse_url(refused).is_err(), "{refused} accepted");
    }
}

#[test]
fn url_parts_are_kept_for_the_request() {
    let u = parse_url("http://user:pw@[::1]:3000/a/b?c=d").expect("loopback");
    assert_eq!((u.host.as_str(), u.port), ("::1", 3000));
    assert_eq!(u.authority, "[::1]:3000");
    assert_eq!(u.path, "/a/b?c=d");
    let u = parse_url("http://localhost").expect("loopback");
    assert_eq!((u.port, u.path.to_string().as_str()), (80, "/"));
}

#[test]
fn command_line() {
    let a = args("--url http://127.0.0.1:1/").expect("valid");
    assert_eq!(a.plan.connections, 1);
    assert_eq!(a.plan.duration, Duration::from_secs(10));
    assert_eq!(a.plan.warmup, Duration::from_secs(1));
    assert!(!a.json && a.headers.is_empty() && a.urls.len() == 1);
    assert_eq!(a.threads, None);

    let a = args(
        "--compare http://127.0.0.1:1/ http://localhost:2/ --connections 64 --duration 2.5 \
         --warmup 0 --threads 1 --header authorization:Bearer --header x-a:1 --json",
    )
    .expect("valid");
    assert_eq!(a.urls.len(), 2);
    assert_eq!(a.plan.connections, 64);
    assert_eq!(a.plan.duration, Duration::from_millis(2500));
    assert_eq!(a.plan.warmup, Duration::ZERO);
    assert_eq!(a.threads, Some(1));
    assert_eq!(a.headers.len(), 2);
    assert_eq!(a.headers[0].0, "authorization");
    assert_eq!(a.headers[0].1, "Bearer");
    assert!(a.json);

    for bad in [
        "",
        "--json",
        "--url",
        "--url http://10.1.1.1/",
        "--url http://127.0.0.1/ --url http://127.0.0.1/",
        "--compare http://127.0.0.1/",
        "--url http://127.0.0.1/ --connections 0",
        "--url http://127.0.0.1/ --connections many",
        "--url http://127.0.0.1/ --duration 0",
        "--url http://127.0.0.1/ --threads 0",
        "--url http://127.0.0.1/ --warmup -1",
        "--url http://127.0.0.1/ --header no-colon",
        "--url http://127.0.0.1/ --frobnicate",
    ] {
        assert!(args(bad).is_err(), "{bad:?} accepted");
    }
    assert_eq!(
        parse_header("X-Api-Key:  sk_live_1 ").expect("valid").1,
        "sk_live_1"
    );
}

/// A server on 127.0.0.1:0 answering 200 and 503 in turn with a 5-byte body, 400 when the
/// generator's header is missing, 421 on a wrong `Host`; with `close`, it ends every
/// connection after one response. Returns the URL and the count of requests it served.
async fn server(close: bool) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let served = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&served);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let count = Arc::clone(&count);
            let service = service_fn(move |req: Request<Incoming>| {
                let n = count.fetch_add(1, Ordering::Relaxed);
                let host_ok = req.headers()["host"] == addr.to_string().as_str();
                let status = match (req.headers().get("x-load"), host_ok) {
                    (_, false) => 421,
                    (Some(v), true) if v == "yes" => [200, 503][(n % 2) as usize],
                    _ => 400,
                };
                let mut response = Response::builder().status(status);
                if close {
                    response = response.header("connection", "close");
                }
                let response = response.body(Full::new(Bytes::from_static(b"hello")));
                async move { Ok::<_, Infallible>(response.expect("response")) }
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
    (format!("http://{addr}/load?x=1"), served)
}

async fn run(url: &str, connections: usize, duration_ms: u64) -> Report {
    run_at(url, connections, duration_ms, None).await
}

async fn run_at(url: &str, connections: usize, duration_ms: u64, rate: Option<f64>) -> Report {
    let url = parse_url(url).expect("loopback URL");
    let header = parse_header("x-load: yes").expect("header");
    let target = resolve(&url, &[header]).await.expect("resolved");
    let plan = Plan {
        connections,
        warmup: Duration::from_millis(200),
        duration: Duration::from_millis(duration_ms),
        rate,
    };
    client::measure(&target, plan).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_connections_make_requests_and_count_statuses() {
    let (url, served) = server(false).await;
    let report = run(&url, 2, 1000).await;
    assert!(report.requests > 0, "{report:#?}");
    assert_eq!(report.errors, 0, "{report:#?}");
    // Both statuses, nothing else: the header and Host reached the server.
    assert_eq!(
        report.statuses.keys().copied().collect::<Vec<_>>(),
        [200, 503],
        "{report:#?}"
    );
    assert_eq!(report.statuses.values().sum::<u64>(), report.requests);
    assert_eq!(report.body_bytes, 5 * report.requests);
    // Keep-alive: one connection each for the whole run.
    assert_eq!(report.connects, 2);
    // The warmup's requests were served and not counted.
    assert!(served.load(Ordering::Relaxed) > report.requests);
    let latency = report.latency.expect("samples");
    assert!(latency.p50 <= latency.p99 && latency.p99 <= latency.max);
    let json = report.json();
    assert_eq!(json["requests"], report.requests);
    assert_eq!(json["connections"], 2);
    assert!(json["latency_us"]["p99_9"].is_u64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_sends_no_more_than_its_schedule() {
    let (url, served) = server(false).await;
    // 100 a second over 4 connections for 1 s after 0.2 s of warmup: 120 requests are due in
    // all (each connection's first at the start, the rest every 40 ms), 100 in the window.
    let report = run_at(&url, 4, 1000, Some(100.0)).await;
    assert!(report.requests > 0, "{report:#?}");
    assert_eq!(report.errors, 0, "{report:#?}");
    assert!(report.requests <= 100 + 4, "{report:#?}");
    assert!(served.load(Ordering::Relaxed) <= 120 + 4);
    // The same server unscheduled sends many more in a tenth of the time.
    let flat_out = run(&url, 4, 100).await;
    assert!(flat_out.requests > 0, "{flat_out:#?}");
}

#[test]
fn a_schedule_staggers_connections_evenly() {
    let plan = Plan {
        connections: 4,
        warmup: Duration::ZERO,
        duration: Duration::from_secs(1),
        rate: Some(100.0),
    };
    let start = tokio::time::Instant::now();
    let offsets: Vec<Duration> = (0..4)
        .map(|i| client::Schedule::new(plan, i, start).expect("a rate").next - start)
        .collect();
    assert_eq!(
        offsets,
        [0, 10, 20, 30].map(Duration::from_millis),
        "40 ms apart on each connection, 10 ms across them"
    );
    let unscheduled = Plan { rate: None, ..plan };
    assert!(client::Schedule::new(unscheduled, 0, start).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_ending_keep_alive_costs_connections_not_errors() {
    let (url, _) = server(true).await;
    let report = run(&url, 2, 500).await;
    assert!(report.requests > 0, "{report:#?}");
    assert_eq!(report.errors, 0, "{report:#?}");
    assert!(report.connects > 2, "{report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_port_counts_errors_and_ends() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    let report = run(&format!("http://{addr}/"), 2, 300).await;
    assert_eq!(report.requests, 0);
    assert!(report.latency.is_none());
    assert!(report.errors > 0, "{report:#?}");
    assert!(
        report
            .error_kinds
            .keys()
            .all(|k| k.starts_with("connect: ")),
        "{report:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_hanging_up_unanswered_counts_errors_and_ends() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    let report = run(&format!("http://{addr}/"), 2, 300).await;
    assert_eq!(report.requests, 0);
    assert!(report.errors > 0, "{report:#?}");
    assert!(report.connects > 2, "{report:#?}");
}
