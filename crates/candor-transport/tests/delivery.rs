//! Delivery outcomes against real loopback receivers: endpoints as OTLP users write them,
//! redirects never followed, what each answer does to a batch and why a dropped batch was
//! dropped, secrets kept out of every message, the TLS path with a CA from the configuration.

use std::path::Path;
use std::time::Duration;

use candor_schema::Event;
use candor_testkit::{Fault, GrpcFault, GrpcReceiver, HttpReceiver, dead_port};
use candor_transport::{
    DropCause, Failure, Permission, Permit, Pipeline, PipelineConfig, Receipts, SinkOptions,
    SinkSpec, StatsSnapshot, Timeouts,
};

fn event(n: u32) -> Event {
    candor_testkit::agent_event(n)
}

fn config(dir: &Path) -> PipelineConfig {
    PipelineConfig {
        batch_max_events: 10,
        batch_max_wait: Duration::from_millis(30),
        spool: Some(dir.join("spool")),
        receipts: Some(dir.join("receipts.jsonl")),
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        ..PipelineConfig::default()
    }
}

fn quick() -> SinkOptions {
    SinkOptions::from(Timeouts {
        connect: Duration::from_millis(500),
        request: Duration::from_millis(1500),
    })
}

fn run(config: PipelineConfig, spec: SinkSpec, options: SinkOptions, n: u32) -> StatsSnapshot {
    let p = Pipeline::start(config, move || spec.build(options)).expect("pipeline starts");
    for i in 0..n {
        assert!(p.submit(event(i)));
    }
    p.shutdown(Duration::from_secs(8))
}

fn receipts(dir: &Path) -> Vec<candor_transport::Receipt> {
    Receipts::new(dir.join("receipts.jsonl"), 1 << 20)
        .read(None)
        .expect("receipts")
}

/// The HTTP sinks, each pointed at `receiver` (OTLP/HTTP by its base URL).
fn http_sinks(receiver: &HttpReceiver) -> Vec<SinkSpec> {
    vec![
        SinkSpec::Json {
            endpoint: receiver.url("/ingest"),
        },
        SinkSpec::Relay {
            endpoint: receiver.url("/telemetry"),
            token: "relay-token-1".into(),
        },
        SinkSpec::OtlpHttp {
            endpoint: receiver.url(""),
        },
    ]
}

#[test]
fn an_otlp_base_url_gets_v1_logs_and_a_full_url_is_used_as_given() {
    let dir = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    for (given, path) in [
        (receiver.url(""), "/v1/logs"),
        (receiver.url("/"), "/v1/logs"),
        (receiver.url("/v1/logs"), "/v1/logs"),
        (receiver.url("/custom/logs"), "/custom/logs"),
    ] {
        let before = receiver.log().seen.len();
        let stats = run(
            config(dir.path()),
            SinkSpec::OtlpHttp {
                endpoint: given.clone(),
            },
            quick(),
            1,
        );
        let seen = receiver.log().seen;
        assert_eq!(seen.len(), before + 1, "{given}");
        assert_eq!(seen[before].target, path, "{given}");
        if path == "/v1/logs" {
            assert_eq!(stats.delivered, 1, "{given}: {stats:?}");
        }
    }
}

#[test]
fn redirects_are_never_followed_and_keep_the_batch() {
    for code in [301, 302, 303, 307, 308] {
        let elsewhere = HttpReceiver::start();
        let receiver = HttpReceiver::start();
        for spec in http_sinks(&receiver) {
            let dir = tempfile::tempdir().expect("tmp");
            receiver.script([Fault::Redirect(code, elsewhere.url("/stolen"))]);
            let before = receiver.events().len();
            let kind = spec.kind();
            let stats = run(config(dir.path()), spec, quick(), 3);
            assert_eq!(stats.delivered, 3, "{code} {kind}: {stats:?}");
            assert_eq!(stats.retries, 1, "{code} {kind}: kept and sent again");
            assert_eq!(receiver.events().len(), before + 3, "{code} {kind}");
            assert!(
                receiver.log().seen.iter().all(|r| r.method == "POST"),
                "{code} {kind}: never re-sent as a GET"
            );
            assert_eq!(
                receipts(dir.path()).iter().map(|r| r.events).sum::<u64>(),
                3,
                "{code} {kind}: one receipt for the real delivery only"
            );
        }
        assert_eq!(
            elsewhere.log().requests,
            0,
            "{code}: nothing went to the target"
        );
    }
}

