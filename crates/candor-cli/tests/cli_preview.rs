//! `candor preview`, run as a subprocess: the real snapshot, after privacy, and nothing sent.

use std::path::Path;
use std::process::{Command, Output};

fn preview(config_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_candor"));
    command
        .env_clear()
        .env("CANDOR_CONFIG_DIR", config_dir)
        .arg("preview")
        .args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("candor runs")
}

fn json(output: &Output) -> serde_json::Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

fn event<'a>(preview: &'a serde_json::Value, point: &str) -> Option<&'a serde_json::Value> {
    preview["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["point"] == point)
}

#[cfg(target_os = "linux")]
#[test]
fn the_agent_snapshot_is_the_real_machine() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = json(&preview(
        dir.path(),
        &[],
        &[
            "contrast-dotnet-agent",
            "--runtime",
            "framework",
            "--version",
            "21.1.2",
            "--json",
        ],
    ));
    let uname = Command::new("uname").arg("-r").output().expect("uname");
    let release = String::from_utf8_lossy(&uname.stdout).trim().to_owned();
    assert_eq!(
        event(&p, "kernel_version").expect("kernel")["value"]["data"],
        release
    );
    assert_eq!(p["sends"], true);
    // Each snapshot point is either sent or listed as unavailable with a reason.
    for point in [
        "os_version",
        "in_container",
        "machine_id",
        "memory_page_size",
        "working_set",
        "process_running_time",
    ] {
        let unavailable = p["unavailable"]
            .as_array()
            .expect("array")
            .iter()
            .any(|n| n["point"] == point);
        assert!(event(&p, point).is_some() ^ unavailable, "{point}");
    }
    if let Some(mac) = event(&p, "machine_id") {
        let hex = mac["value"]["data"].as_str().expect("hash");
        assert_eq!(hex.len(), 64, "a SHA-256 in hex, never the MAC: {hex}");
    }
}

#[test]
fn opted_out_preview_says_it_would_not_send() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = preview(
        dir.path(),
        &[("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "1")],
        &[
            "contrast-dotnet-agent",
            "--runtime",
            "core",
            "--version",
            "4.0.0",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("would not send"), "{text}");
    assert!(text.contains("CONTRAST_DOTNET_TELEMETRY_OPTOUT"), "{text}");
}

#[test]
fn inputs_are_prepared_and_bad_lines_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let inputs = dir.path().join("in.jsonl");
    std::fs::write(
        &inputs,
        concat!(
            r#"{"product":"aspire-dashboard","product_version":"9.3","point":"request_language","value":"en-US"}"#, "\n",
            r#"{"product":"aspire-dashboard","product_version":"9.3","point":"invoked_commands","value":"restart-resource"}"#, "\n",
            r#"{"product":"aspire-dashboard","product_version":"9.3","point":"screen_size","value":3}"#, "\n",
            r#"{"product":"aspire-dashboard","product_version":"9.3","point":"request_language","value":7}"#, "\n",
            "not json\n",
        ),
    )
    .expect("write");
    let p = json(&preview(
        dir.path(),
        &[],
        &[
            "aspire-dashboard",
            "--version",
            "9.3",
            "--inputs",
            inputs.to_str().expect("utf-8"),
            "--json",
        ],
    ));
    assert_eq!(
        event(&p, "request_language").expect("sent")["value"]["data"],
        "en-US"
    );
    let hashed = event(&p, "invoked_commands").expect("sent")["value"]["data"]
        .as_str()
        .expect("s")
        .to_owned();
    assert!(!hashed.contains("restart"), "{hashed}");
    let notes = p["unavailable"].as_array().expect("notes");
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(
        notes
            .iter()
            .any(|n| n["reason"].as_str().expect("s").contains("screen_size"))
    );
    // The installation's key makes the same command hash the same way next time.
    let again = json(&preview(
        dir.path(),
        &[],
        &[
            "aspire-dashboard",
            "--version",
            "9.3",
            "--inputs",
            inputs.to_str().expect("utf-8"),
            "--json",
        ],
    ));
    assert_eq!(
        event(&again, "invoked_commands").expect("sent")["value"]["data"],
        hashed.as_str()
    );
}

#[test]
fn a_bad_version_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = preview(
        dir.path(),
        &[],
        &[
            "contrast-dotnet-agent",
            "--runtime",
            "core",
            "--version",
            "banana",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// `candor preview` works for any catalogue: a vendor's point that names a machine reading is
/// filled from the snapshot, nothing is refused as undeclared, and the declared install id is
/// on every event.
#[test]
fn preview_fills_a_vendor_catalogues_readings_and_install_id() {
    let dir = tempfile::tempdir().expect("tmp");
    let catalogue = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../candor/tests/fixtures/vendor.toml"
    );
    let out = json(&preview(
        dir.path(),
        &[],
        &[
            "--catalogue",
            catalogue,
            "acme-widget",
            "--version",
            "1.0",
            "--json",
        ],
    ));
    assert_eq!(out["refused"].as_array().map(Vec::len), Some(0), "{out}");
    let filled = event(&out, "uptime").is_some()
        || out["unavailable"]
            .as_array()
            .is_some_and(|u| u.iter().any(|n| n["point"] == "uptime"));
    assert!(filled, "{out}");
    for e in out["events"].as_array().expect("events") {
        assert_eq!(e["install_id"].as_str().map(str::len), Some(32), "{e}");
    }
}
