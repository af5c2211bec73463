//! Load: `candor serve` on loopback, driven by Candor's own JSON sink (gzip JSON batches of 512,
//! the transport's `HttpSink`), on SQLite and on PostgreSQL (fsync on both), with 1 and 4
//! concurrent clients. Prints events stored per second, the p50/p99 acknowledgement latency of
//! a batch, and the process's memory with the ingest queue full. After each store and mode, the
//! database's own bulk load of the rows the run stored (PostgreSQL's binary `COPY`, SQLite's
//! prepared inserts, one transaction) and the ratio of the ingest to it.
//!
//! `cargo bench -p candor-ingest --bench ingest` (PostgreSQL needs Debian's `postgresql`).

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use candor_ingest::{IngestConfig, Running};
use candor_transport::{Outcome, SinkSpec, Timeouts};
use support::*;

const BATCH: usize = 512;

fn batches(count: usize) -> Vec<Vec<candor_schema::Event>> {
    // Two templates, each event a copy with a fresh id (building each from scratch looked the
    // catalogue's revision up per event, which took longer than the run it fed).
    let count_event = agent_event(0);
    let text_event = agent_point(
        "os_version",
        serde_json::json!({"kind": "text", "data": "Windows Server 2022 Datacenter 10.0.20348"}),
    );
    (0..count)
        .map(|_| {
            (0..BATCH)
                .map(|n| {
                    let mut json = if n % 2 == 0 {
                        let mut json = count_event.clone();
                        json["value"]["data"] = serde_json::json!(n as u64 * 4096);
                        json
                    } else {
                        text_event.clone()
                    };
                    json["event_id"] = serde_json::json!(event_id());
                    serde_json::from_value(json).unwrap()
                })
                .collect()
        })
        .collect()
}

