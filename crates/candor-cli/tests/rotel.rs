//! End to end with a third-party collector: rotel (PyPI `rotel`, binary `rotel-agent`)
//! receives Candor's OTLP over HTTP and gRPC on loopback, and its debug log must show the
//! events, whether the OTLP/HTTP endpoint is given in full or as a base URL. `cargo xtask test` (the README's test command) installs rotel and names it in
//! CANDOR_ROTEL_AGENT.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

struct Rotel {
    child: Child,
    log: PathBuf,
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> PathBuf {
    if let Some(path) = std::env::var_os("CANDOR_ROTEL_AGENT") {
        return path.into();
    }
    let installed = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/tools/rotel/rotel/rotel-agent");
    assert!(
        installed.is_file(),
        "rotel-agent is not installed: run the suite with `cargo xtask test`, which installs it, or set CANDOR_ROTEL_AGENT"
    );
    installed
}

fn start(dir: &std::path::Path) -> (Rotel, u16, u16) {
    let http = candor_testkit::dead_port();
    let grpc = candor_testkit::dead_port();
    let log = dir.join("rotel.out");
    let out = std::fs::File::create(&log).expect("log");
    let child = Command::new(agent())
        .args([
            "start",
            "--exporter",
            "blackhole",
            "--debug-log",
            "logs",
            "--debug-log-verbosity",
            "detailed",
        ])
        .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http}")])
        .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc}")])
        .arg("--log-file")
        .arg(dir.join("rotel-agent.log"))
        .stdout(out.try_clone().expect("clone"))
        .stderr(out)
        .spawn()
        .expect("rotel-agent starts");
    let rotel = Rotel { child, log };
    // A loaded machine can take a while to start it; the deadline only bounds a hang.
    let deadline = Instant::now() + Duration::from_secs(90);
    for port in [http, grpc] {
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "rotel did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    (rotel, http, grpc)
}

fn wait_for_log(rotel: &Rotel, needles: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&rotel.log).unwrap_or_default();
        if needles.iter().all(|n| text.contains(n)) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn rotel_shows_candors_events_over_http_and_grpc() {
    let dir = tempfile::tempdir().expect("tmp");
    let (rotel, http, grpc) = start(dir.path());
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        concat!(
            r#"{"product":"contrast-dotnet-agent","product_version":"21.1.2","runtime_line":"framework","point":"iis_apps_per_pool","value":[1,2,4,7]}"#, "\n",
            r#"{"product":"contrast-dotnet-agent","product_version":"21.1.2","runtime_line":"framework","point":"os_version","value":"Windows for dave@example.net"}"#, "\n",
        ),
    )
    .expect("write");
    for (sink, endpoint) in [
        ("otlp-http", format!("http://127.0.0.1:{http}/v1/logs")),
        // A base URL, as OTLP users write it: Candor adds /v1/logs.
        ("otlp-http", format!("http://127.0.0.1:{http}")),
        ("otlp-grpc", format!("http://127.0.0.1:{grpc}")),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_candor"))
            .env_clear()
            .env("CANDOR_CONFIG_DIR", dir.path())
            .args([
                "send",
                events.to_str().expect("utf-8"),
                "--sink",
                sink,
                "--endpoint",
                &endpoint,
                "--deadline",
                "10",
            ])
            .output()
            .expect("candor runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{sink}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while text.matches("EventName: iis_apps_per_pool").count() < 3 && Instant::now() < deadline {
        text = wait_for_log(
            &rotel,
            &["EventName: iis_apps_per_pool", "EventName: os_version"],
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        text.matches("EventName: iis_apps_per_pool").count(),
        3,
        "{text}"
    );
    assert!(
        text.contains("candor.product: Str(contrast-dotnet-agent)"),
        "{text}"
    );
    assert!(text.contains("median:Double(3)"), "{text}");
    assert!(
        text.contains("service.name: Str(contrast-dotnet-agent)")
            && text.contains("telemetry.sdk.name: Str(candor)"),
        "{text}"
    );
    assert!(
        text.contains("os.description: Str(Windows for"),
        "the catalogue names os_version's semantic convention: {text}"
    );
    assert!(
        !text.contains("dave@example.net"),
        "the e-mail address reached the collector"
    );
}
