//! The gateway under faults: more connections than it takes, a client that never finishes
//! its head, an upstream that drops the connection mid-body, a declared 1 GiB body, and a
//! shutdown with a request in flight.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::serve_gateway::Upstream;
use crate::server::{Server, create_key};
use crate::support::temp_dir;

/// A client that opens a new connection for each request and keeps none.
fn fresh() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

fn addr(server: &Server) -> String {
    server.url.trim_start_matches("http://").to_owned()
}

#[tokio::test]
async fn connections_over_the_limit_get_503_and_a_freed_slot_serves_again() {
    let dir = temp_dir("faults-connections");
    let (server, _) = Server::with_config(&dir, r#"{"max_connections": 3}"#);
    let health = server.at("/healthz");
    // Three idle connections take every slot (each served once, so surely held, then kept
    // open): the positive twin is their 200.
    let mut idle: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = TcpStream::connect(addr(&server)).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut buf = [0u8; 12];
            s.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"HTTP/1.1 200");
            s
        })
        .collect();
    // A fourth connection is answered at once, before it says anything, and closed.
    let mut over = TcpStream::connect(addr(&server)).unwrap();
    let mut answer = String::new();
    over.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 1"), "{answer}");
    // One goes away: its slot serves the next connection (once the server saw it close).
    drop(idle.pop());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(r) = fresh().get(&health).send().await
            && r.status() == StatusCode::OK
        {
            break;
        }
        assert!(Instant::now() < deadline, "the freed slot was never reused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn a_head_that_never_ends_is_cut_off_and_a_whole_one_is_served() {
    let dir = temp_dir("faults-slowloris");
    let (server, _) = Server::with_config(&dir, r#"{"header_timeout_secs": 1}"#);
    let mut whole = TcpStream::connect(addr(&server)).unwrap();
    whole
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 12];
    whole.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"HTTP/1.1 200");

    let mut slow = TcpStream::connect(addr(&server)).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    // The server closes the connection (perhaps after a 408): the read ends, not times out.
    let ended = slow.read_to_end(&mut rest);
    assert!(ended.is_ok(), "still open after {:?}", started.elapsed());
    assert!(
        !String::from_utf8_lossy(&rest).contains(" 200 "),
        "{rest:?}"
    );
}

#[tokio::test]
async fn an_upstream_dropping_mid_body_leaves_the_gateway_serving() {
    let upstream = Upstream::start();
    let data = temp_dir("faults-reset").join("data");
    let server = Server::start(&data, &["--upstream", &upstream.url]);
    let (key, _) = create_key(&data, "alice", &["read"]);
    let http = fresh();
    let broken = http
        .get(server.at("/reset"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::OK, "the head came through");
    assert!(
        broken.bytes().await.is_err(),
        "a cut body must not look whole"
    );
    let next = http
        .get(server.at("/orders"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(next.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_declared_gigabyte_is_refused_before_it_is_sent() {
    let upstream = Upstream::start();
    let data = temp_dir("faults-body").join("data");
    let server = Server::start(&data, &["--upstream", &upstream.url]);
    let (key, _) = create_key(&data, "alice", &["read"]);
    let mut s = TcpStream::connect(addr(&server)).unwrap();
    let head = format!(
        "POST /upload HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\nContent-Length: 1073741824\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"HTTP/1.1 413");
    assert!(upstream.seen().await.is_empty());
}

#[tokio::test]
async fn shutdown_lets_the_request_in_flight_finish() {
    let upstream = Upstream::start();
    let data = temp_dir("faults-drain").join("data");
    let server = Server::start(&data, &["--upstream", &upstream.url]);
    let (key, _) = create_key(&data, "alice", &["read"]);
    let request = fresh()
        .get(server.at("/slow/1"))
        .header("x-api-key", &key)
        .send();
    let in_flight = tokio::spawn(request);
    // Once the upstream holds it, stop the gateway.
    let deadline = Instant::now() + Duration::from_secs(10);
    while upstream.seen().await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the request never reached the upstream"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let code = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(code, Some(0));
}

/// Ten thousand idle connections (the default `max_connections`) are held without harm: the
/// server still answers on one of them, and the next connection gets the 503.
#[test]
fn ten_thousand_idle_connections_are_held_and_one_more_is_refused() {
    const IDLE: usize = 10_000;
    let dir = temp_dir("faults-idle");
    // Heads may take a minute: the idle connections must outlive the opening of the rest.
    let (server, _) = Server::with_config(&dir, r#"{"header_timeout_secs": 60}"#);
    let mut idle = Vec::with_capacity(IDLE);
    for i in 0..IDLE {
        match TcpStream::connect(addr(&server)) {
            Ok(s) => idle.push(s),
            Err(e) => panic!(
                "connection {i}: {e} (this test needs `ulimit -n` above {}; .ci/run raises it)",
                2 * IDLE
            ),
        }
    }
    let mut over = TcpStream::connect(addr(&server)).unwrap();
    let mut answer = String::new();
    over.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    // Every one of them is still served.
    for i in [0, IDLE / 2, IDLE - 1] {
        let s = &mut idle[i];
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"HTTP/1.1 200");
    }
}

#[tokio::test]
async fn a_streamed_body_over_the_routes_limit_is_cut_off_there() {
    let upstream = Upstream::start();
    let dir = temp_dir("faults-chunked");
    let config = format!(
        r#"{{"upstream": "{}", "routes": [{{"prefix": "/", "max_body_bytes": 1000}}]}}"#,
        upstream.url
    );
    let (server, data) = Server::with_config(&dir, &config);
    let (key, _) = create_key(&data, "alice", &["read"]);
    let send = |chunks: usize| {
        let mut s = TcpStream::connect(addr(&server)).unwrap();
        let head = format!(
            "POST /upload HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        s.write_all(head.as_bytes()).unwrap();
        // The gateway may answer and close before the body's end: later writes may fail.
        let mut body = Vec::new();
        for _ in 0..chunks {
            body.extend_from_slice(b"64\r\n");
            body.extend_from_slice(&[b'z'; 100]);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"0\r\n\r\n");
        let _ = s.write_all(&body);
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer
    };
    // The positive twin: 900 bytes, under the limit, arrive whole.
    let under = send(9);
    assert!(under.starts_with("HTTP/1.1 200"), "{under}");
    assert_eq!(
        upstream.seen().await[0]["body_bytes"],
        900,
        "the chunked body, whole"
    );
    // 3,000 bytes: the body stops at the limit and the request fails: a 502, or, when the
    // gateway closed while the rest was still arriving, a reset before it could be read.
    let over = send(30);
    assert!(
        over.is_empty() || over.starts_with("HTTP/1.1 502"),
        "{over}"
    );
}
