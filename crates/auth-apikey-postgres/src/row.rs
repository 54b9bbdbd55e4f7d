//! Rows to [`KeyRecord`]s and back, through auth-apikey's shared column mapping
//! ([`Columns`]), so a row means the same here as in the SQLite store.

use auth_apikey::columns::Columns;
pub(crate) use auth_apikey::columns::to_nanos;
use auth_apikey::{Error, KeyRecord};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// A record as the 14 parameters of the insert statement, in `schema::COLUMNS` order.
pub(crate) struct Params(Columns);

impl Params {
    /// # Errors
    ///
    /// [`Error::Misconfigured`] for a time beyond 2262 or a use count beyond `i64::MAX`.
    pub(crate) fn new(r: &KeyRecord) -> Result<Self, Error> {
        Columns::from_record(r).map(Self)
    }

    /// The parameters, borrowed for a statement.
    pub(crate) fn as_params(&self) -> [&(dyn ToSql + Sync); 14] {
        let c = &self.0;
        [
            &c.id,
            &c.digest,
            &c.prefix,
            &c.owner,
            &c.name,
            &c.scopes,
            &c.created,
            &c.expires,
            &c.revoked,
            &c.remaining_uses,
            &c.quota_requests,
            &c.quota_period,
            &c.quota_burst,
            &c.replaced_by,
        ]
    }
}

/// Reads a row selected with `schema::COLUMNS`.
///
/// # Errors
///
/// [`Error::Store`] when a column is missing, of the wrong type, or holds a value no valid
/// record has (a corrupt row is a store failure, never a refused key).
pub(crate) fn read(row: &Row) -> Result<KeyRecord, Error> {
    let col = |e| Error::store("reading a key row", e);
    Columns {
        id: row.try_get(0).map_err(col)?,
        digest: row.try_get(1).map_err(col)?,
        prefix: row.try_get(2).map_err(col)?,
        owner: row.try_get(3).map_err(col)?,
        name: row.try_get(4).map_err(col)?,
        scopes: row.try_get(5).map_err(col)?,
        created: row.try_get(6).map_err(col)?,
        expires: row.try_get(7).map_err(col)?,
        revoked: row.try_get(8).map_err(col)?,
        remaining_uses: row.try_get(9).map_err(col)?,
        quota_requests: row.try_get(10).map_err(col)?,
        quota_period: row.try_get(11).map_err(col)?,
        quota_burst: row.try_get(12).map_err(col)?,
        replaced_by: row.try_get(13).map_err(col)?,
    }
    .into_record()
}
