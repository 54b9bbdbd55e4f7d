//! Judging an RFC 7662 introspection response: which members make a token active here, and
//! the [`Principal`] it becomes.
//!
//! A member that is present with the wrong type refuses the token rather than being read as
//! absent: an `exp` written as a string must not make a token live forever, a `cnf` that
//! cannot be read must not turn a sender-constrained token into a bearer token, and a `sub`
//! that is not a string must not let `client_id` stand in for it. This is the same reading as
//! auth-jwt's for the same claims (NumericDates with fractions, `cnf` with `jkt` and
//! `x5t#S256`).

use std::borrow::Cow;
use std::time::Duration;

use auth_core::{Confirmation, CredentialKind, Principal, Scopes, UnixTime};
use serde_json::{Map, Value};

use super::IntrospectionClaims;

/// What the introspector was configured to require.
#[derive(Clone, Copy)]
pub(super) struct Expected<'a> {
    /// `iss` must equal it.
    pub(super) issuer: Option<&'a str>,
    /// `aud` must be it or list it.
    pub(super) audience: Option<&'a str>,
}

/// The principal of an active response and its `exp` (on the local clock), or why the token
/// is refused (for the server's logs).
///
/// `local` maps a time on the server's clock to ours (its `Date` header's offset).
pub(super) fn judge(
    doc: Map<String, Value>,
    now: UnixTime,
    local: impl Fn(UnixTime) -> UnixTime,
    expected: Expected<'_>,
) -> Result<(Principal, Option<UnixTime>), Cow<'static, str>> {
    if doc.get("active") != Some(&Value::Bool(true)) {
        return Err("token is not active (active is not the boolean true)".into());
    }
    let exp = numeric_date(&doc, "exp")?.map(&local);
    if exp.is_some_and(|exp| now >= exp) {
        return Err("token expired".into());
    }
    if numeric_date(&doc, "nbf")?
        .map(&local)
        .is_some_and(|nbf| now < nbf)
    {
        return Err("token not yet valid (nbf)".into());
    }
    if let Some(issuer) = expected.issuer
        && doc.get("iss").and_then(Value::as_str) != Some(issuer)
    {
        return Err("iss is not the expected issuer".into());
    }
    if let Some(audience) = expected.audience {
        let ok = match doc.get("aud") {
            Some(Value::String(a)) => a == audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
            _ => false,
        };
        if !ok {
            return Err("token is not for this audience".into());
        }
    }
    // The first of these that is present names the caller, and must be a non-empty string.
    let subject = match ["sub", "client_id", "username"]
        .iter()
        .find_map(|k| doc.get(*k))
    {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => return Err("sub, client_id or username is not a non-empty string".into()),
        None => return Err("no sub, client_id or username".into()),
    };
    // A `scope` that is not a string grants nothing.
    let scopes = doc
        .get("scope")
        .and_then(Value::as_str)
        .map(Scopes::from_space_separated)
        .unwrap_or_default();
    let mut principal = Principal::new(subject, CredentialKind::Introspection).with_scopes(scopes);
    // RFC 9449 §6.2 and RFC 8705 §3.2: a bound token's `cnf`, which the authenticators
    // enforce (a bound token is refused as a plain bearer token, or without its certificate).
    if let Some(cnf) = confirmation(&doc)? {
        principal = principal.with_attribute(cnf);
    }
    Ok((principal.with_attribute(IntrospectionClaims(doc)), exp))
}

/// `name` as a NumericDate (RFC 7519 §2: a non-negative number of seconds, fractions
/// allowed); `None` when absent.
fn numeric_date(
    doc: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<UnixTime>, Cow<'static, str>> {
    let Some(value) = doc.get(name) else {
        return Ok(None);
    };
    let Value::Number(n) = value else {
        return Err(format!("{name} is not a number").into());
    };
    if let Some(secs) = n.as_u64() {
        return Ok(Some(UnixTime::from_secs(secs)));
    }
    match n.as_f64() {
        Some(v) if v >= 0.0 => Ok(Some(UnixTime::from_duration(
            // Beyond Duration's range is "forever", not an error (as auth-jwt reads it).
            Duration::try_from_secs_f64(v).unwrap_or(Duration::MAX),
        ))),
        _ => Err(format!("{name} is negative").into()),
    }
}

