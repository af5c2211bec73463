//! The aggregates page in a real browser: headless Chromium loads `GET /` from `candor serve`
//! and the test reads the DOM it built.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use candor_ingest::IngestConfig;
use serde_json::json;
use support::*;

fn chromium() -> Option<&'static str> {
    for name in ["chromium", "chromium-browser"] {
        if Command::new(name)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return Some(name);
        }
    }
    let message = "Chromium not found; install Debian's `chromium` package (.ci/run does)";
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{message}");
    }
    eprintln!("skipping: {message}");
    None
}

/// The DOM after the page loaded, as Chromium serialises it; killed after a deadline.
fn dump_dom(browser: &str, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--dump-dom", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("Chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_page_shows_the_aggregates_and_client_strings_only_as_text() {
    let Some(browser) = chromium() else { return };
    let db = Db::sqlite();
    let running = serve(&db, IngestConfig::default());
    let mut events: Vec<_> = (0..7).map(|i| agent_event(1000 + i)).collect();
    events.push(agent_point(
        "contrast_instance",
        json!({"kind": "enumeration", "data": "hosted"}),
    ));
    assert_eq!(post_events(&running, &events).0, 200);
    let planted = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>";
    let navigation = json!({
        "event_id": event_id(),
        "time": now_rfc3339(),
        "product": "aspire-dashboard",
        "product_version": "9.3.0",
        "runtime_line": "dashboard",
        "catalogue_revision": revision("aspire-dashboard"),
        "point": "page_navigation",
        "value": {"kind": "properties", "data": {"page": planted}},
    });
    let (status, reply) = post_events(&running, &[navigation]);
    assert_eq!(status, 200, "{reply}");

    let dom = dump_dom(browser, &url(&running, "/"));
    assert!(dom.contains("<title>Candor telemetry</title>"), "{dom}");
    // The counts: 8 agent events, 7 of them working_set.
    assert!(
        dom.contains("data-product=\"contrast-dotnet-agent\"")
            && dom.contains("<strong class=\"events\">8</strong>"),
        "{dom}"
    );
    assert!(dom.contains("data-point=\"working_set\""), "{dom}");
    assert!(dom.contains("<span class=\"count\">7</span>"), "{dom}");
    // Charts were drawn: one bar per version and per value.
    assert!(dom.contains("<svg class=\"chart\""), "{dom}");
    assert!(dom.contains(">hosted</text>"), "{dom}");
    // The planted markup is text in the DOM, not an element: no script ran, no image exists.
    assert!(dom.contains("&lt;script&gt;document.title="), "{dom}");
    assert!(!dom.contains("<script>"), "{dom}");
    assert!(!dom.contains("<img"), "{dom}");
    assert!(!dom.contains("pwned</title>"), "{dom}");
}
