//! PostgreSQL is written on several connections at once (a group executes on one while
//! another waits for its commit). These tests hold the writes inside the database (another
//! session locks the id claims) until a group is in flight on each connection, then check
//! what must still hold: an id is stored once when two groups carry it at once, and an erasure
//! or a purge runs only once every group queued before it has committed, so nothing it should
//! remove survives it.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant, SystemTime};

use candor_ingest::IngestConfig;
use serde_json::{Value, json};
use support::*;

/// Another session's lock on the id claims: every write waits inside its statement until
/// [`Hold::release`] (well within the writers' 10 s lock timeout).
struct Hold(postgres::Client);

impl Hold {
    fn take(pg: &Postgres) -> Self {
        let mut client = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
        client
            .batch_execute("BEGIN; LOCK TABLE candor_event_ids IN EXCLUSIVE MODE")
            .unwrap();
        Self(client)
    }

    fn release(mut self) {
        self.0.batch_execute("COMMIT").unwrap();
    }
}

/// Waits until `n` sessions wait on a lock: `n` groups in flight.
fn groups_waiting(pg: &Postgres, n: i64) {
    let mut client = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let waiting: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
                &[],
            )
            .unwrap()
            .get(0);
        if waiting >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{waiting} of {n} groups in flight"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_queued(running: &candor_ingest::Running, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while running.ingest().queued() < n {
        assert!(
            Instant::now() < deadline,
            "{} queued",
            running.ingest().queued()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_same_ids_in_groups_on_two_connections_at_once_are_stored_once() {
    let Some(db) = Db::postgres() else { return };
    let Db::Postgres(pg) = &db else {
        unreachable!()
    };
    let running = serve(&db, IngestConfig::default());
    let batch: Vec<Value> = (0..40).map(agent_event).collect();
    let hold = Hold::take(pg);
    let replies = std::thread::scope(|s| {
        let first = s.spawn(|| post_events(&running, &batch));
        groups_waiting(pg, 1);
        let second = s.spawn(|| post_events(&running, &batch));
        groups_waiting(pg, 2);
        hold.release();
        [first.join().unwrap(), second.join().unwrap()]
    });
    for (status, reply) in &replies {
        assert_eq!(*status, 200, "{reply}");
    }
    let stored: u64 = replies
        .iter()
        .map(|(_, r)| r["accepted"].as_u64().unwrap())
        .sum();
    let duplicates: u64 = replies
        .iter()
        .map(|(_, r)| r["duplicates"].as_u64().unwrap())
        .sum();
    assert_eq!((stored, duplicates), (40, 40), "{replies:?}");
    assert_eq!(
        point_count(&report(&running, "contrast-dotnet-agent"), "working_set"),
        40
    );
    running.stop();
}

const LEAVING: &str = "0000000000000000000000000000000a";
const STAYING: &str = "0000000000000000000000000000000b";

#[test]
fn an_erasure_waits_for_the_groups_in_flight_on_every_connection() {
    let Some(db) = Db::postgres() else { return };
    let Db::Postgres(pg) = &db else {
        unreachable!()
    };
    let running = serve_with(
        &db,
        with_dashboard_installs(),
        IngestConfig::default(),
        candor_ingest::ServerConfig::default(),
    );
    let mixed = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| page_visit(if i % 2 == 0 { LEAVING } else { STAYING }, "p"))
            .collect()
    };
    let (first, second) = (mixed(30), mixed(20));
    let hold = Hold::take(pg);
    let erased = std::thread::scope(|s| {
        let writes = [
            s.spawn(|| post_events(&running, &first)),
            s.spawn(|| {
                groups_waiting(pg, 1);
                post_events(&running, &second)
            }),
        ];
        groups_waiting(pg, 2);
        // The request arrives while both groups wait inside the database: it is queued
        // behind them, and must not run before both have committed.
        let erasure = s.spawn(|| {
            post_deletion(
                &running,
                &deletion_request(
                    "aspire-dashboard",
                    LEAVING,
                    SystemTime::now() + Duration::from_secs(1),
                ),
            )
            .0
        });
        wait_queued(&running, 51);
        hold.release();
        for (write, sent) in writes.into_iter().zip([30, 20]) {
            let (status, reply) = write.join().unwrap();
            assert_eq!(status, 200, "{reply}");
            assert_eq!(reply["accepted"], sent, "{reply}");
        }
        erasure.join().unwrap()
    });
    assert_eq!(erased, 200);
    let report = report(&running, "aspire-dashboard");
    assert_eq!(point_count(&report, "page_navigation"), 25, "{report}");
    // No event of the erased installation is left, on any connection's write.
    let mut client = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    let installs: i64 = client
        .query_one(
            "SELECT COUNT(DISTINCT install_key) FROM candor_events \
             WHERE product = 'aspire-dashboard'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(installs, 1);
    running.stop();
}

