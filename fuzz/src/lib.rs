//! The fuzz targets' properties, as plain functions of the input bytes.
//!
//! Each `fuzz_targets/<name>.rs` is a thin libFuzzer wrapper around one function of
//! [`TARGETS`]; the same functions replay every file of `corpus/<name>/` as ordinary tests on
//! stable (`replay.rs`, run by `cargo xtask ci`). A property that breaks panics, which
//! libFuzzer reports as a crash and the replay test as a failure.

pub mod apikey;
pub mod discovery;
pub mod dpop;
pub mod forwarded;
pub mod headers;
pub mod introspection;
pub mod jwk;
pub mod jws;
pub mod oauth2;
pub mod ratelimit;
#[cfg(test)]
mod replay;
pub mod serve_config;
pub mod strict_json;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// A target's property: panics when it breaks.
pub type Property = fn(&[u8]);

/// Every target: its name (the file under `fuzz_targets/` and the corpus directory) and its
/// property.
pub const TARGETS: &[(&str, Property)] = &[
    ("jws_verify", jws::check),
    ("jwk", jwk::check),
    ("authorization_header", headers::check_authorization),
    ("www_authenticate", headers::check_www_authenticate),
    ("api_key", apikey::check),
    ("token_response", oauth2::check),
    ("ratelimit_fields", ratelimit::check),
    ("forwarded_walk", forwarded::check),
    ("dpop_proof", dpop::check),
    ("strict_json", strict_json::check),
    ("introspection", introspection::check),
    ("discovery", discovery::check),
    ("serve_config", serve_config::check),
];

/// Runs the property of target `name` on `data`; for the stable replay programs.
///
/// # Panics
///
/// When `name` is not a target, or the property breaks.
pub fn run(name: &str, data: &[u8]) {
    let (_, check) = TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fuzz target {name}"));
    check(data);
}

/// Replays the files named on the command line through target `name` (what each target's
/// `main` does when built without libFuzzer).
pub fn replay_args(name: &str) {
    for path in std::env::args_os().skip(1) {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        run(name, &data);
        eprintln!("{}: ok", path.to_string_lossy());
    }
}

/// Polls `future` to completion on this thread. The futures fuzzed here (fixed key sets, an
/// in-memory replay cache, a closure HTTP client) never wait; one that does is a bug in the
/// harness, not a hang to sit through.
///
/// # Panics
///
/// When the future is not ready at once.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..64 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("a future that should be ready at once kept waiting");
}

/// Applies byte edits to `original`: `edits` is read in groups of four bytes
/// (operation, position high, position low, byte): replace, insert or delete at position
/// modulo the current length. The mutation half of the "changed in any byte" properties.
pub fn apply_edits(original: &[u8], edits: &[u8]) -> Vec<u8> {
    let mut out = original.to_vec();
    for e in edits.chunks_exact(4) {
        let pos = usize::from(u16::from_be_bytes([e[1], e[2]]));
        match e[0] % 3 {
            0 if !out.is_empty() => {
                let i = pos % out.len();
                out[i] = e[3];
            }
            1 => {
                let i = pos % (out.len() + 1);
                out.insert(i, e[3]);
            }
            2 if !out.is_empty() => {
                let i = pos % out.len();
                out.remove(i);
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_replace_insert_and_delete() {
        assert_eq!(apply_edits(b"abc", &[0, 0, 1, b'X']), b"aXc");
        assert_eq!(apply_edits(b"abc", &[1, 0, 3, b'X']), b"abcX");
        assert_eq!(apply_edits(b"abc", &[2, 0, 0, 0]), b"bc");
        assert_eq!(
            apply_edits(b"abc", &[0, 0, 1]),
            b"abc",
            "a partial group is ignored"
        );
    }
}
