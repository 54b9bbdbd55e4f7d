//! Memory held per cached JWKS key: a `KeySet` of N keys of one kind, loaded from a JWKS
//! document, as `RemoteJwks` caches it. Printed, not timed (run with `cargo bench -p benches
//! --bench jwt_memory`).
//!
//! Two measures: the Rust heap the set retains (exact, from a counting global allocator,
//! the JSON text and parse temporaries excluded), and the growth of the process's resident
//! set while the keys are loaded one JWK at a time, which also counts what aws-lc allocates
//! in C (the parsed `EVP_PKEY`s) where the counting allocator cannot see.

use std::alloc::System;
use std::hint::black_box;

use auth_jwt::{Algorithm, Key, KeySet, SigningKey};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Keys per set.
const N: usize = 5_000;

/// N copies of one public JWK with distinct `kid`s (each is parsed and held separately).
fn jwks(alg: Algorithm) -> Vec<String> {
    let key = SigningKey::generate(alg).unwrap_or_else(|e| panic!("{e}"));
    let jwk = key.public_jwk().unwrap_or_else(|| panic!("no public JWK"));
    (0..N)
        .map(|i| {
            let mut k = jwk.clone();
            k["kid"] = serde_json::json!(format!("key-{i:05}"));
            k.to_string()
        })
        .collect()
}

/// Resident set size in bytes (Linux), or `None`.
fn rss() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn main() {
    let kinds = [
        ("RSA 2048 (RS256)", Algorithm::RS256),
        ("EC P-256 (ES256)", Algorithm::ES256),
        ("Ed25519 (EdDSA)", Algorithm::EdDSA),
    ];
    let texts: Vec<Vec<String>> = kinds.iter().map(|(_, alg)| jwks(*alg)).collect();
    // Process growth first, before any large temporary has left free memory behind for the
    // keys to reuse; the sets stay alive until the end for the same reason. Each JWK's
    // parse temporaries are small and reused by the next.
    let mut kept = Vec::new();
    let mut resident = Vec::new();
    for t in &texts {
        let before = rss();
        let keys: Vec<Key> = t
            .iter()
            .map(|t| Key::from_jwk(t).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        kept.push(KeySet::new(keys));
        resident.push(match (before, rss()) {
            (Some(b), Some(a)) => format!("{:.0}", a.saturating_sub(b) as f64 / N as f64),
            _ => "n/a".to_owned(),
        });
    }
    let mut rows = Vec::new();
    for (((name, _), t), resident) in kinds.iter().zip(&texts).zip(resident) {
        let doc = format!(r#"{{"keys":[{}]}}"#, t.join(","));
        // Rust heap retained by KeySet::from_jwks, per key: exact, temporaries excluded.
        let region = Region::new(GLOBAL);
        let set = KeySet::from_jwks(&doc).unwrap_or_else(|e| panic!("{e}"));
        let change = region.change();
        assert_eq!(set.len(), N);
        let heap = (change.bytes_allocated as f64 - change.bytes_deallocated as f64) / N as f64;
        kept.push(set);
        rows.push(format!("| {name} | {heap:.0} | {resident} |"));
    }
    drop(black_box(kept));
    eprintln!("bytes per cached JWKS key ({N} keys per set)");
    eprintln!("| key | Rust heap retained | resident-set growth (incl. aws-lc C heap) |");
    eprintln!("|---|---|---|");
    for r in rows {
        eprintln!("{r}");
    }
}
