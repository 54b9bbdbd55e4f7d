//! `Serialize` and `Deserialize` for [`Quota`] (feature `serde`):
//! `{"count": 10, "period_nanos": 1000000000, "burst": 20, "name": "10-per-1s"}`, read back
//! through [`Quota::new`], [`Quota::with_burst`] and [`Quota::named`], so a stored quota
//! that does not hold is an error, never a limiter without a limit.

use std::time::Duration;

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Quota;

#[derive(Serialize, Deserialize)]
#[serde(rename = "Quota", deny_unknown_fields)]
struct Fields<'a> {
    count: u32,
    period_nanos: u64,
    burst: u32,
    #[serde(borrow)]
    name: std::borrow::Cow<'a, str>,
}

impl Serialize for Quota {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let period_nanos = u64::try_from(self.period().as_nanos())
            .map_err(|_| S::Error::custom("period beyond u64 nanoseconds"))?;
        Fields {
            count: self.count(),
            period_nanos,
            burst: self.burst(),
            name: self.name().into(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Quota {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let f = Fields::deserialize(deserializer)?;
        Quota::new(f.count, Duration::from_nanos(f.period_nanos))
            .and_then(|q| q.with_burst(f.burst))
            .and_then(|q| q.named(f.name.into_owned()))
            .map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_round_trip_and_nonsense_does_not_read() {
        let q = Quota::per_second(10).unwrap().with_burst(20).unwrap();
        let json = serde_json::to_string(&q).unwrap();
        assert_eq!(
            json,
            r#"{"count":10,"period_nanos":1000000000,"burst":20,"name":"10-per-1s"}"#
        );
        assert_eq!(serde_json::from_str::<Quota>(&json).unwrap(), q);
        let named = Quota::per_minute(5).unwrap().named("login").unwrap();
        let back: Quota = serde_json::from_str(&serde_json::to_string(&named).unwrap()).unwrap();
        assert_eq!((back.name(), back.interval()), ("login", named.interval()));
        for bad in [
            r#"{"count":0,"period_nanos":1000000000,"burst":1,"name":"x"}"#,
            r#"{"count":1,"period_nanos":0,"burst":1,"name":"x"}"#,
            r#"{"count":1,"period_nanos":1000,"burst":0,"name":"x"}"#,
            r#"{"count":1,"period_nanos":1000,"burst":1,"name":""}"#,
        ] {
            assert!(serde_json::from_str::<Quota>(bad).is_err(), "{bad}");
        }
    }
}
