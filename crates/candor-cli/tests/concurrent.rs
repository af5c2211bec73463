//! Many processes, one folder: four `candor send` runs of 10,000 events each, started at
//! once against one Candor folder and one real receiver on loopback. The receiver must get
//! every event exactly once (counted by value, never deduplicated by id), and every process
//! must hash with the same key.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Instant;

use candor_testkit::HttpReceiver;

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
        .filter(|n| n != ".lock")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
