//! The preparer: gates, shapes and privacy, point by point, on the built-in catalogues.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use candor_collect::{
    AgentRecorder, Clr, HttpExchanges, IisInventory, IisPool, Milestone, Milestones, RuleMode,
};
use candor_collect::{DashboardRecorder, DurationSamples};
use candor_collect::{
    Input, Name, PreparedEvents, Preparer, ProductContext, RawException, Rejected,
};
use candor_privacy::{KeyedHasher, Scrubber, sha256_hex};
use candor_schema::{Statistic, Value};

fn preparer(product: &str, line: Option<&str>, version: &str) -> Preparer {
    let catalogue = candor_schema::builtin::catalogues()
        .expect("built-ins")
        .get(product)
        .expect("product")
        .clone();
    let ctx = ProductContext::new(Arc::new(catalogue), line, version).expect("context");
    Preparer::new(ctx, Arc::new(Scrubber::default()))
        .with_hash_key(KeyedHasher::new(b"0123456789abcdef0123456789abcdef", "k1").expect("key"))
}

fn value(events: &PreparedEvents, point: &str) -> Value {
    let (events, rejected) = events.take();
    assert_eq!(
        rejected.total(),
        0,
        "{:?}",
        rejected.entries().collect::<Vec<_>>()
    );
    events
        .into_iter()
        .find(|e| e.point() == point)
        .unwrap_or_else(|| panic!("{point} missing"))
        .into_parts()
        .value
}

#[test]
fn undeclared_points_are_refused() {
    let p = preparer("aspire-dashboard", None, "9.3");
    let err = p
        .prepare("screen_resolution", Input::Count(1))
        .expect_err("undeclared");
    assert!(matches!(err, Rejected::Undeclared { .. }), "{err}");
    assert!(err.to_string().contains("screen_resolution"));
}

#[test]
fn points_gated_out_of_the_version_are_refused_with_the_gate() {
    let p = preparer("aspire-dashboard", None, "9.2");
    let err = p
        .prepare("request_language", Input::Word("en".into()))
        .expect_err("9.3 only");
    assert!(err.to_string().contains("9.3 and later"), "{err}");
    assert!(
        p.prepare("page_navigation", Input::Properties(BTreeMap::new()))
            .is_ok()
    );
    // IIS points exist on .NET Framework only.
    let core = preparer("contrast-dotnet-agent", Some("core"), "4.0.0");
    let err = core
        .prepare("iis_app_count", Input::Count(3))
        .expect_err("framework only");
    assert!(err.to_string().contains("never collected on core"), "{err}");
}

#[test]
fn wrong_shapes_are_refused() {
    let p = preparer("contrast-dotnet-agent", Some("core"), "4.0.0");
    let err = p
        .prepare("working_set", Input::Text("lots".into()))
        .expect_err("shape");
    assert!(matches!(err, Rejected::WrongShape { .. }), "{err}");
    let err = p
        .prepare("contrast_instance", Input::Word("cloudy".into()))
        .expect_err("not declared");
    assert!(err.to_string().contains("hosted"), "{err}");
    assert!(
        p.prepare("agent_version", Input::Word("v1; rm".into()))
            .is_err()
    );
}

#[test]
fn the_mac_is_hashed_with_plain_sha256() {
    let p = preparer("contrast-dotnet-agent", Some("framework"), "21.1.2");
    let v = p
        .prepare("machine_id", Input::Identifier("3c:22:fb:12:34:56".into()))
        .expect("ok");
    assert_eq!(v, Value::Hashed(sha256_hex(b"3c:22:fb:12:34:56")));
}

#[test]
fn commands_are_hashed_with_the_key_or_refused_without_one() {
    let p = preparer("aspire-dashboard", None, "9.3");
    let Value::Hashed(h) = p
        .prepare("invoked_commands", Input::Identifier("restart".into()))
        .expect("ok")
    else {
        panic!("not hashed")
    };
    assert!(h.starts_with("k1:") && !h.contains("restart"), "{h}");
    let catalogue = candor_schema::builtin::catalogues()
        .expect("b")
        .get("aspire-dashboard")
        .expect("p")
        .clone();
    let keyless = Preparer::new(
        ProductContext::new(Arc::new(catalogue), None, "9.3").expect("ctx"),
        Arc::new(Scrubber::default()),
    );
    let err = keyless
        .prepare("invoked_commands", Input::Identifier("restart".into()))
        .expect_err("no key");
    assert!(matches!(err, Rejected::NoHashKey { .. }));
}

