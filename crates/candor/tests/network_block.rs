//! The agent's catalogue says blocking the network opts out (`network_block_opts_out`, after
//! `network_block_after_seconds`). These tests show the runtime doing what its disclosure page
//! says: once the endpoint has been unreachable for the period, what is waiting is discarded,
//! nothing more is collected, the status says why, and collection resumes when the endpoint
//! can be reached again.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use candor::{Environment, Input, SinkSpec, Telemetry, Timeouts};
use candor_testkit::{HttpReceiver, dead_port};

fn agent(state: &Path, endpoint: String) -> Telemetry {
    Telemetry::builder(candor::builtin("contrast-dotnet-agent").expect("built in"))
        .runtime("framework")
        .version("21.1.2")
        .state_dir(state)
        .environment(Environment::from_pairs([(
            "CONTRAST_DOTNET_TELEMETRY_OPTOUT",
            "0",
        )]))
        .sink(SinkSpec::Json { endpoint })
        .timeouts(Timeouts {
            connect: Duration::from_millis(200),
            request: Duration::from_millis(300),
        })
        .batch_wait(Duration::from_millis(10))
        .build()
        .expect("telemetry")
}

/// Writes "unreachable since" as an earlier run would have left it.
fn unreachable_since(state: &Path, ago: Duration) {
    let since = SystemTime::now() - ago;
    let seconds = since
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    std::fs::create_dir_all(state.join("network")).expect("mkdir");
    std::fs::write(
        state.join("network/contrast-dotnet-agent"),
        format!("{seconds}\n"),
    )
    .expect("write");
}

fn period() -> Duration {
    let catalogue = candor::builtin("contrast-dotnet-agent").expect("built in");
    assert!(catalogue.spec().consent.network_block_opts_out);
    Duration::from_secs(
        catalogue
            .spec()
            .consent
            .network_block_after_seconds
            .expect("declared"),
    )
}

#[test]
fn past_the_period_nothing_is_collected_and_status_says_why() {
    let state = tempfile::tempdir().expect("tmp");
    unreachable_since(state.path(), period() + Duration::from_secs(3600));
    let endpoint = format!("http://127.0.0.1:{}/ingest", dead_port());
    let t = agent(state.path(), endpoint);
    assert!(t.is_collecting(), "consent itself is on");
    t.record("working_set", Input::Count(1));
    t.record("in_container", Input::Flag(false));
    let status = t.shutdown(Duration::from_secs(3));
    assert_eq!(status.prepared, 2);
    assert_eq!(status.discarded_by_consent, 2);
    assert!(
        status.sent.is_none(),
        "no pipeline started: {:?}",
        status.sent
    );
    let why = status.network_blocked.expect("the status gives the reason");
    assert!(why.contains("has not answered since"), "{why}");
}

#[test]
fn when_the_period_runs_out_pending_data_is_discarded() {
    let state = tempfile::tempdir().expect("tmp");
    // An earlier run saw the endpoint fail until just under the period ago.
    unreachable_since(state.path(), period() - Duration::from_secs(1));
    let endpoint = format!("http://127.0.0.1:{}/ingest", dead_port());
    let t = agent(state.path(), endpoint);
    for n in 0..5 {
        t.record("working_set", Input::Count(n));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while t.status().network_blocked.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = t.status();
    assert!(status.network_blocked.is_some(), "{status:?}");
    let sent = status.sent.clone().expect("the pipeline ran");
    assert_eq!(sent.delivered, 0);
    assert_eq!(sent.pending, 0, "what was waiting is discarded");
    assert!(status.discarded_by_consent >= 5, "{status:?}");
    // Nothing more is collected.
    t.record("working_set", Input::Count(99));
    let status = t.shutdown(Duration::from_secs(3));
    assert!(status.discarded_by_consent >= 6, "{status:?}");
    assert!(state.path().join("network/contrast-dotnet-agent").exists());
}

#[test]
fn collection_resumes_when_the_endpoint_answers_again() {
    let state = tempfile::tempdir().expect("tmp");
    unreachable_since(state.path(), period() + Duration::from_secs(3600));
    let receiver = HttpReceiver::start();
    let t = agent(state.path(), receiver.url("/ingest"));
    t.record("working_set", Input::Count(7));
    let status = t.shutdown(Duration::from_secs(5));
    assert_eq!(status.network_blocked, None, "{status:?}");
    assert_eq!(status.sent.expect("started").delivered, 1);
    let points: Vec<String> = receiver.events().into_iter().map(|e| e.point).collect();
    assert_eq!(points, vec!["working_set"]);
    assert!(
        !state.path().join("network/contrast-dotnet-agent").exists(),
        "an answer forgets the kept time"
    );
}

#[test]
fn a_catalogue_without_the_promise_keeps_retrying() {
    let state = tempfile::tempdir().expect("tmp");
    let dashboard = candor::builtin("aspire-dashboard").expect("built in");
    assert!(!dashboard.spec().consent.network_block_opts_out);
    std::fs::create_dir_all(state.path().join("network")).expect("mkdir");
    std::fs::write(state.path().join("network/aspire-dashboard"), "1\n").expect("write");
    let t = Telemetry::builder(dashboard)
        .version("9.3")
        .state_dir(state.path())
        .environment(Environment::from_pairs([(
            "DOTNET_DASHBOARD_ENABLE_TELEMETRY",
            "true",
        )]))
        .host("visual-studio", "17.14")
        .condition("browser-open")
        .sink(SinkSpec::Json {
            endpoint: format!("http://127.0.0.1:{}/ingest", dead_port()),
        })
        .build()
        .expect("telemetry");
    assert!(t.is_collecting(), "{:?}", t.status().decision);
    t.dashboard().request_language("en-US");
    let status = t.shutdown(Duration::from_secs(2));
    assert_eq!(status.network_blocked, None);
    assert_eq!(status.discarded_by_consent, 0, "{status:?}");
}
