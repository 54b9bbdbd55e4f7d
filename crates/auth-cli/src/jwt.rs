//! `auth jwt decode | verify | sign`.
//!
//! `decode` never checks anything and says so on every line that matters; `verify` is
//! auth-jwt's strict [`Verifier`] with the policy given on the command line, and answers
//! a refusal with exit 1 and auth-jwt's stable [`ErrorKind`](auth_jwt::ErrorKind) name.

mod sign;

use std::path::Path;
use std::time::Duration;

use auth_core::{ManualClock, UnixTime};
use auth_jwt::{Algorithm, KeySet, Verifier, VerifierBuilder};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::keys::KeyFile;
use crate::output::{Error, Output, pretty, read_file, read_stdin};
use crate::time;

pub(crate) use sign::{SignArgs, secret_file, sign};

/// A JSON object: a decoded header or claims set.
type Object = Map<String, Value>;

/// The time claims shown as dates.
const TIME_CLAIMS: [&str; 3] = ["exp", "nbf", "iat"];

/// The token argument; standard input for `-`, or when there is no argument and standard
/// input is not a terminal.
pub(crate) fn token_arg(token: Option<&str>) -> Result<String, Error> {
    use std::io::IsTerminal as _;
    match token {
        Some("-") => read_stdin(),
        Some(token) => Ok(token.trim().to_owned()),
        // Piped in: `echo $TOKEN | auth jwt decode`. From a terminal, the user forgot it.
        None if !std::io::stdin().is_terminal() => read_stdin(),
        None => Err(Error::config(
            "no token: give it as an argument, `-`, or on standard input",
        )),
    }
}

fn malformed(message: &str) -> Error {
    Error::Rejected {
        reason: "malformed".into(),
        message: message.into(),
    }
}

/// A decoded header or claims set, and the paths of its duplicate members.
fn decode_part(part: &str, what: &str) -> Result<(Object, Vec<String>), Error> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| malformed(&format!("{what} is not base64url")))?;
    let duplicates = auth_jwt::duplicate_members(&bytes)
        .map_err(|_| malformed(&format!("{what} is not a JSON object")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok((
            map,
            duplicates.iter().map(|p| format!("{what}.{p}")).collect(),
        )),
        _ => Err(malformed(&format!("{what} is not a JSON object"))),
    }
}

/// A compact JWS decoded, nothing checked.
#[derive(Debug)]
pub(crate) struct Decoded {
    /// The header.
    pub(crate) header: Object,
    /// The claims.
    pub(crate) claims: Object,
    /// The paths (`claims.sub`) of members whose name repeats in their object: a strict
    /// verifier refuses such a token, and only the last value is in `header` / `claims`.
    pub(crate) duplicates: Vec<String>,
}

/// Splits a compact JWS into its decoded header and claims, checking nothing else.
pub(crate) fn split(token: &str) -> Result<Decoded, Error> {
    let parts: Vec<&str> = token.split('.').collect();
    match parts.as_slice() {
        [h, p, _] => {
            let (header, mut duplicates) = decode_part(h, "header")?;
            let (claims, more) = decode_part(p, "claims")?;
            duplicates.extend(more);
            Ok(Decoded {
                header,
                claims,
                duplicates,
            })
        }
        [_, _, _, _, _] => Err(malformed(
            "a JWE (five parts): encrypted tokens are not decoded",
        )),
        _ => Err(malformed(
            "not a compact JWS: expected three dot-separated parts",
        )),
    }
}

/// The time claims of `claims` as `{claim: {unix, date, relative}}`.
fn times(claims: &Map<String, Value>, now: u64) -> Map<String, Value> {
    TIME_CLAIMS
        .iter()
        .filter_map(|&name| {
            let at = claims.get(name)?.as_u64()?;
            Some((
                name.to_owned(),
                json!({"unix": at, "date": time::date(at), "relative": time::relative(name, at, now)}),
            ))
        })
        .collect()
}

