//! `candor`: the command-line face of Candor.
//!
//! It inspects catalogues and will grow the commands of the other crates as they land. It is a
//! thin layer: every decision is made in a library crate, so what the command shows is what a
//! host that embeds Candor does. Errors are reported in one line on stderr with exit code 2.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod catalogue_cmd;
mod codegen_cmd;
mod consent_cmd;
mod consent_now;
mod demo_cmd;
mod docs_cmd;
mod preview_cmd;
mod privacy_cmd;
mod send_cmd;
mod serve_cmd;
mod source;
mod state_cmd;
mod status_cmd;
mod table;
mod untrusted;
mod view_cmd;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

/// Exit code for bad arguments and for anything Candor could not do.
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return report_clap_error(&error),
    };
    // Only `serve` takes several catalogues; elsewhere a second one is an error, not ignored.
    if !matches!(cli.command, args::Command::Serve(_)) && serve_cmd::catalogue_files().len() > 1 {
        eprintln!("candor: --catalogue is given more than once; only `candor serve` takes several");
        return ExitCode::from(EXIT_ERROR);
    }
    // Not locked for the whole command: the stdout sink writes from Candor's sender thread,
    // and a lock held here would stop it (and shutdown would wait for it until its deadline).
    let mut stdout = std::io::stdout();
    let outcome = match &cli.command {
        args::Command::Catalogue(cmd) => {
            catalogue_cmd::run(cli.catalogue.as_deref(), cmd, &mut stdout)
        }
        args::Command::Docs(cmd) => docs_cmd::run(cli.catalogue.as_deref(), cmd, &mut stdout),
        args::Command::Codegen(cmd) => codegen_cmd::run(cli.catalogue.as_deref(), cmd, &mut stdout),
        args::Command::Status(cmd) => status_cmd::run(cli.catalogue.as_deref(), cmd, &mut stdout),
        args::Command::Scrub(cmd) => privacy_cmd::scrub(cli.catalogue.as_deref(), cmd, &mut stdout),
        args::Command::Hash(cmd) => privacy_cmd::hash(cmd, &mut stdout),
        args::Command::Preview(cmd) => preview_cmd::run(cli.catalogue.as_deref(), cmd, &mut stdout),
        args::Command::Send(cmd) => send_cmd::run(cli.catalogue.as_deref(), cmd, &mut stdout),
        args::Command::Receipts(cmd) => state_cmd::receipts(cmd, &mut stdout),
        args::Command::Demo(cmd) => demo_cmd::run(cmd, &mut stdout),
        args::Command::Clean(cmd) => state_cmd::clean(cmd, &mut stdout),
        args::Command::Serve(cmd) => serve_cmd::serve(cmd, &mut stdout),
        args::Command::Report(cmd) => serve_cmd::report(cli.catalogue.as_deref(), cmd, &mut stdout),
        args::Command::Purge(cmd) => serve_cmd::purge(cli.catalogue.as_deref(), cmd, &mut stdout),
        args::Command::Store(args::StoreCommand::RotateKey(cmd)) => {
            serve_cmd::rotate_key(cmd, &mut stdout)
        }
        args::Command::Consent(cmd) => consent_cmd::run(cli.catalogue.as_deref(), cmd, &mut stdout),
        args::Command::View(cmd) => view_cmd::run(cli.catalogue.as_deref(), cmd, &mut stdout),
    };
    match outcome.and_then(|()| stdout.flush().map_err(Into::into)) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`candor … | head`) is the reader's choice, not an error.
        Err(error) if error.is_broken_pipe() => ExitCode::SUCCESS,
        Err(CliError::Incomplete(message)) => {
            eprintln!(
                "candor: {}",
                untrusted::shown(&message, untrusted::MAX_MESSAGE_CHARS)
            );
            ExitCode::FAILURE
        }
        Err(CliError::Stale(count)) => {
            eprintln!(
                "candor: {count} generated file(s) are stale or in the way; run the command \
                 without --check, after moving away any file it did not write"
            );
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!(
                "candor: {}",
                untrusted::shown(&error.to_string(), untrusted::MAX_MESSAGE_CHARS)
            );
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Help and version go to stdout with success; a usage error becomes one line.
fn report_clap_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        print!("{error}");
        return ExitCode::SUCCESS;
    }
    // Clap renders a paragraph, then usage and hints; the paragraph is the message. Folding it
    // onto one line keeps it readable in logs.
    let rendered = error.to_string();
    let message: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty())
        .collect();
    let message = message.join(" ");
    let first = message.trim_start_matches("error: ");
    eprintln!(
        "candor: {} (see `candor --help`)",
        untrusted::shown(first, untrusted::MAX_MESSAGE_CHARS)
    );
    ExitCode::from(EXIT_ERROR)
}

/// Everything a command can fail with, rendered as one line.
#[derive(Debug)]
pub(crate) enum CliError {
    Catalogue(candor_schema::CatalogueError),
    Query(candor_schema::QueryError),
    Usage(String),
    Io(std::io::Error),
    Docs(candor_docs::DocsError),
    /// `docs --check` found this many stale files (already listed on stderr).
    Stale(usize),
    /// The command ran but not everything succeeded (exit 1, not 2).
    Incomplete(String),
}

impl CliError {
    fn is_broken_pipe(&self) -> bool {
        matches!(self, Self::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Catalogue(e) => e.fmt(f),
            Self::Query(e @ candor_schema::QueryError::RuntimeLineRequired { .. }) => {
                write!(f, "{e} with --runtime")
            }
            Self::Query(e) => e.fmt(f),
            Self::Usage(message) => f.write_str(message),
            Self::Io(e) => write!(f, "cannot write output: {e}"),
            Self::Docs(e) => e.fmt(f),
            Self::Stale(count) => write!(f, "{count} generated file(s) are stale"),
            Self::Incomplete(message) => f.write_str(message),
        }
    }
}

impl From<candor_schema::CatalogueError> for CliError {
    fn from(e: candor_schema::CatalogueError) -> Self {
        Self::Catalogue(e)
    }
}

impl From<candor_schema::QueryError> for CliError {
    fn from(e: candor_schema::QueryError) -> Self {
        Self::Query(e)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}
