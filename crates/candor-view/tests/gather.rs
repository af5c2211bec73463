//! What the page is made of, from a Candor folder laid out by the real writers (spool, receipts,
//! events): every section is filled from its own file, hostile strings come out escaped, and
//! what cannot be read is said on the page rather than failing it.

#![allow(clippy::unwrap_used)]

use candor_consent::{Environment, Mode};
use candor_schema::{Catalogue, Event};
use candor_state::StateDir;
use candor_transport::{Receipt, Receipts, Spool, SpoolCaps};
use candor_view::{gather, render};

fn catalogues() -> Vec<Catalogue> {
    candor_schema::builtin::catalogues()
        .unwrap()
        .iter()
        .cloned()
        .collect()
}

fn event(id: &str, time: &str, point: &str, value: &str) -> Event {
    serde_json::from_str(&format!(
        r#"{{"event_id":"{id}","time":"{time}","product":"contrast-dotnet-agent","product_version":"21.1.2","runtime_line":"framework","catalogue_revision":"2021.4.2.1","point":"{point}","value":{value}}}"#
    ))
    .unwrap()
}

fn jsonl(events: &[Event]) -> String {
    events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect()
}

#[test]
fn each_section_comes_from_its_file_and_hostile_text_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(dir.path());
    std::fs::write(
        state.config_file(),
        "[products.contrast-dotnet-agent]\nmode = \"local\"\n",
    )
    .unwrap();
    let hostile = r#"{"kind":"text","data":"<img src=x onerror=alert(1)>"}"#;
    let sent = [
        event("a1", "2026-11-20T10:00:00Z", "os_version", hostile),
        event(
            "a2",
            "2026-11-21T10:00:00Z",
            "working_set",
            r#"{"kind":"count","data":5}"#,
        ),
    ];
    std::fs::create_dir_all(
        state
            .events_file("contrast-dotnet-agent")
            .unwrap()
            .parent()
            .unwrap(),
    )
    .unwrap();
    std::fs::write(
        state.events_file("contrast-dotnet-agent").unwrap(),
        jsonl(&sent) + "not an event\n",
    )
    .unwrap();
    Receipts::new(state.receipts_path(), 1 << 20)
        .append(&Receipt {
            time: "2026-11-21T10:00:01Z".into(),
            products: vec!["contrast-dotnet-agent".into()],
            sink: "file".into(),
            endpoint: "<b>endpoint</b>".into(),
            events: 3,
            bytes: 600,
            event_ids: vec!["a1".into(), "a2".into(), "gone".into()],
            refused: 0,
            refused_ids: Vec::new(),
            copy: None,
        })
        .unwrap();
    let spool = Spool::open(
        state.spool_dir("contrast-dotnet-agent").unwrap(),
        SpoolCaps::default(),
    )
    .unwrap();
    let written = spool.write(&[event(
        "s1",
        "2026-11-22T09:00:00Z",
        "working_set",
        r#"{"kind":"count","data":7}"#,
    )]);
    assert_eq!(written.entries.len(), 1, "{written:?}");
    let local = [
        event(
            "l1",
            "2026-11-22T10:00:00Z",
            "contrast_http_response_time",
            r#"{"kind":"distribution","data":{"count":3,"min":1.0,"median":2.0,"max":9.0}}"#,
        ),
        event(
            "l2",
            "2026-11-22T11:00:00Z",
            "resource_restart_time",
            r#"{"kind":"histogram","data":{"count":5,"sum":1250.0,"buckets":[[53,2],[80,3]]}}"#,
        ),
    ];
    std::fs::create_dir_all(
        state
            .local_file("contrast-dotnet-agent")
            .unwrap()
            .parent()
            .unwrap(),
    )
    .unwrap();
    std::fs::write(
        state.local_file("contrast-dotnet-agent").unwrap(),
        jsonl(&local),
    )
    .unwrap();

    let snapshot = gather(
        &state,
        &catalogues(),
        &Environment::from_pairs::<&str, &str>([]),
    );
    let folder = &snapshot.folders[0];
    let agent = folder
        .products
        .iter()
        .find(|p| p.id == "contrast-dotnet-agent")
        .unwrap();
    assert_eq!(agent.decision.mode, Mode::Local);
    assert!(
        agent
            .decision
            .decided_by
            .describe()
            .contains("configuration file")
    );
    assert_eq!(agent.sent.len(), 2);
    assert_eq!(agent.spool.iter().map(|b| b.events.len()).sum::<usize>(), 1);
    assert_eq!(agent.local.len(), 2);
    assert_eq!(agent.receipts.len(), 1);
    let copies: Vec<bool> = agent.receipts[0]
        .events
        .iter()
        .map(|e| e.event.is_some())
        .collect();
    assert_eq!(
        copies,
        [true, true, false],
        "matched by id; no copy of `gone`"
    );
    assert_eq!(
        agent.running,
        Some(("framework".to_owned(), "21.1.2".to_owned())),
        "the newest event (local, 2026-11-22T10) says which version runs"
    );
    assert!(
        agent
            .points
            .iter()
            .any(|p| p.0 == "os_version" && p.3 == "scrubbed" && p.4 == Some(true))
    );
    assert!(
        agent
            .unreadable
            .iter()
            .any(|u| u.message.contains("1 line(s) are not events")),
        "{:?}",
        agent.unreadable
    );

    let html = render(&snapshot);
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("&lt;b&gt;endpoint&lt;/b&gt;"));
    assert!(!html.contains("<img") && !html.contains("<b>") && !html.contains("<script"));
    assert!(html.contains("<span class=\"spooled\">1</span>"));
    assert!(html.contains("<span class=\"local-count\">2</span>"));
    // Events per day: one bar per (day, point) over sent, spooled and local events.
    for label in [
        "2026-11-20 os_version",
        "2026-11-21 working_set",
        "2026-11-22 working_set",
        "2026-11-22 contrast_http_response_time",
    ] {
        assert!(html.contains(&format!(">{label}</text>")), "{label}");
    }
    // The summary's statistics are a table; a histogram's reports too, with their mean.
    assert!(html.contains("<th>median</th>"), "{html}");
    assert!(html.contains("<th>buckets sent</th>"), "{html}");
    assert!(
        html.contains("<td class=\"n\">5</td><td class=\"n\">250.0000</td><td class=\"n\">2</td>"),
        "{html}"
    );
}