#[test]
fn temporary_answers_keep_the_batch_on_every_http_sink() {
    let receiver = HttpReceiver::start();
    for spec in http_sinks(&receiver) {
        let dir = tempfile::tempdir().expect("tmp");
        let codes = [401, 403, 408, 413, 429, 500, 502, 503, 504];
        receiver.script(codes.map(|c| Fault::Status(c, None)));
        let kind = spec.kind();
        let stats = run(config(dir.path()), spec, quick(), 2);
        assert_eq!(stats.delivered, 2, "{kind}: {stats:?}");
        // 413 splits the batch in two rather than retrying it whole.
        assert_eq!(stats.retries, codes.len() as u64 - 1, "{kind}");
        assert!(stats.drops.is_empty(), "{kind}: {stats:?}");
    }
}

#[test]
fn permanent_answers_drop_the_batch_and_say_why() {
    let receiver = HttpReceiver::start();
    for spec in http_sinks(&receiver) {
        for code in [400, 404, 422] {
            let dir = tempfile::tempdir().expect("tmp");
            receiver.script([Fault::Status(code, None)]);
            let kind = spec.kind();
            let stats = run(config(dir.path()), spec.clone(), quick(), 4);
            assert_eq!(stats.refused(), 4, "{kind} {code}: {stats:?}");
            assert_eq!(stats.pending, 0);
            assert_eq!(stats.drops.len(), 1, "{stats:?}");
            let drop = &stats.drops[0];
            assert_eq!(drop.cause, DropCause::Refused(Failure::Status(code)));
            assert_eq!(drop.events, 4);
            assert!(drop.reason.contains(&code.to_string()), "{}", drop.reason);
            if code == 404 {
                assert!(
                    drop.hint.as_deref().is_some_and(|h| h.contains("/v1/logs")),
                    "{drop:?}"
                );
            }
            let problems = Receipts::new(dir.path().join("receipts.jsonl"), 1 << 20)
                .problems(Some("contrast-dotnet-agent"))
                .expect("problems");
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].dropped, 4);
            assert!(problems[0].problem.contains(&code.to_string()));
            assert!(receipts(dir.path()).is_empty(), "a drop is no receipt");
        }
    }
}

/// A receiver that keeps answering "later" (a redirect, 503, 429) far past the ten answers
/// after which batches used to be thrown away: nothing is dropped, and once it takes them
/// everything arrives, once.
#[test]
fn temporary_answers_keep_the_batch_however_many_there_are() {
    for fault in [
        Fault::Redirect(308, "https://elsewhere.example/".into()),
        Fault::Status(503, Some("0".into())),
        Fault::Status(429, None),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let receiver = HttpReceiver::start();
        receiver.script((0..25).map(|_| fault.clone()));
        let stats = run(
            config(dir.path()),
            SinkSpec::Json {
                endpoint: receiver.url("/ingest"),
            },
            quick(),
            3,
        );
        assert!(stats.drops.is_empty(), "{fault:?}: {stats:?}");
        assert_eq!(stats.delivered, 3, "{fault:?}: {stats:?}");
        assert_eq!(stats.pending, 0);
        assert_eq!(receiver.log().requests, 26, "{fault:?}");
        let mut values: Vec<String> = receiver
            .events()
            .iter()
            .map(|e| e.value.to_string())
            .collect();
        values.dedup();
        assert_eq!(values.len(), 3, "each event once: {values:?}");
    }
}

/// Past the deadline a batch the receiver keeps deferring waits in the spool: not dropped.
#[test]
fn a_deadline_leaves_a_deferred_batch_waiting_not_dropped() {
    let dir = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    receiver.script((0..1000).map(|_| Fault::Status(503, Some("0".into()))));
    let p = Pipeline::start(config(dir.path()), {
        let spec = SinkSpec::Json {
            endpoint: receiver.url("/ingest"),
        };
        move || spec.build(quick())
    })
    .expect("starts");
    for i in 0..4 {
        p.submit(event(i));
    }
    let stats = p.shutdown(Duration::from_millis(600));
    assert!(stats.drops.is_empty(), "{stats:?}");
    assert_eq!(stats.pending, 4, "{stats:?}");
    assert!(stats.retries >= 2, "{stats:?}");
}

