//! The receiving end against real databases: each suite runs on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod support;

use std::io::Write;
use std::time::{Duration, SystemTime};

use candor_ingest::IngestConfig;
use candor_ingest::store::Storage;
use serde_json::{Value, json};
use support::*;

#[test]
fn every_event_is_checked_against_its_catalogue_and_refusals_are_counted() {
    both(|db| {
        let running = serve(db, IngestConfig::default());
        let mut unknown_product = agent_event(1);
        unknown_product["product"] = json!("no-such-product");
        let mut old_revision = agent_event(1);
        old_revision["catalogue_revision"] = json!("1999.1");
        let mut not_in_effect = agent_event(1);
        not_in_effect["product_version"] = json!("1.5.15");
        let framework_only = agent_point(
            "framework_runtime_version",
            json!({"kind": "version", "data": "4.8.1"}),
        );
        let undeclared = agent_point("keystrokes", json!({"kind": "count", "data": 1}));
        let wrong_kind = agent_point("working_set", json!({"kind": "text", "data": "1"}));
        let out_of_bounds = agent_point(
            "contrast_instance",
            json!({"kind": "enumeration", "data": "mars"}),
        );
        let leaked = agent_point(
            "os_version",
            json!({"kind": "text", "data": "Ubuntu 22.04 (jane.doe@example.com)"}),
        );
        let bad_hash = agent_point("machine_id", json!({"kind": "hashed", "data": "k1:abcdef"}));
        let good_hash = agent_point(
            "machine_id",
            json!({"kind": "hashed", "data": "a".repeat(64)}),
        );
        let mut install = agent_event(1);
        // The agent's events carry its deletion key (the machine id, 64 hex digits, or the
        // random install id, 32) as their install id; anything else is refused.
        install["install_id"] = json!("0123456789abcdef0123456789abcdef01234567");
        let mut bad_id = agent_event(1);
        bad_id["event_id"] = json!("not-an-id");
        let mut too_old = agent_event(1);
        too_old["time"] = json!(days_ago(400));
        let malformed = json!({"event_id": "x", "surprise": true});
        let clean_text = agent_point(
            "os_version",
            json!({"kind": "text", "data": "Ubuntu 22.04.4 LTS"}),
        );
        let batch = vec![
            agent_event(10),
            unknown_product,
            old_revision,
            not_in_effect,
            framework_only,
            undeclared,
            wrong_kind,
            out_of_bounds,
            leaked,
            bad_hash,
            good_hash,
            install,
            bad_id,
            too_old,
            malformed,
            clean_text,
        ];
        let (status, reply) = post_events(&running, &batch);
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["accepted"], 3, "{reply}");
        assert_eq!(
            reasons(&reply),
            [
                "unknown_product",
                "unknown_revision",
                "not_in_effect",
                "not_in_effect",
                "undeclared_point",
                "wrong_kind",
                "out_of_bounds",
                "personal_data",
                "bad_hash",
                "undeclared_install_id",
                "bad_event_id",
                "too_old",
                "malformed",
            ]
        );
        // Each refusal names the event it refused.
        assert_eq!(reply["refused"][0]["index"], 1);
        assert_eq!(reply["refused"][0]["event_id"], batch[1]["event_id"]);

        let report = report(&running, "contrast-dotnet-agent");
        assert_eq!(report["events"], 3);
        assert_eq!(point_count(&report, "working_set"), 1);
        assert_eq!(point_count(&report, "machine_id"), 1);
        assert_eq!(report["refused"]["personal_data"], 1);
        assert_eq!(report["refused"]["not_in_effect"], 2);
        assert_eq!(report["refused"].get("unknown_product"), None);
    });
}

#[test]
fn a_batch_of_only_invalid_events_is_refused_whole() {
    let db = Db::sqlite();
    let running = serve(&db, IngestConfig::default());
    let mut bad = agent_event(1);
    bad["point"] = json!("keystrokes");
    let (status, reply) = post_events(&running, &[bad]);
    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["refused_count"], 1);
}

