//! The key format: GitHub's checksum vectors, and properties of generated keys.

use super::*;
use crate::harness::{check, ensure};

pub(super) fn vector_cases(s: &mut Suite) {
    s.case("checksum vectors: valid tokens", SECTION_GITHUB, || {
        let v = vectors()?;
        let valid = v["valid"].as_array().ok_or("no valid vectors")?;
        ensure(!valid.is_empty(), || "no valid vectors".into())?;
        for t in valid {
            let token = field(t, "token")?;
            let random = field(t, "random30")?;
            let prefix = field(t, "prefix")?.trim_end_matches('_');
            let crc = t["crc32_of_random30"].as_u64().ok_or("no crc")?;
            ensure_eq(token, u64::from(checksum::crc32(random.as_bytes())), crc)?;
            let encoded = checksum::checksum(random.as_bytes());
            ensure_eq(token, encoded.as_slice(), field(t, "checksum6")?.as_bytes())?;
            let id = format(prefix)?
                .parse(token)
                .map_err(|r| format!("{token}: {r}"))?;
            ensure_eq(token, id.as_str(), &random[..8])?;
        }
        Ok(())
    });

    s.case("checksum vectors: invalid tokens", SECTION_GITHUB, || {
        let v = vectors()?;
        let invalid = v["invalid"].as_array().ok_or("no invalid vectors")?;
        ensure(!invalid.is_empty(), || "no invalid vectors".into())?;
        let tst = format("tst")?;
        for t in invalid {
            let token = field(t, "token")?;
            // A wrong checksum on a well-formed token is a checksum failure; everything
            // else (length, characters, separator, prefix case, whitespace) is malformed.
            let want = if t["checksum_valid"] == Value::Bool(false) {
                Refusal::BadChecksum
            } else {
                Refusal::Malformed
            };
            ensure_eq(
                &format!("{token:?} ({})", t["why"]),
                tst.parse(token),
                Err(want),
            )?;
        }
        Ok(())
    });

    s.case(
        "checksum vectors: published reference tokens",
        SECTION_GITHUB,
        || {
            let v = vectors()?;
            let items = v["public_reference_tokens_split"]["items"]
                .as_array()
                .ok_or("no reference tokens")?;
            for t in items {
                let prefix = field(t, "prefix")?;
                let token = format!("{prefix}{}", field(t, "body")?);
                let parsed = format(prefix.trim_end_matches('_'))?.parse(&token);
                let valid = t["valid"].as_bool().ok_or("no valid flag")?;
                ensure_eq(&format!("{prefix}…"), parsed.is_ok(), valid)?;
            }
            let max = v["algorithm"]["max_checksum"].as_str().ok_or("no max")?;
            ensure_eq(
                "max checksum",
                checksum::encode(u32::MAX).as_slice(),
                max.as_bytes(),
            )?;
            ensure_eq(
                "alphabet",
                ALPHABET.as_slice(),
                field(&v["algorithm"], "alphabet")?.as_bytes(),
            )
        },
    );
}

