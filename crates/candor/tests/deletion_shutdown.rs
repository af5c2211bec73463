//! A product that shuts down while its deletion request is being retried stops sending it:
//! nothing of Candor stays on the network after `shutdown` returns (the request is kept for the
//! next start).

use std::time::Duration;

use candor::{Environment, Input, SinkSpec, Telemetry};
use candor_testkit::{Fault, HttpReceiver};

const OPT_OUT: &str = "CONTRAST_DOTNET_TELEMETRY_OPTOUT";

#[test]
fn no_deletion_attempt_is_made_after_shutdown_returns() {
    let state = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    let agent = Telemetry::builder(candor::builtin("contrast-dotnet-agent").expect("built in"))
        .runtime("core")
        .version("4.0.0")
        .state_dir(state.path())
        .environment(Environment::from_pairs([(OPT_OUT, "0")]))
        .sink(SinkSpec::Json {
            endpoint: receiver.url("/v1/events"),
        })
        .batch_wait(Duration::from_millis(20))
        .build()
        .expect("telemetry");
    agent.record("working_set", Input::Count(7_340_032));
    agent.flush(Duration::from_secs(5));
    assert_eq!(receiver.events().len(), 1);
    // The vendor is down for deletions: the request is retried with backoff.
    receiver.script(std::iter::repeat_n(Fault::Status(503, None), 50));
    let _ = agent.reconsider(Environment::from_pairs([(OPT_OUT, "1")]));
    let attempts = || {
        receiver
            .log()
            .seen
            .iter()
            .filter(|r| r.target == candor_schema::DELETION_PATH)
            .count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while attempts() == 0 {
        assert!(std::time::Instant::now() < deadline, "no deletion attempt");
        std::thread::sleep(Duration::from_millis(20));
    }
    agent.shutdown(Duration::from_millis(300));
    // An attempt already on the wire when shutdown returned may still land.
    std::thread::sleep(Duration::from_millis(200));
    let at_shutdown = attempts();
    std::thread::sleep(Duration::from_millis(3_000));
    assert_eq!(
        attempts(),
        at_shutdown,
        "an attempt was made after shutdown"
    );
    let record = std::fs::read_to_string(
        state
            .path()
            .join("deletions")
            .join("contrast-dotnet-agent.json"),
    )
    .expect("the request is kept");
    assert!(!record.contains("confirmed_at"), "{record}");
}

/// A record carried over from a run that ended while its third attempt was on the wire: what
/// is saved before the fourth attempt says the fourth is on the wire, not the third (a run
/// ending now would otherwise leave "4 attempts: attempt 3 sent …, no answer yet").
#[test]
fn the_record_saved_before_an_attempt_names_that_attempt() {
    use candor_transport::DeletionRecord;
    use candor_transport::deletion::deliver;
    let state = tempfile::tempdir().expect("tmp");
    let mut record =
        DeletionRecord::new("contrast-dotnet-agent", &"ab".repeat(16), &"cd".repeat(16));
    record.attempts = 3;
    record.last_problem = Some("attempt 3 sent at 2026-01-01T00:00:00Z, no answer yet".to_owned());
    let mut saved = Vec::new();
    // A file sink cannot carry the request: one attempt, saved before and after.
    deliver(
        &SinkSpec::File {
            path: state.path().join("events.jsonl"),
        },
        &candor_transport::SinkOptions::default(),
        &mut record,
        Duration::from_secs(5),
        &|| false,
        |r| saved.push(r.clone()),
    );
    let before = saved.first().expect("saved before the attempt");
    assert_eq!(before.attempts, 4);
    let shown = before.describe();
    assert!(
        shown.contains("attempt 4 sent") && !shown.contains("attempt 3"),
        "{shown}"
    );
}