#[test]
fn a_retry_never_duplicates() {
    both(|db| {
        let running = serve(db, IngestConfig::default());
        let batch: Vec<Value> = (0..50).map(agent_event).collect();
        let (status, first) = post_events(&running, &batch);
        assert_eq!((status, first["accepted"].clone()), (200, json!(50)));
        let (status, again) = post_events(&running, &batch);
        assert_eq!(status, 200);
        assert_eq!(
            (again["accepted"].clone(), again["duplicates"].clone()),
            (json!(0), json!(50))
        );
        // The same batch from four clients at once: still stored once.
        let fresh: Vec<Value> = (0..50).map(agent_event).collect();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| assert_eq!(post_events(&running, &fresh).0, 200));
            }
        });
        let report = report(&running, "contrast-dotnet-agent");
        assert_eq!(point_count(&report, "working_set"), 100);
    });
}

/// The event id alone names an event: the same id sent again with another time (a client bug,
/// or one trying to inflate the counts) is a duplicate, in one batch or across batches.
#[test]
fn an_event_id_is_stored_once_whatever_its_time() {
    both(|db| {
        let running = serve(db, IngestConfig::default());
        let first = agent_event(1);
        let mut again = first.clone();
        again["time"] = json!(days_ago(1));
        let mut third = first.clone();
        third["time"] = json!(days_ago(2));
        let (status, answer) = post_events(&running, &[first, again]);
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            (answer["accepted"].clone(), answer["duplicates"].clone()),
            (json!(1), json!(1)),
            "{answer}"
        );
        let (status, answer) = post_events(&running, &[third]);
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["duplicates"], json!(1), "{answer}");
        let report = report(&running, "contrast-dotnet-agent");
        assert_eq!(point_count(&report, "working_set"), 1);
    });
}

#[test]
fn bodies_gzip_plain_malformed_and_oversized() {
    let db = Db::sqlite();
    let server = candor_ingest::ServerConfig {
        max_body_bytes: 64 * 1024,
        ..Default::default()
    };
    let config = IngestConfig {
        max_decoded_bytes: 256 * 1024,
        ..Default::default()
    };
    let running = serve_with(
        &db,
        candor_ingest::Accepted::builtin().unwrap(),
        config,
        server,
    );
    let client = client();
    let post = |body: Vec<u8>, gzip: bool| {
        let mut request = client
            .post(url(&running, "/v1/events"))
            .header("content-type", "application/json");
        if gzip {
            request = request.header("content-encoding", "gzip");
        }
        request.body(body).send().unwrap().status().as_u16()
    };
    let gz = |bytes: &[u8]| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    };
    let events = serde_json::to_vec(&[agent_event(1), agent_event(2)]).unwrap();
    assert_eq!(post(events.clone(), false), 200);
    assert_eq!(post(gz(&events), true), 200);
    assert_eq!(post(b"{\"not\": \"an array\"}".to_vec(), false), 400);
    assert_eq!(post(b"[{\"truncated".to_vec(), false), 400);
    assert_eq!(post(vec![0x1f, 0x8b, 1, 2, 3], true), 400);
    // Over the body cap as sent.
    assert_eq!(post(vec![b' '; 100 * 1024], false), 413);
    // A small gzip bomb: 1 MiB of spaces decompresses past the decoded cap.
    assert_eq!(post(gz(&vec![b' '; 1 << 20]), true), 413);
    // Methods and paths.
    let get = client.get(url(&running, "/v1/events")).send().unwrap();
    assert_eq!(get.status().as_u16(), 405);
    let missing = client.get(url(&running, "/nope")).send().unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let report = report(&running, "contrast-dotnet-agent");
    assert_eq!(point_count(&report, "working_set"), 2);
}

#[test]
fn nothing_of_the_connection_is_stored() {
    let db = Db::sqlite();
    let running = serve(&db, IngestConfig::default());
    let response = client()
        .post(url(&running, "/v1/events"))
        .header("content-type", "application/json")
        .header("x-forwarded-for", "203.0.113.77")
        .header("user-agent", "PlantedAgent/9.9")
        .body(serde_json::to_vec(&[agent_event(5)]).unwrap())
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    running.stop();
    // The file is encrypted: what it holds is read through the key, exported in the clear
    // (SQLCipher's export), and searched byte by byte.
    let Db::Sqlite(dir) = &db else { unreachable!() };
    let plain = dir.path().join("plain.db");
    let connection = rusqlite::Connection::open(dir.path().join("ingest.db")).unwrap();
    connection
        .execute_batch(&format!(
            "PRAGMA key = {}; ATTACH DATABASE '{}' AS plain KEY ''; \
             SELECT sqlcipher_export('plain'); DETACH DATABASE plain;",
            test_key().sqlcipher_pragma(),
            plain.display()
        ))
        .unwrap();
    drop(connection);
    let bytes = std::fs::read(&plain).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("contrast-dotnet-agent"),
        "the event is stored"
    );
    assert!(!text.contains("203.0.113.77"));
    assert!(!text.contains("127.0.0.1"));
    assert!(!text.contains("PlantedAgent"));
}

