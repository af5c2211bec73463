//! The event envelope: one data point's value, ready to leave the machine.
//!
//! An [`Event`] is what every sink sends and what a receiver decodes. It names the product, the
//! version and runtime line that produced it, the data point, and the value after privacy was
//! applied. The envelope lives here, beside the catalogue, so that its JSON Schema
//! ([`event_json_schema`]) is published with the catalogue's and other tools can validate what
//! they receive.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{DataPointSpec, Statistic, ValueType};
use crate::timestamp::Timestamp;

/// The longest version string an event may carry.
pub const MAX_VERSION_LEN: usize = 64;
/// The longest name (setting name, rule name, label, property key) an event may carry.
pub const MAX_NAME_LEN: usize = 128;
/// The longest property value an event may carry.
pub const MAX_PROPERTY_VALUE_LEN: usize = 128;
/// The longest exception message or log message an event may carry.
pub const MAX_MESSAGE_LEN: usize = 1024;
/// The most stack frames an event may carry.
pub const MAX_FRAMES: usize = 64;
/// The largest count a value may carry (of a `count` point, or of a label): 2⁶³ − 1, the
/// largest whole number OTLP's `int_value` and the receiving end's databases hold. A larger one
/// is refused here, where the sender and the receiver check, never clamped on the wire.
pub const MAX_COUNT: u64 = i64::MAX.unsigned_abs();

/// One data point's value, sent after privacy was applied: the only event type of Candor,
/// on the sending machine and on the receiving end alike.
///
/// Its fields are private, so there are exactly two ways in: [`Event::declared`], which the
/// preparer calls after privacy and which checks the value against the catalogue, and
/// deserialisation of the wire form (`docs/schema/event.schema.json`), after which a reader
/// checks the event against the catalogue revision it names (`candor-check`, shared by the
/// receiving end and the spool's re-admission) before anything is stored or sent. No holder can
/// rewrite a value after it was checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(description = "One data point's value, sent after privacy was applied.")]
pub struct Event {
    /// A random 128-bit identifier in lower-case hex, so a receiver can drop duplicates of a
    /// payload that was delivered twice.
    event_id: String,
    /// When the value was recorded, RFC 3339 in UTC (`2026-11-21T09:30:00.123Z`).
    time: Timestamp,
    /// The product's catalogue id.
    product: String,
    /// The product version that recorded the value.
    product_version: String,
    /// The runtime line of that version.
    runtime_line: String,
    /// The revision of the catalogue that declared the point.
    catalogue_revision: String,
    /// A random, per-installation identifier, present only when the catalogue declares one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    install_id: Option<String>,
    /// The data point's id.
    point: String,
    /// The value.
    value: Value,
}

/// An event taken apart, for a reader that keeps its parts (the receiving end's row) without
/// copying them. It cannot be put back together: an event is made only by [`Event::declared`]
/// or read from the wire.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EventParts {
    /// The event id.
    pub event_id: String,
    /// When the value was recorded.
    pub time: Timestamp,
    /// The product's catalogue id.
    pub product: String,
    /// The product version.
    pub product_version: String,
    /// The runtime line.
    pub runtime_line: String,
    /// The catalogue revision.
    pub catalogue_revision: String,
    /// The install id, when there is one.
    pub install_id: Option<String>,
    /// The data point's id.
    pub point: String,
    /// The value.
    pub value: Value,
}

/// What an event says besides its point and value: made by the preparer for each value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// A random 128-bit identifier in lower-case hex.
    pub event_id: String,
    /// When the value was recorded.
    pub time: Timestamp,
    /// The product version that recorded the value.
    pub product_version: String,
    /// The runtime line of that version; it must be one the catalogue declares.
    pub runtime_line: String,
    /// The installation's identifier; kept only when the catalogue declares `install_id`.
    pub install_id: Option<String>,
}

