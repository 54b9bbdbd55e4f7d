//! Integration tests of auth-oauth2 against an in-process authorization server (a closure
//! behind the `HttpClient` seam) and a manual clock. The wire-level checks against mock
//! servers live in the conformance suite (`conformance/src/suites/oauth2.rs`).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use auth_core::{HttpError, HttpRequest, HttpResponse, ManualClock, Secret, UnixTime};
use auth_oauth2::{
    ClientAuth, Error, MemoryTokenStore, OAuthClient, TokenSet, TokenSource, TokenStore,
};

const START: UnixTime = UnixTime::from_secs(1_700_000_000);

/// A token endpoint that counts its calls and answers `body(n, request body)` for the n-th
/// (from 1).
fn server(
    body: impl Fn(usize, String) -> String + Send + Sync + 'static,
) -> (Arc<AtomicUsize>, OAuthClient, ManualClock) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let body = Arc::new(body);
    let http = move |req: HttpRequest| {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        let body = body(n, String::from_utf8_lossy(req.body()).into_owned());
        async move { Ok::<_, HttpError>(HttpResponse::new(body.into_bytes())) }
    };
    let clock = ManualClock::new(START);
    let client = OAuthClient::builder("c")
        .token_endpoint("https://as.example/token")
        .client_auth(ClientAuth::SecretBasic(Secret::new("s")))
        .http_client(Arc::new(http))
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    (calls, client, clock)
}

