//! Reading a catalogue file: syntax, then shape, then the rules that serde cannot express.
//!
//! The file is parsed into a generic JSON value first, so TOML and JSON catalogues share one
//! typed pass and one set of error paths; the generic value also lets an error name the id of
//! the data point it is about, not only its index.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::error::{CatalogueError, Problem};
use crate::model::*;
use crate::version::{Version, VersionScheme};

/// No real catalogue comes near this; a larger input is refused before it is parsed.
/// The longest a catalogue may ask the user's machine to keep copies of payloads sent: Candor's
/// own default, which a catalogue may only shorten.
pub const MAX_LOCAL_COPY_DAYS: u32 = 30;

/// How many bytes of a product's payloads sent the user's machine keeps copies of (the oldest
/// go first; a payload larger than this alone is not kept).
pub const LOCAL_COPY_MAX_BYTES: u64 = 16 * 1024 * 1024;

pub(crate) const MAX_CATALOGUE_BYTES: usize = 4 * 1024 * 1024;

/// The formats a catalogue file may be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Toml,
    Json,
}

pub(crate) fn parse(
    text: &str,
    format: Format,
    source_name: &str,
) -> Result<CatalogueSpec, CatalogueError> {
    let syntax = |message: String| CatalogueError::Syntax {
        source_name: source_name.to_owned(),
        message,
    };
    if text.len() > MAX_CATALOGUE_BYTES {
        return Err(syntax(format!(
            "the file is {} bytes; a catalogue may be at most {MAX_CATALOGUE_BYTES}",
            text.len()
        )));
    }
    let raw: Value = match format {
        Format::Toml => toml::from_str(text).map_err(|e| syntax(describe_toml_error(text, &e)))?,
        Format::Json => {
            serde_json::from_str(text).map_err(|e| syntax(format!("invalid JSON: {e}")))?
        }
    };
    if let Some(path) = toml_datetime_path(&raw).filter(|_| format == Format::Toml) {
        return Err(CatalogueError::Invalid {
            source_name: source_name.to_owned(),
            path,
            problem: Problem::WrongValue(
                "a TOML date or time literal; a catalogue writes dates as quoted text \
                 (\"2026-09-30\"), so that TOML and JSON catalogues read alike"
                    .to_owned(),
            ),
        });
    }
    let spec: CatalogueSpec = serde_path_to_error::deserialize(&raw).map_err(|e| {
        let path = render_serde_path(e.path(), &raw);
        CatalogueError::Invalid {
            source_name: source_name.to_owned(),
            path,
            problem: classify_serde_message(&e.inner().to_string()),
        }
    })?;
    Ok(spec)
}

/// Where a TOML date or time literal (`2026-09-30` unquoted) lies, if anywhere. The generic value
/// holds one as a map with a private key, which serde would report as "invalid type: map";
/// no catalogue field takes one.
fn toml_datetime_path(raw: &Value) -> Option<String> {
    const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";
    let mut stack: Vec<(String, &Value)> = vec![(String::new(), raw)];
    while let Some((path, value)) = stack.pop() {
        match value {
            Value::Object(map) if map.contains_key(TOML_DATETIME_KEY) => {
                return Some(if path.is_empty() {
                    "(top level)".to_owned()
                } else {
                    path
                });
            }
            Value::Object(map) => {
                for (key, item) in map {
                    // A key is shown only when it is one short clean line.
                    let clean = key.len() <= 64 && !key.chars().any(|ch| forbidden_char(ch, false));
                    let key = if clean { key.as_str() } else { "(a key)" };
                    let child = if path.is_empty() {
                        key.to_owned()
                    } else {
                        format!("{path}.{key}")
                    };
                    stack.push((child, item));
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    stack.push((format!("{path}[{i}]{}", id_suffix(item)), item));
                }
            }
            _ => {}
        }
    }
    None
}

/// `(agent_version)` for an array entry with a short, clean `id`, so a path names the entry as
/// people know it; nothing for any other entry.
fn id_suffix(item: &Value) -> String {
    item.get("id")
        .and_then(Value::as_str)
        .filter(|id| id.len() <= 64 && !id.chars().any(|ch| forbidden_char(ch, false)))
        .map_or_else(String::new, |id| format!("({id})"))
}

