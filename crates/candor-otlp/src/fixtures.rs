//! Events of every kind of value for the tests: from three catalogues, with an install id,
//! in changing product and version groups.

use std::collections::BTreeMap;

use candor_schema::{Catalogue, Event, ExceptionValue, Stamp, Statistic, Value};

use crate::SemanticNames;

fn stamp(version: &str, line: &str, n: usize, install_id: Option<&str>) -> Stamp {
    Stamp {
        event_id: format!("{n:032x}"),
        time: candor_schema::Timestamp::parse(&format!("2026-11-21T09:30:{:02}.{n:03}Z", n % 60))
            .expect("a time"),
        product_version: version.into(),
        runtime_line: line.into(),
        install_id: install_id.map(str::to_owned),
    }
}

/// One event (or more) of every kind of value, from three catalogues, with an install id,
/// in changing product and version groups, and enough of them that the scope's length
/// needs three bytes.
pub(crate) fn events() -> Vec<Event> {
    let builtins = candor_schema::builtin::catalogues().expect("built-ins");
    let agent = builtins.get("contrast-dotnet-agent").expect("agent");
    let dashboard = builtins.get("aspire-dashboard").expect("dashboard");
    let vendor = Catalogue::from_path(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../candor/tests/fixtures/vendor.toml"
    )))
    .expect("the vendor fixture");
    let stats = |names: &[Statistic]| -> BTreeMap<Statistic, f64> {
        names
            .iter()
            .enumerate()
            .map(|(i, s)| (*s, i as f64 * 1.5))
            .collect()
    };
    let strings = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let exception = |log: Option<&str>| {
        Value::Exception(ExceptionValue {
            type_name: "System.InvalidOperationException".into(),
            message: String::new(),
            frames: vec!["at Contrast.A()".into(), "at System.B()".into()],
            frames_dropped: 3,
            log_message: log.map(str::to_owned),
        })
    };
    let agent_values: Vec<(&str, Value)> = vec![
        ("assess_enabled", Value::Flag(true)),
        ("protect_enabled", Value::Flag(false)),
        ("contrast_instance", Value::Enumeration("hosted".into())),
        ("agent_version", Value::Version("21.5.1".into())),
        (
            "os_version",
            Value::Text("Debian GNU/Linux 12 (bookworm)".into()),
        ),
        ("kernel_version", Value::Text(String::new())),
        ("working_set", Value::Count(0)),
        ("iis_app_count", Value::Count(candor_schema::MAX_COUNT)),
        ("profiler_init_time", Value::Duration(1500.25)),
        ("sensor_init_time", Value::Duration(0.0)),
        (
            "contrast_http_response_time",
            Value::Histogram(candor_schema::HistogramValue {
                count: 7,
                sum: 912.5,
                buckets: vec![(0, 2), (53, 4), (145, 1)],
            }),
        ),
        (
            "iis_apps_per_pool",
            Value::Distribution(stats(&[Statistic::Min, Statistic::Max, Statistic::Median])),
        ),
        ("machine_id", Value::Hashed("ab".repeat(32))),
        (
            "non_default_setting_names",
            Value::Names(vec!["AgentEnabled".into(), "LogLevel".into()]),
        ),
        ("disabled_assess_rules", Value::Names(Vec::new())),
        (
            "contrast_http_status_codes",
            Value::LabelCounts(BTreeMap::from([("200".into(), 40), ("503".into(), 0)])),
        ),
        (
            "protect_rule_modes",
            Value::ModeByName(strings(&[("sql-injection", "block"), ("xss", "monitor")])),
        ),
        ("sensor_exceptions", exception(Some("while starting"))),
        ("sensor_exceptions", exception(None)),
    ];
    let dashboard_values: Vec<(&str, Value)> = vec![
        (
            "page_navigation",
            Value::Properties(strings(&[("page", "resources"), ("view", "")])),
        ),
        ("request_language", Value::LanguageTag("en-US".into())),
        (
            "request_user_agent",
            Value::UserAgent("Chrome 126 on Windows".into()),
        ),
    ];
    let mut out = Vec::new();
    for round in 0..12 {
        let version = if round % 2 == 0 { "21.5.1" } else { "21.6.0" };
        for (point, value) in &agent_values {
            let s = stamp(version, "framework", out.len(), None);
            out.push(Event::declared(agent, point, value.clone(), s).expect(point));
        }
        for (point, value) in &dashboard_values {
            let s = stamp("9.3", "dashboard", out.len(), None);
            out.push(Event::declared(dashboard, point, value.clone(), s).expect(point));
        }
    }
    let s = stamp(
        "1.2.0",
        "main",
        out.len(),
        Some("5f0c3a1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b"),
    );
    out.push(Event::declared(&vendor, "open_files", Value::Count(12), s).expect("vendor"));
    out
}

pub(crate) fn names() -> SemanticNames {
    let mut names = SemanticNames::new();
    let agent = names.entry("contrast-dotnet-agent".to_owned()).or_default();
    agent.insert("working_set".into(), "process.memory.usage".into());
    agent.insert("sensor_exceptions".into(), "exception.candor".into());
    agent.insert("contrast_http_response_time".into(), "http.duration".into());
    names
}