impl Event {
    /// An event for `point` of `catalogue`, refused unless the catalogue declares the point and
    /// the runtime line, and the value has the point's declared shape ([`check_value`]). The
    /// product and the catalogue revision come from the catalogue itself, and the install id
    /// is attached only when the catalogue declares one, so no event can claim what its
    /// catalogue does not say. Candor's preparer is the one caller in the runtime, after it
    /// applied the point's privacy. No other crate can build an event field by field, or
    /// change one after it was made:
    ///
    /// ```compile_fail
    /// let forged = candor_schema::Event {
    ///     event_id: "0".repeat(32),
    ///     time: candor_schema::Timestamp::EPOCH,
    ///     product: "contrast-dotnet-agent".into(),
    ///     product_version: "21.1.2".into(),
    ///     runtime_line: "framework".into(),
    ///     catalogue_revision: "1".into(),
    ///     install_id: None,
    ///     point: "anything".into(),
    ///     value: candor_schema::Value::Text("unscrubbed alice@example.com".into()),
    /// };
    /// ```
    ///
    /// ```compile_fail
    /// fn rewrite(event: &mut candor_schema::Event) {
    ///     event.value = candor_schema::Value::Text("unscrubbed alice@example.com".into());
    /// }
    /// ```
    pub fn declared(
        catalogue: &crate::Catalogue,
        point: &str,
        value: Value,
        stamp: Stamp,
    ) -> Result<Self, ValueMismatch> {
        let fail = |problem: String| ValueMismatch {
            point: shown(point),
            problem,
            kind: MismatchKind::Shape,
        };
        let spec = catalogue
            .data_point(point)
            .map_err(|_| fail("the catalogue declares no such point".to_owned()))?;
        catalogue
            .runtime_line(&stamp.runtime_line)
            .map_err(|_| fail(format!("no runtime line `{}`", shown(&stamp.runtime_line))))?;
        if !is_version_text(&stamp.product_version) {
            return Err(fail(format!(
                "`{}` is not a version number",
                shown(&stamp.product_version)
            )));
        }
        check_value(spec, &value)?;
        let product = catalogue.spec();
        Ok(Self {
            event_id: stamp.event_id,
            time: stamp.time,
            product: product.product.id.clone(),
            product_version: stamp.product_version,
            runtime_line: stamp.runtime_line,
            catalogue_revision: product.revision.clone(),
            install_id: stamp
                .install_id
                .filter(|_| product.collection.carries_install_id()),
            point: spec.id.clone(),
            value,
        })
    }

    /// The event id: 32 lower-case hex digits in every event a check admitted.
    pub fn event_id(&self) -> &str {
        &self.event_id
    }

    /// When the value was recorded.
    pub fn time(&self) -> Timestamp {
        self.time
    }

    /// The product's catalogue id.
    pub fn product(&self) -> &str {
        &self.product
    }

    /// The product version that recorded the value.
    pub fn product_version(&self) -> &str {
        &self.product_version
    }

    /// The runtime line of that version.
    pub fn runtime_line(&self) -> &str {
        &self.runtime_line
    }

    /// The revision of the catalogue that declared the point.
    pub fn catalogue_revision(&self) -> &str {
        &self.catalogue_revision
    }

    /// The install id, present only when the catalogue declares one.
    pub fn install_id(&self) -> Option<&str> {
        self.install_id.as_deref()
    }

    /// The data point's id.
    pub fn point(&self) -> &str {
        &self.point
    }

    /// The value.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The event's parts, moved out.
    pub fn into_parts(self) -> EventParts {
        EventParts {
            event_id: self.event_id,
            time: self.time,
            product: self.product,
            product_version: self.product_version,
            runtime_line: self.runtime_line,
            catalogue_revision: self.catalogue_revision,
            install_id: self.install_id,
            point: self.point,
            value: self.value,
        }
    }
}

/// A value as it is sent. The variant matches the data point's declared kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind", content = "data")]
pub enum Value {
    /// True or false.
    Flag(bool),
    /// One of the declared values, or the declared placeholder.
    Enumeration(String),
    /// A version number.
    Version(String),
    /// Scrubbed, length-limited text.
    Text(String),
    /// A whole number.
    Count(u64),
    /// A length of time in the data point's unit.
    Duration(f64),
    /// The declared statistics of many measurements. With no measurements only `count` (zero) is
    /// present.
    #[serde(deserialize_with = "capped::map")]
    Distribution(BTreeMap<Statistic, f64>),
    /// Bucket counts of many measurements on the point's declared layout.
    Histogram(HistogramValue),
    /// A hash in lower-case hex, prefixed by `key-id:` when it is keyed.
    Hashed(String),
    /// Names, sorted and without repeats.
    #[serde(deserialize_with = "capped::list")]
    Names(Vec<String>),
    /// How many times each label occurred.
    #[serde(deserialize_with = "capped::map")]
    LabelCounts(BTreeMap<String, u64>),
    /// A mode for each name.
    #[serde(deserialize_with = "capped::map")]
    ModeByName(BTreeMap<String, String>),
    /// Declared keys with short values.
    #[serde(deserialize_with = "capped::map")]
    Properties(BTreeMap<String, String>),
    /// A validated language tag.
    LanguageTag(String),
    /// Browser family, major version and OS family (`Chrome 120 on Windows`).
    UserAgent(String),
    /// An exception with its stack filtered to allowed namespaces.
    Exception(ExceptionValue),
}

