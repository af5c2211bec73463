//! A deletion request (`POST /v1/deletion-requests`): every event of the product stored with
//! the key is erased, on both stores (PostgreSQL holds only the key's keyed hash, so the request
//! is hashed alike), and the answer is the same whether the key held anything. It is an ingest
//! endpoint: no read token.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::SystemTime;

use candor_ingest::IngestConfig;
use serde_json::{Value, json};
use support::*;

fn request(product: &str, key: &str) -> Value {
    deletion_request(product, key, SystemTime::now())
}

const LEAVING: &str = "0000000000000000000000000000000a";
const STAYING: &str = "0000000000000000000000000000000b";

#[test]
fn a_deletion_request_erases_every_event_of_its_key_on_both_stores() {
    both(|db| {
        let running = serve_with(
            db,
            with_dashboard_installs(),
            IngestConfig::default(),
            candor_ingest::ServerConfig::default(),
        );
        let mut events = Vec::new();
        for n in 0..4 {
            events.push(page_visit(LEAVING, &format!("gone{n}")));
        }
        events.push(page_visit(STAYING, "kept"));
        let (status, reply) = post_events(&running, &events);
        assert_eq!(status, 200, "{reply}");
        assert_eq!(
            point_count(&report(&running, "aspire-dashboard"), "page_navigation"),
            5
        );

        // Events recorded after the person opted out are not the request's: a request made
        // an hour ago erases none of these.
        let mut early = request("aspire-dashboard", LEAVING);
        early["before"] = json!(
            humantime::format_rfc3339_seconds(
                std::time::SystemTime::now() - std::time::Duration::from_secs(3600),
            )
            .to_string()
        );
        let (status, text) = post_deletion(&running, &early);
        assert_eq!(status, 200, "{text}");
        assert_eq!(
            point_count(&report(&running, "aspire-dashboard"), "page_navigation"),
            5
        );

        // No read token: a deletion request is sent as events are.
        let asked = request("aspire-dashboard", LEAVING);
        let (status, answer) = post_deletion(&running, &asked);
        assert_eq!(status, 200, "{answer}");
        let confirmation: candor_schema::DeletionConfirmation =
            serde_json::from_str(&answer).unwrap();
        assert_eq!(confirmation.request_id, asked["request_id"]);
        assert!(humantime::parse_rfc3339(&confirmation.confirmed_at).is_ok());
        assert_eq!(
            point_count(&report(&running, "aspire-dashboard"), "page_navigation"),
            1
        );

        // What was erased is not stored again when an old payload is retried.
        let (status, reply) = post_events(&running, &events[..4]);
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["duplicates"], 4, "{reply}");
        assert_eq!(
            point_count(&report(&running, "aspire-dashboard"), "page_navigation"),
            1
        );

        // A key that holds nothing (now, or ever) gets the same answer.
        let (status, again) = post_deletion(&running, &request("aspire-dashboard", LEAVING));
        assert_eq!(status, 200, "{again}");
        let (status, never) =
            post_deletion(&running, &request("aspire-dashboard", &"c".repeat(64)));
        assert_eq!(status, 200, "{never}");
        let shape = |text: &str| {
            let v: Value = serde_json::from_str(text).unwrap();
            v.as_object().unwrap().keys().cloned().collect::<Vec<_>>()
        };
        assert_eq!(shape(&again), shape(&answer));
        assert_eq!(shape(&never), shape(&answer));
        assert_eq!(
            point_count(&report(&running, "aspire-dashboard"), "page_navigation"),
            1
        );
        running.stop();
    });
}

