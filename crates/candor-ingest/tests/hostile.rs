//! A hostile client against the receiving end: values that smuggle personal data past the
//! catalogue's grammar.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod support;

use candor_ingest::IngestConfig;
use serde_json::json;
use support::*;

/// A value the sender would have refused as personal (names, labels, modes and versions are
/// sent verbatim, so the sender checks them instead of scrubbing) is refused on arrival too,
/// even though it fits the name grammar's characters.
#[test]
fn verbatim_values_holding_personal_data_are_refused_on_arrival() {
    let db = Db::sqlite();
    let running = serve(&db, IngestConfig::default());
    let names = |name: &str| {
        agent_point(
            "non_default_setting_names",
            json!({"kind": "names", "data": [name]}),
        )
    };
    let smuggled = vec![
        names("/home/alice.smith/.ssh/id_rsa"),
        names("10.20.30.40"),
        names("aa:bb:cc:dd:ee:ff"),
        names("ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"),
        agent_point(
            "contrast_http_status_codes",
            json!({"kind": "label_counts", "data": {"192.168.1.20": 3}}),
        ),
        agent_point(
            "protect_rule_modes",
            json!({"kind": "mode_by_name", "data": {"/home/alice.smith/rules": "block"}}),
        ),
        agent_point(
            "core_runtime_version",
            json!({"kind": "version", "data": "8.0.1+alice-laptop.corp.example.com"}),
        ),
    ];
    let (status, reply) = post_events(&running, &smuggled);
    assert_eq!(status, 422, "{reply}");
    let reasons = reasons(&reply);
    assert_eq!(reasons.len(), smuggled.len(), "{reply}");
    assert!(
        reasons
            .iter()
            .all(|r| r == "personal_data" || r == "out_of_bounds"),
        "{reply}"
    );
    assert!(reasons.iter().any(|r| r == "personal_data"), "{reply}");

    // What a real sender sends still passes: .NET names and four-part versions.
    let clean = vec![
        names("System.Net.Http"),
        agent_point(
            "contrast_http_status_codes",
            json!({"kind": "label_counts", "data": {"503": 3, "200": 10}}),
        ),
        agent_point(
            "protect_rule_modes",
            json!({"kind": "mode_by_name", "data": {"sql-injection": "block"}}),
        ),
        agent_point(
            "core_runtime_version",
            json!({"kind": "version", "data": "8.0.0.0"}),
        ),
    ];
    let (status, reply) = post_events(&running, &clean);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["accepted"], clean.len(), "{reply}");
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn protobuf_len(field: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(field << 3) | 2];
    let mut n = payload.len();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(payload);
    out
}

/// A gzip bomb of tiny items (64 KiB on the wire, 64 MiB decompressed: 32 million `0,` or
/// empty log records) is refused with 413 before any of its items is built. Decoding it whole
/// took the server past 1 GiB (JSON) and 5 GiB (OTLP) of memory for one request.
#[test]
fn a_gzip_bomb_of_tiny_items_is_refused_within_bounded_memory() {
    let db = Db::sqlite();
    let running = serve(&db, IngestConfig::default());
    let cap = IngestConfig::default().max_decoded_bytes;

    let mut zeros = Vec::with_capacity(cap);
    zeros.push(b'[');
    while zeros.len() < cap - 2 {
        zeros.extend_from_slice(b"0,");
    }
    zeros.extend_from_slice(b"0]");
    let json_bomb = gzip(&zeros);
    drop(zeros);

    let empty_records = b"\x12\x00".repeat((cap - 16) / 2);
    let otlp_bomb = gzip(&protobuf_len(1, &protobuf_len(2, &empty_records)));
    drop(empty_records);

    let before = peak_rss_kib();
    for (path, body, kind) in [
        ("/v1/events", json_bomb, "application/json"),
        ("/v1/logs", otlp_bomb, "application/x-protobuf"),
    ] {
        let response = client()
            .post(url(&running, path))
            .header("content-type", kind)
            .header("content-encoding", "gzip")
            .body(body)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 413, "{path}");
    }
    let grown_mib = peak_rss_kib().saturating_sub(before) / 1024;
    eprintln!("peak memory grew by {grown_mib} MiB");
    assert!(grown_mib < 400, "peak memory grew by {grown_mib} MiB");
}

/// Items are cut at the array's own commas, never at brackets, commas or escaped quotes inside
/// strings; a malformed item among good ones is refused alone.
#[test]
fn items_are_delimited_by_the_array_not_by_text_inside_strings() {
    let db = Db::sqlite();
    let running = serve(&db, IngestConfig::default());
    let tricky = agent_point(
        "os_version",
        json!({"kind": "text", "data": "Ubuntu \"22\\\" ], [{ \"x\": 1 }, 2"}),
    );
    let batch = vec![tricky, json!([1, {"a": "]"}]), agent_event(5)];
    let (status, reply) = post_events(&running, &batch);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["accepted"], 2, "{reply}");
    assert_eq!(reply["refused"][0]["index"], 1, "{reply}");
    assert_eq!(reply["refused"][0]["reason"], "malformed", "{reply}");
}