/// One line, with line and column: a catalogue error is read in a terminal or a CI log.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', "; ");
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("invalid TOML at line {line}, column {column}: {message}")
        }
        None => format!("invalid TOML: {message}"),
    }
}

fn classify_serde_message(message: &str) -> Problem {
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    if let Some(field) = quoted("unknown field `") {
        Problem::UnknownField(field)
    } else if let Some(field) = quoted("missing field `") {
        Problem::MissingField(field)
    } else {
        Problem::WrongValue(message.to_owned())
    }
}

/// Renders a serde path, naming each array element by its `id` where it has one, so that
/// `data_points[3]` reads `data_points[3](agent_version)`.
fn render_serde_path(path: &serde_path_to_error::Path, raw: &Value) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    let mut here = Some(raw);
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                here = here.and_then(|v| v.get(*index));
                out.push_str(&format!("[{index}]"));
                if let Some(id) = here.and_then(|v| v.get("id")).and_then(Value::as_str) {
                    out.push_str(&format!("({id})"));
                }
            }
            Segment::Map { key } => {
                here = here.and_then(|v| v.get(key));
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    if out.is_empty() {
        "(top level)".to_owned()
    } else {
        out
    }
}

/// A collector of rule violations; the first one is reported.
struct Checker<'a> {
    source_name: &'a str,
}

type Checked<T> = Result<T, CatalogueError>;

impl Checker<'_> {
    fn fail<T>(&self, path: impl Into<String>, problem: Problem) -> Checked<T> {
        Err(CatalogueError::Invalid {
            source_name: self.source_name.to_owned(),
            path: path.into(),
            problem,
        })
    }

    fn rule<T>(&self, path: impl Into<String>, message: impl Into<String>) -> Checked<T> {
        self.fail(path, Problem::Rule(message.into()))
    }

    fn non_empty(&self, path: impl Into<String>, text: &str) -> Checked<()> {
        if text.trim().is_empty() {
            return self.fail(path, Problem::Empty);
        }
        Ok(())
    }

    fn identifier(&self, path: &str, id: &str, allow: fn(u8) -> bool, what: &str) -> Checked<()> {
        self.non_empty(path, id)?;
        let first_ok = id.as_bytes()[0].is_ascii_lowercase();
        if !first_ok || !id.bytes().all(allow) || id.len() > 64 {
            return self.rule(path, format!("`{id}` is not a valid id: {what}"));
        }
        Ok(())
    }

    fn unique<'s>(
        &self,
        path: impl Fn(usize) -> String,
        ids: impl Iterator<Item = &'s str>,
    ) -> Checked<()> {
        let mut seen = BTreeSet::new();
        for (i, id) in ids.enumerate() {
            if !seen.insert(id) {
                return self.fail(path(i), Problem::DuplicateId(id.to_owned()));
            }
        }
        Ok(())
    }

    fn version(&self, path: &str, text: &str, scheme: VersionScheme) -> Checked<Version> {
        Version::parse(text, scheme).or_else(|e| self.fail(path, Problem::BadVersion(e)))
    }
}

fn kebab_id(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
}

fn snake_id(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'
}

const KEBAB: &str = "use lower-case letters, digits and hyphens, starting with a letter";
const SNAKE: &str = "use lower-case letters, digits and underscores, starting with a letter";

/// What validation parsed, kept so that nothing is parsed twice.
pub(crate) struct Parsed {
    /// For each data point in order, its gates as (runtime line index, bound).
    pub(crate) gates: Vec<Vec<(usize, crate::Bound)>>,
    /// For each supported host in order, its minimum version.
    pub(crate) hosts: Vec<crate::HostRequirement>,
    /// For each data point in order, when it stops.
    pub(crate) expiries: Vec<crate::Expiry>,
}

