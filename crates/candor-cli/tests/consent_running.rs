//! Consent follows the user's file while a product runs. A real `candor serve` (SQLite) takes
//! what a running `candor demo` sends; `candor consent` changes the user's mind in between.
//! What the server stores says whether the running product obeyed: nothing recorded after an
//! `off` is stored, nothing at all is sent once the command has returned, a product started
//! while off starts sending when switched on, and a change undone at once still withdraws
//! everything recorded before it.

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::{Serve, now_rfc3339, run, stderr, wait_for};

const AGENT: &str = "contrast-dotnet-agent";

/// `candor demo` of the agent sending to `serve` for `seconds`, with `dir` as Candor's folder.
fn demo(dir: &Path, serve: &Serve, seconds: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_candor"))
        .env_clear()
        .env("CANDOR_CONFIG_DIR", dir)
        .args(["demo", AGENT, "--sink", "json", "--endpoint"])
        .arg(serve.url("/v1/events"))
        .args(["--seconds", seconds, "--interval", "0.3"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the demo starts")
}

/// Waits for the demo to end (at most a minute).
fn finish(child: Child) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.expect("output"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("the demo did not end");
        }
    }
}

fn consent(dir: &Path, setting: &str) {
    let out = run(dir, &[], &["consent", AGENT, setting]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// The reproduction: `off` written while the demo sends. Nothing recorded after the
/// `off` is stored, and nothing recorded before it is stored after the command returned.
#[test]
fn off_stops_a_running_product_at_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = tempfile::tempdir().expect("server folder");
    let database = format!("sqlite:{}", server.path().join("ingest.db").display());
    let serve = Serve::start(server.path(), &database, &[]);
    let child = demo(dir.path(), &serve, "8");
    assert!(
        wait_for(Duration::from_secs(30), || serve.stored(AGENT, None, None)
            > 0),
        "the demo sends while on"
    );
    let off_at = now_rfc3339();
    consent(dir.path(), "off");
    let returned_at = now_rfc3339();
    let before_off = serve.stored(AGENT, None, Some(&off_at));
    let out = finish(child);
    assert!(out.status.success(), "{}", stderr(&out));
    let after_off = serve.stored(AGENT, Some(&off_at), None);
    assert_eq!(after_off, 0, "events recorded after the off were stored");
    // The agent's events name its machine, so the off also owes a deletion request: the
    // running product may deliver it before it ends, and then everything it sent up to the off
    // is erased. Either way nothing recorded before the off arrives after the command.
    let stored_before_off = serve.stored(AGENT, None, Some(&off_at));
    assert!(
        stored_before_off == before_off || stored_before_off == 0,
        "events recorded before the off were sent after the command returned ({returned_at}): \
         {before_off} then {stored_before_off}"
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("telemetry is off"), "{summary}");
    eprintln!(
        "consent off under a running demo: {before_off} stored before, {after_off} after; {}",
        summary
            .lines()
            .filter(|l| l.contains("sent:") || l.contains("dropped"))
            .collect::<Vec<_>>()
            .join(" / ")
    );
}

/// A product started while off does nothing; `on` written to the file starts it, and what it
/// sends was all recorded after the `on`.
#[test]
fn on_starts_a_product_built_while_off() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = tempfile::tempdir().expect("server folder");
    let database = format!("sqlite:{}", server.path().join("ingest.db").display());
    let serve = Serve::start(server.path(), &database, &[]);
    consent(dir.path(), "off");
    let child = demo(dir.path(), &serve, "6");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(serve.stored(AGENT, None, None), 0, "nothing while off");
    let on_at = now_rfc3339();
    consent(dir.path(), "on");
    let out = finish(child);
    assert!(out.status.success(), "{}", stderr(&out));
    let total = serve.stored(AGENT, None, None);
    assert!(total > 0, "switched on, it sends");
    assert_eq!(serve.stored(AGENT, Some(&on_at), None), total);
}

