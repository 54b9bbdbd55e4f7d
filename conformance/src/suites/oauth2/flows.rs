//! The authorization code flow with PKCE, state and RFC 9207 `iss`, the device grant,
//! revocation and discovery, request by request.

use super::*;

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
        .client_auth(ClientAuth::SecretBasic(Secret::new(
            "7Fjfp0ZBr1KtDRbnfVdmIw",
        )))
        .authorization_endpoint("https://honest.as.example/authorize")
        .redirect_uri(REDIRECT)
        .scopes("openid profile")
        .issuer(ISSUER)
        .iss_parameter_supported(iss_supported)
        .build()
        .map_err(|e| e.to_string())
}

pub(super) fn cases(s: &mut Suite) {
    s.case(
        "PKCE S256 of the RFC 7636 Appendix B verifier",
        "RFC 7636 App. B",
        || {
            let v: Value =
                serde_json::from_str(include_str!("../../../vectors/rfc7636_B_pkce_s256.json"))
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
            let server = token_server(ok_token("AT", Some("RT"), 3600), Some(1)).await;
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

    s.case("a pending authorization kept between two requests: state and verifier as parts", "RFC 6749 §10.12, RFC 7636 §4.5", || {
        block_on(async {
            let server = token_server(ok_token("AT", Some("RT"), 3600), Some(1)).await;
            let client = code_client(&server, true).await?;
            let (url, pending) = client.authorization_request().map_err(|e| e.to_string())?.into_parts();
            let q = query_of(&url);
            let state = param(&q, "state").ok_or("no state")?.to_owned();
            ensure_eq("state()", pending.state(), state.as_str())?;
            // The redirect's request ends here: what a web server keeps in its session.
            let (kept_state, kept_verifier) = pending.into_parts();
            let (kept_state, kept_verifier) = (kept_state.expose_str().map_err(|e| e.to_string())?.to_owned(),
                kept_verifier.expose_str().map_err(|e| e.to_string())?.to_owned());
            // The callback's request rebuilds it.
            let rebuild = || PendingAuthorization::from_parts(Secret::new(kept_state.clone()), &Secret::new(kept_verifier.clone()));
            let wrong_state = format!("{REDIRECT}?code=c&state={}&iss=https%3A%2F%2Fhonest.as.example", altered(&state));
            ensure(rebuild().map_err(|e| e.to_string())?.finish(&client, &wrong_state).await.is_err(), || "wrong state accepted".into())?;
            let callback = format!("{REDIRECT}?code=SplxlOBeZQQYbYS6WxSbIA&state={state}&iss=https%3A%2F%2Fhonest.as.example");
            rebuild().map_err(|e| e.to_string())?.finish(&client, &callback).await.map_err(|e| e.to_string())?;
            let got = requests(&server).await;
            let body = form(&got.first().ok_or("no request")?.body);
            let verifier = param(&body, "code_verifier").ok_or("no code_verifier")?;
            let challenge = Pkce::from_verifier(verifier).map_err(|e| e.to_string())?;
            ensure_eq("the kept verifier matches the challenge sent", Some(challenge.challenge()), param(&q, "code_challenge"))?;
            // Parts that could not have come from a request are refused.
            for (st, ve) in [("short", kept_verifier.as_str()), (state.as_str(), "short"), ("a b c d e f g h i j k l", kept_verifier.as_str())] {
                ensure(PendingAuthorization::from_parts(Secret::new(st), &Secret::new(ve)).is_err(), || format!("accepted {st:?}"))?;
            }
            Ok(())
        })
    });

    s.case("callback refused before any token request: state, iss mix-up, repeats, redirect", "RFC 9207 §2.4, RFC 6749 §3.1, §10.12", || {
        block_on(async {
            let v = vectors()?;
            let server = token_server(ok_token("AT", None, 3600), Some(0)).await;
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
                    .client_auth(ClientAuth::SecretBasic(Secret::new("gX1fBat3bV")))
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
                    .client_auth(ClientAuth::Public)
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
                        other => return Err(format!("unexpected {other:?}")),
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
                let e = Metadata::discover(&http, &issuer, WellKnown::OAuth, Default::default())
                    .await
                    .err()
                    .ok_or("trailing slash accepted")?;
                ensure(matches!(e, Error::InvalidResponse { .. }), || {
                    format!("{e:?}")
                })?;
                let m = Metadata::discover(&http, &issuer, WellKnown::OpenId, Default::default())
                    .await
                    .map_err(|e| e.to_string())?;
                ensure(
                    m.iss_parameter_supported() && m.supports_pkce_s256(),
                    || "metadata members".into(),
                )?;
                let client = OAuthClient::builder("c")
                    .metadata(&m)
                    .client_auth(ClientAuth::Public)
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
