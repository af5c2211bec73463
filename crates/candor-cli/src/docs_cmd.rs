//! `candor docs`: the same pages `cargo xtask docs` makes for Candor, for any catalogue.

use std::io::Write;
use std::path::Path;

use crate::args::DocsArgs;
use crate::{CliError, source};

pub(crate) fn run(
    file: Option<&Path>,
    args: &DocsArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let catalogues = source::catalogues(file)?;
    let files = candor_docs::generate(catalogues.iter());
    if args.check {
        let report = candor_docs::check(&files, &args.out).map_err(CliError::Docs)?;
        let mut err = std::io::stderr().lock();
        for foreign in report.iter().filter(|s| !s.is_stale()) {
            writeln!(err, "left alone: {foreign}")?;
        }
        let stale: Vec<_> = report.iter().filter(|s| s.is_stale()).collect();
        if stale.is_empty() {
            writeln!(
                out,
                "{} is current ({} generated files)",
                args.out.display(),
                files.len()
            )?;
            return Ok(());
        }
        for file in &stale {
            writeln!(err, "stale: {}", file)?;
        }
        return Err(CliError::Stale(stale.len()));
    }
    let left_alone = candor_docs::write(&files, &args.out).map_err(CliError::Docs)?;
    for file in &files {
        if !left_alone.iter().any(|s| s.path == file.path) {
            writeln!(out, "{}", args.out.join(&file.path).display())?;
        }
    }
    let mut err = std::io::stderr().lock();
    for entry in &left_alone {
        writeln!(err, "left alone: {entry}")?;
    }
    let blocked = left_alone.iter().filter(|s| s.is_stale()).count();
    if blocked > 0 {
        return Err(CliError::Stale(blocked));
    }
    Ok(())
}
