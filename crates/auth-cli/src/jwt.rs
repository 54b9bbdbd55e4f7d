//! `auth jwt decode | verify | sign`.
//!
//! `decode` never checks anything and says so on every line that matters; `verify` is
//! auth-jwt's strict [`Verifier`] with the policy given on the command line, and answers
//! a refusal with exit 1 and auth-jwt's stable [`ErrorKind`](auth_jwt::ErrorKind) name.

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

/// A JSON object: a decoded header or claims set.
type Object = Map<String, Value>;

/// The time claims shown as dates.
const TIME_CLAIMS: [&str; 3] = ["exp", "nbf", "iat"];

/// The token argument, or standard input for `-`.
pub(crate) fn token_arg(token: &str) -> Result<String, Error> {
    if token == "-" {
        read_stdin()
    } else {
        Ok(token.trim().to_owned())
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
pub(crate) fn decode(token: &str, now: Option<u64>, out: Output) -> Result<(), Error> {
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
pub(crate) async fn verify(token: &str, policy: Policy<'_>, out: Output) -> Result<(), Error> {
    let token = token_arg(token)?;
    let mut verifiers = Vec::new();
    if let Some(jwks) = policy.jwks {
        let keys = load_keys(jwks, &policy.algs).await?;
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

/// Where `auth jwt sign` takes its key from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SignWith<'a> {
    /// `--key FILE`: a private JWK or PEM.
    File(&'a Path),
    /// `--key-env VAR`: an HMAC secret in the environment (or the file `VAR_FILE` names).
    Env(&'a str),
}

/// `auth jwt sign`.
pub(crate) fn sign(
    key: SignWith<'_>,
    alg: Algorithm,
    kid: Option<&str>,
    claims: &str,
    exp_in: Option<u64>,
    out: Output,
) -> Result<(), Error> {
    let mut signing = match key {
        SignWith::File(path) => {
            KeyFile::parse(read_file(path)?, &path.display().to_string())?.signing_key(&[alg])?
        }
        SignWith::Env(var) => {
            if alg.family() != auth_jwt::Family::Hmac {
                return Err(Error::config(format!(
                    "--key-env holds an HMAC secret: {alg} needs --key FILE"
                )));
            }
            let secret = crate::output::secret_from_env(var)?;
            auth_jwt::SigningKey::hmac(&secret, alg).map_err(Error::config)?
        }
    };
    if signing.algorithm() != alg {
        return Err(Error::config(format!(
            "the key is for {}, not {alg}",
            signing.algorithm()
        )));
    }
    if let Some(kid) = kid {
        signing = signing.with_kid(kid);
    }
    let claims_json = claims;
    let Ok(Value::Object(mut claims)) = serde_json::from_str::<Value>(claims_json) else {
        return Err(Error::config("--claims must be a JSON object"));
    };
    let duplicates = auth_jwt::duplicate_members(claims_json.as_bytes()).unwrap_or_default();
    if !duplicates.is_empty() {
        return Err(Error::config(format!(
            "--claims has duplicate members ({}): verifiers refuse such a token",
            duplicates.join(", ")
        )));
    }
    if let Some(secs) = exp_in {
        let now = time::now_or(None);
        let exp = now
            .checked_add(secs)
            .filter(|&exp| exp <= time::MAX_NUMERIC_DATE)
            .ok_or_else(|| {
                Error::config(format!(
                    "--exp-in {secs} ends after {} (Unix {}), the latest time written in a token",
                    time::date(time::MAX_NUMERIC_DATE),
                    time::MAX_NUMERIC_DATE
                ))
            })?;
        claims.entry("iat").or_insert(now.into());
        claims.insert("exp".into(), exp.into());
    }
    for name in TIME_CLAIMS {
        if let Some(at) = claims.get(name) {
            // u64 to f64 is exact up to 2^53, far past the bound.
            #[allow(clippy::cast_precision_loss)]
            let max = time::MAX_NUMERIC_DATE as f64;
            if !at.as_f64().is_some_and(|at| (0.0..=max).contains(&at)) {
                return Err(Error::config(format!(
                    "claim {name} is {at}: a NumericDate here is seconds from 0 to {} ({})",
                    time::MAX_NUMERIC_DATE,
                    time::date(time::MAX_NUMERIC_DATE)
                )));
            }
        }
    }
    let token = signing.sign(&claims).map_err(Error::config)?;
    let value = json!({ "token": token, "alg": alg.as_str(), "kid": signing.kid() });
    out.result(&value, || token.clone());
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
