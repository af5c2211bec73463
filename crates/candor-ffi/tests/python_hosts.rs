//! Python through ctypes, with every function declared as a P/Invoke or ctypes binding
//! declares it (tests/python/candor_ctypes.py): wrong Python types are stopped by ctypes, and
//! what gets through (None, wrapped negative lengths, invalid UTF-8, 1 MB, made-up and stale
//! handles, Python threads racing a shutdown) is refused by Candor with its code.

use std::process::Command;
use std::time::Duration;

use candor_testkit::native;

/// Runs `hosts.py <host>` with a fresh state folder; returns its stdout.
fn run_host(host: &str) -> Option<String> {
    let python = native::python3()?;
    let state = tempfile::tempdir().expect("tmp");
    let mut command = Command::new(python);
    command
        .arg("-B") // no __pycache__ beside the sources
        .arg(native::ffi_python_dir().join("hosts.py"))
        .arg(host)
        .arg(native::ffi_library())
        .arg(state.path());
    let output = native::run(command, &[], Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(stdout)
}

#[test]
fn a_hostile_python_caller_gets_codes_never_a_crash() {
    let Some(stdout) = run_host("abuse") else {
        return;
    };
    assert!(stdout.contains("checks passed"), "{stdout}");
}

/// `os.fork()` (what `multiprocessing` does on Linux) while Python threads record: each child
/// is refused the parent's handle at once with `CANDOR_CODE_FORKED`, never hangs, and
/// delivers through a handle of its own.
#[test]
fn a_python_child_forked_while_threads_record_never_hangs() {
    let Some(stdout) = run_host("fork") else {
        return;
    };
    assert!(stdout.contains("10 of 10 children passed"), "{stdout}");
}
