//! `candor view` in a real browser: after a demo run and a planted value, headless Chromium
//! loads the page; the receipts it shows are those `candor receipts --json` prints, the planted
//! markup is text, and a screenshot is left in target/ for review. Then the server's refusals:
//! no secret, a foreign `Host`, a write.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use candor_testkit::browser::{chromium, dump_dom, screenshot};

const PLANTED: &str = "<script>alert(1)</script>";

fn candor(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_candor"))
        .env_clear()
        .env("CANDOR_CONFIG_DIR", dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("candor runs")
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

fn view(dir: &Path, port: u16) -> View {
    let mut child = Command::new(env!("CARGO_BIN_EXE_candor"))
        .env_clear()
        .env("CANDOR_CONFIG_DIR", dir)
        .args(["view", "--no-open", "--port", &port.to_string()])
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
        // Keep reading until the child ends, like a terminal would.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let line = rx.recv_timeout(Duration::from_secs(30));
    let mut view = View {
        child,
        url: String::new(),
    };
    view.url = line.expect("the URL within 30 s").trim().to_owned();
    assert!(view.url.starts_with("http://127.0.0.1:"), "{}", view.url);
    view
}

/// Receipts as `candor receipts --json` prints them for the folder `dir`: (bytes, event ids).
fn receipts(dir: &Path) -> Vec<(u64, Vec<String>)> {
    let out = candor(dir, &["receipts", "--json"]);
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|line| {
            let r: serde_json::Value = serde_json::from_str(line).expect("json");
            (
                r["bytes"].as_u64().expect("bytes"),
                r["event_ids"]
                    .as_array()
                    .expect("ids")
                    .iter()
                    .map(|i| i.as_str().expect("id").to_owned())
                    .collect(),
            )
        })
        .collect()
}

/// The receipts one folder's section of the DOM shows: (bytes, event ids), in order.
fn shown_receipts(section: &str) -> Vec<(u64, Vec<String>)> {
    section
        .split("<tr class=\"receipt\"")
        .skip(1)
        .map(|row| {
            let row = &row[..row.find("</tr>").expect("row end")];
            let bytes = between(row, "data-bytes=\"", "\"").parse().expect("bytes");
            let ids = row
                .split("<code class=\"event-id\">")
                .skip(1)
                .map(|s| s[..s.find("</code>").expect("code end")].to_owned())
                .collect();
            (bytes, ids)
        })
        .collect()
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).expect(start) + start.len();
    &text[from..from + text[from..].find(end).expect(end)]
}

/// The DOM's section for the folder at `root`.
fn section<'a>(dom: &'a str, root: &Path) -> &'a str {
    let marker = format!("data-root=\"{}\"", root.display());
    let from = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("no section {marker}"));
    let rest = &dom[from..];
    &rest[..rest.find("</section>").expect("section end")]
}

