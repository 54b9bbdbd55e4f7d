//! Fetching a JWKS: one fetch at a time (single-flight), callers waiting on it, the cache
//! lifetime from `Cache-Control`, revalidation with the `ETag`, and the bookkeeping a
//! dropped fetch must still do.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use auth_core::HttpClient;
use http::StatusCode;
use http::header::{ACCEPT, CACHE_CONTROL, ETAG, IF_NONE_MATCH};

use super::Shared;
use crate::KeySet;

impl Shared {
    /// Runs one fetch, or waits for the one in progress.
    pub(super) async fn refresh(&self) {
        let generation = {
            let mut book = self.book();
            if book.running {
                Some(book.generation)
            } else {
                book.running = true;
                // The cooldown starts with the fetch, whatever becomes of its caller: a
                // caller that goes away half-way must not let the next one fetch at once.
                book.last_attempt = Some(self.clock.now());
                None
            }
        };
        if let Some(seen) = generation {
            Wait { shared: self, seen }.await;
            return;
        }
        let mut guard = Running {
            shared: self,
            done: false,
        };
        let outcome = self.fetch().await;
        #[cfg(feature = "metrics")]
        metrics::counter!("auth_jwks_fetches_total",
            "outcome" => if outcome.is_ok() { "ok" } else { "error" })
        .increment(1);
        let now = self.clock.now();
        {
            let mut book = self.book();
            match outcome {
                Ok(Fetched { keys, ttl, etag }) => {
                    if let Some(keys) = keys {
                        self.keys.store(Arc::new(keys));
                    }
                    if etag.is_some() {
                        book.etag = etag;
                    }
                    book.last_success = Some(now);
                    book.last_error = None;
                    book.unknown.clear();
                    self.expires_at
                        .store(now.saturating_add(ttl).as_nanos(), Ordering::Release);
                }
                Err(why) => book.last_error = Some(why),
            }
        }
        guard.done = true;
        drop(guard);
    }

    async fn fetch(&self) -> Result<Fetched, String> {
        let uri = self.jwks_uri().await?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let etag = self.book().etag.clone();
        let mut request =
            http::Request::get(uri).header(ACCEPT, "application/jwk-set+json, application/json");
        if let Some(tag) = &etag {
            request = request.header(IF_NONE_MATCH, tag.as_str());
        }
        let request = request
            .body(Vec::new())
            .map_err(|e| format!("building the request: {e}"))?;
        let response = self
            .client
            .send(request)
            .await
            .map_err(|e| format!("fetch failed: {e}"))?;
        let ttl = self.ttl(response.headers());
        let new_etag = response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match response.status() {
            StatusCode::NOT_MODIFIED if etag.is_some() => {
                return Ok(Fetched {
                    keys: None,
                    ttl,
                    etag: new_etag,
                });
            }
            StatusCode::OK => {}
            other => return Err(format!("JWKS answered {other}")),
        }
        let body = response.body();
        if body.len() > self.config.max_body_bytes {
            return Err(format!(
                "JWKS body of {} bytes is over the limit of {}",
                body.len(),
                self.config.max_body_bytes
            ));
        }
        let text = std::str::from_utf8(body).map_err(|_| "JWKS body is not UTF-8".to_owned())?;
        let keys = KeySet::from_public_jwks(text).map_err(|e| e.to_string())?;
        if keys.is_empty() {
            return Err(format!(
                "JWKS has no usable key ({} skipped)",
                keys.skipped().len()
            ));
        }
        Ok(Fetched {
            keys: Some(keys),
            ttl,
            etag: new_etag,
        })
    }

    /// `max-age` clamped to the bounds; `no-store`/`no-cache` mean the minimum.
    pub(super) fn ttl(&self, headers: &http::HeaderMap) -> Duration {
        let c = &self.config;
        let mut ttl = c.default_ttl;
        for value in headers.get_all(CACHE_CONTROL) {
            let Ok(value) = value.to_str() else { continue };
            for directive in value.split(',').map(str::trim) {
                let lower = directive.to_ascii_lowercase();
                if lower == "no-store" || lower == "no-cache" {
                    ttl = c.min_ttl;
                } else if let Some(secs) = lower.strip_prefix("max-age=")
                    && let Ok(secs) = secs.trim_matches('"').parse::<u64>()
                {
                    ttl = Duration::from_secs(secs);
                }
            }
        }
        ttl.clamp(c.min_ttl, c.max_ttl)
    }
}

struct Fetched {
    keys: Option<KeySet>,
    ttl: Duration,
    etag: Option<String>,
}

/// Ends a fetch: clears `running`, bumps the generation and wakes the waiters, also when the
/// fetching future is dropped half-way (the waiters then retry).
struct Running<'a> {
    shared: &'a Shared,
    done: bool,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let waiters = {
            let mut book = self.shared.book();
            book.running = false;
            if self.done {
                book.generation = book.generation.wrapping_add(1);
            }
            std::mem::take(&mut book.waiters)
        };
        for w in waiters {
            w.wake();
        }
    }
}

/// Waits until the fetch in progress ends (or is abandoned).
struct Wait<'a> {
    shared: &'a Shared,
    seen: u64,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut book = self.shared.book();
        if book.generation != self.seen || !book.running {
            return Poll::Ready(());
        }
        if !book.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            book.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}
