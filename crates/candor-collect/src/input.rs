//! Raw values as a host hands them over, before privacy is applied.

use std::collections::BTreeMap;
use std::time::Duration;

use candor_schema::ValueType;
use serde_json::Value as Json;

/// A raw value of the kinds a typed recorder takes by value: a flag, a count, a length of
/// time. It holds nothing on the heap and is `Copy`, so a host's call hands it over in
/// registers (an [`Input`] has variants that own memory, so it travels through memory and
/// costs the host a copy of its whole size on every call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scalar {
    /// A flag.
    Flag(bool),
    /// A whole number.
    Count(u64),
    /// A length of time (converted to the point's unit).
    Elapsed(Duration),
}

impl From<Scalar> for Input {
    fn from(value: Scalar) -> Self {
        match value {
            Scalar::Flag(b) => Self::Flag(b),
            Scalar::Count(n) => Self::Count(n),
            Scalar::Elapsed(d) => Self::Elapsed(d),
        }
    }
}

/// A raw value for one data point. [`crate::Preparer`] turns it into the [`candor_schema::Value`]
/// that is sent, or refuses it: text is scrubbed, identifiers are hashed, samples are
/// summarised, user agents coarsened and stack traces filtered, as the point's kind says.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A flag.
    Flag(bool),
    /// A value for an enumeration, a version, a language tag or a user agent.
    Word(String),
    /// Free text (scrubbed before it is sent).
    Text(String),
    /// A whole number.
    Count(u64),
    /// A length of time (converted to the point's unit).
    Elapsed(Duration),
    /// One reporting period's measurements, summarised (a distribution) or folded into bucket
    /// counts (a histogram); the measurements themselves are never sent.
    Samples(Vec<f64>),
    /// An identifier to hash; it never leaves in the clear.
    Identifier(String),
    /// Names, never values.
    Names(Vec<String>),
    /// Counts per label.
    LabelCounts(BTreeMap<String, u64>),
    /// A mode per name.
    ModeByName(BTreeMap<String, String>),
    /// Key–value pairs; undeclared keys are dropped, values are scrubbed.
    Properties(BTreeMap<String, String>),
    /// An exception.
    Exception(RawException),
}

/// An exception as the host caught it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawException {
    /// The exception's type name.
    pub type_name: String,
    /// Its message (scrubbed before it is sent).
    pub message: String,
    /// Its stack trace as text, one frame per line (filtered and scrubbed before it is sent).
    pub stack: String,
    /// The log message that accompanied it (sent only when the point declares it).
    pub log_message: Option<String>,
}

/// Why a JSON value cannot be read as an input for a point.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {kind} value is {expected}")]
pub struct InputShapeError {
    /// The point's kind.
    pub kind: &'static str,
    /// What was expected.
    pub expected: &'static str,
}

impl Input {
    /// Reads a JSON value as the raw input for a point of kind `value_type`; `unit_ms` is how
    /// many milliseconds one unit of a plain-number duration is. Used by `candor send`, whose
    /// input is JSON lines:
    ///
    /// | kind | JSON |
    /// |---|---|
    /// | flag | `true` |
    /// | enumeration, version, language_tag, user_agent | `"text"` |
    /// | text | `"free text"` |
    /// | count | `42` |
    /// | duration | a number in the point's unit |
    /// | distribution, histogram | `[1.5, 2, 8]` (measurements) |
    /// | hashed | `"identifier"` (hashed here) |
    /// | names | `["a", "b"]` |
    /// | label_counts, mode_by_name, properties | `{"k": v}` |
    /// | exception | `{"type_name", "message", "stack", "log_message"}` |
    pub fn from_json(
        value_type: &ValueType,
        unit_ms: f64,
        json: &Json,
    ) -> Result<Self, InputShapeError> {
        let kind = value_type.kind_name();
        let fail = |expected| InputShapeError { kind, expected };
        let string = || json.as_str().map(str::to_owned).ok_or(fail("a string"));
        let string_map = || -> Result<BTreeMap<String, String>, InputShapeError> {
            json.as_object()
                .ok_or(fail("an object of strings"))?
                .iter()
                .map(|(k, v)| {
                    v.as_str()
                        .map(|s| (k.clone(), s.to_owned()))
                        .ok_or(fail("an object of strings"))
                })
                .collect()
        };
        Ok(match value_type {
            ValueType::Flag => Self::Flag(json.as_bool().ok_or(fail("true or false"))?),
            ValueType::Enumeration { .. }
            | ValueType::Version
            | ValueType::LanguageTag
            | ValueType::UserAgent => Self::Word(string()?),
            ValueType::Text { .. } => Self::Text(string()?),
            ValueType::Count => Self::Count(json.as_u64().ok_or(fail("a whole number"))?),
            ValueType::Duration => {
                let n = json
                    .as_f64()
                    .filter(|n| n.is_finite() && *n >= 0.0)
                    .ok_or(fail("a non-negative number"))?;
                let seconds = n * unit_ms / 1000.0;
                Self::Elapsed(
                    Duration::try_from_secs_f64(seconds)
                        .map_err(|_| fail("a sane length of time"))?,
                )
            }
            ValueType::Distribution { .. } | ValueType::Histogram { .. } => Self::Samples(
                json.as_array()
                    .ok_or(fail("an array of numbers"))?
                    .iter()
                    .map(|v| v.as_f64().ok_or(fail("an array of numbers")))
                    .collect::<Result<_, _>>()?,
            ),
            ValueType::Hashed { .. } => Self::Identifier(string()?),
            ValueType::Names { .. } => Self::Names(
                json.as_array()
                    .ok_or(fail("an array of strings"))?
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .ok_or(fail("an array of strings"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            ValueType::LabelCounts => Self::LabelCounts(
                json.as_object()
                    .ok_or(fail("an object of whole numbers"))?
                    .iter()
                    .map(|(k, v)| {
                        v.as_u64()
                            .map(|n| (k.clone(), n))
                            .ok_or(fail("an object of whole numbers"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            ValueType::ModeByName { .. } => Self::ModeByName(string_map()?),
            ValueType::Properties { .. } => Self::Properties(string_map()?),
            ValueType::Exception { .. } => {
                let object = json.as_object().ok_or(fail("an object with type_name"))?;
                let field = |name: &str| object.get(name).and_then(Json::as_str).map(str::to_owned);
                Self::Exception(RawException {
                    type_name: field("type_name").ok_or(fail("an object with type_name"))?,
                    message: field("message").unwrap_or_default(),
                    stack: field("stack").unwrap_or_default(),
                    log_message: field("log_message"),
                })
            }
        })
    }

    /// The name of the input's shape, for messages.
    pub fn shape_name(&self) -> &'static str {
        match self {
            Self::Flag(_) => "flag",
            Self::Word(_) => "word",
            Self::Text(_) => "text",
            Self::Count(_) => "count",
            Self::Elapsed(_) => "elapsed time",
            Self::Samples(_) => "samples",
            Self::Identifier(_) => "identifier",
            Self::Names(_) => "names",
            Self::LabelCounts(_) => "label counts",
            Self::ModeByName(_) => "modes by name",
            Self::Properties(_) => "properties",
            Self::Exception(_) => "exception",
        }
    }
}
