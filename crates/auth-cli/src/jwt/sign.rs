//! `auth jwt sign`: claims from flags (`--sub`, `--aud`, `--iss`, `--exp 10m`, `--nbf`,
//! `--claim k=v`) and/or a JSON object, signed with a private JWK or PEM, or an HMAC secret
//! from the environment or a file.

use std::path::{Path, PathBuf};

use auth_jwt::Algorithm;
use serde_json::{Map, Value, json};

use super::TIME_CLAIMS;
use crate::keys::KeyFile;
use crate::output::{Error, Output, read_file};
use crate::time;

/// `auth jwt sign`'s arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct SignArgs {
    /// A private key: a private JWK (EC, OKP, oct) or a PEM file (PKCS#8, PKCS#1, SEC1).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present_any = ["secret_env", "secret_file"],
        conflicts_with_all = ["secret_env", "secret_file"]
    )]
    key: Option<PathBuf>,
    /// For HS256/384/512: the environment variable holding the raw secret (or `VAR_FILE`
    /// naming a file). `--key-env`, its former name, still works.
    #[arg(
        long,
        alias = "key-env",
        value_name = "VAR",
        conflicts_with = "secret_file"
    )]
    secret_env: Option<String>,
    /// For HS256/384/512: a file holding the raw secret (a trailing newline is not part of it).
    #[arg(long, value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// The algorithm (ES256, EdDSA, RS256, HS256, ...).
    #[arg(long, value_parser = crate::parse_alg)]
    alg: Algorithm,
    /// The key id to put in the header (default: the JWK's kid, or the RFC 7638 thumbprint).
    #[arg(long)]
    kid: Option<String>,
    /// Claims as a JSON object, the flags below added to them.
    #[arg(long, value_name = "JSON")]
    claims: Option<String>,
    /// `sub`.
    #[arg(long)]
    sub: Option<String>,
    /// `iss`.
    #[arg(long)]
    iss: Option<String>,
    /// `aud` (repeat for several: then an array).
    #[arg(long)]
    aud: Vec<String>,
    /// `exp`: this long from now (`90`, `30s`, `10m`, `2h`, `7d`); `iat` is set to now.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    exp: Option<u64>,
    /// `nbf`: this long from now (`0` for now).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    nbf: Option<u64>,
    /// Another claim, `name=value`; the value is JSON if it parses as JSON
    /// (`admin=true`, `n=3`, `roles=["a","b"]`), a string otherwise. Repeatable.
    #[arg(long = "claim", value_name = "NAME=VALUE")]
    claim: Vec<String>,
    /// Former spelling of `--exp SECS`, kept for scripts.
    #[arg(long, value_name = "SECS", hide = true, conflicts_with = "exp")]
    exp_in: Option<u64>,
}

/// A duration: seconds, or a number with `s`, `m`, `h` or `d`.
fn duration(text: &str) -> Result<u64, String> {
    let (digits, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (90, 30s, 10m, 2h, 7d)"))?;
    let unit = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        other => return Err(format!("{other:?}: a duration's unit is s, m, h or d")),
    };
    n.checked_mul(unit)
        .ok_or_else(|| format!("{text} is too long"))
}

/// `now + secs`, if a token can carry it.
fn at(flag: &str, now: u64, secs: u64) -> Result<u64, Error> {
    now.checked_add(secs)
        .filter(|&t| t <= time::MAX_NUMERIC_DATE)
        .ok_or_else(|| {
            Error::config(format!(
                "{flag} ends after {} (Unix {}), the latest time written in a token",
                time::date(time::MAX_NUMERIC_DATE),
                time::MAX_NUMERIC_DATE
            ))
        })
}

