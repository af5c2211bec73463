//! The receiving end is bounded by what it stores, not only by what it reads: items per value,
//! bytes stored per byte received, one row per event id on both databases, no text a Candor
//! sender cannot produce, and small requests answered while heavy bodies are checked.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod support;

use std::time::{Duration, Instant};

use candor_ingest::{IngestConfig, ServerConfig};
use serde_json::{Value, json};
use support::*;

/// What the database holds on disk, in bytes.
fn stored_bytes(db: &Db) -> u64 {
    match db {
        Db::Sqlite(dir) => std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum(),
        Db::Postgres(pg) => {
            let mut client = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
            let size: i64 = client
                .query_one("SELECT pg_database_size(current_database())", &[])
                .unwrap()
                .get(0);
            size as u64
        }
    }
}

/// A setting-names value the caps allow at its largest: 256 distinct names of 120 bytes that
/// share a long prefix, so that gzip shrinks them to almost nothing.
fn largest_names() -> Value {
    let names: Vec<String> = (0..256)
        .map(|i| format!("Contrast.Agent.Section.Sub.{i:06}").to_owned() + &"x".repeat(93))
        .collect();
    json!({"kind": "names", "data": names})
}

/// One id is one event on both databases: two events sharing an id and a time, one per
/// product, store one row (the first), and the same id sent again with other content is a
/// duplicate that changes nothing.
#[test]
fn an_event_id_is_one_event_whatever_its_product_or_content() {
    both(|db| {
        let running = serve(db, IngestConfig::default());
        let agent = agent_event(7);
        let mut dashboard = json!({
            "event_id": agent["event_id"],
            "time": agent["time"],
            "product": "aspire-dashboard",
            "product_version": "9.3.0",
            "runtime_line": "dashboard",
            "catalogue_revision": revision("aspire-dashboard"),
            "point": "request_user_agent",
            "value": {"kind": "user_agent", "data": "Firefox 128 on Linux"},
        });
        let (status, reply) = post_events(&running, &[agent.clone(), dashboard.clone()]);
        assert_eq!(status, 200, "{reply}");
        assert_eq!(
            (reply["accepted"].clone(), reply["duplicates"].clone()),
            (json!(1), json!(1)),
            "{reply}"
        );
        // The same id again, first in a batch, with another value and product.
        dashboard["value"]["data"] = json!("Chrome 120 on Windows");
        let mut changed = agent.clone();
        changed["value"]["data"] = json!(9_999);
        let (status, reply) = post_events(&running, &[dashboard, changed]);
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["duplicates"], json!(2), "{reply}");
        let agent_report = report(&running, "contrast-dotnet-agent");
        assert_eq!(point_count(&agent_report, "working_set"), 1);
        let working_set = agent_report["points"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == "working_set")
            .unwrap();
        assert_eq!(
            working_set["total"]["summary"]["max"], 7.0,
            "the first copy wins"
        );
        let dashboard_report = report(&running, "aspire-dashboard");
        assert_eq!(dashboard_report["events"], 0);
    });
}

/// NUL, an escape sequence, a C1 control and a right-to-left override, in any text a value
/// carries, and control characters in the envelope's version: refused with their reason, and
/// nothing of them stored.
#[test]
fn text_no_sender_produces_is_refused_and_not_stored() {
    both(|db| {
        let running = serve(db, IngestConfig::default());
        let text = |t: &str| agent_point("os_version", json!({"kind": "text", "data": t}));
        let planted = [
            "Windows\u{0}Server",
            "\u{1b}]0;owned\u{7}Ubuntu",
            "Ubuntu \u{9b}31m",
            "Ubuntu \u{202e}4202",
        ];
        let mut events: Vec<Value> = planted.iter().map(|t| text(t)).collect();
        events.push(agent_point(
            "sensor_exceptions",
            json!({"kind": "exception", "data": {
                "type_name": "System.Exception",
                "message": "fine",
                "frames": ["at Contrast.A()\u{1b}[2J"],
                "frames_dropped": 0,
            }}),
        ));
        let mut version = agent_event(1);
        version["product_version"] = json!("4.0.0+\u{1b}[31m");
        events.push(version);
        let (status, reply) = post_events(&running, &events);
        assert_eq!(status, 422, "{reply}");
        let mut expected = vec!["control_character"; planted.len() + 1];
        expected.push("bad_version");
        assert_eq!(reasons(&reply), expected, "{reply}");
        // Line breaks and tabs are kept by the sender's scrubber, so they pass.
        let (status, reply) = post_events(&running, &[text("Ubuntu\t22.04\nLTS")]);
        assert_eq!(
            (status, reply["accepted"].clone()),
            (200, json!(1)),
            "{reply}"
        );
        let report = report(&running, "contrast-dotnet-agent");
        assert_eq!(point_count(&report, "os_version"), 1);
        assert_eq!(report["refused"]["control_character"], 5, "{report}");
    });
}