/// Checks every rule serde cannot express, and returns what it parsed.
pub(crate) fn validate(spec: &CatalogueSpec, source_name: &str) -> Checked<Parsed> {
    let c = Checker { source_name };
    if !(MIN_FORMAT_VERSION..=FORMAT_VERSION).contains(&spec.format) {
        return c.rule(
            "format",
            format!(
                "format {} is not supported (this Candor reads formats {MIN_FORMAT_VERSION} \
                 to {FORMAT_VERSION})",
                spec.format
            ),
        );
    }
    if spec.format < 2
        && let Some(i) = spec
            .data_points
            .iter()
            .position(|p| matches!(p.value, ValueType::Histogram { .. }))
    {
        return c.rule(
            format!("data_points[{i}].value"),
            "a histogram point needs `format = 2`: readers of format 1 do not know the kind",
        );
    }
    c.non_empty("revision", &spec.revision)?;
    check_characters(&c, spec)?;
    check_product(&c, &spec.product)?;
    check_lines(&c, &spec.runtime_lines)?;
    let hosts = check_hosts(&c, &spec.hosts)?;
    check_consent(&c, &spec.consent)?;
    c.non_empty("disclosure.statement", &spec.disclosure.statement)?;
    c.non_empty("disclosure.scope", &spec.disclosure.scope)?;
    check_collection(&c, &spec.collection)?;
    c.non_empty("delivery.destination", &spec.delivery.destination)?;
    c.non_empty("delivery.description", &spec.delivery.description)?;
    c.non_empty("retention.description", &spec.retention.description)?;
    if spec.retention.min_group == 0 {
        return c.rule("retention.min_group", "must be at least 1");
    }
    if spec.retention.days == Some(0) {
        return c.rule("retention.days", "must be at least 1 when given");
    }
    match spec.retention.local_copy_days {
        Some(0) => return c.rule("retention.local_copy_days", "must be at least 1 when given"),
        Some(days) if days > MAX_LOCAL_COPY_DAYS => {
            return c.rule(
                "retention.local_copy_days",
                format!(
                    "{days} days is longer than Candor keeps copies ({MAX_LOCAL_COPY_DAYS}); a \
                     catalogue may only shorten it"
                ),
            );
        }
        _ => {}
    }
    for (i, item) in spec.never_collected.iter().enumerate() {
        c.non_empty(format!("never_collected[{i}]"), item)?;
    }
    if spec.data_points.is_empty() {
        return c.rule(
            "data_points",
            "a catalogue declares at least one data point",
        );
    }
    c.unique(
        |i| format!("data_points[{i}]({}).id", spec.data_points[i].id),
        spec.data_points.iter().map(|p| p.id.as_str()),
    )?;
    let gates: Vec<_> = spec
        .data_points
        .iter()
        .enumerate()
        .map(|(i, point)| check_point(&c, &spec.runtime_lines, i, point))
        .collect::<Checked<_>>()?;
    check_deletion_key(&c, spec)?;
    check_revisions(&c, spec)?;
    let expiries = spec
        .data_points
        .iter()
        .zip(&gates)
        .enumerate()
        .map(|(i, (point, gates))| {
            let at = |field: &str| format!("data_points[{i}]({}).{field}", point.id);
            crate::lifecycle::check_point(spec, point, gates, &at, source_name)
        })
        .collect::<Checked<_>>()?;
    Ok(Parsed {
        gates,
        hosts,
        expiries,
    })
}

/// The history: each revision once, the last the catalogue's own, and every point it names
/// as added, widened, loosened or narrowed declared now (a removed one may not be).
fn check_revisions(c: &Checker<'_>, spec: &CatalogueSpec) -> Checked<()> {
    let Some(last) = spec.revisions.last() else {
        return Ok(());
    };
    c.unique(
        |i| format!("revisions[{i}].revision"),
        spec.revisions.iter().map(|r| r.revision.as_str()),
    )?;
    if last.revision != spec.revision {
        return c.rule(
            format!("revisions[{}].revision", spec.revisions.len() - 1),
            format!(
                "the last revision listed is `{}`, but the catalogue is revision `{}`",
                last.revision, spec.revision
            ),
        );
    }
    let declared: BTreeSet<&str> = spec.data_points.iter().map(|p| p.id.as_str()).collect();
    for (i, revision) in spec.revisions.iter().enumerate() {
        c.non_empty(format!("revisions[{i}].revision"), &revision.revision)?;
        c.non_empty(format!("revisions[{i}].summary"), &revision.summary)?;
        let named = [
            ("added", &revision.added),
            ("widened", &revision.widened),
            ("loosened", &revision.loosened),
            ("narrowed", &revision.narrowed),
        ];
        for (field, ids) in named {
            for (j, id) in ids.iter().enumerate() {
                if !declared.contains(id.as_str()) {
                    return c.rule(
                        format!("revisions[{i}].{field}[{j}]"),
                        format!("`{id}` is not a declared data point"),
                    );
                }
            }
        }
        for (j, id) in revision.removed.iter().enumerate() {
            c.identifier(&format!("revisions[{i}].removed[{j}]"), id, snake_id, SNAKE)?;
        }
    }
    Ok(())
}