#[test]
fn malformed_and_unknown_requests_are_refused_and_erase_nothing() {
    let db = Db::sqlite();
    let running = serve_with(
        &db,
        with_dashboard_installs(),
        IngestConfig::default(),
        candor_ingest::ServerConfig::default(),
    );
    let (status, _) = post_events(&running, &[page_visit(LEAVING, "kept")]);
    assert_eq!(status, 200);
    // A field name with a newline in it is quoted on one line.
    let (status, text) = post_deletion(
        &running,
        &json!({"kind": "deletion-request", "product\nX-Injected: 1": "aspire-dashboard"}),
    );
    assert_eq!(status, 400, "{text}");
    assert_eq!(text.trim_end().lines().count(), 1, "{text:?}");
    for (body, expected) in [
        (request("aspire-dashboard", "not-hex"), 400),
        (request("no-such-product", LEAVING), 422),
        (json!({"kind": "deletion-request"}), 400),
        (
            json!({"product": "aspire-dashboard", "key": LEAVING, "request_id": event_id(), "kind": "events"}),
            400,
        ),
    ] {
        let (status, text) = post_deletion(&running, &body);
        assert_eq!(status, expected, "{body}: {text}");
        assert!(text.lines().count() <= 1, "{text}");
    }
    let oversized = client()
        .post(url(&running, candor_schema::DELETION_PATH))
        .body(vec![b' '; candor_schema::MAX_DELETION_REQUEST_BYTES + 1])
        .send()
        .unwrap();
    assert_eq!(oversized.status().as_u16(), 413);
    let get = client()
        .get(url(&running, candor_schema::DELETION_PATH))
        .send()
        .unwrap();
    assert_eq!(get.status().as_u16(), 405);
    assert_eq!(
        point_count(&report(&running, "aspire-dashboard"), "page_navigation"),
        1
    );
    running.stop();
}

/// Kept as aggregates, an installation's days still go: the groups carry its key (a keyed hash
/// on PostgreSQL), so a request erases every day of that installation up to the day it opted
/// out, and the other installation's counts stay.
#[test]
fn a_deletion_request_erases_an_installations_aggregated_days_on_both_stores() {
    both(|db| {
        let running = serve_with(
            db,
            with_dashboard_installs(),
            IngestConfig {
                storage: candor_schema::Storage::Aggregates,
                ..IngestConfig::default()
            },
            candor_ingest::ServerConfig::default(),
        );
        let mut events = Vec::new();
        for n in 0..4 {
            events.push(page_visit(LEAVING, &format!("gone{n}")));
        }
        events.push(page_visit(STAYING, "kept"));
        let (status, reply) = post_events(&running, &events);
        assert_eq!(status, 200, "{reply}");
        assert_eq!(
            point_count(&report(&running, "aspire-dashboard"), "page_navigation"),
            5
        );
        let (status, answer) = post_deletion(&running, &request("aspire-dashboard", LEAVING));
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            point_count(&report(&running, "aspire-dashboard"), "page_navigation"),
            1
        );
        // What was erased is not stored again when an old payload is retried.
        let (status, reply) = post_events(&running, &events[..4]);
        assert_eq!(status, 200, "{reply}");
        assert_eq!(
            point_count(&report(&running, "aspire-dashboard"), "page_navigation"),
            1
        );
        running.stop();
    });
}

/// Sends `head` and `body` on a new connection and keeps it open without sending more;
/// returns the status line and how long it took to come.
fn status_while_the_rest_never_comes(
    running: &candor_ingest::Running,
    head: &str,
    body: &[u8],
) -> (String, std::time::Duration) {
    use std::io::{BufRead, Write};
    let mut stream = std::net::TcpStream::connect(running.address()).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let started = std::time::Instant::now();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut line = String::new();
    let _ = std::io::BufReader::new(&stream).read_line(&mut line);
    (line, started.elapsed())
}

