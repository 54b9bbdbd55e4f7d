//! [`SqliteStore`]: keys in an embedded SQLite database (the `sqlite` feature).
//!
//! # Durability
//!
//! The database runs in WAL mode with `synchronous = FULL`: a committed change survives a
//! crash or power loss, and every method is one transaction, so a crash in the middle of a
//! write (say, between the two rows a rotation touches) leaves the store as it was.
//!
//! # Blocking
//!
//! SQLite is a blocking library. Each method runs its statements when its future is first
//! polled and completes in that same poll: no executor is needed and none is assumed. The
//! statements are short (a lookup is one primary-key read from a prepared, cached
//! statement: microseconds on a local disk), so on an async runtime they cost what any short
//! piece of CPU work costs. Put the database on local storage; on slow or network storage,
//! call the store from `spawn_blocking`.
//!
//! # Timing
//!
//! A lookup returns one row whether the id exists or not (the key's, or a stand-in of the
//! same shape from a `LEFT JOIN`) and decodes it the same way, which narrows the gap between
//! an unknown id and a wrong secret (2.95 against 3.10 µs per check, where a miss without
//! the stand-in took 2.24) but does not close it: SQLite reads a real row only for a known
//! id, and `cargo xtask timing` tells the two apart (Welch's |t| in the hundreds at 10^5
//! measurements, about 0.2 µs). So the time of a refusal can say whether a key id exists.
//! A key id is not a secret (it is the key's first characters, `auth serve`'s client id, and
//! what the logs name); the secret's comparison, which is what guards a key, is constant
//! time (`cargo xtask timing`: indistinguishable).
//!
//! # Locking
//!
//! Writes go through one connection; reads go through a small pool of their own
//! connections, so a lookup never waits for a lock a writer holds (WAL lets SQLite readers
//! and a writer proceed together).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use auth_core::UnixTime;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior, params};

