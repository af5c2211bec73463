//! Who may read: products send without a credential, the page and the JSON report answer only
//! the bearer of the read token, and are off without one.

#![allow(clippy::unwrap_used)]

mod support;

use candor_ingest::{IngestConfig, ReadToken};
use support::*;

fn get(url: &str, authorization: Option<&str>) -> (u16, String, Option<String>) {
    let mut request = client().get(url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, response.text().unwrap(), challenge)
}

#[test]
fn reads_need_the_token_and_sending_does_not() {
    let db = Db::sqlite();
    let running = serve(&db, IngestConfig::default());
    // Sending needs nothing.
    assert_eq!(post_events(&running, &[agent_event(7)]).0, 200);
    let bearer = format!("Bearer {READ_TOKEN}");
    for path in ["/", "/v1/report/contrast-dotnet-agent"] {
        let target = url(&running, path);
        for wrong in [
            None,
            Some("Bearer test-read-token-012345678"),
            Some("Bearer test-read-token-0123456789x"),
            Some("Bearer "),
            Some("Token test-read-token-0123456789"),
            Some("Basic dGVzdC1yZWFkLXRva2VuLTAxMjM0NTY3ODk="),
        ] {
            let (status, body, challenge) = get(&target, wrong);
            assert_eq!(status, 401, "{path} with {wrong:?}: {body}");
            // No detail: the same answer whatever was wrong.
            assert_eq!(body, "unauthorized\n");
            assert!(challenge.unwrap().starts_with("Bearer"));
        }
        let (status, body, _) = get(&target, Some(&bearer));
        assert_eq!(status, 200, "{path}: {body}");
    }
    // The browser's way: Basic with the token as the password.
    let (status, body, _) = get(
        &url(&running, "/v1/report/contrast-dotnet-agent"),
        Some("Basic cmVhZGVyOnRlc3QtcmVhZC10b2tlbi0wMTIzNDU2Nzg5"),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"events\":1"), "{body}");
    // Health says nothing of the data and stays open.
    assert_eq!(get(&url(&running, "/healthz"), None).0, 200);
}

#[test]
fn without_a_token_reads_are_off() {
    let db = Db::sqlite();
    let accepted = candor_ingest::Accepted::builtin().unwrap();
    let running = candor_ingest::spawn(
        accepted,
        &db.url(),
        &db.sealing(),
        "127.0.0.1:0",
        IngestConfig::default(),
        candor_ingest::ServerConfig::default(),
        false,
    )
    .unwrap();
    assert_eq!(post_events(&running, &[agent_event(7)]).0, 200);
    for path in ["/", "/v1/report/contrast-dotnet-agent"] {
        // Off means off: not even the token a server with one would take opens it.
        for authorization in [None, Some(format!("Bearer {READ_TOKEN}"))] {
            let (status, body, _) = get(&url(&running, path), authorization.as_deref());
            assert_eq!(status, 404, "{path}: {body}");
            assert!(body.contains("reads are off"), "{body}");
            assert_eq!(body.lines().count(), 1);
        }
    }
}

#[test]
fn a_token_is_never_shown() {
    let token = ReadToken::new("a-secret-that-must-not-show").unwrap();
    let config = IngestConfig {
        read_token: Some(token),
        ..IngestConfig::default()
    };
    assert!(!format!("{config:?}").contains("a-secret"));
}