#[test]
fn free_text_is_scrubbed_and_limited() {
    let p = preparer("contrast-dotnet-agent", Some("core"), "4.0.0");
    let long = format!("Ubuntu for alice@example.com {}", "x".repeat(500));
    let Value::Text(t) = p.prepare("os_version", Input::Text(long)).expect("ok") else {
        panic!()
    };
    assert!(!t.contains("alice@example.com"), "{t}");
    assert!(t.len() <= 128, "{}", t.len());
}

#[test]
fn page_settings_keep_declared_keys_only_and_scrub_values() {
    let events = PreparedEvents::new(preparer("aspire-dashboard", None, "9.3"));
    DashboardRecorder::new(&events).page_navigation(
        "structured-logs",
        &[
            ("filter_count", "2"),
            ("view", "C:\\Users\\alice\\secret"),
            ("search_text", "password=hunter2"),
        ],
    );
    let Value::Properties(map) = value(&events, "page_navigation") else {
        panic!()
    };
    assert_eq!(
        map.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["filter_count", "page", "view"]
    );
    assert!(!map["view"].contains("alice"), "{map:?}");
}

#[test]
fn unknown_resource_types_become_the_placeholder() {
    let events = PreparedEvents::new(preparer("aspire-dashboard", None, "9.3"));
    DashboardRecorder::new(&events).resource_types(&[
        "project",
        "my-secret-thing",
        "container",
        "project",
    ]);
    assert_eq!(
        value(&events, "resource_types"),
        Value::Names(vec![
            "container".into(),
            "custom-resource".into(),
            "project".into()
        ])
    );
}

#[test]
fn user_agents_are_coarsened_and_languages_validated() {
    let p = preparer("aspire-dashboard", None, "9.3");
    let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.130 Safari/537.36";
    assert_eq!(
        p.prepare("request_user_agent", Input::Word(ua.into()))
            .expect("ok"),
        Value::UserAgent("Chrome 120 on Windows".into())
    );
    assert_eq!(
        p.prepare("request_language", Input::Word(" en-US ".into()))
            .expect("ok"),
        Value::LanguageTag("en-US".into())
    );
    assert!(
        p.prepare("dashboard_language", Input::Word("en-US,en;q=0.9".into()))
            .is_err()
    );
    // A "language" of four to eight letters is none in use (BCP 47 reserves them): it is
    // refused where the value is prepared, by the one grammar, and the reason does not repeat
    // the value, which could be a name.
    for word in ["jsmith-US", "abcd"] {
        match p.prepare("request_language", Input::Word(word.into())) {
            Err(Rejected::Invalid { reason, .. }) => {
                assert!(reason.contains("language tag"), "{reason}");
                assert!(!reason.contains(word), "{reason}");
            }
            other => panic!("{word}: {other:?}"),
        }
    }
}

#[test]
fn names_cannot_carry_values() {
    assert!(Name::new("ConnectionStrings:Default").is_ok());
    assert!(Name::new("Server=db;Password=hunter2").is_err());
    // Through the generic path too: the whole point is refused.
    let p = preparer("contrast-dotnet-agent", Some("core"), "4.0.0");
    assert!(
        p.prepare(
            "non_default_setting_names",
            Input::Names(vec!["a b".into()])
        )
        .is_err()
    );
}

#[test]
fn http_exchanges_are_summarised() {
    let events = PreparedEvents::new(preparer("contrast-dotnet-agent", Some("core"), "4.0.0"));
    let agent = AgentRecorder::new(&events);
    let mut http = HttpExchanges::default();
    for (status, ms) in [(200, 10), (200, 30), (503, 20), (200, 40)] {
        http.record(status, Duration::from_millis(ms));
    }
    agent.http_summary(&mut http);
    assert!(http.is_empty(), "a report starts a new summary");
    let (events, _) = events.take();
    let get = |p: &str| {
        events
            .iter()
            .find(|e| e.point() == p)
            .expect(p)
            .value()
            .clone()
    };
    assert_eq!(
        get("contrast_http_status_codes"),
        Value::LabelCounts([("200".into(), 3), ("503".into(), 1)].into())
    );
    let Value::Histogram(h) = get("contrast_http_response_time") else {
        panic!()
    };
    // 10, 20, 30 and 40 ms, each in its own bucket of 8 per doubling: 8·log2(ms), rounded down.
    assert_eq!(h.count, 4);
    assert_eq!(h.sum, 100.0);
    assert_eq!(h.buckets, vec![(26, 1), (34, 1), (39, 1), (42, 1)]);
}