/// A value with more items than its point allows is refused as `too_many_items`; repeated or
/// unsorted names, which no sender makes, are out of bounds.
#[test]
fn items_beyond_the_cap_and_repeated_names_are_refused() {
    let db = Db::sqlite();
    let running = serve(&db, IngestConfig::default());
    let names = |list: Vec<String>| {
        agent_point(
            "non_default_setting_names",
            json!({"kind": "names", "data": list}),
        )
    };
    let many = |n: usize| (0..n).map(|i| format!("S.{i:04}")).collect::<Vec<_>>();
    let events = vec![
        names(many(257)),
        names(vec!["a".into(); 200_000]),
        names(vec!["b".into(), "a".into()]),
        names(many(256)),
    ];
    let (status, reply) = post_gzip(&running, &events);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["accepted"], 1, "{reply}");
    assert_eq!(
        reasons(&reply),
        ["too_many_items", "too_many_items", "out_of_bounds"],
        "{reply}"
    );
    // 100,000 labels are as many too many; a label twice is no event of the schema.
    let mut labels = String::from(r#"{"kind":"label_counts","data":{"#);
    labels.push_str(
        &(0..100_000)
            .map(|i| format!(r#""{i}":1"#))
            .collect::<Vec<_>>()
            .join(","),
    );
    labels.push_str("}}");
    let repeated = r#"{"kind":"label_counts","data":{"200":1,"200":5}}"#;
    let events: Vec<Value> = [labels.as_str(), repeated]
        .iter()
        .map(|value| {
            let mut event = agent_point("contrast_http_status_codes", json!(null));
            event["value"] = serde_json::from_str(value).unwrap_or(json!(null));
            event
        })
        .collect();
    let mut body = serde_json::to_string(&events).unwrap();
    // serde_json keeps one of a repeated key; put the repeat back into the body as sent.
    body = body.replace(r#"{"200":5}"#, r#"{"200":1,"200":5}"#);
    let response = client()
        .post(url(&running, "/v1/events"))
        .body(body)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let reply: Value = response.json().unwrap();
    assert_eq!(reasons(&reply), ["too_many_items", "malformed"], "{reply}");
    assert!(
        reply["refused"][1]["detail"]
            .as_str()
            .unwrap()
            .contains("a key appears twice"),
        "{reply}"
    );
}

/// The amplification the issue found (a small gzip body storing tens of MB): a request stores
/// at most its allowance (32 bytes per byte received, at least 64 KiB) and the events past it
/// are refused in order; over many such requests the database grows by a bounded multiple of
/// what it received, on both databases.
#[test]
fn what_a_request_stores_is_bounded_by_what_it_cost_to_send() {
    both(|db| {
        let config = IngestConfig::default();
        let running = serve(db, config.clone());
        let before = stored_bytes(db);
        let mut received = 0u64;
        let mut accepted = 0u64;
        for _ in 0..4 {
            let events: Vec<Value> = (0..60)
                .map(|_| agent_point("non_default_setting_names", largest_names()))
                .collect();
            let body = gzip(&serde_json::to_vec(&events).unwrap());
            received += body.len() as u64;
            let response = client()
                .post(url(&running, "/v1/events"))
                .header("content-encoding", "gzip")
                .body(body.clone())
                .send()
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            let reply: Value = response.json().unwrap();
            let stored = reply["accepted"].as_u64().unwrap();
            accepted += stored;
            assert!(stored < 60, "every event stored: {reply}");
            // A prefix is stored; the rest is refused for the allowance.
            let refused = reply["refused"].as_array().unwrap();
            assert_eq!(refused.len() as u64, 60 - stored);
            assert!(
                refused
                    .iter()
                    .enumerate()
                    .all(|(n, r)| r["index"] == stored + n as u64
                        && r["reason"] == "over_storage_allowance"),
                "{reply}"
            );
            let per_event = 256 * 122 + 200;
            assert!(
                stored * per_event <= config.storage_allowance(body.len()) as u64 + per_event,
                "{stored} events of about {per_event} bytes from {} bytes",
                body.len()
            );
        }
        running.stop();
        let grown = stored_bytes(db).saturating_sub(before);
        let ratio = grown as f64 / received as f64;
        eprintln!(
            "{accepted} events stored; {grown} bytes stored for {received} received: {ratio:.1} per byte"
        );
        // 32 per byte of rows, and the database's own pages and index around them.
        assert!(ratio < 80.0, "{ratio:.1} bytes stored per byte received");
    });
}

/// A request that would hold more than the checking budget is answered 503 with Retry-After
/// (nothing stored, so a retry is safe); a small one goes through beside it.
#[test]
fn the_checking_budget_answers_503_and_lets_small_bodies_pass() {
    let db = Db::sqlite();
    let config = IngestConfig {
        checking_memory: 1 << 20,
        ..IngestConfig::default()
    };
    let running = serve(&db, config);
    let events: Vec<Value> = (0..200)
        .map(|_| agent_point("non_default_setting_names", largest_names()))
        .collect();
    let response = client()
        .post(url(&running, "/v1/events"))
        .header("content-encoding", "gzip")
        .body(gzip(&serde_json::to_vec(&events).unwrap()))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
    let (status, reply) = post_events(&running, &[agent_event(3)]);
    assert_eq!(
        (status, reply["accepted"].clone()),
        (200, json!(1)),
        "{reply}"
    );
    assert_eq!(report(&running, "contrast-dotnet-agent")["events"], 1);
}

/// Small requests sent while heavy bodies are being decoded and checked are all answered
/// before any heavy body is: the checking pool runs the body with the least left first, and
/// the async threads only read and answer. (Before, a heavy body was checked on an async
/// thread and the small requests waited for it.)
#[test]
fn small_requests_are_answered_while_heavy_bodies_are_checked() {
    let db = Db::sqlite();
    let config = IngestConfig {
        // Heavy bodies are checked to their end, and all of them fit in memory at once.
        storage_per_received_byte: 100_000,
        checking_memory: 2 << 30,
        ..IngestConfig::default()
    };
    let server = ServerConfig {
        max_body_bytes: 64 << 20,
        ..ServerConfig::default()
    };
    let running = serve_with(
        &db,
        candor_ingest::Accepted::builtin().unwrap(),
        config,
        server,
    );
    // Each heavy body: 400 events of 256 names each, every name checked by the scrubber.
    let heavy: Vec<Vec<u8>> = (0..3)
        .map(|_| {
            // Heavy enough that checking one takes far longer than five small requests, even
            // on a loaded machine.
            let events: Vec<Value> = (0..400)
                .map(|_| agent_point("non_default_setting_names", largest_names()))
                .collect();
            gzip(&serde_json::to_vec(&events).unwrap())
        })
        .collect();
    let finished = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for body in &heavy {
            let finished = &finished;
            let running = &running;
            s.spawn(move || {
                // Checking a heavy body takes tens of seconds in a debug build on a loaded
                // machine: its own deadline is longer than the small requests'.
                let heavy_client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(180))
                    .build()
                    .unwrap();
                let response = heavy_client
                    .post(url(running, "/v1/events"))
                    .header("content-encoding", "gzip")
                    .body(body.clone())
                    .send()
                    .unwrap();
                assert_eq!(response.status().as_u16(), 200);
                finished.lock().unwrap().push(("heavy", Instant::now()));
            });
        }
        // Let the heavy bodies arrive and their checking begin.
        std::thread::sleep(Duration::from_millis(300));
        for n in 0..5 {
            let started = Instant::now();
            let (status, _) = post_events(&running, &[agent_event(n)]);
            assert_eq!(status, 200);
            eprintln!("small request {n}: {:?}", started.elapsed());
            finished.lock().unwrap().push(("small", Instant::now()));
        }
    });
    let finished = finished.into_inner().unwrap();
    let first_heavy = finished.iter().position(|(k, _)| *k == "heavy").unwrap();
    let last_small = finished.iter().rposition(|(k, _)| *k == "small").unwrap();
    assert!(
        last_small < first_heavy,
        "a heavy body was answered before the small requests: {:?}",
        finished.iter().map(|(k, _)| *k).collect::<Vec<_>>()
    );
}
