//! The step between a raw value and a sendable one: gate, privacy, shape.
//!
//! Every value Candor sends passes through [`Preparer::prepare`]. It refuses a point the
//! catalogue does not declare, a point whose gate the running version does not pass, a point
//! that has expired (by the running version, or by the UTC day the value was recorded: the
//! facade reads the clock when the host records and hands that time to
//! [`Preparer::prepare_event`]), and a value that does not fit the point's kind; otherwise it
//! applies the point's privacy (scrub, hash, summarise, coarsen, filter) and checks the result
//! against the declaration once more.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use candor_privacy::stack::StackFilter;
use candor_privacy::user_agent::coarsen;
use candor_privacy::{
    IdentifierError, KeyedHasher, Scrubber, check_identifier, check_version, sha256_hex,
};
use candor_schema::{
    BucketLayout, Catalogue, DataPointSpec, Date, Event, ExceptionValue, Expired, Grammar,
    HashAlgorithm, MAX_FRAMES, QueryError, Stamp, StringRole, Timestamp, Unit, Value, ValueType,
    Version, check_value,
};

use crate::input::{Input, RawException};
use crate::summary::summarise;

/// Why a value was not sent. Every refusal names the data point and the reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejected {
    /// The catalogue declares no such point.
    #[error("`{point}` is not declared in the catalogue of {product}")]
    Undeclared {
        /// The point asked for.
        point: String,
        /// The product.
        product: String,
    },
    /// The point exists but not for this runtime line and version.
    #[error("`{point}` is not collected by {line} {version} ({why})")]
    NotInEffect {
        /// The point.
        point: String,
        /// The runtime line.
        line: String,
        /// The product version.
        version: String,
        /// The gate, or that the line never collects it.
        why: String,
    },
    /// The raw value has the wrong shape for the point's kind.
    #[error("`{point}` is a {kind} point; a {given} value does not fit")]
    WrongShape {
        /// The point.
        point: String,
        /// Its declared kind.
        kind: &'static str,
        /// The shape given.
        given: &'static str,
    },
    /// The value does not satisfy the point's declaration.
    #[error("`{point}`: {reason}")]
    Invalid {
        /// The point.
        point: String,
        /// What is wrong.
        reason: String,
    },
    /// The point's catalogue says it is no longer collected: its expiry day has come (by the
    /// UTC day the value was recorded) or the running version has reached its expiry version.
    #[error("`{point}` is no longer collected: {expired}")]
    Expired {
        /// The point.
        point: String,
        /// Which expiry stopped it.
        expired: Expired,
    },
    /// The point is hashed with a key and none was configured.
    #[error("`{point}` needs a hashing key and none is configured")]
    NoHashKey {
        /// The point.
        point: String,
    },
}

impl Rejected {
    /// The data point the refusal is about.
    pub fn point(&self) -> &str {
        match self {
            Self::Undeclared { point, .. }
            | Self::NotInEffect { point, .. }
            | Self::WrongShape { point, .. }
            | Self::Invalid { point, .. }
            | Self::Expired { point, .. }
            | Self::NoHashKey { point } => point,
        }
    }
}

/// The product, version and runtime line events are prepared for.
#[derive(Debug, Clone)]
pub struct ProductContext {
    catalogue: Arc<Catalogue>,
    line: String,
    version_text: String,
    version: Version,
}

impl ProductContext {
    /// Binds a catalogue to a runtime line (`None` when the product has only one) and a version
    /// read under that line's scheme.
    pub fn new(
        catalogue: Arc<Catalogue>,
        line: Option<&str>,
        version: &str,
    ) -> Result<Self, QueryError> {
        let line = catalogue.resolve_runtime_line(line)?.id.clone();
        let parsed = catalogue.parse_version(&line, version)?;
        Ok(Self {
            catalogue,
            line,
            version_text: version.trim().to_owned(),
            version: parsed,
        })
    }

    /// The catalogue.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// A shared handle on the catalogue.
    pub fn catalogue_arc(&self) -> Arc<Catalogue> {
        Arc::clone(&self.catalogue)
    }

    /// The runtime line's id.
    pub fn line(&self) -> &str {
        &self.line
    }

    /// The product version as given.
    pub fn version_text(&self) -> &str {
        &self.version_text
    }

