//! What a hostile or careless hand leaves in Candor's folder and the user's config.toml, against
//! every command that reads it: a number beyond the clock in a time record never panics a
//! command or a page; a network record that cannot be read fails closed, says why, and is
//! written anew once the endpoint answers; a `[products.<id>]` section naming no product is
//! warned of in one line, never silently ignored.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use candor_testkit::{HttpReceiver, dead_port};
use common::{agent_line, candor, run, run_within, stderr, write_lines};

const AGENT: &str = "contrast-dotnet-agent";

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The command ran to an ordinary end: no panic, whatever it had to say.
fn no_panic(what: &str, out: &Output) {
    assert_ne!(out.status.code(), Some(101), "{what}: {}", stderr(out));
    assert!(!stderr(out).contains("panicked"), "{what}: {}", stderr(out));
    assert!(out.status.code().is_some(), "{what}: killed by a signal");
}

/// `GET` of the page `candor view` serves for `dir`: its status code.
fn view_page(dir: &Path) -> u16 {
    let mut command = candor(dir, &[], &["view", "--no-open", "--port", "0"]);
    command.stderr(Stdio::null());
    let mut child = command.spawn().expect("view starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = Vec::new();
    let mut byte = [0u8; 1];
    while stdout.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
        first.push(byte[0]);
    }
    let url = String::from_utf8_lossy(&first).trim().to_owned();
    let rest = url.strip_prefix("http://").expect("a URL first");
    let (address, path) = rest.split_at(rest.find('/').expect("a path"));
    let status = common::http_status(
        address,
        &format!("GET {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n"),
    );
    let _ = child.kill();
    let _ = child.wait();
    status
}

/// The review's reproduction: `18446744073709551615` in `network/<product>`, or
/// `18446744073709551615.0` in `consent-changes/<product>`, made every command exit 101 (a
/// panic in the standard library's time arithmetic) and the viewer answer 500.
#[test]
fn a_time_beyond_the_clock_in_a_record_panics_no_command() {
    for (record, text) in [
        ("network", "18446744073709551615\n"),
        ("consent-changes", "18446744073709551615.0\n"),
        ("consent-changes", "18446744073709551615.999999999\n"),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join(record)).expect("mkdir");
        std::fs::write(dir.path().join(record).join(AGENT), text).expect("plant");
        let events = write_lines(
            &dir.path().join("events.jsonl"),
            &[agent_line("working_set", "52428800")],
        );
        let target = dir.path().join("sent.jsonl");
        let target = target.to_str().expect("utf-8");
        let mut commands = common::consent_commands(&events, target);
        commands.push(vec!["status", AGENT, "--json"]);
        commands.push(vec!["consent", AGENT, "on"]);
        for args in commands {
            let out = run(dir.path(), &[], &args);
            no_panic(&format!("{record} {text:?}: {args:?}"), &out);
        }
        assert_eq!(view_page(dir.path()), 200, "{record}");
    }
}

/// A network record Candor cannot read (a folder, a FIFO, a 1 MB file, a symlink) was read as
/// "no record", so the network block never built up across runs. Now consent fails closed on
/// it and says why; against an endpoint that answers, the first run lifts it and writes the
/// record anew.
#[test]
fn an_unreadable_network_record_fails_closed_until_the_endpoint_answers() {
    for plant in ["folder", "fifo", "1 MB", "symlink"] {
        let dir = tempfile::tempdir().expect("tmp");
        let network = dir.path().join("network");
        std::fs::create_dir_all(&network).expect("mkdir");
        let record = network.join(AGENT);
        match plant {
            "folder" => std::fs::create_dir(&record).expect("folder"),
            "fifo" => {
                let made = std::process::Command::new("mkfifo").arg(&record).status();
                assert!(made.is_ok_and(|s| s.success()));
            }
            "1 MB" => std::fs::write(&record, vec![b'7'; 1 << 20]).expect("big"),
            _ => std::os::unix::fs::symlink("/etc/hostname", &record).expect("symlink"),
        }
        let (status, took) = run_within(
            candor(dir.path(), &[], &["status", AGENT]),
            Duration::from_secs(30),
        );
        assert!(
            took < Duration::from_secs(10),
            "{plant}: blocked on the record"
        );
        let printed = stdout(&status);
        assert!(printed.contains("telemetry is off"), "{plant}: {printed}");
        assert!(printed.contains("cannot read"), "{plant}: {printed}");
        assert!(printed.contains("network"), "{plant}: {printed}");

        // An endpoint that does not answer: nothing is sent, the run says why.
        let events = write_lines(
            &dir.path().join("events.jsonl"),
            &[agent_line("working_set", "52428800")],
        );
        let dead = format!("http://127.0.0.1:{}/v1/events", dead_port());
        let out = run(
            dir.path(),
            &[],
            &["send", &events, "--sink", "json", "--endpoint", &dead],
        );
        assert_eq!(out.status.code(), Some(1), "{plant}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("cannot read"),
            "{plant}: {}",
            stderr(&out)
        );

        // One that answers: the block is lifted, the record written anew, the events sent.
        let receiver = HttpReceiver::start();
        let endpoint = receiver.url("/v1/events");
        let out = run(
            dir.path(),
            &[],
            &["send", &events, "--sink", "json", "--endpoint", &endpoint],
        );
        assert_eq!(out.status.code(), Some(0), "{plant}: {}", stderr(&out));
        assert_eq!(receiver.events().len(), 1, "{plant}");
        assert!(
            std::fs::symlink_metadata(&record).map_or(true, |m| m.is_file()),
            "{plant}: the record was not written anew"
        );
        let status = run(dir.path(), &[], &["status", AGENT]);
        assert!(stdout(&status).contains("telemetry is on"), "{plant}");
    }
}

