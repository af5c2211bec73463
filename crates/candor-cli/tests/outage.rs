//! Outages lose nothing. The reproduction: `candor send` of 2,000 lines to a
//! PostgreSQL-backed `candor serve` whose database stops for longer than the ten answers after
//! which batches used to be thrown away. Every answer meanwhile is 503 with `Retry-After`; the
//! batches wait, and once the database is back the server holds every event exactly once.
//! With a deadline shorter than the outage, what is left waits in the spool (reported as
//! waiting, not dropped), and a later `send` delivers it.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::postgres::Postgres;
use common::{Serve, agent_line, run_within, stderr, write_lines};

const AGENT: &str = "contrast-dotnet-agent";
const LINES: u64 = 2_000;
/// Longer than the ten answers (`Retry-After: 2`) after which batches used to be dropped.
const OUTAGE: Duration = Duration::from_secs(25);

#[test]
fn a_database_outage_under_serve_loses_nothing() {
    let Some(pg) = Postgres::start() else {
        return;
    };
    let server = tempfile::tempdir().expect("server folder");
    let serve = Serve::start(server.path(), &pg.url(), &[]);
    let dir = tempfile::tempdir().expect("tmp");
    let lines: Vec<String> = (0..LINES)
        .map(|n| agent_line("working_set", &(1_000_000 + n).to_string()))
        .collect();
    let events = write_lines(&dir.path().join("events.jsonl"), &lines);
    let endpoint = serve.url("/v1/events");

    // The database goes away, and the sender starts while it is away.
    pg.stop_server();
    let started = Instant::now();
    let sender = Command::new(env!("CARGO_BIN_EXE_candor"))
        .env_clear()
        .env("CANDOR_CONFIG_DIR", dir.path())
        .args(["send", &events, "--sink", "json", "--endpoint", &endpoint])
        .args(["--deadline", "90"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("send starts");
    std::thread::sleep(OUTAGE);
    pg.start_server();
    let out = {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(sender.wait_with_output());
        });
        rx.recv_timeout(Duration::from_secs(120))
            .expect("send ends by its deadline")
            .expect("output")
    };
    let took = started.elapsed();
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{printed}{}", stderr(&out));
    assert!(
        printed.contains(&format!("delivered {LINES} event(s)")),
        "{printed}"
    );
    assert!(!printed.contains("dropped"), "{printed}");
    let stored = serve.stored(AGENT, None, None);
    eprintln!(
        "outage of {OUTAGE:?} under serve (PostgreSQL): sent {LINES}, stored {stored}, dropped 0, in {took:?}"
    );
    assert_eq!(stored, LINES, "every event exactly once");
}

/// A deadline that ends inside the outage leaves the rest waiting in the spool, said so, and
/// a later `send` delivers it.
#[test]
fn a_deadline_inside_an_outage_leaves_the_rest_waiting() {
    let Some(pg) = Postgres::start() else {
        return;
    };
    let server = tempfile::tempdir().expect("server folder");
    let serve = Serve::start(server.path(), &pg.url(), &[]);
    let dir = tempfile::tempdir().expect("tmp");
    let lines: Vec<String> = (0..600)
        .map(|n| agent_line("working_set", &(2_000_000 + n).to_string()))
        .collect();
    let events = write_lines(&dir.path().join("events.jsonl"), &lines);
    let endpoint = serve.url("/v1/events");
    pg.stop_server();
    let (out, _) = run_within(
        common::candor(
            dir.path(),
            &[],
            &[
                "send",
                &events,
                "--sink",
                "json",
                "--endpoint",
                &endpoint,
                "--deadline",
                "3",
            ],
        ),
        Duration::from_secs(60),
    );
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{printed}{}", stderr(&out));
    assert!(printed.contains("delivered 0 event(s)"), "{printed}");
    assert!(printed.contains("600 waiting"), "{printed}");
    assert!(!printed.contains("dropped"), "{printed}");
    assert!(
        stderr(&out).contains("not delivered by the deadline"),
        "{}",
        stderr(&out)
    );
    pg.start_server();
    let (out, _) = run_within(
        common::candor(
            dir.path(),
            &[],
            &[
                "send",
                "--sink",
                "json",
                "--endpoint",
                &endpoint,
                "--deadline",
                "30",
            ],
        ),
        Duration::from_secs(60),
    );
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{printed}{}", stderr(&out));
    assert!(printed.contains("delivered 600 event(s)"), "{printed}");
    assert_eq!(serve.stored(AGENT, None, None), 600);
}
