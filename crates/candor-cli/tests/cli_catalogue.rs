//! `candor catalogue`, run as a user runs it: a subprocess, its stdout, stderr and exit code.

use std::process::{Command, Output};

fn candor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_candor"))
        .args(args)
        .output()
        .expect("candor runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("UTF-8 stderr")
}

/// An error is one line on stderr, nothing on stdout, exit code 2, and no Rust debug dump.
fn assert_one_line_error(output: &Output, expected_fragment: &str) {
    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(output));
    assert!(output.stdout.is_empty(), "stdout: {}", stdout(output));
    let err = stderr(output);
    assert_eq!(err.lines().count(), 1, "one line expected: {err:?}");
    assert!(err.starts_with("candor: "), "{err}");
    assert!(
        err.contains(expected_fragment),
        "{err:?} lacks {expected_fragment:?}"
    );
    for debug_sign in ["{ ", "Error {", "panicked", "RUST_BACKTRACE"] {
        assert!(!err.contains(debug_sign), "debug output leaked: {err}");
    }
}

#[test]
fn list_names_the_built_in_products_one_per_line() {
    let out = candor(&["catalogue", "list"]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "aspire-dashboard\ncontrast-dotnet-agent\n");
}

#[test]
fn the_readme_command_shows_the_points_in_effect() {
    let out = candor(&[
        "catalogue",
        "contrast-dotnet-agent",
        "--runtime",
        "framework",
        "--version",
        "21.1.2",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("35 data points in effect"), "{text}");
    assert!(text.contains("iis_apps_per_pool"));
    // 21.1.2 is not later than 21.1.2: rule modes start after it.
    assert!(!text.contains("protect_rule_modes"));
    assert!(!text.contains("core_runtime_version"));
}

#[test]
fn json_output_carries_the_documented_fields() {
    let out = candor(&[
        "catalogue",
        "contrast-dotnet-agent",
        "--runtime",
        "core",
        "--version",
        "1.8.5",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let rows = rows.as_array().expect("array");
    assert!(!rows.is_empty());
    for row in rows {
        for field in ["id", "name", "description", "privacy", "since"] {
            assert!(
                row.get(field).and_then(|v| v.as_str()).is_some(),
                "{field} in {row}"
            );
        }
    }
    let exceptions = rows
        .iter()
        .find(|r| r["id"] == "sensor_exceptions")
        .expect("in effect at 1.8.5");
    assert_eq!(exceptions["since"], "later than 1.8.4");
    assert_eq!(exceptions["privacy"], "scrubbed");
    assert!(
        rows.iter().all(|r| r["id"] != "iis_app_count"),
        "IIS is .NET Framework only"
    );
}

#[test]
fn without_a_version_every_point_is_shown_with_its_gates() {
    let out = candor(&["catalogue", "contrast-dotnet-agent", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let agent = rows.as_array().expect("array");
    let iis = agent
        .iter()
        .find(|r| r["id"] == "iis_app_count")
        .expect("listed");
    assert_eq!(
        iis["gates"],
        serde_json::json!({ "framework": "later than 21.1.1" })
    );
    let version = agent
        .iter()
        .find(|r| r["id"] == "agent_version")
        .expect("listed");
    assert_eq!(
        version["since"],
        ".NET Framework: later than 2020.8.3; .NET Core: later than 1.5.15"
    );
}

#[test]
fn a_single_line_product_needs_no_runtime() {
    let out = candor(&["catalogue", "aspire-dashboard", "--version", "9.2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("1 data point in effect"), "{text}");
    assert!(text.contains("page_navigation"));
}

#[test]
fn errors_are_one_readable_line_with_exit_code_2() {
    assert_one_line_error(&candor(&["catalogue", "nope"]), "unknown product `nope`");
    assert_one_line_error(
        &candor(&["catalogue", "contrast-dotnet-agent", "--version", "21.1.2"]),
        "choose one with --runtime",
    );
    assert_one_line_error(
        &candor(&[
            "catalogue",
            "contrast-dotnet-agent",
            "--runtime",
            "java",
            "--version",
            "1",
        ]),
        "no runtime line `java`",
    );
    assert_one_line_error(
        &candor(&["catalogue", "aspire-dashboard", "--version", "nine"]),
        "`nine` is not a version",
    );
    assert_one_line_error(&candor(&["catalogue"]), "PRODUCT|list");
    assert_one_line_error(&candor(&["frobnicate"]), "unrecognized subcommand");
    assert_one_line_error(
        &candor(&["catalogue", "list", "--version", "1"]),
        "takes no --runtime",
    );
}

#[test]
fn a_user_catalogue_file_replaces_the_built_ins() {
    let dir = tempfile::tempdir().expect("temp dir");
    let agent = candor_schema::builtin::catalogues()
        .expect("built-ins")
        .get("contrast-dotnet-agent")
        .expect("agent");
    let path = dir.path().join("mine.json");
    std::fs::write(&path, agent.to_json_pretty()).expect("write");
    let path_arg = path.to_str().expect("UTF-8 path");
    let out = candor(&["--catalogue", path_arg, "catalogue", "list"]);
    assert_eq!(stdout(&out), "contrast-dotnet-agent\n");

    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "format = 1\n[product]\nid = 3\n").expect("write");
    let out = candor(&[
        "catalogue",
        "list",
        "--catalogue",
        broken.to_str().expect("UTF-8"),
    ]);
    assert_one_line_error(&out, "broken.toml: product.id");
}

#[test]
fn help_goes_to_stdout_with_success() {
    let out = candor(&["--help"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("catalogue"));
}

#[test]
fn docs_writes_pages_for_a_user_catalogue_and_checks_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dashboard = candor_schema::builtin::catalogues()
        .expect("built-ins")
        .get("aspire-dashboard")
        .expect("dashboard");
    let catalogue = dir.path().join("mine.json");
    std::fs::write(&catalogue, dashboard.to_json_pretty()).expect("write");
    let out_dir = dir.path().join("site");
    let (catalogue, out_dir_arg) = (
        catalogue.to_str().expect("UTF-8"),
        out_dir.to_str().expect("UTF-8"),
    );

    let check = candor(&[
        "docs",
        "--catalogue",
        catalogue,
        "--out",
        out_dir_arg,
        "--check",
    ]);
    assert_eq!(check.status.code(), Some(1), "nothing generated yet: stale");
    assert!(
        stderr(&check).contains("stale: disclosure/aspire-dashboard.md: missing"),
        "{}",
        stderr(&check)
    );

    let write = candor(&["docs", "--catalogue", catalogue, "--out", out_dir_arg]);
    assert!(write.status.success(), "{}", stderr(&write));
    let page =
        std::fs::read_to_string(out_dir.join("disclosure/aspire-dashboard.md")).expect("page");
    assert!(page.contains("# .NET Aspire dashboard telemetry"));
    assert!(out_dir.join("schema/catalogue.schema.json").exists());

    let check = candor(&[
        "docs",
        "--catalogue",
        catalogue,
        "--out",
        out_dir_arg,
        "--check",
    ]);
    assert!(check.status.success(), "{}", stderr(&check));
}

/// `candor docs --out DIR` once deleted a user's `schema/users.sql` and wrote through a
/// symlinked `disclosure/`: it now keeps both, says so, and writes everything else.
#[cfg(unix)]
#[test]
fn docs_keeps_files_it_did_not_write_and_follows_no_link() {
    let dir = tempfile::tempdir().expect("tmp");
    let site = dir.path().join("site");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(site.join("schema")).expect("mkdir");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    std::fs::write(site.join("schema/users.sql"), "create table users();").expect("write");
    std::fs::write(elsewhere.join("mine.md"), "mine").expect("write");
    std::os::unix::fs::symlink(&elsewhere, site.join("disclosure")).expect("link");

    let out = candor(&["docs", "--out", site.to_str().expect("UTF-8")]);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the link blocks the pages: {err}"
    );
    assert!(err.contains("left alone: schema/users.sql"), "{err}");
    assert!(
        err.contains("left alone: disclosure/aspire-dashboard.md"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(site.join("schema/users.sql")).expect("kept"),
        "create table users();"
    );
    let behind_link: Vec<_> = std::fs::read_dir(&elsewhere).expect("list").collect();
    assert_eq!(behind_link.len(), 1, "nothing written behind the link");
    assert!(site.join("schema/event.schema.json").exists());
    assert!(site.join("catalogues/contrast-dotnet-agent.json").exists());
}

/// A vendor's catalogue becomes a typed recorder file; a file the generator did not write is
/// never overwritten, and `--check` notices a stale one.
#[test]
fn codegen_writes_a_recorder_and_owns_only_its_own_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let catalogue = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../candor/tests/fixtures/vendor.toml"
    );
    let out_file = dir.path().join("telemetry.rs");
    let out_arg = out_file.to_str().expect("UTF-8");
    let write = candor(&["--catalogue", catalogue, "codegen", "--out", out_arg]);
    assert!(write.status.success(), "{}", stderr(&write));
    let code = std::fs::read_to_string(&out_file).expect("written");
    assert!(code.contains("pub struct AcmeWidgetRecorder<R>"));
    assert!(code.contains("pub fn open_files(&self, value: u64)"));
    let check = candor(&[
        "--catalogue",
        catalogue,
        "codegen",
        "--out",
        out_arg,
        "--check",
    ]);
    assert!(check.status.success(), "{}", stderr(&check));

    std::fs::write(&out_file, format!("{code}\n// a hand edit\n")).expect("edit");
    let check = candor(&[
        "--catalogue",
        catalogue,
        "codegen",
        "--out",
        out_arg,
        "--check",
    ]);
    assert_eq!(check.status.code(), Some(1));
    assert!(stderr(&check).contains("differs"), "{}", stderr(&check));

    let mine = dir.path().join("main.rs");
    std::fs::write(&mine, "fn main() {}\n").expect("write");
    let refused = candor(&[
        "--catalogue",
        catalogue,
        "codegen",
        "--out",
        mine.to_str().expect("UTF-8"),
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("left alone"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(
        std::fs::read_to_string(&mine).expect("kept"),
        "fn main() {}\n"
    );
}
