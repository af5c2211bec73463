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
    Distribution(BTreeMap<String, f64>),
    Hashed(String),
    Names(Vec<String>),
    LabelCounts(BTreeMap<String, u64>),
    ModeByName(BTreeMap<String, String>),
    Properties(BTreeMap<String, String>),
    LanguageTag(String),
    UserAgent(String),
    Exception(ReceivedException),
}

/// An exception value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ReceivedException {
    pub type_name: String,
    pub message: String,
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

    /// The value's `data` alone, as stored.
    pub(crate) fn data_json(&self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut map)) => map
                .remove("data")
                .map(|d| d.to_string())
                .unwrap_or_else(|| "null".to_owned()),
            _ => "null".to_owned(),
        }
    }
}