/// A batch the receiver finds too large (413) is split until it fits; a single event still
/// too large is refused for good, and only it.
#[test]
fn too_large_batches_are_split_until_they_fit() {
    let dir = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    // The batch of 8 is too large, then its first half of 4, then that half's first half of
    // 2, then the single event that is left first.
    receiver.script([
        Fault::Status(413, None),
        Fault::Status(413, None),
        Fault::Status(413, None),
        Fault::Status(413, None),
    ]);
    let mut cfg = config(dir.path());
    cfg.batch_max_events = 8;
    let stats = run(
        cfg,
        SinkSpec::Json {
            endpoint: receiver.url("/ingest"),
        },
        quick(),
        8,
    );
    assert_eq!(stats.delivered, 7, "{stats:?}");
    assert_eq!(stats.refused(), 1, "{stats:?}");
    assert_eq!(
        stats
            .drops
            .iter()
            .map(|d| (d.cause, d.events))
            .collect::<Vec<_>>(),
        vec![(DropCause::Refused(Failure::Status(413)), 1)]
    );
    assert_eq!(receiver.events().len(), 7);
}

#[test]
fn retry_after_is_honoured_on_otlp_http() {
    let dir = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    receiver.script([Fault::Status(503, Some("60".into()))]);
    let p = Pipeline::start(config(dir.path()), {
        let spec = SinkSpec::OtlpHttp {
            endpoint: receiver.url(""),
        };
        move || spec.build(quick())
    })
    .expect("starts");
    p.submit(event(1));
    let stats = p.shutdown(Duration::from_secs(2));
    assert_eq!(stats.delivered, 0);
    assert_eq!(stats.pending, 1);
    assert_eq!(receiver.log().requests, 1, "no retry before Retry-After");
}

#[test]
fn a_refused_connection_is_named_with_a_hint_and_kept() {
    for spec in [
        SinkSpec::OtlpHttp {
            endpoint: format!("http://127.0.0.1:{}", dead_port()),
        },
        SinkSpec::OtlpGrpc {
            endpoint: format!("http://127.0.0.1:{}", dead_port()),
        },
        SinkSpec::Json {
            endpoint: format!("http://127.0.0.1:{}/x", dead_port()),
        },
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let kind = spec.kind();
        let p = Pipeline::start(config(dir.path()), move || spec.build(quick())).expect("start");
        p.submit(event(1));
        let stats = p.shutdown(Duration::from_millis(400));
        assert_eq!(
            stats.last_failure,
            Some(Failure::Connect),
            "{kind}: {stats:?}"
        );
        assert!(Failure::Connect.hint().is_some());
        assert!(
            stats.drops.is_empty(),
            "{kind}: an unreachable receiver drops nothing"
        );
        assert!(stats.pending >= 1, "{kind}");
        let problems = Receipts::new(dir.path().join("receipts.jsonl"), 1 << 20)
            .problems(None)
            .expect("problems");
        assert_eq!(
            problems.len(),
            1,
            "{kind}: noted once, not per retry: {problems:?}"
        );
        assert_eq!(problems[0].dropped, 0);
        assert!(
            problems[0].problem.contains("connection refused"),
            "{problems:?}"
        );
        assert!(problems[0].hint.is_some());
    }
}

