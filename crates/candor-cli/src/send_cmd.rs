//! `candor send`: raw events from a file through the facade's runtime (the queue, preparer,
//! spool, sink and receipts a host uses), then what earlier runs left in the spool, each
//! product only once its consent is decided and allows sending.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use candor::{Input, SinkSpec, StatsSnapshot, Telemetry, Timeouts};
use candor_collect::RawLine;
use candor_schema::{Catalogue, Catalogues};
use candor_state::StateDir;

use crate::args::{SendArgs, SinkKind};
use crate::untrusted::{MAX_MESSAGE_CHARS, shown};
use crate::{CliError, source, state_cmd};

/// The largest events file read.
const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;
/// How long preparing and spooling one file's values may take (local work only).
const PERSIST_WITHIN: Duration = Duration::from_secs(600);
/// The most product versions one file may mix (each gets its own runtime).
const MAX_GROUPS: usize = 64;

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
    let started = Instant::now();
    let left = || args.deadline.saturating_sub(started.elapsed());
    let state = state_cmd::state()?;
    let catalogues = source::catalogues(file)?;
    let mut report = Report::default();
    let mut sent_products = Vec::new();
    if let Some(path) = &args.events {
        let (groups, bad) = read_lines(path, &catalogues)?;
        report.refused += bad;
        for (key, lines) in groups {
            sent_products.push(key.product.clone());
            let catalogue = catalogues
                .get(&key.product)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            send_group(
                path,
                catalogue,
                &key,
                lines,
                &spec,
                &state,
                args,
                left(),
                &mut report,
            );
        }
    }
    // What earlier runs (this command's or a host's) left in the spool: consent first.
    for product in state.spooled_products() {
        if sent_products.contains(&product) {
            continue;
        }
        let Ok(catalogue) = catalogues.get(&product) else {
            continue;
        };
        let replayed = builder(catalogue, &spec, &state, args)
            .replay(left())
            .map_err(|e| CliError::Usage(e.to_string()))?;
        match replayed.sent {
            Some(stats) => report.add(&stats),
            None => {
                let waiting = replayed.spool.as_deref().map_or(0, |d| {
                    candor_transport::Spool::open(d, candor::SpoolCaps::default())
                        .map_or(0, |s| s.pending_events())
                });
                if waiting > 0 {
                    report.problems.push(format!(
                        "{waiting} spooled event(s) of {product} not sent: telemetry is {} ({}); `candor clean` removes them",
                        replayed.decision.mode.as_str(),
                        replayed.decision.reason
                    ));
                }
            }
        }
    }
    writeln!(
        out,
        "delivered {} event(s) by {}; {} refused by the receiver; {} waiting in {}",
        report.stats.delivered,
        spec.kind(),
        report.stats.rejected,
        report.stats.pending,
        state.root().join("spool").display()
    )?;
    if report.stats.dropped_unreadable > 0 {
        writeln!(
            out,
            "removed {} unreadable spool file(s)",
            report.stats.dropped_unreadable
        )?;
    }
    report.finish()
}

/// What one run did, over every product version it sent.
#[derive(Default)]
struct Report {
    stats: StatsSnapshot,
    refused: u64,
    problems: Vec<String>,
}

impl Report {
    fn add(&mut self, s: &StatsSnapshot) {
        self.stats.delivered += s.delivered;
        self.stats.rejected += s.rejected;
        self.stats.pending += s.pending;
        self.stats.dropped_unreadable += s.dropped_unreadable;
        self.stats.dropped_by_caps += s.dropped_by_caps;
        self.stats.dropped_queue_full += s.dropped_queue_full;
        if s.last_error.is_some() {
            self.stats.last_error.clone_from(&s.last_error);
        }
    }

    fn finish(mut self) -> Result<(), CliError> {
        let s = &self.stats;
        let mut problems = Vec::new();
        if self.refused > 0 {
            problems.push(format!("{} line(s) refused (see above)", self.refused));
        }
        let error = s.last_error.as_deref().unwrap_or("no error recorded");
        if s.pending > 0 {
            problems.push(format!(
                "{} event(s) not delivered by the deadline ({error}); run `candor send` with the same sink to retry",
                s.pending
            ));
        }
        if s.rejected > 0 {
            problems.push(format!(
                "{} event(s) refused by the receiver ({error})",
                s.rejected
            ));
        }
        if s.dropped_by_caps + s.dropped_queue_full > 0 {
            problems.push(format!(
                "{} event(s) dropped to keep the spool within its caps",
                s.dropped_by_caps + s.dropped_queue_full
            ));
        }
        problems.append(&mut self.problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CliError::Incomplete(problems.join("; ")))
        }
    }
}

