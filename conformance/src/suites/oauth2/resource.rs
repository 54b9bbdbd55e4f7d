//! The resource server: RFC 7662 introspection behind `TokenAuthenticator`.

use super::*;

async fn introspector(server: &MockServer, clock: &ManualClock) -> Result<Introspector, String> {
    let client = builder(server, "s6BhdRkqt3", clock)?
        .client_auth(ClientAuth::SecretBasic(Secret::new("gX1fBat3bV")))
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

pub(super) fn cases(s: &mut Suite) {
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
                    .decide(&bearer_head("2YotnFZFEjr1zCsicMWpAA"))
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
                    .decide(&bearer_head("2YotnFZFEjr1zCsicMWpAA"))
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
                let d = Guard::new(auth).decide(&bearer_head("tok")).await.err().ok_or_else(|| format!("{why}: accepted"))?;
                ensure_eq(why, d.status().as_u16(), 401)?;
            }
            let server = MockServer::start().await;
            let clock = ManualClock::new(START);
            Mock::given(method("POST")).and(path("/introspect"))
                .respond_with(introspection(&clock, 200, with("aud", json!(["x", "https://protected.example.net/resource"])))).mount(&server).await;
            let auth = TokenAuthenticator::bearer("api", introspector(&server, &clock).await?);
            Guard::new(auth).decide(&bearer_head("tok")).await.map_err(|d| format!("aud array: {d}"))?;
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
                            .decide(&bearer_head("tok"))
                            .await
                            .err()
                            .ok_or("accepted")?;
                        ensure_eq(&format!("http {status}"), d.status().as_u16(), want)?;
                    }
                }
                let clock = ManualClock::new(START);
                let client = OAuthClient::builder("c")
                    .client_auth(ClientAuth::SecretBasic(Secret::new("s")))
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
                    .decide(&bearer_head("tok"))
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
                tokio::spawn(async move { guard.decide(&bearer_head("tok")).await.is_ok() })
            }).collect();
            for t in tasks {
                ensure(t.await.map_err(|e| e.to_string())?, || "refused".into())?;
            }
            ensure_eq("one request for twenty", requests(&server).await.len(), 1)?;
            clock.advance(Duration::from_secs(19));
            guard.decide(&bearer_head("tok")).await.map_err(|d| d.to_string())?;
            ensure_eq("cached until exp", requests(&server).await.len(), 1)?;
            clock.advance(Duration::from_secs(1));
            let d = guard.decide(&bearer_head("tok")).await.err().ok_or("expired token accepted")?;
            ensure_eq("expired", d.status().as_u16(), 401)?;
            ensure_eq("asked again after exp", requests(&server).await.len(), 2)
        })
    });
}
