//! `private_key_jwt` client authentication (RFC 7523 §2.2, OpenID Connect Core §9) against
//! mock endpoints: the exact form body of every grant, revocation and introspection, and
//! each assertion decoded and verified with auth-jwt.

use auth_jwt::{Algorithm, KeySet, SigningKey, Verifier};

use super::*;

const CLIENT_ID: &str = "s6BhdRkqt3";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Checks one request authenticated by `private_key_jwt`; returns the assertion's `jti`.
async fn check_request(
    r: &wiremock::Request,
    verifier: &Verifier,
    iat: UnixTime,
    params: &[(&str, &str)],
) -> Result<String, String> {
    ensure_eq("Authorization", header(r, "authorization"), None)?;
    let body = form(&r.body);
    let get = |k: &str| body.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    ensure_eq("client_id", get("client_id"), Some(CLIENT_ID))?;
    ensure_eq(
        "client_assertion_type",
        get("client_assertion_type"),
        Some(JWT_BEARER),
    )?;
    ensure(get("client_secret").is_none(), || "a client_secret".into())?;
    for (k, v) in params {
        ensure_eq(k, get(k), Some(*v))?;
    }
    ensure_eq(
        "parameter count",
        body.len(),
        params.len() + 3, // client_id, client_assertion_type, client_assertion
    )?;
    let assertion = get("client_assertion").ok_or("no client_assertion")?;
    let v = verifier
        .verify::<Value>(assertion)
        .await
        .map_err(|e| format!("assertion does not verify: {e}"))?;
    let c = v.registered();
    ensure_eq("sub", c.subject(), Some(CLIENT_ID))?;
    ensure_eq("iat", c.issued_at(), Some(iat))?;
    ensure_eq(
        "exp",
        c.expires_at(),
        Some(iat.saturating_add(Duration::from_secs(60))),
    )?;
    Ok(c.token_id().ok_or("no jti")?.to_owned())
}

pub(super) fn cases(s: &mut Suite) {
    s.case(
        "private_key_jwt: every grant, revocation and introspection carry a fresh verified assertion",
        "RFC 7523 §2.2, §3; RFC 7521 §4.2; OIDC Core §9",
        || {
            block_on(async {
                for alg in [
                    Algorithm::RS256,
                    Algorithm::PS256,
                    Algorithm::ES256,
                    Algorithm::EdDSA,
                ] {
                    one_algorithm(alg).await.map_err(|e| format!("{alg}: {e}"))?;
                }
                Ok(())
            })
        },
    );

    s.case(
        "private_key_jwt: iat and exp follow the server's clock from the Date header",
        "RFC 7523 §3 (exp, iat); RFC 9110 §6.6.1",
        || {
            block_on(async {
                let clock = ManualClock::new(START);
                // The server's clock runs 120 s ahead of ours.
                let server = token_server(
                    ok_token("AT", None, 3600)
                        .insert_header("date", httpdate_fmt(START.as_secs() + 120).as_str()),
                    Some(2),
                )
                .await;
                let key = SigningKey::generate(Algorithm::ES256).map_err(|e| e.to_string())?;
                let token_url = format!("{}/token", server.uri());
                let before = verifier(&key, &token_url, START.as_secs() + 5)?;
                let after = verifier(&key, &token_url, START.as_secs() + 125)?;
                let client = builder(&server, CLIENT_ID, &clock)?
                    .client_auth(ClientAuth::PrivateKeyJwt(PrivateKeyJwt::new(key)))
                    .build()
                    .map_err(|e| e.to_string())?;
                for _ in 0..2 {
                    client
                        .client_credentials()
                        .await
                        .map_err(|e| e.to_string())?;
                }
                let got = requests(&server).await;
                let grant = [("grant_type", "client_credentials")];
                let first = got.first().ok_or("no request")?;
                check_request(first, &before, START, &grant).await?;
                // After one response, assertions are dated by the server's clock.
                let second = got.get(1).ok_or("no second request")?;
                let shifted = START.saturating_add(Duration::from_secs(120));
                check_request(second, &after, shifted, &grant).await?;
                Ok(())
            })
        },
    );
}

fn verifier(key: &SigningKey, audience: &str, now: u64) -> Result<Verifier, String> {
    Verifier::builder()
        .algorithms([key.algorithm()])
        .issuer(CLIENT_ID)
        .audience(audience)
        .keys(KeySet::new([key
            .verification_key()
            .map_err(|e| e.to_string())?]))
        .clock(ManualClock::new(UnixTime::from_secs(now)))
        .build()
        .map_err(|e| e.to_string())
}

async fn one_algorithm(alg: Algorithm) -> Result<(), String> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        // The server's clock agrees with ours (hyper would send the real time otherwise).
        .respond_with(
            ok_token("AT", Some("RT2"), 3600)
                .insert_header("date", httpdate_fmt(START.as_secs()).as_str()),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/introspect"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"active": false})))
        .mount(&server)
        .await;
    let clock = ManualClock::new(START);
    let key = SigningKey::generate(alg).map_err(|e| e.to_string())?;
    let token_url = format!("{}/token", server.uri());
    let verifier = verifier(&key, &token_url, START.as_secs() + 5)?;
    let client = builder(&server, CLIENT_ID, &clock)?
        .client_auth(ClientAuth::PrivateKeyJwt(PrivateKeyJwt::new(key)))
        .revocation_endpoint(format!("{}/revoke", server.uri()))
        .build()
        .map_err(|e| e.to_string())?;
    client
        .client_credentials()
        .await
        .map_err(|e| e.to_string())?;
    client
        .refresh(&Secret::new("RT1"))
        .await
        .map_err(|e| e.to_string())?;
    client
        .revoke(&Secret::new("RT2"), TokenKind::Refresh)
        .await
        .map_err(|e| e.to_string())?;
    let introspector = Introspector::builder(client, format!("{}/introspect", server.uri()))
        .audience("api")
        .issuer("https://as.example")
        .build()
        .map_err(|e| e.to_string())?;
    let guard = Guard::new(TokenAuthenticator::bearer("api", introspector));
    let mut parts = http::Request::new(()).into_parts().0;
    parts.headers.insert(
        "authorization",
        http::HeaderValue::from_static("Bearer opaque-AT"),
    );
    ensure(guard.decide(&parts).await.is_err(), || {
        "inactive token accepted".into()
    })?;
    let got = requests(&server).await;
    ensure_eq("requests", got.len(), 4)?;
    let expected: [&[(&str, &str)]; 4] = [
        &[("grant_type", "client_credentials")],
        &[("grant_type", "refresh_token"), ("refresh_token", "RT1")],
        &[("token", "RT2"), ("token_type_hint", "refresh_token")],
        &[("token", "opaque-AT"), ("token_type_hint", "access_token")],
    ];
    let mut jtis = Vec::new();
    for (r, params) in got.iter().zip(expected) {
        jtis.push(check_request(r, &verifier, START, params).await?);
    }
    jtis.sort();
    jtis.dedup();
    ensure_eq("distinct jti", jtis.len(), 4)
}
