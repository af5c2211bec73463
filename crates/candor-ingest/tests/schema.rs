//! The receiving end reads the one event type (`candor_schema::Event`) as the published JSON
//! Schema gives it: the same fields, the same required ones, and every value kind the schema
//! lists (so a kind added to the schema without the receiver learning it fails here).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use candor_schema::{Event, ExceptionValue, HistogramValue, Statistic, Value as Data};
use serde_json::Value;

fn schema() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/schema/event.schema.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn every_kind() -> Vec<Data> {
    vec![
        Data::Flag(true),
        Data::Enumeration("a".into()),
        Data::Version("1.0".into()),
        Data::Text("t".into()),
        Data::Count(1),
        Data::Duration(1.5),
        Data::Distribution([(Statistic::Min, 1.0)].into()),
        Data::Histogram(HistogramValue {
            count: 3,
            sum: 7.5,
            buckets: vec![(0, 1), (12, 2)],
        }),
        Data::Hashed("ab".into()),
        Data::Names(vec!["n".into()]),
        Data::LabelCounts([("200".to_owned(), 3)].into()),
        Data::ModeByName([("r".to_owned(), "m".to_owned())].into()),
        Data::Properties([("k".to_owned(), "v".to_owned())].into()),
        Data::LanguageTag("en".into()),
        Data::UserAgent("Chrome 120 on Windows".into()),
        Data::Exception(ExceptionValue {
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
    let agent = candor_schema::builtin::catalogues().unwrap();
    let agent = agent.get("contrast-dotnet-agent").unwrap();
    let stamp = candor_schema::Stamp {
        event_id: "0".repeat(32),
        time: candor_schema::Timestamp::parse("2026-11-21T09:30:00Z").unwrap(),
        product_version: "21.1.2".into(),
        runtime_line: "framework".into(),
        install_id: Some("f".repeat(32)),
    };
    let event = Event::declared(agent, "working_set", Data::Count(1), stamp).unwrap();
    let full = serde_json::to_value(&event).unwrap();
    let ours: BTreeSet<String> = full.as_object().unwrap().keys().cloned().collect();
    assert_eq!(ours, published);
    // Without the optional field, exactly the required ones remain.
    let mut minimal = full.clone();
    minimal.as_object_mut().unwrap().remove("install_id");
    assert!(serde_json::from_value::<Event>(minimal.clone()).is_ok());
    let ours: BTreeSet<String> = minimal.as_object().unwrap().keys().cloned().collect();
    assert_eq!(ours, required);
    // An unknown field is refused, as the schema's `additionalProperties: false` says.
    let mut extra = full.clone();
    extra["ip"] = "203.0.113.1".into();
    assert!(serde_json::from_value::<Event>(extra).is_err());
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
        assert_eq!(serde_json::from_value::<Data>(json).unwrap(), value);
    }
}