/// A histogram as it is sent: one reporting period's measurements folded into bucket counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistogramValue {
    /// How many measurements: the sum of the bucket counts.
    pub count: u64,
    /// The sum of the measurements in the point's unit (each clamped to the declared range),
    /// so a receiver can give the mean.
    pub sum: f64,
    /// The buckets holding at least one measurement, as `[key, count]` pairs in ascending key
    /// order: key `k` counts the measurements `x` with `floor(n · log2 x) = k` for the point's
    /// `n` buckets per power of two. Counts are signed on the wire only so that a negative one
    /// is refused with its reason.
    #[serde(deserialize_with = "capped::list")]
    pub buckets: Vec<(i64, i64)>,
}

/// An exception as it is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionValue {
    /// The exception's type (`System.InvalidOperationException`).
    pub type_name: String,
    /// The exception's message, scrubbed.
    pub message: String,
    /// The stack frames kept by the namespace filter, outermost last.
    #[serde(deserialize_with = "capped::list")]
    pub frames: Vec<String>,
    /// How many frames the filter dropped.
    pub frames_dropped: u32,
    /// The log message that accompanied the exception, scrubbed; only when the point declares it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_message: Option<String>,
}

impl Value {
    /// The kind's name, as written in catalogue files.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Flag(_) => "flag",
            Self::Enumeration(_) => "enumeration",
            Self::Version(_) => "version",
            Self::Text(_) => "text",
            Self::Count(_) => "count",
            Self::Duration(_) => "duration",
            Self::Distribution(_) => "distribution",
            Self::Histogram(_) => "histogram",
            Self::Hashed(_) => "hashed",
            Self::Names(_) => "names",
            Self::LabelCounts(_) => "label_counts",
            Self::ModeByName(_) => "mode_by_name",
            Self::Properties(_) => "properties",
            Self::LanguageTag(_) => "language_tag",
            Self::UserAgent(_) => "user_agent",
            Self::Exception(_) => "exception",
        }
    }
}

impl Value {
    /// The value's `data` alone, in its wire form (`{"kind": …, "data": …}` without the
    /// kind), for a reader that keeps the kind apart, as the receiving end stores it.
    pub fn data(&self) -> impl Serialize + '_ {
        Data(self)
    }
}

/// [`Value::data`]'s form.
struct Data<'a>(&'a Value);

impl Serialize for Data<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Flag(b) => b.serialize(serializer),
            Value::Enumeration(s)
            | Value::Version(s)
            | Value::Text(s)
            | Value::Hashed(s)
            | Value::LanguageTag(s)
            | Value::UserAgent(s) => s.serialize(serializer),
            Value::Count(n) => n.serialize(serializer),
            Value::Duration(d) => d.serialize(serializer),
            Value::Distribution(m) => m.serialize(serializer),
            Value::Histogram(h) => h.serialize(serializer),
            Value::Names(n) => n.serialize(serializer),
            Value::LabelCounts(m) => m.serialize(serializer),
            Value::ModeByName(m) | Value::Properties(m) => m.serialize(serializer),
            Value::Exception(e) => e.serialize(serializer),
        }
    }
}

/// Lists and maps read from the wire at most [`capped::KEPT`] items deep: the rest of a longer
/// one is read past without being built. No point admits more items than a catalogue may
/// declare ([`crate::MAX_ITEMS_LIMIT`]), so a value cut here is refused by the value check all
/// the same (too many items); cutting it first means 200,000 names cost the parse of 4,097,
/// not 200,000 allocations and their copies. A map that repeats a key is not an event of the
/// schema (no sender writes one, and the repeats would vanish unseen).
mod capped {
    use std::collections::BTreeMap;
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

    /// One more than any point admits, so a cut value still fails the value check.
    pub(super) const KEPT: usize = crate::MAX_ITEMS_LIMIT as usize + 1;

