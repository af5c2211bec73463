//! `candor status`, run as a subprocess with a controlled environment: no variable of the
//! machine running the tests (CI markers, DO_NOT_TRACK) leaks into the decision.

use std::path::Path;
use std::process::{Command, Output};

fn status(config_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_candor"));
    command
        .env_clear()
        .env("CANDOR_CONFIG_DIR", config_dir)
        .arg("status")
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

#[test]
fn json_carries_enabled_mode_and_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let on = json(&status(
        dir.path(),
        &[],
        &["contrast-dotnet-agent", "--json"],
    ));
    assert_eq!(on["enabled"], true);
    assert_eq!(on["mode"], "on");
    assert!(
        on["reason"]
            .as_str()
            .expect("reason")
            .contains("on by default")
    );

    let off = json(&status(
        dir.path(),
        &[("CONTRAST_DOTNET_TELEMETRY_OPTOUT", " TRUE ")],
        &["contrast-dotnet-agent", "--json"],
    ));
    assert_eq!(off["enabled"], false);
    assert_eq!(off["mode"], "off");
    assert_eq!(
        off["decided_by"]["name"],
        "CONTRAST_DOTNET_TELEMETRY_OPTOUT"
    );
}

#[test]
fn the_dashboard_needs_a_qualifying_host_and_an_open_browser() {
    let dir = tempfile::tempdir().expect("temp dir");
    let none = json(&status(dir.path(), &[], &["aspire-dashboard", "--json"]));
    assert_eq!(none["enabled"], false);
    let kit = json(&status(
        dir.path(),
        &[],
        &[
            "aspire-dashboard",
            "--host",
            "csharp-dev-kit=2.0",
            "--browser-open",
            "--json",
        ],
    ));
    assert_eq!(kit["enabled"], false);
    assert!(
        kit["reason"]
            .as_str()
            .expect("reason")
            .contains("not been announced")
    );
    let closed = json(&status(
        dir.path(),
        &[],
        &[
            "aspire-dashboard",
            "--host",
            "visual-studio=17.14",
            "--json",
        ],
    ));
    assert_eq!(closed["decided_by"]["id"], "browser-open");
    let open = json(&status(
        dir.path(),
        &[],
        &[
            "aspire-dashboard",
            "--host",
            "visual-studio=17.14",
            "--browser-open",
            "--json",
        ],
    ));
    assert_eq!(open["enabled"], true);
    assert!(
        open["statement"]
            .as_str()
            .expect("statement shown while enabled")
            .contains("Telemetry is enabled")
    );
    let opted_out = json(&status(
        dir.path(),
        &[],
        &[
            "aspire-dashboard",
            "--host",
            "visual-studio=17.14",
            "--browser-open",
            "--host-opted-out",
            "--json",
        ],
    ));
    assert_eq!(opted_out["enabled"], false);
}

#[test]
fn the_config_file_sets_the_mode_and_a_broken_one_fails_closed() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("config.toml"),
        "[products.contrast-dotnet-agent]\nmode = \"local\"\n",
    )
    .expect("write");
    let local = json(&status(
        dir.path(),
        &[],
        &["contrast-dotnet-agent", "--json"],
    ));
    assert_eq!(local["mode"], "local");
    assert_eq!(local["enabled"], true);
    assert_eq!(local["sends"], false);

    std::fs::write(dir.path().join("config.toml"), "mode = \"sometimes\"\n").expect("write");
    let broken = json(&status(
        dir.path(),
        &[],
        &["contrast-dotnet-agent", "--json"],
    ));
    assert_eq!(broken["enabled"], false);
    assert_eq!(broken["warnings"].as_array().expect("warnings").len(), 1);
}

