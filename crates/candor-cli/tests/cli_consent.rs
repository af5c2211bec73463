//! `candor consent`: one command changes the user's mind. Each test runs the real binary on a
//! temporary Candor folder and checks the file it leaves, what it prints, and the spool.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use candor_testkit::dead_port;

mod common;

fn candor(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_candor"))
        .env_clear()
        .env("CANDOR_CONFIG_DIR", dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("candor runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn config(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("config.toml")).expect("config.toml")
}

/// Batch files in a product's spool.
fn spooled(dir: &Path, product: &str) -> usize {
    std::fs::read_dir(dir.join("spool").join(product))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
                .count()
        })
        .unwrap_or(0)
}

const COMMENTED: &str = "# My choices, written by hand.\nmode = \"on\" # everything on\n\n\
[products.aspire-dashboard]\n# the dashboard stays on this machine\nmode = \"local\"\n\n\
[transport]\nconnect_timeout_seconds = 5 # slow proxy\n";

#[test]
fn setting_a_product_keeps_comments_and_other_settings_and_prints_the_decision() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("config.toml"), COMMENTED).expect("config");
    let out = candor(dir.path(), &["consent", "contrast-dotnet-agent", "local"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = config(dir.path());
    // Every line the user wrote is still there, in order; the new table joins its siblings.
    let mut lines = text.lines();
    for line in COMMENTED.lines() {
        assert!(lines.any(|l| l == line), "lost {line:?}:\n{text}");
    }
    assert!(
        text.contains("[transport]\nconnect_timeout_seconds = 5 # slow proxy"),
        "{text}"
    );
    assert!(
        text.contains("[products.contrast-dotnet-agent]\nmode = \"local\""),
        "{text}"
    );
    // Printed as `status` prints it, and `status` agrees.
    let printed = stdout(&out);
    assert!(
        printed.contains("Contrast .NET agent (contrast-dotnet-agent): telemetry is local:"),
        "{printed}"
    );
    assert!(
        printed.contains("decided by: the configuration file"),
        "{printed}"
    );
    let status = candor(dir.path(), &["status", "contrast-dotnet-agent"]);
    assert!(
        printed.contains(stdout(&status).lines().next().expect("a line")),
        "{printed}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("config.toml"))
        .expect("config")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "config.toml is private: {mode:o}");
    // Nothing but config.toml was written in the folder's top level besides the lock folder
    // and the record of the change that running products follow.
    for entry in std::fs::read_dir(dir.path()).expect("dir").flatten() {
        let name = entry.file_name().into_string().expect("utf-8");
        assert!(
            ["config.toml", "locks", "consent-changes"].contains(&name.as_str()),
            "left {name}"
        );
    }
}

#[test]
fn reset_removes_only_that_setting_and_the_next_rule_decides() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("config.toml"), COMMENTED).expect("config");
    let out = candor(dir.path(), &["consent", "aspire-dashboard", "reset"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = config(dir.path());
    assert!(!text.contains("aspire-dashboard"), "{text}");
    assert!(text.contains("mode = \"on\" # everything on"), "{text}");
    assert!(
        text.contains("# the dashboard stays on this machine"),
        "{text}"
    );
    // The global `--all reset` removes the top-level mode too; no comment is lost.
    let out = candor(dir.path(), &["consent", "--all", "reset"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = config(dir.path());
    assert!(!text.contains("mode ="), "{text}");
    for comment in ["# My choices", "# everything on", "# the dashboard stays"] {
        assert!(text.contains(comment), "{text}");
    }
    // With no setting left, the agent's default decides.
    let printed = stdout(&out);
    assert!(
        printed.contains("decided by: the product's default"),
        "{printed}"
    );
}

#[test]
fn all_sets_every_product_and_overrides_product_settings() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("config.toml"), COMMENTED).expect("config");
    let out = candor(dir.path(), &["consent", "--all", "off"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed = stdout(&out);
    assert_eq!(
        printed
            .matches("telemetry is off: nothing is collected or sent")
            .count(),
        2,
        "{printed}"
    );
    let text = config(dir.path());
    assert!(text.contains("mode = \"off\""), "{text}");
    assert!(!text.contains("\"local\""), "{text}");
}

#[test]
fn off_discards_the_products_pending_data() {
    let dir = tempfile::tempdir().expect("tmp");
    let events = dir.path().join("ev.jsonl");
    std::fs::write(
        &events,
        r#"{"product":"contrast-dotnet-agent","product_version":"21.1.2","runtime_line":"framework","point":"working_set","value":1}"#,
    )
    .expect("write");
    let dead = format!("http://127.0.0.1:{}/x", dead_port());
    let out = candor(
        dir.path(),
        &[
            "send",
            events.to_str().expect("utf-8"),
            "--sink",
            "json",
            "--endpoint",
            &dead,
            "--deadline",
            "0.2",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(spooled(dir.path(), "contrast-dotnet-agent"), 1);
    // `local` keeps it (nothing is sent, but nothing was revoked either)...
    let out = candor(dir.path(), &["consent", "contrast-dotnet-agent", "local"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(spooled(dir.path(), "contrast-dotnet-agent"), 1);
    // ...`off` throws it away and says so.
    let out = candor(dir.path(), &["consent", "contrast-dotnet-agent", "off"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("1 event(s) waiting in the spool discarded"),
        "{}",
        stdout(&out)
    );
    assert_eq!(spooled(dir.path(), "contrast-dotnet-agent"), 0);
    // Turning it back on finds nothing to send.
    candor(dir.path(), &["consent", "contrast-dotnet-agent", "on"]);
    let out = candor(
        dir.path(),
        &[
            "send",
            "--sink",
            "json",
            "--endpoint",
            &dead,
            "--deadline",
            "0.2",
        ],
    );
    assert_eq!(
        spooled(dir.path(), "contrast-dotnet-agent"),
        0,
        "{}",
        stderr(&out)
    );
}

/// A spool batch of the agent's, as `send` leaves it.
fn plant_batch(dir: &Path) {
    let spool = dir.join("spool/contrast-dotnet-agent");
    std::fs::create_dir_all(&spool).expect("spool");
    std::fs::write(
        spool.join("0001700000000000-0000000001-00000000.jsonl"),
        "{}\n",
    )
    .expect("batch");
}

/// A file Candor cannot edit is never overwritten. `off` still means off (the broken file
/// keeps telemetry off anyway): the pending data is discarded, the command says the file could
/// not be edited and exits 1. Any other setting changes nothing and exits 2.
#[test]
fn a_broken_config_is_never_overwritten_and_off_still_discards() {
    for broken in [
        "mode = \n# half written\n",
        "mode = \"sometimes\"\n",
        "colour = \"blue\"\n",
        "[products.aspire-dashboard]\nmode = \"on\"\nmode = \"off\"\n",
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("config.toml"), broken).expect("config");
        plant_batch(dir.path());
        let out = candor(dir.path(), &["consent", "contrast-dotnet-agent", "on"]);
        assert_eq!(out.status.code(), Some(2), "{broken}: {}", stdout(&out));
        assert_eq!(spooled(dir.path(), "contrast-dotnet-agent"), 1, "{broken}");
        let out = candor(dir.path(), &["consent", "contrast-dotnet-agent", "off"]);
        assert_eq!(out.status.code(), Some(1), "{broken}: {}", stdout(&out));
        let message = stderr(&out);
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.contains("not changed"), "{message}");
        assert!(
            stdout(&out).contains("1 event(s) waiting in the spool discarded"),
            "{}",
            stdout(&out)
        );
        assert_eq!(spooled(dir.path(), "contrast-dotnet-agent"), 0, "{broken}");
        assert_eq!(config(dir.path()), broken, "the file was touched");
    }
    // Too large to be a configuration file, or not text: refused the same way, untouched.
    for bytes in [
        format!("# {}\n", "x".repeat(300 * 1024)).into_bytes(),
        b"mode = \"on\"\n\xff\xfe\n".to_vec(),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("config.toml"), &bytes).expect("config");
        plant_batch(dir.path());
        let out = candor(dir.path(), &["consent", "--all", "off"]);
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        assert_eq!(spooled(dir.path(), "contrast-dotnet-agent"), 0);
        assert_eq!(
            std::fs::read(dir.path().join("config.toml")).expect("config"),
            bytes
        );
    }
}

/// The record of the change cannot be written (something else is where its folder goes):
/// nothing is changed without it, but `off` still discards, says why and exits 1.
#[test]
fn off_discards_even_when_the_change_cannot_be_recorded() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("config.toml"), "mode = \"on\"\n").expect("config");
    std::fs::write(dir.path().join("consent-changes"), "not a folder").expect("plant");
    plant_batch(dir.path());
    let out = candor(dir.path(), &["consent", "contrast-dotnet-agent", "local"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert_eq!(spooled(dir.path(), "contrast-dotnet-agent"), 1);
    let out = candor(dir.path(), &["consent", "contrast-dotnet-agent", "off"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("consent-changes"), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert_eq!(spooled(dir.path(), "contrast-dotnet-agent"), 0);
    assert_eq!(config(dir.path()), "mode = \"on\"\n");
}

/// README: values are read ignoring case. A mode written in capitals is a mode, and `candor
/// consent` edits such a file like any other.
#[test]
fn a_mode_in_capitals_is_read_and_the_file_stays_editable() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("config.toml"), "mode = \"OFF\"\n").expect("config");
    let status = candor(dir.path(), &["status", "aspire-dashboard"]);
    assert!(
        stdout(&status).contains("telemetry is off")
            && stdout(&status).contains("sets mode \"off\""),
        "{}",
        stdout(&status)
    );
    let out = candor(dir.path(), &["consent", "contrast-dotnet-agent", "On"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "`On` is not a setting word: {}",
        stdout(&out)
    );
    let out = candor(dir.path(), &["consent", "contrast-dotnet-agent", "on"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        config(dir.path()).starts_with("mode = \"OFF\"\n"),
        "{}",
        config(dir.path())
    );
    assert!(stdout(&out).contains("telemetry is on"), "{}", stdout(&out));
}

#[test]
fn a_symlink_or_fifo_in_place_of_the_config_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("tmp");
    let target = dir.path().join("elsewhere.toml");
    std::fs::write(&target, "mode = \"on\"\n").expect("target");
    std::os::unix::fs::symlink(&target, dir.path().join("config.toml")).expect("link");
    plant_batch(dir.path());
    let out = candor(dir.path(), &["consent", "--all", "off"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert_eq!(spooled(dir.path(), "contrast-dotnet-agent"), 0);
    assert_eq!(
        std::fs::read_to_string(&target).expect("target"),
        "mode = \"on\"\n"
    );
    assert!(
        std::fs::symlink_metadata(dir.path().join("config.toml"))
            .expect("still there")
            .file_type()
            .is_symlink()
    );

    let dir = tempfile::tempdir().expect("tmp");
    let fifo = dir.path().join("config.toml");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success())
    );
    let out = run_within_limit(dir.path(), &["consent", "--all", "off"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let out = run_within_limit(dir.path(), &["consent", "--all", "local"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
}

/// The command with a deadline: a FIFO must never be waited on.
fn run_within_limit(dir: &Path, args: &[&str]) -> Output {
    common::run_within(
        common::candor(dir, &[], args),
        std::time::Duration::from_secs(20),
    )
    .0
}

#[test]
fn bad_arguments_are_one_line_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    for args in [
        &["consent", "no-such-product", "off"][..],
        &["consent", "contrast-dotnet-agent", "sometimes"],
        &["consent", "--all", "contrast-dotnet-agent", "off"],
        &["consent", "off"],
    ] {
        let out = candor(dir.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(
            stderr(&out).lines().count(),
            1,
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!dir.path().join("config.toml").exists(), "{args:?}");
    }
}

/// Two editors at once: both changes land (the file is edited under a lock).
#[test]
fn concurrent_edits_both_land() {
    let dir = tempfile::tempdir().expect("tmp");
    let children: Vec<_> = [
        ("aspire-dashboard", "local"),
        ("contrast-dotnet-agent", "off"),
    ]
    .into_iter()
    .cycle()
    .take(8)
    .map(|(product, mode)| {
        Command::new(env!("CARGO_BIN_EXE_candor"))
            .env_clear()
            .env("CANDOR_CONFIG_DIR", dir.path())
            .args(["consent", product, mode])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    })
    .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = config(dir.path());
    assert!(
        text.contains("[products.aspire-dashboard]\nmode = \"local\""),
        "{text}"
    );
    assert!(
        text.contains("[products.contrast-dotnet-agent]\nmode = \"off\""),
        "{text}"
    );
}
