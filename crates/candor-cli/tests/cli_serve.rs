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

/// The store key these tests give `serve`, `report` and `purge` (in `store.key` of the
/// command's folder) unless the test names its own.
const STORE_KEY: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

/// `--store-key-file` with the tests' key, written into `config`.
fn key_args(config: &std::path::Path) -> Vec<String> {
    let file = config.join("store.key");
    std::fs::create_dir_all(config).unwrap();
    std::fs::write(&file, format!("{STORE_KEY}\n")).unwrap();
    vec!["--store-key-file".to_owned(), file.display().to_string()]
}

fn candor(args: &[&str], config: &std::path::Path) -> (i32, String, String) {
    let names_key = args
        .iter()
        .any(|a| a.starts_with("--store-") || *a == "--new-key-file");
    let needs_key = matches!(args.first(), Some(&("serve" | "report" | "purge")));
    let extra = if needs_key && !names_key {
        key_args(config)
    } else {
        Vec::new()
    };
    let out = Command::new(CANDOR)
        .args(args)
        .args(extra)
        .env("CANDOR_CONFIG_DIR", config)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `candor report contrast-dotnet-agent --json` on `database`.
fn json_report(dir: &std::path::Path, database: &str) -> serde_json::Value {
    let (code, json, err) = candor(
        &[
            "report",
            "contrast-dotnet-agent",
            "--database",
            database,
            "--json",
        ],
        dir,
    );
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&json).unwrap()
}

/// `candor serve` on a free loopback port, and the address it printed.
fn start_serve(dir: &std::path::Path, database: &str) -> (std::process::Child, String) {
    start_serve_with(dir, database, &[])
}

fn start_serve_with(
    dir: &std::path::Path,
    database: &str,
    extra: &[&str],
) -> (std::process::Child, String) {
    let mut serve = Command::new(CANDOR)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
        .args(extra)
        .args(key_args(dir))
        .env("CANDOR_CONFIG_DIR", dir)
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
    (serve, address)
}

