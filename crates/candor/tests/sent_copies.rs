//! The facade keeps a copy of each accepted payload in Candor's folder, named in its receipt,
//! for as long as the catalogue allows (never longer than Candor's default).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use candor::{Environment, Input, SinkSpec, Telemetry};
use candor_testkit::HttpReceiver;

fn catalogue(local_copy_days: Option<u32>) -> Arc<candor::Catalogue> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vendor.toml");
    let mut text = std::fs::read_to_string(path).expect("fixture");
    if let Some(days) = local_copy_days {
        text = text.replace(
            "description = \"Kept for a while.\"",
            &format!("description = \"Kept for a while.\"\nlocal_copy_days = {days}"),
        );
    }
    Arc::new(candor::Catalogue::from_toml_str(&text, "vendor.toml").expect("valid"))
}

fn send(state: &Path, catalogue: Arc<candor::Catalogue>, endpoint: &str) {
    let t = Telemetry::builder(catalogue)
        .version("1.0")
        .state_dir(state)
        .environment(Environment::from_pairs(std::iter::empty::<(&str, &str)>()))
        .sink(SinkSpec::Json {
            endpoint: endpoint.to_owned(),
        })
        .build()
        .expect("telemetry");
    t.record("open_files", Input::Count(3));
    let status = t.shutdown(Duration::from_secs(10));
    assert_eq!(
        status.sent.as_ref().map(|s| s.delivered),
        Some(1),
        "{status:#?}"
    );
}

fn copies(state: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(state.join("sent/acme-widget"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A copy made `days` ago, as an earlier run would have left it.
fn plant_old_copy(state: &Path, days: u64) -> String {
    let millis = (SystemTime::now() - Duration::from_secs(days * 24 * 3600))
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    let name = format!("{millis}-00112233445566ff.jsonl");
    let dir = state.join("sent/acme-widget");
    std::fs::create_dir_all(&dir).expect("folder");
    std::fs::write(dir.join(&name), b"{}\n").expect("plant");
    name
}

#[test]
fn each_accepted_payload_is_kept_and_named_in_its_receipt() {
    let receiver = HttpReceiver::start();
    let state = tempfile::tempdir().expect("tmp");
    send(state.path(), catalogue(None), &receiver.url("/ingest"));
    let names = copies(state.path());
    assert_eq!(names.len(), 1, "{names:?}");
    let receipts = std::fs::read_to_string(state.path().join("receipts.jsonl")).expect("log");
    let receipt: serde_json::Value =
        serde_json::from_str(receipts.lines().next().expect("a receipt")).expect("json");
    assert_eq!(receipt["copy"], names[0].as_str());
    // Byte for byte what the receiver got (it records bodies decompressed).
    let kept = std::fs::read(state.path().join("sent/acme-widget").join(&names[0])).expect("copy");
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&kept[..]), &mut inflated)
        .expect("gzip");
    assert_eq!(receiver.log().bodies, [inflated]);
    // Candor's default keeps a copy 20 days old.
    let old = plant_old_copy(state.path(), 20);
    send(state.path(), catalogue(None), &receiver.url("/ingest"));
    assert!(copies(state.path()).contains(&old));
}

#[test]
fn a_catalogue_that_declares_fewer_days_has_older_copies_removed() {
    let receiver = HttpReceiver::start();
    let state = tempfile::tempdir().expect("tmp");
    let old = plant_old_copy(state.path(), 3);
    send(state.path(), catalogue(Some(2)), &receiver.url("/ingest"));
    let names = copies(state.path());
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(!names.contains(&old));
}
