//! A running `auth serve` on loopback: started through the binary, its bound address parsed
//! from its first lines, logs kept in a file, stopped on drop.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::support::bin;

/// A server process.
pub(crate) struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    /// The admin key printed on a first start.
    pub(crate) admin_key: Option<String>,
    /// Its client id.
    pub(crate) admin_id: Option<String>,
    /// Where its standard error (the JSON logs) goes.
    pub(crate) log: PathBuf,
}

impl Server {
    /// Starts `auth serve --listen 127.0.0.1:0 --data DIR EXTRA...`.
    pub(crate) fn start(data: &Path, extra: &[&str]) -> Self {
        Self::start_with_env(data, extra, &[])
    }

    /// As [`Server::start`], with extra environment variables.
    pub(crate) fn start_with_env(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let log = data.with_extension(format!("log-{}", rand_suffix()));
        let mut child = Command::new(bin())
            .envs(env.iter().copied())
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut admin_key, mut admin_id) = (None, None);
        let url = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| {
                    panic!("server exited: {}", std::fs::read_to_string(&log).unwrap())
                })
                .unwrap();
            if let Some(key) = line.strip_prefix("admin key (shown once, store it now): ") {
                admin_key = Some(key.to_owned());
            } else if let Some(id) = line.strip_prefix("client id: ") {
                admin_id = Some(id.to_owned());
            } else if let Some(url) = line.strip_prefix("listening on ") {
                break url.to_owned();
            }
        };
        Self {
            child,
            url,
            admin_key,
            admin_id,
            log,
        }
    }

    /// Starts a server on `dir/data` with `config` (JSON) written to `dir/config.json`.
    pub(crate) fn with_config(dir: &Path, config: &str) -> (Self, PathBuf) {
        let path = crate::support::write(dir, "config.json", config);
        let data = dir.join("data");
        (Self::start(&data, &["--config", &path]), data)
    }

    /// `URL/path`.
    pub(crate) fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Sends SIGTERM and waits: the exit status code.
    pub(crate) fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        self.child.wait().unwrap().code()
    }

    /// Sends SIGHUP (reload the config).
    pub(crate) fn hang_up(&self) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-HUP", &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    /// The logs written so far. The server writes them in batches from a thread of their
    /// own, so a line may come a little after the response it describes: to look for a line,
    /// use [`Self::logs_with`], or [`Self::stop_and_logs`] for all of them.
    pub(crate) fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    /// The logs once they contain `needle` (waits up to 10 s for the writer, then panics).
    #[track_caller]
    pub(crate) fn logs_with(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let logs = self.logs();
            if logs.contains(needle) {
                return logs;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {needle:?} in the logs:\n{logs}"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Sends SIGTERM, checks the exit status is 0, and returns every line the server logged
    /// (it writes out what is buffered before it exits).
    pub(crate) fn stop_and_logs(self) -> String {
        let log = self.log.clone();
        assert_eq!(self.terminate(), Some(0));
        std::fs::read_to_string(log).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// `auth apikey create --json` on `data`: (key, id).
pub(crate) fn create_key(data: &Path, subject: &str, scopes: &[&str]) -> (String, String) {
    create_key_with(data, subject, scopes, &[])
}

/// [`create_key`] with `extra` arguments (`--max-uses`, `--database-env`, ...).
pub(crate) fn create_key_with(
    data: &Path,
    subject: &str,
    scopes: &[&str],
    extra: &[&str],
) -> (String, String) {
    let mut args = vec![
        "--json",
        "apikey",
        "create",
        "--data",
        data.to_str().unwrap(),
    ];
    args.extend(["--subject", subject]);
    for s in scopes {
        args.extend(["--scope", s]);
    }
    args.extend(extra);
    let v = crate::support::run(&args).expect(0).json();
    (
        v["key"].as_str().unwrap().to_owned(),
        v["id"].as_str().unwrap().to_owned(),
    )
}
