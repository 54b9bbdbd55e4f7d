//! Rows to [`KeyRecord`]s and back. Times are nanoseconds since the epoch in a `bigint`, as
//! in auth-apikey's SQLite store (good until the year 2262).

use std::num::NonZeroU32;
use std::time::Duration;

use auth_apikey::{DIGEST_LEN, Error, KeyDigest, KeyId, KeyRecord, RateQuota};
use auth_core::{Scopes, UnixTime};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// A record as the 14 parameters of the insert statement, in `schema::COLUMNS` order.
pub(crate) struct Params {
    id: String,
    digest: Vec<u8>,
    prefix: String,
    owner: String,
    name: String,
    scopes: String,
    created: i64,
    expires: Option<i64>,
    revoked: Option<i64>,
    remaining_uses: Option<i64>,
    quota_requests: Option<i64>,
    quota_period: Option<i64>,
    quota_burst: Option<i64>,
    replaced_by: Option<String>,
}

impl Params {
    /// # Errors
    ///
    /// [`Error::InvalidSettings`] for a time beyond 2262 or a use count beyond `i64::MAX`.
    pub(crate) fn new(r: &KeyRecord) -> Result<Self, Error> {
        let quota = r.rate_quota;
        Ok(Self {
            id: r.id.as_str().to_owned(),
            digest: r.digest.as_bytes().to_vec(),
            prefix: r.prefix.clone(),
            owner: r.owner.clone(),
            name: r.name.clone(),
            scopes: r.scopes.to_string(),
            created: to_nanos(r.created)?,
            expires: r.expires.map(to_nanos).transpose()?,
            revoked: r.revoked.map(to_nanos).transpose()?,
            remaining_uses: r
                .remaining_uses
                .map(i64::try_from)
                .transpose()
                .map_err(|_| Error::InvalidSettings("remaining uses beyond 2^63"))?,
            quota_requests: quota.map(|q| i64::from(q.requests().get())),
            quota_period: quota.map(|q| duration_nanos(q.period())).transpose()?,
            quota_burst: quota.map(|q| i64::from(q.burst().get())),
            replaced_by: r.replaced_by.as_ref().map(|id| id.as_str().to_owned()),
        })
    }

    /// The parameters, borrowed for a statement.
    pub(crate) fn as_params(&self) -> [&(dyn ToSql + Sync); 14] {
        [
            &self.id,
            &self.digest,
            &self.prefix,
            &self.owner,
            &self.name,
            &self.scopes,
            &self.created,
            &self.expires,
            &self.revoked,
            &self.remaining_uses,
            &self.quota_requests,
            &self.quota_period,
            &self.quota_burst,
            &self.replaced_by,
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
    let id: &str = row.try_get(0).map_err(col)?;
    let digest: &[u8] = row.try_get(1).map_err(col)?;
    let scopes: &str = row.try_get(5).map_err(col)?;
    let created: i64 = row.try_get(6).map_err(col)?;
    let expires: Option<i64> = row.try_get(7).map_err(col)?;
    let revoked: Option<i64> = row.try_get(8).map_err(col)?;
    let remaining: Option<i64> = row.try_get(9).map_err(col)?;
    let quota = (
        row.try_get(10).map_err(col)?,
        row.try_get(11).map_err(col)?,
        row.try_get(12).map_err(col)?,
    );
    let replaced_by: Option<&str> = row.try_get(13).map_err(col)?;
    let digest = <[u8; DIGEST_LEN]>::try_from(digest).map_err(|_| corrupt("digest"))?;
    Ok(KeyRecord {
        id: id.parse().map_err(|_| corrupt("id"))?,
        digest: KeyDigest::from_bytes(digest),
        prefix: row.try_get(2).map_err(col)?,
        owner: row.try_get(3).map_err(col)?,
        name: row.try_get(4).map_err(col)?,
        scopes: Scopes::from_space_separated(scopes),
        created: from_nanos(created)?,
        expires: expires.map(from_nanos).transpose()?,
        revoked: revoked.map(from_nanos).transpose()?,
        remaining_uses: remaining
            .map(|n| u64::try_from(n).map_err(|_| corrupt("remaining_uses")))
            .transpose()?,
        rate_quota: read_quota(quota)?,
        replaced_by: replaced_by
            .map(|s| s.parse::<KeyId>().map_err(|_| corrupt("replaced_by")))
            .transpose()?,
    })
}

fn read_quota(q: (Option<i64>, Option<i64>, Option<i64>)) -> Result<Option<RateQuota>, Error> {
    let (Some(requests), Some(period), Some(burst)) = q else {
        return Ok(None);
    };
    let count = |n: i64| {
        u32::try_from(n)
            .ok()
            .and_then(NonZeroU32::new)
            .ok_or_else(|| corrupt("rate quota"))
    };
    let period = u64::try_from(period).map_err(|_| corrupt("rate quota"))?;
    let quota = RateQuota::new(count(requests)?, Duration::from_nanos(period))
        .map_err(|_| corrupt("rate quota"))?;
    Ok(Some(quota.with_burst(count(burst)?)))
}

fn corrupt(column: &'static str) -> Error {
    Error::Store {
        what: format!("corrupt {column} in key database").into(),
        source: None,
    }
}

/// Nanoseconds since the epoch as a `bigint`.
pub(crate) fn to_nanos(t: UnixTime) -> Result<i64, Error> {
    duration_nanos(t.as_duration())
}

fn duration_nanos(d: Duration) -> Result<i64, Error> {
    i64::try_from(d.as_nanos()).map_err(|_| Error::InvalidSettings("time beyond the year 2262"))
}

fn from_nanos(n: i64) -> Result<UnixTime, Error> {
    let n = u64::try_from(n).map_err(|_| corrupt("time"))?;
    Ok(UnixTime::from_duration(Duration::from_nanos(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_to_the_nanosecond() {
        let t = UnixTime::from_duration(Duration::new(1_700_000_000, 123_456_789));
        assert_eq!(from_nanos(to_nanos(t).unwrap()).unwrap(), t);
        assert!(from_nanos(-1).is_err());
        let far = UnixTime::from_duration(Duration::from_secs(u64::MAX / 2));
        assert!(matches!(to_nanos(far), Err(Error::InvalidSettings(_))));
    }

    #[test]
    fn a_partial_quota_is_none_and_a_zero_one_is_corrupt() {
        assert!(read_quota((Some(1), None, Some(1))).unwrap().is_none());
        assert!(read_quota((Some(0), Some(1_000), Some(1))).is_err());
        let q = read_quota((Some(100), Some(60_000_000_000), Some(10)))
            .unwrap()
            .unwrap();
        assert_eq!(q.period(), Duration::from_secs(60));
    }
}
