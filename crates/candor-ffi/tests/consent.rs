//! The consent switch a host IDE passes on, through the C ABI: the dashboard sends while its
//! host allows it, stops the moment the host opts out (what was pending is discarded), and
//! says so in its status.

#![allow(unsafe_code)]

use std::ptr;
use std::time::Duration;

use candor_ffi::*;
use candor_testkit::HttpReceiver;

fn s(text: &str) -> (*const std::ffi::c_char, usize) {
    (text.as_ptr().cast(), text.len())
}

fn ok(code: CandorCode) {
    assert_eq!(code, CandorCode::Ok);
}

#[test]
fn a_host_opting_out_stops_the_dashboard_at_once() {
    let receiver = HttpReceiver::start();
    let state = tempfile::tempdir().expect("tmp");
    let endpoint = receiver.url("/ingest");
    let dir = state.path().to_str().expect("UTF-8");
    let mut builder = 0;
    let mut handle = 0;
    // SAFETY: every pointer below comes from a live `&str` or a local, with its exact length.
    unsafe {
        let (p, n) = s("aspire-dashboard");
        ok(candor_builder_new(p, n, &mut builder));
        let (p, n) = s("9.3");
        ok(candor_builder_version(builder, p, n));
        let (p, n) = s(dir);
        ok(candor_builder_state_dir(builder, p, n));
        let (p, n) = s(&endpoint);
        ok(candor_builder_sink(builder, CANDOR_SINK_JSON, p, n));
        let ((i, il), (v, vl)) = (s("visual-studio"), s("17.14"));
        ok(candor_builder_host(builder, i, il, v, vl));
        let (p, n) = s("browser-open");
        ok(candor_builder_condition(builder, p, n));
        ok(candor_build(builder, &mut handle));

        let (point, point_len) = s("request_language");
        let (value, value_len) = s("en-US");
        ok(candor_record_word(
            handle, point, point_len, value, value_len,
        ));
        ok(candor_flush(handle, 5000));
        assert_eq!(receiver.wait_for(1, Duration::from_secs(5)).len(), 1);

        let mut changed = 0;
        ok(candor_set_host_opted_out(handle, 1, &mut changed));
        assert_eq!(changed, 1);
        let mut status = CandorStatus::default();
        ok(candor_status(handle, &mut status));
        assert_eq!((status.mode, status.may_send), (CANDOR_MODE_OFF, 0));
        for _ in 0..100 {
            ok(candor_record_word(
                handle, point, point_len, value, value_len,
            ));
        }
        // Saying it again changes nothing.
        ok(candor_set_host_opted_out(handle, 1, ptr::null_mut()));
        let mut json = vec![0u8; 1 << 16];
        let mut len = 0;
        ok(candor_status_json(
            handle,
            json.as_mut_ptr().cast(),
            json.len(),
            &mut len,
        ));
        let json: serde_json::Value = serde_json::from_slice(&json[..len]).expect("JSON");
        assert_eq!(
            json["decision"]["decided_by"]["source"], "host-opt-out",
            "{json}"
        );
        assert!(
            json["decision"]["reason"]
                .as_str()
                .is_some_and(|r| !r.is_empty()),
            "{json}"
        );
        ok(candor_shutdown(handle, 5000, &mut status));
        assert_eq!(status.recorded, 1);
    }
    assert_eq!(receiver.events().len(), 1, "nothing after the opt-out");
}
