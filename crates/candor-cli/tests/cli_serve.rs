//! `candor serve`, `candor report` and `candor purge` as a user runs them.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

const CANDOR: &str = env!("CARGO_BIN_EXE_candor");

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn event(id: u32, time: SystemTime, value: u64) -> String {
    format!(
        r#"{{"event_id":"{id:032x}","time":"{}","product":"contrast-dotnet-agent","product_version":"4.0.0","runtime_line":"core","catalogue_revision":"2021.4.2.1","point":"working_set","value":{{"kind":"count","data":{value}}}}}"#,
        rfc3339(time)
    )
}

fn post(address: &str, body: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "POST /v1/events HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

fn candor(args: &[&str], config: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(CANDOR)
        .args(args)
        .env("CANDOR_CONFIG_DIR", config)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serve_receives_report_prints_and_purge_keeps_the_retention_promise() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("ingest.db").display());
    let mut serve = Command::new(CANDOR)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &database])
        .env("CANDOR_CONFIG_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    let now = SystemTime::now();
    let old = now - Duration::from_secs(300 * 86_400);
    let body = format!(
        "[{},{},{}]",
        event(1, old, 10),
        event(2, now, 20),
        event(3, now, 30)
    );
    let answer = post(&address, &body);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"accepted\":3"), "{answer}");
    serve.kill().unwrap();
    let _ = serve.wait();

    let (code, json, err) = candor(
        &[
            "report",
            "contrast-dotnet-agent",
            "--database",
            &database,
            "--json",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["product"], "contrast-dotnet-agent");
    assert_eq!(report["events"], 3);
    let working_set = report["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "working_set")
        .unwrap();
    assert_eq!(working_set["count"], 3);

    // A year after the old event: it is gone, the new ones stay.
    let later = rfc3339(now + Duration::from_secs(100 * 86_400));
    let (code, text, err) = candor(
        &["purge", "--database", &database, "--as-of", &later],
        dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains("contrast-dotnet-agent: 1 event(s) older than 365 days removed"),
        "{text}"
    );
    let (_, text, _) = candor(
        &["report", "contrast-dotnet-agent", "--database", &database],
        dir.path(),
    );
    assert!(text.contains(": 2 events"), "{text}");
    assert!(text.contains("min 20 max 30"), "{text}");

    let (code, _, err) = candor(
        &["report", "contrast-dotnet-agent", "--database", "mysql://x"],
        dir.path(),
    );
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn only_serve_takes_several_catalogues() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("agent.toml");
    std::fs::write(
        &file,
        candor_schema::builtin::SOURCES
            .iter()
            .find(|(name, _)| name.starts_with("contrast"))
            .unwrap()
            .1,
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let (code, _, err) = candor(
        &[
            "report",
            "contrast-dotnet-agent",
            "--catalogue",
            file,
            "--catalogue",
            file,
        ],
        dir.path(),
    );
    assert_eq!(code, 2);
    assert!(err.contains("only `candor serve` takes several"), "{err}");
}

#[test]
fn a_database_path_that_is_not_a_file_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("folder.db");
    std::fs::create_dir(&folder).unwrap();
    let fifo = dir.path().join("fifo.db");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for path in [&folder, &fifo] {
        let database = format!("sqlite:{}", path.display());
        let (code, _, err) = candor(&["purge", "--database", &database], dir.path());
        assert_eq!(code, 2, "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("candor: the database failed"), "{err}");
    }
    // The database lives in the temp folder: a relative path would land in the source tree.
    let database = format!("sqlite:{}", dir.path().join("x.db").display());
    let (code, _, err) = candor(
        &["serve", "--listen", "256.0.0.1:1", "--database", &database],
        dir.path(),
    );
    assert_eq!(code, 2);
    assert!(
        err.starts_with("candor: cannot listen on 256.0.0.1:1"),
        "{err}"
    );
}

/// Both ends as a user configures them over TLS: `candor serve` with a certificate from files,
/// and `candor send` trusting the issuing CA through `--ca-file`. Without the CA nothing is
/// delivered, and the TLS failure is named.
#[test]
fn send_delivers_to_serve_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, certificate, key) = candor_testkit::TestCa::with_server_certificate();
    std::fs::write(dir.path().join("cert.pem"), certificate).unwrap();
    std::fs::write(dir.path().join("key.pem"), key).unwrap();
    let database = format!("sqlite:{}", dir.path().join("ingest.db").display());
    let server_dir = dir.path().join("server");
    let mut serve = Command::new(CANDOR)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            &database,
            "--tls-cert",
        ])
        .arg(dir.path().join("cert.pem"))
        .arg("--tls-key")
        .arg(dir.path().join("key.pem"))
        .env("CANDOR_CONFIG_DIR", &server_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .split("https://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("not served over https: {line}"))
        .to_owned();
    let endpoint = format!("https://{address}/v1/events");
    let events = dir.path().join("events.jsonl");
    let lines: Vec<String> = (0..5)
        .map(|n| {
            format!(
                r#"{{"product":"contrast-dotnet-agent","product_version":"21.1.2","runtime_line":"framework","point":"working_set","value":{n}}}"#
            )
        })
        .collect();
    std::fs::write(&events, lines.join("\n") + "\n").unwrap();
    let send = |client: &str, ca: Option<&std::path::Path>| {
        let mut command = Command::new(CANDOR);
        command
            .env_clear()
            .env("CANDOR_CONFIG_DIR", dir.path().join(client))
            .arg("send")
            .arg(&events)
            .args(["--sink", "json", "--endpoint", &endpoint, "--deadline", "3"]);
        if let Some(ca) = ca {
            command.arg("--ca-file").arg(ca);
        }
        command.output().unwrap()
    };
    let untrusted = send("client-without-ca", None);
    let stderr = String::from_utf8_lossy(&untrusted.stderr);
    assert_eq!(untrusted.status.code(), Some(1), "{stderr}");
    assert!(stderr.to_lowercase().contains("tls"), "{stderr}");
    let trusted = send("client-with-ca", Some(ca.path()));
    let stdout = String::from_utf8_lossy(&trusted.stdout);
    assert!(
        trusted.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    assert!(stdout.contains("delivered 5 event(s)"), "{stdout}");
    let (code, json, err) = candor(
        &[
            "report",
            "contrast-dotnet-agent",
            "--database",
            &database,
            "--json",
        ],
        &server_dir,
    );
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["events"], 5, "{json}");
    let _ = serve.kill();
    let _ = serve.wait();
}

/// A certificate or key that cannot be used stops `candor serve` with a one-line error and
/// exit 2 before it says it listens. It used to print "listening on https://…" and then exit 0
/// silently (a bad PEM file), or hang for ever (a FIFO).
#[test]
fn unusable_tls_files_are_a_one_line_error_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let fifo = dir.path().join("cert.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let database = format!("sqlite:{}", dir.path().join("tls.db").display());
    for file in [&junk, &fifo] {
        let file = file.to_str().unwrap();
        let (code, out, err) = candor(
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database",
                &database,
                "--tls-cert",
                file,
                "--tls-key",
                file,
            ],
            dir.path(),
        );
        assert_eq!(code, 2, "{out}{err}");
        assert!(!out.contains("listening"), "{out}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("candor: TLS: "), "{err}");
    }
}
