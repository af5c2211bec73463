//! Encrypted at rest: a value planted through `candor serve` is found by reports with the store
//! key, and nowhere in the SQLite file (with its WAL) or in a `pg_dump` without it; a wrong or
//! missing key is an error, never an empty report; a rotated key opens what the old one
//! sealed, and the old one no longer does.

#![allow(clippy::unwrap_used)]

mod support;

use candor_ingest::{IngestConfig, Sealing, StoreError, StoreKey, report};
use serde_json::json;
use support::*;

const MARKER: &str = "PlantedMarkerQ7Z";
const INSTALL: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// Plants the marker as a dashboard value and an install id, through the HTTP server.
fn plant(db: &Db) {
    let running = serve_with(
        db,
        with_dashboard_installs(),
        IngestConfig::default(),
        candor_ingest::ServerConfig::default(),
    );
    let revision = revision("aspire-dashboard");
    let events: Vec<_> = (0..3)
        .map(|_| {
            json!({
                "event_id": event_id(),
                "time": now_rfc3339(),
                "product": "aspire-dashboard",
                "product_version": "9.3.0",
                "runtime_line": "dashboard",
                "catalogue_revision": revision,
                "install_id": INSTALL,
                "point": "page_navigation",
                "value": {"kind": "properties", "data": {"page": MARKER}},
            })
        })
        .collect();
    let (status, reply) = post_events(&running, &events);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["accepted"], 3, "{reply}");
    running.stop();
}

fn marker_count(db: &Db, sealing: &Sealing) -> Result<u64, StoreError> {
    let accepted = with_dashboard_installs();
    let mut store = db.url().open(sealing)?;
    let report = report::build(
        &mut *store,
        &accepted,
        "aspire-dashboard",
        i64::MIN,
        i64::MAX,
        None,
    )?;
    Ok(report.events)
}

fn other_key() -> StoreKey {
    StoreKey::from_hex(&"7a".repeat(32)).unwrap()
}

fn files_hold(dir: &std::path::Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().flatten().any(|entry| {
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        bytes.windows(needle.len()).any(|w| w == needle)
    })
}

/// The planted events were stored: looking for the marker is not looking at an empty store.
fn check_planted(db: &Db) {
    assert_eq!(marker_count(db, &db.sealing()).unwrap(), 3);
}

#[test]
fn sqlite_holds_nothing_readable_and_refuses_a_wrong_key() {
    let db = Db::sqlite();
    plant(&db);
    check_planted(&db);
    let Db::Sqlite(dir) = &db else { unreachable!() };
    // The file, and its WAL and shared memory if left: no marker, no install id, no point id.
    for needle in [
        MARKER.as_bytes(),
        INSTALL.as_bytes(),
        b"page_navigation",
        b"SQLite format 3",
    ] {
        assert!(
            !files_hold(dir.path(), needle),
            "{} found in the SQLite files",
            String::from_utf8_lossy(needle)
        );
    }
    for sealing in [Sealing::Key(other_key()), Sealing::Unencrypted] {
        let Err(StoreError::Key(message)) = marker_count(&db, &sealing) else {
            panic!("{sealing:?} opened the database");
        };
        assert_eq!(message.lines().count(), 1, "{message}");
    }
    // Rotation: the new key opens everything, the old one nothing.
    let rotated = db.url().rotate_key(&test_key(), &other_key()).unwrap();
    assert_eq!(rotated, 3);
    assert_eq!(marker_count(&db, &Sealing::Key(other_key())).unwrap(), 3);
    assert!(matches!(
        marker_count(&db, &db.sealing()),
        Err(StoreError::Key(_))
    ));
    // Rotating with a key that does not open it changes nothing.
    assert!(db.url().rotate_key(&test_key(), &other_key()).is_err());
    assert_eq!(marker_count(&db, &Sealing::Key(other_key())).unwrap(), 3);
}

