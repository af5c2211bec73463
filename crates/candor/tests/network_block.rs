//! The agent's catalogue says blocking the network opts out (`network_block_opts_out`, after
//! `network_block_after_seconds`). These tests show the runtime doing what its disclosure page
//! says: once the endpoint has been unreachable for the period, consent is off and says why
//! (decided by the network block), what is waiting is discarded, nothing more is collected, and
//! collection resumes when the endpoint can be reached again.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use candor::status::{DecidedBy, DropCause, Mode};
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

/// A batch an earlier run left in the spool.
fn spooled_batch(state: &Path) {
    let spool = state.join("spool/contrast-dotnet-agent");
    std::fs::create_dir_all(&spool).expect("mkdir");
    let event = candor_testkit::agent_event(1);
    std::fs::write(
        spool.join("0001700000000000-0000000001-00000000.jsonl"),
        serde_json::to_string(&event).expect("json") + "\n",
    )
    .expect("write");
}

fn batches(state: &Path) -> usize {
    std::fs::read_dir(state.join("spool/contrast-dotnet-agent"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn past_the_period_consent_is_off_says_why_and_what_waited_is_discarded() {
    let state = tempfile::tempdir().expect("tmp");
    unreachable_since(state.path(), period() + Duration::from_secs(3600));
    spooled_batch(state.path());
    let endpoint = format!("http://127.0.0.1:{}/ingest", dead_port());
    let t = agent(state.path(), endpoint);
    assert!(!t.is_collecting(), "the network block decides off");
    let decision = t.status().decision;
    assert_eq!(decision.mode, Mode::Off);
    assert!(
        matches!(decision.decided_by, DecidedBy::NetworkBlock { .. }),
        "{decision:?}"
    );
    assert!(
        decision.reason.contains("has not answered since"),
        "{decision:?}"
    );
    t.record("working_set", Input::Count(1));
    let status = t.shutdown(Duration::from_secs(3));
    assert_eq!(status.recorded, 0);
    assert_eq!(status.prepared, 0);
    assert_eq!(
        status.dropped(DropCause::Withdrawn),
        1,
        "the batch that waited: {status:?}"
    );
    assert_eq!(batches(state.path()), 0);
}

#[test]
fn when_the_period_runs_out_pending_data_is_discarded_and_consent_says_why() {
    let state = tempfile::tempdir().expect("tmp");
    // An earlier run saw the endpoint fail until just under the period ago.
    unreachable_since(state.path(), period() - Duration::from_secs(1));
    let endpoint = format!("http://127.0.0.1:{}/ingest", dead_port());
    let t = agent(state.path(), endpoint);
    assert!(t.is_collecting());
    for n in 0..5 {
        t.record("working_set", Input::Count(n));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while t.is_collecting() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = t.status();
    assert!(
        matches!(status.decision.decided_by, DecidedBy::NetworkBlock { .. }),
        "{status:?}"
    );
    let sent = status.sent.clone().expect("the pipeline ran");
    assert_eq!(sent.delivered, 0);
    assert_eq!(sent.pending, 0, "what was waiting is discarded");
    assert!(status.dropped(DropCause::Withdrawn) >= 5, "{status:?}");
    // Nothing more is collected.
    t.record("working_set", Input::Count(99));
    let status = t.shutdown(Duration::from_secs(3));
    assert_eq!(status.recorded, 5, "{status:?}");
    assert_eq!(batches(state.path()), 0);
    assert!(state.path().join("network/contrast-dotnet-agent").exists());
}

#[test]
fn an_endpoint_that_answers_lifts_the_block_at_the_start() {
    let state = tempfile::tempdir().expect("tmp");
    unreachable_since(state.path(), period() + Duration::from_secs(3600));
    let receiver = HttpReceiver::start();
    let t = agent(state.path(), receiver.url("/ingest"));
    assert!(t.is_collecting(), "{:?}", t.status().decision);
    t.record("working_set", Input::Count(7));
    let status = t.shutdown(Duration::from_secs(5));
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
    candor_collect::DashboardRecorder::new(t.clone()).request_language("en-US");
    let status = t.shutdown(Duration::from_secs(2));
    assert!(status.decision.enabled(), "{status:?}");
    assert_eq!(status.dropped(DropCause::Withdrawn), 0, "{status:?}");
}