    /// The points in effect for this line and version.
    pub fn points_in_effect(&self) -> Vec<&DataPointSpec> {
        self.catalogue
            .spec()
            .data_points
            .iter()
            .filter(|p| self.is_in_effect(&p.id))
            .collect()
    }

    /// Whether `point` is collected by this line and version.
    pub fn is_in_effect(&self, point: &str) -> bool {
        self.catalogue
            .is_in_effect(point, &self.line, &self.version)
            .unwrap_or(false)
    }
}

/// Turns raw values into sendable ones for one product context.
#[derive(Debug, Clone)]
pub struct Preparer {
    context: ProductContext,
    scrubber: Arc<Scrubber>,
    keyed: Option<Arc<KeyedHasher>>,
    install_id: Option<String>,
}

impl Preparer {
    /// A preparer with the given scrubber and no hashing key (points hashed with a key are
    /// refused until one is set).
    pub fn new(context: ProductContext, scrubber: Arc<Scrubber>) -> Self {
        Self {
            context,
            scrubber,
            keyed: None,
            install_id: None,
        }
    }

    /// Sets the key for `hmac-sha256` points.
    pub fn with_hash_key(mut self, hasher: KeyedHasher) -> Self {
        self.keyed = Some(Arc::new(hasher));
        self
    }

    /// Sets the install id events carry. It is attached only when the catalogue declares one.
    pub fn with_install_id(mut self, install_id: impl Into<String>) -> Self {
        self.install_id = Some(install_id.into());
        self
    }

    /// The product context.
    pub fn context(&self) -> &ProductContext {
        &self.context
    }

    /// The scrubber it applies (and checks verbatim values with), for checks that must agree
    /// with it.
    pub fn scrubber(&self) -> &Arc<Scrubber> {
        &self.scrubber
    }

    /// Checks `point` against the catalogue, its gate and its expiry as of now, without
    /// preparing a value.
    pub fn admit(&self, point: &str) -> Result<&DataPointSpec, Rejected> {
        self.admit_at(point, SystemTime::now())
    }

    /// [`Preparer::admit`] for a value recorded at `time`: a point whose expiry day has come
    /// by `time`'s UTC day is refused as expired.
    pub fn admit_at(&self, point: &str, time: SystemTime) -> Result<&DataPointSpec, Rejected> {
        let ctx = &self.context;
        let spec = ctx
            .catalogue
            .data_point(point)
            .map_err(|_| Rejected::Undeclared {
                point: point.to_owned(),
                product: ctx.catalogue.product_id().to_owned(),
            })?;
        // The gate first: a version the point was never collected by is "not in effect", and
        // only a point that would be collected can have stopped.
        let gate = ctx.catalogue.gate(point, &ctx.line).ok().flatten();
        if !gate.is_some_and(|bound| bound.admits(&ctx.version)) {
            let why = match gate {
                Some(bound) => format!("collected {bound}"),
                None => format!("never collected on {}", ctx.line),
            };
            return Err(Rejected::NotInEffect {
                point: point.to_owned(),
                line: ctx.line.clone(),
                version: ctx.version_text.clone(),
                why,
            });
        }
        let today = Date::from_system_time(time);
        if let Some(expired) = ctx
            .catalogue
            .expiry(point)
            .ok()
            .and_then(|expiry| expiry.expired(&ctx.line, &ctx.version, today))
        {
            return Err(Rejected::Expired {
                point: point.to_owned(),
                expired,
            });
        }
        Ok(spec)
    }

    /// Prepares a raw value for `point` as of now: the sendable value, or why it is refused.
    pub fn prepare(&self, point: &str, input: Input) -> Result<Value, Rejected> {
        self.prepare_at(point, input, SystemTime::now())
    }

    fn prepare_at(&self, point: &str, input: Input, time: SystemTime) -> Result<Value, Rejected> {
        let spec = self.admit_at(point, time)?;
        let value = self.apply(spec, input)?;
        check_value(spec, &value).map_err(|m| Rejected::Invalid {
            point: point.to_owned(),
            reason: m.problem,
        })?;
        Ok(value)
    }