/// Sends `per_client` batches from each of `clients` threads; returns events/s and latencies.
fn drive(running: &Running, clients: usize, per_client: usize) -> (f64, Vec<Duration>) {
    let work: Vec<Vec<Vec<candor_schema::Event>>> =
        (0..clients).map(|_| batches(per_client)).collect();
    let endpoint = url(running, "/v1/events");
    let started = Instant::now();
    let latencies: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = work
            .iter()
            .map(|mine| {
                let endpoint = endpoint.clone();
                s.spawn(move || {
                    let mut sink = SinkSpec::Json { endpoint }
                        .build(Timeouts::default())
                        .unwrap();
                    let mut latencies = Vec::with_capacity(mine.len());
                    for batch in mine {
                        loop {
                            let t = Instant::now();
                            match sink.deliver(batch) {
                                Outcome::Delivered { .. } => {
                                    latencies.push(t.elapsed());
                                    break;
                                }
                                Outcome::Retry { .. } => {
                                    std::thread::sleep(Duration::from_millis(10))
                                }
                                Outcome::Reject { reason, .. } => panic!("{reason}"),
                            }
                        }
                    }
                    latencies
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let events = (clients * per_client * BATCH) as f64;
    (events / elapsed, latencies)
}

fn percentile(latencies: &mut [Duration], p: f64) -> Duration {
    latencies.sort();
    let index = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
    latencies[index]
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn throughput(name: &str, db: &Db, storage: candor_schema::Storage) {
    let running = serve(
        db,
        IngestConfig {
            storage,
            ..IngestConfig::default()
        },
    );
    if let Db::Postgres(pg) = db {
        warm_shared_buffers(pg);
    }
    // Warm-up: connections, prepared statements, partitions.
    drive(&running, 1, 4);
    let mut rates = Vec::new();
    for clients in [1, 4] {
        let (rate, mut latencies) = drive(&running, clients, 160 / clients);
        println!(
            "ingest/{name}/{clients} client(s): {rate:.0} events/s stored; ack latency per {BATCH}-event batch p50 {:.1} ms, p99 {:.1} ms",
            percentile(&mut latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&mut latencies, 0.99).as_secs_f64() * 1e3,
        );
        rates.push((clients, rate));
    }
    drop(running);
    let (events, rows, elapsed, how) = match db {
        Db::Sqlite(_) => bulk_load_sqlite(db),
        Db::Postgres(pg) => bulk_load_postgres(pg),
    };
    let bulk = events as f64 / elapsed;
    let ratios: Vec<String> = rates
        .iter()
        .map(|(clients, rate)| format!("{clients} client(s) {:.2}x", rate / bulk))
        .collect();
    println!(
        "ingest/{name}/bulk-load: {bulk:.0} events/s ({events} events as {rows} rows in {elapsed:.2} s: {how}); ingest / bulk-load: {}",
        ratios.join(", ")
    );
}

/// Touches every page of PostgreSQL's shared buffers once, as a server that has run for a while
/// has: the first write into each page of that shared memory takes a page fault that zeroes it,
/// which a freshly started server pays during the first 128 MiB it writes (up to a fifth of a
/// 1-client run's time here) and the bulk load, run afterwards on the same server, never does.
/// A table of about 140 MiB, stored uncompressed, filled by a plain `INSERT` (which, unlike
/// `COPY` or `CREATE TABLE AS`, is not confined to a small ring of buffers), then dropped and
/// checkpointed, so the run starts as the bulk load does: after a checkpoint.
fn warm_shared_buffers(pg: &Postgres) {
    let mut client = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    client
        .batch_execute(
            "CREATE TABLE candor_bench_warm (w text); \
             ALTER TABLE candor_bench_warm ALTER COLUMN w SET STORAGE PLAIN; \
             INSERT INTO candor_bench_warm SELECT lpad('', 1900, md5(i::text)) \
             FROM generate_series(1, 72000) i; \
             DROP TABLE candor_bench_warm; CHECKPOINT",
        )
        .unwrap();
}

/// The database's own bulk load of the rows the ingest just stored: every row of Candor's
/// tables is read back as stored (sealed and keyed-hashed on PostgreSQL, plain columns in a
/// SQLCipher file on SQLite), and loaded again into the same tables (same keys, indexes,
/// encryption) in one transaction with one commit, fsync on. It leaves out what the ingest
/// does besides: HTTP, decoding, checking, sealing and hashing, and a commit per acknowledgement.
/// Returns (events the rows hold, rows, seconds, what ran).
fn bulk_load_postgres(pg: &Postgres) -> (u64, usize, f64, &'static str) {
    use postgres::binary_copy::BinaryCopyInWriter;
    use postgres::types::Type;
    let mut client = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    let claims: Vec<(Vec<u8>, String, i64)> = client
        .query(
            "SELECT event_id, product, time_us FROM candor_event_ids",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    type EventRow = (Vec<u8>, i64, String, Option<Vec<u8>>, Vec<u8>);
    let events: Vec<EventRow> = client
        .query(
            "SELECT event_id, time_us, product, install_key, sealed FROM candor_events",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    type Aggregate = (String, i64, Vec<u8>, Vec<u8>, i64, Option<Vec<u8>>);
    let aggregates: Vec<Aggregate> = client
        .query(
            "SELECT product, day_us, group_key, sealed, n, install_key FROM candor_aggregates",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
        .collect();
    // Emptied (the month partitions stay, as they stay for the ingest), and the ingest's dirty
    // pages written out first, so the load pays for its own work only.
    client
        .batch_execute("TRUNCATE candor_events, candor_event_ids, candor_aggregates; CHECKPOINT")
        .unwrap();
    let started = Instant::now();
    let mut tx = client.transaction().unwrap();
    let copy = tx
        .copy_in("COPY candor_event_ids (event_id, product, time_us) FROM STDIN (FORMAT binary)")
        .unwrap();
    let mut writer = BinaryCopyInWriter::new(copy, &[Type::BYTEA, Type::TEXT, Type::INT8]);
    for (id, product, time) in &claims {
        writer.write(&[id, product, time]).unwrap();
    }
    writer.finish().unwrap();
    let copy = tx
        .copy_in(
            "COPY candor_events (event_id, time_us, product, install_key, sealed) \
             FROM STDIN (FORMAT binary)",
        )
        .unwrap();
    let mut writer = BinaryCopyInWriter::new(
        copy,
        &[
            Type::BYTEA,
            Type::INT8,
            Type::TEXT,
            Type::BYTEA,
            Type::BYTEA,
        ],
    );
    for (id, time, product, install, sealed) in &events {
        writer.write(&[id, time, product, install, sealed]).unwrap();
    }
    writer.finish().unwrap();
    let copy = tx
        .copy_in(
            "COPY candor_aggregates (product, day_us, group_key, sealed, n, install_key) \
             FROM STDIN (FORMAT binary)",
        )
        .unwrap();
    let mut writer = BinaryCopyInWriter::new(
        copy,
        &[
            Type::TEXT,
            Type::INT8,
            Type::BYTEA,
            Type::BYTEA,
            Type::INT8,
            Type::BYTEA,
        ],
    );
    for (product, day, key, sealed, n, install) in &aggregates {
        writer
            .write(&[product, day, key, sealed, n, install])
            .unwrap();
    }
    writer.finish().unwrap();
    tx.commit().unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    let held = events.len() as u64 + aggregates.iter().map(|a| a.4 as u64).sum::<u64>();
    assert!(held >= (2 * 160 + 4) as u64 * BATCH as u64, "{held} events");
    (
        held,
        claims.len() + events.len() + aggregates.len(),
        elapsed,
        "binary COPY of the stored rows, sealed, into the same tables, one transaction",
    )
}

/// SQLite's counterpart of [`bulk_load_postgres`]: the stored rows, read back, inserted by
/// prepared statements in one transaction into a new file of the same schema, key and settings.
fn bulk_load_sqlite(db: &Db) -> (u64, usize, f64, &'static str) {
    use rusqlite::types::Value;
    let Db::Sqlite(dir) = db else { unreachable!() };
    let open = |path: &std::path::Path| {
        let connection = rusqlite::Connection::open(path).unwrap();
        connection
            .execute_batch(&format!(
                "PRAGMA key = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;",
                test_key().sqlcipher_pragma()
            ))
            .unwrap();
        connection
    };
    const TABLES: [&str; 3] = ["candor_event_ids", "candor_events", "candor_aggregates"];
    let stored = open(&dir.path().join("ingest.db"));
    let tables: Vec<(&str, Vec<Vec<Value>>)> = TABLES
        .iter()
        .map(|table| {
            let mut statement = stored.prepare(&format!("SELECT * FROM {table}")).unwrap();
            let columns = statement.column_count();
            let rows = statement
                .query_map([], |r| (0..columns).map(|i| r.get::<_, Value>(i)).collect())
                .unwrap()
                .collect::<Result<Vec<Vec<Value>>, _>>()
                .unwrap();
            (*table, rows)
        })
        .collect();
    drop(stored);
    let bulk = dir.path().join("bulk.db");
    // The same schema, created as the store creates it.
    drop(
        candor_ingest::DatabaseUrl::Sqlite(bulk.clone())
            .open(&db.sealing())
            .unwrap(),
    );
    let mut connection = open(&bulk);
    let started = Instant::now();
    let tx = connection.transaction().unwrap();
    for (table, rows) in &tables {
        let Some(first) = rows.first() else { continue };
        let holes = vec!["?"; first.len()].join(", ");
        let mut insert = tx
            .prepare(&format!("INSERT INTO {table} VALUES ({holes})"))
            .unwrap();
        for row in rows {
            insert.execute(rusqlite::params_from_iter(row)).unwrap();
        }
    }
    tx.commit().unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    let count = |table: &str| tables.iter().find(|(t, _)| *t == table).unwrap().1.len();
    let n_at = |table: &str| {
        tables
            .iter()
            .find(|(t, _)| *t == table)
            .unwrap()
            .1
            .iter()
            .map(|row| match row.last() {
                Some(Value::Integer(n)) => *n as u64,
                _ => 0,
            })
            .sum::<u64>()
    };
    let held = count("candor_events") as u64 + n_at("candor_aggregates");
    assert!(held >= (2 * 160 + 4) as u64 * BATCH as u64, "{held} events");
    (
        held,
        tables.iter().map(|(_, rows)| rows.len()).sum(),
        elapsed,
        "prepared inserts of the stored rows into the same schema, SQLCipher, one transaction",
    )
}

/// Memory with the queue full: the database's write lock is held by another connection, and
/// clients (plain sockets on small threads, so the figure is the server's) send gzip batches
/// until the server answers 429.
fn full_queue_memory() {
    use std::io::{Read, Write};
    let db = Db::sqlite();
    let capacity = 100_000;
    let config = IngestConfig {
        queue_capacity: capacity,
        ..IngestConfig::default()
    };
    let running = serve(&db, config);
    let Db::Sqlite(dir) = &db else { unreachable!() };
    let blocker = rusqlite::Connection::open(dir.path().join("ingest.db")).unwrap();
    blocker
        .execute_batch(&format!(
            "PRAGMA key = {}; BEGIN EXCLUSIVE",
            test_key().sqlcipher_pragma()
        ))
        .unwrap();
    let bodies: Vec<Vec<u8>> = batches(capacity / BATCH + 2)
        .iter()
        .map(|batch| {
            let json = serde_json::to_vec(batch).unwrap();
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&json).unwrap();
            gz.finish().unwrap()
        })
        .collect();
    let address = running.address();
    let before = rss_kib();
    let post = move |body: &[u8]| -> String {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let head = format!(
            "POST /v1/events HTTP/1.1\r\nhost: x\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.lines().next().unwrap_or_default().to_owned()
    };
    // Every request at once: the queue fills well within the database's 5 s busy deadline.
    let statuses: Vec<String> = std::thread::scope(|s| {
        let waiting: Vec<_> = bodies
            .iter()
            .map(|body| {
                let post = &post;
                std::thread::Builder::new()
                    .stack_size(64 * 1024)
                    .spawn_scoped(s, move || post(body))
                    .unwrap()
            })
            .collect();
        let started = Instant::now();
        let mut last = 0;
        // Until the queue stops growing (or 3 s).
        while started.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(200));
            let now = running.ingest().queued();
            if now == last && now > 0 {
                break;
            }
            last = now;
        }
        let queued = running.ingest().queued();
        let full = rss_kib();
        println!(
            "ingest/full-queue: {queued} events queued (capacity {capacity}), RSS {} MiB before, {} MiB full: +{} MiB, about {} bytes per queued event",
            before / 1024,
            full / 1024,
            full.saturating_sub(before) / 1024,
            (full.saturating_sub(before) * 1024) / queued.max(1)
        );
        blocker.execute_batch("COMMIT").unwrap();
        waiting.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut by_status = std::collections::BTreeMap::<String, usize>::new();
    for status in &statuses {
        *by_status.entry(status.clone()).or_default() += 1;
    }
    println!(
        "ingest/full-queue: {} batches sent, answered after the lock was released: {by_status:?}",
        statuses.len()
    );
}

/// Small requests while heavy bodies are decoded and checked: two clients post gzip bodies of
/// about 60 MB decoded (900 exceptions of 64 frames, every text scanned, each refused for the
/// e-mail address in its last frame, so the database does no work for them) back to back, and
/// a third sends one-event requests one after another. Prints the small requests' latency and
/// the heavy bodies' rate.
fn small_while_heavy() {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let db = Db::sqlite();
    let running = serve(&db, IngestConfig::default());
    let line = |n: usize| {
        format!(
            "at Contrast.Agent.Sensors.Http.RequestSensor.OnBeginRequest{n}(System.Web.HttpContext context) in the pipeline of the web application hosting the agent for this test {}",
            "z".repeat(850)
        )
    };
    let exception = |_| {
        let mut frames: Vec<String> = (0..64).map(line).collect();
        frames[63] = format!("{} owner jane.doe@example.com", &frames[63][..900]);
        agent_point(
            "sensor_exceptions",
            serde_json::json!({"kind": "exception", "data": {
                "type_name": "System.InvalidOperationException",
                "message": line(1000),
                "frames": frames,
                "frames_dropped": 0,
                "log_message": line(2000),
            }}),
        )
    };
    let events: Vec<serde_json::Value> = (0..900).map(exception).collect();
    let json = serde_json::to_vec(&events).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&json).unwrap();
    let heavy = gz.finish().unwrap();
    let stop = AtomicBool::new(false);
    let heavy_done = AtomicUsize::new(0);
    let endpoint = url(&running, "/v1/events");
    let mut latencies = Vec::new();
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let client = client();
                while !stop.load(Ordering::Relaxed) {
                    let status = client
                        .post(&endpoint)
                        .header("content-type", "application/json")
                        .header("content-encoding", "gzip")
                        .body(heavy.clone())
                        .send()
                        .map(|r| r.status().as_u16());
                    assert!(matches!(status, Ok(422)), "{status:?}");
                    heavy_done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        std::thread::sleep(Duration::from_millis(1500));
        let client = client();
        for n in 0..40 {
            let t = Instant::now();
            let status = client
                .post(&endpoint)
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&[agent_event(n)]).unwrap())
                .send()
                .unwrap()
                .status();
            assert_eq!(status.as_u16(), 200);
            latencies.push(t.elapsed());
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, Ordering::Relaxed);
    });
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "ingest/small-while-heavy: one-event request latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, while {:.2} heavy bodies of {} MB were checked per second",
        percentile(&mut latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&mut latencies, 0.99).as_secs_f64() * 1e3,
        latencies.iter().max().unwrap().as_secs_f64() * 1e3,
        heavy_done.load(Ordering::Relaxed) as f64 / elapsed,
        json.len() >> 20,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and gets a smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    if !full {
        let db = Db::sqlite();
        let running = serve(&db, IngestConfig::default());
        let (rate, _) = drive(&running, 1, 1);
        assert!(rate > 0.0);
        return;
    }
    // `cargo bench --bench ingest -- <words>` runs the scenarios whose names hold a word.
    let words: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let chosen = |name: &str| words.is_empty() || words.iter().any(|w| name.contains(w.as_str()));
    // Each store in both storage modes (events, then per-day aggregates), on a fresh database.
    use candor_schema::Storage;
    for (suffix, storage) in [("", Storage::Events), ("-aggregates", Storage::Aggregates)] {
        let name = format!("sqlite{suffix}");
        if chosen(&name) {
            throughput(&name, &Db::sqlite(), storage);
        }
    }
    for (suffix, storage) in [("", Storage::Events), ("-aggregates", Storage::Aggregates)] {
        let name = format!("postgres{suffix}");
        if chosen(&name) {
            match Db::postgres_durable() {
                Some(pg) => throughput(&name, &pg, storage),
                None => println!("ingest/{name}: skipped (no PostgreSQL binaries)"),
            }
        }
    }
    if chosen("full-queue") {
        full_queue_memory();
    }
    if chosen("small-while-heavy") {
        small_while_heavy();
    }
}
