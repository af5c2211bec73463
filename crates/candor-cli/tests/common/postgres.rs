//! A PostgreSQL cluster for one test, in a temporary folder, run as an unprivileged user when
//! the test runs as root (PostgreSQL refuses root), started and stopped at will.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

pub(crate) struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    user: Option<String>,
}

fn find_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

impl Postgres {
    /// A fresh cluster, started; `None` (with the reason printed) when PostgreSQL is not
    /// installed outside CI. Under CI its absence fails the test.
    pub(crate) fn start() -> Option<Self> {
        let Some(bin) = find_bin() else {
            let message = "PostgreSQL binaries not found; install Debian's `postgresql`";
            if candor_testkit::tools_required() {
                panic!("{message}");
            }
            #[allow(clippy::print_stderr)]
            {
                eprintln!("skipping: {message}");
            }
            return None;
        };
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let user = root.then(|| "nobody".to_owned());
        let dir = tempfile::Builder::new()
            .prefix("candor-pg-")
            .tempdir_in("/tmp")
            .expect("tmp")
            .keep();
        if let Some(user) = &user {
            let status = Command::new("chown")
                .args(["-R", &format!("{user}:"), dir.to_str().expect("utf-8")])
                .status()
                .expect("chown");
            assert!(status.success());
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let pg = Self {
            dir,
            bin,
            port,
            user,
        };
        let data = pg.dir.join("data");
        pg.run(
            "initdb",
            &[
                "-D",
                data.to_str().expect("utf-8"),
                "-U",
                "candor",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        pg.start_server();
        Some(pg)
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let output = match &self.user {
            Some(user) => Command::new("runuser")
                .args(["-u", user, "--"])
                .arg(&program)
                .args(args)
                .current_dir(&self.dir)
                .output(),
            None => Command::new(&program).args(args).output(),
        }
        .expect("runs");
        assert!(
            output.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub(crate) fn start_server(&self) {
        let data = self.dir.join("data");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
            self.port,
            self.dir.display(),
        );
        let log = self.dir.join("log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().expect("utf-8"),
                "-o",
                &options,
                "-l",
                log.to_str().expect("utf-8"),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    pub(crate) fn stop_server(&self) {
        let data = self.dir.join("data");
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().expect("utf-8"),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
    }

    pub(crate) fn url(&self) -> String {
        format!("postgres://candor@127.0.0.1:{}/postgres", self.port)
    }

    /// A `psql` session on the test's database that runs what is written to its stdin, for a
    /// test that holds a transaction open while it looks elsewhere (unaligned, tuples only).
    pub(crate) fn session(&self) -> std::process::Child {
        use std::process::Stdio;
        Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-A",
                "-t",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &self.url(),
            ])
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("psql runs")
    }

    /// Runs `sql` through `psql` on the test's database and returns its unaligned, tuples-only
    /// output, trimmed (one line per row, columns separated by `|`).
    pub(crate) fn psql(&self, sql: &str) -> String {
        let output = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &self.url(),
                "-c",
                sql,
            ])
            .env_clear()
            .output()
            .expect("psql runs");
        assert!(
            output.status.success(),
            "psql failed on {sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let program = self.bin.join("pg_ctl");
        let args = ["-D", data.to_str().unwrap_or(""), "-m", "immediate", "stop"];
        let _ = match &self.user {
            Some(user) => Command::new("runuser")
                .args(["-u", user, "--"])
                .arg(&program)
                .args(args)
                .output(),
            None => Command::new(&program).args(args).output(),
        };
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
