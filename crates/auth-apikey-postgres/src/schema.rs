//! The schema: versioned migrations the store applies itself, and the statements it runs.
//!
//! Every object lives in one PostgreSQL schema (`auth_apikey` by default), so that several
//! key sets (or parallel tests) share a database without sharing tables. Migrations run in
//! one transaction under an advisory lock: instances starting together apply each at most
//! once, and a failed migration leaves the schema as it was.

use auth_apikey::Error;
use tokio_postgres::Client;

/// The migrations, in order; the version of each is its index plus one. Append only.
const MIGRATIONS: &[&str] = &[
    // 1: the keys. Times are nanoseconds since the epoch, as in the SQLite store.
    "CREATE TABLE {s}.api_keys (
        id              text    PRIMARY KEY,
        digest          bytea   NOT NULL CHECK (octet_length(digest) = 32),
        prefix          text    NOT NULL,
        owner           text    NOT NULL,
        name            text    NOT NULL,
        scopes          text    NOT NULL,
        created_ns      bigint  NOT NULL,
        expires_ns      bigint,
        revoked_ns      bigint,
        remaining_uses  bigint  CHECK (remaining_uses >= 0),
        quota_requests  bigint,
        quota_period_ns bigint,
        quota_burst     bigint,
        replaced_by     text
    );
    CREATE INDEX api_keys_owner ON {s}.api_keys (owner, created_ns, id);",
    // 2: facts every instance must agree on (the pepper's fingerprint).
    "CREATE TABLE {s}.settings (
        name  text PRIMARY KEY,
        value text NOT NULL
    );",
];

/// The newest schema version this crate knows.
pub(crate) const VERSION: i32 = MIGRATIONS.len() as i32;

/// The longest schema name accepted: the notification channel adds 12 characters and
/// PostgreSQL identifiers stop at 63.
const MAX_SCHEMA_LEN: usize = 48;

/// The columns in the order `row::read` and `insert` use.
pub(crate) const COLUMNS: &str = "id, digest, prefix, owner, name, scopes, created_ns, \
    expires_ns, revoked_ns, remaining_uses, quota_requests, quota_period_ns, quota_burst, \
    replaced_by";

/// A checked schema name and the statements that use it.
#[derive(Debug, Clone)]
pub(crate) struct Sql {
    /// The notification channel: `auth_apikey_<schema>`.
    pub(crate) channel: String,
    pub(crate) get: String,
    pub(crate) list: String,
    pub(crate) insert: String,
    pub(crate) revoke: String,
    pub(crate) set_expires: String,
    pub(crate) take_use: String,
    pub(crate) uses_left: String,
    pub(crate) lock_for_rotation: String,
    pub(crate) shorten: String,
    pub(crate) claim_setting: String,
    pub(crate) read_setting: String,
    schema: String,
}

impl Sql {
    /// The statements for `schema`: lower-case ASCII letters, digits and `_`, starting with a
    /// letter or `_`, at most 48 characters (it is spliced into SQL, so nothing else).
    pub(crate) fn new(schema: &str) -> Result<Self, Error> {
        let ok = !schema.is_empty()
            && schema.len() <= MAX_SCHEMA_LEN
            && schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !schema.as_bytes()[0].is_ascii_digit();
        if !ok {
            return Err(Error::Misconfigured(
                "schema name: 1 to 48 lower-case ASCII letters, digits and '_', not starting with a digit",
            ));
        }
        let t = format!("{schema}.api_keys");
        Ok(Self {
            channel: format!("auth_apikey_{schema}"),
            get: format!("SELECT {COLUMNS} FROM {t} WHERE id = $1"),
            list: format!("SELECT {COLUMNS} FROM {t} WHERE owner = $1 ORDER BY created_ns, id"),
            insert: format!(
                "INSERT INTO {t} ({COLUMNS}) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                 ON CONFLICT (id) DO NOTHING"
            ),
            revoke: format!("UPDATE {t} SET revoked_ns = coalesce(revoked_ns, $2) WHERE id = $1"),
            set_expires: format!("UPDATE {t} SET expires_ns = $2 WHERE id = $1"),
            take_use: format!(
                "UPDATE {t} SET remaining_uses = remaining_uses - 1 \
                 WHERE id = $1 AND remaining_uses > 0 RETURNING remaining_uses"
            ),
            uses_left: format!("SELECT remaining_uses FROM {t} WHERE id = $1"),
            lock_for_rotation: format!(
                "SELECT replaced_by, revoked_ns, expires_ns FROM {t} WHERE id = $1 FOR UPDATE"
            ),
            shorten: format!(
                "UPDATE {t} SET expires_ns = least(coalesce(expires_ns, $2), $2), \
                 replaced_by = $3 WHERE id = $1"
            ),
            claim_setting: format!(
                "INSERT INTO {schema}.settings (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO NOTHING"
            ),
            read_setting: format!("SELECT value FROM {schema}.settings WHERE name = $1"),
            schema: schema.to_owned(),
        })
    }

    /// The schema name.
    pub(crate) fn schema(&self) -> &str {
        &self.schema
    }
}

/// Brings the schema up to [`VERSION`]; a no-op when it is there already.
///
/// # Errors
///
/// [`Error::Store`] when a statement fails, or when the database's schema is newer than
/// this crate (an older binary must not write to it).
pub(crate) async fn migrate(client: &mut Client, sql: &Sql) -> Result<(), Error> {
    const WHAT: &str = "migrating the key schema";
    let fail = |e| Error::store(WHAT, e);
    let s = sql.schema();
    let tx = client.transaction().await.map_err(fail)?;
    // hashtext gives a stable 32-bit key per schema name; the lock ends with the transaction.
    tx.execute(
        "SELECT pg_advisory_xact_lock(1096045899, hashtext($1))",
        &[&s],
    )
    .await
    .map_err(fail)?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {s};
         CREATE TABLE IF NOT EXISTS {s}.schema_migrations (
             version    integer     PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         );"
    ))
    .await
    .map_err(fail)?;
    let row = tx
        .query_one(
            &format!("SELECT coalesce(max(version), 0) FROM {s}.schema_migrations"),
            &[],
        )
        .await
        .map_err(fail)?;
    let current: i32 = row.try_get(0).map_err(fail)?;
    if current > VERSION {
        return Err(Error::Store {
            what: format!(
                "key schema {s} is at version {current}, newer than this build ({VERSION})"
            )
            .into(),
            source: None,
        });
    }
    for (version, migration) in (1..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(current).unwrap_or(0))
    {
        tx.batch_execute(&migration.replace("{s}", s))
            .await
            .map_err(fail)?;
        tx.execute(
            &format!("INSERT INTO {s}.schema_migrations (version) VALUES ($1)"),
            &[&version],
        )
        .await
        .map_err(fail)?;
    }
    tx.commit().await.map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_checked() {
        for good in ["auth_apikey", "t_1", "_x", &"a".repeat(48)] {
            assert!(Sql::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "1abc",
            "Auth",
            "a-b",
            "a;drop",
            "a b",
            "\"x\"",
            &"a".repeat(49),
        ] {
            assert!(Sql::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn channel_fits_an_identifier() {
        let sql = Sql::new(&"a".repeat(MAX_SCHEMA_LEN)).unwrap();
        assert!(sql.channel.len() <= 63);
        assert!(sql.get.contains("aaaa.api_keys WHERE id = $1"));
    }
}
