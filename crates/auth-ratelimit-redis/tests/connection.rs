//! The limiter's connection, counted: `connect` opens it before the first decision, and
//! limiters made by `with_policy` share it. Each test puts a relay of its own between the
//! limiters and the shared Redis (`AUTH_RS_REDIS_URL`, started by `.ci/services`), a loopback
//! listener on port 0 that counts the connections it accepts.
#![allow(clippy::unwrap_used)]

mod common;
use common::{prefix, url};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use auth_ratelimit::{Error, Outcome, Quota};
use auth_ratelimit_redis::RedisLimiter;
use tokio::net::{TcpListener, TcpStream};

/// A loopback relay to the shared Redis, counting the connections it accepts; it accepts
/// only once `open` is called.
struct Relay {
    listener: Option<TcpListener>,
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Relay {
    async fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        Self {
            listener: Some(listener),
            port,
            accepted: Arc::default(),
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts accepting: each connection relayed to the shared Redis.
    fn open(&mut self) {
        let listener = self.listener.take().unwrap();
        let accepted = Arc::clone(&self.accepted);
        let redis = url();
        let target = redis
            .trim_start_matches("redis://")
            .rsplit('@')
            .next()
            .unwrap()
            .to_owned();
        tokio::spawn(async move {
            loop {
                let (mut inbound, _) = listener.accept().await.unwrap();
                accepted.fetch_add(1, Ordering::SeqCst);
                let target = target.clone();
                tokio::spawn(async move {
                    let mut outbound = TcpStream::connect(target).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
            }
        });
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

fn hourly(burst: u32) -> Quota {
    Quota::per_hour(1).unwrap().with_burst(burst).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_opens_the_one_connection_that_limiters_with_other_policies_share() {
    let mut relay = Relay::bind().await;
    relay.open();
    // A budget no loaded CI machine runs out of: a reconnection would be counted.
    let base = RedisLimiter::builder(relay.url(), hourly(5))
        .prefix(prefix("shared-base"))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    assert_eq!(relay.accepted(), 0, "building connects lazily");
    base.connect().await.unwrap();
    assert_eq!(relay.accepted(), 1, "connect opens the connection");
    let siblings: Vec<RedisLimiter> = (0..3)
        .map(|i| {
            base.with_policy(hourly(2), prefix(&format!("shared-{i}")))
                .unwrap()
        })
        .collect();
    for limiter in &siblings {
        // Each enforces its own policy under its own prefix.
        for expected in [Outcome::Allowed, Outcome::Allowed, Outcome::Limited] {
            assert_eq!(limiter.check("k", 1).await.unwrap().outcome(), expected);
        }
    }
    assert_eq!(base.check("k", 1).await.unwrap().remaining(), 4);
    assert_eq!(relay.accepted(), 1, "one connection for the four limiters");
    // The twin: a limiter built on its own opens a connection of its own, which the relay
    // counts.
    let separate = RedisLimiter::builder(relay.url(), hourly(2))
        .prefix(prefix("separate"))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    assert_eq!(
        separate.check("k", 1).await.unwrap().outcome(),
        Outcome::Allowed
    );
    assert_eq!(relay.accepted(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_to_a_server_that_does_not_answer_is_unavailable_then_the_limiter_connects() {
    // The relay is bound but not accepting: the kernel completes the TCP handshake, nothing
    // answers, and the limiter's timeout runs out (half of it to connect, half to answer:
    // 1 s each, ample for the relay once it accepts).
    let mut relay = Relay::bind().await;
    let limiter = RedisLimiter::builder(relay.url(), hourly(2))
        .prefix(prefix("late"))
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let refused = limiter.connect().await.unwrap_err();
    assert!(matches!(refused, Error::Unavailable { .. }), "{refused:?}");
    let shown = refused.to_string();
    assert!(shown.contains(&relay.port.to_string()), "{shown}");
    // Once the server answers, the same limiter connects and decides.
    relay.open();
    limiter.connect().await.unwrap();
    assert_eq!(
        limiter.check("k", 1).await.unwrap().outcome(),
        Outcome::Allowed
    );
}
