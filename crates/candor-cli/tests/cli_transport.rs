//! The transport as a user meets it through `candor send` and `candor demo`, as subprocesses
//! against real loopback receivers: OTLP base URLs, a misconfigured endpoint named with a hint,
//! the host's `OTEL_*` settings ignored, the relay token from a file or a variable, a CA from
//! the configuration.

use std::path::Path;
use std::process::Output;

use candor_testkit::{Fault, GrpcReceiver, HttpReceiver};

mod common;
use common::run;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn events_file(dir: &Path, n: usize) -> String {
    let path = dir.join("events.jsonl");
    let line = r#"{"product":"contrast-dotnet-agent","product_version":"21.1.2","runtime_line":"framework","point":"working_set","value":4096}"#;
    std::fs::write(&path, format!("{line}\n").repeat(n)).expect("write");
    path.to_str().expect("utf-8").to_owned()
}

#[test]
fn demo_to_an_otlp_base_url_delivers_to_v1_logs() {
    let dir = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    let endpoint = receiver.url("");
    let out = run(
        dir.path(),
        &[],
        &[
            "demo",
            "contrast-dotnet-agent",
            "--sink",
            "otlp-http",
            "--endpoint",
            &endpoint,
            "--seconds",
            "0",
        ],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(!all.contains("sent:     0"), "{all}");
    assert!(
        !all.contains("event(s): "),
        "no event dropped on the way: {all}"
    );
    assert!(!receiver.events().is_empty(), "{all}");
    assert!(
        receiver.log().seen.iter().all(|r| r.target == "/v1/logs"),
        "{:?}",
        receiver.log().seen
    );
}

/// README's second demo: the dashboard relays through the loopback "IDE" endpoint it starts,
/// which accepts every event the relay sink delivers with the token it was handed.
#[test]
fn the_dashboard_demo_relays_through_its_ide_endpoint() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = run(
        dir.path(),
        &[],
        &[
            "demo",
            "aspire-dashboard",
            "--sink",
            "relay",
            "--seconds",
            "0",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    let sent = summary["sent"].as_u64().expect("sent");
    assert!(sent > 0, "{summary}");
    assert_eq!(summary["pending"], 0, "{summary}");
    let destination = summary["destination"].as_str().expect("destination");
    assert!(
        destination.starts_with("the IDE's relay at http://127.0.0.1:")
            && destination.ends_with(&format!("({sent} events accepted)")),
        "{destination}"
    );
}

#[test]
fn a_404_endpoint_is_named_with_a_hint_in_send_and_demo() {
    let dir = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    receiver.script((0..400).map(|_| Fault::Status(404, None)));
    let endpoint = receiver.url("/wrong/path");
    let file = events_file(dir.path(), 3);
    let out = run(
        dir.path(),
        &[],
        &[
            "send",
            &file,
            "--sink",
            "otlp-http",
            "--endpoint",
            &endpoint,
            "--deadline",
            "5",
        ],
    );
    let all = text(&out);
    assert_ne!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("dropped: 3"), "{all}");
    assert!(all.contains("HTTP 404 Not Found"), "{all}");
    assert!(all.contains("hint: no receiver at this path"), "{all}");
    let out = run(dir.path(), &[], &["receipts"]);
    let all = text(&out);
    assert!(
        all.contains("the receiver refused them (HTTP 404 Not Found); 3 event(s) dropped"),
        "{all}"
    );
    assert!(all.contains("hint: no receiver at this path"), "{all}");
    let out = run(
        dir.path(),
        &[],
        &[
            "demo",
            "contrast-dotnet-agent",
            "--sink",
            "json",
            "--endpoint",
            &endpoint,
            "--seconds",
            "0",
        ],
    );
    let all = text(&out);
    assert!(all.contains("sent:     0"), "{all}");
    assert!(
        all.contains("the receiver refused them (HTTP 404 Not Found)"),
        "{all}"
    );
    assert!(all.contains("hint: no receiver at this path"), "{all}");
}

#[test]
fn a_refused_connection_is_named_with_a_hint() {
    let dir = tempfile::tempdir().expect("tmp");
    let endpoint = format!("http://127.0.0.1:{}", candor_testkit::dead_port());
    let file = events_file(dir.path(), 1);
    let out = run(
        dir.path(),
        &[],
        &[
            "send",
            &file,
            "--sink",
            "otlp-http",
            "--endpoint",
            &endpoint,
            "--deadline",
            "1",
        ],
    );
    let all = text(&out);
    assert!(all.contains("connection refused"), "{all}");
    assert!(all.contains("hint: nothing accepts connections"), "{all}");
    let out = run(dir.path(), &[], &["receipts"]);
    let all = text(&out);
    assert!(all.contains("connection refused"), "{all}");
    assert!(all.contains("hint: nothing accepts connections"), "{all}");
}

/// Every OTEL_* variable an OpenTelemetry SDK or exporter reads, set to hostile values; and the
/// proxy variables, which would route traffic elsewhere.
fn hostile_env(decoy: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", decoy.to_owned()),
        (
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            format!("{decoy}/v1/logs"),
        ),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "api-key=APM-SECRET,x-evil=1".into(),
        ),
        (
            "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
            "authorization=Bearer APM-SECRET".into(),
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
        ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json".into()),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "1".into()),
        ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "1".into()),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd".into()),
        ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "gzip".into()),
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            "/nonexistent/APM-SECRET.pem".into(),
        ),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_KEY",
            "/nonexistent/key.pem".into(),
        ),
        ("OTEL_EXPORTER_OTLP_INSECURE", "true".into()),
        ("OTEL_SDK_DISABLED", "true".into()),
        ("OTEL_LOGS_EXPORTER", "none".into()),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=evil,deployment.secret=APM-SECRET".into(),
        ),
        ("OTEL_SERVICE_NAME", "evil-service".into()),
        ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "1".into()),
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "1".into()),
        ("OTEL_PROPAGATORS", "xray".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for proxy in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
    ] {
        env.push((proxy.to_owned(), decoy.to_owned()));
    }
    env
}