#[test]
fn postgres_dump_holds_nothing_readable_and_refuses_a_wrong_key() {
    let Some(db) = Db::postgres() else { return };
    plant(&db);
    check_planted(&db);
    let Db::Postgres(pg) = &db else {
        unreachable!()
    };
    let dump = pg.dump();
    assert!(dump.contains("candor_events"), "the dump holds the tables");
    for needle in [MARKER, INSTALL, "page_navigation", "9.3.0"] {
        assert!(!dump.contains(needle), "{needle} found in pg_dump");
    }
    for sealing in [Sealing::Key(other_key()), Sealing::Unencrypted] {
        let Err(StoreError::Key(message)) = marker_count(&db, &sealing) else {
            panic!("{sealing:?} opened the database");
        };
        assert_eq!(message.lines().count(), 1, "{message}");
    }
    // A second serve with the key sees the same events (duplicates are recognised through
    // the keyed hash of the id).
    let rotated = db.url().rotate_key(&test_key(), &other_key()).unwrap();
    assert_eq!(rotated, 3);
    assert_eq!(marker_count(&db, &Sealing::Key(other_key())).unwrap(), 3);
    assert!(matches!(
        marker_count(&db, &db.sealing()),
        Err(StoreError::Key(_))
    ));
    let dump = pg.dump();
    assert!(!dump.contains(MARKER) && !dump.contains(INSTALL));
}

/// A rotation while a server runs would leave it with a key that opens nothing, answering 503
/// until restarted: the rotation is refused instead, and the server goes on.
#[test]
fn a_rotation_is_refused_while_a_server_is_connected() {
    both(|db| {
        let running = serve(db, IngestConfig::default());
        assert_eq!(post_events(&running, &[agent_event(1)]).0, 200);
        let started = std::time::Instant::now();
        let Err(error) = db.url().rotate_key(&test_key(), &other_key()) else {
            panic!("rotated under a running server");
        };
        let message = error.to_string();
        assert!(message.contains("stop"), "{message}");
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        assert_eq!(post_events(&running, &[agent_event(2)]).0, 200);
        running.stop();
        // Stopped: the rotation runs, and only the new key opens what the server stored.
        assert_eq!(db.url().rotate_key(&test_key(), &other_key()).unwrap(), 2);
        let accepted = candor_ingest::Accepted::builtin().unwrap();
        let mut store = db.url().open(&Sealing::Key(other_key())).unwrap();
        let report = report::build(
            &mut *store,
            &accepted,
            "contrast-dotnet-agent",
            i64::MIN,
            i64::MAX,
            None,
        )
        .unwrap();
        assert_eq!(report.events, 2);
        assert!(db.url().open(&db.sealing()).is_err());
    });
}

/// While a rotation holds the database, a server does not start on it (its key is about to
/// open nothing): a one-line error, promptly. The rotation's hold is taken here as the
/// rotation takes it (SQLite: an exclusive connection; PostgreSQL: Candor's lock, exclusively).
#[test]
fn nothing_opens_the_database_while_a_rotation_holds_it() {
    both(|db| {
        drop(db.open());
        let _hold: Box<dyn std::any::Any> = match db {
            Db::Sqlite(dir) => {
                let connection = rusqlite::Connection::open(dir.path().join("ingest.db")).unwrap();
                connection
                    .execute_batch(&format!(
                        "PRAGMA key = {}; PRAGMA locking_mode = EXCLUSIVE; \
                         SELECT count(*) FROM sqlite_master;",
                        test_key().sqlcipher_pragma()
                    ))
                    .unwrap();
                Box::new(connection)
            }
            Db::Postgres(pg) => {
                let mut client = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
                // "candor store", Candor's lock on the database.
                client
                    .execute("SELECT pg_advisory_lock($1)", &[&0x6361_6e64_6f72_7374_i64])
                    .unwrap();
                Box::new(client)
            }
        };
        let started = std::time::Instant::now();
        let Err(error) = db.url().open(&db.sealing()) else {
            panic!("opened during a rotation");
        };
        let message = error.to_string();
        assert!(message.contains("rotat"), "{message}");
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    });
}

