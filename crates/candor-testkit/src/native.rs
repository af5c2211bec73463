//! Hosts in other languages for the C ABI tests: the machine's C compiler and Python 3, and
//! where `candor-ffi`'s shared library and headers are.
//!
//! Without a C compiler or Python a test is skipped (with a line on stderr), except under CI
//! (`CI=true` or `1`), where it fails: `cargo xtask test` installs both when missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn runs(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn missing(message: &str) {
    if crate::tools_required() {
        panic!("{message}");
    }
    #[allow(clippy::print_stderr)]
    {
        eprintln!("skipping: {message}");
    }
}

/// The C compiler (`cc`, else `gcc`, else `clang`), or `None` (and the test is skipped).
pub fn c_compiler() -> Option<&'static str> {
    let found = ["cc", "gcc", "clang"]
        .into_iter()
        .find(|cc| runs(cc, "--version"));
    if found.is_none() {
        missing("no C compiler (cc, gcc or clang); `cargo xtask test` installs Debian's gcc");
    }
    found
}

/// Python 3's interpreter (the real executable, so it runs with an empty environment), or
/// `None` (and the test is skipped).
pub fn python3() -> Option<PathBuf> {
    let found = ["python3", "python"].into_iter().find_map(|p| {
        let output = Command::new(p)
            .args([
                "-c",
                "import ctypes, json, sys; assert sys.version_info >= (3, 6); print(sys.executable)",
            ])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let path = String::from_utf8(output.stdout).ok()?;
        let path = PathBuf::from(path.trim());
        (output.status.success() && path.is_file()).then_some(path)
    });
    if found.is_none() {
        missing("no Python 3 with ctypes; `cargo xtask test` installs Debian's python3");
    }
    found
}

/// `candor-ffi`'s Python binding and hosts (`candor_ctypes.py`, `hosts.py`).
pub fn ffi_python_dir() -> PathBuf {
    ffi_crate().join("tests/python")
}

/// `candor-ffi`'s C hosts.
pub fn ffi_c_dir() -> PathBuf {
    ffi_crate().join("tests/c")
}

/// `crates/candor-ffi`.
pub fn ffi_crate() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../candor-ffi")
}

/// `candor-ffi`'s headers: `candor.h` and one per built-in catalogue.
pub fn ffi_include() -> PathBuf {
    ffi_crate().join("include")
}

/// The folder holding `libcandor_ffi.so`, built by cargo beside the running test (as the
/// crate's own library for its tests, as a dependency for others'): the test binary's folder
/// (`target/<profile>/deps`), or the one above it.
pub fn ffi_library_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap().to_path_buf();
    for dir in [deps.clone(), deps.parent().unwrap().to_path_buf()] {
        if dir.join("libcandor_ffi.so").is_file() {
            return dir;
        }
    }
    panic!(
        "libcandor_ffi.so is not beside {}: the test's crate must depend on candor-ffi",
        exe.display()
    );
}

/// The shared library's path.
pub fn ffi_library() -> PathBuf {
    ffi_library_dir().join("libcandor_ffi.so")
}

/// How to link the library: the shared one (found at run time through an rpath) or the
/// static one (with the system libraries Rust's standard library needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linkage {
    Shared,
    Static,
}

/// Compiles `source` (a C file) with `cc` against the headers and the library, warnings as
/// errors; returns the program's path in `dir`.
pub fn compile_c(cc: &str, source: &Path, dir: &Path) -> PathBuf {
    compile_c_linked(cc, source, dir, Linkage::Shared)
}

/// [`compile_c`] with the library linked as `linkage` says.
pub fn compile_c_linked(cc: &str, source: &Path, dir: &Path, linkage: Linkage) -> PathBuf {
    let stem = source.file_stem().unwrap().to_string_lossy();
    let exe = dir.join(match linkage {
        Linkage::Shared => stem.into_owned(),
        Linkage::Static => format!("{stem}-static"),
    });
    let lib_dir = ffi_library_dir();
    let mut command = Command::new(cc);
    command
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread", "-g"])
        .arg("-I")
        .arg(ffi_include())
        .arg(source)
        .arg("-o")
        .arg(&exe);
    match linkage {
        Linkage::Shared => {
            command
                .arg("-L")
                .arg(&lib_dir)
                .arg("-lcandor_ffi")
                .arg(format!("-Wl,-rpath,{}", lib_dir.display()));
        }
        Linkage::Static => {
            command.arg(lib_dir.join("libcandor_ffi.a")).args([
                "-lgcc_s",
                "-lutil",
                "-lrt",
                "-lpthread",
                "-lm",
                "-ldl",
                "-lc",
            ]);
        }
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{cc} could not build {}:\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    exe
}

/// Runs `command` with no inherited environment but `env`, killed (and the test failed)
/// past `deadline`. Its output is read as it comes, so a chatty program never blocks on a
/// full pipe.
pub fn run(mut command: Command, env: &[(&str, &str)], deadline: Duration) -> Output {
    command
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<_>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<_>));
    let end = Instant::now() + deadline;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "still running after {deadline:?}:\n{}\n{}",
                String::from_utf8_lossy(&stdout.join().unwrap()),
                String::from_utf8_lossy(&stderr.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}
