//! auth-oauth2 against mock authorization servers (wiremock on 127.0.0.1) and the protocol
//! vectors: each flow's exact requests, strict responses, typed errors, and the token source
//! under concurrency, failure and refresh-token rotation.

use std::sync::Arc;
use std::time::Duration;

use auth_core::{Clock, HttpClient, ManualClock, Secret, UnixTime};
use auth_core::{Guard, ScopeRequirement, TokenAuthenticator};
use auth_oauth2::{
    DevicePoll, Error, ErrorCode, FileStore, Introspector, MemoryStore, Metadata, OAuthClient,
    OAuthClientBuilder, Pkce, Quirk, TokenKind, TokenSet, TokenSource, TokenStore, WellKnown,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Suite, block_on, ensure, ensure_eq};

const VECTORS: &str = include_str!("../../vectors/oauth_protocol_vectors.json");
const START: UnixTime = UnixTime::from_secs(1_700_000_000);

fn vectors() -> Result<Value, String> {
    serde_json::from_str(VECTORS).map_err(|e| e.to_string())
}

fn http() -> Result<Arc<dyn HttpClient>, String> {
    let client = auth_http::Client::new(auth_http::Config::default()).map_err(|e| e.to_string())?;
    Ok(Arc::new(client))
}

fn builder(
    server: &MockServer,
    id: &str,
    clock: &ManualClock,
) -> Result<OAuthClientBuilder, String> {
    Ok(OAuthClient::builder(id)
        .token_endpoint(format!("{}/token", server.uri()))
        .http_client(http()?)
        .clock(Arc::new(clock.clone())))
}

fn token_json(access: &str, refresh: Option<&str>, expires_in: u64) -> Value {
    let mut v = json!({"access_token": access, "token_type": "Bearer", "expires_in": expires_in});
    if let Some(rt) = refresh {
        v["refresh_token"] = json!(rt);
    }
    v
}

