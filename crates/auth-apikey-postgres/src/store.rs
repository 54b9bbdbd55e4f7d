//! [`PgStore`]: keys in PostgreSQL, shared by a fleet of instances, with a verification
//! cache in each and a bound on how long any of them can accept a key after it changed.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auth_apikey::{Error, KeyId, KeyRecord, KeyStore};
use auth_core::{Clock, CoarseClock, Transport, UnixTime};
use tokio::sync::watch;
use tokio_postgres::Client;

use crate::cache::Cache;
use crate::conn::Db;
use crate::listener::{self, AbortOnDrop, SyncState};
use crate::row::{self, Params};
use crate::schema::{self, Sql};
use crate::tls;

/// The default bound on staleness: see [`PgStoreBuilder::max_stale`].
pub const DEFAULT_MAX_STALE: Duration = Duration::from_secs(30);

/// Keys in PostgreSQL. See the [crate docs](crate) for the guarantees.
///
/// Needs a tokio runtime (with the `time` driver): the store drives its connections on
/// tasks of the runtime it was [connected](PgStoreBuilder::connect) on. Dropping the
/// store closes them.
pub struct PgStore {
    db: Arc<Db>,
    cache: Arc<Cache>,
    clock: Arc<dyn Clock>,
    state: watch::Receiver<SyncState>,
    timeout: Duration,
    _listener: AbortOnDrop,
}

/// Settings for a [`PgStore`], from [`PgStore::builder`].
pub struct PgStoreBuilder {
    config: tokio_postgres::Config,
    schema: String,
    max_stale: Duration,
    connect_timeout: Duration,
    clock: Arc<dyn Clock>,
    ca_pem: Option<Vec<u8>>,
    transport: Transport,
}

impl PgStore {
    /// Settings for a store on the database at `url`
    /// (`postgres://user:password@host:port/dbname?sslmode=require`, or libpq's
    /// `key=value` form).
    ///
    /// Its `sslmode` is honoured within a policy: a host that is not loopback gets TLS with
    /// the server's certificate and name verified, whatever the mode (`prefer`, the
    /// default, becomes `require`; `disable` is refused), unless
    /// [`danger_allow_plaintext`](PgStoreBuilder::danger_allow_plaintext). A loopback host
    /// is plaintext unless the mode is `require`, `verify-ca` or `verify-full`; a Unix
    /// socket is never TLS (as with libpq). See the crate README.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] when `url` is not a PostgreSQL connection string (the
    /// message does not repeat it: it may hold a password).
    pub fn builder(url: &str) -> Result<PgStoreBuilder, Error> {
        let config = tls::parse(url)?;
        Ok(PgStoreBuilder {
            config,
            schema: "auth_apikey".into(),
            max_stale: DEFAULT_MAX_STALE,
            connect_timeout: Duration::from_secs(5),
            clock: Arc::new(CoarseClock),
            ca_pem: None,
            transport: Transport::default(),
        })
    }

    /// What the change listener has done; `changed()` on the receiver waits for news.
    pub fn sync_state(&self) -> watch::Receiver<SyncState> {
        self.state.clone()
    }

    /// The bound on how long a changed key can still be accepted here.
    pub fn max_stale(&self) -> Duration {
        self.cache.max_stale()
    }

    /// How many keys are in this instance's cache.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// The schema the keys live in.
    pub fn schema(&self) -> &str {
        self.db.sql.schema()
    }

    async fn fetch(&self, id: &KeyId) -> Result<Option<Arc<KeyRecord>>, Error> {
        let lookup = async {
            let reader = self.db.reader().await?;
            reader
                .client
                .query_opt(&reader.get, &[&id.as_str()])
                .await
                .map_err(|e| Error::store("reading a key", e))
        };
        let row = self.bounded("reading a key", lookup).await?;
        row.as_ref()
            .map(row::read)
            .transpose()
            .map(|r| r.map(Arc::new))
    }

