//! Hosts in other languages, through candor-ffi's C ABI: a C program (compiled here by the
//! machine's C compiler against the generated headers) and Python through ctypes. What reaches
//! a loopback receiver is exactly what `candor preview` says would be sent for the same values
//! on this machine, with the same Candor folder (so the same hashing key).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use candor_testkit::{HttpReceiver, Received, native};
use serde_json::{Value, json};

/// Points whose reading changes from one process to the next: compared by kind only.
const PER_PROCESS: &[&str] = &["working_set", "process_running_time"];

fn preview(state: &Path, args: &[&str], inputs: &[Value]) -> Value {
    preview_with(state, &[], args, inputs)
}

fn preview_with(state: &Path, global: &[&str], args: &[&str], inputs: &[Value]) -> Value {
    let file = state.join("inputs.jsonl");
    let lines: Vec<String> = inputs.iter().map(Value::to_string).collect();
    std::fs::write(&file, lines.join("\n")).expect("inputs");
    let mut command = Command::new(env!("CARGO_BIN_EXE_candor"));
    command
        .args(global)
        .arg("preview")
        .args(args)
        .arg("--inputs")
        .arg(&file)
        .arg("--json");
    let state = state.to_str().expect("UTF-8 path");
    let output = native::run(
        command,
        &[("CANDOR_CONFIG_DIR", state)],
        Duration::from_secs(60),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("preview JSON")
}

fn line(product: &str, version: &str, point: &str, value: Value) -> Value {
    json!({"product": product, "product_version": version, "point": point, "value": value})
}

/// The agent's values as `candor preview --inputs` reads them: the same the hosts record.
fn agent_inputs() -> Vec<Value> {
    let l = |point, value| line("contrast-dotnet-agent", "21.5.1", point, value);
    vec![
        l("agent_version", json!("21.5.1")),
        l("assess_enabled", json!(true)),
        l("contrast_instance", json!("hosted")),
        l("application_framework", json!("a-framework-of-our-own")),
        l("profiler_init_time", json!(1500)),
        l("iis_app_count", json!(7)),
        l(
            "non_default_setting_names",
            json!(["AgentEnabled", "LogLevel"]),
        ),
        l("contrast_http_status_codes", json!({"200": 40, "503": 2})),
        l(
            "contrast_http_response_time",
            json!([12.5, 20.0, 18.0, 250.0, 15.5]),
        ),
        l(
            "protect_rule_modes",
            json!({"sql-injection": "block", "xss": "monitor"}),
        ),
        l(
            "sensor_exceptions",
            json!({
                "type_name": "System.InvalidOperationException",
                "message": "sensor failed for alice@example.com at C:\\Users\\alice\\app",
                "stack": "   at Contrast.Agent.Sensors.Sql.Run(String query)\n   at Customer.Secret.Billing.Charge(Card card)\n   at System.Data.SqlClient.SqlCommand.ExecuteReader()",
                "log_message": "while instrumenting /home/alice/site",
            }),
        ),
        l("screen_resolution", json!(1080)),
        l("working_set", json!("lots")),
    ]
}

fn dashboard_inputs() -> Vec<Value> {
    let l = |point, value| line("aspire-dashboard", "9.3", point, value);
    vec![
        l(
            "page_navigation",
            json!({"page": "resources", "view": "graph for bob@example.org", "api_key": "sk_live_0123456789abcdefghijklmn"}),
        ),
        l(
            "resource_types",
            json!(["project", "container", "my-own-resource"]),
        ),
        l(
            "request_user_agent",
            json!(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
            ),
        ),
        l("invoked_commands", json!("restart-resource")),
        l("request_language", json!("en-US")),
        l("resource_restart_time", json!([1.5, 2.0, 8.0])),
        l(
            "unhandled_exception",
            json!({
                "type_name": "System.NullReferenceException",
                "message": "no value for user carol (carol@example.net)",
                "stack": "   at Aspire.Dashboard.Components.Pages.Resources.OnInitialized()\n   at Acme.Internal.Secret()\n",
            }),
        ),
    ]
}

/// What arrived equals what the preview would send, point by point.
fn assert_same(received: &[Received], preview: &Value) {
    let expected = preview["events"].as_array().expect("events");
    let mut got: Vec<(&str, &Value)> = received
        .iter()
        .map(|e| (e.point.as_str(), &e.value))
        .collect();
    let mut want: Vec<(&str, &Value)> = expected
        .iter()
        .map(|e| (e["point"].as_str().expect("point"), &e["value"]))
        .collect();
    got.sort_by_key(|(p, _)| *p);
    want.sort_by_key(|(p, _)| *p);
    let got_points: Vec<&str> = got.iter().map(|(p, _)| *p).collect();
    let want_points: Vec<&str> = want.iter().map(|(p, _)| *p).collect();
    assert_eq!(got_points, want_points);
    for ((point, got), (_, want)) in got.iter().zip(&want) {
        if PER_PROCESS.contains(point) {
            assert_eq!(got["kind"], want["kind"], "{point}");
        } else {
            assert_eq!(got, want, "{point}");
        }
    }
}

fn assert_no_canaries(receiver: &HttpReceiver) {
    let log = receiver.log();
    for canary in [
        "alice",
        "bob@example.org",
        "carol@example.net",
        "Customer.Secret",
        "Acme.Internal",
        "sk_live_",
        "restart-resource",
        "a-framework-of-our-own",
    ] {
        assert!(!log.contains(canary), "{canary} reached the receiver");
    }
}

fn agent_preview(state: &Path) -> Value {
    let p = preview(
        state,
        &[
            "contrast-dotnet-agent",
            "--runtime",
            "framework",
            "--version",
            "21.5.1",
        ],
        &agent_inputs(),
    );
    // The undeclared point and the text for a count, the hosts' two refusals, are refused
    // here as the input lines are read.
    let unreadable = p["unavailable"].to_string();
    assert!(
        unreadable.contains("`screen_resolution` is not declared")
            && unreadable.contains("`working_set`: a count value"),
        "{unreadable}"
    );
    p
}

fn host_status(stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(stdout)))
}