#[test]
fn the_page_shows_the_receipts_as_sent_and_data_only_as_text() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let out = candor(dir.path(), &["demo", "contrast-dotnet-agent"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A sent value with markup in it: scrubbed text keeps it, as text.
    let planted = dir.path().join("planted.jsonl");
    std::fs::write(
        &planted,
        format!(
            r#"{{"product":"contrast-dotnet-agent","product_version":"21.1.2","runtime_line":"framework","point":"os_version","value":"Ubuntu {PLANTED}"}}"#
        ),
    )
    .expect("write");
    let events = dir.path().join("events/contrast-dotnet-agent.jsonl");
    let out = candor(
        dir.path(),
        &[
            "send",
            planted.to_str().expect("utf-8"),
            "--sink",
            "file",
            "--endpoint",
            events.to_str().expect("utf-8"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read_to_string(&events)
            .expect("sent")
            .contains(PLANTED),
        "the scrubber kept the markup as text"
    );

    let running = view(dir.path(), 0);
    let dom = dump_dom(browser, &running.url);
    assert!(
        dom.contains("<title>What Candor holds on this machine</title>"),
        "{dom}"
    );

    // The receipts shown, folder by folder, are those `candor receipts --json` prints.
    let demo = dir.path().join("demo/contrast-dotnet-agent");
    for root in [dir.path(), demo.as_path()] {
        let expected = receipts(root);
        assert!(!expected.is_empty(), "no receipts in {}", root.display());
        assert_eq!(
            shown_receipts(section(&dom, root)),
            expected,
            "{}",
            root.display()
        );
    }
    // The planted value's event is shown as sent, with its markup as text: escaped in the
    // DOM, and no element (script or other) made from it.
    let main = section(&dom, dir.path());
    assert!(
        main.contains("Ubuntu &lt;script&gt;alert(1)&lt;/script&gt;"),
        "{main}"
    );
    assert!(!dom.contains("<script"), "a script element exists");
    // Decision, rule and protection are on the page.
    assert!(main.contains("data-mode=\"on\""), "{main}");
    assert!(main.contains("Decided by: the product"), "{main}");
    assert!(
        main.contains("<tr data-point=\"os_version\"><td><code>os_version</code></td>"),
        "{main}"
    );
    assert!(
        main.contains("<td class=\"privacy\">scrubbed</td>"),
        "{main}"
    );
    // Charts were drawn from the demo's events.
    let demo_section = section(&dom, &demo);
    assert!(
        demo_section.contains("<svg class=\"chart\""),
        "{demo_section}"
    );
    assert!(
        demo_section.contains("Events per day and point"),
        "{demo_section}"
    );

    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/")
        .join("view-screenshot.png");
    let _ = std::fs::remove_file(&target);
    screenshot(browser, &running.url, &target, 1280, 2400);
    let png = std::fs::read(&target).expect("a screenshot was saved");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    assert!(png.len() > 10_000, "an empty screenshot");
}

/// Sends one raw request and returns the status code.
fn status(address: &str, request: &str) -> u16 {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {reply:?}"))
}

#[test]
fn requests_without_the_secret_or_from_a_foreign_host_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = candor_testkit::dead_port();
    let running = view(dir.path(), port);
    let rest = running.url.trim_start_matches("http://");
    let (address, path) = rest.split_at(rest.find('/').expect("a path"));
    assert_eq!(address, format!("127.0.0.1:{port}"), "--port is used");
    let secret = path.trim_matches('/');
    assert_eq!(secret.len(), 32, "{secret}");
    let get = |path: &str, host: &str| {
        status(
            address,
            &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
    };
    assert_eq!(get(path, address), 200);
    assert_eq!(get(path, &format!("localhost:{port}")), 200);
    assert_eq!(get(path, &format!("[::1]:{port}")), 200);
    // No secret, or a wrong one: nothing.
    assert_eq!(get("/", address), 404);
    assert_eq!(get(&format!("/{}/", "0".repeat(32)), address), 404);
    assert_eq!(get(&format!("{path}../"), address), 404);
    // DNS rebinding: the secret is right, the name is another site's.
    assert_eq!(get(path, &format!("attacker.example:{port}")), 421);
    assert_eq!(get(path, "127.0.0.1"), 421);
    assert_eq!(
        get(path, &format!("127.0.0.1:{}", port.wrapping_add(1))),
        421
    );
    // Read-only.
    assert_eq!(
        status(
            address,
            &format!(
                "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
        ),
        405
    );
    // A second run has another secret.
    let other = view(dir.path(), 0);
    assert!(!other.url.contains(secret));
}

/// Without `--no-open`, the page is opened with `$BROWSER` (no shell). The browser is never
/// given the secret URL, which any local user could read from its command line: it gets a page
/// only this user can read (`0600` in a `0700` folder) that redirects to the URL. When the view
/// is stopped (`SIGTERM`, Ctrl-C), that page goes too.
#[test]
fn the_page_is_opened_with_the_users_browser_without_the_secret_in_its_arguments() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tmp");
    let runtime = tempfile::tempdir().expect("runtime folder");
    let opened = dir.path().join("opened");
    let script = dir.path().join("browser.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" > '{}'\ncat /proc/$$/cmdline >> '{}'\n",
            opened.display(),
            opened.display()
        ),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let mut child = Command::new(env!("CARGO_BIN_EXE_candor"))
        .env_clear()
        .env("CANDOR_CONFIG_DIR", dir.path())
        .env("BROWSER", &script)
        .env("XDG_RUNTIME_DIR", runtime.path())
        .args(["view", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("candor view starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        for _ in 0..2 {
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
        }
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let mut running = View {
        child,
        url: rx
            .recv_timeout(Duration::from_secs(30))
            .expect("URL")
            .trim()
            .to_owned(),
    };
    let secret = running
        .url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .expect("secret")
        .to_owned();
    assert_eq!(secret.len(), 32, "{}", running.url);
    let second = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("second line");
    assert!(second.starts_with("opened with "), "{second}");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::fs::metadata(&opened).map_or(true, |m| m.len() == 0)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(100));
    let seen = std::fs::read_to_string(&opened).expect("the browser ran");
    assert!(
        !seen.contains(&secret),
        "the secret reached a command line: {seen}"
    );
    let page = std::path::PathBuf::from(seen.lines().next().expect("argument").trim());
    assert!(page.starts_with(runtime.path()), "{}", page.display());
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&page), 0o600);
    let folder = page.parent().expect("folder").to_owned();
    assert_eq!(mode(&folder), 0o700);
    let html = std::fs::read_to_string(&page).expect("page");
    assert!(
        html.contains(&format!(
            "http-equiv=\"refresh\" content=\"0;url={}\"",
            running.url
        )),
        "{html}"
    );
    // Stopped as a terminal or a session manager stops it: the page goes with the view.
    let status = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while running.child.try_wait().expect("wait").is_none() && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        running.child.try_wait().expect("wait").is_some(),
        "the view stops"
    );
    assert!(!folder.exists(), "the redirect page outlived the view");
}

/// What a folder holds, to the byte and the mode: every path under `root` with its kind,
/// mode, size, modification time and inode.
fn inventory(root: &Path) -> Vec<(String, u32, u64, std::time::SystemTime, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).expect("meta");
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).expect("dir").flatten() {
                stack.push(entry.path());
            }
        }
        found.push((
            path.strip_prefix(root)
                .expect("inside")
                .display()
                .to_string(),
            meta.mode(),
            if meta.is_dir() { 0 } else { meta.len() },
            meta.modified().expect("mtime"),
            meta.ino(),
        ));
    }
    found.sort();
    found
}

