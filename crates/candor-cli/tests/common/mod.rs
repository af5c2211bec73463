//! What the CLI test files share: running the real binary against a config folder of the
//! test's own, with a clean environment and a deadline, and writing event lines for it.
//! Each test file uses part of it.
#![allow(dead_code)]

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
