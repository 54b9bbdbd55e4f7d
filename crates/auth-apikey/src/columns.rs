//! A [`KeyRecord`] as the flat columns of a SQL row, for store implementations: the SQLite
//! store here and the PostgreSQL store in `auth-apikey-postgres` share this one mapping, so a
//! row means the same thing in both.
//!
//! Times are nanoseconds since the epoch in a signed 64-bit integer (good until the year
//! 2262); a rate quota is three nullable integers (requests, period in nanoseconds, burst).
//! Reading back a value no valid record could have is [`Error::Store`] ("corrupt ... in key
//! database"): a damaged row is a store failure (503), never a refused key (401).

use std::num::NonZeroU32;
use std::time::Duration;

use auth_core::{Scopes, UnixTime};

use crate::{DIGEST_LEN, Error, KeyDigest, KeyRecord, RateQuota};

/// The 14 columns of a key row, in the order stores declare them.
///
/// With the `serde` feature, this is also how a [`KeyRecord`] is serialized: these fields,
/// the digest in lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Columns {
    /// The key id.
    pub id: String,
    /// The digest ([`DIGEST_LEN`] bytes).
    #[cfg_attr(feature = "serde", serde(with = "hex"))]
    pub digest: Vec<u8>,
    /// The key's prefix.
    pub prefix: String,
    /// The owner (the principal's subject).
    pub owner: String,
    /// The name for people.
    pub name: String,
    /// The scopes, space-separated.
    pub scopes: String,
    /// Created, in nanoseconds since the epoch.
    pub created: i64,
    /// Expires, in nanoseconds since the epoch.
    pub expires: Option<i64>,
    /// Revoked, in nanoseconds since the epoch.
    pub revoked: Option<i64>,
    /// Uses left, for keys with a limit.
    pub remaining_uses: Option<i64>,
    /// The rate quota's request count.
    pub quota_requests: Option<i64>,
    /// The rate quota's period in nanoseconds.
    pub quota_period: Option<i64>,
    /// The rate quota's burst.
    pub quota_burst: Option<i64>,
    /// The successor's id, after a rotation.
    pub replaced_by: Option<String>,
}

impl Columns {
    /// The columns of `r`.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] for a time beyond 2262 or a use count beyond `i64::MAX`.
    pub fn from_record(r: &KeyRecord) -> Result<Self, Error> {
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
                .map_err(|_| Error::Misconfigured("remaining uses beyond 2^63"))?,
            quota_requests: quota.map(|q| i64::from(q.requests().get())),
            quota_period: quota.map(|q| duration_nanos(q.period())).transpose()?,
            quota_burst: quota.map(|q| i64::from(q.burst().get())),
            replaced_by: r.replaced_by.as_ref().map(|id| id.as_str().to_owned()),
        })
    }

    /// The record these columns hold.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when a column holds a value no valid record has.
    pub fn into_record(self) -> Result<KeyRecord, Error> {
        let digest =
            <[u8; DIGEST_LEN]>::try_from(self.digest.as_slice()).map_err(|_| corrupt("digest"))?;
        Ok(KeyRecord {
            id: self.id.parse().map_err(|_| corrupt("id"))?,
            digest: KeyDigest::from_bytes(digest),
            prefix: self.prefix,
            owner: self.owner,
            name: self.name,
            scopes: Scopes::from_space_separated(&self.scopes),
            created: from_nanos(self.created)?,
            expires: self.expires.map(from_nanos).transpose()?,
            revoked: self.revoked.map(from_nanos).transpose()?,
            remaining_uses: self
                .remaining_uses
                .map(|n| u64::try_from(n).map_err(|_| corrupt("remaining_uses")))
                .transpose()?,
            rate_quota: read_quota(self.quota_requests, self.quota_period, self.quota_burst)?,
            replaced_by: self
                .replaced_by
                .map(|s| s.parse().map_err(|_| corrupt("replaced_by")))
                .transpose()?,
        })
    }
}

/// `t` as nanoseconds since the epoch.
///
/// # Errors
///
/// [`Error::Misconfigured`] past the year 2262.
pub fn to_nanos(t: UnixTime) -> Result<i64, Error> {
    duration_nanos(t.as_duration())
}

fn duration_nanos(d: Duration) -> Result<i64, Error> {
    i64::try_from(d.as_nanos()).map_err(|_| Error::Misconfigured("time beyond the year 2262"))
}

fn from_nanos(n: i64) -> Result<UnixTime, Error> {
    let n = u64::try_from(n).map_err(|_| corrupt("time"))?;
    Ok(UnixTime::from_duration(Duration::from_nanos(n)))
}

fn read_quota(
    requests: Option<i64>,
    period: Option<i64>,
    burst: Option<i64>,
) -> Result<Option<RateQuota>, Error> {
    let (Some(requests), Some(period), Some(burst)) = (requests, period, burst) else {
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

/// Bytes as lowercase hex, for the digest column.
#[cfg(feature = "serde")]
mod hex {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            s.push(char::from(b"0123456789abcdef"[usize::from(b & 0xf)]));
        }
        serializer.serialize_str(&s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let bytes = s.as_bytes();
        if bytes.len() % 2 != 0 {
            return Err(D::Error::custom("hex digest of odd length"));
        }
        bytes
            .chunks_exact(2)
            .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| D::Error::custom("digest is not lowercase hex"))
    }
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
        assert!(matches!(to_nanos(far), Err(Error::Misconfigured(_))));
    }

    #[test]
    fn a_partial_quota_is_none_and_a_zero_one_is_corrupt() {
        assert!(read_quota(Some(1), None, Some(1)).unwrap().is_none());
        assert!(read_quota(Some(0), Some(1_000), Some(1)).is_err());
        let q = read_quota(Some(100), Some(60_000_000_000), Some(10))
            .unwrap()
            .unwrap();
        assert_eq!(q.requests().get(), 100);
        assert_eq!(q.burst().get(), 10);
    }
}
