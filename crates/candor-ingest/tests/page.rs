//! The aggregates page in a real browser: headless Chromium loads `GET /` from `candor serve`
//! and the test reads the DOM it built.

#![allow(clippy::unwrap_used)]

mod support;

use candor_ingest::IngestConfig;
use candor_testkit::browser::{chromium, dump_dom};
use serde_json::json;
use support::*;

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

    // The page is read with the token (headless Chromium cannot present one), then the browser
    // builds its DOM from exactly those bytes.
    let response = client()
        .get(url(&running, "/"))
        .bearer_auth(READ_TOKEN)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let saved = tempfile::tempdir().unwrap();
    let page = saved.path().join("page.html");
    std::fs::write(&page, response.bytes().unwrap()).unwrap();
    let dom = dump_dom(browser, &format!("file://{}", page.display()));
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
