//! A point past its expiry is refused by the runtime a host uses, counted with its cause, and
//! never delivered; the points around it go out as before.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use candor::status::{Expired, Rejected};
use candor::{Catalogue, Environment, Input, SinkSpec, Telemetry};

/// The vendor fixture with `enabled` stopped on 2000-01-01, `edition` stopped at version 2.0
/// and `open_files` stopping on the last day a catalogue can name.
fn catalogue() -> Arc<Catalogue> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vendor.toml");
    let text = std::fs::read_to_string(path).expect("fixture");
    let add = |text: String, id: &str, expires: &str| {
        let anchor = format!("id = \"{id}\"\n");
        assert!(text.contains(&anchor), "{id}");
        text.replace(&anchor, &format!("{anchor}expires = {expires}\n"))
    };
    let text = add(text, "enabled", r#"{ date = "2000-01-01" }"#);
    let text = add(text, "edition", r#"{ versions = { main = "2.0" } }"#);
    let text = add(text, "open_files", r#"{ date = "9999-12-31" }"#);
    Arc::new(Catalogue::from_toml_str(&text, "vendor.toml").expect("valid"))
}

fn delivered_points(state: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(state.join("events.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| {
            let event: serde_json::Value = serde_json::from_str(l).expect("one event per line");
            event["point"].as_str().expect("point").to_owned()
        })
        .collect()
}

#[test]
fn expired_points_are_refused_with_their_cause_and_never_sent() {
    let state = tempfile::tempdir().expect("tmp");
    let telemetry = Telemetry::builder(catalogue())
        .version("2.0")
        .state_dir(state.path())
        .environment(Environment::from_pairs([(
            "CONTRAST_DOTNET_TELEMETRY_OPTOUT",
            "0",
        )]))
        .sink(SinkSpec::File {
            path: state.path().join("events.jsonl"),
        })
        .batch_wait(Duration::from_millis(10))
        .build()
        .expect("telemetry");
    for _ in 0..2 {
        telemetry.record("enabled", Input::Flag(true));
    }
    telemetry.record("edition", Input::Word("pro".into()));
    telemetry.record("open_files", Input::Count(3));
    telemetry.record("widget_version", Input::Word("2.0".into()));
    let status = telemetry.shutdown(Duration::from_secs(5));
    let mut points = delivered_points(state.path());
    points.sort();
    assert_eq!(points, ["open_files", "widget_version"]);
    let mut refused: Vec<(String, Expired, u64)> = status
        .refused
        .iter()
        .map(|r| match &r.reason {
            Rejected::Expired { point, expired } => (point.clone(), expired.clone(), r.count),
            other => panic!("refused for another reason: {other}"),
        })
        .collect();
    refused.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(refused[0].0, "edition");
    assert!(
        matches!(&refused[0].1, Expired::AtVersion { line, version } if line == "main" && version.as_str() == "2.0"),
        "{refused:?}"
    );
    assert_eq!(refused[0].2, 1);
    assert_eq!(refused[1].0, "enabled");
    assert!(
        matches!(&refused[1].1, Expired::On(day) if day.to_string() == "2000-01-01"),
        "{refused:?}"
    );
    assert_eq!(refused[1].2, 2);
}
