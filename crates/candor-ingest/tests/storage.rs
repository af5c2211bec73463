//! Aggregates storage: a product (or the server) may keep per-day aggregates only. The same
//! input gives the same report whether events or aggregates are kept, a retry is still a
//! duplicate, no event row is stored, and the retention drops whole days. On both stores.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, SystemTime};

use candor_ingest::store::Storage;
use candor_ingest::{Accepted, IngestConfig, Running, ServerConfig};
use serde_json::{Value, json};
use support::*;

/// The built-in catalogues with a minimum group of 3, the dashboard declaring install ids.
fn accepted() -> Accepted {
    let catalogues = candor_schema::builtin::SOURCES
        .iter()
        .map(|(name, source)| {
            let mut source = source.replace("[retention]\n", "[retention]\nmin_group = 3\n");
            if name.starts_with("aspire") {
                source = source.replace("[collection]\n", "[collection]\ninstall_id = true\n");
            }
            candor_schema::Catalogue::from_toml_str(&source, name).unwrap()
        });
    Accepted::new(catalogues)
}

/// A small deterministic generator (xorshift), so both modes see the same input.
struct Draw(u64);

impl Draw {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

fn at(days_back: u64, seconds: u64) -> String {
    let t = SystemTime::now() - Duration::from_secs(days_back * 86_400 + seconds);
    humantime::format_rfc3339_millis(t).to_string()
}

/// A histogram value on the built-ins' layout (8 buckets per doubling; key 8 is 2 ms, key 53
/// about 100 ms): two buckets, so equal values recur and groups of them are counted.
fn histogram(draw: &mut Draw) -> Value {
    let low = 8 + draw.next(4) * 15;
    let high = low + 1 + draw.next(3);
    let (a, b) = (1 + draw.next(3), 1 + draw.next(2));
    json!({"kind": "histogram", "data": {"count": a + b, "sum": (a * 10 + b * 20) as f64,
        "buckets": [[low, a], [high, b]]}})
}

/// Events of both built-in products over the last five days: every value kind, versions and
/// values from few and from many installations, repeated values, and equal values on
/// different days.
fn input(seed: u64) -> Vec<Value> {
    let mut draw = Draw(seed);
    let dashboard_revision = revision("aspire-dashboard");
    let agent_revision = revision("contrast-dotnet-agent");
    let mut events = Vec::new();
    for n in 0..400_u64 {
        let day = draw.next(5);
        let time = at(day, draw.next(80_000));
        let version = ["9.3.0", "9.3.1", "9.4.0", "10.0.0"][draw.next(4) as usize];
        // Installs 0..12 are common; 100 + n is an install seen once.
        let install = if draw.next(10) == 0 {
            100 + n
        } else {
            draw.next(12)
        };
        let value = match draw.next(6) {
            0 => {
                json!({"kind": "properties", "data": {"page": (["resources", "traces", "logs", "metrics"][draw.next(4) as usize])}})
            }
            1 => {
                // Sorted, each once, as a sender sends them.
                let mut names = Vec::new();
                if draw.next(2) == 0 {
                    names.push("container");
                }
                if draw.next(3) == 0 {
                    names.push("executable");
                }
                names.push("project");
                json!({"kind": "names", "data": names})
            }
            2 => {
                json!({"kind": "language_tag", "data": (["en-US", "de-DE", "ja-JP", "fr"][draw.next(4) as usize])})
            }
            3 => json!({"kind": "hashed", "data": format!("k1:{:032x}", draw.next(7))}),
            _ => histogram(&mut draw),
        };
        let point = match value["kind"].as_str().unwrap() {
            "properties" => "page_navigation",
            "names" => "resource_types",
            "language_tag" => "request_language",
            "hashed" => "invoked_commands",
            _ => "resource_restart_time",
        };
        events.push(json!({
            "event_id": format!("{seed:016x}{n:016x}"),
            "time": time,
            "product": "aspire-dashboard",
            "product_version": version,
            "runtime_line": "dashboard",
            "catalogue_revision": dashboard_revision,
            "install_id": format!("{install:032x}"),
            "point": point,
            "value": value,
        }));
    }
    for n in 0..300_u64 {
        let day = draw.next(5);
        let time = at(day, draw.next(80_000));
        let version = ["4.0.0", "4.1.0", "4.2.3"][draw.next(3) as usize];
        let (point, value) = match draw.next(6) {
            0 => (
                "working_set",
                json!({"kind": "count", "data": draw.next(20) * 1024}),
            ),
            1 => (
                "in_container",
                json!({"kind": "flag", "data": draw.next(2) == 0}),
            ),
            2 => {
                let mut codes = serde_json::Map::new();
                codes.insert("200".into(), json!(draw.next(50)));
                if draw.next(2) == 0 {
                    codes.insert(
                        ["404", "503", "500"][draw.next(3) as usize].into(),
                        json!(1 + draw.next(4)),
                    );
                }
                (
                    "contrast_http_status_codes",
                    json!({"kind": "label_counts", "data": codes}),
                )
            }
            3 => (
                "protect_rule_modes",
                json!({"kind": "mode_by_name", "data": {"sql-injection": (["block", "monitor"][draw.next(2) as usize])}}),
            ),
            4 => (
                "machine_id",
                json!({"kind": "hashed", "data": format!("{:064x}", draw.next(40))}),
            ),
            _ => ("contrast_http_response_time", histogram(&mut draw)),
        };
        events.push(json!({
            "event_id": format!("{:016x}{n:016x}", seed ^ 0xa9e7),
            "time": time,
            "product": "contrast-dotnet-agent",
            "product_version": version,
            "runtime_line": "core",
            "catalogue_revision": agent_revision,
            "point": point,
            "value": value,
        }));
    }
    events
}

fn serve_storage(db: &Db, storage: Storage) -> Running {
    serve_with(
        db,
        accepted(),
        IngestConfig {
            storage,
            ..IngestConfig::default()
        },
        ServerConfig::default(),
    )
}

/// Sends `events` in batches of 50, each twice (the second time as a client's retry).
fn send(running: &Running, events: &[Value]) {
    for chunk in events.chunks(50) {
        let (status, reply) = post_events(running, chunk);
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["accepted"], json!(chunk.len()), "{reply}");
        let (status, again) = post_events(running, chunk);
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["duplicates"], json!(chunk.len()), "{again}");
    }
}

