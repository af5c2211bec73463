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
