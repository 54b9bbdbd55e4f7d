//! `introspection`: RFC 7662 introspection responses, through auth-oauth2's public path
//! (`Introspector::verify` over an `HttpClient` closure that answers with the input), on a
//! fixed clock, with an issuer and an audience required.
//!
//! The first byte picks the status (200 three times in four, else 401 or 503); the rest is
//! the body. The property is an oracle written here from RFC 7662 §2.2 and the crate's
//! documented reading: a token is valid exactly when the status is 200, the body is one JSON
//! object, `active` is `true`, `exp` and `nbf` (when present) are non-negative numbers with
//! now before `exp` and not before `nbf`, `iss` is the issuer, `aud` is or lists the audience,
//! and the first present of `sub`, `client_id`, `username` is a non-empty string; `cnf`, when
//! present, is an object whose `jkt` and `x5t#S256` are strings when present. A valid token's
//! principal has that subject, the `scope` string's scopes and that confirmation. A 401 or 503
//! is an error, never a verdict.

use std::time::Duration;

use auth_core::http_client::{HttpError, HttpRequest, HttpResponse};
use auth_core::{Confirmation, ManualClock, Scopes, Secret, TokenVerdict, UnixTime, VerifyToken};
use auth_oauth2::{ClientAuth, Introspector, OAuthClient};
use serde_json::{Map, Value};

const NOW: u64 = 1_700_000_000;
const ISSUER: &str = "https://as.example";
const AUDIENCE: &str = "api";

fn introspector(status: u16, body: Vec<u8>) -> Introspector {
    let http = move |_req: HttpRequest| {
        let mut r = HttpResponse::new(body.clone());
        *r.status_mut() = http::StatusCode::from_u16(status).expect("a status");
        async move { Ok::<_, HttpError>(r) }
    };
    let client = OAuthClient::builder("rs")
        .token_endpoint("https://as.example/token")
        .client_auth(ClientAuth::SecretBasic(Secret::new("secret")))
        .http_client(http)
        .clock(ManualClock::new(UnixTime::from_secs(NOW)))
        .build()
        .expect("the fuzzing client builds");
    Introspector::builder(client, "https://as.example/introspect")
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .expect("the fuzzing introspector builds")
}

/// A NumericDate member: `Ok(None)` when absent, `Err` when not a non-negative number.
fn date(doc: &Map<String, Value>, name: &str) -> Result<Option<UnixTime>, ()> {
    match doc.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(s), _) => Ok(Some(UnixTime::from_secs(s))),
            (None, Some(v)) if v >= 0.0 => Ok(Some(UnixTime::from_duration(
                Duration::try_from_secs_f64(v).unwrap_or(Duration::MAX),
            ))),
            _ => Err(()),
        },
        Some(_) => Err(()),
    }
}

/// What the verdict must be: the subject, scopes and confirmation of a valid token.
fn expected(doc: &Map<String, Value>) -> Option<(String, Scopes, Option<Confirmation>)> {
    let now = UnixTime::from_secs(NOW);
    if doc.get("active") != Some(&Value::Bool(true)) {
        return None;
    }
    if date(doc, "exp").ok()?.is_some_and(|exp| now >= exp)
        || date(doc, "nbf").ok()?.is_some_and(|nbf| now < nbf)
    {
        return None;
    }
    if doc.get("iss").and_then(Value::as_str) != Some(ISSUER) {
        return None;
    }
    let aud_ok = match doc.get("aud") {
        Some(Value::String(a)) => a == AUDIENCE,
        Some(Value::Array(l)) => l.iter().any(|a| a.as_str() == Some(AUDIENCE)),
        _ => false,
    };
    if !aud_ok {
        return None;
    }
    let subject = match ["sub", "client_id", "username"]
        .iter()
        .find_map(|k| doc.get(*k))?
    {
        Value::String(s) if !s.is_empty() => s.clone(),
        _ => return None,
    };
    let scopes = doc
        .get("scope")
        .and_then(Value::as_str)
        .map(Scopes::from_space_separated)
        .unwrap_or_default();
    let cnf = match doc.get("cnf") {
        None => None,
        Some(Value::Object(c)) => {
            let text = |name| match c.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(()),
            };
            let mut out = Confirmation::new();
            if let Some(jkt) = text("jkt").ok()? {
                out = out.with_jkt(jkt);
            }
            if let Some(x5t) = text("x5t#S256").ok()? {
                out = out.with_x5t_s256(x5t);
            }
            out.is_bound().then_some(out)
        }
        Some(_) => return None,
    };
    Some((subject, scopes, cnf))
}

/// The property of target `introspection`.
pub fn check(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let status = [200, 200, 200, 401, 200, 200, 200, 503][usize::from(first % 8)];
    let got = crate::block_on(introspector(status, body.to_vec()).verify("an-opaque-token"));
    let doc = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(doc)) if status == 200 => doc,
        _ => {
            // Not 200, or not one JSON object: the endpoint failed; no verdict either way.
            assert!(got.is_err(), "a verdict from HTTP {status}: {got:?}");
            return;
        }
    };
    let verdict = got.expect("a 200 with a JSON object is a verdict");
    match (expected(&doc), verdict) {
        (None, TokenVerdict::Invalid(_)) => {}
        (Some((subject, scopes, cnf)), TokenVerdict::Valid(p)) => {
            assert_eq!(p.subject(), subject);
            assert_eq!(p.scopes(), &scopes);
            let got = p.attribute::<Confirmation>();
            assert_eq!(
                got.map(Confirmation::jkt),
                cnf.as_ref().map(Confirmation::jkt)
            );
            assert_eq!(
                got.map(Confirmation::x5t_s256),
                cnf.as_ref().map(Confirmation::x5t_s256)
            );
        }
        (want, got) => panic!("expected {want:?}, got {got:?} for {doc:?}"),
    }
}
