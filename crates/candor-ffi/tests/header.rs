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
