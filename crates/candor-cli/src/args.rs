//! The command line's grammar.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Honest product telemetry: inspect what a product may send, and why.
#[derive(Debug, Parser)]
#[command(name = "candor", version, about)]
pub(crate) struct Cli {
    /// Use this catalogue file (TOML or JSON) instead of the built-in catalogues.
    /// (`candor serve` accepts it several times: every catalogue and revision it should accept.)
    #[arg(long, global = true, value_name = "FILE", action = clap::ArgAction::Append)]
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
    /// Generate Rust code for a catalogue: typed point ids and a typed recorder with one method
    /// per data point (`candor codegen --catalogue f.toml --out src/telemetry.rs`).
    Codegen(CodegenArgs),
    /// Show whether a product may collect and send telemetry on this machine now, and why.
    Status(StatusArgs),
    /// Read text on stdin and write it scrubbed to stdout; stack traces are filtered to the
    /// allowed namespaces (none, unless given).
    Scrub(ScrubArgs),
    /// Print a value's hash as Candor would send it.
    Hash(HashArgs),
    /// Collect the snapshot on this machine now and print exactly what would be sent, after
    /// privacy, with the consent decision. Nothing is sent.
    Preview(PreviewArgs),
    /// Check, scrub and send raw events from a JSON-lines file through the full pipeline
    /// (spool, retries, receipts); with no file, deliver what an earlier run left in the spool.
    Send(SendArgs),
    /// Show the receipts of delivered payloads.
    Receipts(ReceiptsArgs),
    /// Run a simulated host for a product (the Aspire dashboard or the Contrast agent) through
    /// the full pipeline, and summarise what was recorded, sent and dropped.
    Demo(DemoArgs),
    /// Remove Candor's local state (spool, receipts and the copies of payloads sent, hashing
    /// keys, notice markers); the configuration file stays.
    Clean(CleanArgs),
    /// Receive telemetry: check each event against its catalogue, store it exactly once, purge
    /// by the catalogues' retention, and show the aggregates on `GET /`.
    Serve(ServeArgs),
    /// Print a product's aggregates from the ingest database.
    Report(ReportArgs),
    /// Delete what the catalogues' retention no longer allows from the ingest database.
    Purge(PurgeArgs),
    /// The ingest database's encryption: `candor store rotate-key`.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Change your consent: `candor consent <product> on|local|off|reset`, or `--all` for
    /// every product. Edits config.toml keeping your comments; `off` discards pending data.
    Consent(ConsentArgs),
    /// Open a local, read-only page of what Candor holds and sent on this machine (loopback
    /// only, behind a secret URL printed on the first line); runs until interrupted.
    View(ViewArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ConsentArgs {
    /// Every product: sets the global mode and removes each product's own.
    #[arg(long)]
    pub(crate) all: bool,

    /// `<product> <setting>`, or only `<setting>` with --all; the setting is `on`, `local`,
    /// `off` or `reset` (remove the setting, so the next rule decides).
    #[arg(value_name = "PRODUCT|SETTING", num_args = 1..=2, required = true)]
    pub(crate) words: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ViewArgs {
    /// The loopback port to serve on (0, the default, picks a free one).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) port: u16,

    /// Do not open a browser; only print the URL.
    #[arg(long)]
    pub(crate) no_open: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub(crate) listen: String,

    /// `sqlite:PATH` or `postgres://…` (default: `ingest.db` in Candor's folder).
    #[arg(long, value_name = "URL")]
    pub(crate) database: Option<String>,

    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,

    /// The certificate's PEM private key.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,

    /// Seconds between purges of data past its retention.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub(crate) purge_every: u64,

    /// Events that may wait for the database before requests get 429.
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    pub(crate) queue: usize,

    /// The bearer token the page and the JSON report require, from this file (its first
    /// line, at least 16 characters); without it the read endpoints are off (404).
    #[arg(long, value_name = "FILE")]
    pub(crate) read_token_file: Option<PathBuf>,

    /// Show a value or a version by name only when at least K installations sent it (raises
    /// each catalogue's `[retention] min_group`, default 5; never lowers it).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) min_group: Option<u64>,

    /// What is kept of accepted events: `aggregates` keeps every product as per-day
    /// aggregates only (no event row); `events` keeps what each catalogue's
    /// `[retention] storage` says (events unless it declares aggregates).
    #[arg(long, value_name = "KIND", value_parser = ["events", "aggregates"], default_value = "events")]
    pub(crate) storage: String,

    #[command(flatten)]
    pub(crate) key: StoreKeyArgs,
}

/// How `serve`, `report` and `purge` open the ingest database.
#[derive(Debug, Args)]
pub(crate) struct StoreKeyArgs {
    /// The store key: a file whose first line is 64 hex digits (`openssl rand -hex 32`).
    /// Everything stored is encrypted with it.
    #[arg(long, value_name = "FILE", conflicts_with = "store_unencrypted")]
    pub(crate) store_key_file: Option<PathBuf>,

    /// Store unencrypted, for tests and development only: anyone who can read the database
    /// file or a dump of it reads every stored value.
    #[arg(long)]
    pub(crate) store_unencrypted: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StoreCommand {
    /// Re-encrypt the ingest database from one store key to another (stop `serve` first).
    RotateKey(RotateKeyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RotateKeyArgs {
    /// `sqlite:PATH` or `postgres://…` (default: `ingest.db` in Candor's folder).
    #[arg(long, value_name = "URL")]
    pub(crate) database: Option<String>,

    /// The key the database is encrypted with now.
    #[arg(long, value_name = "FILE")]
    pub(crate) store_key_file: PathBuf,

    /// The key to encrypt it with from now on.
    #[arg(long, value_name = "FILE")]
    pub(crate) new_key_file: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The product.
    pub(crate) product: String,

    /// `sqlite:PATH` or `postgres://…` (default: `ingest.db` in Candor's folder).
    #[arg(long, value_name = "URL")]
    pub(crate) database: Option<String>,

    /// From this time (RFC 3339, or a length of time ago such as `30d`).
    #[arg(long, value_name = "TIME")]
    pub(crate) since: Option<String>,

    /// Until this time (RFC 3339, or a length of time ago).
    #[arg(long, value_name = "TIME")]
    pub(crate) until: Option<String>,

    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,

    /// Show a value or a version by name only when at least K installations sent it (raises
    /// the catalogue's `[retention] min_group`, default 5; never lowers it).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) min_group: Option<u64>,

    #[command(flatten)]
    pub(crate) key: StoreKeyArgs,
}

#[derive(Debug, Args)]
pub(crate) struct PurgeArgs {
    /// `sqlite:PATH` or `postgres://…` (default: `ingest.db` in Candor's folder).
    #[arg(long, value_name = "URL")]
    pub(crate) database: Option<String>,

    /// Purge as if it were this time (RFC 3339, or a length of time ago); default now.
    #[arg(long, value_name = "TIME")]
    pub(crate) as_of: Option<String>,

    #[command(flatten)]
    pub(crate) key: StoreKeyArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// Raw events, one JSON object per line (product, product_version, runtime_line, point,
    /// value).
    pub(crate) events: Option<PathBuf>,

    /// Where to send.
    #[arg(long, value_enum)]
    pub(crate) sink: SinkKind,

    /// The receiver's URL (for `file`, the file to append to).
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint: Option<String>,

    /// The bearer token the host gave (relay only). It shows in `ps`: prefer --token-file or
    /// CANDOR_RELAY_TOKEN.
    #[arg(long, value_name = "TOKEN")]
    pub(crate) token: Option<String>,

    #[command(flatten)]
    pub(crate) transport: TransportArgs,

    /// Seconds to keep trying (0 to 86400) before leaving the rest in the spool.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_deadline)]
    pub(crate) deadline: std::time::Duration,

    #[command(flatten)]
    pub(crate) host: HostArgs,
}

/// Transport settings that are not secrets on the command line.
#[derive(Debug, Args)]
pub(crate) struct TransportArgs {
    /// Read the relay's bearer token from this file (first line), so it never shows in `ps`
    /// (else the CANDOR_RELAY_TOKEN variable).
    #[arg(long, value_name = "FILE")]
    pub(crate) token_file: Option<PathBuf>,

    /// A PEM file of certificate authorities to trust for https:// endpoints, besides the
    /// system's (else the CANDOR_CA_FILE variable).
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SinkKind {
    OtlpHttp,
    OtlpGrpc,
    Json,
    Relay,
    File,
    Stdout,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// `aspire-dashboard` or `contrast-dotnet-agent`.
    pub(crate) product: String,

    /// Where to send (default: a JSON-lines file in the demo's folder). For the dashboard,
    /// `relay` without --endpoint starts a loopback IDE endpoint to relay through.
    #[arg(long, value_enum)]
    pub(crate) sink: Option<SinkKind>,

    /// The receiver's URL.
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint: Option<String>,

    /// The relay's bearer token. It shows in `ps`: prefer --token-file or CANDOR_RELAY_TOKEN.
    #[arg(long, value_name = "TOKEN")]
    pub(crate) token: Option<String>,

    #[command(flatten)]
    pub(crate) transport: TransportArgs,

    /// Keep simulating for this many seconds after the first pass.
    #[arg(long, value_name = "N", default_value_t = 2.0)]
    pub(crate) seconds: f64,

    /// The agent's collection interval in seconds (the catalogue's is four hours).
    #[arg(long, value_name = "SECS", default_value_t = 0.5)]
    pub(crate) interval: f64,

    /// The demo's folder (default: `demo/<product>` in Candor's folder).
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,

    /// Print the summary as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ReceiptsArgs {
    /// Only receipts carrying this product's events.
    pub(crate) product: Option<String>,

    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CleanArgs {
    /// List what would be removed without removing it.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ScrubArgs {
    /// Keep stack frames of the namespaces this product's catalogue allows for its exceptions.
    #[arg(long, value_name = "PRODUCT")]
    pub(crate) product: Option<String>,

    /// Keep stack frames of this namespace (repeatable; added to the product's).
    #[arg(long = "allow-namespace", value_name = "NAMESPACE")]
    pub(crate) allow_namespaces: Vec<String>,

    /// Cut the output to this many bytes.
    #[arg(long, value_name = "BYTES")]
    pub(crate) max_len: Option<usize>,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("algorithm").required(true).args(["sha256", "key_file"]))]
pub(crate) struct HashArgs {
    /// Plain, unkeyed SHA-256 (only for catalogues that promise it; reversible for small
    /// value spaces such as MAC addresses).
    #[arg(long)]
    pub(crate) sha256: bool,

    /// HMAC-SHA256 with the key in this file: a key file Candor wrote (64 hex digits) is read
    /// as the key it holds, so the hash is the one sent; any other file is the key's raw bytes
    /// (at least 16; a trailing newline is ignored).
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,

    /// The value is a MAC address: normalise it first, as Candor does before hashing.
    #[arg(long)]
    pub(crate) mac: bool,

    /// The value to hash.
    pub(crate) value: String,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// The product id.
    pub(crate) product: String,

    #[command(flatten)]
    pub(crate) host: HostArgs,

    /// Print JSON instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// What the host tells Candor about how the product was launched.
#[derive(Debug, Args, Default)]
pub(crate) struct HostArgs {
    /// The host that launched the product, as `<host-id>=<version>` (`visual-studio=17.14`).
    #[arg(long, value_name = "HOST=VERSION", value_parser = parse_host)]
    pub(crate) host: Option<(String, String)>,

    /// The host application has turned its own telemetry off.
    #[arg(long)]
    pub(crate) host_opted_out: bool,

    /// The dashboard is open in a browser (the `browser-open` runtime condition holds).
    #[arg(long)]
    pub(crate) browser_open: bool,

    /// Another runtime condition that holds now (repeatable).
    #[arg(long = "condition", value_name = "ID")]
    pub(crate) conditions: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct PreviewArgs {
    /// The product id.
    pub(crate) product: String,

    /// The runtime line (needed when the product has several).
    #[arg(long, value_name = "LINE")]
    pub(crate) runtime: Option<String>,

    /// The product version; gates are checked against it.
    #[arg(long, value_name = "VERSION")]
    pub(crate) version: String,

    /// Also prepare the raw values in this JSON-lines file (the format `candor send` reads).
    #[arg(long, value_name = "FILE")]
    pub(crate) inputs: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) host: HostArgs,

    /// Print JSON instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

fn parse_host(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((id, version)) if !id.trim().is_empty() && !version.trim().is_empty() => {
            Ok((id.trim().to_owned(), version.trim().to_owned()))
        }
        _ => Err(format!(
            "expected <host-id>=<version>, like visual-studio=17.14, not `{text}`"
        )),
    }
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
pub(crate) struct CodegenArgs {
    /// The product to generate for; needed only when there are several catalogues.
    #[arg(long)]
    pub(crate) product: Option<String>,

    /// The file to write (a file without Candor's generated notice is never overwritten).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,

    /// `rust`: a module with typed point ids and a recorder; `c`: a header of typed inline
    /// recorders over Candor's C ABI (`candor.h`, from the candor-ffi library).
    #[arg(long, value_enum, default_value = "rust")]
    pub(crate) lang: CodegenLang,

    /// Write nothing; exit 1 if the file does not match the catalogue.
    #[arg(long)]
    pub(crate) check: bool,
}

/// The language `candor codegen` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum CodegenLang {
    Rust,
    C,
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

/// A deadline in seconds: a finite number from 0 to one day.
fn parse_deadline(text: &str) -> Result<std::time::Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| "not a number of seconds".to_owned())?;
    if !(seconds.is_finite() && (0.0..=86_400.0).contains(&seconds)) {
        return Err("must be between 0 and 86400 seconds".to_owned());
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}