/// The receiver refuses text holding control and bidirectional characters because no Candor
/// sender can produce it: the sender's scrubber, which every text, property value, exception
/// message, frame and log message passes through, removes each character the shared value
/// check (`candor_schema::is_unsendable_char`) refuses. Checked over every such character,
/// alone, between words, and at the ends.
#[test]
fn the_senders_scrubber_never_yields_what_the_receiver_refuses() {
    let scrubber = candor_privacy::Scrubber::default();
    let refused: Vec<char> = (0..=0x10ffff_u32)
        .filter_map(char::from_u32)
        .filter(|c| candor_schema::is_unsendable_char(*c))
        .collect();
    assert!(refused.contains(&'\u{0}') && refused.contains(&'\u{202e}'));
    for c in &refused {
        for text in [
            c.to_string(),
            format!("Windows{c}Server 2022"),
            format!("{c}[31mred{c}"),
        ] {
            let out = scrubber.scrub_limited(&text, 128);
            assert!(
                !out.chars().any(candor_schema::is_unsendable_char),
                "U+{:04X} survived the scrubber: {out:?}",
                u32::from(*c)
            );
        }
    }
    // Line breaks and tabs are kept, and the value check accepts them.
    assert_eq!(scrubber.scrub("a\tb\nc"), "a\tb\nc");
}

/// Claims of gigabytes cost nothing: a `Content-Length` of 4 GiB is refused before any byte of
/// the body is read, and an OTLP field claiming 4 GiB inside a small body is malformed.
#[test]
fn claims_of_gigabytes_are_refused_unread() {
    use std::io::{Read, Write};
    let db = Db::sqlite();
    let running = serve(&db, IngestConfig::default());
    let mut stream = std::net::TcpStream::connect(running.address()).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"POST /v1/events HTTP/1.1\r\nhost: x\r\ncontent-length: 4294967296\r\n\r\n[")
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // resource_logs (field 1) whose length varint says 4 GiB, in a 10-byte body.
    let mut claim = vec![0x0a];
    claim.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x10]);
    claim.extend_from_slice(b"abcd");
    let response = client()
        .post(url(&running, "/v1/logs"))
        .header("content-type", "application/x-protobuf")
        .body(claim)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        point_count(&report(&running, "contrast-dotnet-agent"), "working_set"),
        0
    );
}

/// Review 2 #15: a count past 2⁶³ − 1 (what OTLP's `int_value` and the databases hold) is
/// refused on arrival as out of bounds, on a count and on a label's count, by the check both
/// ends share; the largest one that fits is stored.
#[test]
fn counts_past_the_largest_signed_64_bit_number_are_refused_on_arrival() {
    let db = Db::sqlite();
    let running = serve(&db, IngestConfig::default());
    let too_large = vec![
        agent_point(
            "working_set",
            json!({"kind": "count", "data": 9_223_372_036_854_775_808_u64}),
        ),
        agent_point("working_set", json!({"kind": "count", "data": u64::MAX})),
        agent_point(
            "contrast_http_status_codes",
            json!({"kind": "label_counts", "data": {"200": 1, "503": u64::MAX}}),
        ),
    ];
    let (status, reply) = post_events(&running, &too_large);
    assert_eq!(status, 422, "{reply}");
    let reasons = reasons(&reply);
    assert_eq!(reasons, vec!["out_of_bounds"; too_large.len()], "{reply}");
    let largest = vec![agent_point(
        "working_set",
        json!({"kind": "count", "data": i64::MAX}),
    )];
    let (status, reply) = post_events(&running, &largest);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["accepted"], 1, "{reply}");
}

/// Issue 24: an OTLP record whose event name and `candor.point` attribute name different
/// points, or whose body is not of its `candor.kind`, is refused as malformed, one record at a
/// time (the others of the request are stored); a JSON time that is a number or too long to be
/// RFC 3339 is refused as `bad_time`.
#[test]
fn records_naming_two_points_and_times_that_are_no_text_are_refused() {
    use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
    use prost::Message;

    let db = Db::sqlite();
    let running = serve(&db, IngestConfig::default());
    let agent = candor_ingest::Accepted::builtin()
        .unwrap()
        .catalogue("contrast-dotnet-agent")
        .unwrap()
        .clone();
    let event = |n: u64| {
        let stamp = candor_schema::Stamp {
            event_id: format!("{:032x}", 0xabc0 + n),
            time: candor_schema::Timestamp::from_system_time(std::time::SystemTime::now())
                .to_millis(),
            product_version: "4.0.0".into(),
            runtime_line: "core".into(),
            install_id: None,
        };
        candor_schema::Event::declared(&agent, "working_set", candor_schema::Value::Count(n), stamp)
            .unwrap()
    };
    let events = [event(1), event(2), event(3)];
    let mut request = candor_otlp::encode_request(
        &events,
        &candor_otlp::SemanticNames::new(),
        std::time::SystemTime::now(),
    );
    let records = &mut request.resource_logs[0].scope_logs[0].log_records;
    records[1].event_name = "memory_page_size".to_owned();
    records[2].body = Some(AnyValue {
        value: Some(any_value::Value::StringValue("lots".to_owned())),
    });
    let response = client()
        .post(url(&running, "/v1/logs"))
        .header("content-type", "application/x-protobuf")
        .body(request.encode_to_vec())
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        point_count(&report(&running, "contrast-dotnet-agent"), "working_set"),
        1
    );
    assert_eq!(
        point_count(
            &report(&running, "contrast-dotnet-agent"),
            "memory_page_size"
        ),
        0
    );

    let timed = |time: serde_json::Value| {
        let mut e = agent_event(7);
        e["time"] = time;
        e
    };
    let (status, reply) = post_events(
        &running,
        &[
            timed(json!(1_790_000_000)),
            timed(json!(format!("2026-11-21T09:30:00.{}Z", "1".repeat(30)))),
            agent_event(8),
        ],
    );
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["accepted"], 1, "{reply}");
    assert_eq!(reasons(&reply), ["bad_time", "bad_time"], "{reply}");
}
