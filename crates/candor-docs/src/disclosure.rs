//! The disclosure page: what a product's users are told about its telemetry.
//!
//! The sections follow the order a reader asks in: what is this, when is data collected, how do
//! I stop it, what am I shown, what exactly is collected (by version), what is never collected,
//! how is it protected, where does it go, how long is it kept, whom do I tell about a problem.

use std::collections::HashMap;

use candor_schema::{
    Catalogue, DataPointSpec, DeliveryMethod, Expiry, HashAlgorithm, HostRequirement, NoticeKind,
    PrivacyClass, Trigger, Unit, ValueType, VariableMeaning,
};

use crate::markdown::{code, inline, join_words, link, table, text};

pub(crate) fn page(catalogue: &Catalogue) -> String {
    let mut out = format!("<!-- {} -->\n\n", crate::GENERATED_NOTICE);
    let spec = catalogue.spec();
    out.push_str(&format!("# {} telemetry\n\n", text(&spec.product.name)));
    out.push_str(&format!("{}\n\n", text(&spec.product.description)));
    out.push_str(&format!(
        "This page is generated from revision {} of the catalogue for {}, the same catalogue \
         that decides at run time what the product may send.\n\n",
        code(&spec.revision),
        code(&spec.product.id)
    ));
    scope(&mut out, catalogue);
    opt_out(&mut out, catalogue);
    notice(&mut out, catalogue);
    data_points(&mut out, catalogue);
    never_collected(&mut out, catalogue);
    protection(&mut out, catalogue);
    delivery(&mut out, catalogue);
    retention(&mut out, catalogue);
    contact(&mut out, catalogue);
    out
}

fn scope(out: &mut String, catalogue: &Catalogue) {
    let spec = catalogue.spec();
    out.push_str("## When data is collected\n\n");
    out.push_str(&format!("{}\n\n", text(&spec.disclosure.scope)));
    for trigger in &spec.collection.triggers {
        let line = match trigger {
            Trigger::FirstLoad => "When the product is first loaded in a process.".to_owned(),
            Trigger::Periodic => {
                let mut words = format!("Periodically: {}.", text(&spec.collection.schedule));
                if let Some(seconds) = spec.collection.interval_seconds {
                    words.push_str(&format!(
                        " Candor schedules this every {}",
                        duration_words(seconds)
                    ));
                    if let Some(jitter) = spec.collection.jitter_percent.filter(|j| *j > 0) {
                        words.push_str(&format!(
                            ", each time moved by up to {jitter}% at random so that many machines do \
                             not report at the same moment"
                        ));
                    }
                    words.push('.');
                }
                words
            }
            Trigger::Usage => format!(
                "As the product is used ({}).",
                text(&spec.collection.schedule)
            ),
            Trigger::UnhandledException => "When an unhandled exception occurs.".to_owned(),
        };
        out.push_str(&format!("- {line}\n"));
    }
    out.push('\n');
    out.push_str(if spec.collection.install_id {
        "Each event carries a random identifier made for this installation. It is not derived \
         from the machine or the user, and deleting Candor's local state replaces it.\n\n"
    } else {
        "No installation identifier is sent: events cannot be linked to one installation by an \
         identifier of Candor's.\n\n"
    });
    out.push_str(&deletion(spec));
    if spec.hosts.required {
        out.push_str(
            "Data is collected only when the product is launched from one of these hosts:\n\n",
        );
        for host in &spec.hosts.supported {
            let minimum = match catalogue.host_requirement(&host.id) {
                Some(HostRequirement::AtLeast(v)) => format!("version {v} or later"),
                _ => "a minimum version that has not yet been announced; until it is, no version \
                      of this host qualifies"
                    .to_owned(),
            };
            out.push_str(&format!("- {}: {minimum}.\n", text(&host.name)));
        }
        out.push('\n');
    }
    for condition in &spec.consent.runtime_conditions {
        out.push_str(&format!(
            "Data is collected only while {}.\n\n",
            text(&condition.description)
        ));
    }
}