#[test]
fn serve_receives_report_prints_and_purge_keeps_the_retention_promise() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("ingest.db").display());
    let (mut serve, address) = start_serve(dir.path(), &database);
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

    let report = json_report(dir.path(), &database);
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
    assert!(
        text.contains("groups smaller than 5 installations are shown only as (other)"),
        "{text}"
    );
    let (_, text, _) = candor(
        &[
            "report",
            "contrast-dotnet-agent",
            "--database",
            &database,
            "--min-group",
            "9",
        ],
        dir.path(),
    );
    assert!(
        text.contains("groups smaller than 9 installations"),
        "{text}"
    );
    let (code, _, err) = candor(
        &[
            "report",
            "contrast-dotnet-agent",
            "--database",
            &database,
            "--min-group",
            "0",
        ],
        dir.path(),
    );
    assert_eq!(code, 2, "{err}");

    let (code, _, err) = candor(
        &["report", "contrast-dotnet-agent", "--database", "mysql://x"],
        dir.path(),
    );
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// `serve --storage aggregates` keeps per-day aggregates only: the same events give the same
/// `candor report`, a retry is a duplicate, the purge removes the old day's events, and an
/// unknown storage is a usage error.
#[test]
fn serve_keeps_aggregates_only_when_told() {
    let now = SystemTime::now();
    let body = format!(
        "[{},{},{},{}]",
        event(1, now, 10),
        event(2, now, 20),
        event(3, now - Duration::from_secs(2 * 86_400), 20),
        event(4, now - Duration::from_secs(300 * 86_400), 40)
    );
    let mut reports = Vec::new();
    for storage in ["events", "aggregates"] {
        let dir = tempfile::tempdir().unwrap();
        let database = format!("sqlite:{}", dir.path().join("ingest.db").display());
        let (mut serve, address) = start_serve_with(dir.path(), &database, &["--storage", storage]);
        let answer = post(&address, &body);
        assert!(answer.contains("\"accepted\":4"), "{answer}");
        let again = post(&address, &body);
        assert!(again.contains("\"duplicates\":4"), "{again}");
        serve.kill().unwrap();
        let _ = serve.wait();
        let later = rfc3339(now + Duration::from_secs(100 * 86_400));
        let (code, text, err) = candor(
            &["purge", "--database", &database, "--as-of", &later],
            dir.path(),
        );
        assert_eq!(code, 0, "{err}");
        assert!(
            text.contains("contrast-dotnet-agent: 1 event(s) older than 365 days removed"),
            "{storage}: {text}"
        );
        reports.push(json_report(dir.path(), &database));
    }
    assert_eq!(reports[0]["events"], 3);
    assert_eq!(reports[0], reports[1]);
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = candor(&["serve", "--storage", "raw"], dir.path());
    assert_eq!(code, 2, "{err}");
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
        .args(key_args(dir.path()))
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

/// POSTs `json` gzip-compressed; the answer and the bytes sent.
fn post_gzip(address: &str, json: &[u8]) -> (String, usize) {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(json).unwrap();
    let body = encoder.finish().unwrap();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "POST /v1/events HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    (answer, body.len())
}

fn names_event(id: u32, names: &[String]) -> String {
    format!(
        r#"{{"event_id":"{id:032x}","time":"{}","product":"contrast-dotnet-agent","product_version":"4.0.0","runtime_line":"core","catalogue_revision":"2021.4.2.1","point":"non_default_setting_names","value":{{"kind":"names","data":{}}}}}"#,
        rfc3339(SystemTime::now()),
        serde_json::to_string(names).unwrap()
    )
}

fn database_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("ingest.db"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

/// The issue's reproduction through the real binary: gzip bodies of 60 events of 200,000 names
/// (the database grew 268 bytes per byte received, and a report took seconds and hundreds of
/// MB) are refused whole; the largest values the caps allow store at most about their
/// allowance; text with an escape sequence is refused with its reason; `candor report` lists
/// a bounded number of values.
#[test]
fn serve_stores_a_bounded_multiple_of_what_it_receives() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("ingest.db").display());
    let (mut serve, address) = start_serve(dir.path(), &database);
    let before = database_bytes(dir.path());

    let repeated: Vec<String> = (0..200_000)
        .map(|i| ((b'a' + (i % 26) as u8) as char).to_string())
        .collect();
    let body = format!(
        "[{}]",
        (0..60)
            .map(|n| names_event(n, &repeated))
            .collect::<Vec<_>>()
            .join(",")
    );
    let (answer, mut received) = post_gzip(&address, body.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 422"), "{answer}");
    assert!(answer.contains("too_many_items"), "{answer}");

    for request in 0..5_u32 {
        let largest: Vec<String> = (0..256)
            .map(|i| format!("Contrast.Agent.Section.Sub.{i:06}{}", "x".repeat(93)))
            .collect();
        let body = format!(
            "[{}]",
            (0..60)
                .map(|n| names_event(1000 + request * 100 + n, &largest))
                .collect::<Vec<_>>()
                .join(",")
        );
        let (answer, sent) = post_gzip(&address, body.as_bytes());
        received += sent;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("over_storage_allowance"), "{answer}");
    }
    let text = r#"{"event_id":"0000000000000000000000000000abcd","time":"NOW","product":"contrast-dotnet-agent","product_version":"4.0.0","runtime_line":"core","catalogue_revision":"2021.4.2.1","point":"os_version","value":{"kind":"text","data":"Ubuntu \u001b[31m22.04"}}"#
        .replace("NOW", &rfc3339(SystemTime::now()));
    let answer = post(&address, &format!("[{text}]"));
    assert!(answer.starts_with("HTTP/1.1 422"), "{answer}");
    assert!(answer.contains("control_character"), "{answer}");
    serve.kill().unwrap();
    let _ = serve.wait();

    let grown = database_bytes(dir.path()).saturating_sub(before);
    let ratio = grown as f64 / received as f64;
    assert!(
        ratio < 80.0,
        "the database grew by {grown} bytes for {received} received"
    );
    let report = json_report(dir.path(), &database);
    let names = report["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "non_default_setting_names")
        .unwrap();
    assert_eq!(names["total"]["values"].as_array().unwrap().len(), 21);
    assert_eq!(report["refused"]["too_many_items"], 60);
    assert_eq!(report["refused"]["control_character"], 1);
}

/// A GET with an optional `Authorization` header: the status line and the body.
fn get(address: &str, path: &str, authorization: Option<&str>) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let header = authorization.map_or(String::new(), |a| format!("authorization: {a}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {address}\r\n{header}connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn serve_reads_need_the_token_from_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("ingest.db").display());
    let token_file = dir.path().join("read.token");
    std::fs::write(
        &token_file,
        "reader-token-from-a-file-42\nignored second line\n",
    )
    .unwrap();
    let mut serve = Command::new(CANDOR)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &database])
        .arg("--read-token-file")
        .arg(&token_file)
        .args(key_args(dir.path()))
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
    let answer = post(&address, &format!("[{}]", event(1, SystemTime::now(), 5)));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let path = "/v1/report/contrast-dotnet-agent";
    let open = get(&address, path, Some("Bearer reader-token-from-a-file-42"));
    assert!(open.starts_with("HTTP/1.1 200"), "{open}");
    assert!(open.contains("\"events\":1"), "{open}");
    for wrong in [None, Some("Bearer reader-token-from-a-file-43")] {
        let refused = get(&address, path, wrong);
        assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
        let refused = get(&address, "/", wrong);
        assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    }
    serve.kill().unwrap();
    let _ = serve.wait();
}

#[test]
fn an_unusable_read_token_file_is_a_one_line_error_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("ingest.db").display());
    let empty = dir.path().join("empty.token");
    std::fs::write(&empty, "\n\n").unwrap();
    let short = dir.path().join("short.token");
    std::fs::write(&short, "abc\n").unwrap();
    let huge = dir.path().join("huge.token");
    std::fs::write(&huge, "x".repeat(1 << 20)).unwrap();
    let fifo = dir.path().join("token.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let missing = dir.path().join("missing.token");
    for (file, says) in [
        (&empty, "empty"),
        (&short, "shorter than"),
        (&huge, "read token file"),
        (&fifo, "read token file"),
        (&missing, "read token file"),
        (&dir.path().to_owned(), "read token file"),
    ] {
        let (code, out, err) = candor(
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database",
                &database,
                "--read-token-file",
                file.to_str().unwrap(),
            ],
            dir.path(),
        );
        assert_eq!(code, 2, "{}: {out}{err}", file.display());
        assert!(!out.contains("listening"), "{out}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{err}");
        assert!(!err.contains("xxxx"), "{err}");
    }
}

