//! Every value a host records ends somewhere Candor counts: refused (with its reason),
//! dropped under a cause, delivered, or still pending. These tests attack the runtime where
//! values used to go uncounted (recording racing shutdown, consent changing while values
//! arrive, a sink that cannot start, a full queue) and check the count closes every time.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use candor::status::{DropCause, Mode, Status, Transition};
use candor::{Environment, Input, SinkSpec, Telemetry};
use candor_testkit::{Fault, HttpReceiver};

mod common;

use common::{OPT_OUT, agent};

fn on() -> Environment {
    Environment::from_pairs([(OPT_OUT, "0")])
}

fn off() -> Environment {
    Environment::from_pairs([(OPT_OUT, "1")])
}

/// Each value recorded is counted exactly once where it is or ended (once the worker is
/// idle or stopped). Values `record` could not queue are dropped as `QueueFull` and never
/// counted as recorded.
fn assert_accounted(status: &Status) {
    let sent = status.sent.clone().unwrap_or_default();
    let local = status.kept_locally.clone().unwrap_or_default();
    let dropped: u64 = status
        .all_drops()
        .iter()
        .filter(|d| !matches!(d.cause, DropCause::QueueFull | DropCause::Unreadable))
        .map(|d| d.events)
        .sum();
    let ended = status.queued
        + status.held_for_notice
        + sent.delivered
        + sent.pending
        + local.delivered
        + local.pending
        + dropped
        + status.refused_total();
    assert_eq!(status.recorded, ended, "{status:#?}");
}

/// Many threads record while the host shuts down: what slipped into the queue after the
/// worker's last look is counted as recorded after shutdown, never lost without a count.
#[test]
fn recording_racing_shutdown_from_many_threads_is_counted() {
    for round in 0..5 {
        let state = tempfile::tempdir().expect("tmp");
        let t = agent(
            state.path(),
            SinkSpec::File {
                path: state.path().join("events.jsonl"),
            },
            4096,
        );
        let go = Arc::new(AtomicBool::new(true));
        let threads: Vec<_> = (0..6)
            .map(|n| {
                let t = t.clone();
                let go = Arc::clone(&go);
                std::thread::spawn(move || {
                    let mut i = 0u64;
                    while go.load(Ordering::Relaxed) {
                        t.record("working_set", Input::Count(i));
                        if i % 7 == n {
                            t.record("not_a_point", Input::Count(i));
                        }
                        i += 1;
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(30 + round * 10));
        let at_shutdown = t.shutdown(Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(20));
        go.store(false, Ordering::Relaxed);
        for thread in threads {
            thread.join().expect("no panic");
        }
        let status = t.status();
        assert!(status.recorded > 0);
        assert!(status.recorded >= at_shutdown.recorded);
        assert_accounted(&status);
        // After shutdown, recording does nothing at all.
        t.record("working_set", Input::Count(1));
        assert_eq!(t.status().recorded, status.recorded);
    }
}

/// Consent switched off and on again and again while four threads record: the count closes,
/// nothing is sent while it is off, and after the last switch on only what was recorded after
/// it arrives (nothing of an earlier decision leaks into a later one).
#[test]
fn consent_toggled_while_recording_leaks_nothing_across_decisions() {
    let state = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    let t = agent(
        state.path(),
        SinkSpec::Json {
            endpoint: receiver.url("/ingest"),
        },
        4096,
    );
    let go = Arc::new(AtomicBool::new(true));
    let next = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let t = t.clone();
            let go = Arc::clone(&go);
            let next = Arc::clone(&next);
            std::thread::spawn(move || {
                while go.load(Ordering::Relaxed) {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    t.record("working_set", Input::Count(n));
                    if n.is_multiple_of(64) {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                }
            })
        })
        .collect();
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(3));
        assert!(matches!(t.reconsider(off()), Transition::Changed { .. }));
        std::thread::sleep(Duration::from_millis(2));
        assert!(matches!(t.reconsider(on()), Transition::Changed { .. }));
    }
    assert_eq!(
        t.reconsider(off()),
        Transition::Changed {
            from: Mode::On,
            to: Mode::Off
        }
    );
    // While off, nothing but the agent's deletion request (its events can be traced to this
    // machine) may be sent.
    let payloads = || {
        receiver
            .log()
            .seen
            .iter()
            .filter(|r| r.target != candor_schema::DELETION_PATH)
            .count()
    };
    let requests_when_off = payloads();
    let events_when_off = receiver.events().len();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(payloads(), requests_when_off, "sent while off");
    go.store(false, Ordering::Relaxed);
    for thread in threads {
        thread.join().expect("no panic");
    }
    // On once more: only values recorded from now on may arrive.
    const MARK: u64 = 1 << 40;
    assert!(matches!(t.reconsider(on()), Transition::Changed { .. }));
    for n in 0..10 {
        t.record("working_set", Input::Count(MARK + n));
    }
    let status = t.shutdown(Duration::from_secs(10));
    assert_accounted(&status);
    let after: Vec<u64> = receiver.events()[events_when_off..]
        .iter()
        .map(|e| e.value["data"].as_u64().expect("a count"))
        .collect();
    assert_eq!(after.len(), 10, "{after:?}");
    assert!(after.iter().all(|n| *n >= MARK), "{after:?}");
    assert!(status.dropped(DropCause::Withdrawn) > 0, "{status:#?}");
}

/// A sink that cannot start (its CA file is not there): every event meant for it is dropped
/// and counted under its own cause, the status says why, and the host is not held.
#[test]
fn a_sink_that_cannot_start_counts_each_event_it_drops() {
    let state = tempfile::tempdir().expect("tmp");
    let ca = state.path().join("gone.pem");
    let t = Telemetry::builder(candor::builtin("contrast-dotnet-agent").expect("built in"))
        .runtime("core")
        .version("4.0.0")
        .state_dir(state.path())
        .environment(on())
        .sink(SinkSpec::Json {
            endpoint: "https://127.0.0.1:1/ingest".into(),
        })
        .ca_file(&ca)
        .build()
        .expect("the sink is checked when it is first needed");
    for n in 0..5 {
        t.record("working_set", Input::Count(n));
    }
    t.record("not_a_point", Input::Count(1));
    let started = std::time::Instant::now();
    let status = t.shutdown(Duration::from_secs(5));
    assert!(started.elapsed() < Duration::from_secs(5));
    let sent = status.sent.clone().expect("the network delivery was tried");
    assert_eq!(sent.dropped(DropCause::SinkUnavailable), 5, "{sent:#?}");
    assert_eq!(sent.delivered, 0);
    assert!(
        sent.last_error
            .as_deref()
            .is_some_and(|e| e.contains("cannot read the CA file")),
        "{sent:#?}"
    );
    assert_eq!(status.refused_total(), 1);
    assert_accounted(&status);
    assert!(
        !state.path().join("spool/contrast-dotnet-agent").exists()
            || std::fs::read_dir(state.path().join("spool/contrast-dotnet-agent"))
                .expect("spool")
                .flatten()
                .all(|e| !e.file_name().to_string_lossy().ends_with(".jsonl")),
        "nothing is kept for a sink that cannot start"
    );
}

/// A receiver that stalls, a queue of eight and four threads recording as fast as they can:
/// the host is never held, and every value is counted where it ended.
#[test]
fn a_full_queue_behind_a_stalled_receiver_is_counted() {
    let state = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    receiver.script([Fault::Slow(Duration::from_millis(800))]);
    let t = agent(
        state.path(),
        SinkSpec::Json {
            endpoint: receiver.url("/ingest"),
        },
        8,
    );
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let t = t.clone();
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                for n in 0..5_000 {
                    t.record("working_set", Input::Count(n));
                }
                started.elapsed()
            })
        })
        .collect();
    for thread in threads {
        let took = thread.join().expect("no panic");
        assert!(took < Duration::from_secs(5), "the host was held: {took:?}");
    }
    let status = t.shutdown(Duration::from_secs(10));
    assert!(status.dropped(DropCause::QueueFull) > 0, "{status:#?}");
    assert_eq!(
        status.recorded + status.dropped(DropCause::QueueFull),
        20_000
    );
    assert_accounted(&status);
}

