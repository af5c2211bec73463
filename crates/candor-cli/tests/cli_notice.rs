//! `candor status` after a catalogue revision: the notice marker records the revision the person
//! was told about; a revision that collects more owes the notice again for its new points, one
//! that narrows owes nothing, and a marker Candor cannot read (corrupt, oversized, a FIFO) is
//! the whole first-run notice again, answered at once.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use candor_schema::Catalogue;

fn catalogue(revision: &str, points: &[(&str, &str)]) -> String {
    let mut text = format!(
        r#"format = 1
revision = "{revision}"
never_collected = ["file contents"]
[product]
id = "tool"
name = "Tool"
vendor = "Us"
description = "A tool."
[[runtime_lines]]
id = "main"
name = "Tool"
versioning = "dotted"
[consent]
default = "on"
notice = {{ kind = "first-run" }}
[disclosure]
statement = "Tool sends usage data."
scope = "While it runs."
[collection]
triggers = ["usage"]
schedule = "as it is used"
[delivery]
method = "https-json"
destination = "t.example.com"
description = "HTTPS."
[retention]
description = "A while."
"#
    );
    for (id, since) in points {
        text.push_str(&format!(
            "[[data_points]]\nid = \"{id}\"\nname = \"{id}\"\ndescription = \"It.\"\n\
             value = {{ kind = \"count\" }}\nprivacy = \"public\"\n\
             gates.main = {{ since = \"{since}\" }}\n"
        ));
    }
    text
}

fn status(dir: &Path, catalogue_text: &str) -> (serde_json::Value, Duration) {
    let file = dir.join("tool.toml");
    std::fs::write(&file, catalogue_text).expect("catalogue");
    let started = Instant::now();
    let out: Output = Command::new(env!("CARGO_BIN_EXE_candor"))
        .env_clear()
        .env("CANDOR_CONFIG_DIR", dir)
        .args(["--catalogue", file.to_str().expect("utf-8")])
        .args(["status", "tool", "--json"])
        .stdin(Stdio::null())
        .output()
        .expect("candor runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        serde_json::from_slice(&out.stdout).expect("json"),
        started.elapsed(),
    )
}

fn marker(dir: &Path) -> std::path::PathBuf {
    let notices = dir.join("notices");
    std::fs::create_dir_all(&notices).expect("notices");
    notices.join("tool.shown")
}

#[test]
fn a_widening_revision_owes_the_notice_for_its_new_points_only() {
    let dir = tempfile::tempdir().expect("tmp");
    let first = catalogue("1", &[("a", "1.0"), ("b", "2.0")]);
    let told = Catalogue::from_toml_str(&first, "tool.toml").expect("valid");
    std::fs::write(marker(dir.path()), told.disclosed().to_json()).expect("marker");

    let (same, _) = status(dir.path(), &first);
    assert_eq!(same["notice"]["kind"], "nothing", "{same}");
    assert_eq!(same["sends"], true);

    let (wider, _) = status(
        dir.path(),
        &catalogue("2", &[("a", "1.0"), ("b", "1.0"), ("c", "1.0")]),
    );
    assert_eq!(wider["notice"]["kind"], "widened", "{wider}");
    assert_eq!(wider["notice"]["points"], serde_json::json!(["b", "c"]));
    assert_eq!(wider["notice_pending"], true);
    assert_eq!(wider["sends"], true, "the points told about still go");
    assert!(
        wider["reason"].as_str().expect("reason").contains("b, c"),
        "{wider}"
    );

    let (narrower, _) = status(dir.path(), &catalogue("3", &[("a", "1.5")]));
    assert_eq!(narrower["notice"]["kind"], "nothing", "{narrower}");
    assert_eq!(narrower["notice_pending"], false);
}

#[test]
fn a_marker_candor_cannot_read_is_the_whole_notice_again() {
    let text = catalogue("1", &[("a", "1.0")]);
    for what in ["corrupt", "oversized", "fifo"] {
        let dir = tempfile::tempdir().expect("tmp");
        let path = marker(dir.path());
        match what {
            "corrupt" => std::fs::write(&path, b"{\"revision\":\"1\",\"points\":").expect("write"),
            "oversized" => {
                let f = std::fs::File::create(&path).expect("create");
                f.set_len(8 << 20).expect("grow");
            }
            _ => {
                let made = Command::new("mkfifo").arg(&path).status().expect("mkfifo");
                assert!(made.success());
            }
        }
        let (decision, took) = status(dir.path(), &text);
        assert_eq!(
            decision["notice"]["kind"], "first_run",
            "{what}: {decision}"
        );
        assert_eq!(decision["sends"], false, "{what}");
        assert!(took < Duration::from_secs(10), "{what}: waited {took:?}");
    }
}
