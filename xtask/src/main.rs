//! Candor's development tasks, run as `cargo xtask <task>` (alias in `.cargo/config.toml`).
//!
//! - `docs`: regenerate `docs/` (disclosure pages, catalogue exports, JSON Schema) from the
//!   built-in catalogues.
//! - `docs --check`: write nothing; exit 1 and name each stale file when `docs/` does not match.
//!   Both print a warning for each built-in data point whose expiry date is at most 30 days
//!   away (UTC, by this machine's clock) or has passed.
//! - `codegen`: regenerate `crates/candor-collect/src/generated/` (typed point ids and one
//!   typed recorder per built-in catalogue) and `crates/candor-ffi/include/` (`candor.h`,
//!   written by cbindgen from candor-ffi's declarations, and one header of typed C recorders
//!   per built-in catalogue); `codegen --check` writes nothing and fails when either is
//!   stale. `docs` runs it too, so one command brings everything generated up to date.
//! - `test [args…]`: the whole test suite. It first installs what the tests need and a fresh
//!   machine lacks: the `rotel` OTLP collector (from PyPI, into `target/tools/`), and Debian's
//!   `postgresql`, `chromium`, `gcc` (with `libc6-dev`) and `python3` (with `apt-get`, when
//!   run as root; otherwise it names them and those tests say they were skipped). Then it runs
//!   `cargo test --workspace --all-features --locked [args…]` and, for the whole suite (no
//!   args), `cargo test --workspace --all-features --locked --bench '*'`: every criterion bench
//!   once, in criterion's test mode, so a bench that panics or no longer builds fails the suite
//!   (the benches check that what they time does its job; timing is left to `cargo bench`).
//!
//! The generator itself lives in the `candor-docs` library, so the test suite and the `candor
//! docs` command run exactly the same code as this task.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["docs"] => docs(false),
        ["docs", "--check"] => docs(true),
        ["codegen"] => codegen(false),
        ["codegen", "--check"] => codegen(true),
        ["test", rest @ ..] => test(rest),
        _ => {
            eprintln!(
                "usage: cargo xtask docs [--check] | cargo xtask codegen [--check] | cargo xtask \
                 test [cargo test args]"
            );
            ExitCode::from(2)
        }
    }
}

fn workspace_root() -> PathBuf {
    // xtask/ sits directly under the workspace root.
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map_or(manifest.clone(), PathBuf::from)
}

fn docs(check_only: bool) -> ExitCode {
    let catalogues = match candor_schema::builtin::catalogues() {
        Ok(catalogues) => catalogues,
        Err(e) => {
            eprintln!("xtask: built-in catalogue is invalid: {e}");
            return ExitCode::from(2);
        }
    };
    // Points that stop within 30 days (UTC, by this machine's clock) or have stopped: the pages
    // say when each stops, and whoever regenerates them hears it first. A warning, not a
    // failure: the committed docs must not depend on the day they are checked.
    let today = candor_schema::Date::from_system_time(std::time::SystemTime::now());
    for catalogue in catalogues.iter() {
        for warning in catalogue.warnings(today) {
            eprintln!("xtask: warning: {warning}");
        }
    }
    if codegen(check_only) != ExitCode::SUCCESS {
        return ExitCode::FAILURE;
    }
    let files = candor_docs::generate(catalogues.iter());
    let out_dir = workspace_root().join("docs");
    sync(
        &files,
        &out_dir,
        "docs",
        candor_docs::OWNED_DIRS,
        candor_docs::GENERATED_NOTICE,
        check_only,
    )
}

/// Where `cargo xtask codegen` writes, relative to the workspace root.
const GENERATED_CODE_DIR: &str = "crates/candor-collect/src/generated";

/// The C ABI crate, whose `include/` `cargo xtask codegen` writes.
const FFI_CRATE_DIR: &str = "crates/candor-ffi";

/// `candor.h` as cbindgen writes it from candor-ffi's declarations and `cbindgen.toml`
/// (candor-ffi's `header` test generates it the same way and compares).
fn ffi_header() -> Result<String, String> {
    let dir = workspace_root().join(FFI_CRATE_DIR);
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml"))?;
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .map_err(|e| format!("cbindgen: {e}"))?;
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).map_err(|e| e.to_string())
}