/// A product whose catalogue wants a first-run notice holds what it records until the notice
/// is shown; shut down before it is, what it held is dropped under its own cause, never sent.
#[test]
fn events_held_for_a_notice_never_shown_are_counted_at_shutdown() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vendor.toml");
    let text = std::fs::read_to_string(path).expect("fixture").replace(
        "notice = { kind = \"documentation-only\" }",
        "notice = { kind = \"first-run\" }",
    );
    let catalogue = candor::Catalogue::from_toml_str(&text, "vendor.toml").expect("valid");
    let state = tempfile::tempdir().expect("tmp");
    let events = state.path().join("events.jsonl");
    let t = Telemetry::builder(Arc::new(catalogue))
        .version("1.0")
        .state_dir(state.path())
        .environment(on())
        .sink(SinkSpec::File {
            path: events.clone(),
        })
        .build()
        .expect("telemetry");
    assert!(t.status().decision.notice_pending);
    for n in 0..3 {
        t.record("open_files", Input::Count(n));
    }
    t.flush(Duration::from_secs(5));
    let status = t.status();
    assert_eq!(status.held_for_notice, 3, "{status:#?}");
    assert_accounted(&status);
    let status = t.shutdown(Duration::from_secs(5));
    assert_eq!(status.held_for_notice, 0);
    assert_eq!(status.dropped(DropCause::NoticeNotShown), 3, "{status:#?}");
    assert_accounted(&status);
    assert!(
        std::fs::read_to_string(&events)
            .unwrap_or_default()
            .is_empty()
    );
}

/// The vendor fixture's catalogue, its notice shown on first run.
fn vendor_with_first_run_notice() -> Arc<candor::Catalogue> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vendor.toml");
    let text = std::fs::read_to_string(path).expect("fixture").replace(
        "notice = { kind = \"documentation-only\" }",
        "notice = { kind = \"first-run\" }",
    );
    Arc::new(candor::Catalogue::from_toml_str(&text, "vendor.toml").expect("valid"))
}

