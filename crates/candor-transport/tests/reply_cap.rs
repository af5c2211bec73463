//! A receiver that answers with 512 MiB must not grow the sender's memory: every HTTP sink
//! reads at most a few KiB of a reply. Its own test binary, so the peak RSS it reads is its own.

use std::time::Duration;

use candor_testkit::{Fault, HttpReceiver};
use candor_transport::{Outcome, SinkSpec, Timeouts};

const HUGE: u64 = 512 * 1024 * 1024;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status")
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[cfg(target_os = "linux")]
#[test]
fn a_512_mib_reply_is_not_read() {
    let receiver = HttpReceiver::start();
    let event = candor_testkit::agent_event(1);
    let timeouts = Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(20),
    };
    let before = peak_rss_kib();
    for spec in [
        SinkSpec::Json {
            endpoint: receiver.url("/ingest"),
        },
        SinkSpec::Relay {
            endpoint: receiver.url("/telemetry"),
            token: "t".into(),
        },
        SinkSpec::OtlpHttp {
            endpoint: receiver.url(""),
        },
    ] {
        let kind = spec.kind();
        let mut sink = spec.build(timeouts).expect("sink");
        receiver.script([Fault::Huge(200, HUGE)]);
        let outcome = sink.deliver(std::slice::from_ref(&event));
        assert!(
            matches!(outcome, Outcome::Delivered { .. }),
            "{kind}: {outcome:?}"
        );
        receiver.script([Fault::Huge(503, HUGE)]);
        let outcome = sink.deliver(std::slice::from_ref(&event));
        assert!(
            matches!(outcome, Outcome::Retry { .. }),
            "{kind}: {outcome:?}"
        );
    }
    let grown = peak_rss_kib().saturating_sub(before);
    assert!(grown < 32 * 1024, "peak RSS grew by {grown} KiB");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        receiver.log().huge_cut_short,
        "the sender closed the connection instead of reading on"
    );
}
