//! The command contract: exit codes, the one [`Error`] type, and printing either for people
//! or, with `--json`, for scripts.
//!
//! Exit codes: 0 valid or done, 1 credential rejected, 2 usage or configuration error (a
//! command line clap refuses included). Results go to standard output; in human mode errors
//! go to standard error, in JSON mode both are one JSON document on standard output.

use std::io::Write as _;
use std::process::ExitCode;

use serde_json::{Value, json};

/// Why a command did not succeed.
#[derive(Debug)]
pub(crate) enum Error {
    /// The credential was checked and refused (exit 1). `reason` is a stable snake_case
    /// word for scripts (`expired`, `bad_signature`, `bad_checksum`, ...).
    Rejected {
        /// Machine-readable reason.
        reason: std::borrow::Cow<'static, str>,
        /// What went wrong, for people.
        message: String,
    },
    /// A bad argument, file, key or environment (exit 2).
    Config(String),
}

impl Error {
    /// A configuration error with this message.
    pub(crate) fn config(message: impl std::fmt::Display) -> Self {
        Self::Config(message.to_string())
    }

    /// A configuration error with `e`'s message and those of its causes (`request failed:
    /// invalid peer certificate: UnknownIssuer`), so that the reason is not hidden behind
    /// the outermost message. The auth crates' and auth-http's messages carry no secrets
    /// (auth-http strips URLs from reqwest's).
    pub(crate) fn with_causes(e: &(dyn std::error::Error + 'static)) -> Self {
        Self::Config(causes(e))
    }

    /// The process exit code.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Rejected { .. } => 1,
            Self::Config(_) => 2,
        }
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    /// `--json`.
    pub(crate) json: bool,
}

impl Output {
    /// Prints a result: `value` as pretty JSON in JSON mode, `human` otherwise.
    pub(crate) fn result(self, value: &Value, human: impl FnOnce() -> String) {
        if self.json {
            stdout_line(&pretty(value));
        } else {
            stdout_line(human().trim_end());
        }
    }

    /// A note for people beside a result (`shown once: ...`): on standard error, so that
    /// standard output holds the result alone; not shown with `--json`, whose document says
    /// it all.
    pub(crate) fn notice(self, text: &str) {
        if !self.json {
            stderr_line(text);
        }
    }

    /// Reports an error and returns the exit code.
    pub(crate) fn error(self, error: &Error) -> ExitCode {
        match (self.json, error) {
            (true, Error::Rejected { reason, message }) => stdout_line(&pretty(
                &json!({"valid": false, "reason": reason, "message": message}),
            )),
            (true, Error::Config(message)) => {
                stdout_line(&pretty(&json!({"error": "config", "message": message})));
            }
            (false, Error::Rejected { reason, message }) => {
                stderr_line(&format!("rejected: {message} ({reason})"));
            }
            (false, Error::Config(message)) => stderr_line(&format!("auth: {message}")),
        }
        ExitCode::from(error.exit_code())
    }
}

/// `e`'s message followed by its causes', each once (a cause that an outer message already
/// quotes is not repeated).
pub(crate) fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let message = cause.to_string();
        if !message.is_empty() && !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        next = cause.source();
    }
    text
}