pub(super) fn property_cases(s: &mut Suite) {
    s.case(
        "any single-character change fails the checksum",
        SECTION_GITHUB,
        || {
            // Exhaustive: every position of the body, every other base62 character. CRC-32
            // detects every burst of up to 32 bits, so none may pass.
            let f = format("sk_live")?;
            let head = "sk_live_".len();
            for _ in 0..20 {
                let (_, key) = f.generate().map_err(|e| e.to_string())?;
                let key = key.expose_str().map_err(|e| e.to_string())?.to_owned();
                let mut bytes = key.clone().into_bytes();
                for i in head..bytes.len() {
                    let original = bytes[i];
                    for &c in ALPHABET.iter().filter(|&&c| c != original) {
                        bytes[i] = c;
                        let changed = std::str::from_utf8(&bytes).map_err(|e| e.to_string())?;
                        ensure_eq("changed key", f.parse(changed), Err(Refusal::BadChecksum))?;
                    }
                    bytes[i] = original;
                }
            }
            // Any byte at all, anywhere (prefix included): refused, never accepted.
            let (_, key) = f.generate().map_err(|e| e.to_string())?;
            let key = key.expose_str().map_err(|e| e.to_string())?.to_owned();
            check(2000, (0..key.len(), any::<char>()), |(i, c)| {
                let mut changed = key.clone();
                let old = changed.as_bytes()[i] as char;
                prop_assume!(c != old);
                changed.replace_range(i..=i, c.encode_utf8(&mut [0; 4]));
                prop_assert!(f.parse(&changed).is_err(), "accepted {i} -> {c:?}");
                Ok(())
            })
        },
    );

    s.case(
        "a million generated keys: distinct, well formed, uniform",
        "auth-apikey format: 130-bit secret from the OS CSPRNG",
        || {
            let n: usize = std::env::var("CONFORMANCE_APIKEY_KEYS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1_000_000);
            let f = format("sk_live")?;
            let scan = regex::Regex::new(KEY_PATTERN).map_err(|e| e.to_string())?;
            let exact = regex::Regex::new(&f.pattern()).map_err(|e| e.to_string())?;
            let mut seen: HashSet<[u8; 30]> = HashSet::with_capacity(n);
            let mut counts = [0u64; 256];
            for i in 0..n {
                let (id, key) = f.generate().map_err(|e| e.to_string())?;
                let key = key.expose_str().map_err(|e| e.to_string())?;
                if f.parse(key) != Ok(id) {
                    return Err(format!("key {i} does not parse back to its id"));
                }
                let mut random = [0u8; 30];
                random.copy_from_slice(&key.as_bytes()[8..38]);
                for &c in &random {
                    counts[usize::from(c)] += 1;
                }
                if !seen.insert(random) {
                    return Err(format!("key {i} repeats an earlier key"));
                }
                if i < 1000 {
                    let line = format!("export ACME_KEY={key}; echo ok");
                    ensure(scan.find(&line).map(|m| m.as_str()) == Some(key), || {
                        "KEY_PATTERN misses a generated key".into()
                    })?;
                    ensure(exact.is_match(&line), || {
                        "pattern() misses a generated key".into()
                    })?;
                }
            }
            // Chi-square over the 62 characters (61 degrees of freedom): a modulo bias of
            // 256 % 62 would give thousands; 130 is beyond the one-in-a-million tail.
            let expected = (n * 30) as f64 / 62.0;
            let chi2: f64 = ALPHABET
                .iter()
                .map(|&a| (counts[usize::from(a)] as f64 - expected).powi(2) / expected)
                .sum();
            ensure(n < 10_000 || chi2 < 130.0, || {
                format!("characters not uniform: chi-square {chi2:.1} over 61 dof")
            })
        },
    );

    s.case(
        "leak-scanner patterns reject near misses",
        "auth-apikey format",
        || {
            let f = format("sk_live")?;
            let scan = regex::Regex::new(KEY_PATTERN).map_err(|e| e.to_string())?;
            let exact = regex::Regex::new(&f.pattern()).map_err(|e| e.to_string())?;
            let (_, key) = f.generate().map_err(|e| e.to_string())?;
            let key = key.expose_str().map_err(|e| e.to_string())?;
            for near in [
                format!("{key}A"),
                key[..key.len() - 1].to_owned(),
                key.replacen("sk_live_", "sk_live-", 1),
            ] {
                ensure(!exact.is_match(&near), || {
                    format!("pattern() matches {near}")
                })?;
            }
            ensure(!scan.is_match(&format!("{key}A")), || {
                "KEY_PATTERN matches a 37-character body".into()
            })?;
            let other = format("sk_test")?;
            let (_, test_key) = other.generate().map_err(|e| e.to_string())?;
            let test_key = test_key.expose_str().map_err(|e| e.to_string())?;
            ensure(!exact.is_match(test_key), || {
                "sk_live pattern matches sk_test".into()
            })?;
            ensure(scan.is_match(test_key), || {
                "KEY_PATTERN misses sk_test".into()
            })
        },
    );

    s.case(
        "verification never panics, and refuses anything not issued",
        "auth-rs DESIGN: no panic on any input",
        || {
            let (keys, _) = keys_on(MemoryStore::new())?;
            issue(&keys, NewKey::new("alice", "k"))?;
            check(2000, any::<String>(), |input| {
                let got = block_on(keys.check(&input));
                prop_assert!(matches!(got, Ok(s) if !s.is_valid()));
                Ok(())
            })?;
            check(500, "sk_test_[0-9A-Za-z]{36}", |input| {
                let got = block_on(keys.check(&input)).map(|s| s.refusal());
                prop_assert!(matches!(
                    got,
                    Ok(Some(Refusal::BadChecksum | Refusal::UnknownKey))
                ));
                Ok(())
            })
        },
    );
}
