//! A new event is made only through the catalogue: undeclared points, unknown runtime lines and
//! values of the wrong shape are refused, and the envelope cannot claim what the catalogue
//! does not say.

use candor_schema::{Catalogue, Event, Stamp, Timestamp, Value};

fn agent() -> &'static Catalogue {
    candor_schema::builtin::catalogues()
        .expect("built-ins")
        .get("contrast-dotnet-agent")
        .expect("agent")
}

fn stamp() -> Stamp {
    Stamp {
        event_id: "0".repeat(32),
        time: Timestamp::parse("2026-11-21T09:30:00.000Z").expect("a time"),
        product_version: "21.1.2".into(),
        runtime_line: "framework".into(),
        install_id: Some("f".repeat(32)),
    }
}

#[test]
fn a_declared_point_with_a_fitting_value_makes_an_event_from_the_catalogue() {
    let event = Event::declared(agent(), "working_set", Value::Count(4096), stamp()).expect("ok");
    assert_eq!(event.product(), "contrast-dotnet-agent");
    assert_eq!(event.catalogue_revision(), agent().spec().revision);
    assert_eq!(event.point(), "working_set");
}

#[test]
fn the_install_id_is_dropped_when_the_catalogue_does_not_declare_one() {
    assert!(!agent().spec().collection.install_id);
    // The agent's deletion key is its machine id, which each event carries as its install id.
    let event = Event::declared(agent(), "working_set", Value::Count(1), stamp()).expect("ok");
    assert_eq!(event.install_id(), Some("f".repeat(32).as_str()));

    let mut spec = agent().spec().clone();
    spec.collection.deletion_key = candor_schema::DeletionKey::None;
    let keyless = Catalogue::from_spec(spec.clone(), "without key").expect("valid");
    let event = Event::declared(&keyless, "working_set", Value::Count(1), stamp()).expect("ok");
    assert_eq!(event.install_id(), None);

    spec.collection.install_id = true;
    let declaring = Catalogue::from_spec(spec, "with id").expect("valid");
    let event = Event::declared(&declaring, "working_set", Value::Count(1), stamp()).expect("ok");
    assert_eq!(event.install_id(), Some("f".repeat(32).as_str()));
}

#[test]
fn undeclared_points_unknown_lines_and_wrong_shapes_are_refused() {
    let refused = |point: &str, value: Value, stamp: Stamp| {
        Event::declared(agent(), point, value, stamp).expect_err("refused")
    };
    let e = refused("screen_resolution", Value::Count(1080), stamp());
    assert!(e.problem.contains("declares no such point"), "{e}");
    let e = refused("working_set", Value::Text("lots".into()), stamp());
    assert!(e.problem.contains("declared as count"), "{e}");
    let mut other_line = stamp();
    other_line.runtime_line = "java".into();
    let e = refused("working_set", Value::Count(1), other_line);
    assert!(e.problem.contains("runtime line"), "{e}");
    let mut bad_version = stamp();
    bad_version.product_version = "latest; rm -rf".into();
    let e = refused("working_set", Value::Count(1), bad_version);
    assert!(e.problem.contains("version"), "{e}");
}

#[test]
fn an_event_read_from_the_wire_keeps_every_part_and_refuses_unknown_fields() {
    let event = Event::declared(agent(), "working_set", Value::Count(4096), stamp()).expect("ok");
    let wire = serde_json::to_value(&event).expect("encode");
    assert_eq!(wire["time"], "2026-11-21T09:30:00.000Z");
    let read: Event = serde_json::from_value(wire.clone()).expect("decode");
    assert_eq!(read, event);
    let parts = read.into_parts();
    assert_eq!(parts.value, Value::Count(4096));
    assert_eq!(parts.time, event.time());
    let mut extra = wire.clone();
    extra["ip"] = "203.0.113.1".into();
    assert!(serde_json::from_value::<Event>(extra).is_err());
    let mut untimely = wire;
    untimely["time"] = "yesterday".into();
    assert!(serde_json::from_value::<Event>(untimely).is_err());
}
