//! The contract's finer points, each from a real C program compiled here: a process that
//! forks while its threads record (`tests/c/fork.c`), and the refusals a careless host meets
//! (`tests/c/contract.c`: a host opt-out the catalogue does not follow, secrets in an endpoint
//! and control characters kept out of messages, output pointers checked before a call acts,
//! withdrawn events counted once, measurements that are not finite or negative, the caps on
//! handles and builders). And the header's own promise: C99 or later, said at once to a C89
//! compiler.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use candor_testkit::native;

/// Compiles and runs `tests/c/<name>.c` with a fresh state folder; returns its stdout.
fn run_host(name: &str) -> Option<String> {
    let cc = native::c_compiler()?;
    let dir = tempfile::tempdir().expect("tmp");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/c/{name}.c"));
    let exe = native::compile_c(cc, &source, dir.path());
    let state = dir.path().join("state");
    std::fs::create_dir(&state).expect("state dir");
    let mut command = Command::new(&exe);
    command.arg(&state);
    let output = native::run(command, &[], Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    Some(stdout)
}

/// Children forked while four threads record and read the status: every call on the
/// parent's handle and builder is refused with `CANDOR_CODE_FORKED` at once (no child hangs
/// on a lock a vanished thread held, none records into a queue nobody drains), each child
/// builds a handle of its own that delivers, and the parent carries on.
#[test]
fn a_forked_child_is_refused_the_parents_handles_and_builds_its_own() {
    let Some(stdout) = run_host("fork") else {
        return;
    };
    assert!(stdout.contains("8 children, 0 failed"), "{stdout}");
}

#[test]
fn a_careless_c_host_is_refused_before_anything_happens() {
    let Some(stdout) = run_host("contract") else {
        return;
    };
    assert!(stdout.contains(", 0 failed"), "{stdout}");
}

/// `candor.h` says it needs C99: a C89 compiler stops at that line, a C99 one compiles it
/// (and the typed headers) with every pedantic warning an error.
#[test]
fn the_header_says_it_needs_c99_and_compiles_as_c99() {
    let Some(cc) = native::c_compiler() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let source = dir.path().join("uses_the_headers.c");
    std::fs::write(
        &source,
        "#include \"candor.h\"\n#include \"candor_contrast_dotnet_agent.h\"\n\
         #include \"candor_aspire_dashboard.h\"\n\
         int main(void) { return candor_abi_version() == CANDOR_ABI_VERSION ? 0 : 1; }\n",
    )
    .expect("source");
    let compile = |std: &str| {
        Command::new(cc)
            .args([
                std,
                "-pedantic-errors",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-fsyntax-only",
            ])
            .arg("-I")
            .arg(native::ffi_include())
            .arg(&source)
            .output()
            .expect("the C compiler runs")
    };
    let c89 = compile("-std=c89");
    let said = String::from_utf8_lossy(&c89.stderr);
    assert!(!c89.status.success(), "C89 is not enough");
    assert!(said.contains("candor.h needs C99 or later"), "{said}");
    for std in ["-std=c99", "-std=c11", "-std=c17"] {
        let out = compile(std);
        assert!(
            out.status.success(),
            "{std}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