fn ok_token(access: &str, refresh: Option<&str>, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(token_json(access, refresh, expires_in))
        .insert_header("cache-control", "no-store")
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn requests(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap_or_default()
}

fn header<'a>(r: &'a wiremock::Request, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

fn tokens(access: &str, refresh: &str, expires_at: UnixTime) -> TokenSet {
    TokenSet::new(Secret::new(access), Some(expires_at))
        .with_refresh_token(Some(Secret::new(refresh)))
}

/// The auth-oauth2 suite.
pub fn suite() -> Suite {
    let mut s = Suite::new("auth-oauth2");
    client_cases(&mut s);
    source_cases(&mut s);
    flow_cases(&mut s);
    resource_server_cases(&mut s);
    super::oauth2_peer::cases(&mut s);
    s
}

fn client_cases(s: &mut Suite) {
    s.case(
        "client_secret_basic: id and secret form-urlencoded before base64",
        "RFC 6749 §2.3.1",
        || {
            block_on(async {
                let v = vectors()?;
                for case in v["rfc6749"]["2.3.1_client_secret_basic"]
                    .as_array()
                    .ok_or("no vectors")?
                {
                    let id = case["client_id"].as_str().ok_or("id")?;
                    let secret = case["client_secret"].as_str().ok_or("secret")?;
                    let want = case["authorization_header"].as_str().ok_or("header")?;
                    let server = MockServer::start().await;
                    Mock::given(method("POST"))
                        .and(path("/token"))
                        .respond_with(ok_token("AT", None, 3600))
                        .mount(&server)
                        .await;
                    let clock = ManualClock::new(START);
                    let client = builder(&server, id, &clock)?
                        .client_secret_basic(Secret::new(secret))
                        .build()
                        .map_err(|e| e.to_string())?;
                    client
                        .client_credentials()
                        .await
                        .map_err(|e| e.to_string())?;
                    let got = requests(&server).await;
                    let r = got.first().ok_or("no request")?;
                    ensure_eq("Authorization", header(r, "authorization"), Some(want))?;
                    if let Some(naive) = case["wrong_naive_header"].as_str() {
                        ensure(header(r, "authorization") != Some(naive), || {
                            "naive encoding".into()
                        })?;
                    }
                }
                Ok(())
            })
        },
    );

    s.case(
        "client credentials request: method, headers, form body",
        "RFC 6749 §4.4.2",
        || {
            block_on(async {
                let server = MockServer::start().await;
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .respond_with(ok_token("AT", None, 3600))
                    .expect(1)
                    .mount(&server)
                    .await;
                let clock = ManualClock::new(START);
                let client = builder(&server, "s6BhdRkqt3", &clock)?
                    .client_secret_basic(Secret::new("7Fjfp0ZBr1KtDRbnfVdmIw"))
                    .scopes("read write")
                    .build()
                    .map_err(|e| e.to_string())?;
                let t = client
                    .client_credentials()
                    .await
                    .map_err(|e| e.to_string())?;
                ensure_eq(
                    "expires_at",
                    t.expires_at(),
                    Some(START.saturating_add(Duration::from_secs(3600))),
                )?;
                let got = requests(&server).await;
                let r = got.first().ok_or("no request")?;
                ensure_eq("method", r.method.as_str(), "POST")?;
                ensure_eq(
                    "content-type",
                    header(r, "content-type"),
                    Some("application/x-www-form-urlencoded"),
                )?;
                ensure_eq("accept", header(r, "accept"), Some("application/json"))?;
                ensure_eq(
                    "body",
                    form(&r.body),
                    pairs(&[
                        ("grant_type", "client_credentials"),
                        ("scope", "read write"),
                    ]),
                )
            })
        },
    );

    s.case(
        "client_secret_post: credentials in the body, no Authorization",
        "RFC 6749 §2.3.1",
        || {
            block_on(async {
                let server = MockServer::start().await;
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .respond_with(ok_token("AT", None, 3600))
                    .mount(&server)
                    .await;
                let clock = ManualClock::new(START);
                let client = builder(&server, "my client:1", &clock)?
                    .client_secret_post(Secret::new("p@ss:w/rd+%é"))
                    .build()
                    .map_err(|e| e.to_string())?;
                client
                    .client_credentials()
                    .await
                    .map_err(|e| e.to_string())?;
                let got = requests(&server).await;
                let r = got.first().ok_or("no request")?;
                ensure_eq("Authorization", header(r, "authorization"), None)?;
                ensure_eq(
                    "body",
                    form(&r.body),
                    pairs(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", "my client:1"),
                        ("client_secret", "p@ss:w/rd+%é"),
                    ]),
                )
            })
        },
    );

    s.case(
        "refresh request: grant_type, refresh_token; rotation kept",
        "RFC 6749 §6",
        || {
            block_on(async {
                let server = MockServer::start().await;
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .respond_with(ok_token("AT2", Some("RT2"), 3600))
                    .mount(&server)
                    .await;
                let clock = ManualClock::new(START);
                let client = builder(&server, "c", &clock)?
                    .client_secret_basic(Secret::new("s"))
                    .build()
                    .map_err(|e| e.to_string())?;
                let t = client
                    .refresh(&Secret::new("RT1"))
                    .await
                    .map_err(|e| e.to_string())?;
                ensure(t.refresh_token().is_some_and(|r| r.ct_eq(b"RT2")), || {
                    "RT2 not taken".into()
                })?;
                let got = requests(&server).await;
                let r = got.first().ok_or("no request")?;
                ensure_eq(
                    "body",
                    form(&r.body),
                    pairs(&[("grant_type", "refresh_token"), ("refresh_token", "RT1")]),
                )
            })
        },
    );

    s.case(
        "token responses: strict by default, quirks only when switched on",
        "RFC 6749 §5.1, §7.1",
        || {
            block_on(async {
                let v = vectors()?;
                let mut table: Vec<(Value, bool, bool)> = vec![
                    // (body, accepted strictly, accepted with quirks)
                    (
                        v["rfc6749"]["5.1_token_response"]["body"].clone(),
                        false,
                        false,
                    ),
                ];
                for case in v["rfc6749"]["token_response_mock_variants_derived"]
                    .as_array()
                    .ok_or("no variants")?
                {
                    let expected = case["expected"].as_str().unwrap_or_default();
                    if case.get("status").is_some() {
                        continue; // error responses: next case
                    }
                    let body = case["body"].clone();
                    let is_string_lifetime = body["expires_in"].is_string();
                    let ok = expected.starts_with("accept")
                        || expected.starts_with("client must")
                        || expected.starts_with("reject or treat");
                    table.push((body, ok && !is_string_lifetime, ok || is_string_lifetime));
                }
                table.push((
                    json!({"access_token":"AT","token_type":"Bearer","scope":["a","b"]}),
                    false,
                    true,
                ));
                for (body, strict_ok, quirk_ok) in table {
                    for (quirks, want) in [(false, strict_ok), (true, quirk_ok)] {
                        let server = MockServer::start().await;
                        Mock::given(method("POST"))
                            .and(path("/token"))
                            .respond_with(ResponseTemplate::new(200).set_body_json(&body))
                            .mount(&server)
                            .await;
                        let clock = ManualClock::new(START);
                        let mut b =
                            builder(&server, "c", &clock)?.client_secret_basic(Secret::new("s"));
                        if quirks {
                            b = b
                                .accept_quirk(Quirk::ExpiresInAsString)
                                .accept_quirk(Quirk::ScopeAsArray);
                        }
                        let got = b
                            .build()
                            .map_err(|e| e.to_string())?
                            .client_credentials()
                            .await;
                        ensure(got.is_ok() == want, || {
                            format!("{body} (quirks {quirks}): got {got:?}")
                        })?;
                        if let Err(e) = got {
                            ensure(matches!(e, Error::InvalidResponse { .. }), || {
                                format!("{body}: {e:?}")
                            })?;
                            ensure(
                                !format!("{e} {e:?}").contains("2YotnFZFEjr1zCsicMWpAA"),
                                || "token in error".into(),
                            )?;
                        }
                    }
                }
                Ok(())
            })
        },
    );

    s.case("every §5.2 error mapped, apart from transport failures", "RFC 6749 §5.2", || {
        block_on(async {
            let codes = [
                ("invalid_request", ErrorCode::InvalidRequest, 400),
                ("invalid_client", ErrorCode::InvalidClient, 401),
                ("invalid_grant", ErrorCode::InvalidGrant, 400),
                ("unauthorized_client", ErrorCode::UnauthorizedClient, 400),
                ("unsupported_grant_type", ErrorCode::UnsupportedGrantType, 400),
                ("invalid_scope", ErrorCode::InvalidScope, 400),
            ];
            for (wire, code, status) in codes {
                let server = MockServer::start().await;
                Mock::given(method("POST")).and(path("/token"))
                    .respond_with(ResponseTemplate::new(status)
                        .set_body_json(json!({"error": wire, "error_description": "why", "error_uri": "https://as.example/e"})))
                    .expect(1)
                    .mount(&server).await;
                let clock = ManualClock::new(START);
                let client = builder(&server, "c", &clock)?.client_secret_basic(Secret::new("s")).build().map_err(|e| e.to_string())?;
                let e = client.client_credentials().await.err().ok_or("accepted an error")?;
                let se = e.server_error().ok_or_else(|| format!("{wire}: not a server error: {e:?}"))?;
                ensure_eq("code", se.code(), &code)?;
                ensure_eq("status", se.status(), status)?;
                ensure_eq("description", se.description(), Some("why"))?;
                ensure_eq("uri", se.uri(), Some("https://as.example/e"))?;
                ensure(!e.is_transient(), || format!("{wire} is not transient"))?;
            }
            // Not an OAuth error body, a non-JSON success, and nobody listening.
            let server = MockServer::start().await;
            Mock::given(method("POST")).and(path("/token"))
                .respond_with(ResponseTemplate::new(503).set_body_string("<html>down</html>")).mount(&server).await;
            let clock = ManualClock::new(START);
            let client = builder(&server, "c", &clock)?.client_secret_basic(Secret::new("s")).build().map_err(|e| e.to_string())?;
            let e = client.client_credentials().await.err().ok_or("accepted a 503")?;
            ensure(matches!(e, Error::Status { status: 503, .. }) && e.is_transient(), || format!("503: {e:?}"))?;
            let server = MockServer::start().await;
            Mock::given(method("POST")).and(path("/token"))
                .respond_with(ResponseTemplate::new(200).set_body_raw("<html>", "text/html")).mount(&server).await;
            let client = builder(&server, "c", &clock)?.client_secret_basic(Secret::new("s")).build().map_err(|e| e.to_string())?;
            let e = client.client_credentials().await.err().ok_or("accepted html")?;
            ensure(matches!(e, Error::InvalidResponse { .. }), || format!("html: {e:?}"))?;
            let client = OAuthClient::builder("c")
                .token_endpoint("http://127.0.0.1:1/token")
                .client_secret_basic(Secret::new("s"))
                .http_client(http()?)
                .build().map_err(|e| e.to_string())?;
            let e = client.client_credentials().await.err().ok_or("no server, yet a token")?;
            ensure(matches!(e, Error::Transport { .. }) && e.is_transient(), || format!("closed port: {e:?}"))
        })
    });

    s.case(
        "plain http refused except to loopback",
        "RFC 6749 §3.1, §10.9",
        || {
            let b = OAuthClient::builder("c")
                .client_secret_basic(Secret::new("s"))
                .http_client(http()?);
            let e = b
                .token_endpoint("http://as.example/token")
                .build()
                .err()
                .ok_or("plain http accepted")?;
            ensure(matches!(e, Error::Config(_)), || format!("{e:?}"))
        },
    );

    s.case(
        "server clock offset estimated from the Date header",
        "RFC 9110 §6.6.1",
        || {
            block_on(async {
                let server = MockServer::start().await;
                // The server's clock is 90 s ahead of ours.
                let date = httpdate_fmt(START.as_secs() + 90);
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .respond_with(ok_token("AT", None, 60).insert_header("date", date.as_str()))
                    .mount(&server)
                    .await;
                let clock = ManualClock::new(START);
                let client = builder(&server, "c", &clock)?
                    .client_secret_basic(Secret::new("s"))
                    .build()
                    .map_err(|e| e.to_string())?;
                client
                    .client_credentials()
                    .await
                    .map_err(|e| e.to_string())?;
                ensure_eq("offset", client.server_clock_offset_secs(), 90)?;
                ensure_eq(
                    "exp to local",
                    client.server_time_to_local(UnixTime::from_secs(START.as_secs() + 190)),
                    UnixTime::from_secs(START.as_secs() + 100),
                )
            })
        },
    );
}