fn codegen(check_only: bool) -> ExitCode {
    let catalogues = match candor_schema::builtin::catalogues() {
        Ok(catalogues) => catalogues,
        Err(e) => {
            eprintln!("xtask: built-in catalogue is invalid: {e}");
            return ExitCode::from(2);
        }
    };
    let files = candor_docs::collect_crate_files(catalogues.iter());
    let out_dir = workspace_root().join(GENERATED_CODE_DIR);
    let rust = sync(
        &files,
        &out_dir,
        GENERATED_CODE_DIR,
        &[""],
        candor_docs::CODEGEN_NOTICE,
        check_only,
    );
    let header = match ffi_header() {
        Ok(header) => header,
        Err(e) => {
            eprintln!("xtask: {e}");
            return ExitCode::from(2);
        }
    };
    let mut files = candor_docs::c_header_files(catalogues.iter());
    files.push(candor_docs::GeneratedFile {
        path: "candor.h".to_owned(),
        contents: header,
    });
    let include = format!("{FFI_CRATE_DIR}/include");
    let c = sync(
        &files,
        &workspace_root().join(&include),
        &include,
        &[""],
        candor_docs::C_NOTICE,
        check_only,
    );
    if rust == ExitCode::SUCCESS { c } else { rust }
}

/// Brings `out_dir` in line with `files` (or, with `check_only`, says whether it is), through
/// the one ownership rule of `candor-docs`: only files stamped as generated are rewritten or
/// removed; anything else is reported and left alone.
fn sync(
    files: &[candor_docs::GeneratedFile],
    out_dir: &std::path::Path,
    label: &str,
    dirs: &[&str],
    stamp: &str,
    check_only: bool,
) -> ExitCode {
    let task = if label == "docs" { "docs" } else { "codegen" };
    if check_only {
        match candor_docs::check_owned(files, out_dir, dirs, stamp) {
            Ok(report) => {
                let stale: Vec<_> = report.iter().filter(|s| s.is_stale()).collect();
                for foreign in report.iter().filter(|s| !s.is_stale()) {
                    eprintln!("xtask: {label}/{foreign}");
                }
                if stale.is_empty() {
                    println!("{label}/ is current ({} generated files)", files.len());
                    return ExitCode::SUCCESS;
                }
                eprintln!("{label}/ is stale; run `cargo xtask {task}` and commit the result:");
                for file in stale {
                    eprintln!("  {label}/{file}");
                }
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("xtask: {e}");
                ExitCode::from(2)
            }
        }
    } else {
        match candor_docs::write_owned(files, out_dir, dirs, stamp) {
            Ok(left_alone) => {
                for entry in &left_alone {
                    eprintln!("xtask: {label}/{entry}");
                }
                println!("wrote {} generated files under {label}/", files.len());
                if left_alone.iter().any(candor_docs::Stale::is_stale) {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                }
            }
            Err(e) => {
                eprintln!("xtask: {e}");
                ExitCode::from(2)
            }
        }
    }
}

/// The rotel release the end-to-end test is written against.
const ROTEL_VERSION: &str = "0.0.1a15";