/// A count the database answers, read past Candor (the store key opens the SQLite file).
fn count(db: &Db, sql: &str) -> i64 {
    match db {
        Db::Sqlite(dir) => {
            let connection = rusqlite::Connection::open(dir.path().join("ingest.db")).unwrap();
            connection
                .execute_batch(&format!("PRAGMA key = {};", test_key().sqlcipher_pragma()))
                .unwrap();
            connection.query_row(sql, [], |r| r.get(0)).unwrap()
        }
        Db::Postgres(pg) => {
            let mut client = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
            client.query_one(sql, &[]).unwrap().get(0)
        }
    }
}

fn stored_event_rows(db: &Db) -> i64 {
    count(db, "SELECT count(*) FROM candor_events")
}

/// Every report, through the JSON API, over the whole range and over the last two days.
fn reports(running: &Running) -> Vec<Value> {
    let mut out = Vec::new();
    for product in ["aspire-dashboard", "contrast-dotnet-agent"] {
        out.push(report(running, product));
    }
    out
}

#[test]
fn aggregates_report_what_events_report() {
    let input = input(0x5eed_cafe);
    let mut answers: Vec<(String, Vec<Value>)> = Vec::new();
    let mut check = |db: &Db, storage: Storage| {
        let running = serve_storage(db, storage);
        send(&running, &input);
        let got = reports(&running);
        running.stop();
        let rows = stored_event_rows(db);
        match storage {
            Storage::Events => assert_eq!(rows, input.len() as i64),
            _ => assert_eq!(rows, 0, "an aggregated event was stored as a row"),
        }
        let store = match db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        };
        answers.push((format!("{storage:?} on {store}"), got));
    };
    for storage in [Storage::Events, Storage::Aggregates] {
        check(&Db::sqlite(), storage);
        if let Some(pg) = Db::postgres() {
            check(&pg, storage);
        }
    }
    let (_, events) = &answers[0];
    // The input is varied enough to test something: values folded for small groups, several
    // versions, every point with events.
    let dashboard = &events[0];
    assert_eq!(dashboard["events"], json!(400));
    assert!(
        dashboard.to_string().contains("\"folded_values\""),
        "{dashboard}"
    );
    assert_eq!(events[1]["events"], json!(300));
    for (storage, got) in &answers[1..] {
        assert_eq!(got, events, "{storage} reports differ from events");
    }
}