/// An IMF-fixdate for `secs` since the epoch.
fn httpdate_fmt(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let month = MONTHS[usize::try_from(m - 1).unwrap_or(0)];
    let day = DAYS[usize::try_from(days % 7).unwrap_or(0)];
    format!(
        "{day}, {d:02} {month} {y} {:02}:{:02}:{:02} GMT",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn source_cases(s: &mut Suite) {
    s.case(
        "a hundred callers at expiry make exactly one token request",
        "design: token source",
        || {
            block_on(async {
                let server = MockServer::start().await;
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .respond_with(ok_token("AT", None, 3600).set_delay(Duration::from_millis(200)))
                    .expect(1)
                    .mount(&server)
                    .await;
                let clock = ManualClock::new(START);
                let client = builder(&server, "c", &clock)?
                    .client_secret_basic(Secret::new("s"))
                    .build()
                    .map_err(|e| e.to_string())?;
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
                let server = MockServer::start().await;
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .respond_with(
                        ResponseTemplate::new(401)
                            .set_body_json(json!({"error":"invalid_client"}))
                            .set_delay(Duration::from_millis(200)),
                    )
                    .mount(&server)
                    .await;
                let clock = ManualClock::new(START);
                let client = builder(&server, "c", &clock)?
                    .client_secret_basic(Secret::new("s"))
                    .build()
                    .map_err(|e| e.to_string())?;
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
                let client = builder(&server, "c", &clock)?
                    .client_secret_basic(Secret::new("s"))
                    .build()
                    .map_err(|e| e.to_string())?;
                let store = Arc::new(MemoryStore::with_tokens(tokens("AT1", "RT1", START)));
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
                let shared = FileStore::new(&file);
                shared
                    .save(&tokens("AT1", "RT1", START))
                    .await
                    .map_err(|e| e.to_string())?;
                let clock = ManualClock::new(START);
                let client = || -> Result<OAuthClient, String> {
                    builder(&server, "c", &clock)?
                        .client_secret_basic(Secret::new("s"))
                        .build()
                        .map_err(|e| e.to_string())
                };
                // B read the store before A rotated: its first read is stale.
                let lagging = Arc::new(Lagging {
                    stale: tokens("AT1", "RT1", START),
                    fresh: FileStore::new(&file),
                    reads: Default::default(),
                });
                let a = TokenSource::refreshing(client()?)
                    .store(Arc::new(FileStore::new(&file)))
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
                let server = MockServer::start().await;
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .respond_with(ok_token("AT", None, 3600))
                    .expect(2)
                    .mount(&server)
                    .await;
                let clock = ManualClock::new(START);
                let client = builder(&server, "c", &clock)?
                    .client_secret_basic(Secret::new("s"))
                    .build()
                    .map_err(|e| e.to_string())?;
                let source = TokenSource::client_credentials(client).build();
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
    fresh: FileStore,
    reads: std::sync::atomic::AtomicUsize,
}

impl TokenStore for Lagging {
    fn load(&self) -> auth_core::BoxFuture<'_, Result<Option<TokenSet>, Error>> {
        if self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            return Box::pin(std::future::ready(Ok(Some(self.stale.clone()))));
        }
        self.fresh.load()
    }

    fn save<'a>(&'a self, tokens: &'a TokenSet) -> auth_core::BoxFuture<'a, Result<(), Error>> {
        self.fresh.save(tokens)
    }
}

const ISSUER: &str = "https://honest.as.example";
const REDIRECT: &str = "https://client.example/cb";

fn query_of(url: &str) -> Vec<(String, String)> {
    form(
        url.split_once('?')
            .map(|(_, q)| q)
            .unwrap_or_default()
            .as_bytes(),
    )
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn code_client(server: &MockServer, iss_supported: bool) -> Result<OAuthClient, String> {
    let clock = ManualClock::new(START);
    builder(server, "s6BhdRkqt3", &clock)?
        .client_secret_basic(Secret::new("7Fjfp0ZBr1KtDRbnfVdmIw"))
        .authorization_endpoint("https://honest.as.example/authorize")
        .redirect_uri(REDIRECT)
        .scopes("openid profile")
        .issuer(ISSUER)
        .iss_parameter_supported(iss_supported)
        .build()
        .map_err(|e| e.to_string())
}

fn flow_cases(s: &mut Suite) {
    s.case(
        "PKCE S256 of the RFC 7636 Appendix B verifier",
        "RFC 7636 App. B",
        || {
            let v: Value =
                serde_json::from_str(include_str!("../../vectors/rfc7636_B_pkce_s256.json"))
                    .map_err(|e| e.to_string())?;
            let verifier = v["code_verifier"].as_str().ok_or("verifier")?;
            let p = Pkce::from_verifier(verifier).map_err(|e| e.to_string())?;
            ensure_eq(
                "challenge",
                p.challenge(),
                v["code_challenge"].as_str().ok_or("challenge")?,
            )?;
            for case in v["negative_cases"].as_array().ok_or("negatives")? {
                let cv = case["code_verifier"].as_str().ok_or("cv")?;
                let valid = case["expected"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("valid");
                ensure_eq(cv, Pkce::from_verifier(cv).is_ok(), valid)?;
            }
            Ok(())
        },
    );

    s.case(
        "authorization request: code, S256 challenge, 256-bit state, exact redirect",
        "RFC 6749 §4.1.1, RFC 7636 §4.3",
        || {
            block_on(async {
                let server = MockServer::start().await;
                let client = code_client(&server, true).await?;
                let a = client.authorization_request().map_err(|e| e.to_string())?;
                let b = client.authorization_request().map_err(|e| e.to_string())?;
                ensure(
                    a.url().starts_with("https://honest.as.example/authorize?"),
                    || a.url().to_owned(),
                )?;
                let q = query_of(a.url());
                ensure_eq("response_type", param(&q, "response_type"), Some("code"))?;
                ensure_eq("client_id", param(&q, "client_id"), Some("s6BhdRkqt3"))?;
                ensure_eq("redirect_uri", param(&q, "redirect_uri"), Some(REDIRECT))?;
                ensure_eq("scope", param(&q, "scope"), Some("openid profile"))?;
                ensure_eq("method", param(&q, "code_challenge_method"), Some("S256"))?;
                ensure_eq(
                    "challenge length",
                    param(&q, "code_challenge").map(str::len),
                    Some(43),
                )?;
                let state = param(&q, "state").ok_or("no state")?;
                ensure(state.len() >= 43, || {
                    format!("state {state} shorter than 256 bits base64url")
                })?;
                ensure(param(&query_of(b.url()), "state") != Some(state), || {
                    "state reused".into()
                })
            })
        },
    );

    s.case("code exchange: exact request with code_verifier and redirect_uri", "RFC 6749 §4.1.3, RFC 7636 §4.5", || {
        block_on(async {
            let server = MockServer::start().await;
            Mock::given(method("POST")).and(path("/token"))
                .respond_with(ok_token("AT", Some("RT"), 3600)).expect(1).mount(&server).await;
            let client = code_client(&server, true).await?;
            let (url, pending) = client.authorization_request().map_err(|e| e.to_string())?.into_parts();
            let q = query_of(&url);
            let state = param(&q, "state").ok_or("no state")?;
            let callback = format!("{REDIRECT}?code=SplxlOBeZQQYbYS6WxSbIA&state={state}&iss=https%3A%2F%2Fhonest.as.example");
            let t = pending.finish(&client, &callback).await.map_err(|e| e.to_string())?;
            ensure(t.refresh_token().is_some(), || "no refresh token".into())?;
            let got = requests(&server).await;
            let r = got.first().ok_or("no request")?;
            ensure_eq("Authorization", header(r, "authorization"), Some("Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3"))?;
            let body = form(&r.body);
            ensure_eq("grant_type", param(&body, "grant_type"), Some("authorization_code"))?;
            ensure_eq("code", param(&body, "code"), Some("SplxlOBeZQQYbYS6WxSbIA"))?;
            ensure_eq("redirect_uri", param(&body, "redirect_uri"), Some(REDIRECT))?;
            let verifier = param(&body, "code_verifier").ok_or("no code_verifier")?;
            let challenge = Pkce::from_verifier(verifier).map_err(|e| e.to_string())?;
            ensure_eq("verifier matches the challenge", Some(challenge.challenge()), param(&q, "code_challenge"))
        })
    });

    s.case("callback refused before any token request: state, iss mix-up, repeats, redirect", "RFC 9207 §2.4, RFC 6749 §3.1, §10.12", || {
        block_on(async {
            let v = vectors()?;
            let server = MockServer::start().await;
            Mock::given(method("POST")).and(path("/token"))
                .respond_with(ok_token("AT", None, 3600)).expect(0).mount(&server).await;
            let redeeming = MockServer::start().await;
            Mock::given(method("POST")).and(path("/token"))
                .respond_with(ok_token("AT", None, 3600)).mount(&redeeming).await;
            let mut cases: Vec<(bool, String, bool)> = Vec::new(); // (iss advertised, query after state, accepted)
            for c in v["rfc9207"]["client_cases_derived"].as_array().ok_or("rfc9207 cases")? {
                let Some(supported) = c["as_supports_iss"].as_bool() else { continue };
                let expected = c["expected"].as_str().unwrap_or_default();
                let iss = c["iss"].as_str().map(|i| format!("&iss={i}")).unwrap_or_default();
                // Local policy when not advertised: an iss naming another issuer is refused, ours is accepted.
                let accepted = expected.starts_with("accept") || (!supported && iss.contains("honest.as.example") && !iss.contains("%2F&"));
                cases.push((supported, iss, accepted));
            }
            cases.push((true, "&iss=https%3A%2F%2Fhonest.as.example&iss=https%3A%2F%2Fhonest.as.example".into(), false));
            for (supported, iss, accepted) in cases {
                let client = code_client(if accepted { &redeeming } else { &server }, supported).await?;
                let (url, pending) = client.authorization_request().map_err(|e| e.to_string())?.into_parts();
                let state = param(&query_of(&url), "state").ok_or("state")?.to_owned();
                let callback = format!("{REDIRECT}?code=x1848ZT64p4IirMPT0R&state={state}{iss}");
                let got = pending.finish(&client, &callback).await;
                if accepted {
                    ensure(got.is_ok(), || format!("advertised {supported}, {iss}: {got:?}"))?;
                    continue;
                }
                ensure(matches!(got, Err(Error::AuthorizationResponse(_))), || format!("advertised {supported}, {iss}: {got:?}"))?;
            }
            // Wrong state, a different redirect, an error naming another issuer.
            for (callback, why) in [
                (format!("{REDIRECT}?code=c&state=forged&iss=https%3A%2F%2Fhonest.as.example"), "forged state"),
                (format!("{REDIRECT}?code=c&iss=https%3A%2F%2Fhonest.as.example"), "no state"),
                ("https://client.example/cb2?code=c&state=STATE&iss=https%3A%2F%2Fhonest.as.example".to_owned(), "other redirect"),
                (format!("{REDIRECT}?error=access_denied&state=STATE&iss=https%3A%2F%2Fattacker.example"), "error from attacker"),
            ] {
                let client = code_client(&server, true).await?;
                let (url, pending) = client.authorization_request().map_err(|e| e.to_string())?.into_parts();
                let state = param(&query_of(&url), "state").ok_or("state")?.to_owned();
                let callback = callback.replace("STATE", &state);
                let got = pending.finish(&client, &callback).await;
                ensure(matches!(got, Err(Error::AuthorizationResponse(_))), || format!("{why}: {got:?}"))?;
            }
            // An error from the honest server is typed.
            let client = code_client(&server, true).await?;
            let (url, pending) = client.authorization_request().map_err(|e| e.to_string())?.into_parts();
            let state = param(&query_of(&url), "state").ok_or("state")?.to_owned();
            let got = pending.finish(&client, &format!("{REDIRECT}?error=access_denied&state={state}&iss=https%3A%2F%2Fhonest.as.example")).await;
            ensure(got.as_ref().err().is_some_and(|e| e.is_server_error(&ErrorCode::AccessDenied)), || format!("{got:?}"))?;
            ensure_eq("token requests", requests(&server).await.len(), 0)
        })
    });

    s.case(
        "revocation: exact request, 200 for unknown tokens, typed refusal",
        "RFC 7009 §2.1, §2.2",
        || {
            block_on(async {
                let server = MockServer::start().await;
                Mock::given(method("POST"))
                    .and(path("/revoke"))
                    .and(body_string_contains("token=RT1"))
                    .respond_with(ResponseTemplate::new(200))
                    .mount(&server)
                    .await;
                Mock::given(method("POST"))
                    .and(path("/revoke"))
                    .and(body_string_contains("token=AT1"))
                    .respond_with(
                        ResponseTemplate::new(400)
                            .set_body_json(json!({"error":"unsupported_token_type"})),
                    )
                    .mount(&server)
                    .await;
                let clock = ManualClock::new(START);
                let client = builder(&server, "s6BhdRkqt3", &clock)?
                    .client_secret_basic(Secret::new("gX1fBat3bV"))
                    .revocation_endpoint(format!("{}/revoke", server.uri()))
                    .build()
                    .map_err(|e| e.to_string())?;
                client
                    .revoke(&Secret::new("RT1"), TokenKind::Refresh)
                    .await
                    .map_err(|e| e.to_string())?;
                let got = requests(&server).await;
                let r = got.first().ok_or("no request")?;
                ensure_eq(
                    "Authorization",
                    header(r, "authorization"),
                    Some("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"),
                )?;
                ensure_eq(
                    "content-type",
                    header(r, "content-type"),
                    Some("application/x-www-form-urlencoded"),
                )?;
                ensure_eq(
                    "body",
                    form(&r.body),
                    pairs(&[("token", "RT1"), ("token_type_hint", "refresh_token")]),
                )?;
                let e = client
                    .revoke(&Secret::new("AT1"), TokenKind::Access)
                    .await
                    .err()
                    .ok_or("accepted")?;
                ensure(e.is_server_error(&ErrorCode::UnsupportedTokenType), || {
                    format!("{e:?}")
                })
            })
        },
    );

    s.case(
        "device grant: exact requests, pending, slow_down adds 5 s, expiry",
        "RFC 8628 §3.1, §3.4, §3.5",
        || {
            block_on(async {
                let server = MockServer::start().await;
                Mock::given(method("POST")).and(path("/device"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
                    "user_code": "WDJB-MJHT",
                    "verification_uri": "https://example.com/device",
                    "verification_uri_complete": "https://example.com/device?user_code=WDJB-MJHT",
                    "expires_in": 1800,
                    "interval": 5
                }))).expect(1).mount(&server).await;
                let err =
                    |code: &str| ResponseTemplate::new(400).set_body_json(json!({"error": code}));
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .respond_with(err("authorization_pending"))
                    .up_to_n_times(1)
                    .with_priority(1)
                    .mount(&server)
                    .await;
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .respond_with(err("slow_down"))
                    .up_to_n_times(1)
                    .with_priority(2)
                    .mount(&server)
                    .await;
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .respond_with(ok_token("AT", Some("RT"), 3600))
                    .with_priority(3)
                    .mount(&server)
                    .await;
                let clock = ManualClock::new(START);
                let client = builder(&server, "cli-tool", &clock)?
                    .public_client()
                    .scopes("read")
                    .device_authorization_endpoint(format!("{}/device", server.uri()))
                    .build()
                    .map_err(|e| e.to_string())?;
                let device = client
                    .device_authorization()
                    .await
                    .map_err(|e| e.to_string())?;
                ensure_eq("user code", device.user_code(), "WDJB-MJHT")?;
                let mut waits = Vec::new();
                let tokens = loop {
                    match client
                        .poll_device_token(&device)
                        .await
                        .map_err(|e| e.to_string())?
                    {
                        DevicePoll::Ready(t) => break t,
                        DevicePoll::Pending { retry_in } => {
                            waits.push(retry_in.as_secs());
                            clock.advance(retry_in);
                        }
                    }
                    ensure(waits.len() < 5, || "polling does not end".into())?;
                };
                ensure(tokens.access_token().ct_eq(b"AT"), || "token".into())?;
                ensure_eq("waits", waits, vec![5, 10])?;
                let got = requests(&server).await;
                ensure_eq(
                    "device request",
                    form(&got.first().ok_or("none")?.body),
                    pairs(&[("scope", "read"), ("client_id", "cli-tool")]),
                )?;
                ensure_eq(
                    "token request",
                    form(&got.get(1).ok_or("no poll")?.body),
                    pairs(&[
                        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                        ("device_code", "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS"),
                        ("client_id", "cli-tool"),
                    ]),
                )?;
                // Past its lifetime the device code is not sent again.
                let before = got.len();
                clock.advance(Duration::from_secs(1800));
                let e = client
                    .poll_device_token(&device)
                    .await
                    .err()
                    .ok_or("expired code polled")?;
                ensure(e.is_server_error(&ErrorCode::ExpiredToken), || {
                    format!("{e:?}")
                })?;
                ensure_eq("no request", requests(&server).await.len(), before)
            })
        },
    );

    s.case(
        "discovery: issuer identical, trailing slash refused",
        "RFC 8414 §3.3, OpenID Discovery §4.3",
        || {
            block_on(async {
                let server = MockServer::start().await;
                let issuer = server.uri();
                let doc = |iss: &str| {
                    json!({
                        "issuer": iss,
                        "token_endpoint": format!("{issuer}/token"),
                        "authorization_endpoint": format!("{issuer}/authorize"),
                        "authorization_response_iss_parameter_supported": true,
                        "code_challenge_methods_supported": ["S256"],
                        "response_types_supported": ["code"],
                    })
                };
                Mock::given(method("GET"))
                    .and(path("/.well-known/oauth-authorization-server"))
                    .respond_with(
                        ResponseTemplate::new(200).set_body_json(doc(&format!("{issuer}/"))),
                    )
                    .mount(&server)
                    .await;
                Mock::given(method("GET"))
                    .and(path("/.well-known/openid-configuration"))
                    .respond_with(ResponseTemplate::new(200).set_body_json(doc(&issuer)))
                    .mount(&server)
                    .await;
                let http = http()?;
                let e = Metadata::discover(&*http, &issuer, WellKnown::OAuth, Default::default())
                    .await
                    .err()
                    .ok_or("trailing slash accepted")?;
                ensure(matches!(e, Error::InvalidResponse { .. }), || {
                    format!("{e:?}")
                })?;
                let m = Metadata::discover(&*http, &issuer, WellKnown::OpenId, Default::default())
                    .await
                    .map_err(|e| e.to_string())?;
                ensure(
                    m.iss_parameter_supported() && m.supports_pkce_s256(),
                    || "metadata members".into(),
                )?;
                let client = OAuthClient::builder("c")
                    .metadata(&m)
                    .public_client()
                    .redirect_uri("http://127.0.0.1:9/cb")
                    .http_client(http)
                    .build()
                    .map_err(|e| e.to_string())?;
                ensure(client.authorization_request().is_ok(), || {
                    "client from metadata".into()
                })
            })
        },
    );
}

async fn introspector(server: &MockServer, clock: &ManualClock) -> Result<Introspector, String> {
    let client = builder(server, "s6BhdRkqt3", clock)?
        .client_secret_basic(Secret::new("gX1fBat3bV"))
        .build()
        .map_err(|e| e.to_string())?;
    Introspector::builder(client, format!("{}/introspect", server.uri()))
        .audience("https://protected.example.net/resource")
        .issuer("https://server.example.com/")
        .max_cache_ttl(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())
}

fn bearer_head(token: &str) -> http::request::Parts {
    let mut parts = http::Request::new(()).into_parts().0;
    if let Ok(v) = http::HeaderValue::from_str(&format!("Bearer {token}")) {
        parts.headers.insert("authorization", v);
    }
    parts
}

/// An introspection response whose `Date` header follows the test's clock, so that the
/// introspector's clock-offset correction sees the server's time move with ours.
fn introspection(clock: &ManualClock, status: u16, body: Value) -> impl wiremock::Respond + use<> {
    let clock = clock.clone();
    move |_: &wiremock::Request| {
        ResponseTemplate::new(status)
            .insert_header("date", httpdate_fmt(clock.now().as_secs()).as_str())
            .set_body_json(&body)
    }
}

fn resource_server_cases(s: &mut Suite) {
    s.case(
        "introspection: exact request, RFC 7662 active response accepted, scopes to the guard",
        "RFC 7662 §2.1, §2.2",
        || {
            block_on(async {
                let v = vectors()?;
                let mut active = v["rfc7662"]["2.2_active_response"]["body"].clone();
                active["exp"] = json!(START.as_secs() + 3600);
                let server = MockServer::start().await;
                let clock = ManualClock::new(START);
                Mock::given(method("POST"))
                    .and(path("/introspect"))
                    .respond_with(introspection(&clock, 200, active))
                    .expect(1)
                    .mount(&server)
                    .await;
                let guard = Guard::new(TokenAuthenticator::bearer(
                    "api",
                    introspector(&server, &clock).await?,
                ))
                .require_scope(ScopeRequirement::parse("dolphin").map_err(|e| e.to_string())?);
                let principal = guard
                    .check(&bearer_head("2YotnFZFEjr1zCsicMWpAA"))
                    .await
                    .map_err(|d| d.to_string())?
                    .ok_or("anonymous")?;
                ensure_eq("subject", principal.subject(), "Z5O3upPC88QrAjx00dis")?;
                let got = requests(&server).await;
                let r = got.first().ok_or("no request")?;
                ensure_eq(
                    "Authorization",
                    header(r, "authorization"),
                    Some("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"),
                )?;
                ensure_eq("accept", header(r, "accept"), Some("application/json"))?;
                ensure_eq(
                    "body",
                    form(&r.body),
                    pairs(&[
                        ("token", "2YotnFZFEjr1zCsicMWpAA"),
                        ("token_type_hint", "access_token"),
                    ]),
                )?;
                // Cached: the same token again makes no request.
                let guard = Guard::new(TokenAuthenticator::bearer(
                    "api",
                    guard.authenticator().verifier().clone(),
                ))
                .require_scope(ScopeRequirement::parse("admin").map_err(|e| e.to_string())?);
                let d = guard
                    .check(&bearer_head("2YotnFZFEjr1zCsicMWpAA"))
                    .await
                    .err()
                    .ok_or("admin granted")?;
                ensure_eq("status", d.status().as_u16(), 403)?;
                ensure_eq("requests", requests(&server).await.len(), 1)
            })
        },
    );

    s.case("introspection: only boolean active true counts; aud, iss, exp checked", "RFC 7662 §2.2, RFC 9700 §2.3", || {
        block_on(async {
            let good = json!({"active": true, "sub": "u", "aud": "https://protected.example.net/resource", "iss": "https://server.example.com/", "exp": START.as_secs() + 60});
            let with = |k: &str, v: Value| { let mut g = good.clone(); g[k] = v; g };
            let table = [
                (json!({"active": "true", "sub": "u", "aud": "https://protected.example.net/resource", "iss": "https://server.example.com/"}), "active \"true\""),
                (json!({}), "active missing"),
                (json!({"active": false, "exp": 99_999_999_999u64}), "active false"),
                (with("exp", json!(1)), "exp in the past"),
                (with("aud", json!("https://other.example")), "other audience"),
                (with("aud", Value::Null), "no audience"),
                (with("iss", json!("https://server.example.com")), "iss without the slash"),
                (with("active", json!(1)), "active 1"),
            ];
            for (body, why) in table {
                let server = MockServer::start().await;
                let clock = ManualClock::new(START);
                Mock::given(method("POST")).and(path("/introspect"))
                    .respond_with(introspection(&clock, 200, body)).mount(&server).await;
                let auth = TokenAuthenticator::bearer("api", introspector(&server, &clock).await?);
                let d = Guard::new(auth).check(&bearer_head("tok")).await.err().ok_or_else(|| format!("{why}: accepted"))?;
                ensure_eq(why, d.status().as_u16(), 401)?;
            }
            let server = MockServer::start().await;
            let clock = ManualClock::new(START);
            Mock::given(method("POST")).and(path("/introspect"))
                .respond_with(introspection(&clock, 200, with("aud", json!(["x", "https://protected.example.net/resource"])))).mount(&server).await;
            let auth = TokenAuthenticator::bearer("api", introspector(&server, &clock).await?);
            Guard::new(auth).check(&bearer_head("tok")).await.map_err(|d| format!("aud array: {d}"))?;
            Ok(())
        })
    });

    s.case(
        "introspection: endpoint down is 503, bad client credentials 500, neither cached",
        "design: 503 vs 401",
        || {
            block_on(async {
                for (status, want) in [(500u16, 503u16), (503, 503), (401, 500)] {
                    let server = MockServer::start().await;
                    Mock::given(method("POST"))
                        .and(path("/introspect"))
                        .respond_with(ResponseTemplate::new(status))
                        .expect(2)
                        .mount(&server)
                        .await;
                    let clock = ManualClock::new(START);
                    let guard = Guard::new(TokenAuthenticator::bearer(
                        "api",
                        introspector(&server, &clock).await?,
                    ));
                    for _ in 0..2 {
                        let d = guard
                            .check(&bearer_head("tok"))
                            .await
                            .err()
                            .ok_or("accepted")?;
                        ensure_eq(&format!("http {status}"), d.status().as_u16(), want)?;
                    }
                }
                let clock = ManualClock::new(START);
                let client = OAuthClient::builder("c")
                    .client_secret_basic(Secret::new("s"))
                    .http_client(http()?)
                    .clock(Arc::new(clock))
                    .build()
                    .map_err(|e| e.to_string())?;
                let i = Introspector::builder(client, "http://127.0.0.1:1/introspect")
                    .audience("a")
                    .issuer("i")
                    .build()
                    .map_err(|e| e.to_string())?;
                let d = Guard::new(TokenAuthenticator::bearer("api", i))
                    .check(&bearer_head("tok"))
                    .await
                    .err()
                    .ok_or("accepted")?;
                ensure_eq("closed port", d.status().as_u16(), 503)
            })
        },
    );

    s.case("introspection: cached for min(exp, max), single flight per token", "RFC 7662 §4", || {
        block_on(async {
            let server = MockServer::start().await;
            let clock = ManualClock::new(START);
            let body = json!({"active": true, "sub": "u", "aud": "https://protected.example.net/resource", "iss": "https://server.example.com/", "exp": START.as_secs() + 20});
            let slow = clock.clone();
            Mock::given(method("POST")).and(path("/introspect"))
                .respond_with(move |_: &wiremock::Request| ResponseTemplate::new(200)
                    .insert_header("date", httpdate_fmt(slow.now().as_secs()).as_str())
                    .set_body_json(&body)
                    .set_delay(Duration::from_millis(200)))
                .mount(&server).await;
            let guard = Arc::new(Guard::new(TokenAuthenticator::bearer("api", introspector(&server, &clock).await?)));
            let tasks: Vec<_> = (0..20).map(|_| {
                let guard = Arc::clone(&guard);
                tokio::spawn(async move { guard.check(&bearer_head("tok")).await.is_ok() })
            }).collect();
            for t in tasks {
                ensure(t.await.map_err(|e| e.to_string())?, || "refused".into())?;
            }
            ensure_eq("one request for twenty", requests(&server).await.len(), 1)?;
            clock.advance(Duration::from_secs(19));
            guard.check(&bearer_head("tok")).await.map_err(|d| d.to_string())?;
            ensure_eq("cached until exp", requests(&server).await.len(), 1)?;
            clock.advance(Duration::from_secs(1));
            let d = guard.check(&bearer_head("tok")).await.err().ok_or("expired token accepted")?;
            ensure_eq("expired", d.status().as_u16(), 401)?;
            ensure_eq("asked again after exp", requests(&server).await.len(), 2)
        })
    });
}