#[test]
fn no_token_or_query_reaches_debug_messages_or_receipts() {
    let dir = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    let spec = SinkSpec::Relay {
        endpoint: receiver.url("/telemetry?token=QUERY-SECRET"),
        token: "BEARER-SECRET".into(),
    };
    let debug = format!("{spec:?} {:?}", spec.build(quick()).expect("sink"));
    assert!(
        !debug.contains("QUERY-SECRET") && !debug.contains("BEARER-SECRET"),
        "{debug}"
    );
    assert!(!spec.destination().contains("QUERY-SECRET"));
    receiver.script([Fault::Status(503, None), Fault::Status(400, None)]);
    let stats = run(config(dir.path()), spec.clone(), quick(), 12);
    assert_eq!(stats.delivered, 2, "{stats:?}");
    assert_eq!(stats.refused(), 10);
    let log = receiver.log();
    assert!(
        log.seen
            .iter()
            .all(|r| r.target.contains("token=QUERY-SECRET"))
    );
    let text = format!(
        "{stats:?} {}",
        std::fs::read_to_string(dir.path().join("receipts.jsonl")).expect("receipts")
    );
    assert!(!text.contains("QUERY-SECRET"), "{text}");
    assert!(!text.contains("BEARER-SECRET"), "{text}");
    // Unreachable: the error names the endpoint, without the query.
    let dead = SinkSpec::Json {
        endpoint: format!("http://127.0.0.1:{}/x?token=QUERY-SECRET", dead_port()),
    };
    let p = Pipeline::start(config(dir.path()), move || dead.build(quick())).expect("start");
    p.submit(event(1));
    let stats = p.shutdown(Duration::from_millis(300));
    let error = stats.last_error.expect("an error");
    assert!(
        error.contains("127.0.0.1") && !error.contains("QUERY-SECRET"),
        "{error}"
    );
    let err = SinkSpec::Json {
        endpoint: "http://evil.example/?token=QUERY-SECRET".into(),
    }
    .check()
    .expect_err("plain http elsewhere");
    assert!(!err.to_string().contains("QUERY-SECRET"), "{err}");
}

#[test]
fn https_with_the_configured_ca_delivers_and_without_it_fails_as_tls() {
    let receiver = HttpReceiver::start_tls();
    let ca = receiver.ca().expect("a CA").path().to_owned();
    for spec in http_sinks(&receiver) {
        let dir = tempfile::tempdir().expect("tmp");
        let kind = spec.kind();
        let trusted = SinkOptions {
            ca_file: Some(ca.clone()),
            ..quick()
        };
        let stats = run(config(dir.path()), spec.clone(), trusted, 3);
        assert_eq!(stats.delivered, 3, "{kind}: {stats:?}");
        let p = Pipeline::start(config(dir.path()), move || spec.build(quick())).expect("start");
        p.submit(event(9));
        let stats = p.shutdown(Duration::from_millis(600));
        assert_eq!(
            stats.delivered, 0,
            "{kind}: the test CA is not trusted by default"
        );
        assert_eq!(stats.last_failure, Some(Failure::Tls), "{kind}: {stats:?}");
        assert!(
            Failure::Tls
                .hint()
                .is_some_and(|h| h.contains("CANDOR_CA_FILE"))
        );
    }
    assert_eq!(receiver.events().len(), 9);
    let bad = SinkOptions {
        ca_file: Some(
            receiver
                .ca()
                .expect("ca")
                .path()
                .with_file_name("missing.pem"),
        ),
        ..quick()
    };
    let spec = SinkSpec::Json {
        endpoint: receiver.url("/ingest"),
    };
    let err = spec.build(bad).expect_err("a missing CA file is an error");
    assert!(err.to_string().contains("missing.pem"), "{err}");
}

