//! Every file of `corpus/<target>/` through its target's property, on stable: what keeps the
//! corpora (seeds, and what fuzzing found) checked by `cargo xtask ci` without nightly.

use std::path::Path;

fn replay(name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(name);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    files.sort();
    assert!(!files.is_empty(), "{}: no seeds", dir.display());
    for path in files {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if std::panic::catch_unwind(|| crate::run(name, &data)).is_err() {
            panic!("{name}: the property fails on {}", path.display());
        }
    }
}

#[test]
fn every_target_has_a_corpus_and_a_wrapper() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, _) in crate::TARGETS {
        let wrapper = root.join("fuzz_targets").join(format!("{name}.rs"));
        assert!(wrapper.is_file(), "{} missing", wrapper.display());
        assert!(
            root.join("corpus").join(name).is_dir(),
            "no corpus for {name}"
        );
    }
}

#[test]
fn jws_verify() {
    replay("jws_verify");
}

#[test]
fn jwk() {
    replay("jwk");
}

#[test]
fn authorization_header() {
    replay("authorization_header");
}

#[test]
fn www_authenticate() {
    replay("www_authenticate");
}

#[test]
fn api_key() {
    replay("api_key");
}

#[test]
fn token_response() {
    replay("token_response");
}

#[test]
fn ratelimit_fields() {
    replay("ratelimit_fields");
}

#[test]
fn forwarded_walk() {
    replay("forwarded_walk");
}

#[test]
fn dpop_proof() {
    replay("dpop_proof");
}

#[test]
fn strict_json() {
    replay("strict_json");
}

#[test]
fn introspection() {
    replay("introspection");
}

#[test]
fn discovery() {
    replay("discovery");
}

#[test]
fn serve_config() {
    replay("serve_config");
}
