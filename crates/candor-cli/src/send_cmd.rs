//! `candor send`: raw events from a file through the whole pipeline, or what the spool holds.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use candor_collect::{Preparer, RawLine};
use candor_schema::{Catalogues, Event};
use candor_transport::{
    Pipeline, PipelineConfig, SinkOptions, SinkSpec, Spool, SpoolCaps, StatsSnapshot, Timeouts,
};

use crate::args::{SendArgs, SinkKind, TransportArgs};
use crate::{CliError, consent_now, preview_cmd, source, state_cmd};

pub(crate) fn sink_spec(
    kind: SinkKind,
    endpoint: Option<&str>,
    token: Option<&str>,
    transport: &TransportArgs,
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
            token: relay_token(token, transport)?,
        },
        SinkKind::File => SinkSpec::File {
            path: need("file")?.into(),
        },
        SinkKind::Stdout => SinkSpec::Stdout,
    };
    spec.check().map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(spec)
}

/// The relay token: `--token`, else the first line of `--token-file`, else
/// `CANDOR_RELAY_TOKEN`.
fn relay_token(token: Option<&str>, transport: &TransportArgs) -> Result<String, CliError> {
    if let Some(token) = token {
        return Ok(token.to_owned());
    }
    if let Some(path) = &transport.token_file {
        let cannot = |e: std::io::Error| {
            CliError::Usage(format!(
                "cannot read the token file {}: {e}",
                path.display()
            ))
        };
        let mut text = Vec::new();
        std::fs::File::open(path)
            .map_err(cannot)?
            .take(4096)
            .read_to_end(&mut text)
            .map_err(cannot)?;
        let text = String::from_utf8(text).map_err(|_| {
            CliError::Usage(format!("the token file {} is not text", path.display()))
        })?;
        let token = text.lines().next().unwrap_or("").trim();
        if token.is_empty() {
            return Err(CliError::Usage(format!(
                "the token file {} is empty",
                path.display()
            )));
        }
        return Ok(token.to_owned());
    }
    match std::env::var("CANDOR_RELAY_TOKEN") {
        Ok(token) if !token.trim().is_empty() => Ok(token.trim().to_owned()),
        _ => Err(CliError::Usage(
            "--sink relay needs a token: --token-file, CANDOR_RELAY_TOKEN or --token".to_owned(),
        )),
    }
}

/// How network sinks connect: default timeouts, and the CA of `--ca-file` (else
/// `CANDOR_CA_FILE`).
pub(crate) fn sink_options(transport: &TransportArgs) -> SinkOptions {
    SinkOptions {
        timeouts: Timeouts::default(),
        ca_file: transport.ca_file.clone().or_else(|| {
            std::env::var_os("CANDOR_CA_FILE")
                .filter(|v| !v.is_empty())
                .map(Into::into)
        }),
        ..SinkOptions::default()
    }
}

/// The drops, one line per cause with its hint.
pub(crate) fn write_drops(
    out: &mut dyn Write,
    indent: &str,
    stats: &StatsSnapshot,
) -> std::io::Result<()> {
    for drop in &stats.drops {
        writeln!(out, "{indent}{} event(s): {}", drop.events, drop.reason)?;
        if let Some(hint) = &drop.hint {
            writeln!(out, "{indent}  hint: {hint}")?;
        }
    }
    Ok(())
}

/// The last delivery failure in one line, with a hint when it usually means a misconfigured
/// endpoint.
pub(crate) fn failure_line(stats: &StatsSnapshot) -> Option<String> {
    let error = stats.last_error.as_deref()?;
    Some(match stats.last_failure.and_then(|f| f.hint()) {
        Some(hint) => format!("{error} (hint: {hint})"),
        None => error.to_owned(),
    })
}

pub(crate) fn run(
    file: Option<&Path>,
    args: &SendArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let spec = sink_spec(
        args.sink,
        args.endpoint.as_deref(),
        args.token.as_deref(),
        &args.transport,
    )?;
    let mut options = sink_options(&args.transport);
    options.semconv = candor::semantic_names(source::catalogues(file)?.iter());
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
    let kind = spec.kind();
    let destination = spec.destination();
    let pipeline = Pipeline::start(config, move || spec.build(options))
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let stats = pipeline.shutdown(Duration::from_secs_f64(args.deadline));
    writeln!(
        out,
        "delivered {} event(s) by {kind} to {destination}; {} refused by the receiver; {} waiting in {}",
        stats.delivered,
        stats.rejected,
        stats.pending,
        spool_dir.display()
    )?;
    let dropped: u64 = stats.drops.iter().map(|d| d.events).sum();
    if dropped > 0 {
        writeln!(out, "dropped: {dropped}")?;
        write_drops(out, "  ", &stats)?;
    }
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
            failure_line(&stats).unwrap_or_else(|| "no error recorded".to_owned()),
            spool_dir.display()
        ));
    }
    for drop in &stats.drops {
        problems.push(match &drop.hint {
            Some(hint) => format!(
                "{} event(s) dropped: {} at {destination} (hint: {hint})",
                drop.events, drop.reason
            ),
            None => format!("{} event(s) dropped: {}", drop.events, drop.reason),
        });
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
