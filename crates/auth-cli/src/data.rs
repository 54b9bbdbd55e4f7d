//! `--data DIR`: what `auth serve` keeps between runs, shared with `auth apikey create`.
//!
//! - `keys.db`: the SQLite API key store (digests only, never keys);
//! - `pepper`: 32 random bytes (mode 0600) keying the HMAC-SHA-256 digests, so that a copy
//!   of the database alone cannot be used to test guessed keys.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use auth_apikey::{ApiKeys, KeyFormat, SqliteStore};
use auth_core::Secret;

use crate::output::Error;

/// The prefix of the keys `auth serve` issues.
pub(crate) const KEY_PREFIX: &str = "ak_live";

/// An opened data directory.
#[derive(Debug)]
pub(crate) struct DataDir {
    path: PathBuf,
    fresh: bool,
}

impl DataDir {
    /// Opens (creating) `path`. Remembers whether the key store did not exist yet.
    pub(crate) fn open(path: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(path)
            .map_err(|e| Error::config(format!("cannot create {}: {e}", path.display())))?;
        let fresh = !path.join("keys.db").exists();
        Ok(Self {
            path: path.to_owned(),
            fresh,
        })
    }

    /// Whether this is the first start: no key store existed.
    pub(crate) fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// The API keys in `keys.db`, digested with the directory's pepper.
    pub(crate) fn api_keys(&self) -> Result<ApiKeys<SqliteStore>, Error> {
        let pepper = self.pepper()?;
        let store = SqliteStore::open(self.path.join("keys.db")).map_err(Error::config)?;
        ApiKeys::builder(KeyFormat::new(KEY_PREFIX).map_err(Error::config)?)
            .pepper(pepper)
            .build(store)
            .map_err(Error::config)
    }

    fn pepper(&self) -> Result<Secret, Error> {
        let path = self.path.join("pepper");
        match std::fs::read(&path) {
            Ok(bytes) if bytes.len() >= 32 => return Ok(Secret::new(bytes)),
            Ok(_) => return Err(Error::config(format!("{} is too short", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::config(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        }
        let mut bytes = vec![0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::config("no randomness"))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options
            .open(&path)
            .and_then(|mut f| f.write_all(&bytes).and_then(|()| f.sync_all()));
        match written {
            Ok(()) => Ok(Secret::new(bytes)),
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(&path)
                .map(Secret::new)
                .map_err(|e| Error::config(format!("cannot read {}: {e}", path.display()))),
            Err(e) => Err(Error::config(format!(
                "cannot write {}: {e}",
                path.display()
            ))),
        }
    }
}