/// `candor view` changes nothing: not the spool's leftovers (an hour-old `.tmp-` file), not a
/// folder's mode a user widened, not a single file or time stamp, however many times the page
/// is loaded.
#[test]
fn the_viewer_changes_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tmp");
    let demo = candor(
        dir.path(),
        &["demo", "contrast-dotnet-agent", "--seconds", "0"],
    );
    assert!(demo.status.success());
    let spool = dir.path().join("spool/contrast-dotnet-agent");
    std::fs::create_dir_all(&spool).expect("spool");
    std::fs::write(
        spool.join("0001700000000000-0000000001-00000000.jsonl"),
        serde_json::to_string(&candor_testkit::agent_event(3)).expect("json") + "\n",
    )
    .expect("batch");
    let leftover = spool.join(".tmp-crashed");
    std::fs::write(&leftover, "half a batch").expect("leftover");
    std::fs::File::options()
        .write(true)
        .open(&leftover)
        .and_then(|f| f.set_modified(std::time::SystemTime::now() - Duration::from_secs(7200)))
        .expect("age it");
    std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o755)).expect("widen");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("widen");
    std::fs::write(dir.path().join("config.toml"), "mode = \"On\"\n").expect("config");
    let before = inventory(dir.path());
    let running = view(dir.path(), 0);
    let rest = running.url.trim_start_matches("http://");
    let (address, path) = rest.split_at(rest.find('/').expect("a path"));
    for _ in 0..3 {
        assert_eq!(
            status(
                address,
                &format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
            ),
            200
        );
    }
    drop(running);
    assert_eq!(
        inventory(dir.path()),
        before,
        "the viewer changed the folder"
    );
}
