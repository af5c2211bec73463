//! End-to-end privacy proofs, with the real binary and real receivers on loopback:
//! canaries never leave, preview equals wire, and every payload fits the published schema.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use candor_demo::canaries_for;
use candor_testkit::HttpReceiver;

/// The machine's user as the child process sees it; the demos plant the machine's own name,
/// so this is what must never leave (and not the fixed fallback name).
const USER: &str = "mara-vollmer-canary";

fn planted() -> [String; 6] {
    canaries_for(Some(USER), Some(&format!("/home/{USER}")))
}

fn candor(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_candor"))
        .env_clear()
        .env("CANDOR_CONFIG_DIR", dir)
        .env("USER", USER)
        .env("HOME", format!("/home/{USER}"))
        .args(args)
        .output()
        .expect("candor runs")
}

fn ok(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(files(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

fn assert_no_canary(what: &str, bytes: &[u8]) {
    for canary in planted()
        .iter()
        .map(String::as_str)
        .chain(["zq-canary-user"])
    {
        let needle = canary.as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{canary} found in {what}"
        );
    }
}

fn schema_validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schema/event.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("committed schema"))
            .expect("JSON");
    jsonschema::validator_for(&schema).expect("a valid schema")
}

#[test]
fn canaries_never_leave_either_demo() {
    for product in ["aspire-dashboard", "contrast-dotnet-agent"] {
        let dir = tempfile::tempdir().expect("tmp");
        let receiver = HttpReceiver::start();
        let endpoint = receiver.url("/ingest");
        let out = ok(&candor(
            dir.path(),
            &[
                "demo",
                product,
                "--sink",
                "json",
                "--endpoint",
                &endpoint,
                "--seconds",
                "0.5",
                "--json",
            ],
        ));
        let summary: serde_json::Value = serde_json::from_str(&out).expect("summary");
        let sent = summary["sent"].as_u64().expect("sent");
        assert!(sent > 10, "{product}: only {sent} sent");
        let log = receiver.log();
        assert_eq!(log.events.len() as u64, sent);
        for body in &log.bodies {
            assert_no_canary(&format!("{product}: a payload"), body);
        }
        // The machine's own user name was planted, and the scrubber replaced it.
        assert!(
            log.bodies
                .iter()
                .any(|b| b.windows(6).any(|w| w == b"[user]")),
            "{product}: no user name was planted and scrubbed"
        );
        // Nor in anything left on disk: spool, receipts, keys.
        for file in files(dir.path()) {
            assert_no_canary(
                &file.display().to_string(),
                &std::fs::read(&file).expect("read"),
            );
        }
        // The default file sink too.
        let local = tempfile::tempdir().expect("tmp");
        ok(&candor(
            local.path(),
            &["demo", product, "--seconds", "0.3"],
        ));
        let written = files(local.path());
        assert!(
            written
                .iter()
                .any(|f| f.ends_with(format!("{product}.jsonl"))),
            "{written:?}"
        );
        for file in written {
            assert_no_canary(
                &file.display().to_string(),
                &std::fs::read(&file).expect("read"),
            );
        }
    }
}

#[test]
fn every_payload_validates_against_the_published_event_schema() {
    let validator = schema_validator();
    let mut kinds = std::collections::BTreeSet::new();
    for product in ["aspire-dashboard", "contrast-dotnet-agent"] {
        let dir = tempfile::tempdir().expect("tmp");
        let receiver = HttpReceiver::start();
        let endpoint = receiver.url("/ingest");
        ok(&candor(
            dir.path(),
            &[
                "demo",
                product,
                "--sink",
                "json",
                "--endpoint",
                &endpoint,
                "--seconds",
                "0.2",
            ],
        ));
        let log = receiver.log();
        assert!(!log.bodies.is_empty());
        for body in &log.bodies {
            let events: Vec<serde_json::Value> = serde_json::from_slice(body).expect("JSON array");
            for event in events {
                if let Err(e) = validator.validate(&event) {
                    panic!("{product}: {event} does not fit the schema: {e}");
                }
                kinds.insert(event["value"]["kind"].as_str().expect("kind").to_owned());
            }
        }
    }
    // Between them the two demos send every kind of value the envelope knows.
    assert_eq!(kinds.len(), 16, "{kinds:?}");
    // The validator is not a rubber stamp.
    let bad = serde_json::json!({"event_id": "x", "point": "p", "value": {"kind": "count", "data": "many"}});
    assert!(validator.validate(&bad).is_err());
}

#[test]
fn preview_equals_wire() {
    let dir = tempfile::tempdir().expect("tmp");
    let inputs = dir.path().join("inputs.jsonl");
    let line = |point: &str, value: &str| {
        format!(
            r#"{{"product":"aspire-dashboard","product_version":"9.3","point":"{point}","value":{value}}}"#
        )
    };
    let lines = [
        line(
            "page_navigation",
            r#"{"page":"traces","view":"C:\\Users\\mara-vollmer-canary\\x","filter_count":"3","secret":"y"}"#,
        ),
        line("resource_types", r#"["project","my-thing","container"]"#),
        line(
            "request_user_agent",
            r#""Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0""#,
        ),
        line("invoked_commands", r#""resource-restart""#),
        line("request_language", r#""de-CH""#),
        line("dashboard_language", r#""en""#),
        line("resource_restart_time", "[120, 80, 400, 95]"),
        line("otel_processing_time", "[1.5, 2.5]"),
        line(
            "unhandled_exception",
            r#"{"type_name":"System.Exception","message":"boom for zoe.canary@example.org","stack":"   at Aspire.Dashboard.X.Y()\n   at Customer.Z()"}"#,
        ),
    ];
    std::fs::write(&inputs, lines.join("\n")).expect("write");
    let inputs = inputs.to_str().expect("utf-8");
    let host = ["--host", "visual-studio=17.14", "--browser-open"];
    let mut args = vec![
        "preview",
        "aspire-dashboard",
        "--version",
        "9.3",
        "--inputs",
        inputs,
        "--json",
    ];
    args.extend(host);
    let preview: serde_json::Value =
        serde_json::from_str(&ok(&candor(dir.path(), &args))).expect("JSON");
    assert_eq!(preview["sends"], true, "{preview}");
    let receiver = HttpReceiver::start();
    let endpoint = receiver.url("/ingest");
    let mut args = vec!["send", inputs, "--sink", "json", "--endpoint", &endpoint];
    args.extend(host);
    ok(&candor(dir.path(), &args));
    let previewed: std::collections::BTreeMap<String, serde_json::Value> = preview["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["point"].as_str().expect("point").to_owned(),
                e["value"].clone(),
            )
        })
        .collect();
    let wire: std::collections::BTreeMap<String, serde_json::Value> = receiver
        .events()
        .into_iter()
        .map(|e| (e.point, e.value))
        .collect();
    assert_eq!(previewed.len(), 9, "{previewed:#?}");
    assert_eq!(previewed, wire);
}
