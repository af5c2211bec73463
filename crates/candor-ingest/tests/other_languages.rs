//! A producer written in another language from the published JSON Schema alone
//! (`docs/schema/event.schema.json`) is read exactly as Candor's own transport: Python 3 writes
//! events of every value kind (`tests/python/producer.py`) and posts them to a real
//! `candor serve` on loopback, which accepts and stores them; a payload the schema refuses is
//! refused with its reason. Without Python 3 the test says so on stderr (and fails under CI,
//! where `cargo xtask test` installs it).

#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

use candor_ingest::IngestConfig;
use serde_json::Value;
use support::*;

#[test]
fn a_python_producer_following_the_schema_is_accepted_and_stored() {
    let Some(python) = candor_testkit::native::python3() else {
        return;
    };
    let db = Db::sqlite();
    let running = serve(&db, IngestConfig::default());
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python");
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/schema/event.schema.json"
    );
    let output = Command::new(python)
        .arg(format!("{dir}/producer.py"))
        .arg(schema)
        .arg(url(&running, "/v1/events"))
        .arg(revision("contrast-dotnet-agent"))
        .env_clear()
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the producer failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let batch = |name: &str| lines.iter().find(|l| l["batch"] == name).unwrap().clone();

    // Every kind of value, written by Python as the schema says: all accepted.
    let every = batch("every_kind");
    let written = every["schema_ok"].as_array().unwrap();
    assert!(written.iter().all(|ok| *ok == true), "{every}");
    assert_eq!(every["status"], 200, "{every}");
    assert_eq!(every["reply"]["accepted"], written.len(), "{every}");
    assert_eq!(every["reply"]["refused"], serde_json::json!([]), "{every}");
    let gzip = batch("gzip");
    assert_eq!(
        (gzip["status"].clone(), gzip["reply"]["accepted"].clone()),
        (200.into(), 1.into()),
        "{gzip}"
    );

    // The schema refuses both items of this batch, and so does the receiving end, each with
    // the reason: a field the schema does not list, a negative count.
    let refused = batch("refused");
    assert_eq!(
        refused["schema_ok"],
        serde_json::json!([false, false]),
        "{refused}"
    );
    assert_eq!(
        refused["status"], 422,
        "nothing in it was accepted: {refused}"
    );
    assert_eq!(refused["reply"]["accepted"], 0, "{refused}");
    assert_eq!(
        reasons(&refused["reply"]),
        ["malformed", "malformed"],
        "{refused}"
    );
    let details: Vec<&str> = refused["reply"]["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["detail"].as_str().unwrap())
        .collect();
    assert!(details[0].contains("client_ip"), "{details:?}");
    assert!(details[1].contains("-1"), "{details:?}");

    // Stored: the report counts each point Python sent.
    let report = report(&running, "contrast-dotnet-agent");
    assert_eq!(point_count(&report, "working_set"), 2, "{report}");
    for point in [
        "assess_enabled",
        "contrast_instance",
        "agent_version",
        "os_version",
        "process_running_time",
        "machine_id",
        "non_default_setting_names",
        "contrast_http_status_codes",
        "contrast_http_response_time",
        "iis_apps_per_pool",
        "protect_rule_modes",
        "sensor_exceptions",
    ] {
        assert_eq!(point_count(&report, point), 1, "{point}: {report}");
    }
}
