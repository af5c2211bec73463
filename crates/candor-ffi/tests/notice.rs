//! The notice a C host owes the person, through the C ABI (`candor_show_notice`): a catalogue
//! that asks for a first-run notice holds what is recorded until the host has the text and
//! shows it; a buffer too small records nothing, so the notice stays owed; once shown, what it
//! held is sent and nothing is owed again.

#![allow(unsafe_code)]

use std::ptr;
use std::time::Duration;

use candor_ffi::*;
use candor_testkit::HttpReceiver;

const CATALOGUE: &str = r#"
format = 2
revision = "3"
never_collected = ["what is typed"]

[product]
id = "quill-notes"
name = "Quill notes"
vendor = "Quill"
description = "A note-taking tool that asks before it sends."

[[runtime_lines]]
id = "main"
name = "Quill"
versioning = "dotted"

[consent]
default = "on"
notice = { kind = "first-run" }

[disclosure]
statement = "Quill notes sends how many notebooks are open; set QUILL_TELEMETRY=0 to stop it."
scope = "While it runs."

[collection]
triggers = ["usage"]
schedule = "as it is used"

[delivery]
method = "https-json"
destination = "telemetry.example.com"
description = "HTTPS."

[retention]
description = "Ninety days."

[[data_points]]
id = "open_notebooks"
name = "Open notebooks"
description = "How many notebooks are open."
value = { kind = "count" }
privacy = "public"
gates.main = { since = "1.0" }
"#;

fn ok(code: CandorCode) {
    assert_eq!(code, CandorCode::Ok, "{}", last_error());
}

fn last_error() -> String {
    let mut buf = vec![0u8; 1024];
    // SAFETY: `buf` has `buf.len()` writable bytes.
    let n = unsafe { candor_last_error(buf.as_mut_ptr().cast(), buf.len()) };
    String::from_utf8_lossy(&buf[..n.min(buf.len() - 1)]).into_owned()
}

fn status(handle: CandorHandle) -> CandorStatus {
    let mut status = CandorStatus::default();
    // SAFETY: `status` is a live local.
    ok(unsafe { candor_status(handle, &mut status) });
    status
}

#[test]
fn a_c_host_shows_the_notice_it_owes_and_then_its_events_are_sent() {
    let receiver = HttpReceiver::start();
    let state = tempfile::tempdir().expect("tmp");
    let endpoint = receiver.url("/ingest");
    let dir = state.path().to_str().expect("UTF-8");
    let mut builder = 0;
    let mut handle = 0;
    // SAFETY: every pointer below comes from a live `&str`, `Vec` or local, with its exact
    // length.
    unsafe {
        ok(candor_builder_from_toml(
            CATALOGUE.as_ptr().cast(),
            CATALOGUE.len(),
            &mut builder,
        ));
        ok(candor_builder_version(builder, "1.4".as_ptr().cast(), 3));
        ok(candor_builder_state_dir(
            builder,
            dir.as_ptr().cast(),
            dir.len(),
        ));
        ok(candor_builder_sink(
            builder,
            CANDOR_SINK_JSON,
            endpoint.as_ptr().cast(),
            endpoint.len(),
        ));
        ok(candor_build(builder, &mut handle));
        assert_eq!(status(handle).notice_pending, 1);

        let point = "open_notebooks";
        ok(candor_record_count(
            handle,
            point.as_ptr().cast(),
            point.len(),
            4,
        ));
        ok(candor_flush(handle, 2000));
        assert_eq!(receiver.log().requests, 0, "held until the notice is shown");

        // Asking for the length: too small, nothing recorded.
        let mut len = 0;
        let mut shown = -1;
        assert_eq!(
            candor_show_notice(handle, ptr::null_mut(), 0, &mut len, &mut shown),
            CandorCode::BufferTooSmall
        );
        assert!(len > 0);
        assert_eq!(shown, -1, "left alone when nothing was shown");
        let mut tiny = [0u8; 8];
        assert_eq!(
            candor_show_notice(
                handle,
                tiny.as_mut_ptr().cast(),
                tiny.len(),
                &mut len,
                ptr::null_mut()
            ),
            CandorCode::BufferTooSmall
        );
        assert_eq!(status(handle).notice_pending, 1, "still owed");
        // A NULL length is refused before anything is done.
        assert_eq!(
            candor_show_notice(handle, ptr::null_mut(), 0, ptr::null_mut(), ptr::null_mut()),
            CandorCode::Null
        );

        let mut text = vec![0u8; len + 1];
        let mut written = 0;
        ok(candor_show_notice(
            handle,
            text.as_mut_ptr().cast(),
            text.len(),
            &mut written,
            &mut shown,
        ));
        assert_eq!((written, shown), (len, 1));
        assert_eq!(text[len], 0, "NUL-terminated");
        let text = String::from_utf8(text[..len].to_vec()).expect("UTF-8");
        assert!(
            text.starts_with("Quill notes sends how many notebooks are open"),
            "{text}"
        );

        // Shown: what the notice held goes out, and nothing is owed any more.
        let events = receiver.wait_for(1, Duration::from_secs(10));
        assert_eq!(events.len(), 1);
        assert_eq!(status(handle).notice_pending, 0);
        let mut again = [0xffu8; 16];
        ok(candor_show_notice(
            handle,
            again.as_mut_ptr().cast(),
            again.len(),
            &mut written,
            &mut shown,
        ));
        assert_eq!((written, shown, again[0]), (0, 0, 0));
        ok(candor_shutdown(handle, 5000, ptr::null_mut()));
    }
}
