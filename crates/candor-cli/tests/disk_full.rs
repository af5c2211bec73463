//! A disk that refuses the spool's writes: the loss is counted under its real cause, never as
//! "over the caps". Two real refusals by the kernel: a file system that is full (a 64 KiB
//! tmpfs mounted in a private mount namespace, where the machine allows unprivileged ones), and
//! a file size limit (`ulimit -f`, with `SIGXFSZ` ignored as a daemon would, so the write fails
//! with `EFBIG` rather than killing the process).

mod common;

use std::process::Command;
use std::time::Duration;

use candor_testkit::HttpReceiver;
use common::{agent_line, run_within, write_lines};

fn lines(dir: &std::path::Path) -> String {
    let lines: Vec<String> = (0..1000)
        .map(|n| agent_line("working_set", &(1_000_000 + n).to_string()))
        .collect();
    write_lines(&dir.join("events.jsonl"), &lines)
}

#[test]
fn a_full_disk_is_named_as_the_cause() {
    let dir = tempfile::tempdir().expect("tmp");
    let events = lines(dir.path());
    let folder = dir.path().join("candor");
    std::fs::create_dir(&folder).expect("mkdir");
    let receiver = HttpReceiver::start();
    let script = format!(
        "mount -t tmpfs -o size=64k tmpfs '{}' && exec '{}' send '{}' --sink json --endpoint '{}' --deadline 5",
        folder.display(),
        env!("CARGO_BIN_EXE_candor"),
        events,
        receiver.url("/ingest")
    );
    if Command::new("unshare")
        .arg("--version")
        .output()
        .map_or(true, |o| !o.status.success())
    {
        eprintln!("skipping: no `unshare` on this machine");
        return;
    }
    let mut command = Command::new("unshare");
    command
        .args(["-r", "-m", "sh", "-c", &script])
        .env_clear()
        .env("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")
        .env("CANDOR_CONFIG_DIR", &folder)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let (out, _) = run_within(command, Duration::from_secs(60));
    let said = common::stderr(&out);
    if said.contains("unshare") || said.contains("mount:") {
        eprintln!(
            "skipping: no private mount namespace here ({})",
            said.trim()
        );
        return;
    }
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{printed}{said}");
    assert!(
        printed.contains("event(s): the spool could not be written: no space left on the device"),
        "{printed}{said}"
    );
    assert!(printed.contains("hint: free space"), "{printed}");
    assert!(!printed.contains("caps"), "{printed}");
    assert!(said.contains("no space left on the device"), "{said}");
}

#[test]
fn a_file_size_limit_is_named_as_the_cause() {
    let dir = tempfile::tempdir().expect("tmp");
    let events = lines(dir.path());
    let receiver = HttpReceiver::start();
    // 100 blocks of 512 bytes: keys and receipts fit, a spool batch of 512 events does not.
    let script = format!(
        "trap '' XFSZ; ulimit -f 100 && exec '{}' send '{}' --sink json --endpoint '{}' --deadline 5",
        env!("CARGO_BIN_EXE_candor"),
        events,
        receiver.url("/ingest")
    );
    let mut command = Command::new("sh");
    command
        .args(["-c", &script])
        .env_clear()
        .env("CANDOR_CONFIG_DIR", dir.path().join("candor"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let (out, _) = run_within(command, Duration::from_secs(60));
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let said = common::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{printed}{said}");
    assert!(
        printed.contains(
            "the spool could not be written: the file would exceed this process's file size limit"
        ),
        "{printed}{said}"
    );
    assert!(!printed.contains("caps"), "{printed}");
    // Nothing half-written is left in the spool.
    let left: Vec<_> = std::fs::read_dir(dir.path().join("candor/spool/contrast-dotnet-agent"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.iter().all(|n| n.to_string_lossy().starts_with(".lock")
            || n.to_string_lossy().starts_with(".write-lock")),
        "{left:?}"
    );
}
