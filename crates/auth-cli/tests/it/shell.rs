//! The CLI in a shell, beside jwt-cli and step: claims from flags with an HMAC secret from the
//! environment or a file, a token on standard input, keys of every type, completion scripts
//! and the man page. Each refusal sits beside the run that passes.

use crate::support::{run, run_with, temp_dir, write};

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn sign(extra: &[&str]) -> crate::support::Run {
    let mut args = vec!["jwt", "sign", "--alg", "HS256", "--secret-env", "S"];
    args.extend(extra);
    run_with(&args, None, &[("S", SECRET)])
}

#[test]
fn a_token_signed_from_flags_verifies_with_the_same_secret() {
    // The issue's own example.
    let token = sign(&[
        "--sub", "alice", "--aud", "api", "--iss", "me", "--exp", "10m",
    ])
    .expect(0)
    .stdout
    .trim()
    .to_owned();
    let verify = |env: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec!["--json", "jwt", "verify", &token, "--alg", "HS256"];
        args.extend(["--aud", "api", "--iss", "me"]);
        args.extend(extra);
        run_with(&args, None, env)
    };
    let ok = verify(&[("S", SECRET)], &["--secret-env", "S"])
        .expect(0)
        .json();
    assert_eq!(ok["claims"]["sub"], "alice");
    assert_eq!(ok["claims"]["aud"], "api");
    let (iat, exp) = (
        ok["claims"]["iat"].as_u64().unwrap(),
        ok["claims"]["exp"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 600);
    // Another secret: exit 1, bad_signature.
    let wrong = verify(
        &[("S", "another secret of 32 bytes......")],
        &["--secret-env", "S"],
    );
    assert_eq!(wrong.expect(1).json()["reason"], "bad_signature");
    // The secret from a file, with the newline `echo` leaves.
    let dir = temp_dir("shell-secret");
    let file = write(&dir, "secret", &format!("{SECRET}\n"));
    verify(&[], &["--secret-file", &file]).expect(0);
    // --iss without any key: a usage error.
    verify(&[], &[]).expect(2);
}

#[test]
fn claims_from_flags_json_values_and_conflicts() {
    let decode = |token: &str| run(&["--json", "jwt", "decode", token]).expect(0).json();
    let out = sign(&[
        "--claim",
        "admin=true",
        "--claim",
        "n=3",
        "--claim",
        r#"roles=["a","b"]"#,
        "--claim",
        "name=Ada Lovelace",
        "--aud",
        "a",
        "--aud",
        "b",
        "--nbf",
        "0",
    ])
    .expect(0);
    let claims = &decode(out.stdout.trim())["claims"];
    assert_eq!(claims["admin"], true);
    assert_eq!(claims["n"], 3);
    assert_eq!(claims["roles"], serde_json::json!(["a", "b"]));
    assert_eq!(claims["name"], "Ada Lovelace");
    assert_eq!(claims["aud"], serde_json::json!(["a", "b"]));
    assert!(claims["nbf"].is_u64());
    // A claim set twice is refused rather than silently overwritten.
    sign(&["--claims", r#"{"sub":"x"}"#, "--sub", "y"]).expect(2);
    sign(&["--claim", "sub=x", "--sub", "y"]).expect(2);
    sign(&["--claim", "=x"]).expect(2);
    sign(&["--exp", "10x"]).expect(2);
    // The former spellings still work: --key-env and --exp-in.
    let old = run_with(
        &[
            "jwt",
            "sign",
            "--alg",
            "HS256",
            "--key-env",
            "S",
            "--claims",
            "{}",
            "--exp-in",
            "60",
        ],
        None,
        &[("S", SECRET)],
    )
    .expect(0);
    let claims = &decode(old.stdout.trim())["claims"];
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        60
    );
}

#[test]
fn a_token_is_read_from_standard_input_when_not_given() {
    let token = sign(&["--sub", "alice"]).expect(0).stdout;
    let piped = run_with(&["--json", "jwt", "decode"], Some(&token), &[])
        .expect(0)
        .json();
    assert_eq!(piped["claims"]["sub"], "alice");
    // Nothing on standard input and no argument: an error, not a hang.
    run_with(&["jwt", "decode"], Some(""), &[]).expect(1);
}

#[test]
fn keys_of_every_type_sign_and_verify() {
    let dir = temp_dir("shell-kty");
    for (kty, extra, alg) in [
        ("RSA", &["--size", "2048"][..], "RS256"),
        ("EC", &["--crv", "P-384"][..], "ES384"),
        ("OKP", &[][..], "EdDSA"),
        ("oct", &["--size", "512"][..], "HS512"),
    ] {
        let mut args = vec!["jwk", "generate", "--kty", kty];
        args.extend(extra);
        let jwk = run(&args).expect(0).stdout;
        let key = write(&dir, &format!("{kty}.jwk"), &jwk);
        let token = run(&[
            "jwt", "sign", "--key", &key, "--alg", alg, "--sub", "k", "--iss", "i", "--aud", "a",
            "--exp", "1h",
        ])
        .expect(0)
        .stdout;
        let verify = |keys: &str| {
            run(&[
                "jwt",
                "verify",
                token.trim(),
                "--jwks",
                keys,
                "--iss",
                "i",
                "--aud",
                "a",
                "--alg",
                alg,
            ])
        };
        if kty == "oct" {
            verify(&key).expect(0);
        } else {
            let public = run(&["jwk", "public", &key]).expect(0).stdout;
            assert!(
                !public.contains("\"d\""),
                "{kty}: a private member in {public}"
            );
            verify(&write(&dir, &format!("{kty}.jwks"), &public)).expect(0);
        }
    }
    // A curve that is not the key type's: a usage error.
    run(&["jwk", "generate", "--kty", "OKP", "--crv", "P-256"]).expect(2);
    run(&["jwk", "generate", "--kty", "RSA", "--size", "1024"]).expect(2);
}

#[test]
fn completion_scripts_and_the_man_page() {
    let bash = run(&["completions", "bash"]).expect(0).stdout;
    assert!(
        bash.contains("complete -F") && bash.contains("auth"),
        "{bash}"
    );
    for shell in ["zsh", "fish"] {
        let script = run(&["completions", shell]).expect(0).stdout;
        assert!(script.contains("serve"), "{shell}: {script}");
    }
    run(&["completions", "tcsh"]).expect(2);
    let man = run(&["man"]).expect(0).stdout;
    assert!(man.starts_with(".ie") || man.contains(".TH auth"), "{man}");
    // A misspelt command gets a suggestion.
    let typo = run(&["servee"]).expect(2);
    assert!(typo.stderr.contains("serve"), "{}", typo.stderr);
}