#[test]
fn the_store_key_opens_the_database_and_rotates() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("ingest.db").display());
    let (mut serve, address) = start_serve(dir.path(), &database);
    let answer = post(&address, &format!("[{}]", event(7, SystemTime::now(), 42)));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    serve.kill().unwrap();
    let _ = serve.wait();
    // Nothing stored is in the file's bytes.
    let bytes = std::fs::read(dir.path().join("ingest.db")).unwrap();
    assert!(!bytes.windows(11).any(|w| w == b"working_set"));

    let wrong = dir.path().join("wrong.key");
    std::fs::write(&wrong, "ff".repeat(32)).unwrap();
    let wrong = wrong.to_str().unwrap();
    let refused = |args: &[&str], says: &str| {
        let (code, out, err) = candor(args, dir.path());
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{err}");
        assert!(out.is_empty(), "{out}");
    };
    let report = ["report", "contrast-dotnet-agent", "--database", &database];
    let purge = ["purge", "--database", &database];
    for command in [&report[..], &purge[..]] {
        // A wrong key, no key, or none given at all: an error, never an empty report.
        refused(
            &[command, &["--store-key-file", wrong]].concat(),
            "does not open",
        );
        refused(
            &[command, &["--store-unencrypted"]].concat(),
            "is encrypted",
        );
    }
    let (code, _, err) = Command::new(CANDOR)
        .args(report)
        .env("CANDOR_CONFIG_DIR", dir.path())
        .output()
        .map(|o| {
            (
                o.status.code().unwrap_or(-1),
                o.stdout,
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .unwrap();
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--store-key-file"), "{err}");

    // Rotation: the new key opens it, the old one no longer does.
    let old = key_args(dir.path()).pop().unwrap();
    let new = dir.path().join("new.key");
    std::fs::write(&new, format!("{}\n", "3c".repeat(32))).unwrap();
    let new = new.to_str().unwrap();
    let (code, out, err) = candor(
        &[
            "store",
            "rotate-key",
            "--database",
            &database,
            "--store-key-file",
            &old,
            "--new-key-file",
            new,
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("re-encrypted 1 event(s)"), "{out}");
    let (code, text, err) = candor(
        &[&report[..], &["--store-key-file", new]].concat(),
        dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(text.contains(": 1 events"), "{text}");
    refused(
        &[&report[..], &["--store-key-file", &old]].concat(),
        "does not open",
    );
    // Rotating again from the old key is refused and changes nothing.
    refused(
        &[
            "store",
            "rotate-key",
            "--database",
            &database,
            "--store-key-file",
            &old,
            "--new-key-file",
            wrong,
        ],
        "does not open",
    );
    let (code, _, _) = candor(
        &[&report[..], &["--store-key-file", new]].concat(),
        dir.path(),
    );
    assert_eq!(code, 0);
}

#[test]
fn an_unusable_store_key_file_is_a_one_line_error_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("ingest.db").display());
    let empty = dir.path().join("empty.key");
    std::fs::write(&empty, "\n").unwrap();
    let short = dir.path().join("short.key");
    std::fs::write(&short, "abcdef\n").unwrap();
    let not_hex = dir.path().join("nothex.key");
    std::fs::write(&not_hex, "z".repeat(64)).unwrap();
    let huge = dir.path().join("huge.key");
    std::fs::write(&huge, "a".repeat(1 << 20)).unwrap();
    let fifo = dir.path().join("key.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let missing = dir.path().join("missing.key");
    for (file, says) in [
        (&empty, "empty"),
        (&short, "64 hex digits"),
        (&not_hex, "64 hex digits"),
        (&huge, "store key file"),
        (&fifo, "store key file"),
        (&missing, "store key file"),
    ] {
        for command in ["serve", "report", "purge"] {
            let mut args = vec![command];
            if command == "serve" {
                args.extend(["--listen", "127.0.0.1:0"]);
            }
            if command == "report" {
                args.push("contrast-dotnet-agent");
            }
            args.extend(["--database", &database, "--store-key-file"]);
            args.push(file.to_str().unwrap());
            let (code, out, err) = candor(&args, dir.path());
            assert_eq!(code, 2, "{command} {}: {out}{err}", file.display());
            assert!(!out.contains("listening"), "{out}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.contains(says), "{err}");
            assert!(!err.contains("aaaa") && !err.contains("zzzz"), "{err}");
        }
    }
    // serve without either choice does not start.
    let (code, out, err) = Command::new(CANDOR)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &database])
        .env("CANDOR_CONFIG_DIR", dir.path())
        .output()
        .map(|o| {
            (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .unwrap();
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("--store-unencrypted"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
