//! A vendor's own catalogue through `candor codegen`: the generated recorder compiles against
//! the facade, each method records its point, and the runtime keeps the catalogue's promises
//! (an install id on every event when declared, none otherwise).

#[allow(unreachable_pub)]
#[rustfmt::skip]
#[path = "fixtures/vendor_telemetry.rs"]
mod telemetry;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use candor::{Catalogue, Environment, Name, RawException, SinkSpec, Telemetry};
use telemetry::{AcmeWidgetPoint, AcmeWidgetRecorder};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn vendor() -> Arc<Catalogue> {
    Arc::new(Catalogue::from_path(&fixture("vendor.toml")).expect("the fixture is valid"))
}

fn build(catalogue: Arc<Catalogue>, state: &Path, version: &str) -> Telemetry {
    Telemetry::builder(catalogue)
        .version(version)
        .state_dir(state)
        .environment(Environment::from_pairs([(
            "CONTRAST_DOTNET_TELEMETRY_OPTOUT",
            "0",
        )]))
        .sink(SinkSpec::File {
            path: state.join("events.jsonl"),
        })
        .batch_wait(Duration::from_millis(10))
        .build()
        .expect("telemetry")
}

/// Every delivered event as JSON.
fn delivered(state: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(state.join("events.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("one event per line"))
        .collect()
}

/// The committed generated file is what the generator makes now (the drift check `cargo
/// xtask codegen --check` runs for the built-ins, here for `candor codegen`'s output).
#[test]
fn the_generated_fixture_is_current() {
    let expected = candor_docs::recorder_module(&vendor(), candor_docs::Paths::Facade);
    let committed = std::fs::read_to_string(fixture("vendor_telemetry.rs")).expect("committed");
    assert!(
        committed == expected,
        "run `cargo run -p candor-cli -- --catalogue crates/candor/tests/fixtures/vendor.toml \
         codegen --out crates/candor/tests/fixtures/vendor_telemetry.rs`"
    );
}

#[test]
fn every_generated_method_records_its_point_with_an_install_id() {
    let state = tempfile::tempdir().expect("tmp");
    let t = build(vendor(), state.path(), "1.0");
    let r = AcmeWidgetRecorder::new(t.clone());
    r.enabled(true);
    r.edition("pro");
    r.widget_version("1.2.3");
    r.last_error("failed for alice@example.com");
    r.open_files(3);
    r.uptime(Duration::from_secs(5));
    r.save_time(vec![1.0, 2.0, 3.0]);
    r.load_time(vec![0.2, 42.0, 43.5]);
    r.workspace("/home/alice/work");
    r.plugins(&[Name::new("git").expect("name")]);
    r.status_codes(BTreeMap::from([("200".to_owned(), 2)]));
    r.rule_modes(BTreeMap::from([("xss".to_owned(), "on".to_owned())]));
    r.view(BTreeMap::from([("layout".to_owned(), "grid".to_owned())]));
    r.locale("en-US");
    r.browser("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36");
    r.r#type(RawException {
        type_name: "Acme.Boom".into(),
        message: "boom".into(),
        stack: "at Acme.Widget.Run()".into(),
        log_message: None,
    });
    r.new_point(1);
    let status = t.shutdown(Duration::from_secs(5));
    assert!(status.refused.is_empty(), "{:?}", status.refused);

    let events = delivered(state.path());
    let points: BTreeSet<&str> = events.iter().filter_map(|e| e["point"].as_str()).collect();
    let declared: BTreeSet<&str> = AcmeWidgetPoint::ALL.iter().map(|p| p.id()).collect();
    assert_eq!(points, declared);

    // `install_id = true`: every event carries the one id stored in Candor's folder.
    let stored = std::fs::read_to_string(state.path().join("install-ids/acme-widget"))
        .expect("the id is stored");
    let stored = stored.trim();
    assert_eq!(stored.len(), 32);
    for event in &events {
        assert_eq!(event["install_id"].as_str(), Some(stored), "{event}");
    }
    // The text went through privacy like any other.
    let all = serde_json::to_string(&events).expect("json");
    assert!(
        !all.contains("alice@example.com") && !all.contains("/home/alice"),
        "{all}"
    );
}

#[test]
fn the_install_id_persists_and_clean_replaces_it() {
    let state = tempfile::tempdir().expect("tmp");
    let id_of_run = |state: &Path| {
        let t = build(vendor(), state, "1.0");
        AcmeWidgetRecorder::new(t.clone()).open_files(1);
        t.shutdown(Duration::from_secs(5));
        let events = delivered(state);
        let id = events.last().expect("an event")["install_id"]
            .as_str()
            .expect("an id")
            .to_owned();
        std::fs::remove_file(state.join("events.jsonl")).expect("reset");
        id
    };
    let first = id_of_run(state.path());
    assert_eq!(
        id_of_run(state.path()),
        first,
        "the same installation keeps its id"
    );
    // `candor clean` removes the `install-id` folder with the rest of Candor's state.
    std::fs::remove_dir_all(state.path().join("install-ids")).expect("clean");
    assert_ne!(
        id_of_run(state.path()),
        first,
        "a cleaned installation is a new one"
    );
}

#[test]
fn without_install_id_declared_no_event_carries_one() {
    let state = tempfile::tempdir().expect("tmp");
    let mut spec = vendor().spec().clone();
    spec.collection.install_id = false;
    let catalogue = Arc::new(Catalogue::from_spec(spec, "no-id").expect("valid"));
    let t = build(catalogue, state.path(), "1.0");
    AcmeWidgetRecorder::new(t.clone()).open_files(1);
    t.shutdown(Duration::from_secs(5));
    let events = delivered(state.path());
    assert_eq!(events.len(), 1);
    assert!(events[0].get("install_id").is_none(), "{}", events[0]);
    assert!(!state.path().join("install-ids").exists());
}

/// The snapshot fills the vendor's own point that names a machine reading (`uptime` takes
/// `system.process_running_time`), and nothing it does not ask for.
#[test]
fn a_system_snapshot_fills_the_vendors_declared_readings() {
    let state = tempfile::tempdir().expect("tmp");
    let t = build(vendor(), state.path(), "1.0");
    let unavailable = t.record_system_snapshot();
    let status = t.shutdown(Duration::from_secs(5));
    assert!(status.refused.is_empty(), "{:?}", status.refused);
    let points: Vec<String> = delivered(state.path())
        .iter()
        .filter_map(|e| e["point"].as_str().map(str::to_owned))
        .collect();
    if unavailable.is_empty() {
        assert_eq!(points, vec!["uptime"]);
    } else {
        assert_eq!(unavailable[0].0, "uptime");
        assert!(points.is_empty());
    }
}
