//! The receiver's own event type follows the published JSON Schema: the same fields, the same
//! required ones, and every value kind the schema lists (so a kind added to the schema without
//! the receiver learning it fails here).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use candor_ingest::{ReceivedEvent, ReceivedException, ReceivedValue};
use serde_json::Value;

fn schema() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/schema/event.schema.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn every_kind() -> Vec<ReceivedValue> {
    vec![
        ReceivedValue::Flag(true),
        ReceivedValue::Enumeration("a".into()),
        ReceivedValue::Version("1.0".into()),
        ReceivedValue::Text("t".into()),
        ReceivedValue::Count(1),
        ReceivedValue::Duration(1.5),
        ReceivedValue::Distribution([("min".to_owned(), 1.0)].into()),
        ReceivedValue::Histogram(candor_ingest::ReceivedHistogram {
            count: 3,
            sum: 7.5,
            buckets: vec![(0, 1), (12, 2)],
        }),
        ReceivedValue::Hashed("ab".into()),
        ReceivedValue::Names(vec!["n".into()]),
        ReceivedValue::LabelCounts([("200".to_owned(), 3)].into()),
        ReceivedValue::ModeByName([("r".to_owned(), "m".to_owned())].into()),
        ReceivedValue::Properties([("k".to_owned(), "v".to_owned())].into()),
        ReceivedValue::LanguageTag("en".into()),
        ReceivedValue::UserAgent("Chrome 120 on Windows".into()),
        ReceivedValue::Exception(ReceivedException {
            type_name: "E".into(),
            message: "m".into(),
            frames: vec![],
            frames_dropped: 0,
            log_message: Some("l".into()),
        }),
    ]
}

#[test]
fn the_received_event_has_the_published_fields() {
    let schema = schema();
    let published: BTreeSet<String> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let required: BTreeSet<String> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let event = ReceivedEvent {
        event_id: "0".repeat(32),
        time: "2026-11-21T09:30:00Z".into(),
        product: "p".into(),
        product_version: "1".into(),
        runtime_line: "l".into(),
        catalogue_revision: "r".into(),
        install_id: Some("i".into()),
        point: "x".into(),
        value: ReceivedValue::Count(1),
    };
    let full = serde_json::to_value(&event).unwrap();
    let ours: BTreeSet<String> = full.as_object().unwrap().keys().cloned().collect();
    assert_eq!(ours, published);
    // Without the optional field, exactly the required ones remain.
    let minimal = serde_json::to_value(ReceivedEvent {
        install_id: None,
        ..event
    })
    .unwrap();
    let ours: BTreeSet<String> = minimal.as_object().unwrap().keys().cloned().collect();
    assert_eq!(ours, required);
    // An unknown field is refused, as the schema's `additionalProperties: false` says.
    let mut extra = full.clone();
    extra["ip"] = "203.0.113.1".into();
    assert!(serde_json::from_value::<ReceivedEvent>(extra).is_err());
}

#[test]
fn the_received_value_knows_every_published_kind() {
    let schema = schema();
    let published: BTreeSet<String> = schema["$defs"]["Value"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v["properties"]["kind"]["const"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let ours: BTreeSet<String> = every_kind()
        .iter()
        .map(|v| v.kind_name().to_owned())
        .collect();
    assert_eq!(ours, published);
    // Each round-trips through the wire form the schema describes.
    for value in every_kind() {
        let json = serde_json::to_value(&value).unwrap();
        assert_eq!(json["kind"], value.kind_name());
        assert_eq!(
            serde_json::from_value::<ReceivedValue>(json).unwrap(),
            value
        );
    }
}
