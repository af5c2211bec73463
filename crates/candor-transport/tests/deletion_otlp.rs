//! A deletion request sent through an OTLP sink counts as confirmed only when the receiver
//! says it erased (Candor's confirmation in the partial-success message): a plain success, as
//! a collector or any other OTLP receiver gives, is kept as "not confirmed" and not retried in
//! that run.

use candor_schema::DeletionRequest;
use candor_transport::deletion::{DeletionOutcome, send_deletion};
use candor_transport::{SinkSpec, Timeouts};

#[test]
fn a_plain_otlp_success_confirms_no_erasure() {
    let receiver = candor_testkit::HttpReceiver::start();
    let request = DeletionRequest::new(
        "contrast-dotnet-agent",
        &"e4".repeat(32),
        &"0f".repeat(16),
        "2026-12-05T15:00:00Z",
    );
    let sink = SinkSpec::OtlpHttp {
        endpoint: receiver.url("/v1/logs"),
    };
    let outcome = send_deletion(&sink, &Timeouts::default().into(), &request, None);
    let DeletionOutcome::Unconfirmed(why) = outcome else {
        panic!("{outcome:?}");
    };
    assert!(why.contains("without confirming"), "{why}");
    assert_eq!(receiver.log().requests, 1, "sent once");
}

/// A run that ends while an attempt is on the wire (review L6): the record saved before the
/// attempt already says it was sent and has no answer yet, never "not sent yet"; after the
/// deadline it says the attempt got no answer in time.
#[test]
fn a_record_saved_while_the_attempt_is_on_the_wire_says_it_was_sent() {
    use candor_transport::DeletionRecord;
    use std::time::Duration;
    let receiver = candor_testkit::HttpReceiver::start();
    receiver.script([candor_testkit::Fault::Slow(Duration::from_secs(20))]);
    let sink = SinkSpec::OtlpHttp {
        endpoint: receiver.url("/v1/logs"),
    };
    let mut record =
        DeletionRecord::new("contrast-dotnet-agent", &"e4".repeat(32), &"0f".repeat(16));
    assert!(record.describe().contains("not sent yet"));
    let mut saved = Vec::new();
    candor_transport::deletion::deliver(
        &sink,
        &Timeouts::default().into(),
        &mut record,
        Duration::from_millis(600),
        &|| false,
        |r| saved.push(r.describe()),
    );
    let first = saved.first().expect("saved before the attempt");
    assert!(
        first.contains("1 attempts") && first.contains("no answer yet"),
        "{first}"
    );
    assert!(
        saved.iter().all(|s| !s.contains("not sent yet")),
        "{saved:?}"
    );
    assert!(!record.is_confirmed());
    assert_eq!(receiver.log().requests, 1, "{saved:?}");
}