#[test]
fn retention_purges_what_is_older_and_keeps_what_is_newer() {
    both(|db| {
        let running = serve(db, IngestConfig::default());
        let mut old = agent_event(1);
        old["time"] = json!(days_ago(300));
        let mut recent = agent_event(2);
        recent["time"] = json!(days_ago(10));
        let dashboard = json!({
            "event_id": event_id(),
            "time": days_ago(300),
            "product": "aspire-dashboard",
            "product_version": "9.3.0",
            "runtime_line": "dashboard",
            "catalogue_revision": revision("aspire-dashboard"),
            "point": "resource_types",
            "value": {"kind": "names", "data": ["container", "project"]},
        });
        let (status, reply) = post_events(&running, &[old, recent, dashboard]);
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["accepted"], 3, "{reply}");
        // 100 days from now the 300-day-old agent event is past the agent's 365 days.
        let later = SystemTime::now() + Duration::from_secs(100 * 86_400);
        let leaves_before = month_partitions(db);
        let rt = tokio_runtime();
        let purged = rt.block_on(running.ingest().purge(later));
        if let Some(before) = leaves_before {
            // PostgreSQL dropped the agent's month partition instead of deleting its rows.
            assert_eq!(month_partitions(db), Some(before - 1));
        }
        let agent = purged
            .iter()
            .find(|p| p.product == "contrast-dotnet-agent")
            .unwrap();
        assert_eq!(agent.days, 365);
        assert!(matches!(agent.removed, Ok(1)), "{:?}", agent.removed);
        // The dashboard states no retention: it is not purged.
        assert!(purged.iter().all(|p| p.product != "aspire-dashboard"));
        let report_agent = report(&running, "contrast-dotnet-agent");
        assert_eq!(point_count(&report_agent, "working_set"), 1);
        let working_set = report_agent["points"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == "working_set")
            .unwrap()
            .clone();
        assert_eq!(working_set["total"]["summary"]["min"], 2.0);
        let report_dashboard = report(&running, "aspire-dashboard");
        assert_eq!(report_dashboard["events"], 1);
    });
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// PostgreSQL's month partitions of events, or `None` on SQLite.
fn month_partitions(db: &Db) -> Option<i64> {
    let Db::Postgres(pg) = db else { return None };
    let mut client = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    let row = client
        .query_one(
            "SELECT COUNT(*) FROM pg_class WHERE relkind = 'r' AND relname ~ '^candor_events_p[0-9]+_[0-9]{6}$'",
            &[],
        )
        .unwrap();
    Some(row.get(0))
}

#[test]
fn hostile_values_are_refused_not_stored() {
    let db = Db::sqlite();
    let running = serve(&db, IngestConfig::default());
    // A megabyte of text in one line: over the declared length, refused before any scan.
    let huge = agent_point(
        "os_version",
        json!({"kind": "text", "data": "a".repeat(1 << 20)}),
    );
    // A secret hidden in an exception's frames, and a card number in a message.
    let exception = |message: &str, frame: &str| {
        agent_point(
            "sensor_exceptions",
            json!({"kind": "exception", "data": {
                "type_name": "System.InvalidOperationException",
                "message": message,
                "frames": [frame],
                "frames_dropped": 0
            }}),
        )
    };
    let batch = [
        huge,
        exception("failed", "at Contrast.Agent.Run(password=hunter2)"),
        exception(
            "card 4111 1111 1111 1111 declined",
            "at Contrast.Agent.Run()",
        ),
        exception("failed", "at Contrast.Agent.Run()"),
        // Times: far ahead of the clock, and not a time at all.
        {
            let mut e = agent_event(1);
            e["time"] = json!("2999-01-01T00:00:00Z");
            e
        },
        {
            let mut e = agent_event(1);
            e["time"] = json!("yesterday");
            e
        },
        // A point name of 100 kB: refused, and the reply does not echo it whole.
        agent_point(&"p".repeat(100_000), json!({"kind": "count", "data": 1})),
    ];
    let (status, reply) = post_events(&running, &batch);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["accepted"], 1, "{reply}");
    assert_eq!(
        reasons(&reply),
        [
            "out_of_bounds",
            "personal_data",
            "personal_data",
            "in_future",
            "bad_time",
            "undeclared_point"
        ]
    );
    assert!(
        reply.to_string().len() < 4000,
        "{}",
        reply.to_string().len()
    );
}