/// The n-th token, `ATn`, for 600 s.
fn numbered(n: usize, _request: String) -> String {
    format!(r#"{{"access_token":"AT{n}","token_type":"Bearer","expires_in":600}}"#)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn refreshes_within_margin_and_jitter_never_after_expiry() {
    let (calls, client, clock) = server(numbered);
    let source = TokenSource::client_credentials(client)
        .refresh_margin(Duration::from_secs(60))
        .jitter(Duration::from_secs(30))
        .build();
    block_on(async {
        let first = source.get().await.unwrap();
        assert_eq!(
            first.expires_at(),
            START.saturating_add(Duration::from_secs(600))
        );
        // Before margin + jitter (90 s before expiry): cached.
        clock.advance(Duration::from_secs(509));
        assert!(source.get().await.unwrap().secret().ct_eq(b"AT1"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Within the margin (60 s before expiry): refreshed, whatever the jitter.
        clock.advance(Duration::from_secs(32));
        assert!(source.get().await.unwrap().secret().ct_eq(b"AT2"));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn short_lifetimes_are_not_refreshed_on_every_call() {
    let (calls, client, clock) = server(|n, _| {
        format!(r#"{{"access_token":"AT{n}","token_type":"Bearer","expires_in":10}}"#)
    });
    let source = TokenSource::client_credentials(client).build();
    block_on(async {
        source.get().await.unwrap();
        clock.advance(Duration::from_secs(4));
        source.get().await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "refresh at half the lifetime, not before"
        );
    });
}

#[test]
fn unknown_lifetime_uses_the_assumed_one() {
    let (calls, client, clock) =
        server(|n, _| format!(r#"{{"access_token":"AT{n}","token_type":"Bearer"}}"#));
    let source = TokenSource::client_credentials(client)
        .assumed_lifetime(Duration::from_secs(120))
        .jitter(Duration::ZERO)
        .build();
    block_on(async {
        let t = source.get().await.unwrap();
        assert_eq!(
            t.expires_at(),
            START.saturating_add(Duration::from_secs(120))
        );
        clock.advance(Duration::from_secs(59));
        source.get().await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        clock.advance(Duration::from_secs(2));
        source.get().await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn refresh_only_source_without_refresh_token_says_so() {
    let (calls, client, _clock) = server(|_, _| String::new());
    let source = TokenSource::refreshing(client).build();
    let e = block_on(source.get()).unwrap_err();
    assert!(
        matches!(e, Error::Refresh(ref inner) if matches!(**inner, Error::NoRefreshToken)),
        "{e:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn a_failed_refresh_ahead_of_expiry_keeps_the_valid_token() {
    let (calls, client, clock) = server(|n, _| {
        if n == 1 {
            r#"{"access_token":"AT1","token_type":"Bearer","expires_in":600}"#.to_owned()
        } else {
            r#"{"access_token":"bad","token_type":"mac"}"#.to_owned()
        }
    });
    let source = TokenSource::client_credentials(client).build();
    block_on(async {
        source.get().await.unwrap();
        clock.advance(Duration::from_secs(560));
        assert!(source.get().await.unwrap().secret().ct_eq(b"AT1"));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // Backing off: no new attempt a moment later, still the valid token.
        clock.advance(Duration::from_millis(500));
        assert!(source.get().await.unwrap().secret().ct_eq(b"AT1"));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // Expired, and the server still answers nonsense: an error, not the stale token.
        clock.advance(Duration::from_secs(60));
        assert!(source.get().await.is_err());
    });
}

#[test]
fn tokens_in_a_shared_store_are_adopted_without_a_request() {
    let (calls, client, _clock) = server(|_, _| String::new());
    let store = Arc::new(MemoryTokenStore::with_tokens(
        TokenSet::new(
            Secret::new("FROM-STORE"),
            Some(START.saturating_add(Duration::from_secs(900))),
        )
        .with_refresh_token(Some(Secret::new("RT"))),
    ));
    let source = TokenSource::refreshing(client).store(store.clone()).build();
    let t = block_on(source.get()).unwrap();
    assert!(t.secret().ct_eq(b"FROM-STORE"));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert!(block_on(store.load()).unwrap().is_some());
}

/// A token from a source goes only where the client's transport policy lets credentials go,
/// whichever way it is attached.
#[test]
fn an_access_token_is_applied_over_https_or_to_loopback_only() {
    let (_, client, _) = server(numbered);
    let source = TokenSource::client_credentials(client).build();
    let token = block_on(source.get()).unwrap();
    let mut plain = http::Request::get("http://api.example/x").body(()).unwrap();
    assert!(matches!(
        token.apply(&mut plain),
        Err(Error::Transport { .. })
    ));
    assert!(plain.headers().get("authorization").is_none());
    for url in ["https://api.example/x", "http://127.0.0.1:8080/x"] {
        let mut ok = http::Request::get(url).body(()).unwrap();
        token.apply(&mut ok).unwrap();
        assert_eq!(ok.headers()["authorization"], "Bearer AT1");
        assert!(ok.headers()["authorization"].is_sensitive());
    }
}

#[test]
fn nothing_secret_in_debug_output() {
    let (_calls, client, _clock) = server(|_, _| {
        r#"{"access_token":"at-SECRET","token_type":"Bearer","refresh_token":"rt-SECRET"}"#
            .to_owned()
    });
    let source = TokenSource::client_credentials(client.clone()).build();
    let t = block_on(source.get()).unwrap();
    let all = format!("{client:?} {source:?} {t:?}");
    assert!(!all.contains("SECRET"), "{all}");
}

#[test]
fn the_hot_path_future_is_small() {
    let (_calls, client, _clock) = server(|_, _| String::new());
    let source = TokenSource::client_credentials(client).build();
    let size = std::mem::size_of_val(&source.get());
    assert!(size <= 128, "get() future is {size} bytes");
}

/// A store that accepts the first save and refuses the rest.
struct Flaky {
    inner: MemoryTokenStore,
    saves: AtomicUsize,
}

impl TokenStore for Flaky {
    async fn load(&self) -> Result<Option<TokenSet>, Error> {
        self.inner.load().await
    }

    async fn save(&self, tokens: &TokenSet) -> Result<(), Error> {
        if self.saves.fetch_add(1, Ordering::SeqCst) == 0 {
            return self.inner.save(tokens).await;
        }
        Err(Error::Store {
            what: "disk full".into(),
            source: None,
        })
    }
}

#[test]
fn after_a_failed_save_the_newer_refresh_token_in_memory_is_used() {
    let sent = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = Arc::clone(&sent);
    let (_calls, client, clock) = server(move |n, request| {
        log.lock().unwrap().push(request);
        let k = n + 1;
        format!(
            r#"{{"access_token":"AT{k}","token_type":"Bearer","expires_in":600,"refresh_token":"RT{k}"}}"#
        )
    });
    let store = Arc::new(Flaky {
        inner: MemoryTokenStore::with_tokens(
            TokenSet::new(Secret::new("AT1"), Some(START))
                .with_refresh_token(Some(Secret::new("RT1"))),
        ),
        saves: AtomicUsize::new(0),
    });
    let source = TokenSource::refreshing(client).store(store).build();
    block_on(async {
        assert!(source.get().await.unwrap().secret().ct_eq(b"AT2")); // saved
        clock.advance(Duration::from_secs(600));
        // Refreshed with RT2; the save fails: the caller hears of it, the token is kept.
        assert!(matches!(source.get().await, Err(Error::Store { .. })));
        clock.advance(Duration::from_secs(1));
        assert!(source.cached().is_some_and(|t| t.secret().ct_eq(b"AT3")));
        clock.advance(Duration::from_secs(600));
        source.get().await.ok();
    });
    let sent = sent.lock().unwrap().clone();
    assert_eq!(
        sent,
        [
            "grant_type=refresh_token&refresh_token=RT1",
            "grant_type=refresh_token&refresh_token=RT2",
            "grant_type=refresh_token&refresh_token=RT3",
        ]
    );
}

/// A thread that keeps running (and so keeps its per-thread copy of the token) and calls
/// `get()` whenever asked, answering the token it got.
struct OtherThread {
    ask: Option<std::sync::mpsc::Sender<()>>,
    answers: std::sync::mpsc::Receiver<String>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OtherThread {
    fn new(source: &TokenSource) -> Self {
        let source = source.clone();
        let (ask, asked) = std::sync::mpsc::channel::<()>();
        let (answer, answers) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            while asked.recv().is_ok() {
                let t = rt.block_on(source.get()).unwrap();
                let at = String::from_utf8_lossy(t.secret().expose_secret()).into_owned();
                answer.send(at).unwrap();
            }
        });
        Self {
            ask: Some(ask),
            answers,
            thread: Some(thread),
        }
    }

    fn get(&self) -> String {
        self.ask.as_ref().unwrap().send(()).unwrap();
        self.answers.recv().unwrap()
    }
}

impl Drop for OtherThread {
    fn drop(&mut self) {
        self.ask = None;
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

#[test]
fn a_refresh_on_one_thread_is_what_every_other_thread_hands_out_next() {
    let (calls, client, clock) = server(numbered);
    let source = TokenSource::client_credentials(client).build();
    let other = OtherThread::new(&source);
    assert!(block_on(source.get()).unwrap().secret().ct_eq(b"AT1"));
    assert_eq!(other.get(), "AT1");
    // Due (the other thread's copy of AT1 is still valid): this thread refreshes...
    clock.advance(Duration::from_secs(560));
    assert!(block_on(source.get()).unwrap().secret().ct_eq(b"AT2"));
    // ... and the other thread hands out AT2, without a second request.
    assert_eq!(other.get(), "AT2");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn an_invalidated_token_is_refreshed_by_the_next_get_on_any_thread() {
    let (calls, client, _clock) = server(numbered);
    let source = TokenSource::client_credentials(client).build();
    let other = OtherThread::new(&source);
    let used = block_on(source.get()).unwrap();
    assert_eq!(other.get(), "AT1");
    let refused = http::Response::builder()
        .status(401)
        .header("www-authenticate", r#"Bearer error="invalid_token""#)
        .body(())
        .unwrap();
    assert!(source.should_retry(&refused, &used));
    assert_eq!(
        other.get(),
        "AT2",
        "the other thread's copy of AT1 is not used"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(block_on(source.get()).unwrap().secret().ct_eq(b"AT2"));
    // Invalidating the superseded token again changes nothing.
    source.invalidate(&used);
    assert_eq!(other.get(), "AT2");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// Found by fuzzing (fuzz/corpus/token_response): the `oauth2` crate read the first JSON
/// value of a token response and ignored what followed, so `{...}` then anything gave a token.
#[test]
fn a_token_response_with_bytes_after_its_json_is_refused() {
    let (_, whole, _) = server(|_, _| numbered(1, String::new()) + "\r\n");
    let token = block_on(whole.client_credentials()).unwrap();
    assert_eq!(token.access_token().expose_str().unwrap(), "AT1");
    let (_, trailing, _) = server(|_, _| numbered(1, String::new()) + r#"{"access_token":"x"}"#);
    let refused = block_on(trailing.client_credentials());
    assert!(
        matches!(refused, Err(Error::InvalidResponse { .. })),
        "{refused:?}"
    );
}

/// Found by fuzzing too: invalid UTF-8 inside a member the response type does not read was
/// skipped unchecked. A JSON text is UTF-8 (RFC 8259 §8.1), all of it.
#[test]
fn a_token_response_with_invalid_utf8_anywhere_is_refused() {
    let body = |extra: &[u8]| {
        let mut b = br#"{"access_token":"AT1","token_type":"Bearer","x":""#.to_vec();
        b.extend_from_slice(extra);
        b.extend_from_slice(br#""}"#);
        b
    };
    let client = |bytes: Vec<u8>| {
        let http = move |_req: HttpRequest| {
            let bytes = bytes.clone();
            async move { Ok::<_, HttpError>(HttpResponse::new(bytes)) }
        };
        OAuthClient::builder("c")
            .token_endpoint("https://as.example/token")
            .client_auth(ClientAuth::SecretBasic(Secret::new("s")))
            .http_client(Arc::new(http))
            .build()
            .unwrap()
    };
    let good = block_on(client(body("é".as_bytes())).client_credentials()).unwrap();
    assert_eq!(good.access_token().expose_str().unwrap(), "AT1");
    let bad = block_on(client(body(&[0xff, 0xfe])).client_credentials());
    assert!(matches!(bad, Err(Error::InvalidResponse { .. })), "{bad:?}");
    // Found by the 10-minute run: a lone surrogate escape in a member it did not read.
    let surrogate = block_on(client(body(br"\ud800")).client_credentials());
    assert!(
        matches!(surrogate, Err(Error::InvalidResponse { .. })),
        "{surrogate:?}"
    );
    let pair = block_on(client(body(br"\ud83d\ude00")).client_credentials());
    assert!(pair.is_ok(), "{pair:?}");
}
