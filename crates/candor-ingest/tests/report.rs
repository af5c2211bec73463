//! Reports are computed by the database: the same figures from SQLite and PostgreSQL, and a
//! bounded answer however varied the stored values are.

#![allow(clippy::unwrap_used)]

mod support;

use candor_ingest::IngestConfig;
use candor_ingest::report::{MAX_CATEGORIES, MAX_VERSIONS, OTHER};
use candor_ingest::store::{Batch, StoredEvent, SummaryQuery};
use serde_json::{Value, json};
use support::*;

fn at_version(mut event: Value, version: &str) -> Value {
    event["product_version"] = json!(version);
    event
}

fn point<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap()
}

fn values(aggregate: &Value) -> Vec<(String, u64)> {
    aggregate["values"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|c| {
                    (
                        c["value"].as_str().unwrap().to_owned(),
                        c["count"].as_u64().unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A small, hand-counted data set: every kind's aggregate, the most frequent versions and
/// values with the rest summed, on both databases, with the same answer from each.
#[test]
fn every_kind_is_aggregated_alike_on_both_databases() {
    let answers = std::sync::Mutex::new(Vec::new());
    both(|db| {
        let running = serve(db, IngestConfig::default());
        let mut events = Vec::new();
        for n in [10, 20, 30, 40] {
            events.push(agent_event(n));
        }
        events.push(at_version(agent_event(1000), "4.1.0"));
        let names = |list: &[&str]| {
            agent_point(
                "non_default_setting_names",
                json!({"kind": "names", "data": list}),
            )
        };
        events.extend([names(&["A", "B"]), names(&["A", "C"]), names(&["A"])]);
        let labels = |data: Value| {
            agent_point(
                "contrast_http_status_codes",
                json!({"kind": "label_counts", "data": data}),
            )
        };
        events.extend([
            labels(json!({"200": 5, "503": 2})),
            labels(json!({"200": 1})),
        ]);
        let modes = |data: Value| {
            agent_point(
                "protect_rule_modes",
                json!({"kind": "mode_by_name", "data": data}),
            )
        };
        events.extend([
            modes(json!({"sql-injection": "block"})),
            modes(json!({"sql-injection": "monitor", "xss": "block"})),
        ]);
        // Revision 2021.4.2.1 sent response times as summaries; the server still accepts it,
        // and the report shows them beside the histograms of the current revision.
        let timing = |count: f64, min: f64, max: f64, median: f64| {
            let mut event = agent_point(
                "contrast_http_response_time",
                json!({"kind": "distribution", "data":
                    {"count": count, "min": min, "max": max, "median": median, "p95": max}}),
            );
            event["catalogue_revision"] = json!("2021.4.2.1");
            event
        };
        events.extend([timing(3.0, 1.5, 9.0, 2.0), timing(1.0, 4.0, 4.0, 4.0)]);
        let buckets = |count: u64, sum: f64, buckets: Value| {
            agent_point(
                "contrast_http_response_time",
                json!({"kind": "histogram", "data":
                    {"count": count, "sum": sum, "buckets": buckets}}),
            )
        };
        // Keys 8 (2 ms) and 53 (100 ms): 3 + 1 in the first, 1 + 5 in the second.
        events.extend([
            buckets(4, 108.0, json!([[8, 3], [53, 1]])),
            buckets(6, 503.0, json!([[8, 1], [53, 5]])),
        ]);
        let machine =
            |hash: &str| agent_point("machine_id", json!({"kind": "hashed", "data": hash}));
        let (a, b) = ("a".repeat(64), "b".repeat(64));
        events.extend([machine(&a), machine(&a), machine(&b)]);
        // 25 labels counted 1..=25 beside the two above.
        let many: serde_json::Map<String, Value> = (1..=25)
            .map(|n| (format!("{}", 100 + n), json!(n)))
            .collect();
        events.push(agent_point(
            "contrast_http_status_codes",
            json!({"kind": "label_counts", "data": many}),
        ));
        // 22 versions of a flag, version i sent i+1 times: the 20 most frequent are listed,
        // 5.0.0 and 5.0.1 (1 + 2 events) are counted together.
        for i in 0..22_u64 {
            for _ in 0..=i {
                events.push(at_version(
                    agent_point("in_container", json!({"kind": "flag", "data": i % 2 == 0})),
                    &format!("5.0.{i}"),
                ));
            }
        }
        let (status, reply) = post_events(&running, &events);
        assert_eq!(
            (status, reply["refused_count"].clone()),
            (200, json!(0)),
            "{reply}"
        );
        let report = report(&running, "contrast-dotnet-agent");

        let working_set = point(&report, "working_set");
        assert_eq!(working_set["count"], 5);
        assert_eq!(
            working_set["total"]["summary"],
            json!({"min": 10.0, "max": 1000.0, "median": 30.0, "measurements": 5})
        );
        let versions = working_set["versions"].as_array().unwrap();
        assert_eq!(versions[0]["product_version"], "4.0.0");
        assert_eq!(versions[0]["summary"]["median"], 20.0);
        assert_eq!(versions[1]["product_version"], "4.1.0");
        assert_eq!(versions[1]["summary"]["median"], 1000.0);

        assert_eq!(
            values(&point(&report, "non_default_setting_names")["total"]),
            [("A".into(), 3), ("B".into(), 1), ("C".into(), 1)]
        );
        let codes = values(&point(&report, "contrast_http_status_codes")["total"]);
        assert_eq!(codes.len(), MAX_CATEGORIES + 1, "{codes:?}");
        // Listed: 125 (25) down to 106 (6, before 200's 6 by text); summed: 200's 6, 105 to
        // 101 (15) and 503's 2.
        assert_eq!(&codes[..2], [("125".into(), 25), ("124".into(), 24)]);
        assert_eq!(codes[MAX_CATEGORIES - 1], ("106".into(), 6));
        assert_eq!(codes[MAX_CATEGORIES], (OTHER.to_owned(), 6 + 15 + 2));
        assert_eq!(
            values(&point(&report, "protect_rule_modes")["total"]),
            [
                ("sql-injection=block".into(), 1),
                ("sql-injection=monitor".into(), 1),
                ("xss=block".into(), 1)
            ]
        );
        let timing = point(&report, "contrast_http_response_time");
        assert_eq!(
            timing["total"]["summary"],
            json!({"min": 1.5, "max": 9.0, "median": 2.0, "measurements": 4})
        );
        // 10 measurements merged: 4 in key 8 ([2, 2.18) ms), 6 in key 53 ([98.7, 107.6) ms):
        // the 5th (p50), 10th (p95, p99) in the second.
        let histogram = &timing["total"]["histogram"];
        assert_eq!(histogram["measurements"], 10, "{timing}");
        assert_eq!(histogram["mean"], 61.1);
        for p in ["p50", "p95", "p99"] {
            let x = histogram[p].as_f64().unwrap();
            assert!((98.7..107.6).contains(&x), "{p}: {histogram}");
        }
        assert_eq!(point(&report, "machine_id")["total"]["distinct"], 2);

        let flag = point(&report, "in_container");
        assert_eq!(flag["count"], 253);
        let listed = flag["versions"].as_array().unwrap();
        assert_eq!(listed.len(), MAX_VERSIONS + 1);
        let last = listed.last().unwrap();
        assert_eq!(
            (last["product_version"].as_str(), last["count"].as_u64()),
            (Some(OTHER), Some(3))
        );
        assert!(listed.iter().all(|v| v["product_version"] != "5.0.0"));
        assert_eq!(
            values(&flag["total"]),
            [("false".into(), 132), ("true".into(), 121)]
        );
        answers.lock().unwrap().push(report);
    });
    if let [sqlite, postgres] = &answers.into_inner().unwrap()[..] {
        assert_eq!(sqlite, postgres, "the two databases disagree");
    }
}

/// 600 events of 256 distinct names each (153,600 distinct names) and 300 versions: what the
/// database answers is bounded by the points, the versions listed and the values listed, not
/// by the variety stored; the largest names are the ones listed.
#[test]
fn a_hostile_variety_of_values_gives_a_bounded_summary() {
    both(|db| {
        let mut store = db.open();
        let revision = revision("contrast-dotnet-agent");
        let now = candor_ingest::parse_time_arg("1h", std::time::SystemTime::now()).unwrap();
        let events: Vec<StoredEvent> = (0..600_u32)
            .map(|n| {
                let mut names: Vec<String> = (0..256).map(|i| format!("N{n:04}.{i:03}")).collect();
                // One name every event shares, and one every other event shares.
                names.push("Common".to_owned());
                if n % 2 == 0 {
                    names.push("Half".to_owned());
                }
                names.sort();
                StoredEvent {
                    event_id: format!("{n:032x}"),
                    time_us: now,
                    product: "contrast-dotnet-agent".into(),
                    product_version: format!("4.{}.0", n % 300),
                    runtime_line: "core".into(),
                    catalogue_revision: revision.clone(),
                    install_id: None,
                    point: "non_default_setting_names".into(),
                    kind: "names",
                    value: serde_json::to_string(&names).unwrap(),
                    storage: candor_ingest::store::Storage::Events,
                }
            })
            .collect();
        let batch = Batch::new(events, Vec::new());
        store.write(&[&batch]).unwrap();
        let summaries = store
            .summarise(&SummaryQuery {
                product: "contrast-dotnet-agent",
                since_us: i64::MIN,
                until_us: i64::MAX,
                top_versions: 10,
                top_values: 5,
                min_group: 1,
            })
            .unwrap();
        // One point: 10 versions and the rest; values per version bucket and for all.
        assert_eq!(summaries.versions.len(), 11);
        assert_eq!(summaries.versions.iter().map(|v| v.count).sum::<u64>(), 600);
        let buckets = 11 + 1;
        assert!(
            summaries.values.len() <= buckets * (5 + 1),
            "{}",
            summaries.values.len()
        );
        let total: Vec<_> = summaries
            .values
            .iter()
            .filter(|v| v.version.is_none())
            .collect();
        assert_eq!(total.len(), 6);
        assert_eq!(
            (total[0].value.as_deref(), total[0].count),
            (Some("Common"), 600)
        );
        let half = total.iter().find(|v| v.value.as_deref() == Some("Half"));
        assert_eq!(half.map(|v| v.count), Some(300));
        let rest = total.iter().find(|v| v.value.is_none()).unwrap();
        let listed: u64 = total
            .iter()
            .filter(|v| v.value.is_some())
            .map(|v| v.count)
            .sum();
        assert_eq!(rest.count + listed, 600 * 257 + 300);
    });
}