use crate::columns::{Columns, to_nanos};
use crate::error::Error;
use crate::id::KeyId;
use crate::record::KeyRecord;
use crate::store::KeyStore;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_keys (
    id              TEXT    PRIMARY KEY NOT NULL,
    digest          BLOB    NOT NULL CHECK (length(digest) = 32),
    prefix          TEXT    NOT NULL,
    owner           TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    scopes          TEXT    NOT NULL,
    created_ns      INTEGER NOT NULL,
    expires_ns      INTEGER,
    revoked_ns      INTEGER,
    remaining_uses  INTEGER CHECK (remaining_uses >= 0),
    quota_requests  INTEGER,
    quota_period_ns INTEGER,
    quota_burst     INTEGER,
    replaced_by     TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS api_keys_owner ON api_keys (owner, created_ns);
CREATE TABLE IF NOT EXISTS settings (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
";

/// Creates `path` with mode 0600 if it does not exist (SQLite would create it with the
/// process's umask, usually 0644: readable by everyone).
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The columns in the order [`read_row`] and [`insert_row`] use them (a macro, so that the
/// statements are string literals: no formatting on the lookup path).
macro_rules! columns {
    () => {
        "id, digest, prefix, owner, name, scopes, created_ns, expires_ns, revoked_ns, \
         remaining_uses, quota_requests, quota_period_ns, quota_burst, replaced_by"
    };
}

/// How many read connections [`SqliteStore::open`] keeps.
const DEFAULT_READERS: usize = 4;

/// Keys in a SQLite database file. Survives restarts; see the module docs for durability
/// and blocking.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, with four read connections. A
    /// new database file is made readable and writable by its owner only (mode 0600 on
    /// Unix; SQLite gives its `-wal` and `-shm` files the same mode).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the file cannot be opened or the schema created.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_with_readers(path, DEFAULT_READERS)
    }

    /// As [`SqliteStore::open`], with `readers` read connections (at least one).
    ///
    /// # Errors
    ///
    /// As [`SqliteStore::open`].
    pub fn open_with_readers(path: impl AsRef<Path>, readers: usize) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        create_private(&path).map_err(|e| Error::store("creating database", e))?;
        let writer = Connection::open(&path).map_err(|e| Error::store("opening database", e))?;
        configure(&writer)?;
        writer
            .execute_batch(SCHEMA)
            .map_err(|e| Error::store("creating schema", e))?;
        let readers = (0..readers.max(1))
            .map(|_| {
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let c = Connection::open_with_flags(&path, flags)
                    .map_err(|e| Error::store("opening read connection", e))?;
                c.busy_timeout(Duration::from_secs(5))
                    .map_err(|e| Error::store("configuring read connection", e))?;
                Ok(Mutex::new(c))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Self {
            path,
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// [`KeyStore::claim_setting`], in the `settings` table.
    fn claim_setting_sync(&self, name: &str, value: &str) -> Result<String, Error> {
        const WHAT: &str = "recording a setting";
        let conn = self.writer();
        conn.execute(
            "INSERT INTO settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            params![name, value],
        )
        .map_err(|e| Error::store(WHAT, e))?;
        conn.query_row("SELECT value FROM settings WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .map_err(|e| Error::store(WHAT, e))
    }

    fn writer(&self) -> MutexGuard<'_, Connection> {
        // A connection is not left mid-transaction by a panic: an open `Transaction` rolls
        // back when it is dropped during unwinding.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        for r in &self.readers {
            if let Ok(guard) = r.try_lock() {
                return guard;
            }
        }
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// One row comes back for a known and an unknown id alike (the key's, or a stand-in of
    /// the same shape) and is decoded the same way, so that a lookup costs nearly the same
    /// whether the id exists (not exactly: see the module's Timing).
    fn get_sync(&self, id: &KeyId) -> Result<Option<Arc<KeyRecord>>, Error> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached(
                "SELECT k.id IS NULL, coalesce(k.id, 'AAAAAAAA'), coalesce(digest, \
                 zeroblob(32)), coalesce(prefix, 'ak_none'), coalesce(owner, 'no owner'), \
                 coalesce(name, 'no key'), coalesce(scopes, 'read write'), \
                 coalesce(created_ns, 0), expires_ns, revoked_ns, remaining_uses, \
                 quota_requests, quota_period_ns, quota_burst, replaced_by \
                 FROM (SELECT ?1 AS want) LEFT JOIN api_keys k ON k.id = want",
            )
            .map_err(|e| Error::store("reading a key", e))?;
        let (miss, record) = stmt
            .query_row([id.as_str()], |row| {
                Ok((row.get::<_, bool>(0)?, read_row_at(row, 1)?))
            })
            .map_err(|e| Error::store("reading a key", e))?;
        let record = record?;
        Ok((!miss).then(|| Arc::new(record)))
    }

    fn list_sync(&self, owner: &str) -> Result<Vec<KeyRecord>, Error> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached(concat!(
                "SELECT ",
                columns!(),
                " FROM api_keys WHERE owner = ?1 ORDER BY created_ns, id"
            ))
            .map_err(|e| Error::store("listing keys", e))?;
        let rows = stmt
            .query_map([owner], read_row)
            .map_err(|e| Error::store("listing keys", e))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.map_err(|e| Error::store("listing keys", e))??);
        }
        Ok(out)
    }

    fn insert_sync(&self, record: &KeyRecord) -> Result<(), Error> {
        let conn = self.writer();
        insert_row(&conn, record)
    }

    fn update_sync(
        &self,
        id: &KeyId,
        what: &'static str,
        sql: &str,
        value: Option<i64>,
    ) -> Result<(), Error> {
        let conn = self.writer();
        let changed = conn
            .execute(sql, params![id.as_str(), value])
            .map_err(|e| Error::store(what, e))?;
        if changed == 0 {
            return Err(Error::NotFound(*id));
        }
        Ok(())
    }

    fn consume_use_sync(&self, id: &KeyId) -> Result<bool, Error> {
        const WHAT: &str = "taking a use";
        let mut conn = self.writer();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| Error::store(WHAT, e))?;
        let remaining: Option<Option<i64>> = tx
            .query_row(
                "SELECT remaining_uses FROM api_keys WHERE id = ?1",
                [id.as_str()],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| Error::store(WHAT, e))?;
        let taken = match remaining {
            None => return Err(Error::NotFound(*id)),
            Some(None) => true,
            Some(Some(n)) if n <= 0 => false,
            Some(Some(_)) => {
                tx.execute(
                    "UPDATE api_keys SET remaining_uses = remaining_uses - 1 WHERE id = ?1",
                    [id.as_str()],
                )
                .map_err(|e| Error::store(WHAT, e))?;
                true
            }
        };
        tx.commit().map_err(|e| Error::store(WHAT, e))?;
        Ok(taken)
    }

    fn rotate_sync(
        &self,
        old: &KeyId,
        old_expires: UnixTime,
        successor: &KeyRecord,
    ) -> Result<(), Error> {
        const WHAT: &str = "rotating a key";
        let mut conn = self.writer();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| Error::store(WHAT, e))?;
        // The state is read inside the (immediate) transaction: no other writer can change
        // it between this check and the update below.
        type State = (Option<String>, Option<i64>, Option<i64>);
        let state: Option<State> = tx
            .query_row(
                "SELECT replaced_by, revoked_ns, expires_ns FROM api_keys WHERE id = ?1",
                [old.as_str()],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()
            .map_err(|e| Error::store(WHAT, e))?;
        let Some((replaced_by, revoked, expires)) = state else {
            return Err(Error::NotFound(*old));
        };
        if let Some(next) = replaced_by {
            return Err(Error::AlreadyRotated {
                id: *old,
                successor: next.parse()?,
            });
        }
        let now = to_nanos(successor.created)?;
        if revoked.is_some() || expires.is_some_and(|at| at <= now) {
            return Err(Error::Inactive(*old));
        }
        let until = to_nanos(old_expires)?;
        tx.execute(
            "UPDATE api_keys SET expires_ns = min(coalesce(expires_ns, ?2), ?2), replaced_by = ?3 \
             WHERE id = ?1",
            params![old.as_str(), until, successor.id.as_str()],
        )
        .map_err(|e| Error::store(WHAT, e))?;
        // If this fails (the id is taken, the disk is full), dropping `tx` rolls back the
        // update above as well.
        insert_row(&tx, successor)?;
        tx.commit().map_err(|e| Error::store(WHAT, e))
    }
}

