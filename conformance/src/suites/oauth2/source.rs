//! The token source: one refresh for many callers, failures shared then backed off,
//! refresh-token rotation across two sources sharing a store, and the 401 retry.

use super::*;

pub(super) fn cases(s: &mut Suite) {
    s.case(
        "expiry on our clock: expires_in never shifted, an absolute expires_on moved by the Date offset",
        "RFC 6749 §5.1, RFC 9110 §6.6.1",
        || {
            block_on(async {
                // The server's clock runs 300 s ahead of ours.
                let date = httpdate_fmt(START.as_secs() + 300);
                let clock = ManualClock::new(START);
                // Relative expires_in: counted from our send time, the offset plays no part.
                let server = token_server(
                    ok_token("AT", None, 600).insert_header("date", date.as_str()),
                    Some(1),
                )
                .await;
                let source = TokenSource::client_credentials(basic_client(&server, &clock)?)
                    .jitter(Duration::ZERO)
                    .build();
                let t = source.get().await.map_err(|e| e.to_string())?;
                ensure_eq("relative expiry", t.expires_at(), START.saturating_add(Duration::from_secs(600)))?;
                // Absolute expires_on (server clock) 600 s after the server's now: 600 s of ours.
                let body = json!({
                    "access_token": "AT2", "token_type": "Bearer",
                    "expires_on": (START.as_secs() + 300 + 600).to_string(),
                });
                let server = token_server(
                    ResponseTemplate::new(200)
                        .set_body_json(body)
                        .insert_header("date", date.as_str()),
                    Some(2),
                )
                .await;
                let client = builder(&server, "c", &clock)?
                    .client_auth(ClientAuth::SecretBasic(Secret::new("s")))
                    .accept_quirk(Quirk::ExpiresOn)
                    .build()
                    .map_err(|e| e.to_string())?;
                let source = TokenSource::client_credentials(client)
                    .refresh_margin(Duration::from_secs(60))
                    .jitter(Duration::ZERO)
                    .build();
                let t = source.get().await.map_err(|e| e.to_string())?;
                ensure_eq("absolute expiry", t.expires_at(), START.saturating_add(Duration::from_secs(600)))?;
                // Unshifted, it would look good until START + 900 (refresh at 840); it is refreshed at
                // START + 540 (60 s margin before the true expiry).
                clock.set(START.saturating_add(Duration::from_secs(539)));
                source.get().await.map_err(|e| e.to_string())?;
                ensure_eq("token requests before the margin", requests(&server).await.len(), 1)?;
                clock.set(START.saturating_add(Duration::from_secs(540)));
                source.get().await.map_err(|e| e.to_string())?;
                ensure_eq("token requests at the margin", requests(&server).await.len(), 2)
            })
        },
    );

    s.case(
        "a hundred callers at expiry make exactly one token request",
        "design: token source",
        || {
            block_on(async {
                let server = token_server(
                    ok_token("AT", None, 3600).set_delay(Duration::from_millis(200)),
                    Some(1),
                )
                .await;
                let clock = ManualClock::new(START);
                let client = basic_client(&server, &clock)?;
                let source = TokenSource::client_credentials(client).build();
                let tasks: Vec<_> = (0..100)
                    .map(|_| {
                        let source = source.clone();
                        tokio::spawn(
                            async move { source.get().await.map(|t| t.secret().ct_eq(b"AT")) },
                        )
                    })
                    .collect();
                for t in tasks {
                    let got = t
                        .await
                        .map_err(|e| e.to_string())?
                        .map_err(|e| e.to_string())?;
                    ensure(got, || "wrong token".into())?;
                }
                ensure_eq("token requests", requests(&server).await.len(), 1)?;
                // And the cached token serves without a request until the refresh margin.
                clock.advance(Duration::from_secs(3000));
                source.get().await.map_err(|e| e.to_string())?;
                ensure_eq("token requests", requests(&server).await.len(), 1)
            })
        },
    );

    s.case(
        "a failed refresh reaches every waiter, then backoff, no storm",
        "design: token source",
        || {
            block_on(async {
                let server = token_server(
                    ResponseTemplate::new(401)
                        .set_body_json(json!({"error":"invalid_client"}))
                        .set_delay(Duration::from_millis(200)),
                    None,
                )
                .await;
                let clock = ManualClock::new(START);
                let client = basic_client(&server, &clock)?;
                let source = TokenSource::client_credentials(client)
                    .backoff(Duration::from_secs(2), Duration::from_secs(30))
                    .build();
                let tasks: Vec<_> = (0..50)
                    .map(|_| {
                        let source = source.clone();
                        tokio::spawn(async move { source.get().await })
                    })
                    .collect();
                for t in tasks {
                    let e = t
                        .await
                        .map_err(|e| e.to_string())?
                        .err()
                        .ok_or("got a token")?;
                    ensure(e.is_server_error(&ErrorCode::InvalidClient), || {
                        format!("{e:?}")
                    })?;
                }
                ensure_eq("token requests", requests(&server).await.len(), 1)?;
                let e = source.get().await.err().ok_or("got a token")?;
                ensure(matches!(e, Error::BackingOff { .. }), || format!("{e:?}"))?;
                ensure_eq("no request in backoff", requests(&server).await.len(), 1)?;
                clock.advance(Duration::from_secs(3));
                source.get().await.err().ok_or("got a token")?;
                ensure_eq("one more after backoff", requests(&server).await.len(), 2)?;
                // The second failure doubles the wait: 3 s is not enough now.
                clock.advance(Duration::from_secs(3));
                let e = source.get().await.err().ok_or("got a token")?;
                ensure(matches!(e, Error::BackingOff { .. }), || format!("{e:?}"))
            })
        },
    );

    s.case(
        "refreshes ahead of expiry; the old refresh token is never sent again",
        "RFC 6749 §6, RFC 9700 §4.14.2",
        || {
            block_on(async {
                let server = MockServer::start().await;
                for (old, new) in [("RT1", "2"), ("RT2", "3"), ("RT3", "4")] {
                    Mock::given(method("POST"))
                        .and(path("/token"))
                        .and(body_string_contains(format!("refresh_token={old}")))
                        .respond_with(ok_token(
                            &format!("AT{new}"),
                            Some(&format!("RT{new}")),
                            600,
                        ))
                        .expect(1)
                        .mount(&server)
                        .await;
                }
                let clock = ManualClock::new(START);
                let client = basic_client(&server, &clock)?;
                let store = Arc::new(MemoryTokenStore::with_tokens(tokens("AT1", "RT1", START)));
                let source = TokenSource::refreshing(client).store(store.clone()).build();
                for n in 2..=4 {
                    let t = source.get().await.map_err(|e| e.to_string())?;
                    ensure(t.secret().ct_eq(format!("AT{n}").as_bytes()), || {
                        format!("want AT{n}")
                    })?;
                    let stored = store
                        .load()
                        .await
                        .map_err(|e| e.to_string())?
                        .ok_or("empty store")?;
                    ensure(
                        stored
                            .refresh_token()
                            .is_some_and(|r| r.ct_eq(format!("RT{n}").as_bytes())),
                        || format!("store lacks RT{n}"),
                    )?;
                    // Inside the margin (60 s + up to 15 s jitter) but before expiry.
                    clock.advance(Duration::from_secs(600 - 30));
                }
                ensure_eq("token requests", requests(&server).await.len(), 3)
            })
        },
    );

    s.case(
        "two sources sharing a store through a rotation race",
        "RFC 6749 §6, RFC 9700 §4.14.2",
        || {
            block_on(async {
                let server = MockServer::start().await;
                // RT1 rotates once; a second use of RT1 is refused, as a rotating server does.
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .and(body_string_contains("refresh_token=RT1"))
                    .respond_with(ok_token("AT2", Some("RT2"), 600))
                    .up_to_n_times(1)
                    .mount(&server)
                    .await;
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .and(body_string_contains("refresh_token=RT1"))
                    .respond_with(
                        ResponseTemplate::new(400).set_body_json(json!({"error":"invalid_grant"})),
                    )
                    .mount(&server)
                    .await;
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .and(body_string_contains("refresh_token=RT2"))
                    .respond_with(ok_token("AT3", Some("RT3"), 600))
                    .mount(&server)
                    .await;
                let dir = std::env::temp_dir()
                    .join(format!("auth-rs-conformance-oauth2-{}", std::process::id()));
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                let file = dir.join("tokens.json");
                let shared = FileTokenStore::new(&file);
                shared
                    .save(&tokens("AT1", "RT1", START))
                    .await
                    .map_err(|e| e.to_string())?;
                let clock = ManualClock::new(START);
                let client = || -> Result<OAuthClient, String> {
                    builder(&server, "c", &clock)?
                        .client_auth(ClientAuth::SecretBasic(Secret::new("s")))
                        .build()
                        .map_err(|e| e.to_string())
                };
                // B read the store before A rotated: its first read is stale.
                let lagging = Arc::new(Lagging {
                    stale: tokens("AT1", "RT1", START),
                    fresh: FileTokenStore::new(&file),
                    reads: Default::default(),
                });
                let a = TokenSource::refreshing(client()?)
                    .store(Arc::new(FileTokenStore::new(&file)))
                    .build();
                let b = TokenSource::refreshing(client()?).store(lagging).build();
                let ta = a.get().await.map_err(|e| e.to_string())?;
                let tb = b.get().await.map_err(|e| format!("B: {e}"))?;
                ensure(
                    ta.secret().ct_eq(b"AT2") && tb.secret().ct_eq(b"AT2"),
                    || "both should hold AT2".into(),
                )?;
                let stored = shared
                    .load()
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or("empty")?;
                ensure(
                    stored.refresh_token().is_some_and(|r| r.ct_eq(b"RT2")),
                    || "store lost RT2".into(),
                )?;
                // Both refresh later with RT2, one of them only: B adopts what A saved.
                clock.advance(Duration::from_secs(600));
                let ta = a.get().await.map_err(|e| e.to_string())?;
                let tb = b.get().await.map_err(|e| e.to_string())?;
                ensure(
                    ta.secret().ct_eq(b"AT3") && tb.secret().ct_eq(b"AT3"),
                    || "both should hold AT3".into(),
                )?;
                let sent: Vec<String> = requests(&server)
                    .await
                    .iter()
                    .filter_map(|r| {
                        form(&r.body)
                            .into_iter()
                            .find(|(k, _)| k == "refresh_token")
                            .map(|(_, v)| v)
                    })
                    .collect();
                std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())?;
                ensure_eq(
                    "refresh tokens sent",
                    sent,
                    vec!["RT1".to_owned(), "RT1".to_owned(), "RT2".to_owned()],
                )
            })
        },
    );

    s.case(
        "401 invalid_token: one forced refresh and one retry",
        "RFC 6750 §3.1",
        || {
            block_on(async {
                let server = token_server(ok_token("AT", None, 3600), Some(2)).await;
                let clock = ManualClock::new(START);
                let client = basic_client(&server, &clock)?;
                let source = TokenSource::client_credentials(client).build();
                // Never onto a request that would carry the token in clear text; nothing is
                // fetched for it either.
                let mut plain = http::Request::get("http://api.example/x")
                    .body(())
                    .map_err(|e| e.to_string())?;
                ensure(source.authorize(&mut plain).await.is_err(), || {
                    "a token attached over plain http".into()
                })?;
                ensure(!plain.headers().contains_key("authorization"), || {
                    "header set on a refused request".into()
                })?;
                ensure_eq("token requests before", requests(&server).await.len(), 0)?;
                let mut request = http::Request::get("https://api.example/x")
                    .body(())
                    .map_err(|e| e.to_string())?;
                let used = source
                    .authorize(&mut request)
                    .await
                    .map_err(|e| e.to_string())?;
                let auth = request.headers().get("authorization").ok_or("no header")?;
                ensure(auth == "Bearer AT" && auth.is_sensitive(), || {
                    "Bearer header, sensitive".into()
                })?;
                let respond = |status: u16, challenge: &str| {
                    http::Response::builder()
                        .status(status)
                        .header("www-authenticate", challenge)
                        .body(())
                        .unwrap_or_default()
                };
                ensure(
                    !source.should_retry(&respond(401, r#"Bearer realm="api""#), &used),
                    || "bare 401".into(),
                )?;
                ensure(
                    !source
                        .should_retry(&respond(403, r#"Bearer error="insufficient_scope""#), &used),
                    || "403".into(),
                )?;
                ensure(
                    !source.should_retry(
                        &respond(401, r#"Basic realm="x", error="invalid_token""#),
                        &used,
                    ),
                    || "Basic".into(),
                )?;
                ensure_eq("no refresh yet", requests(&server).await.len(), 1)?;
                ensure(
                    source.should_retry(
                        &respond(401, r#"Bearer realm="api", error="invalid_token""#),
                        &used,
                    ),
                    || "invalid_token".into(),
                )?;
                source.get().await.map_err(|e| e.to_string())?;
                ensure_eq("one forced refresh", requests(&server).await.len(), 2)
            })
        },
    );
}

/// A store whose first read is a stale snapshot, as when another process rotated the refresh
/// token between our read and our refresh.
struct Lagging {
    stale: TokenSet,
    fresh: FileTokenStore,
    reads: std::sync::atomic::AtomicUsize,
}

impl TokenStore for Lagging {
    async fn load(&self) -> Result<Option<TokenSet>, Error> {
        if self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            return Ok(Some(self.stale.clone()));
        }
        self.fresh.load().await
    }

    async fn save(&self, tokens: &TokenSet) -> Result<(), Error> {
        self.fresh.save(tokens).await
    }
}