/// `[products.CONTRAST-DOTNET-AGENT]`, `[products."contrast-dotnet-agent "]` and
/// `[products.contrast-dotnet-agnet]` with `mode = "off"` left the agent on without a word.
/// Ids are still compared exactly (the agent stays on: the file does not name it), and every
/// command that decides consent warns of each such section in one line.
#[test]
fn a_section_naming_no_known_product_is_warned_of() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("config.toml"),
        "[products.CONTRAST-DOTNET-AGENT]\nmode = \"off\"\n\
         [products.\"contrast-dotnet-agent \"]\nmode = \"off\"\n\
         [products.contrast-dotnet-agnet]\nmode = \"off\"\n",
    )
    .expect("config");
    let events = write_lines(
        &dir.path().join("events.jsonl"),
        &[agent_line("working_set", "52428800")],
    );
    let target = dir.path().join("sent.jsonl");
    let target = target.to_str().expect("utf-8");
    for args in common::consent_commands(&events, target) {
        let out = run(dir.path(), &[], &args);
        let said = stderr(&out);
        let warnings: Vec<&str> = said
            .lines()
            .filter(|l| l.starts_with("candor: warning:") && l.contains("[products."))
            .collect();
        assert_eq!(warnings.len(), 3, "{args:?}: {said}");
        for (warning, named) in warnings.iter().zip([
            "CONTRAST-DOTNET-AGENT",
            "contrast-dotnet-agent ",
            "contrast-dotnet-agnet",
        ]) {
            assert!(warning.contains(&format!("\"{named}\"")), "{warning}");
            assert!(warning.contains("names no known product"), "{warning}");
            assert!(
                warning.contains(&format!("did you mean `{AGENT}`")),
                "{warning}"
            );
        }
    }
    let status = run(dir.path(), &[], &["status", AGENT]);
    assert!(
        stdout(&status).contains("telemetry is on"),
        "{}",
        stdout(&status)
    );
    // A file naming only known products says nothing.
    std::fs::write(
        dir.path().join("config.toml"),
        "[products.contrast-dotnet-agent]\nmode = \"off\"\n",
    )
    .expect("config");
    let status = run(dir.path(), &[], &["status", AGENT]);
    assert!(
        !stderr(&status).contains("[products."),
        "{}",
        stderr(&status)
    );
    assert!(stdout(&status).contains("telemetry is off"));
}

/// The review's M5: a spool line edited on disk (another product, an undeclared point, raw
/// personal data, another catalogue revision) was delivered verbatim. Every event read back
/// from the spool now passes the check it passed when it was made (the receiving end's check,
/// with this machine's scrubber) before it is sent; what fails is dropped under its own cause,
/// never sent, and the untouched events go.
#[test]
fn an_edited_spool_line_is_checked_again_and_never_sent() {
    let dir = tempfile::tempdir().expect("tmp");
    let lines: Vec<String> = (0..5)
        .map(|n| agent_line("working_set", &(4_000_000 + n).to_string()))
        .collect();
    let events = write_lines(&dir.path().join("events.jsonl"), &lines);
    let dead = format!("http://127.0.0.1:{}/v1/events", dead_port());
    let out = run(
        dir.path(),
        &[],
        &[
            "send",
            &events,
            "--sink",
            "json",
            "--endpoint",
            &dead,
            "--deadline",
            "0.3",
        ],
    );
    assert!(stdout(&out).contains("5 waiting"), "{}", stdout(&out));
    let spool = dir.path().join("spool").join(AGENT);
    let batch = std::fs::read_dir(&spool)
        .expect("spool")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .expect("a batch");
    let text = std::fs::read_to_string(&batch).expect("read");
    let mut edited: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("an event"))
        .collect();
    assert_eq!(edited.len(), 5);
    edited[0]["product"] = "aspire-dashboard".into();
    edited[1]["point"] = "screen_resolution".into();
    edited[2]["point"] = "os_version".into();
    edited[2]["value"] =
        serde_json::json!({"kind": "text", "data": "alice@example.com at 10.1.2.3"});
    edited[3]["catalogue_revision"] = "999".into();
    let untouched = edited[4]["event_id"].as_str().expect("id").to_owned();
    let body: String = edited.iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(&batch, body).expect("edit the spool");

    let receiver = HttpReceiver::start();
    let endpoint = receiver.url("/v1/events");
    let out = run(
        dir.path(),
        &[],
        &["send", "--sink", "json", "--endpoint", &endpoint],
    );
    let printed = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{printed}{}", stderr(&out));
    let received = receiver.events();
    assert_eq!(
        received
            .iter()
            .map(|e| e.event_id.clone())
            .collect::<Vec<_>>(),
        vec![untouched],
        "{printed}"
    );
    let bodies = receiver.log().bodies;
    let all = String::from_utf8_lossy(&bodies.concat()).into_owned();
    assert!(
        !all.contains("alice@example.com"),
        "raw personal data left the machine"
    );
    assert!(!all.contains("screen_resolution"));
    assert!(printed.contains("delivered 1 event(s)"), "{printed}");
    assert!(
        printed
            .contains("4 event(s): read back from the spool, they failed the check before sending"),
        "{printed}"
    );
    assert!(
        !std::fs::read_dir(&spool)
            .expect("spool")
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "jsonl")),
        "what failed the check stays no longer"
    );
}
