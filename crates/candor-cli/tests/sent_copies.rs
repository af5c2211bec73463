//! Every payload as sent, for every sink: after `candor send` to a real receiver on loopback,
//! the events `candor preview` said would be sent are the events on the wire, the events
//! `candor receipts --json` reads back from the copy Candor kept, and the events `candor view`
//! shows in headless Chromium, every string as text. Then the copy's bad cases: corrupt,
//! oversized, a symlink, removed by `candor clean`, and several senders on one folder.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use candor_testkit::browser::{chromium, dump_dom};
use candor_testkit::{GrpcReceiver, HttpReceiver, Received};
use serde_json::Value;

const PRODUCT: &str = "contrast-dotnet-agent";
const PLANTED: &str = "<script>alert(\"x\")</script> & 'q'";

fn candor(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_candor"))
        .env_clear()
        .env("CANDOR_CONFIG_DIR", dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("candor runs")
}

fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

/// Two raw values, one free text with markup and quotes in it.
fn inputs(dir: &Path) -> PathBuf {
    let path = dir.join("in.jsonl");
    let text = serde_json::json!(format!("Ubuntu {PLANTED}")).to_string();
    std::fs::write(
        &path,
        format!(
            "{{\"product\":\"{PRODUCT}\",\"product_version\":\"21.1.2\",\"runtime_line\":\"framework\",\"point\":\"os_version\",\"value\":{text}}}\n\
             {{\"product\":\"{PRODUCT}\",\"product_version\":\"21.1.2\",\"runtime_line\":\"framework\",\"point\":\"iis_app_count\",\"value\":7}}\n"
        ),
    )
    .expect("write");
    path
}

/// (point, value) of events as JSON, sorted.
fn shape(events: &[Value]) -> Vec<(String, Value)> {
    let mut shape: Vec<(String, Value)> = events
        .iter()
        .map(|e| {
            (
                e["point"].as_str().expect("point").to_owned(),
                e["value"].clone(),
            )
        })
        .collect();
    shape.sort_by(|a, b| a.0.cmp(&b.0));
    shape
}

/// What `candor preview` says would be sent for the inputs.
fn preview(dir: &Path, inputs: &Path) -> Vec<(String, Value)> {
    let out = ok(&candor(
        dir,
        &[
            "preview",
            PRODUCT,
            "--version",
            "21.1.2",
            "--runtime",
            "framework",
            "--inputs",
            inputs.to_str().expect("utf-8"),
            "--json",
        ],
    ));
    let preview: Value = serde_json::from_str(&out).expect("json");
    let events: Vec<Value> = preview["events"]
        .as_array()
        .expect("events")
        .iter()
        // The preview also shows this machine's snapshot; these are the inputs' events.
        .filter(|e| {
            e["point"] == "iis_app_count"
                || e["value"]["data"]
                    .as_str()
                    .is_some_and(|t| t.contains(PLANTED))
        })
        .cloned()
        .collect();
    shape(&events)
}

/// The receipts `candor receipts --json` prints, each with the events of its copy.
fn receipts(dir: &Path) -> Vec<Value> {
    ok(&candor(dir, &["receipts", "--json"]))
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

/// A running `candor view`, killed when dropped.
struct View {
    child: Child,
    url: String,
}

impl Drop for View {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn view(dir: &Path) -> View {
    let mut child = Command::new(env!("CARGO_BIN_EXE_candor"))
        .env_clear()
        .env("CANDOR_CONFIG_DIR", dir)
        .args(["view", "--no-open", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("candor view starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the URL within 30 s")
        .trim()
        .to_owned();
    View { child, url }
}

fn unescape(html: &str) -> String {
    html.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// The events the page shows under Candor's folder's receipts, parsed from their text.
fn shown(dom: &str, root: &Path) -> Vec<Value> {
    let marker = format!("data-root=\"{}\"", root.display());
    let from = dom.find(&marker).expect("the folder's section");
    let section = &dom[from..];
    let section = &section[..section.find("</section>").expect("section end")];
    let receipts = &section[section.find("class=\"receipts\"").expect("receipts")..];
    receipts
        .split("<pre class=\"event\">")
        .skip(1)
        .map(|s| {
            let text = &s[..s.find("</pre>").expect("pre end")];
            assert!(!text.contains('<'), "markup in the page: {text}");
            serde_json::from_str(&unescape(text)).expect("the page shows JSON")
        })
        .collect()
}

/// Sends the inputs through `sink`, then checks preview = wire = receipts = page.
fn preview_wire_page(sink: &str, endpoint: &str, extra: &[&str], wire: impl Fn() -> Vec<Received>) {
    let dir = tempfile::tempdir().expect("tmp");
    let inputs = inputs(dir.path());
    let previewed = preview(dir.path(), &inputs);
    assert_eq!(previewed.len(), 2, "{previewed:?}");
    let mut args = vec![
        "send",
        inputs.to_str().expect("utf-8"),
        "--sink",
        sink,
        "--endpoint",
        endpoint,
        "--deadline",
        "20",
    ];
    args.extend_from_slice(extra);
    ok(&candor(dir.path(), &args));

    // Receipts: one payload, its copy read back holds exactly the events it names.
    let receipts = receipts(dir.path());
    assert_eq!(receipts.len(), 1, "{sink}: {receipts:?}");
    let receipt = &receipts[0];
    assert_eq!(receipt["sink"], sink);
    assert!(receipt["copy"].is_string(), "{sink}: {receipt}");
    let sent: Vec<Value> = receipt["sent_events"]
        .as_array()
        .unwrap_or_else(|| panic!("{sink}: no events in {receipt}"))
        .clone();
    let ids: Vec<&str> = sent
        .iter()
        .map(|e| e["event_id"].as_str().expect("id"))
        .collect();
    let named: Vec<&str> = receipt["event_ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|i| i.as_str().expect("id"))
        .collect();
    assert_eq!(ids, named, "{sink}");
    // Preview = what was sent.
    assert_eq!(shape(&sent), previewed, "{sink}");

    // Wire = what was sent: the receiver decoded the same ids, points and values.
    let mut on_wire = wire();
    on_wire.sort_by(|a, b| a.point.cmp(&b.point));
    let mut by_point = sent.clone();
    by_point.sort_by(|a, b| a["point"].as_str().cmp(&b["point"].as_str()));
    assert_eq!(on_wire.len(), by_point.len(), "{sink}");
    for (received, event) in on_wire.iter().zip(&by_point) {
        assert_eq!(received.event_id, event["event_id"], "{sink}");
        assert_eq!(received.point, event["point"], "{sink}");
        // JSON sinks carry the tagged value; OTLP's body is the value's data.
        assert!(
            received.value == event["value"] || received.value == event["value"]["data"],
            "{sink}: {:?} against {}",
            received.value,
            event["value"]
        );
    }
    let text = sent
        .iter()
        .find(|e| e["point"] == "os_version")
        .expect("the text point");
    assert!(
        text["value"]["data"]
            .as_str()
            .expect("text")
            .contains(PLANTED),
        "{sink}: the scrubber keeps markup as text: {text}"
    );

    // Page = what was sent, every string as text.
    let Some(browser) = chromium() else { return };
    let running = view(dir.path());
    let dom = dump_dom(browser, &running.url);
    assert!(!dom.contains("<script"), "{sink}: a script element exists");
    let mut on_page = shown(&dom, dir.path());
    on_page.sort_by(|a, b| a["point"].as_str().cmp(&b["point"].as_str()));
    assert_eq!(on_page, by_point, "{sink}");
}

#[test]
fn json_sink_preview_wire_and_page_agree() {
    let receiver = HttpReceiver::start();
    let endpoint = receiver.url("/ingest");
    preview_wire_page("json", &endpoint, &[], || receiver.log().events);
}

#[test]
fn relay_sink_preview_wire_and_page_agree() {
    let receiver = HttpReceiver::start();
    let endpoint = receiver.url("/telemetry");
    let dir = tempfile::tempdir().expect("tmp");
    let token = dir.path().join("token");
    std::fs::write(&token, "relay-secret-1\n").expect("token");
    preview_wire_page(
        "relay",
        &endpoint,
        &["--token-file", token.to_str().expect("utf-8")],
        || {
            let log = receiver.log();
            assert_eq!(
                log.authorizations,
                [Some("Bearer relay-secret-1".to_owned())]
            );
            log.events
        },
    );
}

#[test]
fn otlp_http_sink_preview_wire_and_page_agree() {
    let receiver = HttpReceiver::start();
    let endpoint = receiver.url("");
    preview_wire_page("otlp-http", &endpoint, &[], || receiver.log().events);
}

#[test]
fn otlp_grpc_sink_preview_wire_and_page_agree() {
    let receiver = GrpcReceiver::start();
    let endpoint = receiver.url();
    preview_wire_page("otlp-grpc", &endpoint, &[], || {
        receiver.wait_for(2, Duration::from_secs(10))
    });
}

#[test]
fn file_sink_preview_wire_and_page_agree() {
    let out = tempfile::tempdir().expect("tmp");
    let path = out.path().join("elsewhere/sent.jsonl");
    let endpoint = path.to_str().expect("utf-8").to_owned();
    preview_wire_page("file", &endpoint, &[], || {
        std::fs::read_to_string(&path)
            .expect("the file")
            .lines()
            .map(|l| {
                let e: Value = serde_json::from_str(l).expect("json");
                Received {
                    event_id: e["event_id"].as_str().expect("id").to_owned(),
                    point: e["point"].as_str().expect("point").to_owned(),
                    product: e["product"].as_str().expect("product").to_owned(),
                    value: e["value"].clone(),
                }
            })
            .collect()
    });
}

/// Sends the inputs to a JSON receiver and returns the folder and the copy's path.
fn sent_once() -> (tempfile::TempDir, PathBuf) {
    let receiver = HttpReceiver::start();
    let dir = tempfile::tempdir().expect("tmp");
    let inputs = inputs(dir.path());
    let endpoint = receiver.url("/ingest");
    ok(&candor(
        dir.path(),
        &[
            "send",
            inputs.to_str().expect("utf-8"),
            "--sink",
            "json",
            "--endpoint",
            &endpoint,
        ],
    ));
    let receipt = &receipts(dir.path())[0];
    let copy = dir
        .path()
        .join("sent")
        .join(PRODUCT)
        .join(receipt["copy"].as_str().expect("copy"));
    assert!(copy.is_file());
    (dir, copy)
}

#[test]
fn a_broken_copy_is_one_line_of_why_and_the_receipt_stays() {
    type Break = fn(&Path);
    let cases: [(&str, Break, &str); 4] = [
        (
            "corrupt",
            |p| std::fs::write(p, b"\x1f\x8bnot gzip at all").expect("write"),
            "not a payload Candor sent",
        ),
        (
            "oversized",
            |p| {
                let f = std::fs::File::create(p).expect("create");
                f.set_len(64 << 20).expect("grow");
            },
            "cannot be read",
        ),
        (
            "a symlink",
            |p| {
                let target = p.with_extension("elsewhere");
                std::fs::rename(p, &target).expect("move");
                std::os::unix::fs::symlink(&target, p).expect("symlink");
            },
            "cannot be read",
        ),
        (
            "a FIFO",
            |p| {
                std::fs::remove_file(p).expect("remove");
                let ok = Command::new("mkfifo").arg(p).status().expect("mkfifo");
                assert!(ok.success());
            },
            "cannot be read",
        ),
    ];
    for (what, break_it, words) in cases {
        let (dir, copy) = sent_once();
        break_it(&copy);
        let started = std::time::Instant::now();
        let receipts = receipts(dir.path());
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: waited"
        );
        assert_eq!(receipts.len(), 1, "{what}");
        assert!(receipts[0]["sent_events"].is_null(), "{what}");
        let error = receipts[0]["sent_events_error"].as_str().expect("why");
        assert!(error.contains(words), "{what}: {error}");
        assert_eq!(error.lines().count(), 1, "{what}: {error}");
    }
}

#[test]
fn clean_removes_the_copies() {
    let (dir, copy) = sent_once();
    let out = ok(&candor(dir.path(), &["clean"]));
    assert!(out.contains("sent"), "{out}");
    assert!(!copy.exists());
    assert!(!dir.path().join("sent").exists());
}

#[test]
fn several_senders_on_one_folder_keep_every_copy_whole() {
    let receiver = HttpReceiver::start();
    let dir = tempfile::tempdir().expect("tmp");
    let inputs = inputs(dir.path());
    let endpoint = receiver.url("/ingest");
    let children: Vec<Child> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_candor"))
                .env_clear()
                .env("CANDOR_CONFIG_DIR", dir.path())
                .args([
                    "send",
                    inputs.to_str().expect("utf-8"),
                    "--sink",
                    "json",
                    "--endpoint",
                    &endpoint,
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().expect("wait").success());
    }
    let receipts = receipts(dir.path());
    assert_eq!(receipts.len(), 4);
    let mut copies: Vec<&str> = receipts
        .iter()
        .map(|r| r["copy"].as_str().expect("copy"))
        .collect();
    copies.sort_unstable();
    copies.dedup();
    assert_eq!(copies.len(), 4, "each payload has its own copy");
    for r in &receipts {
        assert_eq!(r["sent_events"].as_array().expect("events").len(), 2, "{r}");
    }
}