#[test]
fn an_empty_or_missing_folder_shows_decisions_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("not-yet");
    let snapshot = gather(
        &StateDir::new(&root),
        &catalogues(),
        &Environment::from_pairs([("DO_NOT_TRACK", "1")]),
    );
    assert_eq!(snapshot.folders.len(), 1);
    for product in &snapshot.folders[0].products {
        assert_eq!(product.decision.mode, Mode::Off);
        assert!(product.receipts.is_empty() && product.spool.is_empty());
    }
    let html = render(&snapshot);
    assert!(html.contains("Decided by: the DO_NOT_TRACK variable"));
    assert!(!root.exists(), "the page created Candor's folder");
}

#[test]
fn a_symlinked_spool_or_oversized_events_file_is_reported_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(dir.path());
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("spool")).unwrap();
    std::os::unix::fs::symlink(
        elsewhere.path(),
        state.spool_dir("contrast-dotnet-agent").unwrap(),
    )
    .unwrap();
    std::fs::write(
        elsewhere
            .path()
            .join("0000000000000001-0000000001-00000000.jsonl"),
        "x\n",
    )
    .unwrap();
    let events = state.events_file("contrast-dotnet-agent").unwrap();
    std::fs::create_dir_all(events.parent().unwrap()).unwrap();
    let file = std::fs::File::create(&events).unwrap();
    file.set_len(17 << 20).unwrap();
    let snapshot = gather(
        &state,
        &catalogues(),
        &Environment::from_pairs::<&str, &str>([]),
    );
    let agent = snapshot.folders[0]
        .products
        .iter()
        .find(|p| p.id == "contrast-dotnet-agent")
        .unwrap();
    assert!(agent.spool.is_empty());
    assert!(
        agent
            .unreadable
            .iter()
            .any(|u| u.what == "sent events file" && u.message.contains("larger than")),
        "{:?}",
        agent.unreadable
    );
}

/// The network block is a consent decision like the others: with the agent's endpoint on
/// record as unanswered for longer than its period, the page says off, by the network block,
/// and why. A demo run obeys the user's file in Candor's folder, not one of its own.
#[test]
fn the_page_says_off_and_why_for_a_network_block_and_demos_obey_the_users_file() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(dir.path());
    let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 86_400);
    state
        .set_unanswered_since("contrast-dotnet-agent", Some(long_ago))
        .unwrap();
    std::fs::write(
        state.config_file(),
        "[products.contrast-dotnet-agent]\nmode = \"LOCAL\"\n",
    )
    .unwrap();
    let demo = state.demo_dir("contrast-dotnet-agent").unwrap();
    std::fs::write(demo.join("config.toml"), "mode = \"off\"\n").unwrap();
    let snapshot = gather(&state, &catalogues(), &Environment::default());
    let product = |folder: usize, id: &str| {
        snapshot.folders[folder]
            .products
            .iter()
            .find(|p| p.id == id)
            .unwrap()
            .clone()
    };
    let agent = product(0, "contrast-dotnet-agent");
    assert_eq!(agent.decision.mode, Mode::Off);
    assert!(
        matches!(
            agent.decision.decided_by,
            candor_consent::DecidedBy::NetworkBlock { .. }
        ),
        "{:?}",
        agent.decision
    );
    let html = render(&snapshot);
    assert!(html.contains("has not answered since"), "the page says why");
    // The demo run has no network record of its own; the user's file says local.
    assert_eq!(
        product(1, "contrast-dotnet-agent").decision.mode,
        Mode::Local
    );
}