fn duration_words(seconds: u64) -> String {
    match seconds {
        s if s % 3600 == 0 => plural(s / 3600, "hour"),
        s if s % 60 == 0 => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        unit.to_owned()
    } else {
        format!("{n} {unit}s")
    }
}

fn opt_out(out: &mut String, catalogue: &Catalogue) {
    let spec = catalogue.spec();
    out.push_str("## How to opt out\n\n");
    let default = match spec.consent.default {
        candor_schema::DefaultMode::On => "Telemetry is on unless you turn it off.",
        candor_schema::DefaultMode::Off => "Telemetry is off unless you turn it on.",
    };
    out.push_str(&format!("{default} Any one of these turns it off:\n\n"));
    for variable in &spec.consent.variables {
        let values: Vec<String> = variable.documented_values.iter().map(|v| code(v)).collect();
        let values = join_words(&values).replace(" and ", " or ");
        let mut line = format!(
            "- Set the environment variable {} to {values}",
            code(&variable.name)
        );
        if let Some(scope) = &variable.scope {
            line.push_str(&format!(". This applies to {}", text(scope)));
        }
        let synonyms = match variable.meaning {
            VariableMeaning::Enables => "`0`, `no` and `off` are read as false too",
            VariableMeaning::OptsOut => "`yes` and `on` are read as true too",
        };
        line.push_str(&format!(
            ". Values are read ignoring case and surrounding spaces; {synonyms}; a value Candor does \
             not recognise also turns telemetry off, with a warning.\n"
        ));
        out.push_str(&line);
    }
    out.push_str(&format!(
        "- Set the environment variable `{}` to `1` or `true`. Candor honours it for every product.\n",
        candor_schema::DO_NOT_TRACK
    ));
    out.push_str(&format!(
        "- Set `mode = \"off\"` for `{id}` in Candor's configuration file (`config.toml` in Candor's \
         configuration folder, `~/.config/candor` on Linux), under `[products.{id}]`. \
         `mode = \"local\"` keeps collecting on this machine but never sends. Environment variables \
         always win over the file, and a file Candor cannot read turns telemetry off.\n",
        id = spec.product.id
    ));
    if spec.hosts.honours_host_opt_out {
        let hosts: Vec<String> = spec.hosts.supported.iter().map(|h| text(&h.name)).collect();
        out.push_str(&format!(
            "- Turn telemetry off in the host application ({}).\n",
            join_words(&hosts).replace(" and ", " or ")
        ));
    }
    if spec.consent.network_block_opts_out {
        let after = spec
            .consent
            .network_block_after_seconds
            .map_or_else(String::new, |s| format!(" for {}", duration_words(s)));
        out.push_str(&format!(
            "- Block network access to {}. Nothing is then delivered, and once it has been \
             unreachable{after}, Candor discards what is waiting to be sent and collects nothing \
             more until it can be reached again.\n",
            code(&spec.delivery.destination)
        ));
    }
    out.push_str(&format!(
        "\n`candor status {}` shows whether telemetry is on for you now, and which of these decided.\n\n",
        spec.product.id
    ));
}

fn notice(out: &mut String, catalogue: &Catalogue) {
    let spec = catalogue.spec();
    out.push_str("## What you are told\n\n");
    let intro = match &spec.consent.notice {
        NoticeKind::InProduct { location } => {
            format!(
                "Whenever telemetry is on, this statement is shown {}:",
                text(location)
            )
        }
        NoticeKind::FirstRun => {
            "The first time the product runs, before anything is sent, it shows this \
                                 statement once:"
                .to_owned()
        }
        NoticeKind::DocumentationOnly => {
            "The product shows no notice of its own; this page is the notice. \
                                          Its statement:"
                .to_owned()
        }
    };
    out.push_str(&format!(
        "{intro}\n\n> {}\n\n",
        text(&spec.disclosure.statement)
    ));
    if spec.consent.notice == NoticeKind::FirstRun {
        out.push_str(
            "Candor remembers which revision of this catalogue you were told about. A later \
             revision that adds a data point, collects one from more versions or protects one \
             less shows the statement again, and those points are held, never sent, until it \
             has been shown; a revision that only removes or narrows shows nothing new.\n\n",
        );
    }
    revisions(out, catalogue);
}