/// `cnf` (RFC 7800): an object whose `jkt` and `x5t#S256`, when present, are strings; `None`
/// when absent or binding to nothing this crate enforces.
fn confirmation(doc: &Map<String, Value>) -> Result<Option<Confirmation>, Cow<'static, str>> {
    let Some(cnf) = doc.get("cnf") else {
        return Ok(None);
    };
    let Value::Object(cnf) = cnf else {
        return Err("cnf is not an object".into());
    };
    let text = |name: &str| match cnf.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Cow::from(format!("cnf.{name} is not a string"))),
    };
    let mut out = Confirmation::new();
    if let Some(jkt) = text("jkt")? {
        out = out.with_jkt(jkt);
    }
    if let Some(x5t) = text("x5t#S256")? {
        out = out.with_x5t_s256(x5t);
    }
    Ok(out.is_bound().then_some(out))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

    fn judged(extra: Value) -> Result<Principal, Cow<'static, str>> {
        let mut doc = json!({"active": true, "sub": "alice", "iss": "https://as", "aud": "api"});
        for (k, v) in extra.as_object().unwrap() {
            doc[k] = v.clone();
        }
        let expected = Expected {
            issuer: Some("https://as"),
            audience: Some("api"),
        };
        let doc = doc.as_object().unwrap().clone();
        judge(doc, NOW, |t| t, expected).map(|(p, _)| p)
    }

    #[test]
    fn a_mistyped_exp_or_nbf_refuses_the_token() {
        // The positive twins: numbers, whole or not, in the right place of time.
        assert!(judged(json!({"exp": 1_700_000_001})).is_ok());
        assert!(judged(json!({"exp": 1_700_000_000.5, "nbf": 1_699_999_999.5})).is_ok());
        assert!(
            judged(json!({"exp": 1_699_999_999.5})).is_err(),
            "fraction past"
        );
        assert!(
            judged(json!({"nbf": 1_700_000_000.5})).is_err(),
            "fraction ahead"
        );
        for bad in [
            json!("1800000000"),
            json!(-1),
            json!(-0.5),
            json!(null),
            json!([1]),
        ] {
            assert!(judged(json!({ "exp": bad.clone() })).is_err(), "exp {bad}");
            assert!(judged(json!({ "nbf": bad.clone() })).is_err(), "nbf {bad}");
        }
    }

    #[test]
    fn the_subject_is_the_first_present_member_and_must_be_a_string() {
        assert_eq!(judged(json!({})).unwrap().subject(), "alice");
        let by_client = json!({"sub": null, "client_id": "c"});
        assert!(judged(by_client).is_err(), "a null sub is not absent");
        let doc = json!({"active": true, "client_id": "c", "iss": "https://as", "aud": "api"});
        let expected = Expected {
            issuer: Some("https://as"),
            audience: Some("api"),
        };
        let (p, _) = judge(doc.as_object().unwrap().clone(), NOW, |t| t, expected).unwrap();
        assert_eq!(p.subject(), "c");
        assert!(judged(json!({"sub": 7})).is_err());
        assert!(judged(json!({"sub": ""})).is_err());
    }

    #[test]
    fn a_bound_tokens_cnf_is_read_like_a_jwts() {
        let cnf = |v: Value| judged(json!({ "cnf": v }));
        let p = cnf(json!({"x5t#S256": "T"})).unwrap();
        let c = p.attribute::<Confirmation>().unwrap();
        assert_eq!((c.jkt(), c.x5t_s256()), (None, Some("T")));
        let p = cnf(json!({"jkt": "J", "jwk": {}})).unwrap();
        assert_eq!(p.attribute::<Confirmation>().unwrap().jkt(), Some("J"));
        // Unreadable bindings refuse; a cnf binding to nothing enforced here leaves none.
        assert!(cnf(json!({"jkt": 1})).is_err());
        assert!(cnf(json!({"x5t#S256": null})).is_err());
        assert!(cnf(json!("J")).is_err());
        assert!(
            cnf(json!({}))
                .unwrap()
                .attribute::<Confirmation>()
                .is_none()
        );
    }
}