/// A receipt's events come from the copy of its payload (here a relay's gzip JSON body, the
/// JSON receiver's decoder reads it back); a copy that is corrupt leaves the receipt with its
/// ids, no events, and a note on the page.
#[test]
fn receipts_show_their_copy_and_a_corrupt_copy_is_noted() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(dir.path());
    let sent = [event(
        "c1",
        "2026-11-21T10:00:00Z",
        "os_version",
        r#"{"kind":"text","data":"<b>bold</b>"}"#,
    )];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&serde_json::to_vec(&sent[..]).unwrap())
        .unwrap();
    let copies = state
        .sent_copies("contrast-dotnet-agent", candor_state::CopyCaps::reading())
        .unwrap();
    let now = std::time::SystemTime::now();
    let good = copies
        .keep(
            candor_state::PayloadFormat::GzipJson,
            &gz.finish().unwrap(),
            now,
        )
        .unwrap();
    let bad = copies
        .keep(
            candor_state::PayloadFormat::GzipJson,
            b"\x1f\x8bbroken",
            now,
        )
        .unwrap();
    let log = Receipts::new(state.receipts_path(), 1 << 20);
    for (copy, id) in [(good, "c1"), (bad, "c2")] {
        log.append(&Receipt {
            time: "2026-11-21T10:00:01Z".into(),
            products: vec!["contrast-dotnet-agent".into()],
            sink: "relay".into(),
            endpoint: "http://127.0.0.1:1/telemetry".into(),
            events: 1,
            bytes: 10,
            event_ids: vec![id.into()],
            refused: 0,
            refused_ids: Vec::new(),
            copy,
        })
        .unwrap();
    }
    let snapshot = gather(&state, &catalogues(), &Environment::default());
    let agent = snapshot.folders[0]
        .products
        .iter()
        .find(|p| p.id == "contrast-dotnet-agent")
        .unwrap();
    assert_eq!(agent.receipts.len(), 2);
    assert_eq!(agent.receipts[0].events[0].event.as_ref(), Some(&sent[0]));
    assert_eq!(agent.receipts[1].events[0].id, "c2");
    assert!(agent.receipts[1].events[0].event.is_none());
    assert!(
        agent
            .unreadable
            .iter()
            .any(|u| u.message.contains("not a payload Candor sent")),
        "{:?}",
        agent.unreadable
    );
    let page = render(&snapshot);
    assert!(page.contains("&lt;b&gt;bold&lt;/b&gt;"));
    assert!(!page.contains("<b>bold"));
    assert!(page.contains("not a payload Candor sent"));
}

/// The page says what opting out does for each product: "deletion requested … confirmed at …"
/// where a request was confirmed, "nothing to delete" where nothing traces, and a record that
/// cannot be read is noted, not shown as a request.
#[test]
fn the_page_shows_a_deletion_request_and_its_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(dir.path());
    let mut record = candor_transport::DeletionRecord::new(
        "contrast-dotnet-agent",
        &"a".repeat(64),
        &"b".repeat(32),
    );
    record.confirmation = Some(candor_schema::DeletionConfirmation {
        request_id: "b".repeat(32),
        confirmed_at: "2026-12-05T11:00:00Z".to_owned(),
    });
    state
        .write_deletion("contrast-dotnet-agent", &record.to_bytes())
        .unwrap();
    let snapshot = gather(&state, &catalogues(), &Environment::default());
    let html = render(&snapshot);
    assert!(html.contains("confirmed at 2026-12-05T11:00:00Z"), "{html}");
    assert!(html.contains("deletion requested at"), "{html}");
    assert!(html.contains("nothing sent can be traced back to this machine"));

    state
        .write_deletion("contrast-dotnet-agent", b"<script>not json")
        .unwrap();
    let snapshot = gather(&state, &catalogues(), &Environment::default());
    let agent = snapshot.folders[0]
        .products
        .iter()
        .find(|p| p.id == "contrast-dotnet-agent")
        .unwrap();
    assert!(agent.deletion.1.is_none());
    assert!(
        agent
            .unreadable
            .iter()
            .any(|u| u.what == "deletion request"),
        "{:?}",
        agent.unreadable
    );
    assert!(!render(&snapshot).contains("<script>not json"));
}
