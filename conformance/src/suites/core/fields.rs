//! Challenge and credential grammar, the transport policy, outgoing credentials and secrets
//! from the environment.

use std::ffi::OsString;

use auth_core::challenge::parse_one;
use auth_core::http_client::HttpErrorKind;
use auth_core::{Challenge, Secret, StaticCredential, Transport};

use crate::harness::{Suite, ensure, ensure_eq};

pub(super) fn add(s: &mut Suite) {
    s.case("several challenges in one field", "RFC 9110 §11.6.1", || {
        let value = r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple", Bearer"#;
        let parsed = Challenge::parse_all(value).map_err(|e| e.to_string())?;
        let schemes: Vec<_> = parsed.iter().map(Challenge::scheme).collect();
        ensure_eq("schemes", schemes, vec!["Newauth", "Basic", "Bearer"])?;
        ensure_eq("title", parsed[0].param("title"), Some(r#"Login to "apps""#))?;
        ensure_eq("type", parsed[0].param("TYPE"), Some("1"))
    });

    s.case(
        "Authorization credentials grammar",
        "RFC 9110 §11.6.2",
        || {
            let c = parse_one(r#"Digest username="Mufasa", realm="http-auth@example.org""#)
                .map_err(|e| e.to_string())?;
            ensure_eq("username", c.param("username"), Some("Mufasa"))?;
            let c = parse_one("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==").map_err(|e| e.to_string())?;
            ensure_eq("token68", c.token68(), Some("QWxhZGRpbjpvcGVuIHNlc2FtZQ=="))?;
            ensure(parse_one("Basic a b").is_err(), || {
                "two token68s accepted".into()
            })
        },
    );

    s.case(
        "HTTPS required except loopback",
        "DESIGN: secure by default; RFC 6749 §3.1",
        || {
            for (uri, ok) in [
                ("https://idp.example/token", true),
                ("http://idp.example/token", false),
                ("http://127.0.0.1:9/token", true),
                ("http://[::1]/token", true),
                ("http://localhost./token", false),
                ("http://localhost.attacker.example/token", false),
            ] {
                let uri: http::Uri = uri.parse().map_err(|e| format!("{uri}: {e}"))?;
                let got = Transport::default().check(&uri);
                ensure(got.is_ok() == ok, || format!("{uri}: {got:?}"))?;
                if let Err(e) = got {
                    ensure_eq("kind", e.kind(), HttpErrorKind::InsecureUrl)?;
                }
            }
            Ok(())
        },
    );

    s.case(
        "outgoing credential: header sensitive, never over plain http",
        "RFC 9113 §8.2.3, RFC 6750 §5.3",
        || {
            let c = StaticCredential::bearer(&Secret::new("tok-123")).map_err(|e| e.to_string())?;
            let mut req = http::Request::get("https://api.example.com/data")
                .body(())
                .map_err(|e| e.to_string())?;
            c.apply(&mut req).map_err(|e| e.to_string())?;
            let v = req.headers().get("authorization").ok_or("no header")?;
            ensure_eq("value", v.to_str().ok(), Some("Bearer tok-123"))?;
            ensure(v.is_sensitive(), || "not marked sensitive".into())?;
            // Never in clear text to another host (the tutorial's "always use HTTPS").
            let mut plain = http::Request::get("http://api.example.com/data")
                .body(())
                .map_err(|e| e.to_string())?;
            ensure(c.apply(&mut plain).is_err(), || {
                "attached over plain http".into()
            })?;
            ensure(!plain.headers().contains_key("authorization"), || {
                "header set on a refused request".into()
            })
        },
    );

    s.case(
        "secret from NAME or NAME_FILE; errors name the variable",
        "DESIGN: secrets",
        || {
            let env = |k: &str| (k == "PEPPER").then(|| OsString::from("correct horse battery"));
            let s = Secret::from_lookup("PEPPER", env).map_err(|e| e.to_string())?;
            ensure(s.ct_eq(b"correct horse battery"), || "value differs".into())?;
            let both = |k: &str| match k {
                "PEPPER" => Some(OsString::from("correct horse battery")),
                "PEPPER_FILE" => Some(OsString::from("/run/secrets/pepper")),
                _ => None,
            };
            let e = Secret::from_lookup("PEPPER", both)
                .err()
                .ok_or("ambiguous accepted")?;
            let text = format!("{e} {e:?}");
            ensure(text.contains("PEPPER"), || {
                format!("variable not named: {text}")
            })?;
            ensure(!text.contains("horse"), || format!("value leaked: {text}"))
        },
    );
}
