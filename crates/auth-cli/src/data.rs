//! `--data DIR`: what `auth serve` keeps between runs, shared with `auth apikey create`.
//!
//! - `keys.db`: the SQLite API key store (digests only, never keys);
//! - `pepper`: 32 random bytes (mode 0600) keying the HMAC-SHA-256 digests, so that a copy
//!   of the database alone cannot be used to test guessed keys.
//! - `signing-keys/*.pem`: the key ring's ES256 private keys (PKCS#8, mode 0600), named by
//!   creation time. A restart resumes with the last run's current and next keys, so tokens
//!   it issued keep verifying; older keys are deleted as the ring rotates.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use auth_apikey::{ApiKeys, BoxKeyStore, KeyFormat, SqliteStore};
use auth_core::Secret;
use auth_jwt::{Algorithm, SigningKey};

use crate::output::{Error, MAX_FILE_BYTES, read_capped};
use crate::store::{self, DatabaseArgs};

/// How many signing key files are kept: the next, the current and the last retired key.
const KEPT_SIGNING_KEYS: usize = 3;

/// The prefix of the keys `auth serve` issues.
pub(crate) const KEY_PREFIX: &str = "ak_live";

/// An opened data directory.
#[derive(Debug)]
pub(crate) struct DataDir {
    path: PathBuf,
}

impl DataDir {
    /// Opens (creating, mode 0700) `path`.
    pub(crate) fn open(path: &Path) -> Result<Self, Error> {
        create_private_dir(path)?;
        Ok(Self {
            path: path.to_owned(),
        })
    }

    /// Opens an existing data directory for `auth apikey create`: one that `auth serve`
    /// made, with its pepper. A missing directory or pepper is refused rather than created
    /// with a fresh pepper, under which the new key could never verify on the real server
    /// (a mistyped `--data` beside a shared `--database-env`), unless `init` asks for it.
    pub(crate) fn open_existing(path: &Path, init: bool, db: &DatabaseArgs) -> Result<Self, Error> {
        // With --pepper-env the pepper is not in the directory.
        let looks_made = match db.pepper_env {
            Some(_) => path.is_dir(),
            None => path.join("pepper").is_file(),
        };
        if !init && !looks_made {
            let what = if path.is_dir() {
                "has no pepper file"
            } else {
                "does not exist"
            };
            return Err(Error::config(format!(
                "{} {what}: it is not an `auth serve` data directory. Start `auth serve --data \
                 {}` once to create it, give the directory the server uses, or pass --init to \
                 create a new one here",
                path.display(),
                path.display()
            )));
        }
        Self::open(path)
    }

