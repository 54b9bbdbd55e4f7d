//! The command contract: exit codes, the one [`Error`] type, and printing either for people
//! or, with `--json`, for scripts.
//!
//! Exit codes: 0 valid or done, 1 credential rejected, 2 usage or configuration error (clap
//! also exits 2 on a bad command line). Results go to standard output; in human mode errors
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

/// Reads a file, naming it in the error.
pub(crate) fn read_file(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::config(format!("cannot read {}: {e}", path.display())))
}

/// Reads a secret from the environment variable `name` (or the file named by `name_FILE`),
/// never from the command line, where `ps` would show it.
pub(crate) fn secret_from_env(name: &str) -> Result<auth_core::Secret, Error> {
    auth_core::Secret::from_env(name).map_err(Error::config)
}

/// Reads all of standard input as text, trimmed of surrounding whitespace.
pub(crate) fn read_stdin() -> Result<String, Error> {
    let mut s = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut s)
        .map_err(|e| Error::config(format!("cannot read standard input: {e}")))?;
    Ok(s.trim().to_owned())
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
}
