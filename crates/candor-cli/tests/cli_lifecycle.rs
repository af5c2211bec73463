//! Each point's lifecycle through `candor`: `catalogue` shows when each point stops and which
//! have stopped today, loading a catalogue warns of expiry dates within 30 days, `docs` writes
//! the stop into the page, and a malformed lifecycle field is a one-line error naming the point.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

use candor_schema::{Catalogue, Date, Expires};

fn candor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_candor"))
        .args(args)
        .output()
        .expect("candor runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

/// The agent catalogue with `working_set` stopping in ten days, `in_container` stopped since
/// 2000-01-01, `agent_version` stopping at .NET Core 1.8.4 and an owner and a review on it.
fn edited(dir: &Path) -> (PathBuf, Date) {
    let agent = candor_schema::builtin::catalogues()
        .expect("built-ins")
        .get("contrast-dotnet-agent")
        .expect("agent");
    let soon = Date::from_system_time(SystemTime::now()).plus_days(10);
    let mut spec = agent.spec().clone();
    for point in &mut spec.data_points {
        match point.id.as_str() {
            "working_set" => point.expires = Some(Expires::Date(soon.to_string())),
            "in_container" => point.expires = Some(Expires::Date("2000-01-01".into())),
            "agent_version" => {
                point.expires = Some(Expires::Versions(
                    [("core".to_owned(), "1.8.4".to_owned())].into(),
                ));
                point.owner = Some("Agent telemetry team".into());
                point.review_links = vec!["https://reviews.example.com/agent/7".into()];
            }
            _ => {}
        }
    }
    let catalogue = Catalogue::from_spec(spec, "edited").expect("valid");
    let path = dir.join("agent.json");
    std::fs::write(&path, catalogue.to_json_pretty()).expect("write");
    (path, soon)
}

fn warnings(output: &Output) -> Vec<String> {
    text(&output.stderr)
        .lines()
        .filter(|l| l.starts_with("candor: warning: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn catalogue_shows_when_each_point_stops_and_warns_ahead() {
    let dir = tempfile::tempdir().expect("tmp");
    let (path, soon) = edited(dir.path());
    let file = path.to_str().expect("UTF-8");
    let out = candor(&[
        "--catalogue",
        file,
        "catalogue",
        "contrast-dotnet-agent",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let warned = warnings(&out);
    assert_eq!(warned.len(), 2, "{warned:?}");
    assert!(
        warned[0].starts_with(
            "candor: warning: contrast-dotnet-agent: data point `in_container` expired on \
             2000-01-01 (UTC)"
        ),
        "{warned:?}"
    );
    assert!(
        warned[1].contains(&format!("`working_set` expires on {soon} (UTC), in ")),
        "{warned:?}"
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let row = |id: &str| {
        rows.as_array()
            .expect("rows")
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id}"))
            .clone()
    };
    assert_eq!(row("os_version")["stops"], "never");
    assert_eq!(row("os_version")["expires"], "never");
    assert_eq!(row("working_set")["stops"], soon.to_string());
    assert_eq!(row("working_set")["expired"], serde_json::Value::Null);
    assert_eq!(
        row("in_container")["expired"],
        "expired on 2000-01-01 (UTC)"
    );
    let version = row("agent_version");
    assert_eq!(version["stops"], "core 1.8.4");
    assert_eq!(
        version["expires"],
        serde_json::json!({ "versions": { "core": "1.8.4" } })
    );
    assert_eq!(version["owner"], "Agent telemetry team");
    assert_eq!(
        version["review_links"],
        serde_json::json!(["https://reviews.example.com/agent/7"])
    );
}

#[test]
fn at_a_version_expired_points_are_not_in_effect() {
    let dir = tempfile::tempdir().expect("tmp");
    let (path, _) = edited(dir.path());
    let file = path.to_str().expect("UTF-8");
    let catalogue = Catalogue::from_path(&path).expect("loads");
    let by_gate = catalogue
        .points_in_effect("core", "1.8.4")
        .expect("query")
        .len();
    let out = candor(&[
        "--catalogue",
        file,
        "catalogue",
        "contrast-dotnet-agent",
        "--runtime",
        "core",
        "--version",
        "1.8.4",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    // agent_version stops at 1.8.4 itself; in_container stopped by date and is counted apart.
    assert!(
        shown.contains(&format!(
            "{} data points in effect, 1 more expired as of",
            by_gate - 1
        )),
        "{shown}"
    );
    assert!(!shown.contains("agent_version"), "{shown}");
    let in_container = shown
        .lines()
        .find(|l| l.starts_with("in_container "))
        .expect("listed");
    assert!(
        in_container.contains("expired on 2000-01-01 (UTC)"),
        "{in_container}"
    );
    let before = candor(&[
        "--catalogue",
        file,
        "catalogue",
        "contrast-dotnet-agent",
        "--runtime",
        "core",
        "--version",
        "1.8.3",
    ]);
    assert!(text(&before.stdout).contains("agent_version"));
}

#[test]
fn docs_write_the_stop_into_the_page() {
    let dir = tempfile::tempdir().expect("tmp");
    let (path, soon) = edited(dir.path());
    let site = dir.path().join("site");
    let out = candor(&[
        "--catalogue",
        path.to_str().expect("UTF-8"),
        "docs",
        "--out",
        site.to_str().expect("UTF-8"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(warnings(&out).len(), 2);
    let page =
        std::fs::read_to_string(site.join("disclosure/contrast-dotnet-agent.md")).expect("page");
    assert!(page.contains(&format!("| from {soon} (UTC) |")));
    assert!(page.contains("| from .NET Core 1.8.4; no end stated on .NET Framework |"));
    assert!(page.contains("| Agent telemetry team | <https://reviews.example.com/agent/7> |"));
}

#[test]
fn malformed_lifecycle_fields_are_one_line_errors_naming_the_point() {
    let dir = tempfile::tempdir().expect("tmp");
    let agent = candor_schema::builtin::catalogues()
        .expect("built-ins")
        .get("contrast-dotnet-agent")
        .expect("agent")
        .to_json_pretty();
    let doc: serde_json::Value = serde_json::from_str(&agent).expect("JSON");
    assert_eq!(doc["data_points"][2]["id"], "in_container");
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        (
            "expires",
            serde_json::json!({ "date": "2027-02-29" }),
            "no such day",
        ),
        (
            "expires",
            serde_json::json!("2027-01-01"),
            "unknown variant",
        ),
        (
            "expires",
            serde_json::json!({ "versions": { "core": "1.5.15" } }),
            "not later than the gate",
        ),
        ("owner", serde_json::json!(""), "must not be empty"),
        (
            "owner",
            serde_json::json!("Team\u{1b}]0;owned\u{7}"),
            "U+001B",
        ),
        (
            "owner",
            serde_json::json!("x".repeat(1 << 20)),
            "1048576 bytes",
        ),
        (
            "review_links",
            serde_json::json!(["http://reviews.example.com/1"]),
            "https://",
        ),
        (
            "review_links",
            serde_json::json!(["https://good.example@evil.example/"]),
            "names no user",
        ),
    ];
    for (field, value, says) in cases {
        let mut edited = doc.clone();
        edited["data_points"][2][field] = value;
        let path = dir.path().join("bad.json");
        std::fs::write(&path, edited.to_string()).expect("write");
        let out = candor(&[
            "--catalogue",
            path.to_str().expect("UTF-8"),
            "catalogue",
            "list",
        ]);
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err:?}");
        assert!(err.len() < 500, "{} bytes", err.len());
        assert!(
            err.contains(&format!("data_points[2](in_container).{field}")),
            "{err}"
        );
        assert!(err.contains(says), "{err}");
    }
    // The untouched catalogue loads and warns of nothing: the vendor states no end.
    let path = dir.path().join("good.json");
    std::fs::write(&path, agent).expect("write");
    let out = candor(&[
        "--catalogue",
        path.to_str().expect("UTF-8"),
        "catalogue",
        "list",
    ]);
    assert!(out.status.success());
    assert_eq!(text(&out.stderr), "");
}