fn revisions(out: &mut String, catalogue: &Catalogue) {
    let spec = catalogue.spec();
    out.push_str("### What each revision changed\n\n");
    if spec.revisions.is_empty() {
        out.push_str(&format!(
            "The catalogue lists no earlier revisions; this page describes revision {}.\n\n",
            code(&spec.revision)
        ));
        return;
    }
    for revision in &spec.revisions {
        out.push_str(&format!(
            "- {}: {}",
            code(&revision.revision),
            text(&revision.summary)
        ));
        let lists = [
            ("Added", &revision.added),
            ("Collected from more versions", &revision.widened),
            ("Protected less", &revision.loosened),
            (
                "Collected from fewer versions or protected more",
                &revision.narrowed,
            ),
            ("No longer collected", &revision.removed),
        ];
        for (label, ids) in lists {
            if !ids.is_empty() {
                let ids: Vec<String> = ids.iter().map(|id| code(id)).collect();
                out.push_str(&format!(" {label}: {}.", ids.join(", ")));
            }
        }
        out.push('\n');
    }
    out.push('\n');
}

fn data_points(out: &mut String, catalogue: &Catalogue) {
    let spec = catalogue.spec();
    out.push_str("## Data points\n\n");
    out.push_str(
        "Each data point is sent only by the product versions named in its section. Versions \
         are compared as the vendor numbers them; \"later than\" excludes the version named.\n\n",
    );
    out.push_str(
        "The column \"Stops\" says when a point is no longer collected: from a day (in UTC; \
         nothing is collected on that day itself), from a product version (that version and \
         every later one collect nothing), or \"never\" where the vendor states no end, so the \
         point is collected for as long as the catalogue declares it.\n\n",
    );
    // Points that share exactly the same gates on every line form one section, in the order the
    // catalogue first mentions them.
    // A map from the gates to the section's place keeps this linear in the number of points.
    let mut sections: Vec<(Vec<String>, Vec<&DataPointSpec>)> = Vec::new();
    let mut section_of: HashMap<Vec<String>, usize> = HashMap::new();
    for (point, gates) in catalogue.points_with_gates() {
        let key: Vec<String> = gates
            .into_iter()
            .map(|bound| bound.map(ToString::to_string).unwrap_or_default())
            .collect();
        match section_of.get(&key) {
            Some(&index) => sections[index].1.push(point),
            None => {
                section_of.insert(key.clone(), sections.len());
                sections.push((key, vec![point]));
            }
        }
    }
    for (key, points) in sections {
        let mut parts = Vec::new();
        let mut absent = Vec::new();
        for (line, bound) in spec.runtime_lines.iter().zip(&key) {
            if bound.is_empty() {
                absent.push(text(&line.name));
            } else {
                // A version may carry build metadata (`1.0+…`), which is the catalogue's text.
                parts.push(format!("{} {}", text(&line.name), inline(bound)));
            }
        }
        let mut heading = parts.join(", ");
        if !absent.is_empty() {
            heading.push_str(&format!(" (never on {})", join_words(&absent)));
        }
        out.push_str(&format!("### {heading}\n\n"));
        let rows: Vec<Vec<String>> = points
            .iter()
            .map(|p| {
                let notes = match &p.notes {
                    Some(notes) => format!("{} {}", text(&p.description), text(notes)),
                    None => text(&p.description),
                };
                vec![
                    format!("{} ({})", text(&p.name), code(&p.id)),
                    value_words(&p.value, p.unit),
                    p.privacy.as_str().to_owned(),
                    stop_words(catalogue, p),
                    notes,
                ]
            })
            .collect();
        table(
            out,
            &["Data point", "Value", "Protection", "Stops", "Notes"],
            &rows,
        );
        out.push('\n');
    }
    owners(out, catalogue);
}