    pub(super) fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        struct List<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for List<T> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                let mut out = Vec::new();
                while out.len() < KEPT {
                    match seq.next_element()? {
                        Some(item) => out.push(item),
                        None => return Ok(out),
                    }
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(out)
            }
        }
        deserializer.deserialize_seq(List(PhantomData))
    }

    pub(super) fn map<'de, D, K, V>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        D: Deserializer<'de>,
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
    {
        struct Map<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> Visitor<'de> for Map<K, V> {
            type Value = BTreeMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BTreeMap<K, V>, A::Error> {
                let mut out = BTreeMap::new();
                while out.len() < KEPT {
                    match map.next_entry::<K, V>()? {
                        // A sender writes each key once; a repeated one would be dropped
                        // without a word, so the value is refused instead.
                        Some((key, value)) => {
                            if out.insert(key, value).is_some() {
                                return Err(serde::de::Error::custom("a key appears twice"));
                            }
                        }
                        None => return Ok(out),
                    }
                }
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(out)
            }
        }
        deserializer.deserialize_map(Map(PhantomData))
    }
}

/// Why a value does not fit its data point's declaration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{point}: {problem}")]
pub struct ValueMismatch {
    /// The data point.
    pub point: String,
    /// What is wrong.
    pub problem: String,
    /// Which rule the value broke, for a receiver's reason codes.
    pub kind: MismatchKind,
}

/// Which rule of [`check_value`] a value broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MismatchKind {
    /// Not the declared kind or shape: an undeclared value, name, mode, key or statistic, a
    /// length or number out of bounds, names out of order or repeated.
    Shape,
    /// More items than the point's cap ([`DataPointSpec::item_cap`]).
    TooManyItems,
    /// Text holding a character no Candor sender produces ([`is_unsendable_char`]).
    UnsendableCharacter,
    /// A histogram bucket with a negative count.
    NegativeCount,
    /// A histogram bucket whose key is not on the point's declared layout.
    OffLayout,
    /// A histogram with more buckets than its layout declares.
    TooManyBuckets,
    /// A hash not in its algorithm's form ([`crate::HashAlgorithm::admits`]).
    BadHash,
}

/// Whether `c` is a character no text Candor sends may hold: NUL and every other control
/// character but newline and tab (escape sequences start with one), and the bidirectional
/// controls that make text display in another order than it is stored (U+200E, U+200F,
/// U+202A–U+202E, U+2066–U+2069). Candor's scrubber removes them from every text it sends, so
/// the value check refuses them as the last step on the sender and again on arrival.
pub fn is_unsendable_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c)
}

/// Whether `c` is a bidirectional control: the marks and embeddings, overrides and isolates
/// that reorder how text is displayed (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Text a value may carry: nothing [`is_unsendable_char`] refuses.
fn check_text(what: &str, text: &str) -> Result<(), (MismatchKind, String)> {
    match text.chars().find(|c| is_unsendable_char(*c)) {
        None => Ok(()),
        Some(c) => Err((
            MismatchKind::UnsendableCharacter,
            format!(
                "{what} holds U+{:04X}, a control or bidirectional character no sender keeps",
                u32::from(c)
            ),
        )),
    }
}

/// Checks that `value` has the shape `point` declares: the same kind, only declared values,
/// names, modes and keys, only declared statistics, and lengths within bounds. This is the last
/// check before a value is sent; it does not scrub or hash, it refuses.
pub fn check_value(point: &DataPointSpec, value: &Value) -> Result<(), ValueMismatch> {
    check_shape(point, value).map_err(|(kind, problem)| ValueMismatch {
        point: point.id.clone(),
        problem,
        kind,
    })
}

