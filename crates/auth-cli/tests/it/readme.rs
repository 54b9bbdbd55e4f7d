//! The README's shell snippets as a user pastes them: each command's standard output is what
//! the next one consumes (`KEY=$(auth apikey create ...)`), notes for people on standard error.

use crate::server::Server;
use crate::support::{run, run_with, temp_dir};

#[test]
fn apikey_commands_print_only_the_key_on_stdout() {
    let r = run(&["apikey", "generate", "--prefix", "sk_test"]).expect(0);
    let key = r.stdout.strip_suffix('\n').unwrap();
    assert!(
        key.starts_with("sk_test_") && !key.contains('\n'),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("shown once"), "{}", r.stderr);
    run_with(&["apikey", "check", "-"], Some(key), &[]).expect(0);
}

#[test]
fn the_serve_quickstart_works_as_pasted() {
    let data = temp_dir("readme-serve").join("auth-data");
    // auth serve --data ./auth-data
    let server = Server::start(&data, &[]);
    // KEY=$(auth apikey create --data ./auth-data --subject alice --scope read)
    let r = run(&[
        "apikey",
        "create",
        "--data",
        data.to_str().unwrap(),
        "--subject",
        "alice",
        "--scope",
        "read",
    ])
    .expect(0);
    assert!(r.stderr.contains("shown once"), "{}", r.stderr);
    // `$(...)` drops the trailing newline only.
    let key = r.stdout.strip_suffix('\n').unwrap();
    assert!(!key.contains(char::is_whitespace), "{:?}", r.stdout);
    // TOKEN=$(CLIENT_SECRET=$KEY auth oauth2 token --issuer URL --client-id "${KEY:8:8}" ...)
    let r = run_with(
        &[
            "oauth2",
            "token",
            "--issuer",
            &server.url,
            "--client-id",
            &key[8..16],
            "--client-secret-env",
            "CLIENT_SECRET",
        ],
        None,
        &[("CLIENT_SECRET", key)],
    )
    .expect(0);
    let token = r.stdout.strip_suffix('\n').unwrap();
    assert_eq!(token.split('.').count(), 3, "{token}");
}

/// The documented exception to "one JSON document": a running server prints one JSON
/// document per line, as events happen.
#[test]
fn json_serve_prints_one_document_per_line() {
    use std::io::{BufRead as _, BufReader};
    let data = temp_dir("readme-json-serve").join("data");
    let mut child = std::process::Command::new(crate::support::bin())
        .args(["--json", "serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut line =
        || -> serde_json::Value { serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap() };
    let first = line();
    let second = line();
    let _ = child.kill();
    let _ = child.wait();
    assert!(first["admin_key"].is_object(), "{first}");
    assert!(
        second["listening"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"),
        "{second}"
    );
}

/// The sample key in auth-apikey's README is a real (test-mode) key: it passes the offline
/// check, so a reader trying it sees what a good key does.
#[test]
fn the_sample_api_key_in_the_docs_is_well_formed() {
    let readme = include_str!("../../../auth-apikey/README.md");
    let lib = include_str!("../../../auth-apikey/src/lib.rs");
    for doc in [readme, lib] {
        let key = doc
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .find(|w| w.starts_with("sk_test_") && w.len() > 40)
            .unwrap();
        run_with(&["apikey", "check", "-"], Some(key), &[]).expect(0);
        assert!(!doc.contains("sk_live_Xq3R9"), "the old sample key is back");
    }
}