/// When a point stops, in words for the "Stops" column.
fn stop_words(catalogue: &Catalogue, point: &DataPointSpec) -> String {
    let lines = &catalogue.spec().runtime_lines;
    let line_name = |id: &str| {
        lines
            .iter()
            .find(|l| l.id == id)
            .map_or_else(|| text(id), |l| text(&l.name))
    };
    match catalogue.expiry(&point.id) {
        Ok(Expiry::Never) => "never: the vendor states no end".to_owned(),
        Ok(Expiry::On(day)) => format!("from {day} (UTC)"),
        Ok(Expiry::AtVersions(versions)) => {
            let mut words: Vec<String> = versions
                .iter()
                .map(|(line, version)| {
                    format!("from {} {}", line_name(line), inline(version.as_str()))
                })
                .collect();
            let unnamed: Vec<String> = lines
                .iter()
                .filter(|l| point.gates.contains_key(&l.id))
                .filter(|l| !versions.iter().any(|(id, _)| *id == l.id))
                .map(|l| text(&l.name))
                .collect();
            if !unnamed.is_empty() {
                words.push(format!("no end stated on {}", join_words(&unnamed)));
            }
            words.join("; ")
        }
        _ => "not stated".to_owned(),
    }
}

/// Who answers for each point and where it was reviewed, when the catalogue says.
fn owners(out: &mut String, catalogue: &Catalogue) {
    let spec = catalogue.spec();
    out.push_str("### Who answers for each data point\n\n");
    let declared: Vec<&DataPointSpec> = spec
        .data_points
        .iter()
        .filter(|p| p.owner.is_some() || !p.review_links.is_empty())
        .collect();
    if declared.is_empty() {
        out.push_str(&format!(
            "{} names no owner and no review for its data points.\n\n",
            text(&spec.product.vendor)
        ));
        return;
    }
    let rows: Vec<Vec<String>> = declared
        .iter()
        .map(|p| {
            let reviews: Vec<String> = p.review_links.iter().map(|l| link(l)).collect();
            vec![
                format!("{} ({})", text(&p.name), code(&p.id)),
                p.owner
                    .as_deref()
                    .map_or_else(|| "not named".to_owned(), text),
                if reviews.is_empty() {
                    "not named".to_owned()
                } else {
                    reviews.join(", ")
                },
            ]
        })
        .collect();
    table(out, &["Data point", "Owner", "Review"], &rows);
    let silent = spec.data_points.len() - declared.len();
    if silent > 0 {
        out.push_str(&format!(
            "\nThe catalogue names no owner and no review for the other {}.\n",
            plural(silent as u64, "data point")
        ));
    }
    out.push('\n');
}

fn unit_words(unit: Option<Unit>) -> &'static str {
    match unit {
        Some(Unit::Bytes) => " in bytes",
        Some(Unit::Milliseconds) => " in milliseconds",
        Some(Unit::Seconds) => " in seconds",
        None => "",
    }
}

