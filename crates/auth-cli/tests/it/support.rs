//! Running the real binary: arguments, environment, standard input; capturing the exit code.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// What a run of `auth` printed and returned.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Standard output as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }

    #[track_caller]
    pub(crate) fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

/// The binary under test.
pub(crate) fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_auth")
}

/// Starts `auth ARGS` with extra environment variables, its standard streams piped.
pub(crate) fn spawn(args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
    Command::new(bin())
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs `auth ARGS` with `stdin` and extra environment variables.
pub(crate) fn run_with(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
    run_bytes(args, stdin.unwrap_or_default().as_bytes(), env)
}

/// Runs `auth ARGS` with raw bytes on standard input.
pub(crate) fn run_bytes(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Run {
    let mut child = spawn(args, env);
    // The command may stop reading early (a size cap) and close its end: not an error.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Runs `auth ARGS`.
pub(crate) fn run(args: &[&str]) -> Run {
    run_with(args, None, &[])
}

/// A fresh directory for one test under Cargo's scratch directory for integration tests
/// (`target/tmp`, not the system's `/tmp`), per process so that concurrent runs sharing a
/// target directory do not collide; what a failed run leaves behind can be inspected.
pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("auth-cli-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `text` to `dir/name`, returning the path as a string.
pub(crate) fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Runs `openssl ARGS` in `dir`, which must succeed.
pub(crate) fn openssl(dir: &Path, args: &[&str]) {
    let ok = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl {args:?}");
}