/// `auth jwt decode`.
pub(crate) fn decode(token: Option<&str>, now: Option<u64>, out: Output) -> Result<(), Error> {
    let token = token_arg(token)?;
    let Decoded {
        header,
        claims,
        duplicates,
    } = split(&token)?;
    let now = time::now_or(now);
    let times = times(&claims, now);
    let value = json!({
        "verified": false,
        "header": header,
        "claims": claims,
        "times": times,
        "duplicate_members": duplicates,
    });
    out.result(&value, || {
        let mut s = String::from("UNVERIFIED: the signature and claims were NOT checked\n");
        if !duplicates.is_empty() {
            s.push_str(&format!(
                "DUPLICATE MEMBERS: {} (a verifier refuses this token; the last value of each is \
                 shown, other parsers may read another)\n",
                duplicates.join(", ")
            ));
        }
        s.push_str(&format!(
            "header (unverified):\n{}\n",
            pretty(&Value::Object(header.clone()))
        ));
        s.push_str(&format!(
            "claims (unverified):\n{}\n",
            pretty(&Value::Object(claims.clone()))
        ));
        for (name, t) in &times {
            s.push_str(&format!(
                "{name}: {} ({})\n",
                t["date"].as_str().unwrap_or_default(),
                t["relative"].as_str().unwrap_or_default()
            ));
        }
        s
    });
    Ok(())
}

/// The policy of `auth jwt verify`.
#[derive(Debug)]
pub(crate) struct Policy<'a> {
    /// `--jwks`: a file or an `http(s)` URL, the keys of the `--iss` issuers.
    pub(crate) jwks: Option<&'a str>,
    /// `--secret-env` / `--secret-file`: an HMAC secret, the key of the `--iss` issuers.
    pub(crate) secret: Option<auth_core::Secret>,
    /// `--issuer-url`: issuers whose keys are found by discovery.
    pub(crate) issuer_urls: &'a [String],
    /// `--alg`.
    pub(crate) algs: Vec<Algorithm>,
    /// `--iss`.
    pub(crate) issuers: &'a [String],
    /// `--aud`.
    pub(crate) audiences: &'a [String],
    /// `--leeway`.
    pub(crate) leeway: Option<u64>,
    /// `--now`.
    pub(crate) now: Option<u64>,
    /// `--typ`.
    pub(crate) typ: Option<&'a str>,
}

/// The HMAC key of `secret` for each HMAC algorithm in `algs` (at least one).
fn hmac_keys(secret: &auth_core::Secret, algs: &[Algorithm]) -> Result<KeySet, Error> {
    let keys: Vec<auth_jwt::Key> = algs
        .iter()
        .filter(|a| a.family() == auth_jwt::Family::Hmac)
        .map(|&alg| auth_jwt::Key::hmac(secret, alg).map_err(Error::config))
        .collect::<Result<_, _>>()?;
    if keys.is_empty() {
        return Err(Error::config(
            "--secret-env and --secret-file are HMAC secrets: --alg must name HS256, HS384 or HS512",
        ));
    }
    Ok(KeySet::new(keys))
}

async fn load_keys(source: &str, algs: &[Algorithm]) -> Result<KeySet, Error> {
    if source.starts_with("https://") || source.starts_with("http://") {
        // Fetched from a URL: public by definition, so a secret in it is refused.
        KeyFile::parse(fetch(source).await?, source)?.published_keys(source)
    } else {
        KeyFile::parse(read_file(Path::new(source))?, source)?.verification_keys(algs)
    }
}

/// GETs `url` through auth-http (HTTPS except to loopback, timeouts, a size cap).
pub(crate) async fn fetch(url: &str) -> Result<Vec<u8>, Error> {
    use auth_core::HttpClient as _;
    let client = crate::output::http_client()?;
    let request = http::Request::get(url)
        .header(http::header::ACCEPT, "application/json")
        .body(Vec::new())
        .map_err(|e| Error::config(format!("bad URL {url}: {e}")))?;
    let response = client
        .send(request)
        .await
        .map_err(|e| Error::config(format!("cannot fetch {url}: {}", crate::output::causes(&e))))?;
    if !response.status().is_success() {
        return Err(Error::config(format!(
            "{url} answered {}",
            response.status()
        )));
    }
    Ok(response.into_body())
}

