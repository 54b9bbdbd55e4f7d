//! A PostgreSQL server of a test's own, started and stopped with `pg_ctl` on a free port
//! and a fresh data directory, for the tests that stop the database under the store.

use std::path::PathBuf;
use std::process::Command;

/// A PostgreSQL server of the test's own: its own data directory and port.
pub(crate) struct PrivatePg {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl PrivatePg {
    pub(crate) fn new(name: &str) -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL from .ci/services")
            .map(|e| e.unwrap().path().join("bin"))
            .max()
            .unwrap();
        let dir = std::env::temp_dir().join(format!("auth-rs-pg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut pg = Self { bin, dir, port: 0 };
        let dir = pg.dir.to_str().unwrap().to_owned();
        pg.run(
            "initdb",
            &["-D", &dir, "-U", "postgres", "--auth=trust", "--no-sync"],
        );
        // A port picked free just before the start; if another process took it meanwhile,
        // the server cannot bind and stops (pg_ctl -w says so), and another port is tried.
        for _ in 0..5 {
            pg.port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            if pg.try_start().is_ok() {
                return pg;
            }
        }
        panic!("the private PostgreSQL did not start on any of five ports");
    }

    /// Runs a server program, as the postgres user when we are root (it refuses root).
    fn run(&self, program: &str, args: &[&str]) {
        if let Err(e) = self.try_run(program, args) {
            panic!("{e}");
        }
    }

    /// [`Self::run`], its failure as an error.
    fn try_run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let program = self.bin.join(program);
        let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        let mut cmd = if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = cmd.args(args).output().unwrap();
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Starts the server again on its port (after [`Self::stop`]).
    pub(crate) fn start(&self) {
        if let Err(e) = self.try_start() {
            panic!("{e}");
        }
    }

    fn try_start(&self) -> Result<(), String> {
        let (dir, log) = (self.dir.to_str().unwrap(), self.dir.join("log"));
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories=''",
            self.port
        );
        self.try_run(
            "pg_ctl",
            &[
                "-D",
                dir,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-s",
                "-o",
                &opts,
                "start",
            ],
        )
    }

    pub(crate) fn stop(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.dir.to_str().unwrap(),
                "-w",
                "-s",
                "-m",
                "fast",
                "stop",
            ],
        );
    }

    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let dir = self.dir.to_str().unwrap().to_owned();
        let _ = std::panic::catch_unwind(|| {
            self.run(
                "pg_ctl",
                &["-D", &dir, "-w", "-s", "-m", "immediate", "stop"],
            );
        });
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
