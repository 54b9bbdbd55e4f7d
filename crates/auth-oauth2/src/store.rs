//! Where a [`TokenSource`](crate::TokenSource) keeps its tokens: the [`TokenStore`] trait,
//! [`MemoryTokenStore`] (the default) and [`FileTokenStore`] (atomic replace, mode 0600).
//!
//! Refresh-token rotation depends on the store: a new refresh token replaces the old one in
//! one step, so that a crash or a second process never sees half of an update, and the old
//! one, dead on the server, is never read back and sent again.

use std::fmt;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use auth_core::{BoxFuture, Scopes, Secret, UnixTime};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::response::{TokenSet, TokenType};

/// Persists a token set. Implement it for a database or a secret manager; the two here cover
/// one process ([`MemoryTokenStore`]) and several processes on one machine ([`FileTokenStore`]).
pub trait TokenStore: Send + Sync {
    /// The stored tokens, or `None` if there are none yet.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store cannot be read.
    fn load(&self) -> impl Future<Output = Result<Option<TokenSet>, Error>> + Send;

    /// Replaces the stored tokens with `tokens`, atomically.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store cannot be written.
    fn save(&self, tokens: &TokenSet) -> impl Future<Output = Result<(), Error>> + Send;
}

impl<S: TokenStore + ?Sized> TokenStore for Arc<S> {
    fn load(&self) -> impl Future<Output = Result<Option<TokenSet>, Error>> + Send {
        (**self).load()
    }

    fn save(&self, tokens: &TokenSet) -> impl Future<Output = Result<(), Error>> + Send {
        (**self).save(tokens)
    }
}

/// [`TokenStore`] in object-safe form, implemented for every store: what [`BoxTokenStore`]
/// holds. Call [`TokenStore`] instead.
pub trait DynTokenStore: Send + Sync {
    /// [`TokenStore::load`], boxed.
    fn load_boxed(&self) -> BoxFuture<'_, Result<Option<TokenSet>, Error>>;
    /// [`TokenStore::save`], boxed.
    fn save_boxed<'a>(&'a self, tokens: &'a TokenSet) -> BoxFuture<'a, Result<(), Error>>;
}

impl<S: TokenStore> DynTokenStore for S {
    fn load_boxed(&self) -> BoxFuture<'_, Result<Option<TokenSet>, Error>> {
        Box::pin(self.load())
    }

    fn save_boxed<'a>(&'a self, tokens: &'a TokenSet) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.save(tokens))
    }
}

/// A type-erased, cheaply cloneable token store: what a [`TokenSource`](crate::TokenSource)
/// keeps.
#[derive(Clone)]
pub struct BoxTokenStore(Arc<dyn DynTokenStore>);

impl BoxTokenStore {
    /// Erases `store`'s type.
    pub fn new(store: impl TokenStore + 'static) -> Self {
        Self(Arc::new(store))
    }
}

impl fmt::Debug for BoxTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BoxTokenStore").finish_non_exhaustive()
    }
}

impl TokenStore for BoxTokenStore {
    async fn load(&self) -> Result<Option<TokenSet>, Error> {
        self.0.load_boxed().await
    }

    async fn save(&self, tokens: &TokenSet) -> Result<(), Error> {
        self.0.save_boxed(tokens).await
    }
}

/// Tokens in memory: the default, and a way for two sources in one process to share them
/// (wrap it in an `Arc`).
#[derive(Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<Option<TokenSet>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding `tokens` (a refresh token from a previous login, say).
    pub fn with_tokens(tokens: TokenSet) -> Self {
        Self {
            tokens: Mutex::new(Some(tokens)),
        }
    }
}

impl fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryTokenStore").finish_non_exhaustive()
    }
}

fn poisoned() -> Error {
    Error::Store {
        what: "memory store lock poisoned".into(),
        source: None,
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> impl Future<Output = Result<Option<TokenSet>, Error>> + Send {
        let got = self
            .tokens
            .lock()
            .map(|t| t.clone())
            .map_err(|_| poisoned());
        std::future::ready(got)
    }

    fn save(&self, tokens: &TokenSet) -> impl Future<Output = Result<(), Error>> + Send {
        let done = self
            .tokens
            .lock()
            .map(|mut t| *t = Some(tokens.clone()))
            .map_err(|_| poisoned());
        std::future::ready(done)
    }
}

/// Tokens in a JSON file, replaced atomically: written to a new file of a random name in the
/// same directory (created exclusively, mode 0600), flushed, then renamed over the old one.
///
/// # Security
///
/// The file holds the refresh token in clear: keep it in a directory only its user can read.
/// The file is created with mode 0600 on Unix. The I/O is synchronous and small; it happens
/// only on refresh.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    /// A store at `path`. Nothing is read or written until the source needs it.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, what: &str, e: std::io::Error) -> Error {
        Error::Store {
            what: format!("{what} {}", self.path.display()).into(),
            source: Some(Box::new(e)),
        }
    }

    fn read(&self) -> Result<Option<TokenSet>, Error> {
        use std::io::Read as _;
        // Far beyond any token set: a file that is not one is refused, not read into memory.
        const LIMIT: u64 = 1 << 20;
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io_error("cannot read", e)),
        };
        let mut bytes = Vec::new();
        file.take(LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.io_error("cannot read", e))?;
        let bad = || Error::Store {
            what: format!("{} is not a token file", self.path.display()).into(),
            source: None,
        };
        if bytes.len() as u64 > LIMIT {
            return Err(bad());
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        decode(&value).ok_or_else(bad).map(Some)
    }

    fn write(&self, tokens: &TokenSet) -> Result<(), Error> {
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let body = encode(tokens)?;
        // A fresh random name opened with O_EXCL (mode 0600 on Unix), so nobody can have
        // placed a file or a symlink there first; removed again if anything below fails.
        let mut tmp = tempfile::Builder::new()
            .prefix(".tokens.")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| self.io_error("cannot write", e))?;
        tmp.write_all(body.as_bytes())
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| self.io_error("cannot write", e))?;
        tmp.persist(&self.path)
            .map_err(|e| self.io_error("cannot write", e.error))?;
        // The rename itself survives a crash once the directory is flushed too.
        #[cfg(unix)]
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> impl Future<Output = Result<Option<TokenSet>, Error>> + Send {
        std::future::ready(self.read())
    }

    fn save(&self, tokens: &TokenSet) -> impl Future<Output = Result<(), Error>> + Send {
        std::future::ready(self.write(tokens))
    }
}

