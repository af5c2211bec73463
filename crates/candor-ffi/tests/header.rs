//! The committed `include/candor.h` is what cbindgen writes from this crate's declarations
//! now: a changed signature without a regenerated header fails here (and in
//! `cargo xtask codegen --check`, which writes it the same way).

use std::path::Path;

#[test]
fn the_committed_header_matches_the_code() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen reads the crate");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let committed = std::fs::read(dir.join("include/candor.h")).expect("include/candor.h");
    assert!(
        generated == committed,
        "include/candor.h is stale: run `cargo xtask codegen` and commit it"
    );
}

/// README's P/Invoke declarations: one for every function of `candor.h`, each with the C
/// calling convention (32-bit Windows would otherwise call them as `stdcall`).
#[test]
fn the_readme_declares_every_function_for_pinvoke_with_cdecl() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(dir.join("include/candor.h")).expect("candor.h");
    let readme = std::fs::read_to_string(dir.join("../../README.md")).expect("README.md");
    let csharp = readme
        .split("```csharp")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README has a C# block");
    let functions: Vec<&str> = header
        .lines()
        .filter_map(|line| {
            let name = line.split('(').next()?.rsplit([' ', '*']).next()?;
            (name.starts_with("candor_") && line.contains('(')).then_some(name)
        })
        .collect();
    assert!(functions.len() > 30, "{functions:?}");
    let lines: Vec<&str> = csharp.lines().map(str::trim).collect();
    for function in functions {
        let declared = format!(" {function}(");
        let at = lines
            .iter()
            .position(|l| l.starts_with("public static partial") && l.contains(&declared))
            .unwrap_or_else(|| panic!("README declares no {function}"));
        assert!(
            at > 0
                && lines[at - 1].starts_with("[LibraryImport(Lib)")
                && lines[at - 1].contains("CallConvCdecl"),
            "{function} lacks the C calling convention: {}",
            lines[at.saturating_sub(1)]
        );
    }
}
