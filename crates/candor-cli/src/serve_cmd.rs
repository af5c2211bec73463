//! `candor serve`, `candor report` and `candor purge`: the receiving end, from `candor-ingest`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use candor_ingest::{
    Accepted, DatabaseUrl, IngestConfig, ReadToken, Sealing, ServerConfig, StoreKey, report,
    retention,
};
use clap::CommandFactory;

use crate::CliError;
use crate::args::{Cli, PurgeArgs, ReportArgs, RotateKeyArgs, ServeArgs, StoreKeyArgs};

/// Every `--catalogue` given, in order (the parsed `Cli` keeps only one).
pub(crate) fn catalogue_files() -> Vec<PathBuf> {
    Cli::command()
        .try_get_matches_from(std::env::args_os())
        .ok()
        .and_then(|m| {
            let mut matches = &m;
            // The global option is propagated to the subcommand's matches.
            if let Some((_, sub)) = m.subcommand() {
                matches = sub;
            }
            matches
                .get_many::<PathBuf>("catalogue")
                .map(|v| v.cloned().collect())
        })
        .unwrap_or_default()
}

fn accepted(files: &[PathBuf]) -> Result<Accepted, CliError> {
    if files.is_empty() {
        return Accepted::builtin().map_err(|e| CliError::Usage(e.to_string()));
    }
    let catalogues = files
        .iter()
        .map(|f| crate::source::catalogue_file(f))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Accepted::new(catalogues))
}

fn database(url: Option<&str>) -> Result<DatabaseUrl, CliError> {
    match url {
        Some(url) => DatabaseUrl::parse(url).map_err(|e| CliError::Usage(e.to_string())),
        None => Ok(DatabaseUrl::Sqlite(
            crate::state_cmd::state()?
                .ingest_database()
                .map_err(|e| CliError::Usage(e.to_string()))?,
        )),
    }
}

/// The largest secret file read (a token or a key is one short line).
const MAX_SECRET_FILE: u64 = 4096;

