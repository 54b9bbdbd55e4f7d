//! `Serialize` and `Deserialize` for [`Claims`] (feature `serde`): the registered claims as a
//! JWT writes them (RFC 7519 §4.1): `iss`, `sub`, `aud` (a string for one audience, an array
//! for several), `jti`, `exp`, `nbf` and `iat` as NumericDates (whole seconds as integers),
//! and `cnf` with `jkt` and `x5t#S256`; absent claims are left out. Reading takes the same
//! shapes and ignores other members, as the verifier does.

use std::borrow::Cow;
use std::time::Duration;

use auth_core::{Confirmation, UnixTime};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::claims::{Claims, RawClaims};
use crate::json::OneOrMany;

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum NumericDate {
    Whole(u64),
    Fraction(f64),
}

impl NumericDate {
    fn from_time(t: UnixTime) -> Self {
        let d = t.as_duration();
        if d.subsec_nanos() == 0 {
            Self::Whole(d.as_secs())
        } else {
            Self::Fraction(d.as_secs_f64())
        }
    }

    fn into_time<E: serde::de::Error>(self) -> Result<UnixTime, E> {
        match self {
            Self::Whole(secs) => Ok(UnixTime::from_secs(secs)),
            Self::Fraction(v) if v < 0.0 || v.is_nan() => Err(E::custom("a negative date")),
            // Beyond Duration's range is "forever", as in the verifier.
            Self::Fraction(v) => Ok(UnixTime::from_duration(
                Duration::try_from_secs_f64(v).unwrap_or(Duration::MAX),
            )),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Cnf {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    jkt: Option<String>,
    #[serde(rename = "x5t#S256", skip_serializing_if = "Option::is_none", default)]
    x5t_s256: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename = "Claims")]
struct Wire {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    aud: Option<Audience>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    exp: Option<NumericDate>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    nbf: Option<NumericDate>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    iat: Option<NumericDate>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    cnf: Option<Cnf>,
}

impl Serialize for Claims {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut auds: Vec<String> = self.audiences().map(str::to_owned).collect();
        let aud = match auds.len() {
            0 => None,
            1 => auds.pop().map(Audience::One),
            _ => Some(Audience::Many(auds)),
        };
        Wire {
            iss: self.issuer().map(str::to_owned),
            sub: self.subject().map(str::to_owned),
            aud,
            jti: self.token_id().map(str::to_owned),
            exp: self.expires_at().map(NumericDate::from_time),
            nbf: self.not_before().map(NumericDate::from_time),
            iat: self.issued_at().map(NumericDate::from_time),
            cnf: self.confirmation().map(|c| Cnf {
                jkt: c.jkt().map(str::to_owned),
                x5t_s256: c.x5t_s256().map(str::to_owned),
            }),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(deserializer)?;
        let date = |d: Option<NumericDate>| d.map(NumericDate::into_time::<D::Error>).transpose();
        let raw = RawClaims {
            iss: w.iss.map(Cow::Owned),
            sub: w.sub.map(Cow::Owned),
            aud: w.aud.map(|a| match a {
                Audience::One(s) => OneOrMany::One(Cow::Owned(s)),
                Audience::Many(v) => OneOrMany::Many(v.into_iter().map(Cow::Owned).collect()),
            }),
            jti: w.jti.map(Cow::Owned),
            exp: date(w.exp)?,
            nbf: date(w.nbf)?,
            iat: date(w.iat)?,
            scope: None,
            scp: None,
            cnf: w.cnf.map(|c| {
                let mut cnf = Confirmation::new();
                if let Some(jkt) = c.jkt {
                    cnf = cnf.with_jkt(jkt);
                }
                if let Some(x5t) = c.x5t_s256 {
                    cnf = cnf.with_x5t_s256(x5t);
                }
                cnf
            }),
        };
        Ok(raw.to_owned_claims())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: &str) -> Claims {
        crate::claims::parse(json.as_bytes())
            .unwrap()
            .to_owned_claims()
    }

    #[test]
    fn claims_round_trip_as_the_jwt_wrote_them() {
        for json in [
            r#"{"iss":"https://idp.example.com","sub":"alice","aud":"api","jti":"j1","exp":1700000600,"nbf":1700000000,"iat":1700000000}"#,
            r#"{"sub":"bob","aud":["a","b","c"],"exp":1700000600.5,"cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}"#,
            r#"{"exp":1,"cnf":{"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}}"#,
            r#"{}"#,
        ] {
            let c = claims(json);
            assert_eq!(serde_json::to_string(&c).unwrap(), json);
            let back: Claims = serde_json::from_str(json).unwrap();
            assert_eq!(back, c, "{json}");
        }
    }

    #[test]
    fn other_members_are_ignored_and_bad_dates_refused() {
        let c: Claims = serde_json::from_str(r#"{"sub":"x","tenant":7,"exp":5}"#).unwrap();
        assert_eq!(
            (c.subject(), c.expires_at()),
            (Some("x"), Some(UnixTime::from_secs(5)))
        );
        assert!(serde_json::from_str::<Claims>(r#"{"exp":-1}"#).is_err());
        assert!(serde_json::from_str::<Claims>(r#"{"exp":"soon"}"#).is_err());
    }
}