/// A server whose connection was cut while the key was rotated (so it held nothing that
/// stopped the rotation) has its writes refused, 503 so clients retry, never stored under a
/// key that no longer opens the database.
#[test]
fn a_server_that_missed_a_rotation_stores_nothing_under_the_old_key() {
    let Some(db) = Db::postgres() else { return };
    let Db::Postgres(pg) = &db else {
        unreachable!()
    };
    let running = serve(&db, IngestConfig::default());
    assert_eq!(post_events(&running, &[agent_event(1)]).0, 200);
    let mut admin = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE pid <> pg_backend_pid() AND datname = current_database()",
            &[],
        )
        .unwrap();
    db.url().rotate_key(&test_key(), &other_key()).unwrap();
    let (status, reply) = post_events(&running, &[agent_event(2)]);
    assert_eq!(status, 503, "{reply}");
    running.stop();
    let accepted = candor_ingest::Accepted::builtin().unwrap();
    let mut store = db.url().open(&Sealing::Key(other_key())).unwrap();
    let report = report::build(
        &mut *store,
        &accepted,
        "contrast-dotnet-agent",
        i64::MIN,
        i64::MAX,
        None,
    )
    .unwrap();
    assert_eq!(report.events, 1);
}

/// A database that is not on this machine is never reached in the clear: `sslmode=disable`
/// for one is refused before any connection is tried, in URL and keyword form.
#[test]
fn postgres_off_this_machine_is_refused_in_the_clear() {
    for url in [
        "postgres://candor@db.example.invalid/candor?sslmode=disable",
        "postgres://candor@10.1.2.3:5432/candor?application_name=x&sslmode=disable",
        "host=db.example.invalid user=candor sslmode=disable",
    ] {
        let url = if url.starts_with("host=") {
            candor_ingest::DatabaseUrl::Postgres(url.to_owned())
        } else {
            candor_ingest::DatabaseUrl::parse(url).unwrap()
        };
        let started = std::time::Instant::now();
        let Err(error) = url.open(&Sealing::Key(test_key())) else {
            panic!("connected");
        };
        let message = error.to_string();
        assert!(message.contains("not on this machine"), "{message}");
        assert_eq!(message.lines().count(), 1);
        // Refused before any connection attempt.
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}

/// A database that is not on this machine is reached only over TLS that verifies the server:
/// a server whose certificate names `pg.candor.test` (dialled at 127.0.0.1 through `hostaddr`,
/// so the test needs no network) takes the planted events over TLS, each of Candor's sessions
/// logged as encrypted; without the CA that issued the certificate, with another CA, or with
/// `sslmode=disable`, nothing is stored and the reason is one line.
#[test]
fn a_remote_postgres_is_reached_over_verified_tls_only() {
    if !cfg!(feature = "postgres") {
        return;
    }
    let (ca, cert, key) = candor_testkit::TestCa::with_server_certificate_for(&[TLS_HOST]);
    let Some(pg) = Postgres::start_tls(&cert, &key, ca.path()) else {
        return;
    };
    let db = Db::Postgres(pg);
    plant(&db);
    check_planted(&db);
    let Db::Postgres(pg) = &db else {
        unreachable!()
    };
    let log = pg.log();
    let sessions: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("connection authorized: user=candor"))
        .collect();
    assert!(!sessions.is_empty(), "{log}");
    for session in &sessions {
        assert!(session.contains("SSL enabled"), "in the clear: {session}");
    }

    let (other_ca, _, _) = candor_testkit::TestCa::with_server_certificate_for(&[TLS_HOST]);
    let trusted = pg.url();
    let without_ca = trusted
        .split_once("&sslrootcert=")
        .map(|(base, _)| base.to_owned())
        .unwrap();
    let with_other_ca = format!("{without_ca}&sslrootcert={}", other_ca.path().display());
    let in_the_clear = format!("{trusted}&sslmode=disable");
    for url in [without_ca, with_other_ca, in_the_clear] {
        let opened = candor_ingest::DatabaseUrl::parse(&url)
            .unwrap()
            .open(&db.sealing());
        let Err(error) = opened else {
            panic!("{url} was opened");
        };
        let message = error.to_string();
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(
            message.contains("certificate") || message.contains("sslmode=disable"),
            "{url}: {message}"
        );
    }
}