/// A revision that widened collection since the one the person was told about: the points it
/// did not widen are sent as before, the new point waits for the notice like a first-run
/// point, is sent once the notice is shown while the product runs, and what is still held at
/// shutdown is dropped under its own cause.
#[test]
fn a_widening_revision_holds_only_its_new_points_until_the_notice_is_shown_again() {
    let catalogue = vendor_with_first_run_notice();
    let state = tempfile::tempdir().expect("tmp");
    // The person was told about a revision without the point `new`.
    let mut told = catalogue.disclosed();
    told.revision = "6".to_owned();
    told.points.remove("new");
    let notices = state.path().join("notices");
    std::fs::create_dir_all(&notices).expect("notices");
    std::fs::write(notices.join("acme-widget.shown"), told.to_json()).expect("marker");

    let events = state.path().join("events.jsonl");
    let build = || {
        Telemetry::builder(catalogue.clone())
            .version("1.0")
            .state_dir(state.path())
            .environment(on())
            .sink(SinkSpec::File {
                path: events.clone(),
            })
            .build()
            .expect("telemetry")
    };
    let sent_points = || -> Vec<String> {
        std::fs::read_to_string(&events)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("json");
                v["point"].as_str().expect("point").to_owned()
            })
            .collect()
    };

    // First run: the notice is never shown.
    let t = build();
    let decision = t.status().decision;
    assert!(
        decision.notice_pending && decision.may_send(),
        "{decision:?}"
    );
    t.record("open_files", Input::Count(1));
    t.record("new", Input::Count(2));
    t.flush(Duration::from_secs(5));
    assert_eq!(t.status().held_for_notice, 1);
    let status = t.shutdown(Duration::from_secs(5));
    assert_eq!(status.dropped(DropCause::NoticeNotShown), 1, "{status:#?}");
    assert_accounted(&status);
    assert_eq!(sent_points(), ["open_files"]);

    // Second run: the host shows the notice while it runs, which releases the held point.
    let t = build();
    t.record("new", Input::Count(3));
    t.flush(Duration::from_secs(5));
    assert_eq!(t.status().held_for_notice, 1);
    let mut shown = Vec::new();
    assert!(t.show_notice(&mut shown).expect("shown"));
    assert!(!t.show_notice(&mut Vec::new()).expect("once"));
    assert!(String::from_utf8_lossy(&shown).contains("new: new"));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while t.status().held_for_notice > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = t.shutdown(Duration::from_secs(5));
    assert_eq!(status.dropped(DropCause::NoticeNotShown), 0, "{status:#?}");
    assert_accounted(&status);
    assert_eq!(sent_points(), ["open_files", "new"]);
}

/// A host that shows the notice its own way gets it once at a time, and only handing back what
/// it got records the notice as shown: a second thread asking meanwhile gets nothing, a notice
/// dropped unshown stays owed (and what it holds stays held), and another product's notice
/// releases nothing here.
#[test]
fn an_owed_notice_is_handed_out_once_at_a_time_and_recorded_only_when_handed_back() {
    let catalogue = vendor_with_first_run_notice();
    let build = |state: &Path| {
        Telemetry::builder(catalogue.clone())
            .version("1.0")
            .state_dir(state)
            .environment(on())
            .sink(SinkSpec::File {
                path: state.join("events.jsonl"),
            })
            .build()
            .expect("telemetry")
    };
    let (here, there) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let t = build(here.path());
    let other = build(there.path());
    t.record("open_files", Input::Count(7));
    t.flush(Duration::from_secs(5));
    assert_eq!(t.status().held_for_notice, 1);

    let first = t.owed_notice().expect("readable").expect("owed");
    assert!(!first.text().is_empty());
    // Another thread asking while the first holds it gets nothing to show.
    let t2 = t.clone();
    let meanwhile = std::thread::spawn(move || t2.owed_notice().expect("readable").is_none())
        .join()
        .expect("thread");
    assert!(meanwhile, "two threads were handed the notice at once");
    assert!(!t.show_notice(&mut Vec::new()).expect("io"), "shown twice");
    // Dropped unshown: still owed, still held.
    drop(first);
    let again = t.owed_notice().expect("readable").expect("still owed");

    // Another product's notice records nothing here.
    let foreign = other.owed_notice().expect("readable").expect("owed there");
    let refused = t.notice_shown(foreign).expect_err("foreign notice");
    assert_eq!(refused.kind(), std::io::ErrorKind::InvalidInput);
    t.flush(Duration::from_secs(5));
    assert_eq!(t.status().held_for_notice, 1);

    t.notice_shown(again).expect("recorded");
    assert!(
        t.owed_notice().expect("readable").is_none(),
        "owed after shown"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while t.status().held_for_notice > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = t.shutdown(Duration::from_secs(5));
    assert_eq!(status.dropped(DropCause::NoticeNotShown), 0, "{status:#?}");
    assert_accounted(&status);
    // The other product's notice was never shown: it is still owed there.
    assert!(other.owed_notice().expect("readable").is_some());
}
