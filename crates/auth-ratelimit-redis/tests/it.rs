//! Integration tests against a real Redis: the shared one at `AUTH_RS_REDIS_URL` (default
//! `redis://127.0.0.1:6379`, started by `.ci/services`), and, for the failure policy, a
//! redis-server of the test's own on a free loopback port, so stopping it disturbs no one.
//! Every test uses its own key prefix. The TLS tests use the TLS-only redis-server of
//! `.ci/services` at `AUTH_RS_REDIS_TLS_URL` (default `rediss://127.0.0.1:6380`), whose
//! certificate a throwaway CA signed: `ca.pem` in `AUTH_RS_TLS_DIR` (default
//! `$AUTH_RS_PEERS_DIR/tls`); `other-ca.pem` there is a CA that signed nothing.
#![allow(clippy::unwrap_used)]

mod common;
use common::{prefix, redis_conn, url};

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_ratelimit::{Error, Outcome, Policy, Quota};
use auth_ratelimit_redis::{FailurePolicy, RedisLimiter};

#[path = "../../../.ci/tls_files.rs"]
mod tls_files;
use tls_files::{chain, tls_file};

fn tls_url() -> String {
    std::env::var("AUTH_RS_REDIS_TLS_URL").unwrap_or_else(|_| "rediss://127.0.0.1:6380".to_owned())
}

