//! Where `auth serve` keeps API keys: SQLite in `--data DIR` (the default), or PostgreSQL
//! shared by a fleet (`--database-env VAR`, the URL read from that environment variable so
//! that its password never appears in `ps`).

use auth_apikey::{ApiKeys, BoxKeyStore, SqliteStore};
use auth_apikey_postgres::PgStore;
use auth_core::Secret;

use crate::output::Error;

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

/// Opens the store `args` name: PostgreSQL when `--database-env` is given, else the SQLite
/// store `sqlite` opens; either behind one type.
pub(crate) async fn open(
    args: &DatabaseArgs,
    sqlite: impl FnOnce() -> Result<SqliteStore, Error>,
) -> Result<BoxKeyStore, Error> {
    let Some(var) = &args.database_env else {
        return sqlite().map(BoxKeyStore::new);
    };
    let url = Secret::from_env(var).map_err(Error::config)?;
    let url = url
        .expose_str()
        .map_err(|_| Error::config(format!("{var} is not UTF-8")))?;
    let mut builder = PgStore::builder(url)
        .map_err(Error::config)?
        .schema(args.database_schema.clone());
    if let Some(ca) = &args.database_ca {
        builder = builder.ca_certificate_pem(crate::output::read_file(ca)?);
    }
    let store = builder.connect().await.map_err(Error::config)?;
    Ok(BoxKeyStore::new(store))
}

/// Whether the store holds no key of `owner` yet (a first start, for the admin key).
pub(crate) async fn has_no_keys_of(
    keys: &ApiKeys<BoxKeyStore>,
    owner: &str,
) -> Result<bool, Error> {
    Ok(keys.list(owner).await.map_err(Error::config)?.is_empty())
}

/// Checks the pepper against the fingerprint the store recorded (recording it on first use):
/// under another pepper no stored key would verify, and every client would get a bare 401.
pub(crate) async fn check_pepper(keys: &ApiKeys<BoxKeyStore>) -> Result<(), Error> {
    keys.check_pepper().await.map_err(|e| match e {
        auth_apikey::Error::PepperMismatch { .. } => Error::config(format!(
            "{e}. Give every instance the same pepper: copy DIR/pepper from an instance that \
             works, or set --pepper-env VAR to the fleet's pepper"
        )),
        other => Error::config(other),
    })
}