#[test]
fn grpc_codes_follow_the_otlp_retryable_set_and_retry_info() {
    let receiver = GrpcReceiver::start();
    let dir = tempfile::tempdir().expect("tmp");
    let spec = SinkSpec::OtlpGrpc {
        endpoint: receiver.url(),
    };
    // Unavailable and ResourceExhausted are retried; Unavailable with a RetryInfo of a minute
    // holds the batch past the deadline.
    receiver.script([
        GrpcFault {
            code: 14,
            retry_after: None,
        },
        GrpcFault {
            code: 8,
            retry_after: None,
        },
    ]);
    let stats = run(config(dir.path()), spec.clone(), quick(), 2);
    assert_eq!(stats.delivered, 2, "{stats:?}");
    assert_eq!(stats.retries, 2);
    receiver.script([GrpcFault {
        code: 14,
        retry_after: Some(Duration::from_secs(60)),
    }]);
    let before = receiver.log().requests;
    let p = Pipeline::start(config(dir.path()), {
        let spec = spec.clone();
        move || spec.build(quick())
    })
    .expect("start");
    p.submit(event(5));
    let stats = p.shutdown(Duration::from_secs(2));
    assert_eq!(stats.pending, 1, "{stats:?}");
    assert_eq!(receiver.log().requests, before + 1, "RetryInfo honoured");
    // InvalidArgument and Unimplemented drop, with the cause (a fresh spool each).
    for (code, hint) in [(3, false), (12, true)] {
        let dir = tempfile::tempdir().expect("tmp");
        receiver.script([GrpcFault {
            code,
            retry_after: None,
        }]);
        let stats = run(config(dir.path()), spec.clone(), quick(), 2);
        assert_eq!(stats.refused(), 2, "{code}: {stats:?}");
        assert_eq!(
            stats.drops[0].cause,
            DropCause::Refused(Failure::Grpc(code))
        );
        assert_eq!(stats.drops[0].hint.is_some(), hint, "{code}");
    }
}

#[test]
fn grpc_over_tls_with_the_configured_ca_delivers_and_without_it_fails_as_tls() {
    let receiver = GrpcReceiver::start_tls();
    let spec = SinkSpec::OtlpGrpc {
        endpoint: receiver.url(),
    };
    let dir = tempfile::tempdir().expect("tmp");
    let trusted = SinkOptions {
        ca_file: Some(receiver.ca().expect("ca").path().to_owned()),
        ..quick()
    };
    let stats = run(config(dir.path()), spec.clone(), trusted, 3);
    assert_eq!(stats.delivered, 3, "{stats:?}");
    let dir = tempfile::tempdir().expect("tmp");
    let p = Pipeline::start(config(dir.path()), move || spec.build(quick())).expect("start");
    p.submit(event(9));
    let stats = p.shutdown(Duration::from_millis(600));
    assert_eq!(stats.delivered, 0);
    assert_eq!(stats.last_failure, Some(Failure::Tls), "{stats:?}");
    assert_eq!(receiver.events().len(), 3);
}

/// The owner's permit is asked before each batch is written and sent: what it withdraws is
/// never sent (counted as withdrawn, and gone from the spool), what it holds back waits, and
/// nothing is sent while it says no.
#[test]
fn the_owner_s_permit_is_asked_before_every_write_and_send() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    let open = Arc::new(AtomicBool::new(false));
    let gate = Arc::clone(&open);
    let mut cfg = config(dir.path());
    // Events whose number is a multiple of 3 are withdrawn; the rest wait for the gate.
    cfg.permit = Some(Permit::new(move |events: &[Event]| {
        let withdrawn = events
            .iter()
            .enumerate()
            .filter(|(_, e)| u64::from_str_radix(e.event_id(), 16).is_ok_and(|n| n % 3 == 0))
            .map(|(i, _)| i)
            .collect();
        Permission::withdraw(withdrawn, gate.load(Ordering::SeqCst))
    }));
    let p = Pipeline::start(cfg, {
        let spec = SinkSpec::Json {
            endpoint: receiver.url("/ingest"),
        };
        move || spec.build(quick())
    })
    .expect("starts");
    for i in 0..6 {
        p.submit(event(i));
    }
    let held = p.flush(Duration::from_millis(500));
    assert_eq!(
        receiver.log().requests,
        0,
        "nothing is sent while the owner says no"
    );
    assert_eq!(held, 4, "0 and 3 were withdrawn before they were written");
    let spooled: String = std::fs::read_dir(dir.path().join("spool"))
        .expect("spool")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl"))
        .map(|e| std::fs::read_to_string(e.path()).expect("read"))
        .collect();
    assert_eq!(spooled.lines().count(), 4, "{spooled}");
    open.store(true, Ordering::SeqCst);
    let stats = p.shutdown(Duration::from_secs(5));
    assert_eq!(stats.delivered, 4, "{stats:?}");
    assert_eq!(
        stats
            .drops
            .iter()
            .map(|d| (d.cause, d.events))
            .collect::<Vec<_>>(),
        vec![(DropCause::Withdrawn, 2)]
    );
}