fn value_words(value: &ValueType, unit: Option<Unit>) -> String {
    let quoted = |items: &[String]| {
        let items: Vec<String> = items.iter().map(|i| code(i)).collect();
        items.join(", ")
    };
    match value {
        ValueType::Flag => "yes or no".to_owned(),
        ValueType::Enumeration { values, other } => match other {
            Some(other) => format!(
                "one of {}; anything else as {}",
                quoted(values),
                code(other)
            ),
            None => format!("one of {}", quoted(values)),
        },
        ValueType::Version => "a version number".to_owned(),
        ValueType::Text { max_len } => format!("text, scrubbed, at most {max_len} bytes"),
        ValueType::Count => format!("a count{}", unit_words(unit)),
        ValueType::Duration => format!("a duration{}", unit_words(unit)),
        ValueType::Distribution { statistics } => {
            let names: Vec<String> = statistics
                .iter()
                .map(|s| {
                    match s {
                        candor_schema::Statistic::Count => "count",
                        candor_schema::Statistic::Min => "minimum",
                        candor_schema::Statistic::Max => "maximum",
                        candor_schema::Statistic::Median => "median",
                        candor_schema::Statistic::P95 => "95th percentile",
                    }
                    .to_owned()
                })
                .collect();
            format!("summary: {}{}", join_words(&names), unit_words(unit))
        }
        ValueType::Histogram {
            min,
            max,
            buckets_per_octave,
        } => {
            let unit = match unit {
                Some(Unit::Bytes) => " bytes",
                Some(Unit::Milliseconds) => " ms",
                Some(Unit::Seconds) => " s",
                None => "",
            };
            format!(
                "bucket counts: how many measurements fell in each of {buckets_per_octave} \
                 buckets per doubling from {min}{unit} to {max}{unit}, with their number and \
                 sum; never a single measurement"
            )
        }
        ValueType::Hashed { algorithm } => match algorithm {
            HashAlgorithm::Sha256 => "a SHA-256 hash".to_owned(),
            HashAlgorithm::HmacSha256 => "a keyed HMAC-SHA256 hash".to_owned(),
        },
        ValueType::Names { known, other } => match (known, other) {
            (Some(known), Some(other)) => {
                format!(
                    "a list of names from {}; any other as {}",
                    quoted(known),
                    code(other)
                )
            }
            _ => "a list of names (never values)".to_owned(),
        },
        ValueType::LabelCounts => "a count for each label".to_owned(),
        ValueType::ModeByName { modes } => format!("for each name, one of {}", quoted(modes)),
        ValueType::Properties { keys } => format!("the keys {} with short values", quoted(keys)),
        ValueType::LanguageTag => "a language tag".to_owned(),
        ValueType::UserAgent => "browser family, major version and OS family".to_owned(),
        ValueType::Exception {
            includes_log_message,
            ..
        } => {
            if *includes_log_message {
                "log message, exception type, message and filtered stack frames".to_owned()
            } else {
                "exception type, message and filtered stack frames".to_owned()
            }
        }
    }
}