fn encode(tokens: &TokenSet) -> Result<String, Error> {
    let text = |s: &Secret| {
        s.expose_str().map(str::to_owned).map_err(|_| Error::Store {
            what: "token is not utf-8".into(),
            source: None,
        })
    };
    let mut map = Map::new();
    map.insert(
        "access_token".into(),
        Value::String(text(tokens.access_token())?),
    );
    if tokens.token_type() != TokenType::Bearer {
        map.insert("token_type".into(), tokens.token_type().as_str().into());
    }
    if let Some(rt) = tokens.refresh_token() {
        map.insert("refresh_token".into(), Value::String(text(rt)?));
    }
    if let Some(at) = tokens.expires_at() {
        map.insert("expires_at".into(), Value::from(at.as_secs()));
    }
    if let Some(scopes) = tokens.scopes() {
        map.insert("scope".into(), Value::String(scopes.to_string()));
    }
    Ok(Value::Object(map).to_string())
}

fn decode(value: &Value) -> Option<TokenSet> {
    let access = value.get("access_token")?.as_str()?;
    let refresh = match value.get("refresh_token") {
        Some(v) => Some(Secret::new(v.as_str()?)),
        None => None,
    };
    let expires_at = match value.get("expires_at") {
        Some(v) => Some(UnixTime::from_secs(v.as_u64()?)),
        None => None,
    };
    let scopes = match value.get("scope") {
        Some(v) => Some(Scopes::from_space_separated(v.as_str()?)),
        None => None,
    };
    let token_type = match value.get("token_type").map(Value::as_str) {
        None => TokenType::Bearer,
        Some(Some(t)) if t.eq_ignore_ascii_case("bearer") => TokenType::Bearer,
        Some(Some(t)) if t.eq_ignore_ascii_case("dpop") => TokenType::DPoP,
        Some(_) => return None,
    };
    Some(
        TokenSet::new(Secret::new(access), expires_at)
            .with_token_type(token_type)
            .with_refresh_token(refresh)
            .with_scopes(scopes),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn file_store_round_trips_atomically_with_0600() {
        let dir = std::env::temp_dir().join(format!("auth-oauth2-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = FileTokenStore::new(dir.join("tokens.json"));
        assert!(block_on(store.load()).unwrap().is_none());
        let t = TokenSet::new(Secret::new("AT1"), Some(UnixTime::from_secs(99)))
            .with_token_type(TokenType::DPoP)
            .with_refresh_token(Some(Secret::new("RT1")))
            .with_scopes(Some(Scopes::from_space_separated("a b")));
        block_on(store.save(&t)).unwrap();
        let back = block_on(store.load()).unwrap().unwrap();
        assert!(back.access_token().ct_eq(b"AT1"));
        assert!(back.refresh_token().unwrap().ct_eq(b"RT1"));
        assert_eq!(back.expires_at(), Some(UnixTime::from_secs(99)));
        assert!(back.scopes().unwrap().contains("b"));
        assert_eq!(
            back.token_type(),
            TokenType::DPoP,
            "the binding survives a restart"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::write(store.path(), "garbage").unwrap();
        assert!(block_on(store.load()).is_err());
        // A file without end is refused after a bounded read.
        let endless = FileTokenStore::new("/dev/zero");
        let e = block_on(endless.load()).unwrap_err();
        assert!(e.to_string().contains("not a token file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Another local user who can write to the directory plants a symlink at every name a
    /// predictable scheme would use (`.tokens.json.<pid>.tmp`): the save must not follow it.
    #[cfg(unix)]
    #[test]
    fn a_planted_symlink_is_never_written_through() {
        let dir = std::env::temp_dir().join(format!("auth-oauth2-plant-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let planted = dir.join(format!(".tokens.json.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let store = FileTokenStore::new(dir.join("tokens.json"));
        block_on(store.save(&TokenSet::new(Secret::new("AT"), None))).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        // The positive twin: the tokens did land, in the store's own file.
        let back = block_on(store.load()).unwrap().unwrap();
        assert!(back.access_token().ct_eq(b"AT"));
        assert!(std::fs::symlink_metadata(&planted).unwrap().is_symlink());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn memory_store_replaces() {
        let s = MemoryTokenStore::new();
        block_on(s.save(&TokenSet::new(Secret::new("A"), None))).unwrap();
        block_on(s.save(&TokenSet::new(Secret::new("B"), None))).unwrap();
        assert!(
            block_on(s.load())
                .unwrap()
                .unwrap()
                .access_token()
                .ct_eq(b"B")
        );
    }
}
