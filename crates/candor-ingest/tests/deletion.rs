//! A deletion request (`POST /v1/deletion-requests`): every event of the product stored with
//! the key is erased, on both stores (PostgreSQL holds only the key's keyed hash, so the request
//! is hashed alike), and the answer is the same whether the key held anything. It is an ingest
//! endpoint: no read token.

#![allow(clippy::unwrap_used)]

mod support;

use candor_ingest::IngestConfig;
use serde_json::{Value, json};
use support::*;

fn navigation(install: &str, page: &str) -> Value {
    json!({
        "event_id": event_id(),
        "time": now_rfc3339(),
        "product": "aspire-dashboard",
        "product_version": "9.3.0",
        "runtime_line": "dashboard",
        "catalogue_revision": revision("aspire-dashboard"),
        "install_id": install,
        "point": "page_navigation",
        "value": {"kind": "properties", "data": {"page": page}},
    })
}

fn delete(running: &candor_ingest::Running, body: &Value) -> (u16, String) {
    let response = client()
        .post(url(running, candor_schema::DELETION_PATH))
        .json(body)
        .send()
        .unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

fn request(product: &str, key: &str) -> Value {
    json!({
        "kind": "deletion-request",
        "product": product,
        "key": key,
        "request_id": event_id(),
        "before": now_rfc3339(),
    })
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
            events.push(navigation(LEAVING, &format!("gone{n}")));
        }
        events.push(navigation(STAYING, "kept"));
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
        let (status, text) = delete(&running, &early);
        assert_eq!(status, 200, "{text}");
        assert_eq!(
            point_count(&report(&running, "aspire-dashboard"), "page_navigation"),
            5
        );

        // No read token: a deletion request is sent as events are.
        let asked = request("aspire-dashboard", LEAVING);
        let (status, answer) = delete(&running, &asked);
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
        let (status, again) = delete(&running, &request("aspire-dashboard", LEAVING));
        assert_eq!(status, 200, "{again}");
        let (status, never) = delete(&running, &request("aspire-dashboard", &"c".repeat(64)));
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
    let (status, _) = post_events(&running, &[navigation(LEAVING, "kept")]);
    assert_eq!(status, 200);
    // A field name with a newline in it is quoted on one line.
    let (status, text) = delete(
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
        let (status, text) = delete(&running, &body);
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
            events.push(navigation(LEAVING, &format!("gone{n}")));
        }
        events.push(navigation(STAYING, "kept"));
        let (status, reply) = post_events(&running, &events);
        assert_eq!(status, 200, "{reply}");
        assert_eq!(
            point_count(&report(&running, "aspire-dashboard"), "page_navigation"),
            5
        );
        let (status, answer) = delete(&running, &request("aspire-dashboard", LEAVING));
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