/// Installs rotel into `target/tools/rotel` unless it is there; returns the agent binary.
fn ensure_rotel() -> Result<PathBuf, String> {
    let dir = workspace_root().join("target/tools/rotel");
    let agent = dir.join("rotel/rotel-agent");
    let marker = dir.join(format!(".installed-{ROTEL_VERSION}"));
    if agent.is_file() && marker.is_file() {
        return Ok(agent);
    }
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| {
            std::process::Command::new(p)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .ok_or("Python 3 with pip is needed to install rotel (the OTLP collector the end-to-end test uses)")?;
    println!(
        "xtask: installing rotel {ROTEL_VERSION} into {}",
        dir.display()
    );
    let status = std::process::Command::new(python)
        .args(["-m", "pip", "install", "--quiet", "--upgrade", "--target"])
        .arg(&dir)
        .arg(format!("rotel=={ROTEL_VERSION}"))
        .status()
        .map_err(|e| format!("cannot run pip: {e}"))?;
    if !status.success() || !agent.is_file() {
        return Err(format!("pip could not install rotel {ROTEL_VERSION}"));
    }
    std::fs::write(&marker, "").map_err(|e| e.to_string())?;
    Ok(agent)
}

/// Whether a C compiler on this machine builds a program with the C library's headers (the C
/// ABI tests compile their hosts with it).
fn has_c_compiler() -> bool {
    use std::io::Write;
    ["cc", "gcc"].into_iter().any(|cc| {
        let child = std::process::Command::new(cc)
            .args(["-x", "c", "-", "-o", "/dev/null", "-pthread"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let Ok(mut child) = child else {
            return false;
        };
        let program = b"#include <pthread.h>\n#include <stdint.h>\n#include <stdio.h>\nint main(void) { return 0; }\n";
        let written = child
            .stdin
            .take()
            .is_some_and(|mut stdin| stdin.write_all(program).is_ok());
        child.wait().is_ok_and(|s| s.success()) && written
    })
}

/// Whether Python 3 with `ctypes` runs (the C ABI's Python tests, and pip for rotel).
fn has_python3() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import ctypes, json"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The Debian packages the tests drive for real: PostgreSQL (the ingest store, run by the tests
/// as an unprivileged user), Chromium (the pages, loaded headless), a C compiler with the C
/// library's headers and Python 3 (hosts of the C ABI), and OpenSSL's libcrypto with its
/// headers (SQLCipher links it).
fn ensure_system_packages() -> Result<(), String> {
    let has_chromium = std::process::Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let has_postgres = std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|versions| {
        versions
            .flatten()
            .any(|v| v.path().join("bin/initdb").is_file())
    });
    let missing: Vec<&str> = [
        (&["chromium"][..], has_chromium),
        (&["postgresql"][..], has_postgres),
        (&["gcc", "libc6-dev"][..], has_c_compiler()),
        (&["python3", "python3-pip"][..], has_python3()),
        // SQLCipher (the ingest's encrypted SQLite) links the system's libcrypto.
        (
            &["libssl-dev"][..],
            std::path::Path::new("/usr/include/openssl/crypto.h").is_file(),
        ),
    ]
    .into_iter()
    .filter(|(_, present)| !present)
    .flat_map(|(packages, _)| packages.iter().copied())
    .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if !root {
        println!(
            "xtask: not root, so not installing {}; the tests that need them will say they were skipped (CI=true makes them fail)",
            missing.join(", ")
        );
        return Ok(());
    }
    println!("xtask: installing {} from Debian", missing.join(", "));
    let apt = |args: &[&str]| {
        std::process::Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|e| format!("cannot run apt-get: {e}"))
            .and_then(|s| {
                s.success()
                    .then_some(())
                    .ok_or_else(|| format!("apt-get {} failed", args.join(" ")))
            })
    };
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend(&missing);
    apt(&install)
}

fn test(rest: &[&str]) -> ExitCode {
    if let Err(e) = ensure_system_packages() {
        eprintln!("xtask: {e}");
        return ExitCode::from(2);
    }
    let agent = match ensure_rotel() {
        Ok(agent) => agent,
        Err(e) => {
            eprintln!("xtask: {e}");
            return ExitCode::from(2);
        }
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let run = |extra: &[&str]| {
        std::process::Command::new(&cargo)
            .args(["test", "--workspace", "--all-features", "--locked"])
            .args(extra)
            .env("CANDOR_ROTEL_AGENT", &agent)
            // Every tool the tests need was installed above: one missing fails its test.
            .env("CANDOR_REQUIRE_TOOLS", "1")
            .current_dir(workspace_root())
            .status()
    };
    // Arguments narrow the run to some tests; the benches (whose arguments are criterion's, not
    // libtest's) run with the whole suite only.
    let mut runs = vec![rest.to_vec()];
    if rest.is_empty() {
        runs.push(vec!["--bench", "*"]);
    }
    for extra in runs {
        match run(&extra) {
            Ok(s) if s.success() => {}
            Ok(_) => return ExitCode::FAILURE,
            Err(e) => {
                eprintln!("xtask: cannot run cargo test: {e}");
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}
