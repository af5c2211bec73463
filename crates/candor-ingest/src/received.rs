//! What arrives: the event envelope as `docs/schema/event.schema.json` publishes it, decoded
//! into the receiver's own types. A client in any language that follows the schema is read the
//! same way as Candor's own transport.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One event as a client sent it, not yet checked against any catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceivedEvent {
    /// 128 random bits in lower-case hex.
    pub event_id: String,
    /// RFC 3339, UTC.
    pub time: String,
    /// The product's catalogue id.
    pub product: String,
    /// The version that recorded the value.
    pub product_version: String,
    /// The runtime line of that version.
    pub runtime_line: String,
    /// The catalogue revision the client holds.
    pub catalogue_revision: String,
    /// Present only when the catalogue declares install ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_id: Option<String>,
    /// The data point's id.
    pub point: String,
    /// The value.
    pub value: ReceivedValue,
}

/// A value, tagged by kind as the schema gives it (`{"kind": "count", "data": 3}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "data")]
#[allow(missing_docs)]
pub enum ReceivedValue {
    Flag(bool),
    Enumeration(String),
    Version(String),
    Text(String),
    Count(u64),
    Duration(f64),
    #[serde(deserialize_with = "capped::map")]
    Distribution(BTreeMap<String, f64>),
    Histogram(ReceivedHistogram),
    Hashed(String),
    #[serde(deserialize_with = "capped::list")]
    Names(Vec<String>),
    #[serde(deserialize_with = "capped::map")]
    LabelCounts(BTreeMap<String, u64>),
    #[serde(deserialize_with = "capped::map")]
    ModeByName(BTreeMap<String, String>),
    #[serde(deserialize_with = "capped::map")]
    Properties(BTreeMap<String, String>),
    LanguageTag(String),
    UserAgent(String),
    Exception(ReceivedException),
}

/// A histogram value: bucket counts on the point's declared layout. Counts are read signed so
/// that a negative one reaches the value check and is refused with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ReceivedHistogram {
    pub count: u64,
    pub sum: f64,
    #[serde(deserialize_with = "capped::list")]
    pub buckets: Vec<(i64, i64)>,
}

/// An exception value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ReceivedException {
    pub type_name: String,
    pub message: String,
    #[serde(deserialize_with = "capped::list")]
    pub frames: Vec<String>,
    pub frames_dropped: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_message: Option<String>,
}

impl ReceivedValue {
    /// The kind's name as catalogues write it.
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

    /// The same value in the schema's type, for the value check both ends share. Fails only
    /// for a distribution naming a statistic the schema does not know.
    pub(crate) fn to_schema_value(&self) -> Result<candor_schema::Value, String> {
        use candor_schema::Value as V;
        Ok(match self {
            Self::Flag(b) => V::Flag(*b),
            Self::Enumeration(s) => V::Enumeration(s.clone()),
            Self::Version(s) => V::Version(s.clone()),
            Self::Text(s) => V::Text(s.clone()),
            Self::Count(n) => V::Count(*n),
            Self::Duration(d) => V::Duration(*d),
            Self::Distribution(stats) => V::Distribution(
                stats
                    .iter()
                    .map(|(name, x)| {
                        serde_json::from_value(serde_json::Value::String(name.clone()))
                            .map(|stat| (stat, *x))
                            .map_err(|_| format!("`{name}` is not a statistic"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Self::Histogram(h) => V::Histogram(candor_schema::HistogramValue {
                count: h.count,
                sum: h.sum,
                buckets: h.buckets.clone(),
            }),
            Self::Hashed(s) => V::Hashed(s.clone()),
            Self::Names(n) => V::Names(n.clone()),
            Self::LabelCounts(m) => V::LabelCounts(m.clone()),
            Self::ModeByName(m) => V::ModeByName(m.clone()),
            Self::Properties(m) => V::Properties(m.clone()),
            Self::LanguageTag(s) => V::LanguageTag(s.clone()),
            Self::UserAgent(s) => V::UserAgent(s.clone()),
            Self::Exception(e) => V::Exception(candor_schema::ExceptionValue {
                type_name: e.type_name.clone(),
                message: e.message.clone(),
                frames: e.frames.clone(),
                frames_dropped: e.frames_dropped,
                log_message: e.log_message.clone(),
            }),
        })
    }

    /// The value's `data` alone, as stored.
    pub(crate) fn data_json(&self) -> String {
        let data = match self {
            Self::Flag(b) => serde_json::to_string(b),
            Self::Enumeration(s)
            | Self::Version(s)
            | Self::Text(s)
            | Self::Hashed(s)
            | Self::LanguageTag(s)
            | Self::UserAgent(s) => serde_json::to_string(s),
            Self::Count(n) => serde_json::to_string(n),
            Self::Duration(d) => serde_json::to_string(d),
            Self::Distribution(m) => serde_json::to_string(m),
            Self::Histogram(h) => serde_json::to_string(h),
            Self::Names(n) => serde_json::to_string(n),
            Self::LabelCounts(m) => serde_json::to_string(m),
            Self::ModeByName(m) | Self::Properties(m) => serde_json::to_string(m),
            Self::Exception(e) => serde_json::to_string(e),
        };
        // Serialising these types cannot fail (string keys, finite numbers checked before).
        data.unwrap_or_else(|_| "null".to_owned())
    }
}

/// Lists and maps decoded at most [`KEPT`] items deep: the rest of a longer one is read past
/// without being built. No point admits more items than a catalogue may declare
/// (`candor_schema::MAX_ITEMS_LIMIT`), so a value cut here is refused by the value check all
/// the same (`too_many_items`); cutting it first means 200,000 names cost the parse of 4,097,
/// not 200,000 allocations and their copies. A map that repeats a key is not an event of the
/// schema (no sender writes one, and the repeats would vanish unseen).
mod capped {
    use std::collections::BTreeMap;
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

    /// One more than any point admits, so a cut value still fails the value check.
    pub(super) const KEPT: usize = candor_schema::MAX_ITEMS_LIMIT as usize + 1;

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

    pub(super) fn map<'de, D, V>(deserializer: D) -> Result<BTreeMap<String, V>, D::Error>
    where
        D: Deserializer<'de>,
        V: Deserialize<'de>,
    {
        struct Map<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Map<V> {
            type Value = BTreeMap<String, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<BTreeMap<String, V>, A::Error> {
                let mut out = BTreeMap::new();
                while out.len() < KEPT {
                    match map.next_entry::<String, V>()? {
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