#[test]
fn a_c_host_sends_exactly_what_preview_shows() {
    let Some(cc) = native::c_compiler() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let state = dir.path().join("state");
    std::fs::create_dir(&state).expect("state");
    let receiver = HttpReceiver::start();
    let exe = native::compile_c(cc, &native::ffi_c_dir().join("agent_host.c"), dir.path());
    let mut command = Command::new(exe);
    command.arg(receiver.url("/ingest")).arg(&state);
    let output = native::run(command, &[], Duration::from_secs(60));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let status = host_status(&output.stdout);
    assert_eq!(status["refused"], 2, "{status}");
    assert_eq!(status["mode"], 2, "{status}");
    let received = receiver.events();
    assert_eq!(status["delivered"], received.len(), "{status}");
    assert_same(&received, &agent_preview(&state));
    assert_no_canaries(&receiver);
}

#[test]
fn a_python_host_sends_exactly_what_preview_shows() {
    let Some(python) = native::python3() else {
        return;
    };
    let library = native::ffi_library();
    let hosts = native::ffi_python_dir().join("hosts.py");
    for (product, args) in [
        (
            "agent",
            vec![
                "contrast-dotnet-agent",
                "--runtime",
                "framework",
                "--version",
                "21.5.1",
            ],
        ),
        (
            "dashboard",
            vec![
                "aspire-dashboard",
                "--version",
                "9.3",
                "--host",
                "visual-studio=17.14",
                "--browser-open",
            ],
        ),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let state = dir.path().to_str().expect("UTF-8 path");
        let receiver = HttpReceiver::start();
        let mut command = Command::new(&python);
        command
            .arg("-B") // no __pycache__ beside the sources
            .arg(&hosts)
            .arg(product)
            .arg(&library)
            .arg(receiver.url("/ingest"))
            .arg(state);
        let output = native::run(command, &[], Duration::from_secs(60));
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let status = host_status(&output.stdout);
        let received = receiver.events();
        assert_eq!(status["delivered"], received.len(), "{status}");
        let inputs = if product == "agent" {
            agent_inputs()
        } else {
            dashboard_inputs()
        };
        let p = if product == "agent" {
            agent_preview(dir.path())
        } else {
            preview(dir.path(), &args, &inputs)
        };
        assert_eq!(p["sends"], true, "{p}");
        assert_same(&received, &p);
        assert_no_canaries(&receiver);
    }
}