fn never_collected(out: &mut String, catalogue: &Catalogue) {
    let spec = catalogue.spec();
    if spec.never_collected.is_empty() {
        return;
    }
    out.push_str("## What is never collected\n\n");
    for item in &spec.never_collected {
        out.push_str(&format!("- {}\n", text(&capitalise(item))));
    }
    out.push('\n');
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn protection(out: &mut String, catalogue: &Catalogue) {
    let spec = catalogue.spec();
    out.push_str("## How data is protected\n\n");
    out.push_str(
        "Each data point has a protection class, applied on this machine before anything is sent. \
         A value that cannot be protected as its class requires is not sent at all.\n\n",
    );
    let classes = [
        PrivacyClass::Public,
        PrivacyClass::Hashed,
        PrivacyClass::Scrubbed,
        PrivacyClass::Aggregated,
        PrivacyClass::Coarsened,
    ];
    for class in classes {
        let points: Vec<&DataPointSpec> = spec
            .data_points
            .iter()
            .filter(|p| p.privacy == class)
            .collect();
        if points.is_empty() {
            continue;
        }
        let ids: Vec<String> = points.iter().map(|p| code(&p.id)).collect();
        let explanation = match class {
            PrivacyClass::Public => "sent as it is. Only flags, numbers, durations, versions, language tags, \
                                     names and values from a list fixed in the catalogue carry this class."
                .to_owned(),
            PrivacyClass::Hashed => hashed_words(&points),
            PrivacyClass::Scrubbed => "free text is scrubbed before it is sent: e-mail addresses, IP and \
                                       MAC addresses, user names in file paths, credentials and secret \
                                       parameters in URLs, bearer tokens and JWTs, well-known API key \
                                       formats, `key=value` secrets (passwords, tokens, keys), payment card \
                                       numbers, PEM blocks, and this machine's user name, home folder and \
                                       host name are replaced by markers such as `[email]` or `[secret]`. \
                                       Control characters are removed and the text is cut to its declared \
                                       length. Stack traces keep only frames from the namespaces the \
                                       catalogue names, without file paths or argument names."
                .to_owned(),
            PrivacyClass::Aggregated => "only a summary computed on this machine is sent (counts, minimum, \
                                         maximum, median or 95th percentile, as listed); the individual \
                                         values never leave it."
                .to_owned(),
            PrivacyClass::Coarsened => "reduced to a coarse form before it is sent: a user agent becomes \
                                        browser family, major version and operating-system family, which \
                                        many users share, so it cannot serve as a fingerprint."
                .to_owned(),
        };
        out.push_str(&format!(
            "- **{}** ({}): {explanation}\n",
            class.as_str(),
            ids.join(", ")
        ));
    }
    out.push('\n');
}

fn hashed_words(points: &[&DataPointSpec]) -> String {
    let mut sentences =
        vec!["the original value never leaves the machine; only its hash is sent.".to_owned()];
    for point in points {
        if let ValueType::Hashed { algorithm } = point.value {
            sentences.push(match algorithm {
                HashAlgorithm::Sha256 => format!(
                    "{} uses plain, unkeyed SHA-256. Anyone can compute that hash, so a value from a \
                     small space can be recovered by hashing every candidate: a 48-bit MAC address \
                     is such a value. Treat this identifier as pseudonymous, not anonymous.",
                    code(&point.id)
                ),
                HashAlgorithm::HmacSha256 => format!(
                    "{} uses HMAC-SHA256 with a key set by the product; the key's id is sent with \
                     each hash so the key can be rotated. Without the key the value cannot be \
                     recomputed from the hash; whoever holds the key can test guesses.",
                    code(&point.id)
                ),
            });
        }
    }
    sentences.join(" ")
}

fn delivery(out: &mut String, catalogue: &Catalogue) {
    let spec = catalogue.spec();
    out.push_str("## Where data is sent\n\n");
    let how = match spec.delivery.method {
        DeliveryMethod::HostRelay => "handed to the host application, which sends it on",
        DeliveryMethod::HttpsJson => "posted as JSON over HTTPS",
        DeliveryMethod::Otlp => "exported with OpenTelemetry (OTLP)",
    };
    out.push_str(&format!(
        "Data is {how} to {}. {}\n\n",
        text(&spec.delivery.destination),
        text(&spec.delivery.description)
    ));
}

fn retention(out: &mut String, catalogue: &Catalogue) {
    let spec = catalogue.spec();
    out.push_str("## How long data is kept\n\n");
    match spec.retention.days {
        Some(days) => out.push_str(&format!(
            "Deleted {} days after collection. {}\n\n",
            days,
            text(&spec.retention.description)
        )),
        None => out.push_str(&format!("{}\n\n", text(&spec.retention.description))),
    }
    if spec.retention.storage == candor_schema::Storage::Aggregates {
        let who = if spec.collection.install_id {
            "Because a report counts installations, each day's counts stay tied to this \
             installation's id: they can be deleted for this installation alone (every day \
             kept), but no single event can be taken out of a day's counts."
        } else {
            "This product sends no install id, so nothing tells one installation's counts from \
             another's: a request to delete one installation's data cannot take it out of the \
             counts already kept; they go when their day passes the retention."
        };
        out.push_str(&format!(
            "The receiving end keeps aggregates only: each event, once accepted, is added to its \
             day's counts (per data point, product version and value) and is not stored itself; \
             only its id is kept, until the retention removes it, so that a retry is not counted \
             twice. A day's counts are deleted whole once any part of the day is past the \
             retention. {who}\n\n"
        ));
    }
    let days = spec
        .retention
        .local_copy_days
        .unwrap_or(candor_schema::MAX_LOCAL_COPY_DAYS);
    let mib = candor_schema::LOCAL_COPY_MAX_BYTES >> 20;
    out.push_str(&format!(
        "On your machine, Candor keeps a copy of each payload the receiver accepted, exactly as \
         it was sent, for {days} days (and at most {mib} MiB for this product, the oldest removed \
         first), so that you can see what left: `candor view` and `candor receipts --json` show \
         its events; `candor clean` removes the copies.\n\n"
    ));
    let k = spec.retention.min_group;
    let counted = if spec.collection.install_id {
        format!("at least {k} installations")
    } else {
        // Without an install id, events are what can be counted.
        format!("at least {k} events")
    };
    out.push_str(&format!(
        "Where Candor's receiving end reports on this data, a value, a product version or a \
         label is shown by name only when it comes from {counted}; smaller groups are shown \
         only together, as \"(other)\".\n\n"
    ));
}

/// What opting out does to the data already sent: one deletion request for the declared key,
/// or the statement that nothing sent can be traced back to the machine.
fn deletion(spec: &candor_schema::CatalogueSpec) -> String {
    match &spec.collection.deletion_key {
        candor_schema::DeletionKey::InstallId => "Opting out erases what was sent: when you turn \
             consent off (`candor consent <product> off`, the product's opt-out variable, \
             `DO_NOT_TRACK`, or the host's own setting), Candor sends the receiver one deletion \
             request for this installation's identifier, and repeats it until the receiver \
             confirms. Nothing else is sent. `candor receipts` and `candor view` show the \
             request and its confirmation.\n\n"
            .to_owned(),
        candor_schema::DeletionKey::Point(point) => format!(
            "Opting out erases what was sent: when you turn consent off (`candor consent \
             <product> off`, the product's opt-out variable, `DO_NOT_TRACK`, or the host's own \
             setting), Candor sends the receiver one deletion request for the value of \
             {} this machine sent, and repeats it until the receiver confirms. Nothing else \
             is sent. `candor receipts` and `candor view` show the request and its \
             confirmation.\n\n",
            code(point)
        ),
        _ => "Nothing sent can be traced back to this machine, so there is nothing to delete \
              when you opt out.\n\n"
            .to_owned(),
    }
}

fn contact(out: &mut String, catalogue: &Catalogue) {
    let product = &catalogue.spec().product;
    out.push_str("## Reporting a privacy concern\n\n");
    match &product.privacy_contact {
        Some(contact) => out.push_str(&format!(
            "If you suspect this telemetry collects sensitive data, or handles it insecurely, report \
             it to {} at {}.\n",
            text(&product.vendor),
            text(contact)
        )),
        None => out.push_str(&format!(
            "{} names no dedicated place for privacy reports; contact the vendor through its usual \
             support channel.\n",
            text(&product.vendor)
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn agent(storage: Option<&str>, install_ids: bool) -> Catalogue {
        let (name, source) = candor_schema::builtin::SOURCES
            .iter()
            .find(|(name, _)| name.starts_with("contrast"))
            .unwrap();
        let mut source = (*source).to_owned();
        if let Some(storage) = storage {
            source = source.replace(
                "[retention]\n",
                &format!("[retention]\nstorage = \"{storage}\"\n"),
            );
        }
        if install_ids {
            source = source.replace("[collection]\n", "[collection]\ninstall_id = true\n");
        }
        Catalogue::from_toml_str(&source, name).unwrap()
    }

    #[test]
    fn the_page_says_what_aggregates_keep_and_what_a_deletion_cannot_remove() {
        let events = page(&agent(None, false));
        assert!(!events.contains("keeps aggregates only"), "{events}");
        let anonymous = page(&agent(Some("aggregates"), false));
        assert!(anonymous.contains("keeps aggregates only"), "{anonymous}");
        assert!(
            anonymous.contains("cannot take it out of the counts already kept"),
            "{anonymous}"
        );
        let counted = page(&agent(Some("aggregates"), true));
        assert!(
            counted.contains("deleted for this installation alone (every day kept), but no single"),
            "{counted}"
        );
    }
}
