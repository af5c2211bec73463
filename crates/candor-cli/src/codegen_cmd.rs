//! `candor codegen`: the typed recorder `cargo xtask codegen` makes for the built-ins, for any
//! catalogue, in Rust or as a C header, written through the docs generator's ownership rule.

use std::io::Write;
use std::path::Path;

use crate::args::{CodegenArgs, CodegenLang};
use crate::{CliError, source};

pub(crate) fn run(
    file: Option<&Path>,
    args: &CodegenArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let catalogues = source::catalogues(file)?;
    let catalogue = match (&args.product, file) {
        (Some(product), _) => catalogues.get(product)?,
        (None, Some(_)) => catalogues
            .iter()
            .next()
            .ok_or_else(|| CliError::Usage("the catalogue file holds no product".to_owned()))?,
        (None, None) => {
            return Err(CliError::Usage(
                "name the product (--product <id>) or a catalogue file (--catalogue <file>)"
                    .to_owned(),
            ));
        }
    };
    let name = args
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| CliError::Usage(format!("{} is not a file name", args.out.display())))?;
    let dir = match args.out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let (contents, stamp) = match args.lang {
        CodegenLang::Rust => (
            candor_docs::recorder_module(catalogue, candor_docs::Paths::Facade),
            candor_docs::CODEGEN_NOTICE,
        ),
        CodegenLang::C => (candor_docs::c_header(catalogue), candor_docs::C_NOTICE),
    };
    let files = [candor_docs::GeneratedFile {
        path: name,
        contents,
    }];
    let mut err = std::io::stderr().lock();
    if args.check {
        let stale = candor_docs::check_owned(&files, &dir, &[], stamp).map_err(CliError::Docs)?;
        if stale.is_empty() {
            writeln!(out, "{} is current", args.out.display())?;
            return Ok(());
        }
        for file in &stale {
            writeln!(err, "stale: {file}")?;
        }
        return Err(CliError::Stale(stale.len()));
    }
    let left_alone = candor_docs::write_owned(&files, &dir, &[], stamp).map_err(CliError::Docs)?;
    if left_alone.is_empty() {
        writeln!(out, "{}", args.out.display())?;
        return Ok(());
    }
    for entry in &left_alone {
        writeln!(err, "left alone: {entry}")?;
    }
    Err(CliError::Stale(left_alone.len()))
}