fn check_shape(point: &DataPointSpec, value: &Value) -> Result<(), (MismatchKind, String)> {
    let fail = |problem: String| (MismatchKind::Shape, problem);
    if point.value.kind_name() != value.kind_name() {
        return Err(fail(format!(
            "declared as {} but given a {} value",
            point.value.kind_name(),
            value.kind_name()
        )));
    }
    let items = match value {
        Value::Names(names) => names.len(),
        Value::LabelCounts(map) => map.len(),
        Value::ModeByName(map) => map.len(),
        _ => 0,
    };
    if let Some(cap) = point.item_cap()
        && items > cap
    {
        return Err((
            MismatchKind::TooManyItems,
            format!("more items than the {cap} the point allows"),
        ));
    }
    match (&point.value, value) {
        (ValueType::Enumeration { values, other }, Value::Enumeration(v))
            if !values.contains(v) && other.as_ref() != Some(v) =>
        {
            return Err(fail(format!("`{}` is not a declared value", shown(v))));
        }
        (ValueType::Version, Value::Version(v)) if !is_version_text(v) => {
            return Err(fail(format!("`{}` is not a version number", shown(v))));
        }
        (ValueType::Text { max_len }, Value::Text(t)) => {
            if t.len() > *max_len as usize {
                return Err(fail(format!(
                    "text of {} bytes exceeds the declared {max_len}",
                    t.len()
                )));
            }
            check_text("the text", t)?;
        }
        (ValueType::Count, Value::Count(n)) if *n > MAX_COUNT => {
            return Err(fail(format!(
                "{n} is larger than the largest count ({MAX_COUNT})"
            )));
        }
        (ValueType::Duration, Value::Duration(d)) if !d.is_finite() || *d < 0.0 => {
            return Err(fail(format!("{d} is not a length of time")));
        }
        (ValueType::Distribution { statistics }, Value::Distribution(map)) => {
            for (stat, number) in map {
                if !statistics.contains(stat) {
                    return Err(fail(format!("statistic {stat:?} is not declared")));
                }
                if !number.is_finite() {
                    return Err(fail(format!("statistic {stat:?} is not a finite number")));
                }
            }
        }
        (histogram @ ValueType::Histogram { .. }, Value::Histogram(h)) => {
            crate::histogram::check(histogram, h)?;
        }
        (ValueType::Hashed { algorithm }, Value::Hashed(h)) if !algorithm.admits(h) => {
            return Err((
                MismatchKind::BadHash,
                format!("not a {} hash as Candor sends it", algorithm.display_name()),
            ));
        }
        (ValueType::Names { known, other }, Value::Names(names)) => {
            // Senders sort and deduplicate: a repeated name only inflates what is stored.
            if names.windows(2).any(|pair| pair[0] >= pair[1]) {
                return Err(fail("names must be sorted, each once".to_owned()));
            }
            for name in names {
                check_name(name).map_err(|e| fail(e.to_string()))?;
                if let Some(known) = known
                    && !known.contains(name)
                    && other.as_ref() != Some(name)
                {
                    return Err(fail(format!("`{}` is not a declared name", shown(name))));
                }
            }
        }
        (ValueType::LabelCounts, Value::LabelCounts(map)) => {
            for (label, count) in map {
                check_name(label).map_err(|e| fail(e.to_string()))?;
                if *count > MAX_COUNT {
                    return Err(fail(format!(
                        "the count of `{label}` is larger than the largest count ({MAX_COUNT})"
                    )));
                }
            }
        }
        (ValueType::ModeByName { modes }, Value::ModeByName(map)) => {
            for (name, mode) in map {
                check_name(name).map_err(|e| fail(e.to_string()))?;
                if !modes.contains(mode) {
                    return Err(fail(format!("`{}` is not a declared mode", shown(mode))));
                }
            }
        }
        (ValueType::Properties { keys }, Value::Properties(map)) => {
            for (key, v) in map {
                if !keys.contains(key) {
                    return Err(fail(format!("`{}` is not a declared key", shown(key))));
                }
                if v.len() > MAX_PROPERTY_VALUE_LEN {
                    return Err(fail(format!("the value of `{key}` is too long")));
                }
                check_text(&format!("the value of `{key}`"), v)?;
            }
        }
        (ValueType::LanguageTag, Value::LanguageTag(tag)) if !is_language_tag(tag) => {
            return Err(fail(format!("`{}` is not a language tag", shown(tag))));
        }
        (ValueType::UserAgent, Value::UserAgent(ua)) => {
            if ua.len() > MAX_NAME_LEN {
                return Err(fail("coarse user agent is too long".to_owned()));
            }
            check_text("the user agent", ua)?;
        }
        (
            ValueType::Exception {
                includes_log_message,
                ..
            },
            Value::Exception(e),
        ) => {
            check_name(&e.type_name).map_err(|e| fail(e.to_string()))?;
            if e.message.len() > MAX_MESSAGE_LEN {
                return Err(fail("exception message is too long".to_owned()));
            }
            check_text("the exception message", &e.message)?;
            if e.frames.len() > MAX_FRAMES {
                return Err(fail("too many stack frames".to_owned()));
            }
            for frame in &e.frames {
                // The sender keeps one scrubbed line per frame.
                if frame.len() > MAX_MESSAGE_LEN || frame.contains('\n') {
                    return Err(fail(format!(
                        "a stack frame is one line of at most {MAX_MESSAGE_LEN} bytes"
                    )));
                }
                check_text("a stack frame", frame)?;
            }
            match &e.log_message {
                Some(_) if !includes_log_message => {
                    return Err(fail("the point does not declare a log message".to_owned()));
                }
                Some(m) if m.len() > MAX_MESSAGE_LEN => {
                    return Err(fail("log message is too long".to_owned()));
                }
                Some(m) => check_text("the log message", m)?,
                None => {}
            }
        }
        _ => {}
    }
    Ok(())
}