/// `off` and `on` again at once, faster than a product looks at the file: everything recorded
/// before the change is still withdrawn, and collection goes on after it.
#[test]
fn a_change_undone_at_once_still_withdraws_what_came_before() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = tempfile::tempdir().expect("server folder");
    let database = format!("sqlite:{}", server.path().join("ingest.db").display());
    let serve = Serve::start(server.path(), &database, &[]);
    let child = demo(dir.path(), &serve, "7");
    assert!(wait_for(Duration::from_secs(30), || serve
        .stored(AGENT, None, None)
        > 0));
    let off_at = now_rfc3339();
    consent(dir.path(), "off");
    consent(dir.path(), "on");
    let on_at = now_rfc3339();
    let before = serve.stored(AGENT, None, Some(&off_at));
    let out = finish(child);
    assert!(out.status.success(), "{}", stderr(&out));
    // A deletion request the off owed may have erased what came before it; nothing else may
    // change it.
    let after = serve.stored(AGENT, None, Some(&off_at));
    assert!(after == before || after == 0, "{before} then {after}");
    assert_eq!(serve.stored(AGENT, Some(&off_at), Some(&on_at)), 0);
    assert!(
        serve.stored(AGENT, Some(&on_at), None) > 0,
        "it goes on after the change"
    );
}

/// A hand edit is followed too, and a symlink or FIFO put in place of the file while the
/// product runs turns it off (without ever being followed or blocking it).
#[test]
fn a_hand_edit_or_a_planted_fifo_is_followed() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = tempfile::tempdir().expect("server folder");
    let database = format!("sqlite:{}", server.path().join("ingest.db").display());
    let serve = Serve::start(server.path(), &database, &[]);
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "mode = \"on\"\n").expect("config");
    let child = demo(dir.path(), &serve, "9");
    assert!(wait_for(Duration::from_secs(30), || serve
        .stored(AGENT, None, None)
        > 0));
    // By hand, in place, in capitals.
    std::fs::write(&config, "mode = \"OFF\"\n").expect("edit");
    let off_at = now_rfc3339();
    std::thread::sleep(Duration::from_millis(1500));
    let stopped_at = now_rfc3339();
    std::fs::write(&config, "mode = \"on\"\n").expect("edit");
    std::thread::sleep(Duration::from_millis(1500));
    std::fs::remove_file(&config).expect("rm");
    let fifo_at = now_rfc3339();
    assert!(
        Command::new("mkfifo")
            .arg(&config)
            .status()
            .is_ok_and(|s| s.success())
    );
    let out = finish(child);
    assert!(out.status.success(), "{}", stderr(&out));
    // What was recorded after the edit, before the product looked at the file again, is
    // withdrawn like the rest; after the FIFO, nothing at all.
    assert_eq!(serve.stored(AGENT, Some(&off_at), Some(&stopped_at)), 0);
    assert!(
        serve.stored(AGENT, Some(&stopped_at), Some(&fifo_at)) > 0,
        "on again"
    );
    assert_eq!(
        serve.stored(AGENT, Some(&fifo_at), None),
        0,
        "a FIFO is off"
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("FIFO"), "{summary}");
}