fn hourly(burst: u32) -> Quota {
    Quota::per_hour(1).unwrap().with_burst(burst).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_refusal_headers_and_key_expiry() {
    let prefix = prefix("burst");
    let limiter = RedisLimiter::builder(url(), hourly(3))
        .prefix(&prefix)
        .build()
        .unwrap();
    for left in [2, 1, 0] {
        let d = limiter.check("alice", 1).await.unwrap();
        assert_eq!(d.outcome(), Outcome::Allowed);
        assert_eq!(d.remaining(), left);
    }
    let refused = limiter.check("alice", 1).await.unwrap();
    assert_eq!(refused.outcome(), Outcome::Limited);
    let retry = refused.retry_after().unwrap();
    assert!(
        retry <= Duration::from_secs(3600) && retry > Duration::from_secs(3590),
        "{retry:?}"
    );
    let response = limiter.enforce(&refused).unwrap_err().to_response();
    assert_eq!(response.status(), 429);
    // Whole seconds rounded up, from the decision itself: Redis's clock moves while the
    // requests above run, so a fixed "3600" would depend on how fast they were.
    let ceil = |d: Duration| d.as_secs() + u64::from(d.subsec_nanos() > 0);
    assert_eq!(response.headers()["retry-after"], ceil(retry).to_string());
    assert!((3590..=3600).contains(&ceil(retry)));
    assert_eq!(
        response.headers()["ratelimit"],
        format!(r#""1-per-3600s";r=0;t={}"#, ceil(refused.reset()))
    );
    assert!((10_790..=10_800).contains(&ceil(refused.reset())));

    // Other keys are untouched.
    assert!(limiter.check("bob", 1).await.unwrap().is_allowed());

    // The key expires when fully replenished: three hours from the first request.
    let mut conn = redis_conn(&url()).await;
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("{prefix}alice"))
        .query_async(&mut conn)
        .await
        .unwrap();
    // The expiry is the replenish instant rounded up to Redis's milliseconds (PXAT), and
    // PTTL counts from the current millisecond rounded down: up to 1 ms over three hours.
    assert!(ttl > 10_790_000 && ttl <= 10_800_001, "{ttl}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_charges_no_quota_and_cost_is_checked() {
    let prefix = prefix("multi");
    let policy = Policy::new(Quota::per_second(100).unwrap()).quota(hourly(2));
    let limiter = RedisLimiter::builder(url(), policy)
        .prefix(&prefix)
        .build()
        .unwrap();
    assert!(limiter.check("k", 2).await.unwrap().is_allowed());
    let refused = limiter.check("k", 1).await.unwrap();
    assert!(!refused.is_allowed());
    // The per-second quota admitted in trial but was not charged.
    let per_second = refused.policies().next().unwrap();
    assert!(per_second.remaining >= 98, "{per_second:?}");
    assert!(per_second.retry_after.is_none());
    assert!(matches!(
        limiter.check("k", 3).await,
        Err(Error::CostExceedsBurst { cost: 3, burst: 2 })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_admit_exactly_the_global_quota() {
    let prefix = prefix("fleet");
    let instances: Vec<Arc<RedisLimiter>> = (0..3)
        .map(|_| {
            Arc::new(
                RedisLimiter::builder(url(), hourly(40))
                    .prefix(&prefix)
                    .build()
                    .unwrap(),
            )
        })
        .collect();
    let mut tasks = Vec::new();
    for instance in &instances {
        for _ in 0..30 {
            let instance = Arc::clone(instance);
            tasks.push(tokio::spawn(async move {
                instance.check("shared", 1).await.unwrap().is_allowed()
            }));
        }
    }
    let mut admitted = 0;
    for t in tasks {
        admitted += usize::from(t.await.unwrap());
    }
    assert_eq!(admitted, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_principals_own_quota_is_enforced_alone_and_apart_from_the_default() {
    use auth_core::OwnQuota;
    use auth_core::{CredentialKind, Gate as _, Principal, RateLimit};

    let prefix = prefix("own");
    let limiter = RedisLimiter::builder(url(), hourly(60).named("default").unwrap())
        .prefix(&prefix)
        .build()
        .unwrap();
    let gate = RateLimit::per_principal(limiter).with_own_quotas();
    let two = std::num::NonZeroU32::new(2).unwrap();
    let own = OwnQuota::new("K2", two, Duration::from_secs(3600)).named("key");
    let request = |quota: Option<&OwnQuota>| {
        let mut p = Principal::new("alice", CredentialKind::ApiKey);
        if let Some(q) = quota {
            p = p.with_attribute(q.clone());
        }
        let (mut parts, ()) = http::Request::get("/").body(()).unwrap().into_parts();
        parts.extensions.insert(p);
        parts
    };
    for _ in 0..2 {
        let ok = gate.check(&mut request(Some(&own))).await.unwrap();
        assert_eq!(ok["ratelimit-policy"], r#""key";q=2;w=3600"#);
    }
    let refused = gate
        .check(&mut request(Some(&own)))
        .await
        .unwrap_err()
        .to_response();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(
        refused.headers()["ratelimit"]
            .to_str()
            .unwrap()
            .starts_with(r#""key";r=0;"#)
    );
    // The same subject without a quota of its own spends the default budget, untouched.
    let ok = gate.check(&mut request(None)).await.unwrap();
    assert!(
        ok["ratelimit"]
            .to_str()
            .unwrap()
            .starts_with(r#""default";r=59;"#),
        "{ok:?}"
    );
    // The own quota's state is a key of its own in Redis.
    let mut conn = redis_conn(&url()).await;
    let exists: i64 = redis::cmd("EXISTS")
        .arg(format!("{prefix}alice#K2"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 1);
}

/// A redis-server of this test's own, on a free loopback port.
struct OwnRedis {
    child: Child,
    port: u16,
}

impl OwnRedis {
    /// A redis-server on `port`, or `None` when the port turned out to be someone else's
    /// (ours exits at once with "address in use"). A server answering on the port is taken
    /// for ours only if its `process_id` is our child's: a port picked free earlier may have
    /// been taken meanwhile, and the test must not talk to an interloper.
    fn try_start_on(port: u16) -> Option<Self> {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--dir", "/tmp"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (.ci/services)");
        let mut server = Self { child, port };
        // Wait for it to answer (a server starting, not time passing).
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if server.child.try_wait().unwrap().is_some() {
                return None;
            }
            if let Some(pid) = process_id(port) {
                return (pid == server.child.id()).then_some(server);
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn start_on(port: u16) -> Self {
        Self::try_start_on(port).unwrap_or_else(|| panic!("port {port} was taken meanwhile"))
    }

    fn start() -> Self {
        loop {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            if let Some(server) = Self::try_start_on(port) {
                return server;
            }
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `process_id` of the Redis server answering on `port`, if one answers.
fn process_id(port: u16) -> Option<u32> {
    use std::io::{Read as _, Write as _};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    conn.write_all(b"INFO server\r\n").ok()?;
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = conn.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        text.extend_from_slice(&buf[..n]);
        let info = String::from_utf8_lossy(&text);
        if let Some(rest) = info.split("process_id:").nth(1)
            && let Some((pid, _)) = rest.split_once("\r\n")
        {
            return pid.trim().parse().ok();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_policy_when_redis_stops_mid_test() {
    let mut redis = OwnRedis::start();
    let timeout = Duration::from_millis(200);
    let build = |policy| {
        RedisLimiter::builder(redis.url(), hourly(3))
            .prefix("failure:")
            .timeout(timeout)
            .failure_policy(policy)
            .build()
            .unwrap()
    };
    let closed = build(FailurePolicy::FailClosed);
    let open = build(FailurePolicy::FailOpen);
    let fallback = build(FailurePolicy::FallbackLocal);
    assert_eq!(closed.failure_policy(), FailurePolicy::FailClosed);
    for limiter in [&closed, &open, &fallback] {
        assert!(limiter.check("k", 1).await.unwrap().is_allowed());
    }
    // Redis now holds k with all three spent: the fleet is at its limit.
    assert!(!closed.check("k", 1).await.unwrap().is_allowed());

    // A Redis that accepts but never answers (paused): the timeout, not a hang.
    redis.signal("-STOP");
    let started = Instant::now();
    let err = closed.check("k", 1).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    let waited = started.elapsed();
    assert!(
        waited >= timeout / 2 && waited < timeout * 2 + Duration::from_secs(2),
        "{waited:?}"
    );
    assert!(open.check("k", 1).await.unwrap().is_allowed());
    redis.signal("-CONT");

    redis.stop();

    // A generous bound: the point is that a decision does not hang on a dead Redis.
    let bound = timeout * 2 + Duration::from_secs(2);
    for _ in 0..3 {
        let started = Instant::now();
        let err = closed.check("k", 1).await.unwrap_err();
        assert!(started.elapsed() < bound, "waited {:?}", started.elapsed());
        assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
        let core = auth_core::Error::from(err);
        assert_eq!(core.status(), 503);
        assert!(!core.to_string().contains("redis://"), "{core}");

        let started = Instant::now();
        let d = open.check("k", 1).await.unwrap();
        assert!(started.elapsed() < bound);
        assert!(d.is_allowed());
        assert_eq!(d.policies().len(), 0);
        assert!(!open.enforce(&d).unwrap().contains_key("ratelimit"));
    }
    // The fallback limits locally with the same quota (a fresh local state): three, then a
    // refusal.
    let mut local = Vec::new();
    for _ in 0..4 {
        local.push(fallback.check("k", 1).await.unwrap().is_allowed());
    }
    assert_eq!(local, [true, true, true, false]);

    // Redis comes back on the same port: the limiter reconnects on its own.
    let port = redis.port;
    drop(redis);
    let _redis = OwnRedis::start_on(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match closed.check("fresh", 1).await {
            Ok(d) => {
                assert!(d.is_allowed());
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "never reconnected: {e}"),
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rediss_limiter_enforces_its_quota_over_verified_tls() {
    let limiter = RedisLimiter::builder(tls_url(), hourly(2))
        .ca_certificate_pem(tls_file("ca.pem"))
        .prefix(prefix("tls"))
        // The TLS handshake within the default 125 ms to connect failed at load 8 on two
        // cores; this test is about the quota over TLS, not the timeout.
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    assert!(
        format!("{limiter:?}").contains("rediss 127.0.0.1:6380"),
        "{limiter:?}"
    );
    let outcomes = [
        limiter.check("k", 1).await.unwrap().outcome(),
        limiter.check("k", 1).await.unwrap().outcome(),
        limiter.check("k", 1).await.unwrap().outcome(),
    ];
    assert_eq!(
        outcomes,
        [Outcome::Allowed, Outcome::Allowed, Outcome::Limited]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_from_an_untrusted_ca_is_refused_never_bypassed() {
    // A CA that did not sign the server's certificate, then the platform's roots (which do
    // not hold the throwaway CA): both refuse the server, and nothing falls back to
    // plaintext or to no verification.
    let wrong = RedisLimiter::builder(tls_url(), hourly(2))
        .ca_certificate_pem(tls_file("other-ca.pem"))
        .timeout(Duration::from_secs(2))
        .prefix(prefix("wrong-ca"));
    let platform = RedisLimiter::builder(tls_url(), hourly(2))
        .timeout(Duration::from_secs(2))
        .prefix(prefix("platform-roots"));
    for builder in [wrong, platform] {
        let limiter = builder.build().unwrap();
        let err = limiter.check("k", 1).await.unwrap_err();
        let text = chain(&err);
        assert!(matches!(err, Error::Unavailable { .. }), "{text}");
        assert!(
            text.contains("certificate") && text.contains("UnknownIssuer"),
            "{text}"
        );
        assert_eq!(auth_core::Error::from(err).status(), 503);
    }
}

#[test]
fn configuration_mistakes_are_refused_with_their_cause_and_no_password() {
    let quota = || hourly(2);
    let debug = format!(
        "{:?}",
        RedisLimiter::builder("rediss://admin:hunter2@10.0.0.5:6380", quota())
    );
    assert!(
        !debug.contains("hunter2") && !debug.contains("admin"),
        "{debug}"
    );
    assert!(debug.contains("10.0.0.5:6380"), "{debug}");

    let refused = |builder: auth_ratelimit_redis::RedisLimiterBuilder| match builder.build() {
        Err(Error::Misconfigured(why)) => why.into_owned(),
        other => panic!("{other:?}"),
    };
    let plaintext = refused(RedisLimiter::builder(
        "redis://:hunter2@10.0.0.5:6379",
        quota(),
    ));
    assert!(plaintext.contains("not loopback"), "{plaintext}");
    assert!(!plaintext.contains("hunter2"), "{plaintext}");
    let scheme = refused(RedisLimiter::builder("https://127.0.0.1:6380", quota()));
    assert!(scheme.contains("scheme https://"), "{scheme}");
    let garbled = refused(
        RedisLimiter::builder(tls_url(), quota())
            .ca_certificate_pem(b"-----BEGIN CERTIFICATE-----\n!!\n".to_vec()),
    );
    assert!(garbled.contains("PEM"), "{garbled}");
}

/// Outside a Tokio runtime the limiter cannot run its connection: an error that says so,
/// not the `redis` crate's panic.
#[test]
fn built_outside_a_runtime_is_an_error() {
    let built = RedisLimiter::builder("redis://127.0.0.1:6379", hourly(1)).build();
    assert!(
        matches!(&built, Err(Error::Misconfigured(why)) if why.contains("Tokio runtime")),
        "{built:?}"
    );
}