#[test]
fn the_hosts_otel_settings_change_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let decoy = HttpReceiver::start();
    let http = HttpReceiver::start();
    let grpc = GrpcReceiver::start();
    let env = hostile_env(&decoy.url(""));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let file = events_file(dir.path(), 4);
    for (sink, endpoint) in [
        ("otlp-http", http.url("")),
        ("json", http.url("/ingest")),
        ("otlp-grpc", grpc.url()),
    ] {
        let out = run(
            dir.path(),
            &env,
            &[
                "send",
                &file,
                "--sink",
                sink,
                "--endpoint",
                &endpoint,
                "--deadline",
                "10",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{sink}: {}", text(&out));
    }
    assert_eq!(
        decoy.log().requests,
        0,
        "nothing went where OTEL_* or a proxy said"
    );
    let log = http.log();
    assert_eq!(log.events.len(), 8);
    let targets: Vec<&str> = log.seen.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(targets, ["/v1/logs", "/ingest"]);
    for request in &log.seen {
        for (name, value) in &request.headers {
            assert!(
                !value.contains("APM-SECRET") && name != "api-key" && name != "x-evil",
                "{name}: {value}"
            );
        }
        assert!(
            !request.headers.iter().any(|(n, _)| n == "authorization"),
            "no credentials were configured"
        );
    }
    let otlp = &log.seen[0];
    assert!(
        otlp.headers
            .iter()
            .any(|(n, v)| n == "content-type" && v == "application/x-protobuf"),
        "OTLP/HTTP stays protobuf: {:?}",
        otlp.headers
    );
    assert!(
        !otlp.headers.iter().any(|(n, _)| n == "content-encoding"),
        "no compression was configured"
    );
    assert!(!log.contains("APM-SECRET") && !log.contains("evil"));
    assert!(
        log.contains("contrast-dotnet-agent"),
        "service.name is the product"
    );
    let grpc_log = grpc.log();
    assert_eq!(grpc_log.events.len(), 4);
    assert!(!grpc_log.contains("APM-SECRET") && !grpc_log.contains("evil"));
    for metadata in &grpc_log.metadata {
        assert!(
            metadata
                .iter()
                .all(|(n, v)| n != "api-key" && n != "authorization" && !v.contains("APM-SECRET")),
            "{metadata:?}"
        );
    }
}

#[test]
fn the_relay_token_comes_from_a_file_or_a_variable() {
    let dir = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start();
    let endpoint = receiver.url("/telemetry");
    let file = events_file(dir.path(), 1);
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "from-file-token\n").expect("write");
    let out = run(
        dir.path(),
        &[],
        &[
            "send",
            &file,
            "--sink",
            "relay",
            "--endpoint",
            &endpoint,
            "--token-file",
            token_file.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(
        dir.path(),
        &[("CANDOR_RELAY_TOKEN", "from-env-token")],
        &["send", &file, "--sink", "relay", "--endpoint", &endpoint],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        receiver.log().authorizations,
        [
            Some("Bearer from-file-token".to_owned()),
            Some("Bearer from-env-token".to_owned())
        ]
    );
}

#[test]
fn a_ca_from_the_configuration_is_trusted() {
    let dir = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start_tls();
    let ca = receiver
        .ca()
        .expect("ca")
        .path()
        .to_str()
        .expect("utf-8")
        .to_owned();
    let endpoint = receiver.url("");
    let file = events_file(dir.path(), 2);
    let args = [
        "send",
        &file,
        "--sink",
        "otlp-http",
        "--endpoint",
        &endpoint,
        "--deadline",
        "2",
    ];
    let out = run(dir.path(), &[], &args);
    let all = text(&out);
    assert_ne!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("TLS failure") && all.contains("CANDOR_CA_FILE"),
        "{all}"
    );
    let out = run(dir.path(), &[("CANDOR_CA_FILE", &ca)], &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut with_flag = args.to_vec();
    with_flag.extend(["--ca-file", &ca]);
    let out = run(dir.path(), &[], &with_flag);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        receiver.events().len(),
        6,
        "the first run waited in the spool; then 4, then 2"
    );
    let endpoint = receiver.url("/ingest");
    let out = run(
        dir.path(),
        &[],
        &[
            "demo",
            "contrast-dotnet-agent",
            "--sink",
            "json",
            "--endpoint",
            &endpoint,
            "--seconds",
            "0",
            "--ca-file",
            &ca,
        ],
    );
    let all = text(&out);
    assert!(!all.contains("sent:     0"), "{all}");
    assert!(receiver.events().len() > 6, "{all}");
}

#[test]
fn malformed_endpoints_are_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().expect("tmp");
    for endpoint in [
        "http://[::1]evil.com/",
        "http://127.0.0.1:99999/",
        "http://evil.example/?token=QUERY-SECRET",
    ] {
        let out = run(
            dir.path(),
            &[],
            &["send", "--sink", "otlp-http", "--endpoint", endpoint],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{endpoint}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(!stderr.contains("QUERY-SECRET"), "{stderr}");
    }
}

/// A name and password written into an endpoint never show in what `send` or `demo` print,
/// whether the URL parses (and is refused for its credentials) or not.
#[test]
fn credentials_in_an_endpoint_never_show() {
    let dir = tempfile::tempdir().expect("tmp");
    for endpoint in [
        "http://carol:pa55word@127.0.0.1:1/v1/logs?token=QUERY-SECRET",
        "https://carol:pa55word@telemetry.example.com/",
        "http://carol:pa/55word@127.0.0.1:1/",
        "carol:pa55word@127.0.0.1:4318",
    ] {
        for args in [
            vec!["send", "--sink", "otlp-http", "--endpoint", endpoint],
            vec![
                "demo",
                "contrast-dotnet-agent",
                "--sink",
                "json",
                "--endpoint",
                endpoint,
                "--seconds",
                "0",
            ],
        ] {
            let out = run(dir.path(), &[], &args);
            let all = text(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {all}");
            for secret in ["carol", "pa55word", "55word", "QUERY-SECRET"] {
                assert!(!all.contains(secret), "{args:?} shows {secret}: {all}");
            }
        }
    }
}
