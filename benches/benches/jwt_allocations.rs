//! Heap allocations per verification for every row of the `jwt` bench, counted by a counting
//! global allocator (`stats_alloc`) over the very same calls (`jwt_cases`). Printed, not
//! timed: the counter's atomics would slow the allocating rows of a timed run.
//!
//! aws-lc's own allocations in C (none for HMAC; RSA and EC verification use its stack and
//! pre-parsed keys) are outside any Rust allocator and not counted.

use std::alloc::System;
use std::hint::black_box;

use auth_jwt::Scratch;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

mod jwt_cases;

use jwt_cases::{block, cases, issuers_setup, kid_lookup_setup, rows};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const N: usize = 1000;

/// Allocations (and reallocations) per call of `f`, after one warm-up call.
#[inline(never)] // a symbol for callgrind to toggle on
fn per_call(f: &mut dyn FnMut() -> bool) -> f64 {
    assert!(f(), "the row must accept its token");
    let region = Region::new(GLOBAL);
    for _ in 0..N {
        black_box(f());
    }
    let change = region.change();
    (change.allocations + change.reallocations) as f64 / N as f64
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter on the row's name. Rows
    // outside it are not run, so that `valgrind --tool=callgrind
    // --toggle-collect='jwt_allocations::per_call'` on one row counts that row's
    // instructions (over N + 1 calls).
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let show = |group: &str, id: &str, f: &mut dyn FnMut() -> bool| {
        let name = format!("{group}/{id}");
        if filter.as_ref().is_none_or(|f| name.contains(f.as_str())) {
            let n = per_call(f);
            eprintln!("allocations per verification: {name}: {n}");
        }
    };
    for case in cases() {
        let group = format!("jwt verify {}", case.name);
        for (id, mut row) in rows(&case) {
            show(&group, id, &mut row);
        }
    }
    let group = "jwt kid lookup (HS256, 100 keys)";
    let (many, one, token) = kid_lookup_setup();
    show(group, "last of 100 keys", &mut || {
        block(many.verify_principal(&token)).is_ok()
    });
    show(group, "the only key", &mut || {
        block(one.verify_principal(&token)).is_ok()
    });
    let group = "jwt issuers (HS256)";
    let (alone, set, token) = issuers_setup();
    let mut scratch = Scratch::new();
    show(group, "one issuer's verifier", &mut || {
        block(alone.verify_principal(&token)).is_ok()
    });
    show(group, "a set of two issuers", &mut || {
        block(set.verify_principal(&token)).is_ok()
    });
    show(group, "one issuer's verifier, borrowed claims", &mut || {
        block(alone.verify_in(&token, &mut scratch)).is_ok()
    });
    show(group, "a set of two issuers, borrowed claims", &mut || {
        block(set.verify_in(&token, &mut scratch)).is_ok()
    });
}
