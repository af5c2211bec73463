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

/// Runs `script` with `sh` in a private user and mount namespace (`unshare -r -m`) with
/// `folder` as Candor's; why not, where the machine allows no such namespace (the test skips).
fn in_private_mounts(
    folder: &std::path::Path,
    script: &str,
) -> Result<std::process::Output, String> {
    if Command::new("unshare")
        .arg("--version")
        .output()
        .map_or(true, |o| !o.status.success())
    {
        return Err("no `unshare` on this machine".to_owned());
    }
    let mut command = Command::new("unshare");
    command
        .args(["-r", "-m", "sh", "-c", script])
        .env_clear()
        .env("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")
        .env("CANDOR_CONFIG_DIR", folder)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let (out, _) = run_within(command, Duration::from_secs(120));
    let said = common::stderr(&out);
    if said.contains("unshare:") || said.contains("mount:") {
        return Err(format!("no private mount namespace here ({})", said.trim()));
    }
    Ok(out)
}

/// The review's reproduction, as the kernel makes it: an entry at the head of the spool that
/// cannot be removed (here a folder named like a batch, dated 1970 so the age cap wants it
/// gone, with a file system mounted on it: `EBUSY`). It stopped delivery for good ("removed 1
/// unreadable spool file(s)" though nothing was removed, none of the real events ever sent)
/// and counted the written batch as a disk refusal. Now it is skipped: every event is
/// delivered, nothing is counted as dropped, and a discard removes every batch behind it.
#[test]
fn an_entry_that_cannot_be_removed_is_skipped_not_in_the_way() {
    let dir = tempfile::tempdir().expect("tmp");
    let events = lines(dir.path());
    let folder = dir.path().join("candor");
    let stuck =
        folder.join("spool/contrast-dotnet-agent/0000000000001000-0000000001-00000000.jsonl");
    let receiver = HttpReceiver::start();
    let dead = format!("http://127.0.0.1:{}/ingest", candor_testkit::dead_port());
    let candor = env!("CARGO_BIN_EXE_candor");
    let script = format!(
        "mkdir -p '{stuck}' && mount -t tmpfs -o size=64k tmpfs '{stuck}' && touch '{stuck}/x' \
         && {{ '{candor}' send '{events}' --sink json --endpoint '{live}' --deadline 10; \
         echo \"== exit $?\"; \
         '{candor}' send '{events}' --sink json --endpoint '{dead}' --deadline 0.3; \
         echo \"== exit $?\"; \
         '{candor}' consent contrast-dotnet-agent off; echo \"== exit $?\"; \
         ls -a '{spool}'; }}",
        stuck = stuck.display(),
        events = events,
        live = receiver.url("/ingest"),
        spool = stuck.parent().expect("spool").display(),
    );
    let out = match in_private_mounts(&folder, &script) {
        Ok(out) => out,
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let said = common::stderr(&out);
    let runs: Vec<&str> = printed.split("== exit ").collect();
    assert_eq!(runs.len(), 4, "{printed}{said}");
    // The first send: every event delivered past the stuck entry, nothing dropped.
    assert!(runs[1].starts_with('0'), "{printed}{said}");
    assert!(
        runs[0].contains("delivered 1000 event(s)"),
        "{printed}{said}"
    );
    assert!(!runs[0].contains("dropped"), "{printed}");
    assert!(!runs[0].contains("removed"), "{printed}");
    assert_eq!(receiver.events().len(), 1000);
    // The second leaves 1000 waiting; the discard removes them all, and says what it could not.
    assert!(runs[1].contains("1000 waiting"), "{printed}{said}");
    assert!(runs[2].starts_with('1'), "{printed}{said}");
    assert!(
        runs[2].contains("1000 event(s) waiting in the spool discarded"),
        "{printed}{said}"
    );
    assert!(runs[3].starts_with('0'), "{printed}{said}");
    assert!(!said.contains("cannot discard"), "{said}");
    let left: Vec<&str> = runs[3]
        .lines()
        .skip(1)
        .filter(|l| l.ends_with(".jsonl"))
        .collect();
    assert_eq!(
        left,
        vec![stuck.file_name().expect("name").to_str().expect("utf-8")],
        "{printed}"
    );
}
