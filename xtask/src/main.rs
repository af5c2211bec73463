//! Candor's development tasks, run as `cargo xtask <task>` (alias in `.cargo/config.toml`).
//!
//! - `docs`: regenerate `docs/` (disclosure pages, catalogue exports, JSON Schema) from the
//!   built-in catalogues.
//! - `docs --check`: write nothing; exit 1 and name each stale file when `docs/` does not match.
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
        _ => {
            eprintln!("usage: cargo xtask docs [--check]");
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
    let files = candor_docs::generate(catalogues.iter());
    let out_dir = workspace_root().join("docs");
    if check_only {
        match candor_docs::check(&files, &out_dir) {
            Ok(stale) if stale.is_empty() => {
                println!("docs/ is current ({} generated files)", files.len());
                ExitCode::SUCCESS
            }
            Ok(stale) => {
                eprintln!("docs/ is stale; run `cargo xtask docs` and commit the result:");
                for file in stale {
                    eprintln!("  docs/{file}");
                }
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("xtask: {e}");
                ExitCode::from(2)
            }
        }
    } else {
        match candor_docs::write(&files, &out_dir) {
            Ok(()) => {
                println!("wrote {} generated files under docs/", files.len());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("xtask: {e}");
                ExitCode::from(2)
            }
        }
    }
}
