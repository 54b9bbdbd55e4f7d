//! The generator: N keep-alive HTTP/1.1 connections on hyper's low-level client, each driven
//! by one task that sends GET requests back to back (a closed loop) and reads every body to
//! its end. The task polls its connection itself, beside the request, so a request costs no
//! hop between tasks or threads.
//!
//! With a rate (`--rate R`), each connection instead sends on a fixed schedule of R/N
//! requests a second, staggered across connections (an open loop, as wrk2 does), and a
//! request's latency counts from the time it was due, not the time it went out: a server that
//! stalls is charged for the requests that waited behind the stall (no coordinated omission).

use std::error::Error;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper::{HeaderMap, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until, timeout_at};

use super::stats::{Report, Tally};

/// A request that takes longer is an error (and its connection is dropped).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// After a failed connect, so a refused port is not hammered.
const RETRY_PAUSE: Duration = Duration::from_millis(10);

/// Where and what to send: a resolved loopback address, the request's path and headers.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The URL as given, for the report.
    pub(crate) url: String,
    pub(crate) addr: SocketAddr,
    /// Origin form: path and query.
    pub(crate) path: Uri,
    /// `Host` and the `--header`s.
    pub(crate) headers: HeaderMap,
}

/// How long and how wide.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub(crate) connections: usize,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    /// Requests a second over all connections (an open loop); `None`: back to back.
    pub(crate) rate: Option<f64>,
}

/// Runs `plan` against `target` on the current tokio runtime.
pub(crate) async fn measure(target: &Target, plan: Plan) -> Report {
    let start = Instant::now();
    let window = start + plan.warmup;
    let end = window + plan.duration;
    let shared = Arc::new(target.clone());
    let tasks: Vec<_> = (0..plan.connections)
        .map(|i| {
            let schedule = Schedule::new(plan, i, start);
            tokio::spawn(connection(Arc::clone(&shared), schedule, window, end))
        })
        .collect();
    let mut tally = Tally::default();
    for task in tasks {
        match task.await {
            Ok(t) => tally.merge(t),
            Err(e) => tally.error(format!("task: {e}")),
        }
    }
    Report::new(
        &target.url,
        plan.connections,
        plan.warmup,
        plan.duration,
        tally,
    )
}

type Body = Empty<Bytes>;

/// One open connection: the handle to send on and the future that drives it.
struct Conn {
    send: SendRequest<Body>,
    driver: Pin<Box<Connection<TokioIo<TcpStream>, Body>>>,
    /// The driver has returned: the connection is closed.
    closed: bool,
    used: u64,
}

enum Failure {
    /// The connection closed while idle (the server ended keep-alive): open another.
    Closed,
    Error(String),
}

/// When one connection's requests are due, with a rate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    pub(crate) next: Instant,
    interval: Duration,
}

impl Schedule {
    /// Connection `i` of `plan`'s: its first request is due at `start` plus its share of one
    /// interval, so the connections' requests interleave evenly.
    pub(crate) fn new(plan: Plan, i: usize, start: Instant) -> Option<Self> {
        let rate = plan.rate?;
        let interval = Duration::from_secs_f64(plan.connections as f64 / rate);
        let offset = interval.mul_f64(i as f64 / plan.connections as f64);
        Some(Self {
            next: start + offset,
            interval,
        })
    }
}

/// One connection's loop until `end`; records what finishes inside `[window, end]`.
async fn connection(
    target: Arc<Target>,
    mut schedule: Option<Schedule>,
    window: Instant,
    end: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let mut open: Option<Conn> = None;
    loop {
        if let Some(s) = schedule {
            if s.next >= end {
                break;
            }
            sleep_until(s.next).await;
        }
        let now = Instant::now();
        if now >= end {
            break;
        }
        let measured = now >= window;
        let mut conn = match open.take() {
            Some(conn) if !conn.closed => conn,
            _ => match timeout_at(end, connect(target.addr)).await {
                Err(_) => break,
                Ok(Ok(conn)) => {
                    tally.connects += 1;
                    conn
                }
                Ok(Err(e)) => {
                    if measured {
                        tally.error(e);
                    }
                    sleep_until((Instant::now() + RETRY_PAUSE).min(end)).await;
                    continue;
                }
            },
        };
        // With a schedule, latency counts from when the request was due.
        let started = schedule.map_or_else(Instant::now, |s| s.next);
        if let Some(s) = schedule.as_mut() {
            s.next += s.interval;
        }
        let deadline = (Instant::now() + REQUEST_TIMEOUT).min(end);
        match timeout_at(deadline, conn.exchange(&target)).await {
            Ok(Ok((status, bytes))) => {
                let finished = Instant::now();
                if started >= window && finished <= end {
                    tally.response(status, finished - started, bytes);
                }
                conn.used += 1;
                open = Some(conn);
            }
            Ok(Err(failure)) => {
                // A connection that never answered: pause, as after a failed connect.
                let fresh = conn.used == 0;
                match failure {
                    Failure::Closed if !fresh => {}
                    _ if !measured => {}
                    Failure::Closed => tally.error("closed before a response".to_owned()),
                    Failure::Error(e) => tally.error(e),
                }
                if fresh {
                    sleep_until((Instant::now() + RETRY_PAUSE).min(end)).await;
                }
            }
            // The run's end came during the request: not counted.
            Err(_) if deadline >= end => break,
            Err(_) if measured => tally.error(format!("no response in {REQUEST_TIMEOUT:?}")),
            Err(_) => {}
        }
    }
    tally
}

async fn connect(addr: SocketAddr) -> Result<Conn, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("set TCP_NODELAY: {e}"))?;
    let (send, driver) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| describe("handshake", &e))?;
    Ok(Conn {
        send,
        driver: Box::pin(driver),
        closed: false,
        used: 0,
    })
}

impl Conn {
    /// One GET, its body read to the end: the status and the body's length.
    async fn exchange(&mut self, target: &Target) -> Result<(u16, u64), Failure> {
        let Self {
            send,
            driver,
            closed,
            ..
        } = self;
        let work = async {
            send.ready().await.map_err(|_| Failure::Closed)?;
            let mut request = Request::new(Body::new());
            *request.uri_mut() = target.path.clone();
            *request.headers_mut() = target.headers.clone();
            let response = send
                .send_request(request)
                .await
                .map_err(|e| Failure::Error(describe("request", &e)))?;
            let status = response.status().as_u16();
            let mut body = response.into_body();
            let mut bytes = 0;
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| Failure::Error(describe("body", &e)))?;
                if let Some(data) = frame.data_ref() {
                    bytes += data.len() as u64;
                }
            }
            Ok((status, bytes))
        };
        let mut work = std::pin::pin!(work);
        loop {
            tokio::select! {
                biased;
                out = &mut work => return out,
                // Drives reads and writes; when it returns, `work` fails or finishes next.
                _ = driver.as_mut(), if !*closed => *closed = true,
            }
        }
    }
}

/// The error with its sources, as one line.
fn describe(what: &str, e: &dyn Error) -> String {
    let mut text = format!("{what}: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
