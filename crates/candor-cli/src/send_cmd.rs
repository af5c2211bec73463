//! `candor send`: raw events from a file through the whole pipeline, or what the spool holds.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use candor_collect::{Preparer, RawLine};
use candor_schema::{Catalogues, Event};
use candor_transport::{Pipeline, PipelineConfig, SinkSpec, Spool, SpoolCaps, Timeouts};

use crate::args::{SendArgs, SinkKind};
use crate::{CliError, consent_now, preview_cmd, source, state_cmd};

pub(crate) fn sink_spec(
    kind: SinkKind,
    endpoint: Option<&str>,
    token: Option<&str>,
) -> Result<SinkSpec, CliError> {
    let need = |what: &str| {
        endpoint
            .map(str::to_owned)
            .ok_or_else(|| CliError::Usage(format!("--sink {what} needs --endpoint")))
    };
    let spec = match kind {
        SinkKind::OtlpHttp => SinkSpec::OtlpHttp {
            endpoint: need("otlp-http")?,
        },
        SinkKind::OtlpGrpc => SinkSpec::OtlpGrpc {
            endpoint: need("otlp-grpc")?,
        },
        SinkKind::Json => SinkSpec::Json {
            endpoint: need("json")?,
        },
        SinkKind::Relay => SinkSpec::Relay {
            endpoint: need("relay")?,
            token: token
                .map(str::to_owned)
                .ok_or_else(|| CliError::Usage("--sink relay needs --token".to_owned()))?,
        },
        SinkKind::File => SinkSpec::File {
            path: need("file")?.into(),
        },
        SinkKind::Stdout => SinkSpec::Stdout,
    };
    spec.check().map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(spec)
}

pub(crate) fn run(
    file: Option<&Path>,
    args: &SendArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let spec = sink_spec(args.sink, args.endpoint.as_deref(), args.token.as_deref())?;
    if !(args.deadline.is_finite() && args.deadline >= 0.0) {
        return Err(CliError::Usage(
            "--deadline must be a number of seconds".to_owned(),
        ));
    }
    let spool_dir = match &args.spool {
        Some(dir) => dir.clone(),
        None => state_cmd::state_dir()?.join("spool"),
    };
    let mut refused = 0usize;
    if let Some(path) = &args.events {
        let catalogues = source::catalogues(file)?;
        let (batches, bad) = prepare_file(path, &catalogues, args)?;
        refused = bad;
        let spool = Spool::open(&spool_dir, SpoolCaps::default()).map_err(|e| {
            CliError::Usage(format!(
                "cannot open the spool {}: {e}",
                spool_dir.display()
            ))
        })?;
        // Everything accepted is on disk before the first byte is sent: a crash from here on
        // loses nothing.
        for events in batches.values() {
            for chunk in events.chunks(512) {
                spool.write(chunk).map_err(|e| {
                    CliError::Usage(format!(
                        "cannot write the spool {}: {e}",
                        spool_dir.display()
                    ))
                })?;
            }
        }
    }
    let receipts = state_cmd::state_dir()
        .ok()
        .map(|d| state_cmd::receipts_path(&d));
    let config = PipelineConfig {
        spool: Some((spool_dir.clone(), SpoolCaps::default())),
        receipts,
        backoff_base: Duration::from_millis(250),
        backoff_max: Duration::from_secs(10),
        ..PipelineConfig::default()
    };
    let destination = spec.kind();
    let pipeline = Pipeline::start(config, move || spec.build(Timeouts::default()))
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let stats = pipeline.shutdown(Duration::from_secs_f64(args.deadline));
    writeln!(
        out,
        "delivered {} event(s) by {destination}; {} refused by the receiver; {} waiting in {}",
        stats.delivered,
        stats.rejected,
        stats.pending,
        spool_dir.display()
    )?;
    if stats.dropped_unreadable > 0 {
        writeln!(
            out,
            "removed {} unreadable spool file(s)",
            stats.dropped_unreadable
        )?;
    }
    let mut problems = Vec::new();
    if refused > 0 {
        problems.push(format!("{refused} line(s) refused (see above)"));
    }
    if stats.pending > 0 {
        problems.push(format!(
            "{} event(s) not delivered by the deadline ({}); run `candor send --spool {}` with the same sink to retry",
            stats.pending,
            stats.last_error.as_deref().unwrap_or("no error recorded"),
            spool_dir.display()
        ));
    }
    if stats.rejected > 0 {
        problems.push(format!(
            "{} event(s) refused by the receiver ({})",
            stats.rejected,
            stats.last_error.as_deref().unwrap_or("")
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::Incomplete(problems.join("; ")))
    }
}

type Batches = BTreeMap<String, Vec<Event>>;

/// Prepares each line; refused lines are reported on stderr with their line number.
fn prepare_file(
    path: &Path,
    catalogues: &Catalogues,
    args: &SendArgs,
) -> Result<(Batches, usize), CliError> {
    let text = std::fs::read(path)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
    let text = String::from_utf8(text)
        .map_err(|_| CliError::Usage(format!("{} is not UTF-8 text", path.display())))?;
    let mut preparers: BTreeMap<(String, Option<String>, String), Result<Preparer, String>> =
        BTreeMap::new();
    let mut consent: BTreeMap<String, Result<(), String>> = BTreeMap::new();
    let mut batches = Batches::new();
    let mut refused = 0;
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let outcome = (|| -> Result<Event, String> {
            let raw = RawLine::parse(line)?;
            let catalogue = catalogues.get(&raw.product).map_err(|e| e.to_string())?;
            consent
                .entry(raw.product.clone())
                .or_insert_with(|| {
                    let decision = consent_now::decide_now(catalogue, &args.host);
                    if decision.may_send() {
                        Ok(())
                    } else {
                        Err(format!(
                            "telemetry for {} is not sent: {}",
                            raw.product, decision.reason
                        ))
                    }
                })
                .clone()?;
            let key = (
                raw.product.clone(),
                raw.runtime_line.clone(),
                raw.product_version.clone(),
            );
            let preparer = preparers
                .entry(key)
                .or_insert_with(|| {
                    preview_cmd::preparer(
                        catalogue,
                        raw.runtime_line.as_deref(),
                        &raw.product_version,
                    )
                    .map_err(|e| e.to_string())
                })
                .as_ref()
                .map_err(Clone::clone)?;
            let input = raw.input(catalogue)?;
            preparer
                .prepare_event(&raw.point, input, SystemTime::now())
                .map_err(|e| e.to_string())
        })();
        match outcome {
            Ok(event) => batches
                .entry(event.product.clone())
                .or_default()
                .push(event),
            Err(reason) => {
                refused += 1;
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("{}:{}: refused: {reason}", path.display(), n + 1);
                }
            }
        }
    }
    Ok((batches, refused))
}