#[test]
fn two_servers_share_one_database() {
    both(|db| {
        let a = serve(db, IngestConfig::default());
        let b = serve(db, IngestConfig::default());
        let batches: Vec<Vec<Value>> = (0..8)
            .map(|_| (0..100).map(agent_event).collect())
            .collect();
        let (a, b) = (&a, &b);
        std::thread::scope(|s| {
            for (i, batch) in batches.iter().enumerate() {
                let target = if i % 2 == 0 { a } else { b };
                s.spawn(move || {
                    let (status, reply) = post_events(target, batch);
                    assert_eq!((status, reply["accepted"].clone()), (200, json!(100)));
                    // The same batch through the other server is a duplicate there too.
                    let other = if i % 2 == 0 { b } else { a };
                    let (_, again) = post_events(other, batch);
                    assert_eq!(again["duplicates"], 100);
                });
            }
        });
        assert_eq!(
            point_count(&report(a, "contrast-dotnet-agent"), "working_set"),
            800
        );
    });
}

#[test]
fn serve_purges_on_its_own_schedule() {
    let db = Db::sqlite();
    let mut old = agent_event(1);
    old["time"] = json!(days_ago(10));
    let recent = agent_event(2);
    {
        let running = serve(&db, IngestConfig::default());
        let (status, reply) = post_events(&running, &[old, recent]);
        assert_eq!((status, reply["accepted"].clone()), (200, json!(2)));
    }
    // The vendor shortens its promise to 5 days: the next server's own purge applies it.
    let source = candor_schema::builtin::SOURCES
        .iter()
        .find(|(name, _)| name.starts_with("contrast"))
        .unwrap()
        .1;
    assert!(source.contains("days = 365"));
    let shorter = candor_schema::Catalogue::from_toml_str(
        &source.replace("days = 365", "days = 5"),
        "shorter.toml",
    )
    .unwrap();
    let config = IngestConfig {
        purge_every: Duration::from_secs(1),
        ..IngestConfig::default()
    };
    let running = serve_with(
        &db,
        candor_ingest::Accepted::new([shorter]),
        config,
        candor_ingest::ServerConfig::default(),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let count = point_count(&report(&running, "contrast-dotnet-agent"), "working_set");
        if count == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {count} events");
        std::thread::sleep(Duration::from_millis(100));
    }
    let report = report(&running, "contrast-dotnet-agent");
    let working_set = report["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "working_set")
        .unwrap();
    // The recent one (value 2) stayed.
    assert_eq!(working_set["total"]["summary"]["min"], 2.0);
}

#[test]
fn the_server_accepts_exactly_the_revisions_it_holds() {
    let source = candor_schema::builtin::SOURCES
        .iter()
        .find(|(name, _)| name.starts_with("contrast"))
        .unwrap()
        .1;
    let current = revision("contrast-dotnet-agent");
    let next = candor_schema::Catalogue::from_toml_str(
        &source
            .replace(
                &format!("revision = \"{current}\""),
                "revision = \"2099.1\"",
            )
            .replace("days = 365", "days = 30"),
        "next.toml",
    )
    .unwrap();
    let old = candor_schema::Catalogue::from_toml_str(source, "old.toml").unwrap();
    let accepted = candor_ingest::Accepted::new([old, next]);
    // Both promises hold: the shorter retention applies to the product.
    assert_eq!(accepted.retention_days("contrast-dotnet-agent"), Some(30));
    let db = Db::sqlite();
    let running = serve_with(
        &db,
        accepted,
        IngestConfig::default(),
        candor_ingest::ServerConfig::default(),
    );
    let mut on_next = agent_event(2);
    on_next["catalogue_revision"] = json!("2099.1");
    let mut unheld = agent_event(3);
    unheld["catalogue_revision"] = json!("2098.1");
    let (status, reply) = post_events(&running, &[agent_event(1), on_next, unheld]);
    assert_eq!(status, 200);
    assert_eq!(reply["accepted"], 2, "{reply}");
    assert_eq!(reasons(&reply), ["unknown_revision"]);
}

/// Purges at once (two replicas' own purges, or `candor purge` beside `serve`) count each
/// removed event once, and a server whose month partition another process's purge dropped
/// stores into that month again at once. PostgreSQL's purge counted a past month's partition
/// and then dropped it, unlocked, so two purges in step both counted it (50 events purged
/// reported as 100 removed); and the server's write after it failed twice, its one retry
/// running the old connection's prepared statement on the new connection (503).
#[test]
fn purges_at_once_count_each_removed_event_once() {
    let Some(db) = Db::postgres() else {
        return;
    };
    let running = serve(&db, IngestConfig::default());
    let cut = SystemTime::now() - Duration::from_secs(200 * 86_400);
    let before_us = i64::try_from(
        cut.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_micros(),
    )
    .unwrap();
    const OLD: u64 = 50;
    let mut reported = Vec::new();
    for round in 0..10 {
        let old: Vec<Value> = (0..OLD)
            .map(|n| {
                let mut event = agent_event(n);
                event["time"] = json!(days_ago(300));
                event
            })
            .collect();
        let (status, reply) = post_events(&running, &old);
        assert_eq!(status, 200, "round {round}: {reply}");
        assert_eq!(reply["accepted"], OLD, "{reply}");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let purges: Vec<_> = (0..2)
            .map(|_| {
                let mut store = db.open();
                let barrier = std::sync::Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    store.purge("contrast-dotnet-agent", before_us).unwrap()
                })
            })
            .collect();
        let removed: Vec<u64> = purges.into_iter().map(|p| p.join().unwrap()).collect();
        assert_eq!(
            removed.iter().sum::<u64>(),
            OLD,
            "round {round}: {removed:?}"
        );
        reported.push(removed);
    }
    eprintln!("two purges at once, removed per round: {reported:?}");
    let report = report(&running, "contrast-dotnet-agent");
    assert_eq!(report["events"], 0, "{report}");
}

