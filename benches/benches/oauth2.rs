//! auth-oauth2's hot path: `TokenSource::get()` with a valid cached token, on one thread and
//! with a second thread calling it at the same time.
//!
//! Rows: auth-oauth2's `TokenSource` (a clock read, one atomic load, and a clone of this
//! thread's own copy of the token); the peer, what a hand-rolled cache usually is
//! (`std::sync::RwLock<Option<Arc<token>>>` with an expiry check, on the same clock as ours);
//! and floors: reading each clock (the OAuth client's default is `CoarseClock`), and cloning an
//! `Arc` already at hand, once one `Arc` shared by both threads (what a shared cache's hot
//! path pays at least) and once each thread its own (the same work without contention: its
//! two-thread/one-thread ratio is what running a second thread costs on this machine, from
//! shared cores, caches and the hypervisor). The future of `get()` is polled once with a no-op waker: on this path it
//! is always ready, so no runtime is measured. The poll is inlined where the future is made,
//! as an `.await` in the caller's own `async fn` is; an out-of-line poll that moves the future
//! and copies its 104-byte `Result` adds about 15 ns on the development machine.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use auth_core::{
    Clock, CoarseClock, HttpError, HttpRequest, HttpResponse, Secret, SystemClock, UnixTime,
};
use auth_oauth2::{ClientAuth, OAuthClient, TokenSource};
use criterion::{Criterion, criterion_group, criterion_main};

#[inline(always)] // polled in place, as `.await` would; see the module documentation
fn now_or_never<F: Future>(f: F) -> Option<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(f).poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

fn source() -> Option<TokenSource> {
    let http = |_req: HttpRequest| async {
        Ok::<_, HttpError>(HttpResponse::new(
            br#"{"access_token":"bench-token","token_type":"Bearer","expires_in":86400}"#.to_vec(),
        ))
    };
    let client = OAuthClient::builder("bench")
        .token_endpoint("https://as.example/token")
        .client_auth(ClientAuth::SecretBasic(Secret::new("s")))
        .http_client(Arc::new(http))
        .build()
        .ok()?;
    let source = TokenSource::client_credentials(client).build();
    now_or_never(source.get())?.ok()?; // warm the cache
    Some(source)
}

thread_local! {
    /// An `Arc` per thread: cloning it is the same work as the shared floor without the
    /// contention, so its two-thread/one-thread ratio is what the machine itself adds.
    static OWN: Arc<(String, UnixTime)> = Arc::new(("bench-token".to_owned(), UnixTime::EPOCH));
}

struct Naive {
    token: RwLock<Option<Arc<(String, UnixTime)>>>,
    clock: CoarseClock,
}

impl Naive {
    fn get(&self) -> Option<Arc<(String, UnixTime)>> {
        let now = self.clock.now();
        let guard = self.token.read().ok()?;
        guard.as_ref().filter(|t| now < t.1).cloned()
    }
}

/// Runs `op` `iters` times on this thread while, if `contended`, a second thread runs it in a
/// loop; returns the time of this thread's iterations.
fn measure<T: Send + Sync + 'static>(
    shared: &Arc<T>,
    iters: u64,
    contended: bool,
    op: fn(&T),
) -> Duration {
    let stop = Arc::new(AtomicBool::new(false));
    let other = contended.then(|| {
        let (shared, stop) = (Arc::clone(shared), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                op(&shared);
            }
        })
    });
    let start = Instant::now();
    for _ in 0..iters {
        op(black_box(shared));
    }
    let elapsed = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    if let Some(t) = other {
        let _ = t.join();
    }
    elapsed
}

fn cached_get(c: &mut Criterion) {
    let Some(source) = source() else { return };
    let source = Arc::new(source);
    let far = SystemClock
        .now()
        .saturating_add(Duration::from_secs(86_400));
    let naive = Arc::new(Naive {
        token: RwLock::new(Some(Arc::new(("bench-token".to_owned(), far)))),
        clock: CoarseClock,
    });
    let floor = Arc::new(Arc::new(("bench-token".to_owned(), far)));

    for (label, contended) in [("one thread", false), ("two threads", true)] {
        let mut g = c.benchmark_group(format!("token source get, cached, {label}"));
        g.bench_function("auth-oauth2 TokenSource::get", |b| {
            b.iter_custom(|iters| {
                measure(&source, iters, contended, |s| {
                    black_box(
                        now_or_never(s.get())
                            .map(|t| t.map(|t| t.expires_at()))
                            .is_some(),
                    );
                })
            });
        });
        g.bench_function("auth-oauth2 TokenSource::cached (sync)", |b| {
            b.iter_custom(|iters| {
                measure(&source, iters, contended, |s| {
                    black_box(s.cached().map(|t| t.expires_at()));
                })
            });
        });
        g.bench_function("peer: RwLock<Option<Arc<token>>> + expiry check", |b| {
            b.iter_custom(|iters| {
                measure(&naive, iters, contended, |n| {
                    black_box(n.get());
                })
            });
        });
        g.bench_function("floor: SystemClock::now", |b| {
            b.iter_custom(|iters| {
                measure(&Arc::new(SystemClock), iters, contended, |c| {
                    black_box(c.now());
                })
            });
        });
        g.bench_function("floor: CoarseClock::now", |b| {
            b.iter_custom(|iters| {
                measure(&Arc::new(CoarseClock), iters, contended, |c| {
                    black_box(c.now());
                })
            });
        });
        g.bench_function("floor: Arc::clone", |b| {
            b.iter_custom(|iters| {
                measure(&floor, iters, contended, |f| {
                    black_box(Arc::clone(f));
                })
            });
        });
        g.bench_function("floor: Arc::clone, each thread its own", |b| {
            b.iter_custom(|iters| {
                measure(&Arc::new(()), iters, contended, |_| {
                    OWN.with(|own| black_box(Arc::clone(own)));
                })
            });
        });
        g.finish();
    }
}

criterion_group!(benches, cached_get);
criterion_main!(benches);
