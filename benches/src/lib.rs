//! Criterion benches for auth-rs live in `benches/`; this library holds only what several of
//! them share: polling a future that is ready at once, with no executor in the measurement.
//!
//! Each bench group holds three rows where they exist: auth-rs, the peer a user would pick
//! instead, and the raw primitive that bounds both from below. See `README.md`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Runs a future that is ready at once (the memory and SQLite stores', a cache hit, the
/// in-process limiter's), with no executor in the measurement. A future that waits makes it
/// spin, which the bench of such a future would show.
pub fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// Polls a future that is ready at once and tells whether its output is `Ok`, looking at the
/// output where the poll left it, as a caller matching on `.await` does. (Moving the output
/// out, as [`ready`] does, copies all 64 bytes of a `Result<KeyStatus, Error>` in 16-byte
/// loads that straddle the poll's smaller stores: a store-forwarding stall of about 10 ns,
/// which is the harness's, not the check's, and would double the cost of a rejection.)
#[inline(always)]
pub fn ready_is_ok<T, E>(f: impl Future<Output = Result<T, E>>) -> bool {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = &f.as_mut().poll(&mut cx) {
            return out.is_ok();
        }
    }
}
