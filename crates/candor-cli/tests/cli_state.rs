//! Candor's folder and runtime as a hostile user finds them: consent on replay, deadlines
//! whatever the sink does, spool caps, file modes, planted links and FIFOs, `clean`, `hash`,
//! bad deadlines and hostile text. Each test reproduces one observation of issue 12 with the
//! real binary and real receivers on loopback.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use candor_testkit::{Fault, HttpReceiver, dead_port};

mod common;
use common::{agent_line, candor, run, run_within, stderr, write_lines};

fn counts(n: u64) -> Vec<String> {
    (0..n)
        .map(|i| agent_line("working_set", &i.to_string()))
        .collect()
}

/// Batch files under `dir`, recursively, with their total size.
fn spooled(dir: &Path) -> (usize, u64) {
    let mut files = 0;
    let mut bytes = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                let (f, b) = spooled(&path);
                files += f;
                bytes += b;
            } else if path.extension().is_some_and(|e| e == "jsonl") {
                files += 1;
                bytes += entry.metadata().map_or(0, |m| m.len());
            }
        }
    }
    (files, bytes)
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status();
    assert!(made.is_ok_and(|s| s.success()));
}

/// Leaves three of the agent's events in `dir`'s spool, as a dead endpoint leaves them.
fn leave_three_in_the_spool(dir: &Path) {
    let file = write_lines(&dir.join("ev.jsonl"), &counts(3));
    let dead = format!("http://127.0.0.1:{}/x", dead_port());
    let out = run(
        dir,
        &[],
        &[
            "send",
            &file,
            "--sink",
            "json",
            "--endpoint",
            &dead,
            "--deadline",
            "0.2",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(spooled(&dir.join("spool")).0, 1);
}

/// What a dead endpoint leaves in the spool is not sent once consent is off, on any path; and
/// an off that Candor sees but `candor consent` did not make (a hand edit of config.toml, an
/// opt-out variable set for one run) is a change of decision like any other: it withdraws what
/// was recorded before it, so a later run that is on again sends none of it (the review found
/// such events kept and sent after `on`).
#[test]
fn an_off_seen_by_any_run_withdraws_what_was_spooled_before_it() {
    /// How the off came about, the variables of the run that sees it, and config.toml.
    type OptOut<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let opt_outs: [OptOut<'_>; 3] = [
        ("a hand edit", &[], "mode = \"off\"\n"),
        ("DO_NOT_TRACK for one run", &[("DO_NOT_TRACK", "1")], ""),
        (
            "the product's variable for one run",
            &[("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "1")],
            "",
        ),
    ];
    for (how, env, config) in opt_outs {
        let dir = tempfile::tempdir().expect("tmp");
        leave_three_in_the_spool(dir.path());
        std::fs::write(dir.path().join("config.toml"), config).expect("config");
        let status = run(dir.path(), env, &["status", "contrast-dotnet-agent"]);
        assert!(
            String::from_utf8_lossy(&status.stdout).contains("off"),
            "{how}"
        );
        let target = dir.path().join("out.jsonl");
        let to_file = [
            "send",
            "--sink",
            "file",
            "--endpoint",
            target.to_str().expect("utf-8"),
        ];
        let out = run(dir.path(), env, &to_file);
        assert_eq!(out.status.code(), Some(1), "{how}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("3 spooled event(s) of contrast-dotnet-agent discarded"),
            "{how}: {}",
            stderr(&out)
        );
        assert!(!target.exists(), "{how}: delivered without consent");
        assert_eq!(spooled(&dir.path().join("spool")).0, 0, "{how}: withdrawn");
        // On again: nothing recorded before the off is sent.
        std::fs::write(dir.path().join("config.toml"), "mode = \"on\"\n").expect("on");
        let out = run(dir.path(), &[], &to_file);
        assert_eq!(out.status.code(), Some(0), "{how}: {}", stderr(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("delivered 0 event(s)"),
            "{how}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            std::fs::read_to_string(&target)
                .unwrap_or_default()
                .is_empty(),
            "{how}: sent after on what was recorded before the off"
        );
    }
}

/// Mode `local` is not sending either: what was spooled to be sent before it is withdrawn.
#[test]
fn local_withdraws_what_was_spooled_to_be_sent() {
    let dir = tempfile::tempdir().expect("tmp");
    leave_three_in_the_spool(dir.path());
    std::fs::write(dir.path().join("config.toml"), "mode = \"local\"\n").expect("config");
    let out = run(dir.path(), &[], &["send", "--sink", "stdout"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("discarded"), "{}", stderr(&out));
    assert_eq!(spooled(&dir.path().join("spool")).0, 0);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("working_set"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A host's leftovers (under `spool/<product>/`) are what `candor send` replays, into the
/// same receiver, exactly once.
#[test]
fn send_replays_what_a_host_left_behind() {
    let dir = tempfile::tempdir().expect("tmp");
    let dead = format!("http://127.0.0.1:{}/x", dead_port());
    let host =
        candor::Telemetry::builder(candor::builtin("contrast-dotnet-agent").expect("built in"))
            .runtime("framework")
            .version("21.1.2")
            .state_dir(dir.path())
            .environment(candor::Environment::from_pairs([(
                "CONTRAST_DOTNET_TELEMETRY_OPTOUT",
                "0",
            )]))
            .sink(candor::SinkSpec::Json { endpoint: dead })
            .batch_wait(Duration::from_millis(10))
            .build()
            .expect("host");
    for n in 0..5 {
        host.record("working_set", candor::Input::Count(n));
    }
    let status = host.shutdown(Duration::from_millis(300));
    assert_eq!(status.sent.expect("started").pending, 5);
    let receiver = HttpReceiver::start();
    let endpoint = receiver.url("/ingest");
    let out = run(
        dir.path(),
        &[],
        &["send", "--sink", "json", "--endpoint", &endpoint],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(receiver.events().len(), 5);
    assert_eq!(spooled(&dir.path().join("spool")).0, 0);
}

/// `--sink stdout` and the demo on stdout return: the CLI no longer holds the stdout lock the
/// sender thread needs.
#[test]
fn stdout_sinks_return() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = write_lines(&dir.path().join("ev.jsonl"), &counts(3));
    let (out, took) = run_within(
        candor(
            dir.path(),
            &[],
            &["send", &file, "--sink", "stdout", "--deadline", "2"],
        ),
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(took < Duration::from_secs(10), "{took:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("\"working_set\"").count(), 3, "{text}");
    let (out, _) = run_within(
        candor(
            dir.path(),
            &[],
            &[
                "demo",
                "contrast-dotnet-agent",
                "--sink",
                "stdout",
                "--seconds",
                "0.3",
            ],
        ),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"point\""));
}

/// A FIFO as the file sink, or as config.toml, is refused at once.
#[test]
fn fifos_never_hang_a_command() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = write_lines(&dir.path().join("ev.jsonl"), &counts(2));
    let fifo = dir.path().join("sink.fifo");
    mkfifo(&fifo);
    let (out, took) = run_within(
        candor(
            dir.path(),
            &[],
            &[
                "send",
                &file,
                "--sink",
                "file",
                "--endpoint",
                fifo.to_str().expect("utf-8"),
                "--deadline",
                "1",
            ],
        ),
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(stderr(&out).contains("FIFO"), "{}", stderr(&out));
    // config.toml as a FIFO: consent is off, saying why, at once.
    let config_dir = tempfile::tempdir().expect("tmp");
    mkfifo(&config_dir.path().join("config.toml"));
    let (out, took) = run_within(
        candor(config_dir.path(), &[], &["status", "contrast-dotnet-agent"]),
        Duration::from_secs(20),
    );
    assert!(took < Duration::from_secs(5));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("off") && text.contains("FIFO"), "{text}");
    // An events file that is a FIFO is refused too.
    let input = dir.path().join("input.fifo");
    mkfifo(&input);
    let (out, _) = run_within(
        candor(
            dir.path(),
            &[],
            &["send", input.to_str().expect("utf-8"), "--sink", "stdout"],
        ),
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("FIFO"), "{}", stderr(&out));
}

/// A receiver slow to answer no longer stretches `--deadline 1` to the 15 s request timeout.
#[test]
fn a_slow_receiver_cannot_stretch_the_deadline() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = write_lines(&dir.path().join("ev.jsonl"), &counts(2));
    let receiver = HttpReceiver::start();
    receiver.script([Fault::Slow(Duration::from_secs(30))]);
    let endpoint = receiver.url("/ingest");
    let (out, took) = run_within(
        candor(
            dir.path(),
            &[],
            &[
                "send",
                &file,
                "--sink",
                "json",
                "--endpoint",
                &endpoint,
                "--deadline",
                "1",
            ],
        ),
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert!(
        stderr(&out).contains("2 event(s) not delivered"),
        "{}",
        stderr(&out)
    );
}

/// 100k events to a dead endpoint, twice: the spool stays within its caps (8 MiB, 1000
/// files), and says what it dropped.
#[test]
fn spool_caps_hold_on_every_run() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = write_lines(&dir.path().join("ev.jsonl"), &counts(100_000));
    let dead = format!("http://127.0.0.1:{}/x", dead_port());
    for _ in 0..2 {
        let out = run(
            dir.path(),
            &[],
            &[
                "send",
                &file,
                "--sink",
                "json",
                "--endpoint",
                &dead,
                "--deadline",
                "0.2",
            ],
        );
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains("over its caps"), "{}", stderr(&out));
        let (files, bytes) = spooled(&dir.path().join("spool"));
        assert!(bytes <= 8 * 1024 * 1024, "{bytes} bytes in {files} files");
        assert!(files <= 1000, "{files} files");
        assert!(files > 0);
    }
}

/// Folders 0700, files 0600; a planted `keys/<product>.tmp` symlink is neither followed nor
/// used, and the key stays private.
#[cfg(unix)]
#[test]
fn state_is_private_and_planted_links_are_not_followed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tmp");
    let state = dir.path().join("candor");
    std::fs::create_dir_all(state.join("keys")).expect("mkdir");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "mine").expect("write");
    std::os::unix::fs::symlink(&victim, state.join("keys/aspire-dashboard.tmp")).expect("link");
    let file = write_lines(
        &dir.path().join("ev.jsonl"),
        &[r#"{"product":"aspire-dashboard","product_version":"9.3","point":"invoked_commands","value":"resource-restart"}"#.to_owned()],
    );
    let dead = format!("http://127.0.0.1:{}/x", dead_port());
    let out = run(
        &state,
        &[],
        &[
            "send",
            &file,
            "--sink",
            "json",
            "--endpoint",
            &dead,
            "--deadline",
            "0.2",
            "--host",
            "visual-studio=17.14",
            "--browser-open",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&victim).expect("read"), "mine");
    let mode = |p: &PathBuf| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    for d in [
        state.clone(),
        state.join("keys"),
        state.join("spool"),
        state.join("spool/aspire-dashboard"),
    ] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    let key = state.join("keys/aspire-dashboard.key");
    assert_eq!(mode(&key), 0o600);
    for entry in std::fs::read_dir(state.join("spool/aspire-dashboard"))
        .expect("spool")
        .flatten()
    {
        assert_eq!(mode(&entry.path()), 0o600, "{}", entry.path().display());
    }
    // A delivered run writes a receipt and the events file, both private.
    let events = state.join("events.jsonl");
    let out = run(
        &state,
        &[],
        &[
            "send",
            "--sink",
            "file",
            "--endpoint",
            events.to_str().expect("utf-8"),
            "--host",
            "visual-studio=17.14",
            "--browser-open",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(mode(&events), 0o600);
    assert_eq!(mode(&state.join("receipts.jsonl")), 0o600);
}

/// `clean` removes the default sink's output and local-mode data too.
#[test]
fn clean_removes_events_and_local_data() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = run(
        dir.path(),
        &[("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "0")],
        &[
            "demo",
            "contrast-dotnet-agent",
            "--seconds",
            "0.2",
            "--dir",
            dir.path().to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(dir.path().join("events").exists());
    std::fs::write(dir.path().join("config.toml"), "mode = \"local\"\n").expect("config");
    let out = run(
        dir.path(),
        &[],
        &[
            "demo",
            "contrast-dotnet-agent",
            "--seconds",
            "0.2",
            "--dir",
            dir.path().to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(dir.path().join("local").exists());
    let out = run(dir.path(), &[], &["clean"]);
    assert_eq!(out.status.code(), Some(0));
    for name in ["events", "local", "keys", "spool", "receipts.jsonl"] {
        assert!(!dir.path().join(name).exists(), "{name} left behind");
    }
    assert!(dir.path().join("config.toml").exists());
}

/// `candor hash --key-file` with Candor's own key file prints exactly the hash sent.
#[test]
fn hash_with_candors_key_file_matches_the_wire() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = write_lines(
        &dir.path().join("ev.jsonl"),
        &[r#"{"product":"aspire-dashboard","product_version":"9.3","point":"invoked_commands","value":"resource-restart"}"#.to_owned()],
    );
    let receiver = HttpReceiver::start();
    let endpoint = receiver.url("/ingest");
    let out = run(
        dir.path(),
        &[],
        &[
            "send",
            &file,
            "--sink",
            "json",
            "--endpoint",
            &endpoint,
            "--host",
            "visual-studio=17.14",
            "--browser-open",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let events = receiver.events();
    assert_eq!(events.len(), 1);
    let sent = events[0].value["data"].as_str().expect("a hash").to_owned();
    let key = dir.path().join("keys/aspire-dashboard.key");
    let out = run(
        dir.path(),
        &[],
        &[
            "hash",
            "--key-file",
            key.to_str().expect("utf-8"),
            "resource-restart",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), sent);
}

/// A deadline that is not a number of seconds within a day is a one-line error, exit 2.
#[test]
fn bad_deadlines_are_one_line_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    for bad in ["1e20", "NaN", "-1", "inf", "soon"] {
        let out = run(
            dir.path(),
            &[],
            &["send", "--sink", "stdout", &format!("--deadline={bad}")],
        );
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert_eq!(stderr(&out).trim().lines().count(), 1, "{bad}");
    }
}

/// Hostile text in a line reaches the terminal escaped and cut.
#[test]
fn hostile_text_is_escaped_and_cut_in_messages() {
    let dir = tempfile::tempdir().expect("tmp");
    let title = "\u{1b}]0;pwned\u{7}";
    let huge = "x".repeat(2 * 1024 * 1024);
    let lines = [
        agent_line(r"\u001b]0;pwned\u0007", "1"),
        agent_line(&huge, "1"),
        format!("{title}not json"),
    ];
    let file = write_lines(&dir.path().join("ev.jsonl"), &lines);
    let out = run(dir.path(), &[], &["send", &file, "--sink", "stdout"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
    assert!(err.len() < 10_000, "{} bytes of messages", err.len());
    assert!(err.contains("more bytes"), "{err}");
}

/// A batch dated 1970 in the spool is dropped by the age cap on replay, not sent first.
#[test]
fn a_batch_dated_1970_is_dropped_not_replayed() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = write_lines(&dir.path().join("ev.jsonl"), &counts(2));
    let dead = format!("http://127.0.0.1:{}/x", dead_port());
    let out = run(
        dir.path(),
        &[],
        &[
            "send",
            &file,
            "--sink",
            "json",
            "--endpoint",
            &dead,
            "--deadline",
            "0.2",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let spool = dir.path().join("spool/contrast-dotnet-agent");
    let batch = std::fs::read_dir(&spool)
        .expect("spool")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("a batch");
    std::fs::rename(
        &batch,
        spool.join("0000000000000001-0000000001-00000000.jsonl"),
    )
    .expect("backdate");
    let target = dir.path().join("out.jsonl");
    let out = run(
        dir.path(),
        &[],
        &[
            "send",
            "--sink",
            "file",
            "--endpoint",
            target.to_str().expect("utf-8"),
        ],
    );
    assert!(stderr(&out).contains("over its caps"), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(&target)
            .unwrap_or_default()
            .is_empty(),
        "a batch from 1970 was sent"
    );
    assert_eq!(spooled(&dir.path().join("spool")).0, 0);
}

/// A CA file that is a FIFO, given by `--ca-file` or by `CANDOR_CA_FILE` (the host's own
/// environment), is refused at once on every network sink: it used to block the sender thread
/// while building its sink, and the run never returned, whatever `--deadline` said.
#[test]
fn a_ca_file_that_is_a_fifo_never_hangs() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = write_lines(&dir.path().join("ev.jsonl"), &counts(1));
    let fifo = dir.path().join("ca.fifo");
    mkfifo(&fifo);
    let fifo = fifo.to_str().expect("utf-8");
    for (sink, endpoint) in [
        ("json", "https://127.0.0.1:1/x"),
        ("otlp-http", "https://127.0.0.1:1"),
        ("otlp-grpc", "https://127.0.0.1:1"),
    ] {
        let args = [
            "send",
            &file,
            "--sink",
            sink,
            "--endpoint",
            endpoint,
            "--deadline",
            "1",
        ];
        let mut with_flag = args.to_vec();
        with_flag.extend(["--ca-file", fifo]);
        for (env, args) in [
            (vec![], with_flag.as_slice()),
            (vec![("CANDOR_CA_FILE", fifo)], &args[..]),
        ] {
            let (out, took) = run_within(candor(dir.path(), &env, args), Duration::from_secs(30));
            assert!(took < Duration::from_secs(10), "{sink}: {took:?}");
            assert_ne!(out.status.code(), Some(0), "{sink}");
            assert!(stderr(&out).contains("FIFO"), "{sink}: {}", stderr(&out));
        }
    }
}

/// The host's own `SSL_CERT_FILE` pointing at a FIFO: building an HTTPS sink reads the
/// system's roots and blocked on it, and `candor send` (a host's `build()` too) never returned.
/// The start now waits for the sink only until its deadline and says why it gave up.
#[test]
fn a_sink_that_cannot_be_built_in_time_does_not_hang_the_start() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = write_lines(&dir.path().join("ev.jsonl"), &counts(1));
    let fifo = dir.path().join("roots.fifo");
    mkfifo(&fifo);
    let fifo = fifo.to_str().expect("utf-8");
    let args = [
        "send",
        &file,
        "--sink",
        "json",
        "--endpoint",
        "https://127.0.0.1:1/x",
        "--deadline",
        "1",
    ];
    let (out, took) = run_within(
        candor(dir.path(), &[("SSL_CERT_FILE", fifo)], &args),
        Duration::from_secs(40),
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not ready within"),
        "{}",
        stderr(&out)
    );
}

/// A FIFO where the receipts log should be: delivery goes on, but a run that could not keep
/// its record says so and exits 1 (it used to exit 0, and `candor receipts` failed later).
#[test]
fn a_receipt_that_cannot_be_written_is_reported() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = write_lines(&dir.path().join("ev.jsonl"), &counts(3));
    mkfifo(&dir.path().join("receipts.jsonl"));
    let target = dir.path().join("out.jsonl");
    let (out, took) = run_within(
        candor(
            dir.path(),
            &[],
            &[
                "send",
                &file,
                "--sink",
                "file",
                "--endpoint",
                target.to_str().expect("utf-8"),
            ],
        ),
        Duration::from_secs(30),
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("receipt(s) could not be written"),
        "{}",
        stderr(&out)
    );
    let delivered = std::fs::read_to_string(&target).expect("delivered");
    assert_eq!(delivered.lines().count(), 3);
}

/// The other side of the rule above: a run that only lacks the context a product had (here
/// `candor send` without the dashboard's `--host` and `--browser-open`) is no change of the
/// user's mind. It sends nothing, and leaves what the dashboard spooled for a run that has
/// the context; that run delivers it.
#[test]
fn a_run_without_the_products_context_leaves_its_spool_waiting() {
    let dir = tempfile::tempdir().expect("tmp");
    let line = r#"{"product":"aspire-dashboard","product_version":"9.3","point":"invoked_commands","value":"resource-restart"}"#;
    let file = write_lines(&dir.path().join("ev.jsonl"), &[line.to_owned()]);
    let dead = format!("http://127.0.0.1:{}/x", dead_port());
    let host = ["--host", "visual-studio=17.14", "--browser-open"];
    let mut args = vec![
        "send",
        &file,
        "--sink",
        "json",
        "--endpoint",
        &dead,
        "--deadline",
        "0.2",
    ];
    args.extend(host);
    let out = run(dir.path(), &[], &args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(spooled(&dir.path().join("spool")).0, 1);
    let target = dir.path().join("out.jsonl");
    let target = target.to_str().expect("utf-8");
    let out = run(
        dir.path(),
        &[],
        &["send", "--sink", "file", "--endpoint", target],
    );
    assert!(stderr(&out).contains("not sent"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("discarded"), "{}", stderr(&out));
    assert_eq!(spooled(&dir.path().join("spool")).0, 1, "left waiting");
    let mut args = vec!["send", "--sink", "file", "--endpoint", target];
    args.extend(host);
    let out = run(dir.path(), &[], &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(target)
            .unwrap_or_default()
            .contains("invoked_commands")
    );
}
