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
