//! Deletion requests arriving over OTLP, as a product's OTLP sink or a collector forwards
//! them: a body holding an installation's events from before the opt-out and the request
//! erases those events too, and the answer confirms the request by its id; a request dated
//! ahead of the server's clock erases nothing and is rejected with its reason.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::SystemTime;

use candor_ingest::{IngestConfig, ServerConfig};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use prost::Message;
use support::*;

const LEAVING: &str = "5eaf00d5eaf00d5eaf00d5eaf00d5eaf";

fn visit(install: &str, page: &str) -> candor_schema::Event {
    serde_json::from_value(page_visit(install, page)).unwrap()
}

fn post(running: &candor_ingest::Running, body: Vec<u8>) -> (u16, ExportLogsServiceResponse) {
    let response = client()
        .post(url(running, "/v1/logs"))
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    let answer = ExportLogsServiceResponse::decode(response.bytes().unwrap()).unwrap();
    (status, answer)
}

fn stored_visits(running: &candor_ingest::Running) -> u64 {
    point_count(&report(running, "aspire-dashboard"), "page_navigation")
}

#[test]
fn events_in_the_same_body_as_the_request_are_erased_and_the_request_confirmed() {
    let db = Db::sqlite();
    let running = serve_with(
        &db,
        with_dashboard_installs(),
        IngestConfig::default(),
        ServerConfig::default(),
    );
    let events: Vec<_> = ["overview", "traces", "logs"]
        .iter()
        .map(|page| visit(LEAVING, page))
        .collect();
    let request_id = event_id();
    let deletion = candor_schema::DeletionRequest::new(
        "aspire-dashboard",
        LEAVING,
        &request_id,
        &now_rfc3339(),
    );
    let mut body = candor_otlp::encode_request(
        &events,
        &candor_otlp::SemanticNames::default(),
        SystemTime::now(),
    );
    body.resource_logs
        .extend(candor_otlp::encode_deletion(&deletion, SystemTime::now()).resource_logs);
    let (status, answer) = post(&running, body.encode_to_vec());
    assert_eq!(status, 200, "{answer:?}");
    let partial = answer.partial_success.unwrap();
    assert_eq!(partial.rejected_log_records, 0, "{partial:?}");
    assert!(
        candor_otlp::confirms(&partial.error_message, &request_id),
        "{partial:?}"
    );
    assert_eq!(stored_visits(&running), 0);
}

#[test]
fn a_request_dated_ahead_of_the_server_is_rejected_and_erases_nothing() {
    let db = Db::sqlite();
    let running = serve_with(
        &db,
        with_dashboard_installs(),
        IngestConfig::default(),
        ServerConfig::default(),
    );
    let body = candor_otlp::encode_request(
        &[visit(LEAVING, "overview")],
        &candor_otlp::SemanticNames::default(),
        SystemTime::now(),
    );
    assert_eq!(post(&running, body.encode_to_vec()).0, 200);
    let request_id = event_id();
    let deletion = candor_schema::DeletionRequest::new(
        "aspire-dashboard",
        LEAVING,
        &request_id,
        "2999-01-01T00:00:00Z",
    );
    let (status, answer) = post(
        &running,
        candor_otlp::encode_deletion(&deletion, SystemTime::now()).encode_to_vec(),
    );
    let partial = answer.partial_success.unwrap();
    assert_eq!(
        (status, partial.rejected_log_records),
        (400, 1),
        "{partial:?}"
    );
    assert!(
        partial.error_message.contains("in the future"),
        "{partial:?}"
    );
    assert!(!candor_otlp::confirms(&partial.error_message, &request_id));
    // Behind an event, the refused record is named by its place and its reason.
    let mut body = candor_otlp::encode_request(
        &[visit("0123456789abcdef0123456789abcdef", "metrics")],
        &candor_otlp::SemanticNames::default(),
        SystemTime::now(),
    );
    body.resource_logs
        .extend(candor_otlp::encode_deletion(&deletion, SystemTime::now()).resource_logs);
    let (status, answer) = post(&running, body.encode_to_vec());
    let partial = answer.partial_success.unwrap();
    assert_eq!(
        (status, partial.rejected_log_records),
        (200, 1),
        "{partial:?}"
    );
    assert!(
        partial.error_message.contains("#1 in_future"),
        "{partial:?}"
    );
    assert_eq!(stored_visits(&running), 2);
}
