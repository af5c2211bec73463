//! `candor serve`, `candor report` and `candor purge`: the receiving end, from `candor-ingest`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use candor_ingest::{Accepted, DatabaseUrl, IngestConfig, ServerConfig, report, retention};
use clap::CommandFactory;

use crate::CliError;
use crate::args::{Cli, PurgeArgs, ReportArgs, ServeArgs};

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
        return Accepted::builtin().map_err(CliError::Usage);
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

fn store_error(e: candor_ingest::StoreError) -> CliError {
    CliError::Usage(e.to_string())
}

pub(crate) fn serve(args: &ServeArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let accepted = accepted(&catalogue_files())?;
    let products: Vec<String> = accepted.products().map(str::to_owned).collect();
    let database = database(args.database.as_deref())?;
    let config = IngestConfig {
        queue_capacity: args.queue.max(1),
        purge_every: Duration::from_secs(args.purge_every.max(1)),
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
    let running = candor_ingest::spawn(accepted, &database, &args.listen, config, server, true)
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
        Some(t) => candor_ingest::parse_time_arg(t, now).map_err(CliError::Usage),
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
    let mut store = database(args.database.as_deref())?
        .open()
        .map_err(store_error)?;
    let report =
        report::build(&mut *store, &accepted, &args.product, since, until).map_err(store_error)?;
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
            let us = candor_ingest::parse_time_arg(t, now).map_err(CliError::Usage)?;
            let us = u64::try_from(us)
                .map_err(|_| CliError::Usage("--as-of lies before 1970".to_owned()))?;
            UNIX_EPOCH + Duration::from_micros(us)
        }
    };
    let mut store = database(args.database.as_deref())?
        .open()
        .map_err(store_error)?;
    let purged = retention::purge(&mut *store, &accepted, as_of).map_err(store_error)?;
    for p in purged {
        let removed = p.removed.map_err(CliError::Usage)?;
        writeln!(
            out,
            "{}: {removed} event(s) older than {} days removed",
            p.product, p.days
        )?;
    }
    Ok(())
}
