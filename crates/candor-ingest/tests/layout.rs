//! PostgreSQL databases an earlier Candor made, which kept the keyed hashes (event ids, install
//! ids, day groups) as 64 hex digits of text: the first connection converts them to their 32
//! bytes, once, whatever number of servers start on it at once; what was stored stays readable,
//! a retry of it stays a duplicate, a deletion still finds an installation's rows, and a
//! database whose conversion cannot be made is left as it was with a one-line error.

#![allow(clippy::unwrap_used)]

mod support;

use candor_ingest::store::Storage;
use candor_ingest::{IngestConfig, Running, ServerConfig};
use serde_json::{Value, json};
use support::*;

/// The columns that held keyed hashes as text.
const KEY_COLUMNS: [(&str, &str); 5] = [
    ("candor_event_ids", "event_id"),
    ("candor_events", "event_id"),
    ("candor_events", "install_key"),
    ("candor_aggregates", "group_key"),
    ("candor_aggregates", "install_key"),
];

const DASHBOARD: &str = "aspire-dashboard";
const AGENT: &str = "contrast-dotnet-agent";

fn install(n: u64) -> String {
    format!("{:032x}", 0xfeed_0000 + n)
}

/// A dashboard event of installation `n` (its catalogue made to declare install ids).
fn dashboard_event(n: u64, language: &str) -> Value {
    json!({
        "event_id": event_id(),
        "time": now_rfc3339(),
        "product": DASHBOARD,
        "product_version": "9.3.0",
        "runtime_line": "dashboard",
        "catalogue_revision": revision(DASHBOARD),
        "install_id": install(n),
        "point": "request_language",
        "value": {"kind": "language_tag", "data": language},
    })
}

fn serve_as(db: &Db, storage: Storage) -> Running {
    serve_with(
        db,
        with_dashboard_installs(),
        IngestConfig {
            storage,
            ..IngestConfig::default()
        },
        ServerConfig::default(),
    )
}

fn admin(db: &Db) -> postgres::Client {
    let Db::Postgres(pg) = db else { unreachable!() };
    postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap()
}

/// The type of each key column: `text` in the earlier layout, `bytea` now.
fn key_types(admin: &mut postgres::Client) -> Vec<String> {
    KEY_COLUMNS
        .iter()
        .map(|(table, column)| {
            admin
                .query_one(
                    "SELECT data_type::text FROM information_schema.columns \
                     WHERE table_name = $1 AND column_name = $2",
                    &[table, column],
                )
                .unwrap()
                .get(0)
        })
        .collect()
}

/// Turns the database back into the earlier layout: each keyed hash as the 64 lower-case hex
/// digits an earlier Candor stored.
fn to_earlier_layout(admin: &mut postgres::Client) {
    for (table, column) in KEY_COLUMNS {
        admin
            .batch_execute(&format!(
                "ALTER TABLE {table} ALTER COLUMN {column} TYPE text \
                 USING encode({column}, 'hex')"
            ))
            .unwrap();
    }
    assert_eq!(key_types(admin), vec!["text"; 5]);
    // Each product's events indexed by time in a B-tree.
    for (index, table) in time_indexes(admin) {
        admin
            .batch_execute(&format!(
                "DROP INDEX {index}; CREATE INDEX {index} ON {table} (time_us)"
            ))
            .unwrap();
    }
    assert_eq!(time_index_kinds(admin), vec!["btree"; 2]);
}