#[test]
fn histogram_measurements_become_bucket_counts_and_never_leave() {
    let events = PreparedEvents::new(preparer("contrast-dotnet-agent", Some("core"), "4.0.0"));
    let recorder = candor_collect::ContrastDotnetAgentRecorder::new(&events);
    // Outside the declared 1 ms to 5 min: counted in the first and last buckets; not a number:
    // left out.
    let period = vec![12.5, 12.6, 0.2, 1e9, f64::NAN, 250.0];
    recorder.contrast_http_response_time(period);
    let (events, rejected) = events.take();
    assert_eq!(rejected.total(), 0);
    let Value::Histogram(h) = events[0].value().clone() else {
        panic!("{:?}", events[0].value())
    };
    let layout = candor_schema::BucketLayout::of(
        &candor_schema::builtin::catalogues()
            .unwrap()
            .get("contrast-dotnet-agent")
            .unwrap()
            .data_point("contrast_http_response_time")
            .unwrap()
            .value,
    )
    .unwrap();
    assert_eq!(layout.keys(), 0..=145);
    assert_eq!(h.count, 5);
    assert_eq!(h.sum, 12.5 + 12.6 + 1.0 + 300_000.0 + 250.0);
    assert_eq!(h.buckets, vec![(0, 1), (29, 2), (63, 1), (145, 1)]);
    let json = serde_json::to_string(&events[0]).unwrap();
    assert!(!json.contains("12.6") && !json.contains("12.5"), "{json}");
}

#[test]
fn an_empty_http_summary_sends_a_zero_count_only() {
    let events = PreparedEvents::new(preparer("contrast-dotnet-agent", Some("core"), "4.0.0"));
    AgentRecorder::new(&events).http_summary(&mut HttpExchanges::default());
    let (events, rejected) = events.take();
    assert_eq!(rejected.total(), 0);
    let d = events
        .iter()
        .find(|e| e.point() == "contrast_http_response_time")
        .expect("sent")
        .value()
        .clone();
    assert_eq!(
        d,
        Value::Histogram(candor_schema::HistogramValue {
            count: 0,
            sum: 0.0,
            buckets: vec![]
        })
    );
}

#[test]
fn milestones_give_the_four_timings() {
    let events = PreparedEvents::new(preparer("contrast-dotnet-agent", Some("core"), "4.0.0"));
    let t0 = Instant::now();
    let mut m = Milestones::started_at(t0);
    m.mark_at(
        Milestone::ProfilerInitialised,
        t0 + Duration::from_millis(120),
    );
    m.mark_at(
        Milestone::SensorInitialised,
        t0 + Duration::from_millis(200),
    );
    m.mark_at(Milestone::FirstRequestSent, t0 + Duration::from_millis(250));
    let missing = AgentRecorder::new(&events).init_timings(&m);
    assert_eq!(
        missing,
        vec!["first_request_time", "init_to_first_request_end_time"]
    );
    m.mark_at(
        Milestone::FirstRequestEnded,
        t0 + Duration::from_millis(400),
    );
    assert!(AgentRecorder::new(&events).init_timings(&m).is_empty());
    let (events, _) = events.take();
    let ms = |p: &str| match events
        .iter()
        .rev()
        .find(|e| e.point() == p)
        .expect(p)
        .value()
    {
        Value::Duration(d) => d,
        ref v => panic!("{v:?}"),
    };
    assert!((ms("profiler_init_time") - 120.0).abs() < 1e-6);
    assert!((ms("sensor_init_time") - 80.0).abs() < 1e-6);
    assert!((ms("first_request_time") - 150.0).abs() < 1e-6);
    assert!((ms("init_to_first_request_end_time") - 400.0).abs() < 1e-6);
}

