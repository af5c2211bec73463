//! A hostile client against the receiving end: values that smuggle personal data past the
//! catalogue's grammar.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod support;

use candor_ingest::IngestConfig;
use serde_json::{Value, json};
use support::*;

fn reasons(reply: &Value) -> Vec<String> {
    reply["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap().to_owned())
        .collect()
}

/// A value the sender would have refused as personal (names, labels, modes and versions are
/// sent verbatim, so the sender checks them instead of scrubbing) is refused on arrival too,
/// even though it fits the name grammar's characters.
#[test]
fn verbatim_values_holding_personal_data_are_refused_on_arrival() {
    let db = Db::sqlite();
    let running = serve(&db, IngestConfig::default());
    let names = |name: &str| {
        agent_point(
            "non_default_setting_names",
            json!({"kind": "names", "data": [name]}),
        )
    };
    let smuggled = vec![
        names("/home/alice.smith/.ssh/id_rsa"),
        names("10.20.30.40"),
        names("aa:bb:cc:dd:ee:ff"),
        names("ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"),
        agent_point(
            "contrast_http_status_codes",
            json!({"kind": "label_counts", "data": {"192.168.1.20": 3}}),
        ),
        agent_point(
            "protect_rule_modes",
            json!({"kind": "mode_by_name", "data": {"/home/alice.smith/rules": "block"}}),
        ),
        agent_point(
            "core_runtime_version",
            json!({"kind": "version", "data": "8.0.1+alice-laptop.corp.example.com"}),
        ),
    ];
    let (status, reply) = post_events(&running, &smuggled);
    assert_eq!(status, 422, "{reply}");
    let reasons = reasons(&reply);
    assert_eq!(reasons.len(), smuggled.len(), "{reply}");
    assert!(
        reasons
            .iter()
            .all(|r| r == "personal_data" || r == "out_of_bounds"),
        "{reply}"
    );
    assert!(reasons.iter().any(|r| r == "personal_data"), "{reply}");

    // What a real sender sends still passes: .NET names and four-part versions.
    let clean = vec![
        names("System.Net.Http"),
        agent_point(
            "contrast_http_status_codes",
            json!({"kind": "label_counts", "data": {"503": 3, "200": 10}}),
        ),
        agent_point(
            "protect_rule_modes",
            json!({"kind": "mode_by_name", "data": {"sql-injection": "block"}}),
        ),
        agent_point(
            "core_runtime_version",
            json!({"kind": "version", "data": "8.0.0.0"}),
        ),
    ];
    let (status, reply) = post_events(&running, &clean);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["accepted"], clean.len(), "{reply}");
}