/// A receiver that stalls while `candor send` delivers: `candor consent … off` waits for the
/// delivery in progress (it holds the spool's lock), and once the command has returned nothing
/// at all is sent; what waited is withdrawn, and `send` says so.
#[test]
fn off_waits_for_a_stalled_delivery_and_nothing_is_sent_after_it_returns() {
    use candor_testkit::{Fault, HttpReceiver};
    let dir = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    receiver.script([Fault::Slow(Duration::from_secs(3))]);
    let lines: Vec<String> = (0..600)
        .map(|n| common::agent_line("working_set", &n.to_string()))
        .collect();
    let events = common::write_lines(&dir.path().join("events.jsonl"), &lines);
    let sender = Command::new(env!("CARGO_BIN_EXE_candor"))
        .env_clear()
        .env("CANDOR_CONFIG_DIR", dir.path())
        .args(["send", &events, "--sink", "json", "--endpoint"])
        .arg(receiver.url("/ingest"))
        .args(["--deadline", "20"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("send starts");
    assert!(
        wait_for(Duration::from_secs(20), || receiver.log().requests >= 1),
        "the first delivery is under way"
    );
    let started = std::time::Instant::now();
    consent(dir.path(), "off");
    let waited = started.elapsed();
    let sent_when_returned = receiver.log().requests;
    let out = finish(sender);
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        receiver.log().requests,
        sent_when_returned,
        "a request went out after `off` returned"
    );
    assert!(
        receiver.events().is_empty(),
        "the stalled request took nothing"
    );
    assert!(
        waited >= Duration::from_secs(1),
        "the command did not wait: {waited:?}"
    );
    assert_eq!(out.status.code(), Some(1), "{printed}{}", stderr(&out));
    assert!(printed.contains("delivered 0 event(s)"), "{printed}");
    assert!(
        stderr(&out).contains("consent for contrast-dotnet-agent changed while sending"),
        "{}",
        stderr(&out)
    );
}

/// `candor clean` while a product runs no longer pulls the floor from under it: the review saw
/// the rest of the run lost as "the disk refused the write" (the spool's folder was gone for
/// good). Clean holds each spool's locks while it removes; the running product's spool makes
/// its folder again, and what it records after the clean is delivered.
#[test]
fn clean_under_a_running_product_loses_nothing_recorded_after_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = tempfile::tempdir().expect("server folder");
    let database = format!("sqlite:{}", server.path().join("ingest.db").display());
    let serve = Serve::start(server.path(), &database, &[]);
    let child = demo(dir.path(), &serve, "6");
    assert!(
        wait_for(Duration::from_secs(30), || serve.stored(AGENT, None, None)
            > 0),
        "the demo sends"
    );
    let out = run(dir.path(), &[], &["clean"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("demo"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let cleaned_at = now_rfc3339();
    let out = finish(child);
    let summary = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{summary}{}", stderr(&out));
    assert!(!summary.contains("could not be written"), "{summary}");
    assert!(!summary.contains("disk refused"), "{summary}");
    let after = serve.stored(AGENT, Some(&cleaned_at), None);
    assert!(
        after > 0,
        "nothing recorded after the clean was delivered: {summary}"
    );
    eprintln!("clean under a running demo: {after} event(s) stored after it; {summary}");
}

/// `candor consent … on` while consent is already on changes nothing, so a product sending at
/// that moment loses nothing: every value `candor send` was given is delivered, none withdrawn,
/// and `send` does not report a change of consent.
#[test]
fn setting_on_again_withdraws_nothing() {
    use candor_testkit::{Fault, HttpReceiver};
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("config.toml"), "mode = \"on\"\n").expect("config");
    let receiver = HttpReceiver::start();
    receiver.script([Fault::Slow(Duration::from_secs(2))]);
    let lines: Vec<String> = (0..600)
        .map(|n| common::agent_line("working_set", &n.to_string()))
        .collect();
    let events = common::write_lines(&dir.path().join("events.jsonl"), &lines);
    let sender = Command::new(env!("CARGO_BIN_EXE_candor"))
        .env_clear()
        .env("CANDOR_CONFIG_DIR", dir.path())
        .args(["send", &events, "--sink", "json", "--endpoint"])
        .arg(receiver.url("/ingest"))
        .args(["--deadline", "30"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("send starts");
    assert!(
        wait_for(Duration::from_secs(20), || receiver.log().requests >= 1),
        "the first delivery is under way"
    );
    consent(dir.path(), "on");
    consent(dir.path(), "on");
    let out = finish(sender);
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{printed}{}", stderr(&out));
    assert!(printed.contains("delivered 600 event(s)"), "{printed}");
    assert_eq!(receiver.events().len(), 600);
    assert!(
        !stderr(&out).contains("changed while sending"),
        "{}",
        stderr(&out)
    );
    assert!(
        !dir.path().join("consent-changes").exists(),
        "`on` recorded a withdrawal"
    );
}