#[test]
fn text_output_reads_as_sentences_and_names_the_source() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = status(
        dir.path(),
        &[("DO_NOT_TRACK", "yes"), ("CI", "true")],
        &["contrast-dotnet-agent"],
    );
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(
        text.starts_with("Contrast .NET agent (contrast-dotnet-agent): telemetry is off"),
        "{text}"
    );
    assert!(
        text.contains("why:        DO_NOT_TRACK is set to \"yes\""),
        "{text}"
    );
    assert!(
        text.contains("decided by: the DO_NOT_TRACK variable"),
        "{text}"
    );
    assert!(
        text.contains("CI:         a CI service (CI is set) detected"),
        "{text}"
    );

    let odd = status(
        dir.path(),
        &[("DO_NOT_TRACK", "\u{7}bell")],
        &["contrast-dotnet-agent"],
    );
    let text = String::from_utf8(odd.stdout).expect("UTF-8");
    assert!(
        text.contains("\\u{7}bell"),
        "control characters are escaped: {text}"
    );
}

#[test]
fn bad_arguments_exit_2_and_any_decision_exits_0() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert_eq!(
        status(
            dir.path(),
            &[],
            &["aspire-dashboard", "--host", "visual-studio"]
        )
        .status
        .code(),
        Some(2)
    );
    assert_eq!(
        status(dir.path(), &[], &["no-such-product"]).status.code(),
        Some(2)
    );
    assert_eq!(status(dir.path(), &[], &[]).status.code(), Some(2));
    assert_eq!(
        status(
            dir.path(),
            &[("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "1")],
            &["contrast-dotnet-agent"]
        )
        .status
        .code(),
        Some(0)
    );
}

/// The agent counts blocking the network as opting out: when Candor's folder records the
/// endpoint unreachable for longer than the declared period, `status` says telemetry is off,
/// decided by the network block, and why.
#[test]
fn status_gives_the_network_block_as_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("network")).expect("mkdir");
    let long_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        - 3 * 86_400;
    std::fs::write(
        dir.path().join("network/contrast-dotnet-agent"),
        format!("{long_ago}\n"),
    )
    .expect("write");
    let blocked = json(&status(
        dir.path(),
        &[],
        &["contrast-dotnet-agent", "--json"],
    ));
    assert_eq!(blocked["sends"], false, "{blocked}");
    assert_eq!(blocked["enabled"], false, "{blocked}");
    assert_eq!(blocked["mode"], "off", "{blocked}");
    assert_eq!(
        blocked["decided_by"]["source"], "network-block",
        "{blocked}"
    );
    assert!(
        blocked["reason"]
            .as_str()
            .is_some_and(|r| r.contains("has not answered since")),
        "{blocked}"
    );
    let text = String::from_utf8_lossy(&status(dir.path(), &[], &["contrast-dotnet-agent"]).stdout)
        .into_owned();
    assert!(text.contains("telemetry is off"), "{text}");
    assert!(
        text.contains("decided by: the catalogue's rule that blocking the network opts out"),
        "{text}"
    );

    // The dashboard makes no such promise: the same record changes nothing for it.
    std::fs::write(
        dir.path().join("network/aspire-dashboard"),
        format!("{long_ago}\n"),
    )
    .expect("write");
    let dashboard = json(&status(dir.path(), &[], &["aspire-dashboard", "--json"]));
    assert_ne!(
        dashboard["decided_by"]["source"], "network-block",
        "{dashboard}"
    );
}

/// A host id comes from outside (the IDE that launches the product): the text output quotes it
/// with control characters escaped and cut, so it cannot retitle or drive the terminal, and a
/// 100 kB id does not become a 100 kB line.
#[test]
fn a_hostile_host_id_is_escaped_and_cut_in_the_text_output() {
    let dir = tempfile::tempdir().expect("tmp");
    let escape = "vs\u{1b}]0;pwned\u{7}code=1.0";
    let out = status(dir.path(), &[], &["aspire-dashboard", "--host", escape]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.contains("\\u{1b}]0;pwned"), "{text}");
    let long = format!("{}=1.0", "x".repeat(100_000));
    let out = status(dir.path(), &[], &["aspire-dashboard", "--host", &long]);
    assert!(out.stdout.len() < 5_000, "{} bytes", out.stdout.len());
}
