//! [`Db`]: the store's two connections, each reopened by itself when it is lost.
//!
//! - The **reader** serves lookups and listings and takes uses. tokio-postgres pipelines
//!   the requests of concurrent callers on one connection, so one is enough for a cache
//!   miss path that is rare by design; the lookup is a prepared statement.
//! - The **writer** runs the transactions (create, revoke, set expiry, rotate). It is held
//!   for the whole transaction, so no other statement can land inside one.
//!
//! A connection that has closed (the server restarted, the network dropped) is replaced on
//! the next call; a call that cannot connect fails with [`Error::Store`] (503), at once when
//! the server refuses connections and within the connect timeout otherwise. Callers that
//! queued behind a failed attempt fail with it instead of each trying again, so an outage
//! costs every request at most one timeout, not one per request ahead of it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use auth_apikey::Error;
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};
use tokio_postgres::{Client, Config, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::schema::Sql;

/// The reader connection and its prepared lookup.
#[derive(Debug)]
pub(crate) struct Reader {
    pub(crate) client: Client,
    pub(crate) get: Statement,
}

/// The store's connections.
pub(crate) struct Db {
    config: Config,
    tls: MakeRustlsConnect,
    pub(crate) sql: Sql,
    reader: Mutex<Option<Arc<Reader>>>,
    writer: Mutex<Option<Client>>,
    /// Failed connection attempts, for callers that waited behind one.
    failures: AtomicU64,
}

impl Db {
    pub(crate) fn new(config: Config, tls: MakeRustlsConnect, sql: Sql) -> Self {
        Self {
            config,
            tls,
            sql,
            reader: Mutex::new(None),
            writer: Mutex::new(None),
            failures: AtomicU64::new(0),
        }
    }

    /// The reader, reconnected if it was lost. The lock is held only to check or replace
    /// it: callers run their queries concurrently on the shared client.
    pub(crate) async fn reader(&self) -> Result<Arc<Reader>, Error> {
        let seen = self.failures.load(Ordering::Acquire);
        let mut slot = self.reader.lock().await;
        if let Some(reader) = slot.as_ref()
            && !reader.client.is_closed()
        {
            return Ok(Arc::clone(reader));
        }
        *slot = None;
        let client = self.open(seen).await?;
        let get = client
            .prepare(&self.sql.get)
            .await
            .map_err(|e| Error::store("preparing the key lookup", e))?;
        let reader = Arc::new(Reader { client, get });
        *slot = Some(Arc::clone(&reader));
        Ok(reader)
    }

    /// Drops the reader (it stopped answering): the next call opens a new one.
    pub(crate) async fn forget_reader(&self) {
        *self.reader.lock().await = None;
    }

    /// The writer, reconnected if it was lost, held until the guard is dropped.
    pub(crate) async fn writer(&self) -> Result<MappedMutexGuard<'_, Client>, Error> {
        let seen = self.failures.load(Ordering::Acquire);
        let mut slot = self.writer.lock().await;
        if slot.as_ref().is_none_or(Client::is_closed) {
            *slot = None;
            *slot = Some(self.open(seen).await?);
        }
        MutexGuard::try_map(slot, Option::as_mut).map_err(|_| Error::Store {
            what: "writer connection vanished".into(),
            source: None,
        })
    }
}

impl Db {
    /// Connects, unless an attempt failed since the caller started waiting (`seen`).
    async fn open(&self, seen: u64) -> Result<Client, Error> {
        if self.failures.load(Ordering::Acquire) != seen {
            return Err(Error::Store {
                what: "key database unreachable (a connection attempt just failed)".into(),
                source: None,
            });
        }
        open(&self.config, &self.tls).await.inspect_err(|_| {
            self.failures.fetch_add(1, Ordering::AcqRel);
        })
    }
}

/// Opens a connection (TLS as [`crate::tls`] set it up in `config` and `tls`) and drives
/// its I/O on a task of the caller's runtime; the task ends when the client is dropped or
/// the connection fails.
pub(crate) async fn open(config: &Config, tls: &MakeRustlsConnect) -> Result<Client, Error> {
    let (client, connection) = config
        .connect(tls.clone())
        .await
        .map_err(|e| Error::store("connecting to the key database", e))?;
    tokio::spawn(async move {
        // A failed connection shows as a closed client; the next call reconnects.
        let _ = connection.await;
    });
    Ok(client)
}