/// Pretty JSON; a `Value` always serializes.
pub(crate) fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// Writes one line to standard output, ignoring a closed pipe (`auth ... | head`).
pub(crate) fn stdout_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Writes one line to standard error.
pub(crate) fn stderr_line(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// The largest file read (JWKS, keys, claims, configuration): 1 MiB, the response cap of
/// auth-http, so that a file and a fetched JWKS are held to the same size.
pub(crate) const MAX_FILE_BYTES: usize = 1024 * 1024;

/// The largest token read from standard input: auth-jwt's token limit, plus room for the
/// line ending (`\r\n`) that `echo` or a here-string adds.
pub(crate) const MAX_STDIN_BYTES: usize = auth_jwt::DEFAULT_MAX_TOKEN_LEN + 2;

/// Reads at most `limit` bytes of `reader`: `Ok(None)` when there is more (after reading
/// `limit + 1` bytes, never the rest).
pub(crate) fn read_capped(
    reader: impl std::io::Read,
    limit: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    std::io::Read::read_to_end(&mut reader.take(cap), &mut bytes)?;
    Ok((bytes.len() <= limit).then_some(bytes))
}

/// The CA certificates `--cacert` gave, for every outbound HTTPS call of this process.
static CA: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// Trusts only the CA certificates in `pem` for outbound HTTPS (`--cacert`).
pub(crate) fn trust_ca(pem: Vec<u8>) {
    let _ = CA.set(pem);
}

/// The production HTTP client (HTTPS except to loopback, timeouts, a size cap), trusting
/// `--cacert`'s CA if one was given.
pub(crate) fn http_client() -> Result<auth_http::Client, Error> {
    let mut config = auth_http::Config::default();
    if let Some(pem) = CA.get() {
        config = config.with_ca_certificate_pem(pem.clone());
    }
    auth_http::Client::new(config).map_err(|e| Error::with_causes(&e))
}

/// Reads a file of at most [`MAX_FILE_BYTES`], naming it in the error.
pub(crate) fn read_file(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    let failed = |e: std::io::Error| Error::config(format!("cannot read {}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(failed)?;
    read_capped(file, MAX_FILE_BYTES)
        .map_err(failed)?
        .ok_or_else(|| {
            Error::config(format!(
                "{} is larger than the limit of {MAX_FILE_BYTES} bytes (1 MiB) for key, JWKS and \
                 configuration files",
                path.display()
            ))
        })
}

/// Reads a secret from the environment variable `name` (or the file named by `name_FILE`),
/// never from the command line, where `ps` would show it.
pub(crate) fn secret_from_env(name: &str) -> Result<auth_core::Secret, Error> {
    auth_core::Secret::from_env(name).map_err(Error::config)
}

/// Reads one token (or key) from standard input, trimmed of surrounding whitespace, reading
/// at most [`MAX_STDIN_BYTES`]` + 1` bytes.
///
/// # Errors
///
/// A refusal (exit 1): `too_large` past auth-jwt's 8 KiB token limit, `malformed` for input
/// that is not UTF-8 or holds more than one token. [`Error::Config`] when standard input
/// cannot be read.
pub(crate) fn read_stdin() -> Result<String, Error> {
    let max = auth_jwt::DEFAULT_MAX_TOKEN_LEN;
    let too_large = || Error::Rejected {
        reason: "too_large".into(),
        message: format!("input too large: more than {max} bytes, the limit is {max}"),
    };
    let bytes = read_capped(std::io::stdin().lock(), MAX_STDIN_BYTES)
        .map_err(|e| Error::config(format!("cannot read standard input: {e}")))?
        .ok_or_else(too_large)?;
    let text = String::from_utf8(bytes).map_err(|_| Error::Rejected {
        reason: "malformed".into(),
        message: "standard input is not UTF-8 text, so not a token".into(),
    })?;
    let token = text.trim();
    if token.len() > max {
        return Err(too_large());
    }
    if token.contains(char::is_whitespace) {
        return Err(Error::Rejected {
            reason: "malformed".into(),
            message: "standard input holds more than one word: one token expected".into(),
        });
    }
    Ok(token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_the_contract() {
        let rejected = Error::Rejected {
            reason: "expired".into(),
            message: "token expired 1s ago".into(),
        };
        assert_eq!(rejected.exit_code(), 1);
        assert_eq!(Error::config("no such file").exit_code(), 2);
    }

    #[test]
    fn causes_are_chained_once() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("request failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("unknown issuer"));
        assert_eq!(causes(&e), "request failed: unknown issuer");
        let quoted = std::io::Error::other("x");
        assert_eq!(causes(&quoted), "x");
    }

    #[test]
    fn capped_reads_stop_after_the_limit() {
        assert_eq!(read_capped(&b"abcd"[..], 4).unwrap().unwrap(), b"abcd");
        assert!(read_capped(&b"abcde"[..], 4).unwrap().is_none());
        // An endless reader is read only up to the limit plus one byte.
        let mut endless = std::io::repeat(b'a');
        assert!(read_capped(&mut endless, 1000).unwrap().is_none());
    }
}