    /// Prepares a value and wraps it in an event stamped with `time` and a fresh event id. This
    /// is the only way Candor makes an event: privacy first, then [`Event::declared`] checks the
    /// result against the catalogue once more.
    pub fn prepare_event(
        &self,
        point: &str,
        input: Input,
        time: SystemTime,
    ) -> Result<Event, Rejected> {
        let value = self.prepare_at(point, input, time)?;
        let stamp = Stamp {
            event_id: new_event_id(),
            time: Timestamp::from_system_time(time).to_millis(),
            product_version: self.context.version_text.clone(),
            runtime_line: self.context.line.clone(),
            install_id: self.install_id.clone(),
        };
        Event::declared(&self.context.catalogue, point, value, stamp).map_err(|m| {
            Rejected::Invalid {
                point: point.to_owned(),
                reason: m.problem,
            }
        })
    }

    /// The value for `input`: first its shape (the declared kind, values and names, trimmed
    /// words, the stack filter), then each string's protection in the role
    /// [`Value::walk_strings_mut`] gives it, the walk the event check on arrival and on the
    /// spool's re-admission reads the same roles from.
    fn apply(&self, spec: &DataPointSpec, input: Input) -> Result<Value, Rejected> {
        let mut value = Self::shape(spec, input)?;
        value.walk_strings_mut(spec, |role, text| self.protect(spec, role, text))?;
        if let Value::Names(names) = &mut value {
            // Sorted and each once after protection: a scrubbed name may now equal another.
            names.sort();
            names.dedup();
        }
        Ok(value)
    }

    /// The raw value in the point's declared shape, before any string is protected.
    fn shape(spec: &DataPointSpec, input: Input) -> Result<Value, Rejected> {
        let point = spec.id.as_str();
        let invalid = |reason: String| Rejected::Invalid {
            point: point.to_owned(),
            reason,
        };
        let wrong = |input: &Input| Rejected::WrongShape {
            point: point.to_owned(),
            kind: spec.value.kind_name(),
            given: input.shape_name(),
        };
        let value = match (&spec.value, input) {
            (ValueType::Flag, Input::Flag(b)) => Value::Flag(b),
            (ValueType::Enumeration { values, other }, Input::Word(w)) => {
                let w = w.trim();
                if values.iter().any(|v| v == w) {
                    Value::Enumeration(w.to_owned())
                } else if let Some(other) = other {
                    Value::Enumeration(other.clone())
                } else {
                    return Err(invalid(format!(
                        "not one of the declared values ({})",
                        values.join(", ")
                    )));
                }
            }
            (ValueType::Version, Input::Word(w)) => Value::Version(w.trim().to_owned()),
            (ValueType::Text { .. }, Input::Text(t) | Input::Word(t)) => Value::Text(t),
            (ValueType::Count, Input::Count(n)) => Value::Count(n),
            (ValueType::Duration, Input::Elapsed(d)) => Value::Duration(in_unit(d, spec.unit)),
            (ValueType::Distribution { statistics }, Input::Samples(samples)) => {
                Value::Distribution(summarise(&samples, statistics))
            }
            // The period's measurements become bucket counts here, before anything is queued
            // for a sink: only the counts, their total and sum are kept.
            (histogram @ ValueType::Histogram { .. }, Input::Samples(samples)) => {
                let layout = BucketLayout::of(histogram).ok_or_else(|| {
                    invalid("the point declares no valid bucket layout".to_owned())
                })?;
                Value::Histogram(layout.fold(&samples))
            }
            (ValueType::Hashed { .. }, Input::Identifier(id)) => {
                if id.is_empty() {
                    return Err(invalid("an empty identifier identifies nothing".to_owned()));
                }
                // Hashed by its role in the walk; the identifier itself never leaves.
                Value::Hashed(id)
            }
            (ValueType::Names { known, other }, Input::Names(names)) => {
                let mut out = Vec::with_capacity(names.len());
                for name in names {
                    candor_schema::check_name(&name).map_err(|e| invalid(e.to_string()))?;
                    let name = match (known, other) {
                        (Some(known), Some(other)) if !known.contains(&name) => other.clone(),
                        (Some(known), None) if !known.contains(&name) => {
                            return Err(invalid(format!("`{name}` is not a declared name")));
                        }
                        _ => name,
                    };
                    out.push(name);
                }
                Value::Names(out)
            }
            (ValueType::LabelCounts, Input::LabelCounts(map)) => Value::LabelCounts(map),
            (ValueType::ModeByName { .. }, Input::ModeByName(map)) => Value::ModeByName(
                map.into_iter()
                    .map(|(name, mode)| (name, mode.trim().to_ascii_lowercase()))
                    .collect(),
            ),
            (ValueType::Properties { keys }, Input::Properties(map)) => Value::Properties(
                map.into_iter()
                    .filter(|(k, _)| keys.contains(k))
                    .collect::<BTreeMap<_, _>>(),
            ),
            (ValueType::LanguageTag, Input::Word(w)) => Value::LanguageTag(w.trim().to_owned()),
            (ValueType::UserAgent, Input::Word(w) | Input::Text(w)) => Value::UserAgent(w),
            (
                ValueType::Exception {
                    allowed_namespaces,
                    includes_log_message,
                },
                Input::Exception(raw),
            ) => Value::Exception(Self::exception(
                allowed_namespaces,
                *includes_log_message,
                raw,
            )),
            (_, input) => return Err(wrong(&input)),
        };
        Ok(value)
    }

