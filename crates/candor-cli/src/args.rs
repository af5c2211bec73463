//! The command line's grammar.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Honest product telemetry: inspect what a product may send, and why.
#[derive(Debug, Parser)]
#[command(name = "candor", version, about)]
pub(crate) struct Cli {
    /// Use this catalogue file (TOML or JSON) instead of the built-in catalogues.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) catalogue: Option<PathBuf>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List the products, or show a product's data points (`candor catalogue list`,
    /// `candor catalogue <product> [--runtime <line>] [--version <v>] [--json]`).
    Catalogue(CatalogueArgs),
    /// Generate disclosure pages, JSON exports and the JSON Schema for the catalogues (the
    /// built-ins, or the one given with --catalogue).
    Docs(DocsArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DocsArgs {
    /// The folder to write into (`disclosure/`, `catalogues/` and `schema/` are created in it).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,

    /// Write nothing; exit 1 and name each stale file if the folder does not match.
    #[arg(long)]
    pub(crate) check: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CatalogueArgs {
    /// `list`, or a product id such as `contrast-dotnet-agent`.
    #[arg(value_name = "PRODUCT|list")]
    pub(crate) product: String,

    /// The runtime line (for the agent: `framework` or `core`).
    #[arg(long, value_name = "LINE")]
    pub(crate) runtime: Option<String>,

    /// Show only the data points in effect at this version of the runtime line.
    #[arg(long, value_name = "VERSION")]
    pub(crate) version: Option<String>,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}
