//! `Serialize` and `Deserialize` for [`KeyRecord`] (feature `serde`): the record as its
//! [`Columns`], the same mapping the SQL stores use, with the digest in hex. A record holds
//! the key's digest, never the key or its secret, so neither can be serialized; reading back
//! checks every field as a store does ([`Columns::into_record`]).

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::KeyRecord;
use crate::columns::Columns;

impl Serialize for KeyRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Columns::from_record(self)
            .map_err(S::Error::custom)?
            .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for KeyRecord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Columns::deserialize(deserializer)?
            .into_record()
            .map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;
    use std::time::Duration;

    use auth_core::{Scopes, UnixTime};

    use crate::{KeyHasher, KeyRecord, RateQuota};

    #[test]
    fn a_record_round_trips_with_its_digest_and_never_the_key() {
        let key = "sk_test_tzo2wFIy4NJFebdkxxwh25FbLMULvT1bomjh";
        let secret = &key["sk_test_tzo2wFIy".len()..];
        let digest = KeyHasher::sha256().digest(key.as_bytes());
        let mut record = KeyRecord::new(
            "tzo2wFIy".parse().unwrap(),
            digest,
            ("sk_test", "acme-ci", "deploy"),
            UnixTime::from_duration(Duration::new(1_700_000_000, 5)),
        );
        record.scopes = Scopes::from_space_separated("deploy read");
        record.expires = Some(UnixTime::from_secs(1_800_000_000));
        record.remaining_uses = Some(10);
        record.rate_quota = Some(
            RateQuota::new(NonZeroU32::new(2).unwrap(), Duration::from_secs(60))
                .unwrap()
                .with_burst(NonZeroU32::new(3).unwrap()),
        );
        let json = serde_json::to_string(&record).unwrap();
        assert!(!json.contains(key) && !json.contains(secret), "{json}");
        let hex: String = digest
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(json.contains(&hex), "{json}");

        let back: KeyRecord = serde_json::from_str(&json).unwrap();
        assert!(back.digest.ct_eq(&record.digest));
        assert_eq!(
            crate::columns::Columns::from_record(&back).unwrap(),
            crate::columns::Columns::from_record(&record).unwrap()
        );
        assert_eq!(back.rate_quota, record.rate_quota);
    }

    #[test]
    fn a_damaged_record_does_not_read() {
        let digest = KeyHasher::sha256().digest(b"k");
        let record = KeyRecord::new(
            "tzo2wFIy".parse().unwrap(),
            digest,
            ("sk", "o", "n"),
            UnixTime::from_secs(1),
        );
        let json = serde_json::to_string(&record).unwrap();
        for (from, to) in [
            ("tzo2wFIy", "short"),
            ("\"created\":1000000000", "\"created\":-1"),
        ] {
            let bad = json.replace(from, to);
            assert!(serde_json::from_str::<KeyRecord>(&bad).is_err(), "{bad}");
        }
        let odd = json.replacen("\"digest\":\"", "\"digest\":\"0", 1);
        assert!(serde_json::from_str::<KeyRecord>(&odd).is_err());
    }
}