    /// The pepper file's permission bits when group or others may read or write it.
    fn pepper_mode_open_to_others(&self) -> Option<u32> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(self.path.join("pepper"))
                .ok()?
                .permissions()
                .mode()
                & 0o777;
            (mode & 0o077 != 0).then_some(mode)
        }
        #[cfg(not(unix))]
        {
            None
        }
    }

    /// The API keys in `keys.db` (or the PostgreSQL database `db` names), digested with the
    /// pepper (`--pepper-env`, or the directory's), whose fingerprint must be the one the
    /// store recorded.
    pub(crate) async fn api_keys(&self, db: &DatabaseArgs) -> Result<ApiKeys<BoxKeyStore>, Error> {
        let pepper = self.fleet_pepper(db)?;
        let keys_db = self.path.join("keys.db");
        let store = store::open(db, || SqliteStore::open(keys_db).map_err(Error::config)).await?;
        let keys = ApiKeys::builder(KeyFormat::new(KEY_PREFIX).map_err(Error::config)?)
            .pepper(pepper)
            .build(store)
            .map_err(Error::config)?;
        store::check_pepper(&keys).await?;
        Ok(keys)
    }

    /// The pepper: `--pepper-env`'s, or the directory's.
    fn fleet_pepper(&self, db: &DatabaseArgs) -> Result<Secret, Error> {
        match &db.pepper_env {
            Some(var) => {
                let pepper = Secret::from_env(var).map_err(Error::config)?;
                if pepper.len() < 32 {
                    return Err(Error::config(format!(
                        "{var}: the pepper must be at least 32 bytes"
                    )));
                }
                Ok(pepper)
            }
            None => self.pepper(),
        }
    }

    /// The key of the DPoP nonces: the same on every instance that shares the pepper, so a
    /// nonce one hands out is good at all of them; an HMAC of a fixed label under the pepper,
    /// never the pepper itself.
    pub(crate) fn dpop_nonce_key(&self, db: &DatabaseArgs) -> Result<Secret, Error> {
        use aws_lc_rs::hmac;
        let pepper = self.fleet_pepper(db)?;
        let key = hmac::Key::new(hmac::HMAC_SHA256, pepper.expose_secret());
        let tag = hmac::sign(&key, b"auth serve: DPoP nonces");
        Ok(Secret::new(tag.as_ref().to_vec()))
    }

    /// The key ring's generator: first the last run's current and next keys, then fresh
    /// ES256 keys, each written to `signing-keys/` before use. Tokens get header `typ`.
    pub(crate) fn signing_keys(
        &self,
        typ: &'static str,
    ) -> Result<impl Fn() -> Result<SigningKey, auth_jwt::Error> + Send + Sync + 'static, Error>
    {
        let dir = self.path.join("signing-keys");
        create_private_dir(&dir)?;
        let mut files = pem_files(&dir).map_err(Error::config)?;
        let resume = files.split_off(files.len().saturating_sub(2));
        let queue = Mutex::new(VecDeque::from(resume));
        Ok(move || {
            let next = queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop_front();
            let pem = match next {
                Some(path) => std::fs::File::open(&path)
                    .and_then(|file| read_capped(file, MAX_FILE_BYTES))
                    .map_err(|e| misconfigured(&path, &e))?
                    .ok_or_else(|| {
                        let e = std::io::Error::other("larger than 1 MiB: not a signing key");
                        misconfigured(&path, &e)
                    })?,
                None => new_signing_key(&dir)?,
            };
            SigningKey::from_pem(&pem, Algorithm::ES256).map(|k| k.with_type(typ))
        })
    }

    fn pepper(&self) -> Result<Secret, Error> {
        let path = self.path.join("pepper");
        if let Some(mode) = self.pepper_mode_open_to_others() {
            return Err(Error::config(format!(
                "{} is readable or writable by others (mode {mode:o}): `chmod 600` it; the \
                 pepper keys the digests of every API key",
                path.display()
            )));
        }
        match read_pepper(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            read => return read.map_err(|e| pepper_error(&path, &e)),
        }
        let mut bytes = vec![0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::config("no randomness"))?;
        match write_private(&path, &bytes) {
            Ok(()) => Ok(Secret::new(bytes)),
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                read_pepper(&path).map_err(|e| pepper_error(&path, &e))
            }
            Err(e) => Err(Error::config(format!(
                "cannot write {}: {e}",
                path.display()
            ))),
        }
    }
}

/// Creates `path` and any missing parents with mode 0700 (an existing directory is left as
/// it is: it may be shared on purpose).
fn create_private_dir(path: &Path) -> Result<(), Error> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(path)
        .map_err(|e| Error::config(format!("cannot create {}: {e}", path.display())))
}

/// The longest pepper file read: far more than the 32 bytes written, far less than memory.
const MAX_PEPPER_BYTES: usize = 1024;

/// Reads the pepper: at least 32 bytes, at most [`MAX_PEPPER_BYTES`].
fn read_pepper(path: &Path) -> std::io::Result<Secret> {
    let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    let bytes = read_capped(std::fs::File::open(path)?, MAX_PEPPER_BYTES)?
        .ok_or_else(|| invalid("longer than 1 KiB: not a pepper"))?;
    if bytes.len() < 32 {
        return Err(invalid("shorter than 32 bytes"));
    }
    Ok(Secret::new(bytes))
}

fn pepper_error(path: &Path, e: &std::io::Error) -> Error {
    Error::config(format!("cannot use {}: {e}", path.display()))
}

/// Creates `path` (it must not exist) readable by the owner only, and writes `bytes`.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The `.pem` files in `dir`, oldest first (their names are creation times).
fn pem_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "pem"))
        .collect();
    files.sort();
    Ok(files)
}

fn misconfigured(path: &Path, e: &std::io::Error) -> auth_jwt::Error {
    auth_jwt::Error::Misconfigured(format!("signing key {}: {e}", path.display()).into())
}

/// A fresh ES256 key written to `dir` as PKCS#8 PEM; the oldest files beyond
/// [`KEPT_SIGNING_KEYS`] are deleted.
fn new_signing_key(dir: &Path) -> Result<Vec<u8>, auth_jwt::Error> {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
        .map_err(|e| auth_jwt::Error::Signing(Box::new(e)))?;
    let der = pair
        .to_pkcs8v1()
        .map_err(|e| auth_jwt::Error::Signing(Box::new(e)))?;
    let pem = crate::keys::pem("PRIVATE KEY", der.as_ref()).into_bytes();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let path = dir.join(format!("{nanos:024}.pem"));
    write_private(&path, &pem).map_err(|e| misconfigured(&path, &e))?;
    if let Ok(files) = pem_files(dir) {
        for old in &files[..files.len().saturating_sub(KEPT_SIGNING_KEYS)] {
            let _ = std::fs::remove_file(old);
        }
    }
    Ok(pem)
}