/// A catalogue may declare `storage = "aggregates"` itself; the server keeps no event row of
/// that product, and a row of another product as before.
#[test]
fn a_catalogue_declares_aggregates() {
    let catalogues = candor_schema::builtin::SOURCES
        .iter()
        .map(|(name, source)| {
            let source = if name.starts_with("contrast") {
                source.replace("[retention]\n", "[retention]\nstorage = \"aggregates\"\n")
            } else {
                (*source).to_owned()
            };
            candor_schema::Catalogue::from_toml_str(&source, name).unwrap()
        });
    let accepted = Accepted::new(catalogues);
    assert_eq!(
        accepted.storage("contrast-dotnet-agent"),
        Storage::Aggregates
    );
    assert_eq!(accepted.storage("aspire-dashboard"), Storage::Events);
    // The server may keep less than a catalogue allows, never more.
    let all = accepted.clone().with_storage(Storage::Aggregates);
    assert_eq!(all.storage("aspire-dashboard"), Storage::Aggregates);
    let db = Db::sqlite();
    let running = serve_with(
        &db,
        accepted,
        IngestConfig::default(),
        ServerConfig::default(),
    );
    let (status, reply) = post_events(&running, &[agent_event(7), agent_event(9)]);
    assert_eq!(
        (status, reply["accepted"].clone()),
        (200, json!(2)),
        "{reply}"
    );
    assert_eq!(
        point_count(&report(&running, "contrast-dotnet-agent"), "working_set"),
        2
    );
    running.stop();
    assert_eq!(stored_event_rows(&db), 0);
}

/// The retention drops aggregated days whole once any of the day is past the cut, and the
/// ids of purged events with them; a day inside the retention stays.
#[test]
fn purge_drops_aggregated_days() {
    both(purge_drops_aggregated_days_on);
}

fn purge_drops_aggregated_days_on(db: &Db) {
    let running = serve_storage(db, Storage::Aggregates);
    let mut old = agent_event(1);
    old["time"] = json!(days_ago(300));
    let mut recent = agent_event(2);
    recent["time"] = json!(days_ago(2));
    let (status, reply) = post_events(&running, &[old.clone(), recent]);
    assert_eq!(
        (status, reply["accepted"].clone()),
        (200, json!(2)),
        "{reply}"
    );
    running.stop();
    let mut store = db.open();
    let accepted = accepted();
    // As of 66 days from now, the 365-day retention's cut falls 299 days ago: the old event's
    // day straddles it or lies before it, and goes.
    let later = SystemTime::now() + Duration::from_secs(66 * 86_400);
    let purged = candor_ingest::retention::purge(&mut *store, &accepted, later).unwrap();
    let agent = purged
        .iter()
        .find(|p| p.product == "contrast-dotnet-agent")
        .unwrap();
    assert!(matches!(agent.removed, Ok(1)), "{:?}", agent.removed);
    let report = candor_ingest::report::build(
        &mut *store,
        &accepted,
        "contrast-dotnet-agent",
        i64::MIN,
        i64::MAX,
        None,
    )
    .unwrap();
    assert_eq!(report.events, 1);
    // Its id went with it; the recent one's stays for the duplicate window.
    assert_eq!(count(db, "SELECT count(*) FROM candor_event_ids"), 1);
    // An aggregated event's id keeps its day, never the moment it was recorded.
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM candor_event_ids WHERE time_us % 86400000000 <> 0"
        ),
        0
    );
}

/// Two servers folding into one database, each batch sent to one and retried through the
/// other: every event counted once. (A write that began with a read lost its turn to the
/// other process's commit and answered 503 until the write lock was taken first.)
#[test]
fn two_servers_fold_each_event_once() {
    both(two_servers_fold_each_event_once_on);
}