/// A deletion request is at most 4 KiB: a larger body is refused (413) by its declared
/// length before any of it is read, and without one once just past 4 KiB has arrived, rather
/// than after the 8 MiB any body may have.
#[test]
fn a_deletion_body_past_its_cap_is_refused_before_it_arrives_whole() {
    let db = Db::sqlite();
    let running = serve(&db, IngestConfig::default());
    let path = candor_schema::DELETION_PATH;
    let (line, took) = status_while_the_rest_never_comes(
        &running,
        &format!("POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000\r\n\r\n"),
        b"{",
    );
    assert!(line.starts_with("HTTP/1.1 413"), "{line}");
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    // Chunked: 8 KiB sent, the rest (and the end) never; the server does not wait for it.
    let chunk = format!("2000\r\n{}\r\n", "a".repeat(0x2000));
    let (line, took) = status_while_the_rest_never_comes(
        &running,
        &format!("POST {path} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"),
        chunk.as_bytes(),
    );
    assert!(line.starts_with("HTTP/1.1 413"), "{line}");
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    // Events keep the server's cap.
    let events: Vec<_> = (0..40).map(agent_event).collect();
    assert!(serde_json::to_vec(&events).unwrap().len() > 8192);
    assert_eq!(post_events(&running, &events).0, 200);
}

/// Erasures wait for the writer within the queue's bound: each takes one event of its room
/// (a queue full of them refuses events, and one full of events refuses them), and at most
/// 64 wait at once; past that a deletion request is answered 429, promptly, while the
/// database is held by another connection.
#[test]
fn erasures_wait_within_the_queue_bound() {
    use std::time::{Duration, Instant};
    let db = Db::sqlite();
    let Db::Sqlite(dir) = &db else { unreachable!() };
    let hold = || {
        let blocker = rusqlite::Connection::open(dir.path().join("ingest.db")).unwrap();
        blocker
            .execute_batch(&format!(
                "PRAGMA key = {}; BEGIN EXCLUSIVE",
                test_key().sqlcipher_pragma()
            ))
            .unwrap();
        blocker
    };
    let wait_for = |running: &candor_ingest::Running, queued: u64| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while running.ingest().queued() < queued {
            assert!(
                Instant::now() < deadline,
                "{} queued",
                running.ingest().queued()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    // A queue of one event: the erasure waiting takes it.
    let running = serve(
        &db,
        IngestConfig {
            queue_capacity: 1,
            ..IngestConfig::default()
        },
    );
    let blocker = hold();
    std::thread::scope(|s| {
        let first = s.spawn(|| post_deletion(&running, &request("aspire-dashboard", LEAVING)).0);
        wait_for(&running, 1);
        let started = Instant::now();
        let (status, text) = post_deletion(&running, &request("aspire-dashboard", STAYING));
        assert_eq!(status, 429, "{text}");
        assert_eq!(post_events(&running, &[agent_event(1)]).0, 429);
        assert!(started.elapsed() < Duration::from_secs(3));
        blocker.execute_batch("COMMIT").unwrap();
        assert!(matches!(first.join().unwrap(), 200 | 503));
    });
    assert_eq!(
        post_deletion(&running, &request("aspire-dashboard", LEAVING)).0,
        200
    );
    running.stop();
    // A roomy queue: at most 64 erasures wait.
    let running = serve(&db, IngestConfig::default());
    let blocker = hold();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let waiting: Vec<_> = (0..70)
            .map(|_| {
                let running = &running;
                s.spawn(move || post_deletion(running, &request("aspire-dashboard", LEAVING)).0)
            })
            .collect();
        // The refused answer at once; the rest wait for the database until it is let go.
        wait_for(&running, 64);
        let deadline = Instant::now() + Duration::from_secs(10);
        while waiting.iter().filter(|w| w.is_finished()).count() < 6 {
            assert!(Instant::now() < deadline, "fewer than 6 answered");
            std::thread::sleep(Duration::from_millis(10));
        }
        blocker.execute_batch("COMMIT").unwrap();
        waiting.into_iter().map(|w| w.join().unwrap()).collect()
    });
    // Six past the 64 (fewer if the first gave up on the held database meanwhile and made
    // room).
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!((1..=6).contains(&refused), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 429 | 503)),
        "{statuses:?}"
    );
}
