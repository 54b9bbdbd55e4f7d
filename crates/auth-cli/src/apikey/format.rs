//! `auth apikey generate | check`: the key format, offline.
//!
//! A key is a secret: `check` reads it from standard input or an environment variable,
//! never from the command line; `generate` prints it exactly once, alone on standard output,
//! its notes for people on standard error.

use auth_apikey::{BODY_LEN, KeyFormat, KeyHasher, Refusal};
use serde_json::json;

use crate::output::{Error, Output, read_stdin, secret_from_env};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
