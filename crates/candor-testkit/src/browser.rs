//! Debian's headless Chromium, for tests of Candor's pages in a real browser.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The Chromium binary on this machine. Without one, a test is skipped (with a line on
/// stderr), except under CI (`CI=true` or `1`), where a missing browser fails it: `.ci/run`
/// installs Debian's `chromium`.
pub fn chromium() -> Option<&'static str> {
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
    if crate::tools_required() {
        panic!("{message}");
    }
    #[allow(clippy::print_stderr)]
    {
        eprintln!("skipping: {message}");
    }
    None
}

/// Runs headless Chromium on `url` with a fresh profile and `extra` arguments; returns its
/// stdout. Killed (and the test failed) past 90 s.
fn headless(browser: &str, url: &str, extra: &[String]) -> String {
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
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Read while it runs: a DOM larger than the pipe's buffer would otherwise block Chromium
    // on its write and it would never exit.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("Chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    String::from_utf8_lossy(&reader.join().unwrap()).into_owned()
}

/// The DOM after the page loaded (and any script ran), as Chromium serialises it.
pub fn dump_dom(browser: &str, url: &str) -> String {
    headless(browser, url, &["--dump-dom".to_owned()])
}

/// Saves a PNG screenshot of the page at `url` to `path`, in a `width`×`height` window.
pub fn screenshot(browser: &str, url: &str, path: &Path, width: u32, height: u32) {
    headless(
        browser,
        url,
        &[
            format!("--screenshot={}", path.display()),
            format!("--window-size={width},{height}"),
            "--hide-scrollbars".to_owned(),
        ],
    );
}
