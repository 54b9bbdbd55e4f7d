//! What the commands read: standard input and files are capped before they are read whole,
//! and input that is not one token is refused as such.

use std::io::Write as _;

use crate::support::{run, run_bytes, run_with, spawn, temp_dir, write};

/// auth-jwt's token limit, which standard input is held to.
const TOKEN_LIMIT: usize = 8 * 1024;

/// Offers `auth ARGS` up to `offered` bytes on standard input and returns the exit code,
/// standard output and how many bytes the command accepted before it closed its end.
fn offer(args: &[&str], offered: usize) -> (i32, String, usize) {
    let mut child = spawn(args, &[]);
    let mut input = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = [b'a'; 64 * 1024];
        let mut written = 0;
        while written < offered && input.write_all(&chunk).is_ok() {
            written += chunk.len();
        }
        written
    });
    let out = child.wait_with_output().unwrap();
    let written = writer.join().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        written,
    )
}

#[test]
fn an_endless_token_on_stdin_is_refused_after_the_limit() {
    for args in [
        &["--json", "jwt", "decode", "-"][..],
        &["--json", "apikey", "check", "-"][..],
    ] {
        let (code, stdout, written) = offer(args, 256 * 1024 * 1024);
        assert_eq!(code, 1, "{args:?}: {stdout}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v["reason"], "too_large", "{v}");
        // The cap plus what the pipe buffers, not the 256 MiB offered.
        assert!(written < 4 * 1024 * 1024, "{args:?} read {written} bytes");
    }
}

#[test]
fn stdin_tokens_up_to_the_limit_are_read() {
    let dir = temp_dir("stdin-limit");
    let jwk = run(&["jwk", "generate", "--alg", "HS256"]).expect(0).stdout;
    let key = write(&dir, "k.jwk", &jwk);
    // Claims padded so that the token is exactly at the limit.
    let sign = |pad: usize| {
        let claims = serde_json::json!({"pad": "x".repeat(pad)}).to_string();
        run(&[
            "jwt", "sign", "--key", &key, "--alg", "HS256", "--claims", &claims,
        ])
        .expect(0)
        .stdout
        .trim()
        .to_owned()
    };
    let probe = sign(0).len();
    let mut pad = (TOKEN_LIMIT - probe) * 3 / 4;
    let mut token = sign(pad);
    while token.len() < TOKEN_LIMIT {
        pad += 1;
        token = sign(pad);
    }
    while token.len() > TOKEN_LIMIT {
        pad -= 1;
        token = sign(pad);
    }
    assert!(token.len() + 2 >= TOKEN_LIMIT, "{}", token.len());
    // With the line ending a shell adds.
    let at_limit = format!("{token}\r\n");
    run_with(&["jwt", "decode", "-"], Some(&at_limit), &[]).expect(0);
    let over = format!("{token}aaaa\n");
    let r = run_with(&["--json", "jwt", "decode", "-"], Some(&over), &[]).expect(1);
    assert_eq!(r.json()["reason"], "too_large");
}

#[test]
fn oversize_files_are_refused_by_name() {
    let dir = temp_dir("big-file");
    let big = write(&dir, "big.jwks", &" ".repeat(2 * 1024 * 1024));
    for args in [
        vec!["jwk", "thumbprint", big.as_str()],
        vec!["jwk", "public", big.as_str()],
        vec![
            "jwt", "sign", "--key", &big, "--alg", "ES256", "--claims", "{}",
        ],
        vec![
            "jwt", "verify", "t.t.t", "--jwks", &big, "--alg", "ES256", "--iss", "i", "--aud", "a",
        ],
    ] {
        let r = run(&args).expect(2);
        assert!(
            r.stderr.contains(&big) && r.stderr.contains("1 MiB"),
            "{args:?}: {}",
            r.stderr
        );
    }
}

#[test]
fn stdin_that_is_not_one_token_is_malformed() {
    let two = "a.b.c\nd.e.f\n";
    let r = run_with(&["--json", "jwt", "decode", "-"], Some(two), &[]).expect(1);
    let v = r.json();
    assert_eq!(v["reason"], "malformed", "{v}");
    assert!(v["message"].as_str().unwrap().contains("one token"), "{v}");
    let r = run_bytes(&["--json", "jwt", "decode", "-"], b"\xff\xfe.e30.x", &[]).expect(1);
    assert_eq!(r.json()["reason"], "malformed");
    run_bytes(&["apikey", "check", "-"], b"sk_test_\xff", &[]).expect(1);
}
