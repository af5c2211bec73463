//! Backpressure and faults: a full queue, a database that goes away, and Candor's own transport
//! pointed at `candor serve` across a database restart.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod support;

use std::time::Duration;

use candor_ingest::{IngestConfig, ServerConfig};
use candor_transport::{Pipeline, PipelineConfig, SinkSpec, Timeouts};
use serde_json::Value;
use support::*;

fn pipeline_to(endpoint: String, otlp: bool) -> Pipeline {
    let config = PipelineConfig {
        batch_max_events: 100,
        batch_max_wait: Duration::from_millis(20),
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_millis(500),
        ..PipelineConfig::default()
    };
    Pipeline::start(config, move || {
        let spec = if otlp {
            SinkSpec::OtlpHttp { endpoint }
        } else {
            SinkSpec::Json { endpoint }
        };
        spec.build(Timeouts::default())
    })
    .unwrap()
}

/// Events as the sending side holds them, read from the published JSON form.
fn transport_event(json: Value) -> candor_schema::Event {
    serde_json::from_value(json).unwrap()
}

/// The queue is bounded by its events and by what they hold in memory: either full, a
/// request is answered 429.
#[test]
fn a_full_queue_answers_429_with_retry_after() {
    let by_events = IngestConfig {
        queue_capacity: 10,
        ..IngestConfig::default()
    };
    let by_bytes = IngestConfig {
        queue_bytes: 4 * 1024,
        ..IngestConfig::default()
    };
    full_queue(by_events);
    full_queue(by_bytes);
}

fn full_queue(config: IngestConfig) {
    let db = Db::sqlite();
    let running = serve(&db, config);
    // Another process holds the database's write lock: the writer waits (up to its busy
    // deadline), and the queue fills.
    let path = match &db {
        Db::Sqlite(dir) => dir.path().join("ingest.db"),
        Db::Postgres(_) => unreachable!(),
    };
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker
        .execute_batch(&format!(
            "PRAGMA key = {}; BEGIN EXCLUSIVE",
            test_key().sqlcipher_pragma()
        ))
        .unwrap();
    let first: Vec<Value> = (0..10).map(agent_event).collect();
    std::thread::scope(|s| {
        let waiting = s.spawn(|| post_events(&running, &first));
        std::thread::sleep(Duration::from_millis(500));
        let response = client()
            .post(url(&running, "/v1/events"))
            .body(serde_json::to_vec(&[agent_event(99)]).unwrap())
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 429);
        assert_eq!(response.headers()["retry-after"], "2");
        blocker.execute_batch("COMMIT").unwrap();
        let (status, reply) = waiting.join().unwrap();
        assert_eq!(
            (status, reply["accepted"].clone()),
            (200, 10.into()),
            "{reply}"
        );
    });
    // With room again, the refused request goes through on retry.
    assert_eq!(post_events(&running, &[agent_event(99)]).0, 200);
    let report = report(&running, "contrast-dotnet-agent");
    assert_eq!(point_count(&report, "working_set"), 11);
}

#[test]
fn a_database_that_goes_away_gives_503_and_loses_nothing_acknowledged() {
    let Some(db) = Db::postgres() else { return };
    let Db::Postgres(pg) = &db else {
        unreachable!()
    };
    let running = serve(&db, IngestConfig::default());
    let before: Vec<Value> = (0..20).map(agent_event).collect();
    assert_eq!(post_events(&running, &before).0, 200);
    pg.stop_server();
    let during: Vec<Value> = (0..20).map(agent_event).collect();
    let response = client()
        .post(url(&running, "/v1/events"))
        .body(serde_json::to_vec(&during).unwrap())
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"));
    pg.start_server();
    // The client's retry after the restart: all 20 are new (nothing of the 503 was stored),
    // and the 20 acknowledged before the restart are still there.
    let (status, reply) = post_events(&running, &during);
    assert_eq!(
        (status, reply["accepted"].clone()),
        (200, 20.into()),
        "{reply}"
    );
    let (_, again) = post_events(&running, &before);
    assert_eq!(again["duplicates"], 20);
    assert_eq!(
        point_count(&report(&running, "contrast-dotnet-agent"), "working_set"),
        40
    );
}

#[test]
fn candor_transport_delivers_everything_across_a_database_restart() {
    let Some(db) = Db::postgres() else { return };
    let Db::Postgres(pg) = &db else {
        unreachable!()
    };
    let running = serve(&db, IngestConfig::default());
    let pipeline = pipeline_to(url(&running, "/v1/events"), false);
    for i in 0..300 {
        assert!(pipeline.submit(transport_event(agent_event(i))));
        if i == 100 {
            assert_eq!(pipeline.flush(Duration::from_secs(30)), 0);
            pg.stop_server();
        }
        if i == 200 {
            std::thread::sleep(Duration::from_millis(300));
            pg.start_server();
        }
    }
    assert_eq!(pipeline.flush(Duration::from_secs(60)), 0);
    let stats = pipeline.shutdown(Duration::from_secs(5));
    assert_eq!(stats.delivered, 300, "{stats:?}");
    assert!(stats.retries > 0, "the restart was seen: {stats:?}");
    assert_eq!(
        point_count(&report(&running, "contrast-dotnet-agent"), "working_set"),
        300
    );
}

#[test]
fn candor_transport_otlp_logs_are_received() {
    let db = Db::sqlite();
    let running = serve(&db, IngestConfig::default());
    let pipeline = pipeline_to(url(&running, "/v1/logs"), true);
    let events = [
        agent_event(7),
        agent_point(
            "contrast_http_response_time",
            serde_json::json!({"kind": "histogram", "data": {"count": 3, "sum": 12.5, "buckets": [[4, 1], [8, 1], [25, 1]]}}),
        ),
        agent_point(
            "os_version",
            serde_json::json!({"kind": "text", "data": "Debian 12"}),
        ),
        agent_point(
            "contrast_instance",
            serde_json::json!({"kind": "enumeration", "data": "hosted"}),
        ),
    ];
    for e in &events {
        assert!(pipeline.submit(transport_event(e.clone())));
    }
    assert_eq!(pipeline.flush(Duration::from_secs(30)), 0);
    let report = report(&running, "contrast-dotnet-agent");
    assert_eq!(report["events"], 4, "{report}");
    let timing = report["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "contrast_http_response_time")
        .unwrap();
    // Keys 4, 8 and 25: [1.41, 1.54), [2, 2.18) and [8.72, 9.51) ms; OTLP carried the pairs.
    let histogram = &timing["total"]["histogram"];
    assert_eq!(histogram["measurements"], 3, "{timing}");
    let p99 = histogram["p99"].as_f64().unwrap();
    assert!((8.72..9.52).contains(&p99), "{histogram}");
}

#[test]
fn a_stalled_client_does_not_hold_the_server() {
    use std::io::{Read, Write};
    let db = Db::sqlite();
    let server = ServerConfig {
        header_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    };
    let running = serve_with(
        &db,
        candor_ingest::Accepted::builtin().unwrap(),
        IngestConfig::default(),
        server,
    );
    // Headers promise a body that never comes.
    let mut stalled = std::net::TcpStream::connect(running.address()).unwrap();
    stalled
        .write_all(b"POST /v1/events HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n[")
        .unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = String::new();
    let _ = stalled.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // Others are served meanwhile and after.
    assert_eq!(post_events(&running, &[agent_event(1)]).0, 200);
}
