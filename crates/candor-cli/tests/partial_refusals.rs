//! A receiver that takes a batch but refuses some of its events one by one: `candor serve`
//! checking against a catalogue in which one point is not in effect for the version sent. The
//! sender reads the answer (JSON's `refused` list, OTLP's partial success), counts those
//! events as refused under their own cause, says so, exits 1, and its receipt lists only what
//! was accepted.

mod common;

use common::{Serve, agent_line, run, stderr, write_lines};

const AGENT: &str = "contrast-dotnet-agent";

/// The agent's catalogue as a server that no longer takes `working_set` from 21.x holds it.
fn narrowed_catalogue(dir: &std::path::Path) -> String {
    let source = candor_schema::builtin::SOURCES
        .iter()
        .find(|(name, _)| name.starts_with("contrast"))
        .expect("the agent's catalogue")
        .1;
    let block = source
        .find("id = \"working_set\"")
        .expect("working_set is declared");
    let gate = source[block..]
        .find("gates.framework = { after = \"2020.8.3\" }")
        .expect("its framework gate")
        + block;
    let narrowed = format!(
        "{}gates.framework = {{ after = \"30.0.0\" }}{}",
        &source[..gate],
        &source[gate + "gates.framework = { after = \"2020.8.3\" }".len()..]
    );
    let path = dir.join("agent.toml");
    std::fs::write(&path, narrowed).expect("write");
    path.to_str().expect("utf-8").to_owned()
}

fn receipts(dir: &std::path::Path) -> Vec<serde_json::Value> {
    let out = run(dir, &[], &["receipts", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .filter(|r: &serde_json::Value| r.get("event_ids").is_some())
        .collect()
}

#[test]
fn events_refused_one_by_one_are_seen_counted_and_not_receipted() {
    let server = tempfile::tempdir().expect("server folder");
    let catalogue = narrowed_catalogue(server.path());
    let database = format!("sqlite:{}", server.path().join("ingest.db").display());
    let serve = Serve::start(server.path(), &database, &["--catalogue", &catalogue]);
    for (sink, endpoint) in [
        ("json", serve.url("/v1/events")),
        ("otlp-http", serve.url("")),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let events = write_lines(
            &dir.path().join("events.jsonl"),
            &[
                agent_line("working_set", "52428800"),
                agent_line("in_container", "false"),
            ],
        );
        let out = run(
            dir.path(),
            &[],
            &["send", &events, "--sink", sink, "--endpoint", &endpoint],
        );
        let printed = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{sink}: {printed}{}",
            stderr(&out)
        );
        assert!(
            printed.contains("delivered 1 event(s)")
                && printed.contains("1 refused by the receiver"),
            "{sink}: {printed}"
        );
        assert!(
            printed.contains(
                "1 event(s): the receiver took the batch but refused these events one by one"
            ),
            "{sink}: {printed}"
        );
        assert!(
            stderr(&out).contains("refused by the receiver"),
            "{}",
            stderr(&out)
        );
        let receipts = receipts(dir.path());
        assert_eq!(receipts.len(), 1, "{sink}: {receipts:?}");
        let receipt = &receipts[0];
        assert_eq!(receipt["events"], 1, "{sink}: {receipt}");
        assert_eq!(receipt["refused"], 1, "{sink}: {receipt}");
        if sink == "json" {
            // The JSON answer names the event: only the accepted one is receipted.
            assert_eq!(
                receipt["event_ids"].as_array().expect("ids").len(),
                1,
                "{receipt}"
            );
            assert_eq!(
                receipt["refused_ids"].as_array().expect("ids").len(),
                1,
                "{receipt}"
            );
            assert_ne!(receipt["event_ids"][0], receipt["refused_ids"][0]);
        }
        // The problem is on record too, with what the receiver said.
        let out = run(dir.path(), &[], &["receipts"]);
        let listed = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            listed.contains("refused 1 of 2 event(s) one by one"),
            "{sink}: {listed}"
        );
    }
    assert_eq!(serve.stored(AGENT, None, None), 2, "one of each send");
}
