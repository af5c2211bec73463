//! Real C programs, compiled by the machine's C compiler against the generated header and
//! linked with the library (shared, and static), as a .NET profiler or any native host would.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use candor_testkit::native::{self, Linkage};

fn abuse(linkage: Linkage) {
    let Some(cc) = native::c_compiler() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/abuse.c");
    let exe = native::compile_c_linked(cc, &source, dir.path(), linkage);
    let state = dir.path().join("state");
    std::fs::create_dir(&state).expect("state dir");
    let mut command = Command::new(&exe);
    command.arg(&state);
    let output = native::run(command, &[], Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains(", 0 failed"), "{stdout}");
    // The file sink received what the first handle recorded: the exception.
    let events = std::fs::read_to_string(state.join("events.jsonl")).expect("events");
    assert!(events.contains("\"sensor_exceptions\""), "{events}");
}

/// Every argument the ABI refuses, handles used after shutdown and shut down twice, threads
/// racing record against shutdown and shutting one handle down together: codes, never a crash.
#[test]
fn a_hostile_c_host_gets_codes_never_a_crash() {
    abuse(Linkage::Shared);
}

/// The same program linked with the static library, as a profiler shipped as one file would be.
#[test]
fn the_static_library_links_and_behaves_the_same() {
    abuse(Linkage::Static);
}