/// The first line of a file holding a secret, trimmed: read at once and capped (a FIFO or
/// device is refused, never waited on), one-line errors naming the file but never its content.
fn secret_line(path: &Path, what: &str) -> Result<String, CliError> {
    let bytes = candor_state::file::read_input(path, MAX_SECRET_FILE)
        .map_err(|e| CliError::Usage(format!("cannot read the {what} file: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::Usage(format!("the {what} file {} is not text", path.display())))?;
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        return Err(CliError::Usage(format!(
            "the {what} file {} is empty",
            path.display()
        )));
    }
    Ok(line.to_owned())
}

/// A store key from its file (first line, 64 hex digits).
fn store_key(path: &Path) -> Result<StoreKey, CliError> {
    StoreKey::from_hex(&secret_line(path, "store key")?)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
}

/// How the database is opened: with `--store-key-file`, or `--store-unencrypted`; neither
/// is refused, so no database is ever left unencrypted by omission.
fn sealing(args: &StoreKeyArgs) -> Result<Sealing, CliError> {
    match (&args.store_key_file, args.store_unencrypted) {
        (Some(path), _) => Ok(Sealing::Key(store_key(path)?)),
        (None, true) => Ok(Sealing::Unencrypted),
        (None, false) => Err(CliError::Usage(
            "the ingest database is encrypted with a store key: give --store-key-file FILE \
             (64 hex digits, e.g. from `openssl rand -hex 32`), or --store-unencrypted for \
             tests and development"
                .to_owned(),
        )),
    }
}

fn store_error(e: candor_ingest::StoreError) -> CliError {
    CliError::Usage(e.to_string())
}

pub(crate) fn serve(args: &ServeArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let accepted = accepted(&catalogue_files())?;
    let products: Vec<String> = accepted.products().map(str::to_owned).collect();
    let database = database(args.database.as_deref())?;
    let sealing = sealing(&args.key)?;
    let read_token = match &args.read_token_file {
        Some(path) => Some(
            ReadToken::new(&secret_line(path, "read token")?)
                .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?,
        ),
        None => None,
    };
    let config = IngestConfig {
        queue_capacity: args.queue.max(1),
        purge_every: Duration::from_secs(args.purge_every.max(1)),
        read_token,
        min_group: args.min_group,
        storage: if args.storage == "aggregates" {
            candor_schema::Storage::Aggregates
        } else {
            candor_schema::Storage::Events
        },
        ..IngestConfig::default()
    };
    let mut server = ServerConfig::default();
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        server.tls = Some(candor_http_server::TlsFiles {
            certificate_chain: cert.clone(),
            private_key: key.clone(),
        });
    }
    let scheme = if server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let running = candor_ingest::spawn(
        accepted,
        &database,
        &sealing,
        &args.listen,
        config,
        server,
        true,
    )
    .map_err(|e| CliError::Usage(e.to_string()))?;
    writeln!(
        out,
        "candor serve: listening on {scheme}://{} for {} ({} database)",
        running.address(),
        products.join(", "),
        match database {
            DatabaseUrl::Sqlite(_) => "sqlite",
            _ => "postgres",
        }
    )?;
    out.flush()?;
    running.wait();
    Ok(())
}

fn time_arg(text: Option<&str>, default: i64, now: SystemTime) -> Result<i64, CliError> {
    match text {
        Some(t) => {
            candor_ingest::parse_time_arg(t, now).map_err(|e| CliError::Usage(e.to_string()))
        }
        None => Ok(default),
    }
}

pub(crate) fn report(
    catalogue: Option<&Path>,
    args: &ReportArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let accepted = accepted(catalogue.map(Path::to_path_buf).as_slice())?;
    if accepted.catalogue(&args.product).is_none() {
        return Err(CliError::Usage(format!(
            "unknown product `{}`; known: {}",
            args.product,
            accepted.products().collect::<Vec<_>>().join(", ")
        )));
    }
    let now = SystemTime::now();
    let since = time_arg(args.since.as_deref(), i64::MIN, now)?;
    let until = time_arg(args.until.as_deref(), i64::MAX, now)?;
    let sealing = sealing(&args.key)?;
    let mut store = database(args.database.as_deref())?
        .open(&sealing)
        .map_err(store_error)?;
    let report = report::build(
        &mut *store,
        &accepted,
        &args.product,
        since,
        until,
        args.min_group,
    )
    .map_err(store_error)?;
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)
            .map_err(|e| CliError::Io(std::io::Error::other(e)))?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} ({}): {} events",
        report.name, report.product, report.events
    )?;
    for point in report.points.iter().filter(|p| p.count > 0) {
        write!(out, "  {:<36} {:>10}", point.id, point.count)?;
        if let Some(s) = &point.total.summary {
            write!(out, "  min {} max {}", s.min, s.max)?;
            if let Some(m) = s.median {
                write!(out, " median {m}")?;
            }
        }
        if let Some(h) = &point.total.histogram {
            write!(
                out,
                "  p50 {:.4} p95 {:.4} p99 {:.4} (merged buckets of {} measurements)",
                h.p50, h.p95, h.p99, h.measurements
            )?;
        }
        if let Some(n) = point.total.distinct {
            write!(out, "  {n} distinct")?;
        }
        writeln!(out)?;
        for c in point.total.values.iter().take(5) {
            writeln!(out, "      {:<40} {:>10}", c.value, c.count)?;
        }
    }
    writeln!(
        out,
        "groups smaller than {} installations are shown only as (other): {} folded",
        report.min_group, report.folded
    )?;
    if !report.refused.is_empty() {
        writeln!(out, "refused on arrival:")?;
        for (reason, n) in &report.refused {
            writeln!(out, "  {reason:<36} {n:>10}")?;
        }
    }
    Ok(())
}

pub(crate) fn purge(
    catalogue: Option<&Path>,
    args: &PurgeArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let accepted = accepted(catalogue.map(Path::to_path_buf).as_slice())?;
    let now = SystemTime::now();
    let as_of = match args.as_of.as_deref() {
        None => now,
        Some(t) => {
            let us = candor_ingest::parse_time_arg(t, now)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            let us = u64::try_from(us)
                .map_err(|_| CliError::Usage("--as-of lies before 1970".to_owned()))?;
            UNIX_EPOCH + Duration::from_micros(us)
        }
    };
    let sealing = sealing(&args.key)?;
    let mut store = database(args.database.as_deref())?
        .open(&sealing)
        .map_err(store_error)?;
    let purged = retention::purge(&mut *store, &accepted, as_of).map_err(store_error)?;
    for p in purged {
        let removed = p.removed.map_err(|e| CliError::Usage(e.to_string()))?;
        writeln!(
            out,
            "{}: {removed} event(s) older than {} days removed",
            p.product, p.days
        )?;
    }
    Ok(())
}

pub(crate) fn rotate_key(args: &RotateKeyArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let old = store_key(&args.store_key_file)?;
    let new = store_key(&args.new_key_file)?;
    if old == new {
        return Err(CliError::Usage(
            "the new key is the key in use: nothing to rotate".to_owned(),
        ));
    }
    let events = database(args.database.as_deref())?
        .rotate_key(&old, &new)
        .map_err(store_error)?;
    writeln!(
        out,
        "re-encrypted {events} event(s): only {} opens the database now",
        args.new_key_file.display()
    )?;
    Ok(())
}
