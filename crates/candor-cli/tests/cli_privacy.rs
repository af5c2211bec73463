//! `candor scrub` and `candor hash` as subprocesses.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn candor_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_candor"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("candor starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("candor ends")
}

const TRACE: &str =
    "System.IO.IOException: cannot open C:\\Users\\jdoe\\secrets.txt for jane@example.com
   at Customer.App.Load(String path) in C:\\src\\App.cs:line 3
   at Contrast.Agent.Hook.Invoke(Object target) in D:\\a\\Hook.cs:line 9
   at System.IO.File.Open(String path, FileMode mode)
";

#[test]
fn scrub_filters_frames_by_the_products_namespaces_and_scrubs_messages() {
    let out = candor_with_stdin(
        &["scrub", "--product", "contrast-dotnet-agent"],
        TRACE.as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(
        text,
        "System.IO.IOException: cannot open C:\\Users\\[user]\\secrets.txt for [email]
   [1 frame omitted]
   at Contrast.Agent.Hook.Invoke(Object)
   at System.IO.File.Open(String, FileMode)
"
    );
}

#[test]
fn scrub_without_namespaces_keeps_no_frame() {
    let out = candor_with_stdin(&["scrub"], TRACE.as_bytes());
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(text.contains("[3 frames omitted]"), "{text}");
    let out = candor_with_stdin(
        &["scrub", "--allow-namespace", "Customer"],
        TRACE.as_bytes(),
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(text.contains("at Customer.App.Load(String)"), "{text}");
}

#[test]
fn scrub_handles_binary_input_and_length_limits() {
    let out = candor_with_stdin(
        &["scrub", "--max-len", "30"],
        b"\xff\xfe token=abc123 \x00\x01 and a much longer tail of words",
    );
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("UTF-8 output from binary input");
    assert!(text.len() <= 30, "{text:?}");
    assert!(!text.contains("abc123"), "{text:?}");
}

#[test]
fn hash_prints_what_candor_sends() {
    let out = candor_with_stdin(&["hash", "--sha256", "abc"], b"");
    assert_eq!(
        String::from_utf8(out.stdout).expect("UTF-8"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
    );
    let upper = candor_with_stdin(&["hash", "--sha256", "--mac", "3C-52-82-1A-2B-3C"], b"");
    let lower = candor_with_stdin(&["hash", "--sha256", "--mac", "3c:52:82:1a:2b:3c"], b"");
    assert_eq!(
        upper.stdout, lower.stdout,
        "MAC addresses are normalised before hashing"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("key");
    std::fs::write(&key, "0123456789abcdef0123456789abcdef\n").expect("write key");
    let keyed = candor_with_stdin(
        &[
            "hash",
            "--key-file",
            key.to_str().expect("UTF-8"),
            "restart",
        ],
        b"",
    );
    let text = String::from_utf8(keyed.stdout).expect("UTF-8");
    let (key_id, hex) = text.trim().split_once(':').expect("key id and hash");
    assert!(key_id.starts_with('k') && key_id.len() == 9, "{key_id}");
    assert_eq!(hex.len(), 64);
}

#[test]
fn hash_errors_are_one_line() {
    let none = candor_with_stdin(&["hash", "x"], b"");
    assert_eq!(none.status.code(), Some(2));
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("short");
    std::fs::write(&key, "short").expect("write");
    let short = candor_with_stdin(
        &["hash", "--key-file", key.to_str().expect("UTF-8"), "x"],
        b"",
    );
    assert_eq!(short.status.code(), Some(2));
    let err = String::from_utf8(short.stderr).expect("UTF-8");
    assert_eq!(err.lines().count(), 1);
    assert!(err.contains("at least 16"), "{err}");
    let bad_mac = candor_with_stdin(&["hash", "--sha256", "--mac", "nope"], b"");
    assert_eq!(bad_mac.status.code(), Some(2));
}
