//! The facade end to end, in process, against real receivers on loopback.

use std::path::Path;
use std::time::Duration;

use candor::status::{DropCause, Mode, Rejected, Transition};
use candor::{Environment, Input, RawException, SinkSpec, Telemetry};
use candor_collect::{AgentRecorder, DashboardRecorder};
use candor_testkit::{Fault, HttpReceiver, dead_port};

fn agent(state: &Path, env: Environment, sink: SinkSpec) -> Telemetry {
    Telemetry::builder(candor::builtin("contrast-dotnet-agent").expect("built in"))
        .runtime("framework")
        .version("21.1.2")
        .state_dir(state)
        .environment(env)
        .sink(sink)
        .batch_wait(Duration::from_millis(20))
        .build()
        .expect("telemetry")
}

fn quiet() -> Environment {
    Environment::from_pairs([("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "false")])
}

#[test]
fn undeclared_and_gated_out_points_never_leave() {
    let state = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    let t = agent(
        state.path(),
        quiet(),
        SinkSpec::Json {
            endpoint: receiver.url("/ingest"),
        },
    );
    t.record("working_set", Input::Count(1 << 20));
    t.record("screen_resolution", Input::Count(1080)); // not in the catalogue
    t.record("core_runtime_version", Input::Word("8.0.11".into())); // not on .NET Framework
    t.record(
        "sensor_exceptions",
        Input::Exception(RawException::default()),
    ); // after 21.4.2 only
    t.record("working_set", Input::Text("lots".into())); // wrong shape
    let status = t.shutdown(Duration::from_secs(5));
    t.record("working_set", Input::Count(1)); // after shutdown: ignored
    assert_eq!(t.status().recorded, status.recorded);
    let points: Vec<String> = receiver.events().into_iter().map(|e| e.point).collect();
    assert_eq!(points, vec!["working_set"]);
    assert_eq!(status.refused.len(), 4, "{:?}", status.refused);
    let refused = |point: &str| {
        status
            .refused
            .iter()
            .find(|r| r.reason.point() == point)
            .map(|r| (&r.reason, r.count))
    };
    assert!(
        matches!(
            refused("screen_resolution"),
            Some((Rejected::Undeclared { .. }, 1))
        ),
        "{:?}",
        status.refused
    );
    assert!(matches!(
        refused("core_runtime_version"),
        Some((Rejected::NotInEffect { .. }, 1))
    ));
    assert!(
        matches!(
            refused("sensor_exceptions"),
            Some((Rejected::NotInEffect { why, .. }, 1)) if why.contains("later than 21.4.2")
        ),
        "{:?}",
        status.refused
    );
    assert!(matches!(
        refused("working_set"),
        Some((Rejected::WrongShape { .. }, 1))
    ));
}

#[test]
fn when_consent_is_off_nothing_is_recorded_or_started() {
    let state = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    let env = Environment::from_pairs([("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "1")]);
    let t = agent(
        state.path(),
        env,
        SinkSpec::Json {
            endpoint: receiver.url("/ingest"),
        },
    );
    assert!(!t.is_collecting());
    for _ in 0..1000 {
        t.record("working_set", Input::Count(1));
    }
    AgentRecorder::new(t.clone()).protect_enabled(true);
    let status = t.shutdown(Duration::from_secs(1));
    assert_eq!(status.recorded, 0);
    assert!(status.sent.is_none(), "no pipeline was started");
    assert_eq!(status.decision.mode, Mode::Off);
    assert!(
        status
            .decision
            .reason
            .contains("CONTRAST_DOTNET_TELEMETRY_OPTOUT")
    );
    assert_eq!(receiver.log().requests, 0);
}

#[test]
fn an_unknown_opt_out_value_fails_closed() {
    let state = tempfile::tempdir().expect("tmp");
    let env = Environment::from_pairs([("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "perhaps")]);
    let t = agent(
        state.path(),
        env,
        SinkSpec::File {
            path: state.path().join("e.jsonl"),
        },
    );
    assert!(!t.is_collecting());
    assert!(
        t.status().decision.reason.contains("perhaps"),
        "{}",
        t.status().decision.reason
    );
}

#[test]
fn revocation_discards_what_was_not_yet_sent() {
    let state = tempfile::tempdir().expect("tmp");
    let dead = format!("http://127.0.0.1:{}/ingest", dead_port());
    let t = agent(state.path(), quiet(), SinkSpec::Json { endpoint: dead });
    for n in 0..50 {
        t.record("working_set", Input::Count(n));
    }
    t.flush(Duration::from_millis(300));
    let opted_out = Environment::from_pairs([("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "1")]);
    assert_eq!(
        t.reconsider(opted_out),
        Transition::Changed {
            from: Mode::On,
            to: Mode::Off
        }
    );
    t.record("working_set", Input::Count(7)); // after revocation: ignored
    let status = t.shutdown(Duration::from_secs(2));
    assert_eq!(status.recorded, 50);
    assert_eq!(status.dropped(DropCause::Withdrawn), 50, "{status:?}");
    let spool = state.path().join("spool/contrast-dotnet-agent");
    let left = std::fs::read_dir(&spool)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(left, 0, "revoked events must not wait in the spool");
}

#[test]
fn local_mode_keeps_events_on_this_machine() {
    let state = tempfile::tempdir().expect("tmp");
    std::fs::write(state.path().join("config.toml"), "mode = \"local\"\n").expect("config");
    let receiver = HttpReceiver::start();
    let t = agent(
        state.path(),
        quiet(),
        SinkSpec::Json {
            endpoint: receiver.url("/ingest"),
        },
    );
    assert_eq!(t.status().decision.mode, Mode::Local);
    t.record("in_container", Input::Flag(true));
    let status = t.shutdown(Duration::from_secs(5));
    assert_eq!(
        receiver.log().requests,
        0,
        "local mode sent over the network"
    );
    assert_eq!(status.kept_locally.expect("local pipeline").delivered, 1);
    let local = std::fs::read_to_string(state.path().join("local/contrast-dotnet-agent.jsonl"))
        .expect("kept");
    assert!(local.contains("in_container"));
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_blocking() {
    let state = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    receiver.script([Fault::Slow(Duration::from_secs(1))]);
    let t = Telemetry::builder(candor::builtin("contrast-dotnet-agent").expect("built in"))
        .runtime("core")
        .version("4.0.0")
        .state_dir(state.path())
        .environment(quiet())
        .sink(SinkSpec::Json {
            endpoint: receiver.url("/ingest"),
        })
        .queue_capacity(8)
        .build()
        .expect("telemetry");
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let t = t.clone();
            std::thread::spawn(move || {
                for n in 0..5000 {
                    t.record("working_set", Input::Count(n));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("no panic");
    }
    let status = t.shutdown(Duration::from_secs(10));
    assert_eq!(
        status.recorded + status.dropped(DropCause::QueueFull),
        20_000
    );
    assert!(status.dropped(DropCause::QueueFull) > 0, "{status:?}");
    let sent = status.sent.expect("started");
    assert_eq!(sent.delivered + sent.pending, status.prepared, "{sent:?}");
}

#[test]
fn panics_are_recorded_as_scrubbed_unhandled_exceptions() {
    let state = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    let t = Telemetry::builder(candor::builtin("aspire-dashboard").expect("built in"))
        .version("9.3")
        .state_dir(state.path())
        .environment(Environment::from_pairs([(
            "DOTNET_DASHBOARD_ENABLE_TELEMETRY",
            "true",
        )]))
        .host("visual-studio", "17.14")
        .condition("browser-open")
        .sink(SinkSpec::Json {
            endpoint: receiver.url("/ingest"),
        })
        .build()
        .expect("telemetry");
    std::sync::Arc::new(DashboardRecorder::new(t.clone())).install_panic_hook();
    let outcome =
        std::panic::catch_unwind(|| panic!("cannot open /home/zoe/notes for zoe@example.org"));
    assert!(outcome.is_err());
    let _ = std::panic::take_hook();
    t.shutdown(Duration::from_secs(5));
    let events = receiver.events();
    let panic = events
        .iter()
        .find(|e| e.point == "unhandled_exception")
        .expect("recorded");
    assert_eq!(panic.value["data"]["type_name"], "panic");
    assert!(!receiver.log().contains("zoe@example.org"));
    assert!(!receiver.log().contains("/home/zoe"));
}

#[test]
fn the_host_turning_its_telemetry_off_revokes_the_dashboards() {
    let state = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    let t = Telemetry::builder(candor::builtin("aspire-dashboard").expect("built in"))
        .version("9.3")
        .state_dir(state.path())
        .environment(Environment::from_pairs([(
            "DOTNET_DASHBOARD_ENABLE_TELEMETRY",
            "true",
        )]))
        .host("visual-studio", "17.14")
        .condition("browser-open")
        .sink(SinkSpec::Relay {
            endpoint: format!("http://127.0.0.1:{}/t", dead_port()),
            token: "t0k".into(),
        })
        .build()
        .expect("telemetry");
    DashboardRecorder::new(t.clone()).request_language("en-US");
    t.flush(Duration::from_millis(200));
    assert_eq!(
        t.set_host_opted_out(true),
        Transition::Changed {
            from: Mode::On,
            to: Mode::Off
        }
    );
    assert!(!t.is_collecting());
    let status = t.shutdown(Duration::from_secs(1));
    assert_eq!(status.dropped(DropCause::Withdrawn), 1, "{status:?}");
    assert_eq!(receiver.log().requests, 0);
}

#[test]
fn built_while_off_then_switched_on_starts_collecting() {
    let state = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    let t = Telemetry::builder(candor::builtin("contrast-dotnet-agent").expect("built in"))
        .runtime("framework")
        .version("21.1.2")
        .state_dir(state.path())
        .environment(Environment::from_pairs([(
            "CONTRAST_DOTNET_TELEMETRY_OPTOUT",
            "1",
        )]))
        .sink(SinkSpec::Json {
            endpoint: receiver.url("/ingest"),
        })
        .batch_wait(Duration::from_millis(20))
        .build()
        .expect("telemetry");
    assert!(!t.is_collecting());
    t.record("working_set", Input::Count(1)); // off: ignored
    assert_eq!(
        t.reconsider(quiet()),
        Transition::Changed {
            from: Mode::Off,
            to: Mode::On
        }
    );
    assert!(t.is_collecting());
    t.record("working_set", Input::Count(2));
    t.record("working_set", Input::Count(3));
    let status = t.shutdown(Duration::from_secs(5));
    assert_eq!(status.recorded, 2, "{status:?}");
    assert_eq!(status.sent.expect("started").delivered, 2);
    assert_eq!(receiver.events().len(), 2);
}

#[test]
fn shutdown_returns_by_its_deadline_when_the_receiver_never_answers() {
    let state = tempfile::tempdir().expect("tmp");
    // A raw socket on purpose: a peer that accepts and never reads or answers, which no HTTP
    // server (candor-http-server included) is.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming().flatten() {
            open.push(stream);
        }
    });
    let t = agent(
        state.path(),
        quiet(),
        SinkSpec::Json {
            endpoint: format!("http://127.0.0.1:{port}/x"),
        },
    );
    t.record("working_set", Input::Count(1));
    t.flush(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let status = t.shutdown(Duration::from_secs(1));
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1500), "{took:?}");
    assert_eq!(status.sent.expect("started").delivered, 0);
}

#[cfg(unix)]
#[test]
fn a_fifo_as_the_file_sink_or_config_never_hangs_the_host() {
    let state = tempfile::tempdir().expect("tmp");
    let fifo = state.path().join("events.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()));
    let config = state.path().join("config.toml");
    let made = std::process::Command::new("mkfifo").arg(&config).status();
    assert!(made.is_ok_and(|s| s.success()));
    let started = std::time::Instant::now();
    // The config FIFO is refused (consent off, saying why) rather than read.
    let t = agent(state.path(), quiet(), SinkSpec::File { path: fifo.clone() });
    assert!(!t.is_collecting());
    assert!(
        t.status().decision.reason.contains("FIFO"),
        "{:?}",
        t.status().decision
    );
    std::fs::remove_file(&config).expect("rm");
    let t = agent(state.path(), quiet(), SinkSpec::File { path: fifo });
    t.record("working_set", Input::Count(1));
    let status = t.shutdown(Duration::from_secs(1));
    assert!(started.elapsed() < Duration::from_secs(3));
    let sent = status.sent.expect("started");
    assert_eq!(sent.delivered, 0);
    assert!(
        sent.last_error
            .as_deref()
            .is_some_and(|e| e.contains("FIFO")),
        "{sent:?}"
    );
}

/// Several hosts on one folder (each its own handle, spool reader and lock file description,
/// as separate processes would have): every event arrives exactly once, with one key.
#[test]
fn concurrent_hosts_on_one_folder_deliver_each_event_once() {
    let state = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    let endpoint = receiver.url("/ingest");
    let hosts: Vec<_> = (0..3u64)
        .map(|h| {
            let dir = state.path().to_owned();
            let endpoint = endpoint.clone();
            std::thread::spawn(move || {
                let t = agent(&dir, quiet(), SinkSpec::Json { endpoint });
                for n in 0..2_000 {
                    t.record("working_set", Input::Count(h * 1_000_000 + n));
                }
                t.shutdown(Duration::from_secs(30))
            })
        })
        .collect();
    for host in hosts {
        let status = host.join().expect("host");
        assert_eq!(status.dropped(DropCause::QueueFull), 0, "{status:?}");
    }
    let mut values = std::collections::BTreeMap::new();
    for event in receiver.events() {
        *values.entry(event.value.to_string()).or_insert(0u32) += 1;
    }
    assert_eq!(values.len(), 6_000, "events were lost");
    assert!(values.values().all(|n| *n == 1), "an event arrived twice");
}

#[test]
fn a_value_an_adapter_could_not_read_is_refused_and_counted() {
    let state = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    let t = agent(
        state.path(),
        quiet(),
        SinkSpec::Json {
            endpoint: receiver.url("/ingest"),
        },
    );
    t.refuse(
        "working_set",
        "a log body of bytes cannot be read as a count",
    );
    t.refuse(
        "working_set",
        "a log body of bytes cannot be read as a count",
    );
    let status = t.shutdown(Duration::from_secs(5));
    assert_eq!(status.refused.len(), 1, "{:?}", status.refused);
    let refusal = &status.refused[0];
    match &refusal.reason {
        candor::status::Rejected::Invalid { point, reason } => {
            assert_eq!(point, "working_set");
            assert!(reason.contains("bytes"), "{reason}");
        }
        other => panic!("refused for another reason: {other:?}"),
    }
    assert_eq!(refusal.count, 2);
    assert!(receiver.events().is_empty());

    // With consent off nothing is recorded, so nothing is refused.
    let off = agent(
        state.path(),
        Environment::from_pairs([("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "1")]),
        SinkSpec::Json {
            endpoint: receiver.url("/ingest"),
        },
    );
    off.refuse("working_set", "unreadable");
    assert!(off.shutdown(Duration::from_secs(1)).refused.is_empty());
}
