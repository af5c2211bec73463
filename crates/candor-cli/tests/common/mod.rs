//! What the CLI test files share: running the real binary against a config folder of the
//! test's own, with a clean environment and a deadline, and writing event lines for it.
//! Each test file uses part of it.
#![allow(dead_code)]

pub(crate) mod postgres;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `candor` binary with `dir` as Candor's folder, nothing else from the host's environment
/// but `env`, no input, and its output captured.
pub(crate) fn candor(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_candor"));
    command
        .env_clear()
        .env("CANDOR_CONFIG_DIR", dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

/// Runs the command; fails the test (killing the child) if it takes longer than `limit`.
pub(crate) fn run_within(mut command: Command, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let child = command.spawn().expect("candor starts");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(output) => (output.expect("output"), started.elapsed()),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("candor did not return within {limit:?}");
        }
    }
}

/// [`candor`], run to its end within a minute.
pub(crate) fn run(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    run_within(candor(dir, env, args), Duration::from_secs(60)).0
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One raw event line of the .NET agent at version 21.1.2 on .NET Framework.
pub(crate) fn agent_line(point: &str, value: &str) -> String {
    format!(
        r#"{{"product":"contrast-dotnet-agent","product_version":"21.1.2","runtime_line":"framework","point":"{point}","value":{value}}}"#
    )
}

/// Writes `lines` to `path`, one per line, and returns the path as a command-line argument.
pub(crate) fn write_lines(path: &Path, lines: &[String]) -> String {
    std::fs::write(path, lines.join("\n") + "\n").expect("write");
    path.to_str().expect("utf-8").to_owned()
}

/// The store key `Serve` starts `candor serve` with.
pub(crate) const SERVE_STORE_KEY: &str =
    "c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc";

/// The read token `Serve` starts `candor serve` with.
pub(crate) const SERVE_READ_TOKEN: &str = "serve-read-token-for-tests";

/// A running `candor serve` on a SQLite file (or the database URL given), killed when
/// dropped.
pub(crate) struct Serve {
    pub(crate) child: std::process::Child,
    /// `127.0.0.1:<port>`.
    pub(crate) address: String,
}

impl Serve {
    /// Starts `candor serve` on a free loopback port, with `dir` as its Candor folder.
    pub(crate) fn start(dir: &Path, database: &str, extra: &[&str]) -> Self {
        use std::io::BufRead;
        let token_file = dir.join("serve-read.token");
        std::fs::write(&token_file, format!("{SERVE_READ_TOKEN}\n")).expect("token file");
        let key_file = dir.join("serve-store.key");
        std::fs::write(&key_file, format!("{SERVE_STORE_KEY}\n")).expect("key file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_candor"))
            .env_clear()
            .env("CANDOR_CONFIG_DIR", dir)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
            .arg("--read-token-file")
            .arg(&token_file)
            .arg("--store-key-file")
            .arg(&key_file)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("candor serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("serve prints its address");
        let address = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("{line}"))
            .trim_end_matches('/')
            .to_owned();
        Self { child, address }
    }

    /// `http://<address><path>`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// How many of `product`'s events the server holds, recorded in `[since, until)` (RFC 3339
    /// times, either open).
    pub(crate) fn stored(&self, product: &str, since: Option<&str>, until: Option<&str>) -> u64 {
        use std::io::{Read, Write};
        let mut query = Vec::new();
        if let Some(since) = since {
            query.push(format!("since={since}"));
        }
        if let Some(until) = until {
            query.push(format!("until={until}"));
        }
        let mut stream = std::net::TcpStream::connect(&self.address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        write!(
            stream,
            "GET /v1/report/{product}?{} HTTP/1.1\r\nhost: {}\r\n\
             authorization: Bearer {SERVE_READ_TOKEN}\r\nconnection: close\r\n\r\n",
            query.join("&"),
            self.address
        )
        .expect("request");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer");
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
        // A chunked answer: the JSON object is what lies between the first `{` and last `}`.
        let json = &body[body.find('{').unwrap_or(0)..=body.rfind('}').unwrap_or(0)];
        let report: serde_json::Value =
            serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {answer}"));
        report["events"]
            .as_u64()
            .unwrap_or_else(|| panic!("{report}"))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Now, as the RFC 3339 text `report` takes, to the millisecond.
pub(crate) fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// Waits until `done` holds, up to `limit`; returns whether it did.
pub(crate) fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// Sends `request` (raw HTTP/1.1) to `address` and returns the status code of the answer.
pub(crate) fn http_status(address: &str, request: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {reply:?}"))
}

/// The commands that decide consent for the agent, as a user runs them: what a hostile record
/// or setting must not break (`events` is an events file, `target` a file sink's path).
pub(crate) fn consent_commands<'a>(events: &'a str, target: &'a str) -> Vec<Vec<&'a str>> {
    const AGENT: &str = "contrast-dotnet-agent";
    vec![
        vec!["status", AGENT],
        vec![
            "preview",
            AGENT,
            "--version",
            "21.1.2",
            "--runtime",
            "framework",
        ],
        vec!["send", events, "--sink", "file", "--endpoint", target],
        vec!["demo", AGENT, "--seconds", "0.1"],
    ]
}
