//! auth-oauth2 against mock authorization servers (wiremock on 127.0.0.1) and the protocol
//! vectors: each flow's exact requests, strict responses, typed errors, and the token source
//! under concurrency, failure and refresh-token rotation.

use std::sync::Arc;
use std::time::Duration;

use auth_core::{BoxHttpClient, Clock, ManualClock, Secret, UnixTime};
use auth_core::{Guard, ScopeRequirement, TokenAuthenticator};
use auth_oauth2::{
    ClientAuth, DevicePoll, Error, ErrorCode, FileTokenStore, Introspector, MemoryTokenStore,
    Metadata, OAuthClient, OAuthClientBuilder, PendingAuthorization, Pkce, PrivateKeyJwt, Quirk,
    TokenKind, TokenSet, TokenSource, TokenStore, WellKnown,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Suite, altered, block_on, ensure, ensure_eq};

mod assertion;
mod dpop_peer;
mod dpop_resource;
mod flows;
mod node_provider;
mod oidc_peer;
mod peer;
mod props;
mod protected_resource;
mod resource;
mod source;

const VECTORS: &str = include_str!("../../vectors/oauth_protocol_vectors.json");
const START: UnixTime = UnixTime::from_secs(1_700_000_000);

fn vectors() -> Result<Value, String> {
    serde_json::from_str(VECTORS).map_err(|e| e.to_string())
}

fn http() -> Result<BoxHttpClient, String> {
    let client = auth_http::Client::new(auth_http::Config::default()).map_err(|e| e.to_string())?;
    Ok(BoxHttpClient::new(client))
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

/// A mock token endpoint answering `response` to every POST (exactly `expect` times, when
/// given).
async fn token_server(response: ResponseTemplate, expect: Option<u64>) -> MockServer {
    let server = MockServer::start().await;
    let mock = Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(response);
    match expect {
        Some(n) => mock.expect(n).mount(&server).await,
        None => mock.mount(&server).await,
    }
    server
}

/// A `client_secret_basic` client "c" / "s" of `server`'s token endpoint.
fn basic_client(server: &MockServer, clock: &ManualClock) -> Result<OAuthClient, String> {
    builder(server, "c", clock)?
        .client_auth(ClientAuth::SecretBasic(Secret::new("s")))
        .build()
        .map_err(|e| e.to_string())
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
    source::cases(&mut s);
    flows::cases(&mut s);
    assertion::cases(&mut s);
    resource::cases(&mut s);
    protected_resource::cases(&mut s);
    props::cases(&mut s);
    peer::cases(&mut s);
    dpop_peer::cases(&mut s);
    oidc_peer::cases(&mut s);
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
                    let server = token_server(ok_token("AT", None, 3600), None).await;
                    let clock = ManualClock::new(START);
                    let client = builder(&server, id, &clock)?
                        .client_auth(ClientAuth::SecretBasic(Secret::new(secret)))
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
                let server = token_server(ok_token("AT", None, 3600), Some(1)).await;
                let clock = ManualClock::new(START);
                let client = builder(&server, "s6BhdRkqt3", &clock)?
                    .client_auth(ClientAuth::SecretBasic(Secret::new(
                        "7Fjfp0ZBr1KtDRbnfVdmIw",
                    )))
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
                let server = token_server(ok_token("AT", None, 3600), None).await;
                let clock = ManualClock::new(START);
                let client = builder(&server, "my client:1", &clock)?
                    .client_auth(ClientAuth::SecretPost(Secret::new("p@ss:w/rd+%é")))
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
                let server = token_server(ok_token("AT2", Some("RT2"), 3600), None).await;
                let clock = ManualClock::new(START);
                let client = basic_client(&server, &clock)?;
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
                        let server =
                            token_server(ResponseTemplate::new(200).set_body_json(&body), None)
                                .await;
                        let clock = ManualClock::new(START);
                        let mut b = builder(&server, "c", &clock)?
                            .client_auth(ClientAuth::SecretBasic(Secret::new("s")));
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
                let server = token_server(ResponseTemplate::new(status)
                        .set_body_json(json!({"error": wire, "error_description": "why", "error_uri": "https://as.example/e"})), Some(1)).await;
                let clock = ManualClock::new(START);
                let client = basic_client(&server, &clock)?;
                let e = client.client_credentials().await.err().ok_or("accepted an error")?;
                let se = e.server_error().ok_or_else(|| format!("{wire}: not a server error: {e:?}"))?;
                ensure_eq("code", se.code(), &code)?;
                ensure_eq("status", se.status(), status)?;
                ensure_eq("description", se.description(), Some("why"))?;
                ensure_eq("uri", se.uri(), Some("https://as.example/e"))?;
                ensure(!e.is_transient(), || format!("{wire} is not transient"))?;
            }
            // Not an OAuth error body, a non-JSON success, and nobody listening.
            let server = token_server(ResponseTemplate::new(503).set_body_string("<html>down</html>"), None).await;
            let clock = ManualClock::new(START);
            let client = basic_client(&server, &clock)?;
            let e = client.client_credentials().await.err().ok_or("accepted a 503")?;
            ensure(matches!(e, Error::Status { status: 503, .. }) && e.is_transient(), || format!("503: {e:?}"))?;
            let server = token_server(ResponseTemplate::new(200).set_body_raw("<html>", "text/html"), None).await;
            let client = basic_client(&server, &clock)?;
            let e = client.client_credentials().await.err().ok_or("accepted html")?;
            ensure(matches!(e, Error::InvalidResponse { .. }), || format!("html: {e:?}"))?;
            let client = OAuthClient::builder("c")
                .token_endpoint("http://127.0.0.1:1/token")
                .client_auth(ClientAuth::SecretBasic(Secret::new("s")))
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
            let h = http()?;
            let b = || {
                OAuthClient::builder("c")
                    .client_auth(ClientAuth::SecretBasic(Secret::new("s")))
                    .http_client(h.clone())
            };
            // The positive twins: loopback over plain http, and https anywhere.
            for ok in [
                "http://127.0.0.1:9/token",
                "http://[::1]:9/token",
                "https://as.example/token",
            ] {
                b().token_endpoint(ok)
                    .build()
                    .map_err(|e| format!("{ok}: {e}"))?;
            }
            let e = b()
                .token_endpoint("http://as.example/token")
                .build()
                .err()
                .ok_or("plain http accepted")?;
            ensure(matches!(e, Error::Misconfigured(_)), || format!("{e:?}"))
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
                let client = basic_client(&server, &clock)?;
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