fn two_servers_fold_each_event_once_on(db: &Db) {
    let a = serve_storage(db, Storage::Aggregates);
    let b = serve_storage(db, Storage::Aggregates);
    let batches: Vec<Vec<Value>> = (0..8)
        .map(|_| (0..100).map(agent_event).collect())
        .collect();
    let (a, b) = (&a, &b);
    std::thread::scope(|s| {
        for (i, batch) in batches.iter().enumerate() {
            let (first, other) = if i % 2 == 0 { (a, b) } else { (b, a) };
            s.spawn(move || {
                let (status, reply) = post_events(first, batch);
                assert_eq!((status, reply["accepted"].clone()), (200, json!(100)));
                let (_, again) = post_events(other, batch);
                assert_eq!(again["duplicates"], 100);
            });
        }
    });
    assert_eq!(
        point_count(&report(a, "contrast-dotnet-agent"), "working_set"),
        800
    );
    assert_eq!(stored_event_rows(db), 0);
}

/// `value` with every fractional number rounded to nine decimals.
fn rounded(value: impl Into<Value>) -> Value {
    match value.into() {
        Value::Number(n) if n.is_f64() => json!((n.as_f64().unwrap() * 1e9).round() / 1e9),
        Value::Array(items) => Value::Array(items.into_iter().map(rounded).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, rounded(v))).collect())
        }
        other => other,
    }
}

/// On PostgreSQL an aggregate's content is sealed and its group named by a keyed hash: a dump
/// shows no value; a rotation re-seals the days and the report stays the same under the new
/// key.
#[test]
fn postgres_aggregates_are_sealed_and_rotate() {
    let Some(db) = Db::postgres() else { return };
    let running = serve_storage(&db, Storage::Aggregates);
    let marker = "5eedfacade0f00d15eedfacade0f00d1";
    let mut events: Vec<Value> = input(0xfeed).into_iter().take(120).collect();
    let mut planted = agent_point(
        "machine_id",
        json!({"kind": "hashed", "data": format!("{marker}{marker}")}),
    );
    planted["product_version"] = json!("4.1.0");
    events.push(planted);
    send(&running, &events);
    let before = reports(&running);
    running.stop();
    let Db::Postgres(pg) = &db else {
        unreachable!()
    };
    let dump = pg.dump();
    assert!(
        dump.contains("candor_aggregates"),
        "the dump holds the table"
    );
    assert!(!dump.contains(marker), "a value is readable in pg_dump");
    assert!(
        !dump.contains("page_navigation"),
        "a point id is readable in pg_dump"
    );
    let new = candor_ingest::StoreKey::from_hex(&"7c".repeat(32)).unwrap();
    db.url().rotate_key(&test_key(), &new).unwrap();
    let mut store = db.url().open(&candor_ingest::Sealing::Key(new)).unwrap();
    let accepted = accepted();
    let mut after = Vec::new();
    for product in ["aspire-dashboard", "contrast-dotnet-agent"] {
        let report =
            candor_ingest::report::build(&mut *store, &accepted, product, i64::MIN, i64::MAX, None)
                .unwrap();
        after.push(serde_json::to_value(report).unwrap());
    }
    // A histogram's mean is a sum of floats, added in whatever order the rows come back.
    assert_eq!(rounded(after), rounded(before));
    assert!(
        db.url().open(&db.sealing()).is_err(),
        "the old key still opens it"
    );
}

/// A product that changes mode on a database keeps exactly-once: an event stored whole and
/// sent again to a server that aggregates is a duplicate, and the other way round; the report
/// counts the events of both modes together.
#[test]
fn a_change_of_mode_counts_each_event_once() {
    both(|db| {
        let whole: Vec<Value> = (0..20).map(agent_event).collect();
        let folded: Vec<Value> = (20..50).map(agent_event).collect();
        let events = serve_storage(db, Storage::Events);
        let (_, reply) = post_events(&events, &whole);
        assert_eq!(reply["accepted"], 20, "{reply}");
        events.stop();
        let aggregates = serve_storage(db, Storage::Aggregates);
        let (_, reply) = post_events(&aggregates, &whole);
        assert_eq!(reply["duplicates"], 20, "{reply}");
        let (_, reply) = post_events(&aggregates, &folded);
        assert_eq!(reply["accepted"], 30, "{reply}");
        aggregates.stop();
        let events = serve_storage(db, Storage::Events);
        let (_, reply) = post_events(&events, &folded);
        assert_eq!(reply["duplicates"], 30, "{reply}");
        assert_eq!(
            point_count(&report(&events, "contrast-dotnet-agent"), "working_set"),
            50
        );
        events.stop();
        assert_eq!(stored_event_rows(db), 20);
    });
}