#[test]
fn a_purge_waits_for_the_groups_in_flight_on_every_connection() {
    let Some(db) = Db::postgres() else { return };
    let Db::Postgres(pg) = &db else {
        unreachable!()
    };
    let running = serve(&db, IngestConfig::default());
    let (first, second): (Vec<Value>, Vec<Value>) = (
        (0..30).map(agent_event).collect(),
        (0..20).map(agent_event).collect(),
    );
    let hold = Hold::take(pg);
    let purged = std::thread::scope(|s| {
        let writes = [
            s.spawn(|| post_events(&running, &first)),
            s.spawn(|| {
                groups_waiting(pg, 1);
                post_events(&running, &second)
            }),
        ];
        groups_waiting(pg, 2);
        wait_queued(&running, 50);
        // Far enough ahead that everything written is past retention.
        let as_of = SystemTime::now() + Duration::from_secs(800 * 86_400);
        let ingest = running.ingest();
        let purge = s.spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(ingest.purge(as_of))
        });
        // The purge is queued behind the groups (it is sent at once; give its thread a moment).
        std::thread::sleep(Duration::from_millis(200));
        hold.release();
        for write in writes {
            let (status, reply) = write.join().unwrap();
            assert_eq!(status, 200, "{reply}");
        }
        purge.join().unwrap()
    });
    let agent = purged
        .iter()
        .find(|p| p.product == "contrast-dotnet-agent")
        .unwrap();
    assert_eq!(*agent.removed.as_ref().unwrap(), 50);
    let report = report(&running, "contrast-dotnet-agent");
    assert_eq!(report["events"], 0, "{report}");
    running.stop();
}

/// One group waits inside the database (on an id claim another session holds) while the
/// other connection is free: an erasure that arrives then must not take the free connection
/// and run before the waiting group, whose erased installation's events would survive it.
#[test]
fn an_erasure_does_not_overtake_a_group_in_flight_on_another_connection() {
    let Some(db) = Db::postgres() else { return };
    let Db::Postgres(pg) = &db else {
        unreachable!()
    };
    let running = serve_with(
        &db,
        with_dashboard_installs(),
        IngestConfig::default(),
        candor_ingest::ServerConfig::default(),
    );
    let kept = page_visit(STAYING, "p");
    assert_eq!(post_events(&running, std::slice::from_ref(&kept)).0, 200);
    // Another session takes the stored event away in a transaction it holds open: a write
    // that claims its id again waits for that transaction.
    let mut holder = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    holder
        .batch_execute(
            "BEGIN; DELETE FROM candor_event_ids WHERE product = 'aspire-dashboard'; \
             DELETE FROM candor_events WHERE product = 'aspire-dashboard'",
        )
        .unwrap();
    let mut group = vec![kept];
    group.extend((0..10).map(|_| page_visit(LEAVING, "p")));
    let erased = std::thread::scope(|s| {
        let write = s.spawn(|| post_events(&running, &group));
        groups_waiting(pg, 1);
        let erasure = s.spawn(|| {
            post_deletion(
                &running,
                &deletion_request(
                    "aspire-dashboard",
                    LEAVING,
                    SystemTime::now() + Duration::from_secs(1),
                ),
            )
            .0
        });
        wait_queued(&running, 12);
        // Long enough for an erasure on the free connection to have run.
        std::thread::sleep(Duration::from_millis(300));
        holder.batch_execute("COMMIT").unwrap();
        let (status, reply) = write.join().unwrap();
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["accepted"], 11, "{reply}");
        erasure.join().unwrap()
    });
    assert_eq!(erased, 200);
    let report = report(&running, "aspire-dashboard");
    assert_eq!(point_count(&report, "page_navigation"), 1, "{report}");
    running.stop();
}

/// Two groups in flight at once that both count refusals of the same product and reason (the
/// same counter rows) and fold nothing: both commit, and the counts add up.
#[test]
fn groups_counting_the_same_refusals_at_once_both_commit() {
    let Some(db) = Db::postgres() else { return };
    let Db::Postgres(pg) = &db else {
        unreachable!()
    };
    let running = serve(&db, IngestConfig::default());
    let batch = || -> Vec<Value> {
        let mut events: Vec<Value> = (0..10).map(agent_event).collect();
        events.push(agent_point(
            "no_such_point",
            json!({"kind": "count", "data": 1}),
        ));
        events.push(agent_point(
            "no_such_point",
            json!({"kind": "count", "data": 2}),
        ));
        events
    };
    let (first, second) = (batch(), batch());
    let hold = Hold::take(pg);
    let replies = std::thread::scope(|s| {
        let one = s.spawn(|| post_events(&running, &first));
        groups_waiting(pg, 1);
        let two = s.spawn(|| post_events(&running, &second));
        groups_waiting(pg, 2);
        hold.release();
        [one.join().unwrap(), two.join().unwrap()]
    });
    for (status, reply) in &replies {
        assert_eq!(*status, 200, "{reply}");
        assert_eq!(reply["accepted"], 10, "{reply}");
    }
    let report = report(&running, "contrast-dotnet-agent");
    assert_eq!(point_count(&report, "working_set"), 20, "{report}");
    let refused: u64 = report["refused"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(refused, 4, "{report}");
    running.stop();
}
