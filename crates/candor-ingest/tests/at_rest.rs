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
        assert_eq!(
            events_reported(&db.url(), other_key(), "contrast-dotnet-agent"),
            2
        );
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
    assert_eq!(
        events_reported(&db.url(), other_key(), "contrast-dotnet-agent"),
        1
    );
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

/// The keys an earlier Candor's PostgreSQL rows were sealed and hashed with, derived from the
/// store key as the store derives them, and that earlier sealing (RustCrypto's
/// XChaCha20-Poly1305 over the content as a JSON object with its fields' names).
struct EarlierSealing {
    seal: chacha20poly1305::XChaCha20Poly1305,
    index: [u8; 32],
}

impl EarlierSealing {
    fn of(key_hex: &str) -> Self {
        use chacha20poly1305::KeyInit as _;
        use hmac::Mac as _;
        let derive = |label: &str| -> [u8; 32] {
            let key: Vec<u8> = (0..32)
                .map(|i| u8::from_str_radix(&key_hex[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            let mut mac =
                <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&key).unwrap();
            mac.update(label.as_bytes());
            mac.finalize().into_bytes().into()
        };
        Self {
            seal: chacha20poly1305::XChaCha20Poly1305::new(
                &derive("candor postgres seal v1").into(),
            ),
            index: derive("candor postgres index v1"),
        }
    }

    fn hash(&self, text: &str) -> Vec<u8> {
        use hmac::Mac as _;
        let mut mac =
            <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&self.index).unwrap();
        mac.update(text.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    fn bound_to(row: &[u8]) -> Vec<u8> {
        row.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into_bytes()
    }

    fn seal(&self, row: &[u8], plain: &[u8]) -> Vec<u8> {
        use chacha20poly1305::aead::{Aead as _, Payload};
        let nonce: [u8; 24] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ row[i]);
        let aad = Self::bound_to(row);
        let mut out = nonce.to_vec();
        out.extend(
            self.seal
                .encrypt(
                    (&nonce).into(),
                    Payload {
                        msg: plain,
                        aad: &aad,
                    },
                )
                .unwrap(),
        );
        out
    }

    fn open(&self, row: &[u8], sealed: &[u8]) -> Vec<u8> {
        use chacha20poly1305::aead::{Aead as _, Payload};
        let aad = Self::bound_to(row);
        self.seal
            .decrypt(
                sealed[..24].into(),
                Payload {
                    msg: &sealed[24..],
                    aad: &aad,
                },
            )
            .unwrap()
    }
}

const TEST_KEY_HEX: &str = "5eed5eed00112233445566778899aabbccddeeff0123456789abcdef01234567";

/// Rows an earlier Candor sealed as JSON objects (planted here as it sealed them, beside rows
/// stored now) are read by a report, re-sealed by a rotation in today's form (a JSON array)
/// under keys the new store key derives, and still found by a deletion of their installation.
#[test]
fn rows_sealed_by_an_earlier_candor_are_read_rotated_and_erased() {
    let Some(db) = Db::postgres() else { return };
    let Db::Postgres(pg) = &db else {
        unreachable!()
    };
    assert!(test_key() == StoreKey::from_hex(TEST_KEY_HEX).unwrap());
    plant(&db);
    let mut admin = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    let earlier = EarlierSealing::of(TEST_KEY_HEX);
    // A row stored now, opened with the reference cipher: today's positional form.
    let row = admin
        .query_one(
            "SELECT event_id, time_us, sealed FROM candor_events LIMIT 1",
            &[],
        )
        .unwrap();
    let (id, time, sealed): (Vec<u8>, i64, Vec<u8>) = (row.get(0), row.get(1), row.get(2));
    let fields: Vec<serde_json::Value> =
        serde_json::from_slice(&earlier.open(&id, &sealed)).unwrap();
    assert_eq!(fields.len(), 8, "{fields:?}");
    assert_eq!(fields[4], json!(INSTALL));
    // Two rows as an earlier Candor sealed them: one of the same installation, one of another.
    let names = [
        "event_id",
        "product_version",
        "runtime_line",
        "catalogue_revision",
        "install_id",
        "point",
        "kind",
        "value",
    ];
    for (event_id, install) in [("earlier-one", INSTALL), ("earlier-two", "another-install")] {
        let mut object = serde_json::Map::new();
        for (name, field) in names.iter().zip(&fields) {
            object.insert((*name).to_owned(), field.clone());
        }
        object.insert("event_id".to_owned(), json!(event_id));
        object.insert("install_id".to_owned(), json!(install));
        let plain = serde_json::to_vec(&object).unwrap();
        let row = earlier.hash(event_id);
        admin
            .execute(
                "INSERT INTO candor_events (event_id, time_us, product, install_key, sealed) \
                 VALUES ($1, $2, 'aspire-dashboard', $3, $4)",
                &[
                    &row,
                    &time,
                    &earlier.hash(install),
                    &earlier.seal(&row, &plain),
                ],
            )
            .unwrap();
        admin
            .execute(
                "INSERT INTO candor_event_ids (event_id, product, time_us) \
                 VALUES ($1, 'aspire-dashboard', $2)",
                &[&row, &time],
            )
            .unwrap();
    }
    assert_eq!(marker_count(&db, &db.sealing()).unwrap(), 5);

    assert_eq!(db.url().rotate_key(&test_key(), &other_key()).unwrap(), 5);
    let rotated = EarlierSealing::of(&"7a".repeat(32));
    for row in admin
        .query("SELECT event_id, sealed FROM candor_events", &[])
        .unwrap()
    {
        let (id, sealed): (Vec<u8>, Vec<u8>) = (row.get(0), row.get(1));
        let fields: Vec<serde_json::Value> =
            serde_json::from_slice(&rotated.open(&id, &sealed)).unwrap();
        assert_eq!(id, rotated.hash(fields[0].as_str().unwrap()));
    }
    assert_eq!(marker_count(&db, &Sealing::Key(other_key())).unwrap(), 5);

    let mut store = db.url().open(&Sealing::Key(other_key())).unwrap();
    assert_eq!(
        store.erase("aspire-dashboard", INSTALL, i64::MAX).unwrap(),
        4
    );
    drop(store);
    assert_eq!(marker_count(&db, &Sealing::Key(other_key())).unwrap(), 1);
}

/// A rotation updates each event where it lies. The events' only index is a block range index
/// on their times, which names whole ranges of pages; finding each row through it read every
/// page of its range for every event, and the rows a rotation writes (at the table's end,
/// with times of every range) widened that to all of them: 40,000 events took 48 s.
#[test]
fn a_rotation_reads_each_event_s_page_a_bounded_number_of_times() {
    const EVENTS: u64 = 3000;
    let Some(db) = Db::postgres() else { return };
    let Db::Postgres(pg) = &db else {
        unreachable!()
    };
    let running = serve(&db, IngestConfig::default());
    for start in (0..EVENTS).step_by(500) {
        let batch: Vec<_> = (start..start + 500).map(agent_event).collect();
        let (status, reply) = post_events(&running, &batch);
        assert_eq!(
            (status, reply["accepted"].clone()),
            (200, json!(500)),
            "{reply}"
        );
    }
    running.stop();
    let mut admin = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let number = |admin: &mut postgres::Client, sql: &str| -> u64 {
        let n: i64 = admin.query_one(sql, &[]).unwrap().get(0);
        u64::try_from(n).unwrap()
    };
    // The server's sessions gone (each reports its statistics as it ends), counting starts.
    while number(
        &mut admin,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
    ) > 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the server's sessions stay"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    admin.execute("SELECT pg_stat_reset()", &[]).unwrap();

    assert_eq!(
        db.url().rotate_key(&test_key(), &other_key()).unwrap(),
        EVENTS
    );
    // The rotation's session reports what it read when it ends.
    let updated = "SELECT COALESCE(sum(n_tup_upd), 0)::int8 FROM pg_stat_user_tables \
                   WHERE relname LIKE 'candor\\_events\\_p%'";
    while number(&mut admin, updated) < EVENTS {
        assert!(
            std::time::Instant::now() < deadline,
            "no statistics of the rotation"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pages = number(
        &mut admin,
        "SELECT COALESCE(sum(heap_blks_hit + heap_blks_read), 0)::int8 \
         FROM pg_statio_user_tables WHERE relname LIKE 'candor\\_events\\_p%'",
    );
    assert!(
        pages < 10 * EVENTS,
        "a rotation of {EVENTS} events read {pages} pages of them"
    );
    assert_eq!(
        events_reported(&db.url(), other_key(), "contrast-dotnet-agent"),
        EVENTS
    );
}