/// A PostgreSQL database an earlier Candor made kept a key of its own on the events (product,
/// id, time) beside the id claims: the first connection drops it (the claims are the key), and
/// each event is still stored once, a retry answered as a duplicate.
#[test]
fn an_earlier_key_on_the_postgres_events_is_dropped_and_each_event_stays_once() {
    let Some(db) = Db::postgres() else { return };
    let Db::Postgres(pg) = &db else {
        unreachable!()
    };
    let mut admin = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    admin
        .batch_execute(
            "CREATE TABLE candor_events (event_id TEXT NOT NULL, time_us BIGINT NOT NULL, \
             product TEXT NOT NULL, install_key TEXT, sealed BYTEA NOT NULL, \
             PRIMARY KEY (product, event_id, time_us)) PARTITION BY LIST (product)",
        )
        .unwrap();
    let keys = |admin: &mut postgres::Client| -> i64 {
        admin
            .query_one(
                "SELECT count(*) FROM pg_constraint WHERE conrelid = 'candor_events'::regclass \
                 AND contype = 'p'",
                &[],
            )
            .unwrap()
            .get(0)
    };
    assert_eq!(keys(&mut admin), 1);
    let running = serve(&db, IngestConfig::default());
    assert_eq!(keys(&mut admin), 0);
    let events: Vec<_> = (0..3).map(agent_event).collect();
    let (status, first) = post_events(&running, &events);
    assert_eq!(
        (status, first["accepted"].clone()),
        (200, json!(3)),
        "{first}"
    );
    let (status, again) = post_events(&running, &events);
    assert_eq!(
        (
            status,
            again["accepted"].clone(),
            again["duplicates"].clone()
        ),
        (200, json!(0), json!(3)),
        "{again}"
    );
    assert_eq!(report(&running, "contrast-dotnet-agent")["events"], 3);
    let stored: i64 = admin
        .query_one("SELECT count(*) FROM candor_events", &[])
        .unwrap()
        .get(0);
    assert_eq!(stored, 3);
}

