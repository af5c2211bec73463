//! `candor send`: raw events from a file through the facade's runtime (the queue, preparer,
//! spool, sink and receipts a host uses), then what earlier runs left in the spool, each
//! product only once its consent is decided and allows sending.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use candor::status::{DropCause, DropCount, StatsSnapshot};
use candor::{Input, SinkSpec, Telemetry, Timeouts};
use candor_collect::RawLine;
use candor_schema::{Catalogue, Catalogues};
use candor_state::StateDir;

use crate::args::{SendArgs, SinkKind, TransportArgs};
use crate::untrusted::{MAX_MESSAGE_CHARS, shown};
use crate::{CliError, consent_now, source, state_cmd};

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
        // Capped, and a FIFO refused rather than blocked on.
        let text = candor_state::file::read_input(path, 4096)
            .map_err(|e| CliError::Usage(format!("cannot read the token file: {e}")))?;
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

/// The CA file of `--ca-file`; without one the facade's builder reads `CANDOR_CA_FILE`.
pub(crate) fn ca_file(transport: &TransportArgs) -> Option<PathBuf> {
    transport.ca_file.clone()
}

/// The drops, one line per cause with its hint.
pub(crate) fn write_drops(
    out: &mut dyn Write,
    indent: &str,
    drops: &[DropCount],
) -> std::io::Result<()> {
    for drop in drops {
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
    let started = Instant::now();
    let left = || args.deadline.saturating_sub(started.elapsed());
    let state = state_cmd::state()?;
    let catalogues = source::catalogues(file)?;
    consent_now::warn_about_config(&catalogues);
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
    // What earlier runs (this command's or a host's) left in the spool: consent first. A
    // product whose events can be traced to this installation is looked at too: an opt-out
    // owes its vendor one deletion request, which this run delivers (`candor::admin::replay`).
    let mut products = state.spooled_products();
    products.extend(
        catalogues
            .iter()
            .filter(|c| !c.spec().collection.deletion_key.is_none())
            .map(|c| c.product_id().to_owned()),
    );
    products.sort();
    products.dedup();
    for product in products {
        if sent_products.contains(&product) {
            continue;
        }
        let Ok(catalogue) = catalogues.get(&product) else {
            continue;
        };
        let replayed = candor::admin::replay(builder(catalogue, &spec, &state, args), left())
            .map_err(|e| CliError::Usage(e.to_string()))?;
        if let Some(record) = &replayed.deletion {
            report
                .deletions
                .push(format!("{product}: {}", record.describe()));
        }
        if replayed.discarded > 0 {
            report.problems.push(format!(
                "{} spooled event(s) of {product} discarded: telemetry is {} ({})",
                replayed.discarded,
                replayed.decision.mode.as_str(),
                shown(&replayed.decision.reason, MAX_MESSAGE_CHARS)
            ));
        }
        match replayed.sent {
            Some(stats) => report.add(&stats),
            None => {
                let waiting = replayed
                    .spool
                    .and_then(candor_transport::SpoolView::open)
                    .map_or(0, |s| s.pending_events());
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
        "delivered {} event(s) by {} to {}; {} refused by the receiver; {} waiting in {}",
        report.stats.delivered,
        spec.kind(),
        spec.destination(),
        report.refused_by_receiver(),
        report.stats.pending,
        state.root().join("spool").display()
    )?;
    let dropped: u64 = report.drops.iter().map(|d| d.events).sum();
    if dropped > 0 {
        writeln!(out, "dropped: {dropped}")?;
        write_drops(out, "  ", &report.drops)?;
    }
    for line in &report.deletions {
        writeln!(out, "deletion request for {line}")?;
    }
    if report.stats.dropped_unreadable > 0 {
        writeln!(
            out,
            "removed {} spool file(s) that were not batches (no events in them)",
            report.stats.dropped_unreadable
        )?;
    }
    report.finish()
}

/// What one run did, over every product version it sent.
#[derive(Default)]
struct Report {
    /// The deliveries' counters, summed (their drops are in `drops`).
    stats: StatsSnapshot,
    /// Every drop, of the runtimes and their deliveries, by cause.
    drops: Vec<DropCount>,
    refused: u64,
    problems: Vec<String>,
    /// What became of each deletion request this run tried to deliver.
    deletions: Vec<String>,
}

impl Report {
    fn add(&mut self, s: &StatsSnapshot) {
        self.stats.delivered += s.delivered;
        self.stats.pending += s.pending;
        self.stats.receipts_unwritten += s.receipts_unwritten;
        self.stats.dropped_unreadable += s.dropped_unreadable;
        if s.last_error.is_some() {
            self.stats.last_error.clone_from(&s.last_error);
            self.stats.last_failure = s.last_failure;
        }
        self.add_drops(&s.drops);
    }

    fn add_drops(&mut self, drops: &[DropCount]) {
        self.drops = DropCount::merge([self.drops.as_slice(), drops]);
    }

    /// Events the receivers refused for good, whole batches or one by one.
    fn refused_by_receiver(&self) -> u64 {
        self.drops
            .iter()
            .filter(|d| matches!(d.cause, DropCause::Refused(_) | DropCause::RefusedOneByOne))
            .map(|d| d.events)
            .sum()
    }

    fn finish(mut self) -> Result<(), CliError> {
        let s = &self.stats;
        let rejected = self.refused_by_receiver();
        let mut problems = Vec::new();
        if self.refused > 0 {
            problems.push(format!("{} line(s) refused (see above)", self.refused));
        }
        let error = failure_line(s).unwrap_or_else(|| "no error recorded".to_owned());
        if s.pending > 0 {
            problems.push(format!(
                "{} event(s) not delivered by the deadline ({error}); run `candor send` with the same sink to retry",
                s.pending
            ));
        }
        if rejected > 0 {
            problems.push(format!(
                "{rejected} event(s) refused by the receiver ({error})"
            ));
        }
        if s.receipts_unwritten > 0 {
            problems.push(format!(
                "{} delivery receipt(s) could not be written ({error}); `candor receipts` does not show them",
                s.receipts_unwritten
            ));
        }
        for drop in &self.drops {
            // A sink that could not start says why in its last error.
            let why = match (drop.cause, &s.last_error) {
                (DropCause::SinkUnavailable, Some(error)) => format!(" ({error})"),
                _ => String::new(),
            };
            problems.push(match &drop.hint {
                Some(hint) => format!(
                    "{} event(s) dropped: {}{why} (hint: {hint})",
                    drop.events, drop.reason
                ),
                None => format!("{} event(s) dropped: {}{why}", drop.events, drop.reason),
            });
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
    if let Some(ca) = ca_file(&args.transport) {
        builder = builder.ca_file(ca);
    }
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
        // Nothing is sent but an owed deletion request, which the shutdown waits for.
        let status = telemetry.shutdown(left);
        for (product, record) in state_cmd::deletion_records(state, Some(&key.product)) {
            let line = match record {
                Ok(record) => record.describe(),
                Err(e) => format!("the deletion request cannot be read: {e}"),
            };
            report.deletions.push(format!("{product}: {line}"));
        }
        let reason = format!(
            "telemetry for {} is not sent: {}",
            key.product, decision.reason
        );
        let discarded = status.dropped(DropCause::Withdrawn);
        if discarded > 0 {
            // This run started while the user's word was against sending: what earlier runs
            // left waiting was recorded under another decision, and is discarded.
            report.problems.push(format!(
                "{discarded} spooled event(s) of {} discarded: {}",
                key.product,
                shown(&decision.reason, MAX_MESSAGE_CHARS)
            ));
        }
        return refuse_all(report, &lines, &reason);
    }
    for (_, point, input) in lines {
        telemetry.record(&point, input);
    }
    // Everything accepted is on disk before the deadline starts to count against delivery:
    // local work, bounded by the (capped) input, never lost to a short deadline.
    telemetry.persist(PERSIST_WITHIN);
    let status = telemetry.shutdown(left);
    for refusal in &status.refused {
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "{}: refused {} value(s): {}",
                path.display(),
                refusal.count,
                shown(&refusal.reason.to_string(), MAX_MESSAGE_CHARS)
            );
        }
        report.refused += refusal.count;
    }
    if !status.decision.may_send() {
        // The user changed their mind while this ran (`candor consent`, the file by hand).
        report.problems.push(format!(
            "consent for {} changed while sending: telemetry is {} ({}); what was not yet sent is withdrawn",
            key.product,
            status.decision.mode.as_str(),
            shown(&status.decision.reason, MAX_MESSAGE_CHARS)
        ));
    }
    // What the runtime dropped before its delivery (a full queue, values withdrawn when
    // consent changed), then the delivery's own counters and drops.
    report.add_drops(&status.drops);
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