    /// Runs `f`, giving up after the timeout: a database that stopped answering (a network
    /// that drops packets) is a 503 in bounded time, not a hung request.
    /// The database connections.
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    async fn bounded<T>(
        &self,
        what: &'static str,
        f: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(result) => result,
            Err(elapsed) => {
                // A connection that stopped answering is not trusted again.
                self.db.forget_reader().await;
                Err(Error::store(what, elapsed))
            }
        }
    }

    /// One atomic statement; then, if no use was taken, why (unlimited, none left, no key).
    async fn take_use(&self, id: &KeyId) -> Result<bool, Error> {
        const WHAT: &str = "taking a use";
        let reader = self.db.reader().await?;
        let taken = reader
            .client
            .query_opt(&self.db.sql.take_use, &[&id.as_str()])
            .await
            .map_err(|e| Error::store(WHAT, e))?;
        if let Some(row) = taken {
            let left: i64 = row.try_get(0).map_err(|e| Error::store(WHAT, e))?;
            self.cache.set_remaining_uses(id, u64::try_from(left).ok());
            return Ok(true);
        }
        let row = reader
            .client
            .query_opt(&self.db.sql.uses_left, &[&id.as_str()])
            .await
            .map_err(|e| Error::store(WHAT, e))?
            .ok_or(Error::NotFound(*id))?;
        let left: Option<i64> = row.try_get(0).map_err(|e| Error::store(WHAT, e))?;
        if left == Some(0) {
            self.cache.set_remaining_uses(id, Some(0));
        }
        Ok(left.is_none())
    }

    /// Runs `body` in a transaction on the writer and, if it commits, tells every instance
    /// (this one included, at once) that `changed` changed.
    async fn write<T>(
        &self,
        what: &'static str,
        changed: &KeyId,
        body: impl AsyncFnOnce(&tokio_postgres::Transaction<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let fail = |e| Error::store(what, e);
        let mut writer = self.db.writer().await?;
        let client: &mut Client = &mut writer;
        let tx = client.transaction().await.map_err(fail)?;
        // On an error, dropping `tx` rolls everything back, the notification included.
        let out = body(&tx).await?;
        tx.execute(
            "SELECT pg_notify($1, $2)",
            &[&self.db.sql.channel, &changed.as_str()],
        )
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        self.cache.invalidate(changed);
        Ok(out)
    }
}

impl PgStoreBuilder {
    /// The PostgreSQL schema for the tables (default `auth_apikey`): lower-case ASCII
    /// letters, digits and `_`, at most 48, not starting with a digit. Key sets in
    /// different schemas are separate, notifications included.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// How long a cached key may be served without reading its row again (default 30 s):
    /// no instance accepts a revoked, expired or rotated-out key longer than this after
    /// the change, even when change notifications are lost. Notifications make it
    /// immediate while they flow. Also how long cached keys keep working while the
    /// database is unreachable.
    pub fn max_stale(mut self, bound: Duration) -> Self {
        self.max_stale = bound;
        self
    }

