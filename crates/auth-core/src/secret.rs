//! [`Secret`]: the one type that holds key material, client secrets, API keys and peppers.
//!
//! # Security
//!
//! A `Secret` has a redacted `Debug`, no `Display` and no `==`: the only way to compare it is
//! [`Secret::ct_eq`], which takes the same time whatever the contents. Its bytes are zeroized
//! when it is dropped. Loading from the environment reports the variable's name and never its
//! value.
//!
//! ```compile_fail
//! // `Secret` has no `PartialEq`: comparing with `==` does not compile.
//! let a = auth_core::Secret::new("a");
//! let b = auth_core::Secret::new("b");
//! let _ = a == b;
//! ```
//!
//! ```compile_fail
//! // `Secret` has no `Display`: it cannot be formatted into a message by accident.
//! let a = auth_core::Secret::new("a");
//! let _ = format!("{a}");
//! ```

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// Bytes that must never be printed, compared in variable time, or left in memory.
pub struct Secret {
    bytes: Box<[u8]>,
}

impl Secret {
    /// Wraps bytes (or a string) as a secret.
    ///
    /// The input's buffer is moved when it fits exactly; otherwise it is copied and the
    /// original buffer is zeroized, so no stray copy is left behind.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        let mut vec: Vec<u8> = bytes.into();
        if vec.len() == vec.capacity() {
            return Self {
                bytes: vec.into_boxed_slice(),
            };
        }
        let bytes: Box<[u8]> = vec.as_slice().into();
        vec.zeroize();
        Self { bytes }
    }

    /// Loads a secret from the environment variable `name`, or from the file that the variable
    /// `{name}_FILE` names (the convention of container secrets).
    ///
    /// A single trailing newline (`\n` or `\r\n`) is removed from the value or the file's
    /// contents: it is never part of a key, and it is what `echo` and editors add.
    ///
    /// # Errors
    ///
    /// [`SecretError`] when neither variable is set, both are set, the value is empty, or the
    /// file cannot be read. The error names the variable and the file's path, never the value.
    pub fn from_env(name: &str) -> Result<Self, SecretError> {
        Self::from_lookup(name, |var| std::env::var_os(var))
    }

    /// Like [`Secret::from_env`], with the environment given as a lookup function: for tests,
    /// and for configuration that comes from somewhere other than the process environment.
    ///
    /// # Errors
    ///
    /// As [`Secret::from_env`].
    pub fn from_lookup(
        name: &str,
        lookup: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Self, SecretError> {
        let file_var = format!("{name}_FILE");
        let err = |kind| SecretError {
            variable: name.to_owned(),
            kind,
        };
        match (lookup(name), lookup(&file_var)) {
            (Some(_), Some(_)) => Err(err(SecretErrorKind::Ambiguous)),
            (None, None) => Err(err(SecretErrorKind::Missing)),
            (Some(value), None) => {
                let mut value = os_string_into_bytes(value);
                trim_one_newline(&mut value);
                let secret = Self::new(value);
                if secret.is_empty() {
                    return Err(err(SecretErrorKind::Empty));
                }
                Ok(secret)
            }
            (None, Some(path)) => {
                let path = PathBuf::from(path);
                let mut contents = read_bounded(&path).map_err(|kind| SecretError {
                    variable: file_var.clone(),
                    kind,
                })?;
                trim_one_newline(&mut contents);
                let secret = Self::new(contents);
                if secret.is_empty() {
                    return Err(SecretError {
                        variable: file_var,
                        kind: SecretErrorKind::Empty,
                    });
                }
                Ok(secret)
            }
        }
    }

    /// The largest file [`Secret::from_env`] reads: 1 MiB, far beyond any key, pepper or
    /// connection string, so that a variable pointing at a device or a log file is refused
    /// instead of read into memory.
    pub const MAX_FILE_LEN: usize = 1 << 20;

    /// The secret's bytes. Every call site is a place where the secret leaves its box: keep
    /// them few and never log what they return.
    pub fn expose_secret(&self) -> &[u8] {
        &self.bytes
    }

    /// The secret as UTF-8 text, if it is.
    ///
    /// # Errors
    ///
    /// [`std::str::Utf8Error`], which reports a byte position only, never the contents.
    pub fn expose_str(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(&self.bytes)
    }

    /// Compares with `other` in time that depends only on the two lengths.
    ///
    /// # Security
    ///
    /// Lengths are not treated as secret: values of different lengths compare unequal at once.
    /// Compare fixed-length digests where the length itself must not leak.
    #[must_use]
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        bool::from(self.bytes.as_ref().ct_eq(other))
    }

    /// The secret's length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

