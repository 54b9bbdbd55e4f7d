//! `auth apikey generate | check | create`.
//!
//! A key is a secret: `check` reads it from standard input or an environment variable,
//! never from the command line; `generate` and `create` print it exactly once, alone on
//! standard output (`KEY=$(auth apikey create ...)`), their notes for people on standard
//! error.

use auth_apikey::{BODY_LEN, KeyFormat, KeyHasher, NewKey, Refusal};
use auth_core::Scopes;
use serde_json::{Value, json};

use crate::data::DataDir;
use crate::output::{Error, Output, read_stdin, secret_from_env};
use crate::time;

/// `auth apikey generate --prefix PFX`: a key and the record a store would keep (its id
/// and SHA-256 digest; a server with a pepper keeps an HMAC instead).
pub(crate) fn generate(prefix: &str, out: Output) -> Result<(), Error> {
    let format = KeyFormat::new(prefix).map_err(Error::config)?;
    let (id, key) = format.generate().map_err(Error::config)?;
    let digest = KeyHasher::sha256().digest(key.expose_secret());
    let key = key
        .expose_str()
        .map_err(|_| Error::config("generated key is not text"))?
        .to_owned();
    let record = json!({
        "id": id.as_str(),
        "prefix": format.prefix(),
        "hint": format.hint(&id),
        "digest_sha256": hex(digest.as_bytes()),
        "pattern": format.pattern(),
    });
    let value = json!({ "key": key, "record": record });
    out.result(&value, || key.clone());
    out.notice(&format!(
        "shown once: store it now. record: id {} hint {} sha256 {}",
        id.as_str(),
        format.hint(&id),
        hex(digest.as_bytes())
    ));
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where `check` reads the key from.
#[derive(Debug)]
pub(crate) enum KeyInput<'a> {
    /// `-`: standard input.
    Stdin,
    /// `--key-env VAR` (or `VAR_FILE`).
    Env(&'a str),
}

/// `auth apikey check`: length, prefix, alphabet and checksum, offline.
pub(crate) fn check(input: KeyInput<'_>, out: Output) -> Result<(), Error> {
    let key = match input {
        KeyInput::Stdin => auth_core::Secret::new(read_stdin()?.into_bytes()),
        KeyInput::Env(var) => secret_from_env(var)?,
    };
    let key = key
        .expose_str()
        .map_err(|_| rejected(Refusal::Malformed))?
        .trim();
    // `<prefix>_<body>`: the prefix is everything before the last `_` ahead of the body.
    let split = key.len().checked_sub(BODY_LEN + 1);
    let prefix = split
        .filter(|&at| key.is_char_boundary(at) && key.as_bytes()[at] == b'_')
        .map(|at| &key[..at])
        .ok_or(rejected(Refusal::Malformed))?;
    let format = KeyFormat::new(prefix).map_err(|_| rejected(Refusal::Malformed))?;
    let id = format.parse(key).map_err(rejected)?;
    let value = json!({
        "valid": true,
        "prefix": prefix,
        "id": id.as_str(),
        "hint": format.hint(&id),
        "checked": "format and checksum (offline): whether the key exists is the server's call",
    });
    out.result(&value, || {
        format!(
            "well formed: prefix {prefix}, id {} (checksum ok; existence not checked)",
            id.as_str()
        )
    });
    Ok(())
}

fn rejected(refusal: Refusal) -> Error {
    Error::Rejected {
        reason: match refusal {
            Refusal::BadChecksum => "bad_checksum",
            _ => "malformed",
        }
        .into(),
        message: refusal.to_string(),
    }
}

/// `auth apikey create --data DIR`: a key in `auth serve`'s store, printed once. `DIR` must
/// be the server's (with its pepper) unless `init` asks to create it.
pub(crate) async fn create(
    data: &std::path::Path,
    subject: &str,
    name: Option<&str>,
    scopes: &[String],
    database: &crate::store::DatabaseArgs,
    init: bool,
    out: Output,
) -> Result<(), Error> {
    for scope in scopes {
        if !auth_core::principal::is_scope_token(scope) {
            return Err(Error::config(format!(
                "{scope:?} is not a scope (RFC 6749 §3.3)"
            )));
        }
    }
    let dir = DataDir::open_existing(data, init)?;
    let keys = dir.api_keys(database).await?;
    let settings =
        NewKey::new(subject, name.unwrap_or(subject)).with_scopes(Scopes::from_iter(scopes));
    let issued = keys.create(settings).await.map_err(Error::config)?;
    let value = issued_json(&issued);
    out.result(&value, || issued.expose_key().to_owned());
    out.notice(&format!(
        "shown once: store it now. id {} (the OAuth client id), subject {subject}, scopes [{}]",
        issued.id().as_str(),
        scopes.join(" ")
    ));
    Ok(())
}

/// The JSON of a freshly issued key: the key itself (once), its id and record.
pub(crate) fn issued_json(issued: &auth_apikey::IssuedKey) -> Value {
    let r = issued.record();
    json!({
        "key": issued.expose_key(),
        "id": r.id.as_str(),
        "record": {
            "id": r.id.as_str(),
            "prefix": r.prefix,
            "subject": r.owner,
            "name": r.name,
            "scopes": r.scopes.iter().collect::<Vec<_>>(),
            "created": time::date(r.created.as_secs()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