#[test]
fn iis_pools_give_counts_and_a_per_pool_summary() {
    let events = PreparedEvents::new(preparer(
        "contrast-dotnet-agent",
        Some("framework"),
        "21.1.2",
    ));
    let pool = |apps, clr, attached| IisPool {
        apps,
        apps_analyzed: apps / 2,
        clr,
        agent_attached: attached,
    };
    AgentRecorder::new(&events).iis(&IisInventory {
        pools: vec![
            pool(4, Clr::V4, true),
            pool(1, Clr::V2, false),
            pool(2, Clr::V4, true),
            pool(7, Clr::Unmanaged, false),
        ],
    });
    let (events, rejected) = events.take();
    assert_eq!(rejected.total(), 0);
    let get = |p: &str| {
        events
            .iter()
            .find(|e| e.point() == p)
            .expect(p)
            .value()
            .clone()
    };
    assert_eq!(get("iis_app_count"), Value::Count(14));
    assert_eq!(get("iis_app_count_analyzed"), Value::Count(6));
    assert_eq!(get("iis_app_count_clr4"), Value::Count(6));
    assert_eq!(get("iis_app_count_clr2"), Value::Count(1));
    assert_eq!(get("iis_pool_count"), Value::Count(4));
    assert_eq!(get("iis_pool_count_agent_attached"), Value::Count(2));
    assert_eq!(get("iis_pool_count_clr4"), Value::Count(2));
    assert_eq!(get("iis_pool_count_clr2"), Value::Count(1));
    // Pools of 1, 2, 4, 7 apps: median of an even count is (2 + 4) / 2.
    assert_eq!(
        get("iis_apps_per_pool"),
        Value::Distribution(
            [
                (Statistic::Min, 1.0),
                (Statistic::Max, 7.0),
                (Statistic::Median, 3.0)
            ]
            .into()
        )
    );
}

#[test]
fn rule_modes_and_caught_exceptions() {
    let events = PreparedEvents::new(preparer("contrast-dotnet-agent", Some("core"), "4.0.0"));
    let agent = AgentRecorder::new(&events);
    agent.protect_rule_modes(&[
        (Name::new("sql-injection").expect("n"), RuleMode::Block),
        (Name::new("xss").expect("n"), RuleMode::Monitor),
    ]);
    agent.caught_exception(RawException {
        type_name: "System.IO.IOException".into(),
        message: "Could not open C:\\Users\\alice\\app.config".into(),
        stack: "   at Customer.Billing.Charge(Card card) in C:\\src\\Billing.cs:line 12\n   at System.IO.File.Open(String path)\n   at Contrast.Agent.Sensor.Run()".into(),
        log_message: Some("sensor failed for bob@example.com".into()),
    });
    let (events, rejected) = events.take();
    assert_eq!(rejected.total(), 0);
    let get = |p: &str| {
        events
            .iter()
            .find(|e| e.point() == p)
            .expect(p)
            .value()
            .clone()
    };
    assert_eq!(
        get("protect_rule_modes"),
        Value::ModeByName(
            [
                ("sql-injection".into(), "block".into()),
                ("xss".into(), "monitor".into())
            ]
            .into()
        )
    );
    let Value::Exception(e) = get("sensor_exceptions") else {
        panic!()
    };
    let all = format!("{e:?}");
    for secret in [
        "alice",
        "bob@example.com",
        "Customer.Billing",
        "Card card",
        "Billing.cs",
    ] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
    assert!(
        e.frames.iter().any(|f| f.contains("System.IO.File.Open")),
        "{e:?}"
    );
    assert!(
        e.frames
            .iter()
            .any(|f| f.contains("Contrast.Agent.Sensor.Run")),
        "{e:?}"
    );
    assert!(e.frames_dropped >= 1);
    assert!(e.log_message.is_some());
}

#[test]
fn dashboard_exceptions_never_carry_a_log_message() {
    let p = preparer("aspire-dashboard", None, "9.3");
    let v = p
        .prepare(
            "unhandled_exception",
            Input::Exception(RawException {
                type_name: "System.InvalidOperationException".into(),
                message: "boom".into(),
                stack: String::new(),
                log_message: Some("user said hi".into()),
            }),
        )
        .expect("ok");
    let Value::Exception(e) = v else { panic!() };
    assert_eq!(e.log_message, None);
}

#[test]
fn duration_samples_are_folded_in_milliseconds() {
    let events = PreparedEvents::new(preparer("aspire-dashboard", None, "9.3"));
    let d = DashboardRecorder::new(&events);
    let mut samples = DurationSamples::default();
    for ms in [100, 300] {
        samples.push(Duration::from_millis(ms));
    }
    d.resource_restart_times(&mut samples);
    let Value::Histogram(h) = value(&events, "resource_restart_time") else {
        panic!()
    };
    // 100 ms and 300 ms: keys 8·log2(100) = 53.15 and 8·log2(300) = 65.83.
    assert_eq!(h.buckets, vec![(53, 1), (65, 1)]);
    assert_eq!(h.sum, 400.0);
}

