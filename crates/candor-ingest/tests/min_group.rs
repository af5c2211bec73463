//! A minimum group size: a value or a version is shown by name only when it comes from at
//! least k installations (by install id; by events where a product sends none), k from the
//! catalogue (5 by default), raised by `min_group`; smaller groups fold into "(other)", and
//! the JSON and the page say so. On both stores.

#![allow(clippy::unwrap_used)]

mod support;

use candor_ingest::IngestConfig;
use serde_json::{Value, json};
use support::*;

fn navigation(install: u32, version: &str, page: &str) -> Value {
    json!({
        "event_id": event_id(),
        "time": now_rfc3339(),
        "product": "aspire-dashboard",
        "product_version": version,
        "runtime_line": "dashboard",
        "catalogue_revision": revision("aspire-dashboard"),
        "install_id": format!("{install:032x}"),
        "point": "page_navigation",
        "value": {"kind": "properties", "data": {"page": page}},
    })
}

fn point<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap()
}

fn labels(aggregate: &Value) -> Vec<(String, u64)> {
    aggregate["values"]
        .as_array()
        .map(|values| {
            values
                .iter()
                .map(|v| {
                    (
                        v["value"].as_str().unwrap().to_owned(),
                        v["count"].as_u64().unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn get_json(running: &candor_ingest::Running, path: &str) -> Value {
    let response = client()
        .get(url(running, path))
        .bearer_auth(READ_TOKEN)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().unwrap()
}

#[test]
fn small_groups_of_installations_fold_into_other() {
    both(|db| {
        let running = serve_with(
            db,
            with_dashboard_installs(),
            IngestConfig::default(),
            candor_ingest::ServerConfig::default(),
        );
        let mut events = Vec::new();
        // `page=wide`: six installations, one event each, on 9.3.0.
        for install in 0..6 {
            events.push(navigation(install, "9.3.0", "wide"));
        }
        // `page=narrow`: many events, but from two installations only.
        for n in 0..12 {
            events.push(navigation(100 + n % 2, "9.3.0", "narrow"));
        }
        // Version 9.2.0: one installation, so it is not named.
        events.push(navigation(200, "9.2.0", "wide"));
        let (status, reply) = post_events(&running, &events);
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["accepted"], 19, "{reply}");

        let report = report(&running, "aspire-dashboard");
        assert_eq!(report["min_group"], 5);
        let navigation = point(&report, "page_navigation");
        assert_eq!(navigation["count"], 19);
        // Seven installations sent `wide` (six on 9.3.0 and one on 9.2.0).
        assert_eq!(
            labels(&navigation["total"]),
            vec![("page=wide".to_owned(), 7), ("(other)".to_owned(), 12)]
        );
        assert_eq!(navigation["total"]["folded_values"], 1);
        let versions: Vec<(String, u64)> = navigation["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["product_version"].as_str().unwrap().to_owned(),
                    v["count"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            versions,
            vec![("9.3.0".to_owned(), 18), ("(other)".to_owned(), 1)]
        );
        assert_eq!(navigation["folded_versions"], 1);
        // Within the folded version, its one installation's value is not named either.
        let other = &navigation["versions"][1];
        assert_eq!(labels(other), vec![("(other)".to_owned(), 1)]);
        assert!(report["folded"].as_u64().unwrap() >= 2, "{report}");
        assert!(!report.to_string().contains("narrow"), "{report}");
        assert!(!report.to_string().contains("9.2.0"), "{report}");

        // The page says so too.
        let page = client()
            .get(url(&running, "/"))
            .bearer_auth(READ_TOKEN)
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(
            page.contains("<strong class=\"min-group\">5</strong>"),
            "{page}"
        );
        assert!(!page.contains("narrow"));
        assert!(!page.contains("9.2.0"));
        running.stop();

        // A larger k, from the command line's `--min-group`: now `wide` (7) folds too.
        let running = serve_with(
            db,
            with_dashboard_installs(),
            IngestConfig {
                min_group: Some(8),
                ..IngestConfig::default()
            },
            candor_ingest::ServerConfig::default(),
        );
        let report = get_json(&running, "/v1/report/aspire-dashboard");
        assert_eq!(report["min_group"], 8);
        let navigation = point(&report, "page_navigation");
        assert_eq!(
            labels(&navigation["total"]),
            vec![("(other)".to_owned(), 19)]
        );
        assert_eq!(navigation["total"]["folded_values"], 2);
        running.stop();

        // A smaller one never lowers the catalogue's promise.
        let running = serve_with(
            db,
            with_dashboard_installs(),
            IngestConfig {
                min_group: Some(1),
                ..IngestConfig::default()
            },
            candor_ingest::ServerConfig::default(),
        );
        let report = get_json(&running, "/v1/report/aspire-dashboard");
        assert_eq!(report["min_group"], 5);
        assert!(!report.to_string().contains("narrow"), "{report}");
    });
}

#[test]
fn without_install_ids_events_are_counted() {
    both(|db| {
        // The agent's catalogue as shipped: no install id, k = 5 by default.
        let running = serve_with(
            db,
            candor_ingest::Accepted::builtin().unwrap(),
            IngestConfig::default(),
            candor_ingest::ServerConfig::default(),
        );
        let instance = |place: &str| {
            agent_point(
                "contrast_instance",
                json!({"kind": "enumeration", "data": place}),
            )
        };
        let mut events: Vec<Value> = (0..5).map(|_| instance("hosted")).collect();
        events.extend((0..4).map(|_| instance("on-premises")));
        assert_eq!(post_events(&running, &events).0, 200);
        let report = report(&running, "contrast-dotnet-agent");
        let instance = point(&report, "contrast_instance");
        assert_eq!(
            labels(&instance["total"]),
            vec![("hosted".to_owned(), 5), ("(other)".to_owned(), 4)]
        );
        assert_eq!(instance["total"]["folded_values"], 1);
        // The version's nine events are enough to name it.
        assert_eq!(instance["versions"][0]["product_version"], "4.0.0");
        assert!(instance.get("folded_versions").is_none(), "{instance}");
    });
}

#[test]
fn a_catalogue_declares_its_own_minimum() {
    let accepted = builtin_min_group(3);
    assert_eq!(accepted.min_group("contrast-dotnet-agent"), 3);
    assert_eq!(
        candor_ingest::Accepted::builtin()
            .unwrap()
            .min_group("aspire-dashboard"),
        5
    );
    let source = candor_schema::builtin::SOURCES[0].1;
    let zero = source.replace("[retention]\n", "[retention]\nmin_group = 0\n");
    let error = candor_schema::Catalogue::from_toml_str(&zero, "zero.toml").unwrap_err();
    assert!(error.to_string().contains("min_group"), "{error}");
}