/// The facade's builder for one product as `send` runs it: the chosen sink, Candor's folder,
/// what the host says about consent, and timeouts within the deadline.
fn builder(
    catalogue: &Catalogue,
    spec: &SinkSpec,
    state: &StateDir,
    args: &SendArgs,
) -> candor::Builder {
    let within = |d: Duration| d.min(args.deadline.max(Duration::from_millis(100)));
    let mut builder = Telemetry::builder(Arc::new(catalogue.clone()))
        .sink(spec.clone())
        .state_dir(state.root())
        .timeouts(Timeouts {
            connect: within(Timeouts::default().connect),
            request: within(Timeouts::default().request),
        })
        .retry_backoff(Duration::from_millis(250), Duration::from_secs(10))
        .batch_wait(Duration::from_millis(50))
        .host_opted_out(args.host.host_opted_out);
    if let Some((id, version)) = &args.host.host {
        builder = builder.host(id.clone(), version.clone());
    }
    if args.host.browser_open {
        builder = builder.condition("browser-open");
    }
    for condition in &args.host.conditions {
        builder = builder.condition(condition.clone());
    }
    builder
}

/// One product version's lines through one runtime.
#[allow(clippy::too_many_arguments)]
fn send_group(
    path: &Path,
    catalogue: &Catalogue,
    key: &GroupKey,
    lines: Vec<(usize, String, Input)>,
    spec: &SinkSpec,
    state: &StateDir,
    args: &SendArgs,
    left: Duration,
    report: &mut Report,
) {
    let refuse_all = |report: &mut Report, lines: &[(usize, String, Input)], reason: &str| {
        for (n, _, _) in lines {
            refused_line(path, *n, reason);
        }
        report.refused += lines.len() as u64;
    };
    let mut builder = builder(catalogue, spec, state, args)
        .version(key.version.clone())
        .queue_capacity(lines.len() + 1);
    if let Some(runtime) = &key.runtime {
        builder = builder.runtime(runtime.clone());
    }
    let telemetry = match builder.build() {
        Ok(t) => t,
        Err(e) => return refuse_all(report, &lines, &e.to_string()),
    };
    let decision = telemetry.status().decision;
    if !decision.may_send() {
        telemetry.shutdown(Duration::ZERO);
        let reason = format!(
            "telemetry for {} is not sent: {}",
            key.product, decision.reason
        );
        return refuse_all(report, &lines, &reason);
    }
    for (_, point, input) in lines {
        telemetry.record(&point, input);
    }
    // Everything accepted is on disk before the deadline starts to count against delivery:
    // local work, bounded by the (capped) input, never lost to a short deadline.
    telemetry.persist(PERSIST_WITHIN);
    let status = telemetry.shutdown(left);
    for (reason, count) in &status.refused {
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "{}: refused {count} value(s): {}",
                path.display(),
                shown(reason, MAX_MESSAGE_CHARS)
            );
        }
        report.refused += count;
    }
    report.stats.dropped_queue_full += status.dropped_queue_full;
    if let Some(stats) = &status.sent {
        report.add(stats);
    }
}

fn refused_line(path: &Path, n: usize, reason: &str) {
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "{}:{n}: refused: {}",
            path.display(),
            shown(reason, MAX_MESSAGE_CHARS)
        );
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct GroupKey {
    product: String,
    runtime: Option<String>,
    version: String,
}

type Groups = BTreeMap<GroupKey, Vec<(usize, String, Input)>>;

/// Reads the file (capped; a FIFO refused) and parses each line into its product version's
/// group; lines that cannot be read are reported on stderr with their number.
fn read_lines(path: &Path, catalogues: &Catalogues) -> Result<(Groups, u64), CliError> {
    let bytes = candor_state::file::read_input(path, MAX_INPUT_BYTES)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::Usage(format!("{} is not UTF-8 text", path.display())))?;
    let mut groups = Groups::new();
    let mut refused = 0;
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let parsed = (|| -> Result<(GroupKey, String, Input), String> {
            let raw = RawLine::parse(line)?;
            let catalogue = catalogues.get(&raw.product).map_err(|e| e.to_string())?;
            let input = raw.input(catalogue)?;
            let key = GroupKey {
                product: raw.product,
                runtime: raw.runtime_line,
                version: raw.product_version,
            };
            if !groups.contains_key(&key) && groups.len() >= MAX_GROUPS {
                return Err(format!(
                    "more than {MAX_GROUPS} product versions in one file"
                ));
            }
            Ok((key, raw.point, input))
        })();
        match parsed {
            Ok((key, point, input)) => groups.entry(key).or_default().push((n + 1, point, input)),
            Err(reason) => {
                refused += 1;
                refused_line(path, n + 1, &reason);
            }
        }
    }
    Ok((groups, refused))
}