#[test]
fn refusals_are_reported_once_per_point_and_counted() {
    let events = PreparedEvents::new(preparer("aspire-dashboard", None, "9.2"));
    let d = DashboardRecorder::new(&events);
    for _ in 0..5 {
        d.request_language("en");
    }
    let (sent, log) = events.take();
    assert!(sent.is_empty());
    let entries: Vec<_> = log.entries().collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].1, 5);
}

#[test]
fn events_carry_the_envelope() {
    let p = preparer("contrast-dotnet-agent", Some("framework"), "21.1.2");
    let e = p
        .prepare_event(
            "in_container",
            Input::Flag(true),
            std::time::SystemTime::now(),
        )
        .expect("ok");
    assert_eq!(e.product(), "contrast-dotnet-agent");
    assert_eq!(e.product_version(), "21.1.2");
    assert_eq!(e.runtime_line(), "framework");
    assert_eq!(e.catalogue_revision(), "2021.4.2.2");
    assert_eq!(e.event_id().len(), 32);
    let time = e.time().to_string();
    assert!(time.ends_with('Z') && time.contains('T'), "{time}");
    assert_eq!(
        e.install_id(),
        None,
        "the agent catalogue declares no install id"
    );
    let other = p
        .prepare_event(
            "in_container",
            Input::Flag(true),
            std::time::SystemTime::now(),
        )
        .expect("ok");
    assert_ne!(e.event_id(), other.event_id());
}

#[test]
fn verbatim_values_must_match_their_grammar_with_nothing_personal_in_them() {
    let p = preparer("contrast-dotnet-agent", Some("core"), "4.0.0");
    assert_eq!(
        p.prepare("agent_version", Input::Word("4.0.0+sha.5114f85".into()))
            .expect("a build hash is fine"),
        Value::Version("4.0.0+sha.5114f85".into())
    );
    let refused = |point: &str, input: Input| {
        let err = p.prepare(point, input).expect_err("refused");
        assert!(matches!(err, Rejected::Invalid { .. }), "{err}");
        err.to_string()
    };
    let err = refused(
        "agent_version",
        Input::Word("4.0.0+alice.smith.example.com".into()),
    );
    assert!(
        !err.contains("alice"),
        "the refusal repeats the value: {err}"
    );
    refused("agent_version", Input::Word("4.0.0+10.1.2.3".into()));
    for name in [
        "/home/alice/x",
        "aa:bb:cc:dd:ee:ff",
        "4111111111111111",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "AKIAIOSFODNN7EXAMPLE",
        "10.1.2.3",
    ] {
        let err = refused("non_default_setting_names", Input::Names(vec![name.into()]));
        assert!(!err.contains(name), "{err}");
        refused(
            "protect_rule_modes",
            Input::ModeByName([(name.into(), "block".into())].into()),
        );
        refused(
            "protect_rule_modes",
            Input::ModeByName([("xss".into(), name.into())].into()),
        );
        refused(
            "contrast_http_status_codes",
            Input::LabelCounts([(name.into(), 1)].into()),
        );
    }
}

/// The hash forms `candor-privacy` makes and the one rule every door checks them by
/// (`HashAlgorithm::admits`, in `candor-schema`, which the privacy crate does not depend on)
/// agree at their edges: the shortest and longest cut, the longest key id, a derived id.
#[test]
fn every_hash_the_sender_makes_has_the_form_every_door_admits() {
    use candor_schema::{HashAlgorithm, MAX_HASH_KEY_ID_LEN, MIN_HASH_HEX_DIGITS};
    let key = [7_u8; 32];
    assert!(HashAlgorithm::Sha256.admits(&sha256_hex(b"an identifier")));
    let longest_id = "k".repeat(MAX_HASH_KEY_ID_LEN);
    for hasher in [
        KeyedHasher::with_derived_id(&key).expect("key"),
        KeyedHasher::new(&key, &longest_id).expect("key"),
    ] {
        for digits in [MIN_HASH_HEX_DIGITS, 40, 64] {
            let hashed = hasher
                .clone()
                .truncated(digits)
                .expect("a cut every door admits")
                .hash(b"an identifier")
                .to_string();
            assert!(HashAlgorithm::HmacSha256.admits(&hashed), "{hashed}");
        }
        assert!(
            hasher.clone().truncated(MIN_HASH_HEX_DIGITS - 1).is_err(),
            "no sender makes a shorter hash than the doors admit"
        );
    }
    assert!(KeyedHasher::new(&key, &format!("{longest_id}k")).is_err());
}
