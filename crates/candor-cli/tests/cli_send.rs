//! `candor send`, `receipts` and `clean`, as subprocesses, against real receivers on loopback.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use candor_testkit::{Fault, HttpReceiver, dead_port};

mod common;
use common::{agent_line as line, candor, run};

/// Writes `lines` to `events.jsonl` in `dir`.
fn write_lines(dir: &Path, lines: &[String]) -> String {
    common::write_lines(&dir.join("events.jsonl"), lines)
}

#[test]
fn lines_are_checked_scrubbed_and_sent() {
    let dir = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    let file = write_lines(
        dir.path(),
        &[
            line("agent_version", r#""21.1.2""#),
            line("os_version", r#""Windows Server for carol@example.org""#),
            line("machine_id", r#""3c:22:fb:12:34:56""#),
            line("screen_size", "3"),
            line("working_set", r#""lots""#),
            r#"{"product":"contrast-dotnet-agent","product_version":"1.0.0","runtime_line":"core","point":"agent_version","value":"1.0.0"}"#.to_owned(),
        ],
    );
    let endpoint = receiver.url("/ingest");
    let out = run(
        dir.path(),
        &[],
        &[
            "send",
            &file,
            "--sink",
            "json",
            "--endpoint",
            &endpoint,
            "--deadline",
            "5",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("events.jsonl:4: refused: `screen_size` is not declared"),
        "{stderr}"
    );
    assert!(stderr.contains("events.jsonl:5: refused"), "{stderr}");
    assert!(
        // The facade's preparer refuses it, per data point with a count.
        stderr.contains("events.jsonl: refused 1 value(s)") && stderr.contains("later than 1.5.15"),
        "{stderr}"
    );
    assert!(stderr.contains("3 line(s) refused"), "{stderr}");
    let events = receiver.events();
    assert_eq!(events.len(), 3);
    let log = receiver.log();
    assert!(
        !log.contains("carol@example.org"),
        "the e-mail address left the machine"
    );
    assert!(
        !log.contains("3c:22:fb:12:34:56"),
        "the MAC address left the machine"
    );
    // Receipts name what was delivered.
    let receipts = run(
        dir.path(),
        &[],
        &["receipts", "contrast-dotnet-agent", "--json"],
    );
    let text = String::from_utf8_lossy(&receipts.stdout);
    for e in &events {
        assert!(text.contains(&e.event_id), "{text}");
    }
}

#[test]
fn an_opted_out_product_sends_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    let file = write_lines(dir.path(), &[line("agent_version", r#""21.1.2""#)]);
    let endpoint = receiver.url("/ingest");
    let out = run(
        dir.path(),
        &[("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "true")],
        &[
            "send",
            &file,
            "--sink",
            "json",
            "--endpoint",
            &endpoint,
            "--deadline",
            "2",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CONTRAST_DOTNET_TELEMETRY_OPTOUT"));
    assert_eq!(receiver.log().requests, 0);
}

#[test]
fn an_unknown_opt_out_value_fails_closed() {
    let dir = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    let file = write_lines(dir.path(), &[line("agent_version", r#""21.1.2""#)]);
    let endpoint = receiver.url("/ingest");
    let out = run(
        dir.path(),
        &[("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "maybe")],
        &[
            "send",
            &file,
            "--sink",
            "json",
            "--endpoint",
            &endpoint,
            "--deadline",
            "2",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(receiver.log().requests, 0);
}

#[test]
fn what_a_dead_endpoint_leaves_is_delivered_later_from_the_spool() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = write_lines(
        dir.path(),
        &[
            line("agent_version", r#""21.1.2""#),
            line("in_container", "true"),
        ],
    );
    let dead = format!("http://127.0.0.1:{}/ingest", dead_port());
    let out = run(
        dir.path(),
        &[],
        &[
            "send",
            &file,
            "--sink",
            "json",
            "--endpoint",
            &dead,
            "--deadline",
            "0.5",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 event(s) not delivered"), "{stderr}");
    let receiver = HttpReceiver::start();
    let endpoint = receiver.url("/ingest");
    let out = run(
        dir.path(),
        &[],
        &["send", "--sink", "json", "--endpoint", &endpoint],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(receiver.events().len(), 2);
}

#[test]
fn plain_http_elsewhere_and_missing_tokens_are_usage_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = run(
        dir.path(),
        &[],
        &[
            "send",
            "--sink",
            "json",
            "--endpoint",
            "http://example.com/x",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim().lines().count(),
        1
    );
    let out = run(
        dir.path(),
        &[],
        &[
            "send",
            "--sink",
            "relay",
            "--endpoint",
            "http://127.0.0.1:1/x",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token"));
}

#[cfg(unix)]
#[test]
fn a_spool_survives_sigkill_mid_send() {
    let dir = tempfile::tempdir().expect("tmp");
    let lines: Vec<String> = (0..300)
        .map(|n| line("working_set", &n.to_string()))
        .collect();
    let file = write_lines(dir.path(), &lines);
    let receiver = HttpReceiver::start();
    // The first request hangs, so the child is mid-send when it is killed.
    receiver.script([Fault::Slow(Duration::from_secs(30))]);
    let endpoint = receiver.url("/ingest");
    let mut child = candor(
        dir.path(),
        &[],
        &[
            "send",
            &file,
            "--sink",
            "json",
            "--endpoint",
            &endpoint,
            "--deadline",
            "60",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("spawn");
    let start = Instant::now();
    while receiver.log().requests == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the child never sent"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let out = run(
        dir.path(),
        &[],
        &[
            "send",
            "--sink",
            "json",
            "--endpoint",
            &endpoint,
            "--deadline",
            "20",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counts = receiver.log().id_counts();
    assert_eq!(counts.len(), 300, "every event id arrived at least once");
    let duplicates: u64 = counts.values().map(|n| n - 1).sum();
    assert_eq!(
        duplicates, 0,
        "the killed request was never accepted, so nothing doubled"
    );
}

#[test]
fn clean_removes_state_but_keeps_the_configuration() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("config.toml"), "mode = \"off\"\n").expect("config");
    std::fs::create_dir_all(dir.path().join("spool")).expect("spool");
    std::fs::write(dir.path().join("receipts.jsonl"), "").expect("receipts");
    std::fs::create_dir_all(dir.path().join("keys")).expect("keys");
    let out = run(dir.path(), &[], &["clean", "--dry-run"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("would remove"));
    assert!(dir.path().join("spool").exists());
    let out = run(dir.path(), &[], &["clean"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!dir.path().join("spool").exists());
    assert!(!dir.path().join("receipts.jsonl").exists());
    assert!(!dir.path().join("keys").exists());
    assert!(dir.path().join("config.toml").exists());
}

/// The install id a catalogue declares lives in Candor's folder: the same on every run, and
/// replaced after `candor clean`, as the disclosure page says.
#[test]
fn clean_replaces_the_install_id() {
    let dir = tempfile::tempdir().expect("tmp");
    let catalogue = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../candor/tests/fixtures/vendor.toml"
    );
    let install_id = |dir: &Path| {
        let out = run(
            dir,
            &[],
            &[
                "--catalogue",
                catalogue,
                "preview",
                "acme-widget",
                "--version",
                "1.0",
                "--json",
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stored = std::fs::read_to_string(dir.join("install-ids/acme-widget")).expect("stored");
        stored.trim().to_owned()
    };
    let first = install_id(dir.path());
    assert_eq!(install_id(dir.path()), first);
    std::fs::create_dir_all(dir.path().join("network")).expect("mkdir");
    std::fs::write(dir.path().join("network/acme-widget"), "1\n").expect("write");
    let out = run(dir.path(), &[], &["clean"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!dir.path().join("install-ids").exists());
    assert!(!dir.path().join("network").exists());
    assert_ne!(install_id(dir.path()), first);
}

/// An earlier run left both a network record older than the catalogue's period and 200
/// events in the spool. The next `send` must not drop its new lines silently and send the old
/// ones later: the block shows (consent off, and why), what waited is discarded and said to be,
/// and once the endpoint answers only new data goes.
#[test]
fn an_inherited_network_block_is_visible_and_discards_what_waited() {
    let dir = tempfile::tempdir().expect("tmp");
    let dead = format!("http://127.0.0.1:{}/x", dead_port());
    // 200 events spooled by an earlier run against an endpoint that never answered.
    let old: Vec<String> = (0..200)
        .map(|n| line("working_set", &n.to_string()))
        .collect();
    let file = write_lines(dir.path(), &old);
    let out = run(
        dir.path(),
        &[],
        &[
            "send",
            &file,
            "--sink",
            "json",
            "--endpoint",
            &dead,
            "--deadline",
            "0.3",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    let spooled = |dir: &Path| {
        std::fs::read_dir(dir.join("spool/contrast-dotnet-agent"))
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl"))
                    .count()
            })
            .unwrap_or(0)
    };
    assert!(spooled(dir.path()) > 0);
    // …and since long enough that the catalogue's period (a day) has run out.
    let long_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        - 2 * 86_400;
    std::fs::write(
        dir.path().join("network/contrast-dotnet-agent"),
        format!("{long_ago}\n"),
    )
    .expect("record");
    let new = write_lines(dir.path(), &[line("working_set", "777")]);
    let out = run(
        dir.path(),
        &[],
        &[
            "send",
            &new,
            "--sink",
            "json",
            "--endpoint",
            &dead,
            "--deadline",
            "2",
        ],
    );
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let said = common::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{printed}{said}");
    assert!(said.contains("has not answered since"), "{said}");
    assert!(
        said.contains("200 spooled event(s) of contrast-dotnet-agent discarded"),
        "{said}"
    );
    assert_eq!(spooled(dir.path()), 0, "what waited is discarded");
    let status = run(dir.path(), &[], &["status", "contrast-dotnet-agent"]);
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(status.contains("telemetry is off"), "{status}");
    assert!(status.contains("blocking the network opts out"), "{status}");
    // The endpoint answers again: the block lifts at the start, and only the new line goes.
    let receiver = HttpReceiver::start();
    let out = run(
        dir.path(),
        &[],
        &[
            "send",
            &new,
            "--sink",
            "json",
            "--endpoint",
            &receiver.url("/ingest"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let values: Vec<String> = receiver
        .events()
        .iter()
        .map(|e| e.value.to_string())
        .collect();
    assert_eq!(values.len(), 1, "{values:?}");
    assert!(values[0].contains("777"), "{values:?}");
    assert!(!dir.path().join("network/contrast-dotnet-agent").exists());
}

/// Issue 25 item 6 through `candor send`: a long scrubbed text point is cut to its declared
/// length, and the cut never keeps part of a secret that sat near the limit (a card number, an
/// IBAN or an e-mail address after a long run of something already replaced).
#[test]
fn a_length_cut_on_the_way_out_keeps_no_part_of_a_secret() {
    let dir = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    // `os_version` is scrubbed text of at most 128 characters.
    let long_secret = "Q".repeat(4200);
    let texts = [
        format!("x password={long_secret} 4111 1111 1111 1111 tail"),
        format!("x password={long_secret} DE89 3704 0044 0532 0130 00 tail"),
        format!("x password={long_secret} \"margarethe.quist@example.org\" tail"),
        format!("x token={long_secret} 4111.1111.1111.1111 tail"),
    ];
    let lines: Vec<String> = texts
        .iter()
        .map(|t| line("os_version", &serde_json::to_string(t).expect("json")))
        .collect();
    let file = write_lines(dir.path(), &lines);
    let endpoint = receiver.url("/ingest");
    let out = run(
        dir.path(),
        &[],
        &[
            "send",
            &file,
            "--sink",
            "json",
            "--endpoint",
            &endpoint,
            "--deadline",
            "10",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = receiver.events();
    assert_eq!(events.len(), texts.len(), "{events:?}");
    for event in &events {
        let sent = event.value["data"].as_str().expect("text data");
        assert!(sent.chars().count() <= 128, "{sent:?}");
        for fragment in [
            "QQQQ",
            "4111",
            "1111",
            "3704",
            "0044",
            "0532",
            "0130",
            "margarethe",
            "quist",
        ] {
            assert!(
                !sent.contains(fragment),
                "part of a secret left in a cut value: {fragment} in {sent:?}"
            );
        }
    }
    // What the receiver saw on the wire, not only what it decoded.
    let log = receiver.log();
    for body in &log.bodies {
        let body = String::from_utf8_lossy(body);
        assert!(!body.contains("4111") && !body.contains("3704"), "{body}");
    }
}