#[cfg(unix)]
fn os_string_into_bytes(value: OsString) -> Vec<u8> {
    use std::os::unix::ffi::OsStringExt;
    value.into_vec()
}

#[cfg(not(unix))]
fn os_string_into_bytes(value: OsString) -> Vec<u8> {
    value.to_string_lossy().into_owned().into_bytes()
}

impl Clone for Secret {
    fn clone(&self) -> Self {
        Self {
            bytes: self.bytes.clone(),
        }
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<Vec<u8>> for Secret {
    fn from(value: Vec<u8>) -> Self {
        Self::new(value)
    }
}

/// A secret could not be loaded. Names the variable (and file path), never the value.
#[derive(Debug, thiserror::Error)]
#[error("secret {variable}: {kind}{}", hint(variable, kind))]
pub struct SecretError {
    variable: String,
    #[source]
    kind: SecretErrorKind,
}

/// Removes one trailing `\n` or `\r\n`.
fn trim_one_newline(bytes: &mut Vec<u8>) {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
}

/// The contents of `path`, at most [`Secret::MAX_FILE_LEN`] bytes. Whatever was read of a
/// file that is too large is zeroized before the refusal.
fn read_bounded(path: &std::path::Path) -> Result<Vec<u8>, SecretErrorKind> {
    use std::io::Read;
    let file_error = |source| SecretErrorKind::File {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(file_error)?;
    let mut contents = Vec::new();
    let limit = Secret::MAX_FILE_LEN as u64 + 1;
    if let Err(source) = file.take(limit).read_to_end(&mut contents) {
        contents.zeroize();
        return Err(file_error(source));
    }
    if contents.len() > Secret::MAX_FILE_LEN {
        contents.zeroize();
        return Err(SecretErrorKind::TooLarge {
            path: path.to_owned(),
            limit: Secret::MAX_FILE_LEN,
        });
    }
    Ok(contents)
}

fn hint(variable: &str, kind: &SecretErrorKind) -> String {
    match kind {
        SecretErrorKind::Missing => {
            format!(" (set {variable}, or {variable}_FILE to the path of a file that holds it)")
        }
        _ => String::new(),
    }
}

impl SecretError {
    /// The environment variable the error is about.
    pub fn variable(&self) -> &str {
        &self.variable
    }

    /// What went wrong.
    pub fn kind(&self) -> &SecretErrorKind {
        &self.kind
    }
}

/// Why a secret could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretErrorKind {
    /// Neither `NAME` nor `NAME_FILE` is set.
    #[error("not set")]
    Missing,
    /// Both `NAME` and `NAME_FILE` are set: which one is meant is a guess we do not make.
    #[error("both the variable and its _FILE form are set")]
    Ambiguous,
    /// The variable or file is empty.
    #[error("empty")]
    Empty,
    /// The file named by `NAME_FILE` could not be read.
    #[error("cannot read {}", path.display())]
    File {
        /// The file's path (not secret).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file named by `NAME_FILE` is larger than [`Secret::MAX_FILE_LEN`]: not read whole.
    #[error("{} is larger than {limit} bytes", path.display())]
    TooLarge {
        /// The file's path (not secret).
        path: PathBuf,
        /// The limit, in bytes.
        limit: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(format!("{s:#?}"), "Secret([redacted])");
    }

    #[test]
    fn ct_eq_compares_contents() {
        let s = Secret::new(b"abc".to_vec());
        assert!(s.ct_eq(b"abc"));
        assert!(!s.ct_eq(b"abd"));
        assert!(!s.ct_eq(b"ab"));
        assert!(!s.ct_eq(b""));
    }

    #[test]
    fn new_copies_oversized_buffers() {
        let mut v = Vec::with_capacity(64);
        v.extend_from_slice(b"key");
        let s = Secret::new(v);
        assert_eq!(s.expose_secret(), b"key");
    }

    #[test]
    fn loads_from_variable() {
        let s = Secret::from_lookup("API_KEY", env(&[("API_KEY", "k1")])).unwrap();
        assert_eq!(s.expose_str().unwrap(), "k1");
        // One trailing newline goes, as from a file; anything else stays.
        for (value, kept) in [
            ("k1\n", "k1"),
            ("k1\r\n", "k1"),
            ("k1\n\n", "k1\n"),
            (" k1", " k1"),
        ] {
            let s = Secret::from_lookup("API_KEY", env(&[("API_KEY", value)])).unwrap();
            assert_eq!(s.expose_str().unwrap(), kept, "{value:?}");
        }
        let e = Secret::from_lookup("API_KEY", env(&[("API_KEY", "\n")])).unwrap_err();
        assert!(matches!(e.kind(), SecretErrorKind::Empty));
    }

    #[test]
    fn loads_from_file_and_trims_one_newline() {
        let dir = std::env::temp_dir().join(format!("auth-core-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        std::fs::write(&path, "from-file\r\n").unwrap();
        let s = Secret::from_lookup("API_KEY", env(&[("API_KEY_FILE", path.to_str().unwrap())]))
            .unwrap();
        assert_eq!(s.expose_secret(), b"from-file");

        // Up to the limit is read; one byte more, or a file without end, is refused.
        std::fs::write(&path, vec![b'k'; Secret::MAX_FILE_LEN]).unwrap();
        let s = Secret::from_lookup("API_KEY", env(&[("API_KEY_FILE", path.to_str().unwrap())]))
            .unwrap();
        assert_eq!(s.expose_secret().len(), Secret::MAX_FILE_LEN);
        std::fs::write(&path, vec![b'k'; Secret::MAX_FILE_LEN + 1]).unwrap();
        for file in [path.to_str().unwrap(), "/dev/zero"] {
            let e = Secret::from_lookup("API_KEY", env(&[("API_KEY_FILE", file)])).unwrap_err();
            assert!(
                matches!(e.kind(), SecretErrorKind::TooLarge { limit, .. } if *limit == Secret::MAX_FILE_LEN),
                "{e:?}"
            );
            assert!(e.to_string().contains(file), "{e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_name_the_variable_not_the_value() {
        let e = Secret::from_lookup("API_KEY", env(&[])).unwrap_err();
        assert!(matches!(e.kind(), SecretErrorKind::Missing));
        assert!(e.to_string().contains("API_KEY"));

        let e = Secret::from_lookup(
            "API_KEY",
            env(&[("API_KEY", "s3cr3t-value"), ("API_KEY_FILE", "/x")]),
        )
        .unwrap_err();
        assert!(matches!(e.kind(), SecretErrorKind::Ambiguous));
        assert!(!format!("{e} {e:?}").contains("s3cr3t-value"));

        let e = Secret::from_lookup("API_KEY", env(&[("API_KEY", "")])).unwrap_err();
        assert!(matches!(e.kind(), SecretErrorKind::Empty));

        let e = Secret::from_lookup(
            "API_KEY",
            env(&[("API_KEY_FILE", "/nonexistent/auth-rs/secret")]),
        )
        .unwrap_err();
        assert_eq!(e.variable(), "API_KEY_FILE");
        assert!(e.to_string().contains("/nonexistent/auth-rs/secret"));
    }
}
