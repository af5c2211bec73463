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