const VENDOR_CATALOGUE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../candor/tests/fixtures/vendor.toml"
);

fn vendor_inputs() -> Vec<Value> {
    let l = |point, value| line("acme-widget", "1.2.0", point, value);
    vec![
        l("enabled", json!(true)),
        l("edition", json!("enterprise")),
        l("widget_version", json!("1.2.0")),
        l(
            "last_error",
            json!("cannot open /home/dave/report.docx for dave@example.com"),
        ),
        l("open_files", json!(12)),
        l("uptime", json!(90)),
        l("save_time", json!([120.0, 80.0, 95.5, 300.0])),
        l("load_time", json!([0.2, 42.0, 43.5])),
        l("workspace", json!("/home/dave/projects/secret-plan")),
        l("plugins", json!(["spellcheck", "git"])),
        l("status_codes", json!({"200": 10, "404": 1})),
        l("rule_modes", json!({"autosave": "on"})),
        l("view", json!({"layout": "two columns", "owner": "dave"})),
        l("locale", json!("fr-CA")),
        l(
            "browser",
            json!("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
        ),
        l(
            "type",
            json!({
                "type_name": "Acme.WidgetCrash",
                "message": "out of memory while saving for dave@example.com",
                "stack": "   at Acme.Widget.Save()\n   at ThirdParty.Zip.Compress()",
            }),
        ),
        l("new", json!(3)),
    ]
}

/// A vendor's own catalogue: `candor codegen --lang c` writes its header, a C program built
/// on it gives the catalogue's TOML to the library and records one value of every kind the
/// catalogue format has (the system snapshot fills `uptime`), and what arrives is what
/// `candor preview` shows for the same catalogue and values.
#[test]
fn a_vendor_catalogue_gets_a_c_header_and_every_kind_arrives_as_preview_shows() {
    let Some(cc) = native::c_compiler() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let state = dir.path().join("state");
    std::fs::create_dir(&state).expect("state");
    let include = dir.path().join("include");
    std::fs::create_dir(&include).expect("include");
    let header = include.join("candor_acme_widget.h");
    let generate = Command::new(env!("CARGO_BIN_EXE_candor"))
        .args([
            "--catalogue",
            VENDOR_CATALOGUE,
            "codegen",
            "--lang",
            "c",
            "--out",
        ])
        .arg(&header)
        .output()
        .expect("candor codegen");
    assert!(
        generate.status.success(),
        "{}",
        String::from_utf8_lossy(&generate.stderr)
    );
    // The generated header beside the program, so `#include` finds it first.
    let source = dir.path().join("vendor_host.c");
    std::fs::copy(native::ffi_c_dir().join("vendor_host.c"), &source).expect("copy");
    std::fs::copy(&header, dir.path().join("candor_acme_widget.h")).expect("copy");
    let exe = native::compile_c(cc, &source, dir.path());
    let receiver = HttpReceiver::start();
    let mut command = Command::new(exe);
    command
        .arg(VENDOR_CATALOGUE)
        .arg(receiver.url("/ingest"))
        .arg(&state);
    let output = native::run(command, &[], Duration::from_secs(60));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let status = host_status(&output.stdout);
    assert_eq!(status["refused"], 0, "{status}");
    let received = receiver.events();
    assert_eq!(status["delivered"], received.len(), "{status}");
    // The preview records the snapshot (`uptime`, first) before the inputs, the host only
    // the inputs: the snapshot's reading is left out.
    let p = preview_with(
        &state,
        &["--catalogue", VENDOR_CATALOGUE],
        &["acme-widget", "--version", "1.2.0"],
        &vendor_inputs(),
    );
    let mut p = p;
    let events = p["events"].as_array_mut().expect("events");
    let snapshot = events.iter().position(|e| e["point"] == "uptime");
    events.remove(snapshot.expect("the snapshot's uptime"));
    assert_eq!(received.len(), 17, "one event per point");
    assert_same(&received, &p);
    let log = receiver.log();
    for canary in ["dave", "secret-plan", "ThirdParty", "enterprise"] {
        assert!(!log.contains(canary), "{canary} reached the receiver");
    }
}