/// Fields whose text may run over several lines (paragraphs of prose); every other string is a
/// single line. Both refuse control characters other than line breaks and tabs in prose, and
/// the characters that reorder text when displayed (bidi overrides), because the disclosure page
/// must show exactly what the catalogue says, and a line break in a name would start new
/// Markdown (a heading, a table row) on the page.
const PROSE_FIELDS: &[&str] = &["description", "statement", "scope", "notes", "$comment"];

fn check_characters(c: &Checker<'_>, spec: &CatalogueSpec) -> Checked<()> {
    // Walking the serialised form visits every string field, including ones added later.
    let Ok(raw) = serde_json::to_value(spec) else {
        return c.rule("(top level)", "the catalogue cannot be represented as data");
    };
    let mut stack: Vec<(String, &Value)> = vec![(String::new(), &raw)];
    while let Some((path, value)) = stack.pop() {
        match value {
            Value::String(text) => {
                let field = path.rsplit(['.', ']']).next().unwrap_or("");
                let prose = PROSE_FIELDS.contains(&field);
                if let Some(bad) = text.chars().find(|ch| forbidden_char(*ch, prose)) {
                    let at = if path.is_empty() {
                        "(top level)".to_owned()
                    } else {
                        path
                    };
                    return c.rule(
                        at,
                        format!(
                            "contains the character U+{:04X}; {}",
                            u32::from(bad),
                            if prose {
                                "text may hold line breaks and tabs but no other control or \
                                 direction-override characters"
                            } else {
                                "a single-line field holds no control or direction-override \
                                 characters"
                            }
                        ),
                    );
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    stack.push((format!("{path}[{i}]{}", id_suffix(item)), item));
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    let child = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    stack.push((child, item));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

pub(crate) fn forbidden_char(ch: char, prose: bool) -> bool {
    let bidi = crate::is_bidi_control(ch);
    let allowed_control = prose && matches!(ch, '\n' | '\t' | '\r');
    bidi || ((ch.is_control() || matches!(ch, '\u{2028}' | '\u{2029}')) && !allowed_control)
}

fn check_product(c: &Checker<'_>, product: &ProductSpec) -> Checked<()> {
    c.identifier("product.id", &product.id, kebab_id, KEBAB)?;
    c.non_empty("product.name", &product.name)?;
    c.non_empty("product.vendor", &product.vendor)?;
    c.non_empty("product.description", &product.description)?;
    if let Some(contact) = &product.privacy_contact {
        c.non_empty("product.privacy_contact", contact)?;
    }
    Ok(())
}

fn check_lines(c: &Checker<'_>, lines: &[RuntimeLineSpec]) -> Checked<()> {
    if lines.is_empty() {
        return c.rule("runtime_lines", "a product has at least one runtime line");
    }
    for (i, line) in lines.iter().enumerate() {
        c.identifier(&format!("runtime_lines[{i}].id"), &line.id, kebab_id, KEBAB)?;
        c.non_empty(format!("runtime_lines[{i}]({}).name", line.id), &line.name)?;
    }
    c.unique(
        |i| format!("runtime_lines[{i}].id"),
        lines.iter().map(|l| l.id.as_str()),
    )
}

fn check_hosts(c: &Checker<'_>, hosts: &HostPolicy) -> Checked<Vec<crate::HostRequirement>> {
    if hosts.required && hosts.supported.is_empty() {
        return c.rule(
            "hosts.supported",
            "hosts are required but none is listed: nothing could ever be collected",
        );
    }
    let mut requirements = Vec::with_capacity(hosts.supported.len());
    for (i, host) in hosts.supported.iter().enumerate() {
        let path = format!("hosts.supported[{i}]");
        c.identifier(&format!("{path}.id"), &host.id, kebab_id, KEBAB)?;
        c.non_empty(format!("{path}({}).name", host.id), &host.name)?;
        requirements.push(match &host.minimum {
            HostMinimum::AtLeast(text) => crate::HostRequirement::AtLeast(c.version(
                &format!("{path}({}).minimum.at_least", host.id),
                text,
                VersionScheme::Dotted,
            )?),
            HostMinimum::NotYetAnnounced => crate::HostRequirement::NotYetAnnounced,
        });
    }
    c.unique(
        |i| format!("hosts.supported[{i}].id"),
        hosts.supported.iter().map(|h| h.id.as_str()),
    )?;
    Ok(requirements)
}

fn check_consent(c: &Checker<'_>, consent: &ConsentSpec) -> Checked<()> {
    for (i, variable) in consent.variables.iter().enumerate() {
        let path = format!("consent.variables[{i}]");
        c.non_empty(format!("{path}.name"), &variable.name)?;
        let well_formed = variable.name.as_bytes()[0].is_ascii_uppercase()
            && variable
                .name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !well_formed {
            return c.rule(
                format!("{path}.name"),
                format!(
                    "`{}` is not an environment variable name (upper-case letters, digits, underscores)",
                    variable.name
                ),
            );
        }
        if variable.name == crate::DO_NOT_TRACK {
            return c.rule(
                format!("{path}.name"),
                "DO_NOT_TRACK is honoured for every product by Candor itself; do not declare it",
            );
        }
        if variable.documented_values.is_empty() {
            return c.rule(
                format!("{path}({}).documented_values", variable.name),
                "list the values the vendor documents for opting out",
            );
        }
        for (j, value) in variable.documented_values.iter().enumerate() {
            c.non_empty(
                format!("{path}({}).documented_values[{j}]", variable.name),
                value,
            )?;
        }
    }
    c.unique(
        |i| format!("consent.variables[{i}].name"),
        consent.variables.iter().map(|v| v.name.as_str()),
    )?;
    for (i, condition) in consent.runtime_conditions.iter().enumerate() {
        let path = format!("consent.runtime_conditions[{i}]");
        c.identifier(&format!("{path}.id"), &condition.id, kebab_id, KEBAB)?;
        c.non_empty(
            format!("{path}({}).description", condition.id),
            &condition.description,
        )?;
    }
    c.unique(
        |i| format!("consent.runtime_conditions[{i}].id"),
        consent.runtime_conditions.iter().map(|r| r.id.as_str()),
    )?;
    match (
        consent.network_block_opts_out,
        consent.network_block_after_seconds,
    ) {
        (true, None) => {
            return c.rule(
                "consent.network_block_after_seconds",
                "blocking the network opts out: say after how many seconds without an answer",
            );
        }
        (false, Some(_)) => {
            return c.rule(
                "consent.network_block_after_seconds",
                "given, but network_block_opts_out is not set",
            );
        }
        (true, Some(seconds)) if seconds < MIN_INTERVAL_SECONDS => {
            return c.rule(
                "consent.network_block_after_seconds",
                format!("{seconds} s is shorter than the minimum of {MIN_INTERVAL_SECONDS} s"),
            );
        }
        _ => {}
    }
    if let NoticeKind::InProduct { location } = &consent.notice {
        c.non_empty("consent.notice.location", location)?;
    }
    Ok(())
}

/// Shortest period Candor will schedule; anything shorter is a typo for minutes or hours.
const MIN_INTERVAL_SECONDS: u64 = 60;

fn check_collection(c: &Checker<'_>, collection: &CollectionSpec) -> Checked<()> {
    if collection.triggers.is_empty() {
        return c.rule("collection.triggers", "name at least one trigger");
    }
    c.non_empty("collection.schedule", &collection.schedule)?;
    let periodic = collection.triggers.contains(&Trigger::Periodic);
    match (periodic, collection.interval_seconds) {
        (true, None) => {
            return c.rule(
                "collection.interval_seconds",
                "a periodic trigger needs an interval",
            );
        }
        (false, Some(_)) => {
            return c.rule(
                "collection.interval_seconds",
                "an interval is given but no trigger is periodic",
            );
        }
        (true, Some(seconds)) if seconds < MIN_INTERVAL_SECONDS => {
            return c.rule(
                "collection.interval_seconds",
                format!("{seconds} s is shorter than the minimum of {MIN_INTERVAL_SECONDS} s"),
            );
        }
        _ => {}
    }
    if collection.jitter_percent.is_some_and(|j| j > 50) {
        return c.rule("collection.jitter_percent", "must be 50 or less");
    }
    Ok(())
}

/// A deletion key names something every installation sends: Candor's install id, declared, or
/// a hashed point of this catalogue.
fn check_deletion_key(c: &Checker<'_>, spec: &CatalogueSpec) -> Checked<()> {
    match &spec.collection.deletion_key {
        DeletionKey::InstallId if !spec.collection.install_id => c.rule(
            "collection.deletion_key",
            "`install-id` needs `collection.install_id = true`",
        ),
        DeletionKey::Point(id) => match spec.data_points.iter().find(|p| &p.id == id) {
            None => c.rule(
                "collection.deletion_key",
                format!("no data point `{id}` in this catalogue"),
            ),
            Some(point) if point.privacy != PrivacyClass::Hashed => c.rule(
                "collection.deletion_key",
                format!("the point `{id}` is not hashed; a deletion key is a hashed identifier"),
            ),
            Some(_) => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The OpenTelemetry semantic-convention attributes a data point may name (`semconv`): those
/// whose value is a string that a point's value can be as it stands.
pub(crate) const SEMCONV_NAMES: &[&str] = &[
    "os.type",
    "os.name",
    "os.version",
    "os.description",
    "host.arch",
    "process.runtime.name",
    "process.runtime.version",
    "process.runtime.description",
    "cloud.provider",
    "cloud.platform",
];

/// Longest free text any data point may declare; larger values belong in logs, not telemetry.
const MAX_TEXT_LEN: u32 = 64 * 1024;

fn check_point(
    c: &Checker<'_>,
    lines: &[RuntimeLineSpec],
    index: usize,
    point: &DataPointSpec,
) -> Checked<Vec<(usize, crate::Bound)>> {
    let at = |field: &str| format!("data_points[{index}]({}).{field}", point.id);
    c.identifier(
        &format!("data_points[{index}].id"),
        &point.id,
        snake_id,
        SNAKE,
    )?;
    c.non_empty(at("name"), &point.name)?;
    c.non_empty(at("description"), &point.description)?;
    if let Some(notes) = &point.notes {
        c.non_empty(at("notes"), notes)?;
    }
    if let Some(group) = &point.group {
        c.non_empty(at("group"), group)?;
    }
    let permitted = point.value.permitted_privacy();
    if !permitted.contains(&point.privacy) {
        return c.fail(
            at("privacy"),
            Problem::PrivacyMismatch {
                kind: point.value.kind_name(),
                declared: point.privacy.as_str(),
                permitted: permitted.iter().map(|p| p.as_str()).collect(),
            },
        );
    }
    check_value(c, &at("value"), &point.value)?;
    check_max_items(c, &at("max_items"), point)?;
    if let Some(reading) = point.source
        && !reading.fits(&point.value)
    {
        return c.rule(
            at("source"),
            format!(
                "the reading `{reading}` fills a `{}` value, not a `{}` one",
                reading.kind_name(),
                point.value.kind_name()
            ),
        );
    }
    check_unit(c, &at("unit"), &point.value, point.unit)?;
    if let Some(name) = &point.semconv {
        if !SEMCONV_NAMES.contains(&name.as_str()) {
            return c.rule(
                at("semconv"),
                format!("must be one of {}", SEMCONV_NAMES.join(", ")),
            );
        }
        if !matches!(
            point.value,
            ValueType::Version | ValueType::Text { .. } | ValueType::Enumeration { .. }
        ) {
            return c.rule(
                at("semconv"),
                "a semantic-convention attribute is a string: only version, text and enumeration points may name one",
            );
        }
    }
    if point.gates.is_empty() {
        return c.rule(
            at("gates"),
            "no runtime line collects this point; give at least one gate",
        );
    }
    let declared: Vec<String> = lines.iter().map(|l| l.id.clone()).collect();
    point
        .gates
        .iter()
        .map(|(line_id, gate)| {
            let path = at(&format!("gates.{line_id}"));
            let Some(line_index) = lines.iter().position(|l| &l.id == line_id) else {
                return c.fail(
                    path,
                    Problem::UndeclaredRuntimeLine {
                        line: line_id.clone(),
                        declared: declared.clone(),
                    },
                );
            };
            let scheme = lines[line_index].versioning;
            let bound = match gate {
                Gate::Since(text) => crate::Bound::Since(c.version(&path, text, scheme)?),
                Gate::After(text) => crate::Bound::After(c.version(&path, text, scheme)?),
            };
            Ok((line_index, bound))
        })
        .collect()
}

fn check_value(c: &Checker<'_>, path: &str, value: &ValueType) -> Checked<()> {
    let list = |field: &str, items: &[String]| -> Checked<()> {
        if items.is_empty() {
            return c.rule(format!("{path}.{field}"), "must list at least one entry");
        }
        for (i, item) in items.iter().enumerate() {
            c.non_empty(format!("{path}.{field}[{i}]"), item)?;
        }
        c.unique(
            |i| format!("{path}.{field}[{i}]"),
            items.iter().map(String::as_str),
        )
    };
    match value {
        ValueType::Enumeration { values, other } => {
            list("values", values)?;
            if let Some(other) = other {
                c.non_empty(format!("{path}.other"), other)?;
                if values.contains(other) {
                    return c.rule(
                        format!("{path}.other"),
                        "the placeholder must differ from every declared value",
                    );
                }
            }
        }
        ValueType::Text { max_len } if *max_len == 0 || *max_len > MAX_TEXT_LEN => {
            return c.rule(
                format!("{path}.max_len"),
                format!("must be between 1 and {MAX_TEXT_LEN}"),
            );
        }
        ValueType::Distribution { statistics } => {
            if statistics.is_empty() {
                return c.rule(format!("{path}.statistics"), "name at least one statistic");
            }
            let distinct: BTreeSet<_> = statistics.iter().collect();
            if distinct.len() != statistics.len() {
                return c.rule(format!("{path}.statistics"), "a statistic is named twice");
            }
        }
        ValueType::Histogram {
            min,
            max,
            buckets_per_octave,
        } => {
            if let Err(problem) = crate::BucketLayout::new(*min, *max, *buckets_per_octave) {
                return c.rule(path, problem.to_string());
            }
        }
        ValueType::Names { known, other } => match (known, other) {
            (Some(known), Some(other)) => {
                list("known", known)?;
                c.non_empty(format!("{path}.other"), other)?;
            }
            (None, None) => {}
            _ => {
                return c.rule(
                    path,
                    "`known` and `other` go together: an allow-list needs a placeholder",
                );
            }
        },
        ValueType::ModeByName { modes } => list("modes", modes)?,
        ValueType::Properties { keys } => list("keys", keys)?,
        ValueType::Exception {
            allowed_namespaces, ..
        } => {
            for (i, ns) in allowed_namespaces.iter().enumerate() {
                c.non_empty(format!("{path}.allowed_namespaces[{i}]"), ns)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_max_items(c: &Checker<'_>, path: &str, point: &DataPointSpec) -> Checked<()> {
    let Some(cap) = point.item_cap() else {
        if point.max_items.is_none() {
            return Ok(());
        }
        return c.rule(
            path,
            format!(
                "a `{}` value has no items to cap; only names, label_counts and mode_by_name \
                 points declare max_items",
                point.value.kind_name()
            ),
        );
    };
    if point
        .max_items
        .is_some_and(|declared| declared == 0 || declared > MAX_ITEMS_LIMIT)
    {
        return c.rule(path, format!("must be between 1 and {MAX_ITEMS_LIMIT}"));
    }
    if let ValueType::Names {
        known: Some(known), ..
    } = &point.value
        && known.len() + 1 > cap
    {
        return c.rule(
            path,
            format!(
                "{cap} is fewer than the {} known names and their placeholder",
                known.len()
            ),
        );
    }
    Ok(())
}

fn check_unit(c: &Checker<'_>, path: &str, value: &ValueType, unit: Option<Unit>) -> Checked<()> {
    let allowed: &[Unit] = match value {
        ValueType::Duration => &[Unit::Milliseconds, Unit::Seconds],
        ValueType::Count | ValueType::Distribution { .. } | ValueType::Histogram { .. } => {
            &[Unit::Bytes, Unit::Milliseconds, Unit::Seconds]
        }
        _ => &[],
    };
    match unit {
        None if matches!(value, ValueType::Duration) => {
            c.rule(path, "a duration needs a unit (milliseconds or seconds)")
        }
        None if matches!(value, ValueType::Histogram { .. }) => c.rule(
            path,
            "a histogram needs a unit (bytes, milliseconds or seconds) for its range",
        ),
        Some(unit) if !allowed.contains(&unit) => c.rule(
            path,
            format!(
                "a `{}` value cannot have a unit of {unit:?}",
                value.kind_name()
            ),
        ),
        _ => Ok(()),
    }
}
