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
        let stale = candor_docs::check(&files, &args.out).map_err(CliError::Docs)?;
        if stale.is_empty() {
            writeln!(
                out,
                "{} is current ({} generated files)",
                args.out.display(),
                files.len()
            )?;
            return Ok(());
        }
        let mut err = std::io::stderr().lock();
        for file in &stale {
            writeln!(err, "stale: {}", file)?;
        }
        return Err(CliError::Stale(stale.len()));
    }
    candor_docs::write(&files, &args.out).map_err(CliError::Docs)?;
    for file in &files {
        writeln!(out, "{}", args.out.join(&file.path).display())?;
    }
    Ok(())
}