/// Each product's time index on its events, and the table it indexes.
fn time_indexes(admin: &mut postgres::Client) -> Vec<(String, String)> {
    admin
        .query(
            "SELECT i.relname::text, t.relname::text FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
             WHERE i.relkind = 'I' AND i.relname ~ '^candor_events_p[0-9]+_time$' \
             ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// The index kind of each product's time index, and of every month partition's under it.
fn time_index_kinds(admin: &mut postgres::Client) -> Vec<String> {
    let kinds: Vec<String> = admin
        .query(
            "SELECT a.amname::text FROM pg_class i JOIN pg_am a ON a.oid = i.relam \
             WHERE i.relname ~ '^candor_events_p[0-9]+_time$' ORDER BY i.relname",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let leaves: Vec<String> = admin
        .query(
            "SELECT DISTINCT a.amname::text FROM pg_inherits h \
             JOIN pg_class i ON i.oid = h.inhrelid JOIN pg_am a ON a.oid = i.relam \
             WHERE h.inhparent IN (SELECT oid FROM pg_class \
             WHERE relname ~ '^candor_events_p[0-9]+_time$')",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(leaves.len(), 1, "{leaves:?}");
    assert_eq!(Some(&leaves[0]), kinds.first(), "{leaves:?} {kinds:?}");
    kinds
}

/// Events in both modes, with install ids, stored by the current layout and turned into the
/// earlier one; returns the batches sent (events kept whole, events aggregated).
fn earlier_database(db: &Db) -> (Vec<Value>, Vec<Value>) {
    let whole: Vec<Value> = (0..120)
        .map(|n| {
            if n % 3 == 0 {
                dashboard_event(n % 2, "en-US")
            } else {
                agent_event(n)
            }
        })
        .collect();
    let folded: Vec<Value> = (0..90)
        .map(|n| dashboard_event(n % 3, ["de-DE", "fr"][n as usize % 2]))
        .collect();
    {
        let events = serve_as(db, Storage::Events);
        let (status, reply) = post_events(&events, &whole);
        assert_eq!(
            (status, reply["accepted"].clone()),
            (200, json!(120)),
            "{reply}"
        );
        let aggregates = serve_as(db, Storage::Aggregates);
        let (status, reply) = post_events(&aggregates, &folded);
        assert_eq!(
            (status, reply["accepted"].clone()),
            (200, json!(90)),
            "{reply}"
        );
    }
    to_earlier_layout(&mut admin(db));
    (whole, folded)
}

/// Several servers start at once on the earlier layout: one converts it, the others wait for
/// it and find it done (a second conversion would have failed on bytes), and every server
/// serves. What was stored reads back the same, a retry of it is a duplicate in either mode,
/// and a deletion finds the installation's whole and aggregated rows by its converted key.
#[test]
fn servers_starting_at_once_convert_an_earlier_layout_once() {
    let Some(db) = Db::postgres() else { return };
    let (whole, folded) = earlier_database(&db);
    // More rows, so the conversion takes long enough for the others to arrive during it.
    {
        let mut admin = admin(&db);
        admin
            .batch_execute(
                "INSERT INTO candor_event_ids (event_id, product, time_us) \
                 SELECT encode(sha256(g::text::bytea), 'hex'), 'padding', 0 \
                 FROM generate_series(1, 50000) g",
            )
            .unwrap();
    }
    let storages = [
        Storage::Events,
        Storage::Aggregates,
        Storage::Events,
        Storage::Aggregates,
    ];
    let barrier = std::sync::Barrier::new(storages.len());
    let servers: Vec<Running> = std::thread::scope(|s| {
        let starting: Vec<_> = storages
            .iter()
            .map(|storage| {
                let (db, barrier) = (&db, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    serve_as(db, *storage)
                })
            })
            .collect();
        starting.into_iter().map(|s| s.join().unwrap()).collect()
    });
    let mut admin = admin(&db);
    assert_eq!(key_types(&mut admin), vec!["bytea"; 5]);
    assert_eq!(time_index_kinds(&mut admin), vec!["brin"; 2]);
    let (events, aggregates) = (&servers[0], &servers[1]);
    assert_eq!(report(events, AGENT)["events"], 80);
    assert_eq!(report(events, DASHBOARD)["events"], 40 + 90);
    // A retry of what the earlier layout holds is a duplicate, at either server.
    for (server, batch) in [
        (events, &whole),
        (aggregates, &folded),
        (aggregates, &whole),
    ] {
        let (status, again) = post_events(server, batch);
        assert_eq!(status, 200, "{again}");
        assert_eq!(
            (again["accepted"].clone(), again["duplicates"].clone()),
            (json!(0), json!(batch.len())),
            "{again}"
        );
    }
    // New events go in beside the converted ones; an aggregated one joins its converted day.
    let (status, reply) = post_events(aggregates, &[dashboard_event(0, "fr")]);
    assert_eq!(
        (status, reply["accepted"].clone()),
        (200, json!(1)),
        "{reply}"
    );
    let (status, reply) = post_events(events, &[agent_event(7)]);
    assert_eq!(
        (status, reply["accepted"].clone()),
        (200, json!(1)),
        "{reply}"
    );
    let row = admin
        .query_one(
            "SELECT count(*), count(DISTINCT day_us), max(n) FROM candor_aggregates",
            &[],
        )
        .unwrap();
    let (groups, days, most): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    if days == 1 {
        // Installations 0, 1, 2 with two languages each: the new event joined its group
        // (installation 0 in French, 15 events before), named by the same key as converted.
        assert_eq!((groups, most), (6, 16));
    }
    // Installation 0's rows: 20 kept whole, 30 + 1 aggregated.
    let mut store = db.open();
    assert_eq!(store.erase(DASHBOARD, &install(0), i64::MAX).unwrap(), 51);
    assert_eq!(report(events, DASHBOARD)["events"], 40 + 91 - 51);
}

/// A database whose earlier layout holds a key that is not 64 hex digits (altered by hand) is
/// not converted half: the server does not start, says why in one line, and the database is
/// as it was.
#[test]
fn an_earlier_layout_that_cannot_be_converted_is_left_as_it_was() {
    let Some(db) = Db::postgres() else { return };
    earlier_database(&db);
    let mut admin = admin(&db);
    admin
        .batch_execute(
            "INSERT INTO candor_event_ids (event_id, product, time_us) \
             VALUES ('not hex at all', 'x', 0)",
        )
        .unwrap();
    let before: i64 = admin
        .query_one("SELECT count(*) FROM candor_event_ids", &[])
        .unwrap()
        .get(0);
    let refused = db.url().open(&db.sealing()).map(|_| ()).unwrap_err();
    let message = refused.to_string();
    assert!(!message.contains('\n'), "{message}");
    assert!(message.contains("candor_event_ids"), "{message}");
    assert_eq!(key_types(&mut admin), vec!["text"; 5]);
    let after: i64 = admin
        .query_one("SELECT count(*) FROM candor_event_ids", &[])
        .unwrap()
        .get(0);
    assert_eq!(before, after);
}

/// Only Candor's own time indexes are converted: an index of someone else's named as Candor
/// names them (`candor_events_p…_time`), on a partitioned table of theirs, is left as it is,
/// and its table missing a `time_us` column does not stop a server from starting.
#[test]
fn an_index_of_another_table_named_like_a_time_index_is_left_alone() {
    let Some(db) = Db::postgres() else { return };
    earlier_database(&db);
    let mut admin = admin(&db);
    admin
        .batch_execute(
            "CREATE TABLE shipments (sent_at date NOT NULL) PARTITION BY RANGE (sent_at); \
             CREATE INDEX candor_events_pending_time ON shipments (sent_at); \
             CREATE TABLE readings (time_us int8 NOT NULL, v int8) PARTITION BY RANGE (time_us); \
             CREATE INDEX candor_events_p1_backup_time ON readings (time_us)",
        )
        .unwrap();
    let running = serve_as(&db, Storage::Events);
    assert_eq!(report(&running, AGENT)["events"], 80);
    assert_eq!(time_index_kinds(&mut admin), vec!["brin"; 2]);
    let theirs: Vec<(String, String)> = admin
        .query(
            "SELECT i.relname::text, a.amname::text FROM pg_class i \
             JOIN pg_am a ON a.oid = i.relam \
             WHERE i.relname IN ('candor_events_pending_time', 'candor_events_p1_backup_time') \
             ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        theirs,
        [
            (
                "candor_events_p1_backup_time".to_owned(),
                "btree".to_owned()
            ),
            ("candor_events_pending_time".to_owned(), "btree".to_owned()),
        ]
    );
}
