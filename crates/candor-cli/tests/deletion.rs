//! Opting out reaches the vendor (issue 26 item 2), as a person does it: a host sends through
//! the JSON sink to a real `candor serve`, the person turns consent off, the next run delivers
//! one deletion request, and the server holds none of that installation's events (another
//! installation's stay), on SQLite and PostgreSQL. A receiver that refuses the request is shown
//! with its cause and the request is kept until `candor clean`; a damaged record is replaced.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::Output;

use common::postgres::Postgres;
use common::{SERVE_STORE_KEY, Serve, agent_line, run, stderr, write_lines};

const AGENT: &str = "contrast-dotnet-agent";

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Events of another installation of the agent, posted as its own agent would.
fn other_installation(serve: &Serve, count: u32) {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let events: Vec<String> = (0..count)
        .map(|n| {
            format!(
                r#"{{"event_id":"{:032x}","time":"{now}","product":"{AGENT}","product_version":"21.1.2","runtime_line":"framework","catalogue_revision":"2021.4.2.2","install_id":"{}","point":"working_set","value":{{"kind":"count","data":{}}}}}"#,
                0xfeed_0000_u64 + u64::from(n),
                "e".repeat(64),
                1000 + n
            )
        })
        .collect();
    let body = format!("[{}]", events.join(","));
    let mut stream = std::net::TcpStream::connect(&serve.address).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .expect("timeout");
    write!(
        stream,
        "POST /v1/events HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        serve.address,
        body.len()
    )
    .expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

fn send(dir: &Path, endpoint: &str, events: Option<&str>) -> Output {
    let mut args = vec!["send"];
    if let Some(events) = events {
        args.push(events);
    }
    args.extend(["--sink", "json", "--endpoint", endpoint, "--deadline", "20"]);
    run(dir, &[], &args)
}

fn opted_out_installation_is_erased(database: &str, server: &Path) {
    let serve = Serve::start(server, database, &[]);
    let endpoint = serve.url("/v1/events");
    let dir = tempfile::tempdir().expect("tmp");
    let lines = vec![
        agent_line("working_set", "1000000"),
        agent_line("working_set", "2000000"),
        agent_line("in_container", "true"),
    ];
    let events = write_lines(&dir.path().join("events.jsonl"), &lines);
    let out = send(dir.path(), &endpoint, Some(&events));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("delivered 3 event(s)"),
        "{}",
        stdout(&out)
    );
    other_installation(&serve, 2);
    assert_eq!(serve.stored(AGENT, None, None), 5);

    let out = run(dir.path(), &[], &["consent", AGENT, "off"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The next run delivers the deletion, and nothing else.
    let out = send(dir.path(), &endpoint, None);
    let printed = stdout(&out);
    assert!(
        printed.contains(&format!(
            "deletion request for {AGENT}: deletion requested at"
        )) && printed.contains("confirmed at"),
        "{printed}{}",
        stderr(&out)
    );
    assert!(printed.contains("delivered 0 event(s)"), "{printed}");
    assert_eq!(
        serve.stored(AGENT, None, None),
        2,
        "only the other installation's"
    );

    // The confirmation is kept as a receipt.
    let out = run(dir.path(), &[], &["receipts"]);
    let receipts = stdout(&out);
    assert!(
        receipts.contains(&format!("{AGENT}: deletion requested at"))
            && receipts.contains("confirmed at"),
        "{receipts}"
    );
    let out = run(dir.path(), &[], &["receipts", "--json"]);
    let line = stdout(&out)
        .lines()
        .find(|l| l.contains("deletion_request"))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .expect("a deletion line");
    assert!(
        line["deletion_request"]["confirmation"]["confirmed_at"].is_string(),
        "{line}"
    );

    // One request: a later run sends none again.
    let out = send(dir.path(), &endpoint, None);
    assert!(
        !stdout(&out).contains("deletion request"),
        "{}",
        stdout(&out)
    );
    drop(serve);

    // `candor report` on the database holds none of this installation's events.
    let key_file = server.join("report-store.key");
    std::fs::write(&key_file, format!("{SERVE_STORE_KEY}\n")).expect("key");
    let out = run(
        server,
        &[],
        &[
            "report",
            AGENT,
            "--database",
            database,
            "--store-key-file",
            key_file.to_str().expect("utf-8"),
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report json");
    assert_eq!(report["events"], 2, "{report}");
}

#[test]
fn opting_out_erases_the_installation_on_sqlite() {
    let server = tempfile::tempdir().expect("server");
    let database = format!("sqlite:{}", server.path().join("ingest.db").display());
    opted_out_installation_is_erased(&database, server.path());
}

#[test]
fn opting_out_erases_the_installation_on_postgres() {
    let Some(pg) = Postgres::start() else {
        return;
    };
    let server = tempfile::tempdir().expect("server");
    opted_out_installation_is_erased(&pg.url(), server.path());
}

#[test]
fn a_refused_request_is_kept_with_its_cause_until_clean() {
    // A receiver that does not accept this product refuses the request (422).
    let server = tempfile::tempdir().expect("server");
    let dashboard = server.path().join("dashboard.toml");
    std::fs::write(
        &dashboard,
        candor_schema::builtin::SOURCES
            .iter()
            .find(|(name, _)| name.starts_with("aspire"))
            .expect("dashboard")
            .1,
    )
    .expect("write");
    let database = format!("sqlite:{}", server.path().join("ingest.db").display());
    let serve = Serve::start(
        server.path(),
        &database,
        &["--catalogue", dashboard.to_str().expect("utf-8")],
    );
    let dir = tempfile::tempdir().expect("tmp");
    // Something was sent first (to another receiver), so the opt-out owes a request.
    let earlier = candor_testkit::HttpReceiver::start();
    let events = write_lines(
        &dir.path().join("events.jsonl"),
        &[agent_line("working_set", "1000000")],
    );
    let out = send(dir.path(), &earlier.url("/ingest"), Some(&events));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(dir.path(), &[], &["consent", AGENT, "off"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = send(dir.path(), &serve.url("/v1/events"), None);
    let printed = stdout(&out);
    assert!(
        printed.contains("refused it (422)"),
        "{printed}{}",
        stderr(&out)
    );
    let out = run(dir.path(), &[], &["receipts"]);
    let receipts = stdout(&out);
    assert!(
        receipts.contains("not confirmed yet") && receipts.contains("refused it (422)"),
        "{receipts}"
    );
    let record = dir.path().join("deletions").join(format!("{AGENT}.json"));
    assert!(record.is_file());

    // A damaged record: one line in `receipts`, and the next run asks anew.
    std::fs::write(&record, b"\x00{not json").expect("damage");
    let out = run(dir.path(), &[], &["receipts"]);
    let line = stdout(&out)
        .lines()
        .find(|l| l.contains("cannot be read"))
        .map(str::to_owned)
        .expect("a line for the damaged record");
    assert!(line.starts_with(AGENT), "{line}");
    let out = send(dir.path(), &serve.url("/v1/events"), None);
    assert!(
        stdout(&out).contains("refused it (422)"),
        "{}",
        stdout(&out)
    );

    // `candor clean` removes the request.
    let out = run(dir.path(), &[], &["clean"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!record.exists());
    let out = run(dir.path(), &[], &["receipts"]);
    assert!(!stdout(&out).contains("deletion"), "{}", stdout(&out));
}

/// An installation that never sent anything owes no request: opting out on a fresh folder
/// (by the product's variable or by `candor consent`) hands the vendor no identifier, not even
/// the hashed machine id the person just declined to send.
#[test]
fn opting_out_before_anything_was_sent_sends_nothing() {
    let receiver = candor_testkit::HttpReceiver::start();
    let dir = tempfile::tempdir().expect("tmp");
    let events = write_lines(
        &dir.path().join("events.jsonl"),
        &[agent_line("working_set", "1000000")],
    );
    let out = run(
        dir.path(),
        &[("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "1")],
        &[
            "send",
            &events,
            "--sink",
            "json",
            "--endpoint",
            &receiver.url("/v1/events"),
            "--deadline",
            "5",
        ],
    );
    assert!(
        !stdout(&out).contains("deletion request"),
        "{}",
        stdout(&out)
    );
    let out = run(dir.path(), &[], &["consent", AGENT, "off"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = send(dir.path(), &receiver.url("/v1/events"), None);
    assert!(
        !stdout(&out).contains("deletion request"),
        "{}",
        stdout(&out)
    );
    assert_eq!(receiver.log().requests, 0, "nothing reached the receiver");
    assert!(
        !dir.path()
            .join("deletions")
            .join(format!("{AGENT}.json"))
            .exists()
    );
}

#[test]
fn a_product_nothing_traces_owes_no_request() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = run(dir.path(), &[], &["consent", "aspire-dashboard", "off"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(dir.path(), &[], &["status", "aspire-dashboard"]);
    assert!(
        stdout(&out).contains("nothing sent can be traced back to this machine"),
        "{}",
        stdout(&out)
    );
    assert!(!dir.path().join("deletions").exists());
}

/// A product that is running when the person sets its opt-out variable (the host reads its
/// environment again) sends the request at once, through its sink, without waiting for the
/// next start.
#[test]
fn a_running_host_that_opts_out_sends_the_request() {
    let server = tempfile::tempdir().expect("server");
    let database = format!("sqlite:{}", server.path().join("ingest.db").display());
    let serve = Serve::start(server.path(), &database, &[]);
    let dir = tempfile::tempdir().expect("tmp");
    let host = candor::Telemetry::builder(candor::builtin(AGENT).expect("built in"))
        .runtime("framework")
        .version("21.1.2")
        .state_dir(dir.path())
        .environment(candor::Environment::from_pairs([(
            "CONTRAST_DOTNET_TELEMETRY_OPTOUT",
            "0",
        )]))
        .sink(candor::SinkSpec::Json {
            endpoint: serve.url("/v1/events"),
        })
        .batch_wait(std::time::Duration::from_millis(10))
        .build()
        .expect("host");
    for n in 0..3 {
        host.record("working_set", candor::Input::Count(1000 + n));
    }
    host.flush(std::time::Duration::from_secs(10));
    assert!(common::wait_for(std::time::Duration::from_secs(10), || {
        serve.stored(AGENT, None, None) == 3
    }));
    other_installation(&serve, 1);

    let transition = host.reconsider(candor::Environment::from_pairs([(
        "CONTRAST_DOTNET_TELEMETRY_OPTOUT",
        "1",
    )]));
    assert_ne!(transition, candor::status::Transition::Unchanged);
    let record = dir.path().join("deletions").join(format!("{AGENT}.json"));
    assert!(
        common::wait_for(std::time::Duration::from_secs(20), || {
            std::fs::read_to_string(&record).is_ok_and(|r| r.contains("confirmed_at"))
        }),
        "{:?}",
        std::fs::read_to_string(&record)
    );
    assert_eq!(
        serve.stored(AGENT, None, None),
        1,
        "only the other installation's"
    );
    let _ = host.shutdown(std::time::Duration::from_secs(1));
}

/// `candor send <file>` for a product the person switched off delivers the request it owes
/// before the command exits (the shutdown waits for it), says so, and `status --json` shows
/// the key and the confirmed request.
#[test]
fn a_send_while_opted_out_delivers_the_request_before_it_exits() {
    let server = tempfile::tempdir().expect("server");
    let database = format!("sqlite:{}", server.path().join("ingest.db").display());
    let serve = Serve::start(server.path(), &database, &[]);
    let endpoint = serve.url("/v1/events");
    let dir = tempfile::tempdir().expect("tmp");
    let events = write_lines(
        &dir.path().join("events.jsonl"),
        &[
            agent_line("working_set", "1000000"),
            agent_line("working_set", "3000000"),
        ],
    );
    let out = send(dir.path(), &endpoint, Some(&events));
    assert!(
        stdout(&out).contains("delivered 2 event(s)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(serve.stored(AGENT, None, None), 2);

    let out = run(dir.path(), &[], &["status", AGENT, "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
    assert_eq!(status["deletion"]["traceable"], true, "{status}");
    assert!(status["deletion"]["request"].is_null(), "{status}");

    let out = run(dir.path(), &[], &["consent", AGENT, "off"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The same file again: its events are refused (consent is off); the request is sent.
    let out = send(dir.path(), &endpoint, Some(&events));
    let printed = stdout(&out);
    assert!(
        printed.contains(&format!("deletion request for {AGENT}:"))
            && printed.contains("confirmed at"),
        "{printed}{}",
        stderr(&out)
    );
    // Erased by the time the command returned.
    assert_eq!(serve.stored(AGENT, None, None), 0);

    let out = run(dir.path(), &[], &["status", AGENT, "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
    assert_eq!(status["sends"], false, "{status}");
    assert!(
        status["deletion"]["request"]["confirmation"]["confirmed_at"].is_string(),
        "{status}"
    );
    assert!(
        status["deletion"]["status"]
            .as_str()
            .is_some_and(|s| s.contains("confirmed at")),
        "{status}"
    );

    let out = run(dir.path(), &[], &["status", "aspire-dashboard", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
    assert_eq!(status["deletion"]["traceable"], false, "{status}");
    assert!(
        status["deletion"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("nothing sent can be traced back")),
        "{status}"
    );
}

/// A product that sends over OTLP/HTTP reaches its vendor too: the deletion request travels as
/// a log record of its own to the endpoint the events went to, `candor serve` erases the
/// installation's events, and OTLP's plain success is kept as the confirmation.
#[test]
fn opting_out_reaches_the_vendor_over_otlp() {
    let server = tempfile::tempdir().expect("server");
    let database = format!("sqlite:{}", server.path().join("ingest.db").display());
    let serve = Serve::start(server.path(), &database, &[]);
    let endpoint = serve.url("/v1/logs");
    let dir = tempfile::tempdir().expect("tmp");
    let events = write_lines(
        &dir.path().join("events.jsonl"),
        &[
            agent_line("working_set", "1000000"),
            agent_line("working_set", "2000000"),
            agent_line("in_container", "true"),
        ],
    );
    let otlp = |events: Option<&str>| {
        let mut args = vec!["send"];
        if let Some(events) = events {
            args.push(events);
        }
        args.extend([
            "--sink",
            "otlp-http",
            "--endpoint",
            &endpoint,
            "--deadline",
            "20",
        ]);
        run(dir.path(), &[], &args)
    };
    let out = otlp(Some(&events));
    assert!(
        stdout(&out).contains("delivered 3 event(s)"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    other_installation(&serve, 2);
    assert_eq!(serve.stored(AGENT, None, None), 5);

    let out = run(dir.path(), &[], &["consent", AGENT, "off"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = otlp(None);
    let printed = stdout(&out);
    assert!(
        printed.contains(&format!(
            "deletion request for {AGENT}: deletion requested at"
        )) && printed.contains("confirmed at"),
        "{printed}{}",
        stderr(&out)
    );
    assert_eq!(
        serve.stored(AGENT, None, None),
        2,
        "only the other installation's"
    );
}