fn signing_key(args: &SignArgs) -> Result<auth_jwt::SigningKey, Error> {
    let secret = match (&args.key, &args.secret_env, &args.secret_file) {
        (Some(path), _, _) => {
            let file = KeyFile::parse(read_file(path)?, &path.display().to_string())?;
            return file.signing_key(&[args.alg]);
        }
        (None, Some(var), _) => crate::output::secret_from_env(var)?,
        (None, None, Some(path)) => secret_file(path)?,
        (None, None, None) => return Err(Error::config("give --key FILE or --secret-env VAR")),
    };
    if args.alg.family() != auth_jwt::Family::Hmac {
        return Err(Error::config(format!(
            "--secret-env and --secret-file hold an HMAC secret: {} needs --key FILE",
            args.alg
        )));
    }
    auth_jwt::SigningKey::hmac(&secret, args.alg).map_err(Error::config)
}

/// A raw secret from `path`, without the line ending an editor or `echo` adds.
pub(crate) fn secret_file(path: &Path) -> Result<auth_core::Secret, Error> {
    let mut bytes = read_file(path)?;
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    if bytes.is_empty() {
        return Err(Error::config(format!("{}: empty secret", path.display())));
    }
    Ok(auth_core::Secret::new(bytes))
}

/// The claims: `--claims`, then the flags, each claim set once.
fn claims(args: &SignArgs) -> Result<Map<String, Value>, Error> {
    let text = args.claims.as_deref().unwrap_or("{}");
    let Ok(Value::Object(mut claims)) = serde_json::from_str::<Value>(text) else {
        return Err(Error::config("--claims must be a JSON object"));
    };
    let duplicates = auth_jwt::duplicate_members(text.as_bytes()).unwrap_or_default();
    if !duplicates.is_empty() {
        return Err(Error::config(format!(
            "--claims has duplicate members ({}): verifiers refuse such a token",
            duplicates.join(", ")
        )));
    }
    let now = time::now_or(None);
    let mut set = |name: &str, value: Value, flag: &str| {
        if claims.contains_key(name) {
            return Err(Error::config(format!(
                "{flag} sets {name}, which is already set"
            )));
        }
        claims.insert(name.to_owned(), value);
        Ok(())
    };
    if let Some(sub) = &args.sub {
        set("sub", json!(sub), "--sub")?;
    }
    if let Some(iss) = &args.iss {
        set("iss", json!(iss), "--iss")?;
    }
    match args.aud.as_slice() {
        [] => {}
        [one] => set("aud", json!(one), "--aud")?,
        many => set("aud", json!(many), "--aud")?,
    }
    if let Some(secs) = args.exp.or(args.exp_in) {
        set("exp", json!(at("--exp", now, secs)?), "--exp")?;
    }
    if let Some(secs) = args.nbf {
        set("nbf", json!(at("--nbf", now, secs)?), "--nbf")?;
    }
    for pair in &args.claim {
        let (name, value) = pair
            .split_once('=')
            .filter(|(n, _)| !n.is_empty())
            .ok_or_else(|| Error::config(format!("--claim {pair:?}: wants NAME=VALUE")))?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| json!(value));
        set(name, value, "--claim")?;
    }
    if args.exp.or(args.exp_in).is_some() {
        claims.entry("iat").or_insert(now.into());
    }
    Ok(claims)
}

/// `auth jwt sign`.
pub(crate) fn sign(args: &SignArgs, out: Output) -> Result<(), Error> {
    let mut signing = signing_key(args)?;
    if signing.algorithm() != args.alg {
        return Err(Error::config(format!(
            "the key is for {}, not {}",
            signing.algorithm(),
            args.alg
        )));
    }
    if let Some(kid) = &args.kid {
        signing = signing.with_kid(kid);
    }
    let claims = claims(args)?;
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
    let value = json!({ "token": token, "alg": args.alg.as_str(), "kid": signing.kid() });
    out.result(&value, || token.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations() {
        assert_eq!(duration("90"), Ok(90));
        assert_eq!(duration("30s"), Ok(30));
        assert_eq!(duration("10m"), Ok(600));
        assert_eq!(duration("2h"), Ok(7200));
        assert_eq!(duration("7d"), Ok(604_800));
        assert!(duration("10x").is_err());
        assert!(duration("m").is_err());
        assert!(duration("-1").is_err());
        assert!(duration("99999999999999999999d").is_err());
    }
}
