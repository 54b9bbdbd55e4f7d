//! Where `auth serve` keeps API keys: SQLite in `--data DIR` (the default), or PostgreSQL
//! shared by a fleet (`--database-env VAR`, the URL read from that environment variable so
//! that its password never appears in `ps`).

use std::sync::Arc;

use auth_apikey::{Error, KeyId, KeyRecord, KeyStore, SqliteStore};
use auth_apikey_postgres::PgStore;
use auth_core::{Secret, UnixTime};

/// Which database to use, from the command line.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DatabaseArgs {
    /// Keep API keys in PostgreSQL instead of `--data DIR`: the name of the environment
    /// variable (or `VAR_FILE`) that holds the URL, e.g. `postgres://user:pw@host/db`.
    #[arg(long, value_name = "VAR")]
    pub(crate) database_env: Option<String>,
    /// The PostgreSQL schema for the key tables (separate schemas are separate key sets).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "auth_apikey",
        requires = "database_env"
    )]
    pub(crate) database_schema: String,
    /// Trust only this CA (PEM) for the database's certificate, for a private CA; without it,
    /// the platform's roots. TLS is required to any host but loopback (`sslmode=prefer`, the
    /// default, becomes `require` there).
    #[arg(long, value_name = "FILE", requires = "database_env")]
    pub(crate) database_ca: Option<std::path::PathBuf>,
    /// Read the digest pepper from this environment variable (or the file `VAR_FILE` names,
    /// as secret managers mount them) instead of `--data DIR/pepper`: at least 32 bytes,
    /// the same on every instance of a fleet.
    #[arg(long, value_name = "VAR")]
    pub(crate) pepper_env: Option<String>,
}

/// The key store in use.
#[derive(Debug)]
pub(crate) enum Backend {
    /// SQLite in the data directory.
    Sqlite(SqliteStore),
    /// PostgreSQL, with a per-instance cache kept fresh by `LISTEN`/`NOTIFY`.
    Postgres(PgStore),
}

impl Backend {
    /// Opens the store `args` name: PostgreSQL when `--database-env` is given.
    pub(crate) async fn open(
        args: &DatabaseArgs,
        sqlite: impl FnOnce() -> Result<SqliteStore, crate::output::Error>,
    ) -> Result<Self, crate::output::Error> {
        let Some(var) = &args.database_env else {
            return sqlite().map(Self::Sqlite);
        };
        let url = Secret::from_env(var).map_err(crate::output::Error::config)?;
        let url = url
            .expose_str()
            .map_err(|_| crate::output::Error::config(format!("{var} is not UTF-8")))?;
        let mut builder = PgStore::builder(url)
            .map_err(crate::output::Error::config)?
            .schema(args.database_schema.clone());
        if let Some(ca) = &args.database_ca {
            builder = builder.ca_certificate_pem(crate::output::read_file(ca)?);
        }
        let store = builder
            .connect()
            .await
            .map_err(crate::output::Error::config)?;
        Ok(Self::Postgres(store))
    }

    /// Whether the store holds no key of `owner` yet (a first start, for the admin key).
    pub(crate) async fn has_no_keys_of(&self, owner: &str) -> Result<bool, Error> {
        Ok(self.list_by_owner(owner).await?.is_empty())
    }

    /// Records the pepper's `fingerprint` beside the keys on first use; afterwards refuses a
    /// different one: under another pepper none of the stored keys would verify, and every
    /// client would get a bare 401.
    pub(crate) async fn check_pepper(&self, fingerprint: &str) -> Result<(), crate::output::Error> {
        const NAME: &str = "pepper_fingerprint";
        let recorded = match self {
            Self::Sqlite(s) => s.claim_setting(NAME, fingerprint),
            Self::Postgres(s) => s.claim_setting(NAME, fingerprint).await,
        }
        .map_err(crate::output::Error::config)?;
        if recorded == fingerprint {
            return Ok(());
        }
        Err(crate::output::Error::config(format!(
            "the pepper differs from the one this key store's keys were digested with \
             (fingerprint {fingerprint} here, {recorded} recorded): no stored key would \
             verify. Give every instance the same pepper: copy DIR/pepper from an instance \
             that works, or set --pepper-env VAR to the fleet's pepper"
        )))
    }
}

impl KeyStore for Backend {
    async fn insert(&self, record: KeyRecord) -> Result<(), Error> {
        match self {
            Self::Sqlite(s) => s.insert(record).await,
            Self::Postgres(s) => s.insert(record).await,
        }
    }

    async fn get(&self, id: &KeyId) -> Result<Option<Arc<KeyRecord>>, Error> {
        match self {
            Self::Sqlite(s) => s.get(id).await,
            Self::Postgres(s) => s.get(id).await,
        }
    }

    async fn list_by_owner(&self, owner: &str) -> Result<Vec<KeyRecord>, Error> {
        match self {
            Self::Sqlite(s) => s.list_by_owner(owner).await,
            Self::Postgres(s) => s.list_by_owner(owner).await,
        }
    }

    async fn revoke(&self, id: &KeyId, at: UnixTime) -> Result<(), Error> {
        match self {
            Self::Sqlite(s) => s.revoke(id, at).await,
            Self::Postgres(s) => s.revoke(id, at).await,
        }
    }

    async fn set_expires(&self, id: &KeyId, expires: Option<UnixTime>) -> Result<(), Error> {
        match self {
            Self::Sqlite(s) => s.set_expires(id, expires).await,
            Self::Postgres(s) => s.set_expires(id, expires).await,
        }
    }

    async fn consume_use(&self, id: &KeyId) -> Result<bool, Error> {
        match self {
            Self::Sqlite(s) => s.consume_use(id).await,
            Self::Postgres(s) => s.consume_use(id).await,
        }
    }

    async fn rotate(
        &self,
        old: &KeyId,
        old_expires: UnixTime,
        successor: KeyRecord,
    ) -> Result<(), Error> {
        match self {
            Self::Sqlite(s) => s.rotate(old, old_expires, successor).await,
            Self::Postgres(s) => s.rotate(old, old_expires, successor).await,
        }
    }
}