fn configure(conn: &Connection) -> Result<(), Error> {
    let fail = |e| Error::store("configuring database", e);
    conn.busy_timeout(Duration::from_secs(5)).map_err(fail)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(fail)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Store {
            what: format!("database refused WAL mode (journal_mode is {mode})").into(),
            source: None,
        });
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(fail)?;
    Ok(())
}

fn insert_row(conn: &Connection, r: &KeyRecord) -> Result<(), Error> {
    const WHAT: &str = "inserting a key";
    let c = Columns::from_record(r)?;
    let changed = conn
        .prepare_cached(concat!(
            "INSERT INTO api_keys (",
            columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
             ON CONFLICT (id) DO NOTHING"
        ))
        .and_then(|mut stmt| {
            stmt.execute(params![
                c.id,
                c.digest,
                c.prefix,
                c.owner,
                c.name,
                c.scopes,
                c.created,
                c.expires,
                c.revoked,
                c.remaining_uses,
                c.quota_requests,
                c.quota_period,
                c.quota_burst,
                c.replaced_by,
            ])
        })
        .map_err(|e| Error::store(WHAT, e))?;
    if changed == 0 {
        return Err(Error::Duplicate(r.id));
    }
    Ok(())
}

/// Reads one row; the outer `Result` is SQLite's, the inner one says whether the row makes
/// a valid record.
fn read_row(row: &Row<'_>) -> rusqlite::Result<Result<KeyRecord, Error>> {
    read_row_at(row, 0)
}

/// [`read_row`] of the columns from `at` on.
fn read_row_at(row: &Row<'_>, at: usize) -> rusqlite::Result<Result<KeyRecord, Error>> {
    let columns = Columns {
        id: row.get(at)?,
        digest: row.get(at + 1)?,
        prefix: row.get(at + 2)?,
        owner: row.get(at + 3)?,
        name: row.get(at + 4)?,
        scopes: row.get(at + 5)?,
        created: row.get(at + 6)?,
        expires: row.get(at + 7)?,
        revoked: row.get(at + 8)?,
        remaining_uses: row.get(at + 9)?,
        quota_requests: row.get(at + 10)?,
        quota_period: row.get(at + 11)?,
        quota_burst: row.get(at + 12)?,
        replaced_by: row.get(at + 13)?,
    };
    Ok(columns.into_record())
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("readers", &self.readers.len())
            .finish_non_exhaustive()
    }
}

impl KeyStore for SqliteStore {
    async fn insert(&self, record: KeyRecord) -> Result<(), Error> {
        self.insert_sync(&record)
    }

    async fn get(&self, id: &KeyId) -> Result<Option<Arc<KeyRecord>>, Error> {
        self.get_sync(id)
    }

    async fn list_by_owner(&self, owner: &str) -> Result<Vec<KeyRecord>, Error> {
        self.list_sync(owner)
    }

    async fn revoke(&self, id: &KeyId, at: UnixTime) -> Result<(), Error> {
        let sql = "UPDATE api_keys SET revoked_ns = coalesce(revoked_ns, ?2) WHERE id = ?1";
        self.update_sync(id, "revoking a key", sql, Some(to_nanos(at)?))
    }

    async fn set_expires(&self, id: &KeyId, expires: Option<UnixTime>) -> Result<(), Error> {
        let sql = "UPDATE api_keys SET expires_ns = ?2 WHERE id = ?1";
        let value = expires.map(to_nanos).transpose()?;
        self.update_sync(id, "setting an expiry", sql, value)
    }

    async fn consume_use(&self, id: &KeyId) -> Result<bool, Error> {
        self.consume_use_sync(id)
    }

    async fn rotate(
        &self,
        old: &KeyId,
        old_expires: UnixTime,
        successor: KeyRecord,
    ) -> Result<(), Error> {
        self.rotate_sync(old, old_expires, &successor)
    }

    async fn claim_setting(&self, name: &str, value: &str) -> Result<String, Error> {
        self.claim_setting_sync(name, value)
    }
}