/// Whether `text` looks like a version number: digits first, then digits, letters, `.`, `-`
/// and `+`, at most [`MAX_VERSION_LEN`] bytes.
pub fn is_version_text(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_VERSION_LEN
        && text.as_bytes()[0].is_ascii_digit()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
}

/// Whether `text` is a well-formed language tag in the shape BCP 47 gives the common cases:
/// a primary language of two or three letters, then subtags of one to eight letters or digits,
/// at most 35 bytes in all (`en`, `en-US`, `zh-Hant-TW`, `en-US-u-ca-gregory`), and no
/// private-use subtags: what follows `-x-` is whatever its writer chose (`en-x-jsmith`), and a
/// tag is sent as it is.
///
/// The one grammar of a `language_tag` value: the sender's preparer, this crate's
/// [`check_value`] on both ends and the receiving end's check all apply it. BCP 47 keeps four
/// letters for future use and five to eight for languages registered later, and none is
/// registered: every language in use has two or three letters, and a longer "language" sent
/// verbatim could only be a word its writer chose (`jsmith-US`).
pub fn is_language_tag(text: &str) -> bool {
    if text.is_empty() || text.len() > 35 {
        return false;
    }
    let mut parts = text.split('-');
    let primary = parts.next().unwrap_or("");
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| {
            (1..=8).contains(&p.len())
                && p.bytes().all(|b| b.is_ascii_alphanumeric())
                && !p.eq_ignore_ascii_case("x")
        })
}

/// Why a string is not a name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameProblem {
    /// The name is empty.
    #[error("empty name")]
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`] bytes.
    #[error("name of {0} bytes is too long")]
    TooLong(usize),
    /// The name holds a character names never hold.
    #[error("`{shown}` is not a name (it contains {character:?})")]
    Character {
        /// The name, shortened and escaped for a message.
        shown: String,
        /// The first character refused.
        character: char,
    },
}

/// Checks a name (setting name, rule name, label, type name): non-empty, at most
/// [`MAX_NAME_LEN`] bytes, and only letters, digits and `. _ - : / [ ] +`. Spaces, `=`, `;`,
/// `@` and quotes are refused, because they are how a value sneaks in where a name belongs.
pub fn check_name(name: &str) -> Result<(), NameProblem> {
    if name.is_empty() {
        return Err(NameProblem::Empty);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameProblem::TooLong(name.len()));
    }
    if let Some(c) = name.chars().find(|c| {
        !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/' | '[' | ']' | '+'))
    }) {
        return Err(NameProblem::Character {
            shown: shown(name),
            character: c,
        });
    }
    Ok(())
}

/// A value for an error message: at most 40 characters, control characters escaped.
pub(crate) fn shown(text: &str) -> String {
    let mut out: String = text.chars().take(40).flat_map(char::escape_debug).collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// The JSON Schema (draft 2020-12) of the event envelope, for validating what a receiver gets.
pub fn event_json_schema() -> serde_json::Value {
    schemars::schema_for!(Event).to_value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags() {
        for good in [
            "en",
            "en-US",
            "zh-Hant-TW",
            "de-CH-1996",
            "en-US-u-ca-gregory",
            "sl-rozaj-biske",
            "yue-HK",
        ] {
            assert!(is_language_tag(good), "{good}");
        }
        for bad in [
            "",
            "e",
            "english-language",
            "en_US",
            "en-",
            "en--US",
            "1en",
            "12-US",
            "en-US; rm",
            "en-US,en;q=0.9",
            // Four letters are reserved, five to eight registered later: none is a language in
            // use, and one sent as it is could be a name.
            "abcd",
            "jsmith-US",
            "abcdefgh",
            // Private-use subtags say whatever their writer chose: a name among them.
            "en-x-jsmith",
            "de-CH-X-acme42",
        ] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn names_refuse_values() {
        assert!(check_name("Contrast.Api.Url").is_ok());
        for value in [
            "Server=db;Password=x",
            "a b",
            "",
            "user@example.com",
            "\"q\"",
        ] {
            assert!(check_name(value).is_err(), "{value}");
        }
    }

    #[test]
    fn versions() {
        assert!(is_version_text("21.1.2"));
        assert!(is_version_text("9.3.0-preview.1+abc"));
        assert!(!is_version_text("v1"));
        assert!(!is_version_text("1 2"));
    }
}