/// A batch holding events already stored, new events, and one new id three times: each id is
/// stored once (the first event with it), and the answer counts the rest as duplicates. In
/// both storage modes, on both stores (on PostgreSQL this is the write that finds ids claimed
/// before and claims only the others).
#[test]
fn a_batch_mixing_stored_new_and_repeated_ids_stores_each_once() {
    for storage in [Storage::Events, Storage::Aggregates] {
        both(|db| {
            let running = serve(
                db,
                IngestConfig {
                    storage,
                    ..IngestConfig::default()
                },
            );
            let first: Vec<Value> = (0..40).map(agent_event).collect();
            let (status, reply) = post_events(&running, &first);
            assert_eq!(
                (status, reply["accepted"].clone()),
                (200, json!(40)),
                "{reply}"
            );
            let repeated = agent_event(7);
            let mut mixed: Vec<Value> = first[10..30].to_vec();
            mixed.extend((0..15).map(agent_event));
            mixed.push(repeated.clone());
            mixed.push(repeated.clone());
            let mut later = repeated.clone();
            later["value"]["data"] = json!(9_999);
            mixed.push(later);
            let (status, reply) = post_events(&running, &mixed);
            assert_eq!(status, 200, "{reply}");
            assert_eq!(
                (reply["accepted"].clone(), reply["duplicates"].clone()),
                (json!(16), json!(22)),
                "{storage:?}: {reply}"
            );
            let report = report(&running, "contrast-dotnet-agent");
            assert_eq!(point_count(&report, "working_set"), 56, "{storage:?}");
            // The first event with the id is the one kept: 7, never 9999.
            let working_set = report["points"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["id"] == "working_set")
                .unwrap();
            assert_eq!(
                working_set["total"]["summary"]["max"],
                json!(39.0),
                "{storage:?}: {working_set}"
            );
        });
    }
}

/// The same batch at two servers on one database at the same moment (a client's retry after
/// a timeout reaching another replica while the first try is being written): stored once, and
/// the two answers account for each event once, accepted by one and a duplicate at the other.
#[test]
fn the_same_batch_at_two_servers_at_once_is_stored_once() {
    for storage in [Storage::Events, Storage::Aggregates] {
        both(|db| {
            let config = || IngestConfig {
                storage,
                ..IngestConfig::default()
            };
            let servers = [serve(db, config()), serve(db, config())];
            const ROUNDS: usize = 12;
            for round in 0..ROUNDS {
                let batch: Vec<Value> = (0..200).map(|n| agent_event(n % 5)).collect();
                let barrier = std::sync::Barrier::new(2);
                let answers: Vec<Value> = std::thread::scope(|s| {
                    let posting: Vec<_> = servers
                        .iter()
                        .map(|server| {
                            let (batch, barrier) = (&batch, &barrier);
                            s.spawn(move || {
                                barrier.wait();
                                let (status, reply) = post_events(server, batch);
                                assert_eq!(status, 200, "{reply}");
                                reply
                            })
                        })
                        .collect();
                    posting.into_iter().map(|p| p.join().unwrap()).collect()
                });
                let sum =
                    |key: &str| -> u64 { answers.iter().map(|a| a[key].as_u64().unwrap()).sum() };
                assert_eq!(
                    (sum("accepted"), sum("duplicates")),
                    (200, 200),
                    "{storage:?} round {round}: {answers:?}"
                );
            }
            let report = report(&servers[0], "contrast-dotnet-agent");
            assert_eq!(
                point_count(&report, "working_set"),
                (ROUNDS * 200) as u64,
                "{storage:?}"
            );
        });
    }
}

/// An event id must be 32 lower-case hex digits: one that looks like a stored keyed hash (64
/// digits), upper-case digits, one digit short or a letter past `f` is refused by the event
/// check, before anything reaches the store.
#[test]
fn an_event_id_not_32_lower_case_hex_digits_never_reaches_the_store() {
    both(|db| {
        let running = serve(db, IngestConfig::default());
        let ids = [
            "0123456789abcdef".repeat(4),
            "0123456789ABCDEF".repeat(2),
            "0123456789abcdef0123456789abcde".to_owned(),
            "0123456789abcdef0123456789abcdeg".to_owned(),
            String::new(),
        ];
        let batch: Vec<Value> = ids
            .iter()
            .map(|id| {
                let mut event = agent_event(1);
                event["event_id"] = json!(id);
                event
            })
            .collect();
        let (status, reply) = post_events(&running, &batch);
        assert_eq!(status, 422, "{reply}");
        assert_eq!(reasons(&reply), vec!["bad_event_id"; ids.len()], "{reply}");
        assert_eq!(report(&running, "contrast-dotnet-agent")["events"], 0);
    });
}