    /// One string of a value made safe to send, as its role says: scrubbed, coarsened,
    /// hashed, or refused unless it matches its grammar with nothing personal in it. (A
    /// scrubbed point's names, labels and modes come here as scrubbed text: the point's
    /// privacy class decides, not the value's kind.)
    fn protect(
        &self,
        spec: &DataPointSpec,
        role: StringRole,
        text: &mut String,
    ) -> Result<(), Rejected> {
        let invalid = |e: IdentifierError| Rejected::Invalid {
            point: spec.id.clone(),
            reason: e.to_string(),
        };
        match role {
            StringRole::Scrubbed { max_len } => {
                *text = self.scrubber.scrub_limited(text, max_len);
            }
            StringRole::Coarsened => *text = coarsen(text).to_string(),
            StringRole::Hash(HashAlgorithm::Sha256) => *text = sha256_hex(text.as_bytes()),
            StringRole::Hash(HashAlgorithm::HmacSha256) => match &self.keyed {
                Some(h) => *text = h.hash(text.as_bytes()).to_string(),
                None => {
                    return Err(Rejected::NoHashKey {
                        point: spec.id.clone(),
                    });
                }
            },
            StringRole::Verbatim(Grammar::Identifier) => {
                check_identifier(&self.scrubber, text).map_err(invalid)?;
            }
            StringRole::Verbatim(Grammar::Version) => {
                check_version(&self.scrubber, text).map_err(invalid)?;
            }
            StringRole::Verbatim(Grammar::LanguageTag) if !candor_schema::is_language_tag(text) => {
                return Err(invalid(IdentifierError::Shape("language tag")));
            }
            // Declared words, type names and well-formed language tags need nothing more.
            _ => {}
        }
        Ok(())
    }

    /// An exception's shape: frames kept by the namespace filter, one line each, a type name
    /// that is a name; the message, frames and log message are scrubbed by their role.
    fn exception(
        allowed_namespaces: &[String],
        includes_log_message: bool,
        raw: RawException,
    ) -> ExceptionValue {
        let filtered = StackFilter::new(allowed_namespaces).filter(&raw.stack);
        let frames: Vec<String> = filtered
            .text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(MAX_FRAMES)
            .map(str::to_owned)
            .collect();
        // A type name that is not a name (it has spaces, quotes, an e-mail address) is not
        // trusted to be one; its place is taken by a neutral word.
        let type_name = if candor_schema::check_name(raw.type_name.trim()).is_ok() {
            raw.type_name.trim().to_owned()
        } else {
            "UnknownException".to_owned()
        };
        ExceptionValue {
            type_name,
            message: raw.message,
            frames,
            frames_dropped: u32::try_from(filtered.dropped).unwrap_or(u32::MAX),
            log_message: raw.log_message.filter(|_| includes_log_message),
        }
    }
}

/// A length of time in a point's unit; seconds when it names none.
fn in_unit(elapsed: std::time::Duration, unit: Option<Unit>) -> f64 {
    match unit {
        Some(Unit::Milliseconds) => elapsed.as_secs_f64() * 1000.0,
        _ => elapsed.as_secs_f64(),
    }
}

/// How many milliseconds one unit of a point's durations is.
pub fn unit_in_ms(unit: Option<Unit>) -> f64 {
    match unit {
        Some(Unit::Milliseconds) => 1.0,
        _ => 1000.0,
    }
}

/// A random 128-bit event id in lower-case hex. If the system's random source fails, the id
/// falls back to the clock and a counter: still unique within this process, which is all
/// deduplication needs.
pub fn new_event_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        bytes[..8].copy_from_slice(&(nanos as u64).to_le_bytes());
        bytes[8..].copy_from_slice(&n.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