impl Policy<'_> {
    /// The rules every issuer's verifier shares: algorithms, audiences, leeway, clock, `typ`.
    fn rules(&self, mut builder: VerifierBuilder) -> VerifierBuilder {
        builder = builder.algorithms(self.algs.iter().copied());
        for aud in self.audiences {
            builder = builder.audience(aud.clone());
        }
        if let Some(secs) = self.leeway {
            builder = builder.leeway(Duration::from_secs(secs));
        }
        if let Some(now) = self.now {
            builder = builder.clock(ManualClock::new(UnixTime::from_secs(now)));
        }
        if let Some(typ) = self.typ {
            builder = builder.require_type(typ);
        }
        builder
    }
}

/// `auth jwt verify`.
pub(crate) async fn verify(
    token: Option<&str>,
    policy: Policy<'_>,
    out: Output,
) -> Result<(), Error> {
    let token = token_arg(token)?;
    let mut verifiers = Vec::new();
    let keys = match (policy.jwks, &policy.secret) {
        (Some(jwks), _) => Some(load_keys(jwks, &policy.algs).await?),
        (None, Some(secret)) => Some(hmac_keys(secret, &policy.algs)?),
        (None, None) => None,
    };
    if let Some(keys) = keys {
        let mut builder = policy.rules(Verifier::builder().keys(keys));
        for iss in policy.issuers {
            builder = builder.issuer(iss.clone());
        }
        verifiers.push(builder.build().map_err(Error::config)?);
    }
    for url in policy.issuer_urls {
        let http = crate::output::http_client()?;
        let builder = policy.rules(Verifier::builder().issuer_url(url, http));
        verifiers.push(builder.build().map_err(Error::config)?);
    }
    let verifier = match <[Verifier; 1]>::try_from(verifiers) {
        Ok([one]) => one,
        Err(several) => Verifier::issuers(several).build().map_err(Error::config)?,
    };
    let verified = match verifier.verify::<Value>(&token).await {
        Ok(v) => v,
        Err(e) if e.is_rejection() => {
            return Err(Error::Rejected {
                reason: e.kind().as_str().into(),
                message: e.to_string(),
            });
        }
        Err(e) => return Err(Error::config(crate::output::causes(&e))),
    };
    let claims = verified.claims.as_object().cloned().unwrap_or_default();
    let now = time::now_or(policy.now);
    let value = json!({
        "valid": true,
        "alg": verified.algorithm().as_str(),
        "subject": verified.registered().subject(),
        "scopes": verified.scopes().iter().collect::<Vec<_>>(),
        "claims": claims,
        "times": times(&claims, now),
    });
    out.result(&value, || {
        let mut s = format!("VALID ({})\n", verified.algorithm().as_str());
        s.push_str(&pretty(&verified.claims));
        if let Some(exp) = verified.registered().expires_at() {
            s.push_str(&format!(
                "\nexp: {} ({})",
                time::date(exp.as_secs()),
                time::relative("exp", exp.as_secs(), now)
            ));
        }
        s
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_only_compact_jws() {
        let d = split("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln").unwrap();
        assert_eq!(d.header["alg"], "HS256");
        assert_eq!(d.claims["sub"], "x");
        assert!(d.duplicates.is_empty());
        // {"sub":"a","sub":"b"}
        let d = split("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIiwic3ViIjoiYiJ9.c2ln").unwrap();
        assert_eq!(d.duplicates, ["claims.sub"]);
        for bad in ["", "a.b", "a.b.c.d.e", "!!.e30.x", "W10.e30.x"] {
            assert!(
                matches!(split(bad), Err(Error::Rejected { reason, .. }) if reason == "malformed"),
                "{bad}"
            );
        }
    }

    #[test]
    fn times_are_dated() {
        let claims = json!({"exp": 4540, "iat": 940, "nbf": "x"});
        let t = times(claims.as_object().unwrap(), 1000);
        assert_eq!(t["exp"]["relative"], "expires in 59m");
        assert_eq!(t["iat"]["date"], "1970-01-01T00:15:40Z");
        assert!(!t.contains_key("nbf"));
    }
}
