//! Python through ctypes, with every function declared as a P/Invoke or ctypes binding
//! declares it (tests/python/candor_ctypes.py): wrong Python types are stopped by ctypes, and
//! what gets through (None, wrapped negative lengths, invalid UTF-8, 1 MB, made-up and stale
//! handles, Python threads racing a shutdown) is refused by Candor with its code.

use std::process::Command;
use std::time::Duration;

use candor_testkit::native;

#[test]
fn a_hostile_python_caller_gets_codes_never_a_crash() {
    let Some(python) = native::python3() else {
        return;
    };
    let state = tempfile::tempdir().expect("tmp");
    let mut command = Command::new(python);
    command
        .arg("-B") // no __pycache__ beside the sources
        .arg(native::ffi_python_dir().join("hosts.py"))
        .arg("abuse")
        .arg(native::ffi_library())
        .arg(state.path());
    let output = native::run(command, &[], Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("checks passed"), "{stdout}");
}