    /// How long to wait for a connection, and for a lookup, before answering 503 (default
    /// 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The clock that ages cache entries: use the clock of the [`ApiKeys`](auth_apikey::ApiKeys)
    /// over this store (default: [`CoarseClock`], the system clock at tick resolution).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Trusts the CA certificates in `pem` (PEM, one or more `CERTIFICATE` blocks) for the
    /// database server, instead of the platform's roots: for a database whose certificate
    /// a private CA signed (libpq's `sslrootcert`). The server's name is still checked
    /// against its certificate.
    pub fn ca_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem = Some(pem.into());
        self
    }

    /// Allows plaintext to a host that is not loopback: `sslmode=disable` is obeyed and
    /// `prefer` (the default) falls back to plaintext when the server offers no TLS.
    ///
    /// # Security
    ///
    /// The password (unless SCRAM), the key ids, digests and owners then cross the network
    /// unencrypted, and anyone on the path can read them or answer in the server's place.
    pub fn danger_allow_plaintext(self) -> Self {
        self.transport(Transport::danger_allow_plaintext())
    }

    /// Where the connection may be plaintext: the policy every auth-rs client of a network
    /// service takes (default: encrypted, or plaintext to loopback and Unix sockets only).
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Connects, applies the schema migrations, and starts listening for changes. Waits up
    /// to the connect timeout for the listener, which otherwise keeps trying on its own.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] for a bad schema name, a zero `max_stale`, plaintext to a
    /// host that is not loopback (see
    /// [`danger_allow_plaintext`](PgStoreBuilder::danger_allow_plaintext)), a CA
    /// certificate that is not PEM or comes with a plaintext connection, no trusted CA at
    /// all, or when not run on a Tokio runtime; [`Error::Store`] when the database cannot be
    /// reached (a refused certificate included) or migrated.
    pub async fn connect(self) -> Result<PgStore, Error> {
        // The connections' and the listener's tasks are spawned on Tokio.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Misconfigured(
                "PgStore::connect must run on a Tokio runtime",
            ));
        }
        if self.max_stale.is_zero() {
            return Err(Error::Misconfigured("max_stale must be more than zero"));
        }
        let sql = Sql::new(&self.schema)?;
        let mut config = self.config;
        let tls = tls::apply(&mut config, self.ca_pem.as_deref(), self.transport)?;
        config.connect_timeout(self.connect_timeout);
        let mut listener_config = config.clone();
        config.application_name(format!("auth-apikey {}", sql.schema()));
        listener_config.application_name(format!("auth-apikey listener {}", sql.schema()));

        let mut setup = crate::conn::open(&config, &tls).await?;
        schema::migrate(&mut setup, &sql).await?;
        drop(setup);

        let cache = Arc::new(Cache::new(self.max_stale));
        let (tx, mut state) = watch::channel(SyncState::default());
        let channel = sql.channel.clone();
        let task = listener::spawn(
            listener_config,
            tls.clone(),
            channel,
            Arc::clone(&cache),
            tx,
        );
        let first = state.wait_for(|s| s.connects > 0);
        // Not listening yet is no error: the cache starts empty and the listener clears it
        // when it starts, so nothing is served that a missed notification changed.
        let _ = tokio::time::timeout(self.connect_timeout, first).await;
        Ok(PgStore {
            db: Arc::new(Db::new(config, tls, sql)),
            cache,
            clock: self.clock,
            state,
            timeout: self.connect_timeout,
            _listener: task,
        })
    }
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("schema", &self.schema())
            .field("max_stale", &self.max_stale())
            .field("cached", &self.cached())
            .field("sync", &*self.state.borrow())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for PgStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // tokio-postgres's Config hides the password in its Debug.
        f.debug_struct("PgStoreBuilder")
            .field("config", &self.config)
            .field("schema", &self.schema)
            .field("max_stale", &self.max_stale)
            .field("connect_timeout", &self.connect_timeout)
            .field("ca_certificate", &self.ca_pem.as_ref().map(|_| "<set>"))
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl KeyStore for PgStore {
    async fn insert(&self, record: KeyRecord) -> Result<(), Error> {
        let params = Params::new(&record)?;
        let writer = self.db.writer().await?;
        let changed = writer
            .execute(&self.db.sql.insert, &params.as_params())
            .await
            .map_err(|e| Error::store("inserting a key", e))?;
        if changed == 0 {
            return Err(Error::Duplicate(record.id));
        }
        Ok(())
    }

    /// From the cache when the entry is younger than `max_stale`: no round trip.
    async fn get(&self, id: &KeyId) -> Result<Option<Arc<KeyRecord>>, Error> {
        let now = self.clock.monotonic();
        if let Some(record) = self.cache.fresh(id, now) {
            return Ok(Some(record));
        }
        let epoch = self.cache.epoch();
        // Boxed: the miss path's state (a query, a timeout) would otherwise be part of
        // every verification future, hit or miss, and a hit would pay to move it.
        let record = Box::pin(self.fetch(id)).await?;
        if let Some(r) = &record {
            self.cache.put(Arc::clone(r), now, epoch);
        }
        Ok(record)
    }

    async fn list_by_owner(&self, owner: &str) -> Result<Vec<KeyRecord>, Error> {
        let reader = self.db.reader().await?;
        let rows = reader
            .client
            .query(&self.db.sql.list, &[&owner])
            .await
            .map_err(|e| Error::store("listing keys", e))?;
        rows.iter().map(row::read).collect()
    }

    async fn revoke(&self, id: &KeyId, at: UnixTime) -> Result<(), Error> {
        let at = row::to_nanos(at)?;
        let sql = &self.db.sql.revoke;
        self.write("revoking a key", id, async |tx| {
            let n = tx.execute(sql, &[&id.as_str(), &at]).await;
            found(n.map_err(|e| Error::store("revoking a key", e))?, id)
        })
        .await
    }

    async fn set_expires(&self, id: &KeyId, expires: Option<UnixTime>) -> Result<(), Error> {
        let expires = expires.map(row::to_nanos).transpose()?;
        let sql = &self.db.sql.set_expires;
        self.write("setting an expiry", id, async |tx| {
            let n = tx.execute(sql, &[&id.as_str(), &expires]).await;
            found(n.map_err(|e| Error::store("setting an expiry", e))?, id)
        })
        .await
    }

    /// One atomic statement; not broadcast (the count lives in the database, and the
    /// verifier always asks it for keys with limited uses).
    async fn consume_use(&self, id: &KeyId) -> Result<bool, Error> {
        // Boxed, as the lookup's miss path: a round trip dwarfs the allocation.
        Box::pin(self.bounded("taking a use", self.take_use(id))).await
    }

    async fn rotate(
        &self,
        old: &KeyId,
        old_expires: UnixTime,
        successor: KeyRecord,
    ) -> Result<(), Error> {
        const WHAT: &str = "rotating a key";
        let until = row::to_nanos(old_expires)?;
        let now = row::to_nanos(successor.created)?;
        let params = Params::new(&successor)?;
        let sql = &self.db.sql;
        self.write(WHAT, old, async |tx| {
            let fail = |e| Error::store(WHAT, e);
            let row = tx
                .query_opt(&sql.lock_for_rotation, &[&old.as_str()])
                .await
                .map_err(fail)?
                .ok_or(Error::NotFound(*old))?;
            let replaced_by: Option<&str> = row.try_get(0).map_err(fail)?;
            if let Some(next) = replaced_by {
                return Err(Error::AlreadyRotated {
                    id: *old,
                    successor: next.parse()?,
                });
            }
            // Read under the row lock: no revocation can slip in before the update.
            let revoked: Option<i64> = row.try_get(1).map_err(fail)?;
            let expires: Option<i64> = row.try_get(2).map_err(fail)?;
            if revoked.is_some() || expires.is_some_and(|at| at <= now) {
                return Err(Error::Inactive(*old));
            }
            tx.execute(
                &sql.shorten,
                &[&old.as_str(), &until, &successor.id.as_str()],
            )
            .await
            .map_err(fail)?;
            if tx
                .execute(&sql.insert, &params.as_params())
                .await
                .map_err(fail)?
                == 0
            {
                return Err(Error::Duplicate(successor.id));
            }
            Ok(())
        })
        .await
    }

    async fn claim_setting(&self, name: &str, value: &str) -> Result<String, Error> {
        self.claim(name, value).await
    }
}

fn found(changed: u64, id: &KeyId) -> Result<(), Error> {
    if changed == 0 {
        Err(Error::NotFound(*id))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_password_in_debug_or_errors() {
        let builder = PgStore::builder("postgres://alice:hunter2@127.0.0.1:5433/keys").unwrap();
        let debug = format!("{builder:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("alice"), "{debug}");
        let err = PgStore::builder("postgres://alice:hunter2@[::1/keys?sslmode=nonsense")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[tokio::test]
    async fn settings_are_checked_before_connecting() {
        let builder = || PgStore::builder("postgres://u@127.0.0.1:1/db").unwrap();
        let zero = builder().max_stale(Duration::ZERO).connect().await;
        assert!(matches!(zero, Err(Error::Misconfigured(_))));
        let schema = builder().schema("Bad-Name").connect().await;
        assert!(matches!(schema, Err(Error::Misconfigured(_))));
        // Nothing listens on port 1: a store error (503), not a hang or a panic.
        let down = builder()
            .connect_timeout(Duration::from_secs(2))
            .connect()
            .await;
        let down: auth_core::Error = down.unwrap_err().into();
        assert_eq!(down.status(), 503);
    }
}
