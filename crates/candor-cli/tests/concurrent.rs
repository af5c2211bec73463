//! Many processes, one folder: four `candor send` runs of 10,000 events each, started at
//! once against one Candor folder and one real receiver on loopback. The receiver must get
//! every event exactly once (counted by value, never deduplicated by id), and every process
//! must hash with the same key.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Instant;

use candor_testkit::HttpReceiver;

mod common;

const PROCESSES: u64 = 4;
const EVENTS: u64 = 10_000;

#[test]
fn four_processes_on_one_folder_lose_nothing_and_duplicate_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let state = dir.path().join("candor");
    let receiver = HttpReceiver::start();
    let endpoint = receiver.url("/ingest");
    let files: Vec<_> = (0..PROCESSES)
        .map(|p| {
            let mut lines: Vec<String> = (0..EVENTS)
                .map(|i| {
                    format!(
                        r#"{{"product":"contrast-dotnet-agent","product_version":"21.1.2","runtime_line":"framework","point":"working_set","value":{}}}"#,
                        p * 1_000_000 + i
                    )
                })
                .collect();
            // One keyed hash per process, of the same value: the key must be one.
            lines.push(r#"{"product":"aspire-dashboard","product_version":"9.3","point":"invoked_commands","value":"resource-restart"}"#.to_owned());
            let path = dir.path().join(format!("events-{p}.jsonl"));
            std::fs::write(&path, lines.join("\n") + "\n").expect("write");
            path
        })
        .collect();
    let started = Instant::now();
    let children: Vec<_> = files
        .iter()
        .map(|file| {
            Command::new(env!("CARGO_BIN_EXE_candor"))
                .env_clear()
                .env("CANDOR_CONFIG_DIR", &state)
                .args(["send", file.to_str().expect("utf-8")])
                .args(["--sink", "json", "--endpoint", &endpoint])
                .args(["--deadline", "120"])
                .args(["--host", "visual-studio=17.14", "--browser-open"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("candor starts")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("candor ends");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let took = started.elapsed();
    let events = receiver.events();
    let mut by_value: BTreeMap<String, u64> = BTreeMap::new();
    let mut hashes = BTreeMap::new();
    for event in &events {
        match event.point.as_str() {
            "working_set" => *by_value.entry(event.value.to_string()).or_default() += 1,
            "invoked_commands" => *hashes.entry(event.value.to_string()).or_insert(0) += 1,
            other => panic!("unexpected point {other}"),
        }
    }
    let duplicates: u64 = by_value.values().map(|n| n - 1).sum();
    eprintln!(
        "4 processes x {EVENTS} events: {} received, {} distinct, {duplicates} duplicates, {took:?}",
        events.len(),
        by_value.len()
    );
    assert_eq!(duplicates, 0, "an event was delivered twice");
    assert_eq!(
        by_value.len() as u64,
        PROCESSES * EVENTS,
        "events were lost"
    );
    assert_eq!(events.len() as u64, PROCESSES * EVENTS + PROCESSES);
    assert_eq!(
        hashes.len(),
        1,
        "processes hashed with different keys: {hashes:?}"
    );
    assert_eq!(hashes.values().sum::<u64>(), PROCESSES);
    let keys: Vec<_> = std::fs::read_dir(state.join("keys"))
        .expect("keys")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        keys.iter()
            .filter(|k| k.starts_with("aspire-dashboard"))
            .count(),
        1,
        "{keys:?}"
    );
    // Nothing is left over, and no temporary file of another process was lost.
    let left: Vec<_> = std::fs::read_dir(state.join("spool/contrast-dotnet-agent"))
        .expect("spool")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jsonl") || n.starts_with(".tmp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The issue's reproduction: six `candor send` processes of 10,000 lines each on one folder,
/// against a real `candor serve`. Together they overflow the spool's caps, so some events are
/// dropped (and said to be); but no batch is counted twice or removed while another process
/// delivers it: delivered + dropped = sent, and the server stores exactly what was delivered,
/// each event once.
#[test]
fn six_processes_under_the_caps_account_for_every_event_exactly_once() {
    use std::process::Stdio;
    const SIX: u64 = 6;
    let dir = tempfile::tempdir().expect("tmp");
    let state = dir.path().join("candor");
    let server = tempfile::tempdir().expect("server folder");
    let database = format!("sqlite:{}", server.path().join("ingest.db").display());
    let serve = common::Serve::start(server.path(), &database, &[]);
    let endpoint = serve.url("/v1/events");
    let files: Vec<_> = (0..SIX)
        .map(|p| {
            let lines: Vec<String> = (0..EVENTS)
                .map(|i| common::agent_line("working_set", &(p * 1_000_000 + i).to_string()))
                .collect();
            let path = dir.path().join(format!("events-{p}.jsonl"));
            common::write_lines(&path, &lines);
            path
        })
        .collect();
    let children: Vec<_> = files
        .iter()
        .map(|file| {
            Command::new(env!("CARGO_BIN_EXE_candor"))
                .env_clear()
                .env("CANDOR_CONFIG_DIR", &state)
                .args(["send", file.to_str().expect("utf-8")])
                .args(["--sink", "json", "--endpoint", &endpoint])
                .args(["--deadline", "120"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("candor starts")
        })
        .collect();
    let (mut delivered, mut dropped) = (0u64, 0u64);
    for child in children {
        let out = child.wait_with_output().expect("candor ends");
        let printed = String::from_utf8_lossy(&out.stdout).into_owned();
        let number = |after: &str| -> u64 {
            printed
                .split(after)
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        delivered += number("delivered ");
        dropped += number("dropped: ");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{printed}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if number("dropped: ") > 0 {
            assert!(printed.contains("the spool was over its caps"), "{printed}");
        }
    }
    let stored = serve.stored("contrast-dotnet-agent", None, None);
    eprintln!(
        "{SIX} processes x {EVENTS} lines: delivered {delivered}, dropped {dropped}, stored {stored}"
    );
    assert_eq!(
        delivered + dropped,
        SIX * EVENTS,
        "every event is accounted for once"
    );
    assert_eq!(
        stored, delivered,
        "the server holds exactly what was delivered"
    );
}
