//! The catalogue format: what a catalogue file says, field by field.
//!
//! These types are the serde and JSON Schema view of a catalogue file. They hold versions as the
//! text the vendor wrote; [`crate::Catalogue`] is the validated form that has parsed them under
//! the right scheme. Every struct rejects unknown fields, so a typo in a catalogue is an error and
//! not a silently ignored promise.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::lifecycle::Expires;
use crate::source::MachineReading;
use crate::version::VersionScheme;

/// The catalogue format version this crate writes. Format 2 added the `histogram` kind; a
/// format 2 file is refused by readers of format 1, so an older Candor says it cannot read the
/// file instead of failing on a kind it does not know.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest catalogue format version this crate reads.
pub const MIN_FORMAT_VERSION: u32 = 1;

/// One product's catalogue: who collects, what, from which version on, and under which promises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogueSpec {
    /// A free-form remark for readers of the file (exported catalogues say here that they are
    /// generated); ignored by Candor.
    #[serde(rename = "$comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The catalogue format version: 1, or 2 (which may declare `histogram` points).
    pub format: u32,
    /// The catalogue's own revision, sent with every event so a receiver knows which declarations
    /// were in force (for example `2025-03-05.1`).
    pub revision: String,
    /// The product this catalogue describes.
    pub product: ProductSpec,
    /// The product's runtime lines: independently versioned builds of the same product.
    pub runtime_lines: Vec<RuntimeLineSpec>,
    /// Hosts the product must be launched from, if any.
    #[serde(default, skip_serializing_if = "HostPolicy::is_unrestricted")]
    pub hosts: HostPolicy,
    /// How a user grants or withholds consent.
    pub consent: ConsentSpec,
    /// What the product tells its users while telemetry is on.
    pub disclosure: DisclosureSpec,
    /// When data is collected.
    pub collection: CollectionSpec,
    /// Where and how data is sent.
    pub delivery: DeliverySpec,
    /// How long data is kept and how it is stored.
    pub retention: RetentionSpec,
    /// Kinds of data the product promises never to collect.
    pub never_collected: Vec<String>,
    /// Every data point the product may send.
    pub data_points: Vec<DataPointSpec>,
    /// What each revision changed, oldest first; the last names `revision`. The disclosure page
    /// lists them. Absent: the catalogue keeps no history.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<RevisionSpec>,
}

/// What one revision of a catalogue changed, as the vendor declares it for the disclosure page.
/// (Whether a person must be told again is decided by comparing the points themselves with what
/// the person's notice marker records, never from this list.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevisionSpec {
    /// The revision (`2025-03-05.1`).
    pub revision: String,
    /// What changed, in a sentence.
    pub summary: String,
    /// Points this revision added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<String>,
    /// Points it collects from more versions (a gate widened).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub widened: Vec<String>,
    /// Points it protects less (a privacy class loosened, a value's shape changed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loosened: Vec<String>,
    /// Points it collects from fewer versions or protects more.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub narrowed: Vec<String>,
    /// Points it stopped declaring.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
}

/// A product's identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductSpec {
    /// A stable identifier: lower-case letters, digits and hyphens (`aspire-dashboard`).
    pub id: String,
    /// The name people know the product by.
    pub name: String,
    /// Who makes it and receives its data.
    pub vendor: String,
    /// One or two sentences on what the product is and why it collects usage data.
    pub description: String,
    /// Where users report a suspected privacy problem, if the vendor names a place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_contact: Option<String>,
}

/// An independently versioned line of a product (the .NET agent ships one for .NET Framework and
/// one for .NET Core, each with its own version numbers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuntimeLineSpec {
    /// A stable identifier used in gates (`framework`, `core`).
    pub id: String,
    /// The name readers know it by (`.NET Framework`).
    pub name: String,
    /// How this line numbers its releases.
    pub versioning: VersionScheme,
}

/// The hosts a product must be launched from for telemetry to be collected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostPolicy {
    /// When true, nothing is collected unless the product was launched from one of `supported`.
    #[serde(default)]
    pub required: bool,
    /// When true, a host that has turned its own telemetry off turns the product's off too.
    #[serde(default)]
    pub honours_host_opt_out: bool,
    /// The supported hosts and their minimum versions.
    #[serde(default)]
    pub supported: Vec<HostSpec>,
}

impl HostPolicy {
    /// True when the policy places no condition on the host.
    pub fn is_unrestricted(&self) -> bool {
        !self.required && !self.honours_host_opt_out && self.supported.is_empty()
    }
}

/// A host application and the first version of it that may carry the product's telemetry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// A stable identifier (`visual-studio`).
    pub id: String,
    /// The host's name (`Visual Studio`).
    pub name: String,
    /// The first host version that may carry telemetry.
    pub minimum: HostMinimum,
}

/// A host's minimum version, which a vendor may not have announced yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum HostMinimum {
    /// This version and later (`{ at_least = "17.14" }`).
    AtLeast(String),
    /// The vendor has not announced the version yet: no version of the host qualifies.
    NotYetAnnounced,
}

/// How consent is given and withheld.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentSpec {
    /// What happens when no rule says otherwise.
    pub default: DefaultMode,
    /// Environment variables that turn telemetry off. `DO_NOT_TRACK` is honoured for every
    /// product by Candor itself and is not listed here.
    #[serde(default)]
    pub variables: Vec<VariableRule>,
    /// Conditions the host reports while running; telemetry is collected only while all hold.
    #[serde(default)]
    pub runtime_conditions: Vec<RuntimeCondition>,
    /// When true, the vendor documents blocking the network as a way to opt out; a dead endpoint
    /// then means "opted out", never "retry forever".
    #[serde(default)]
    pub network_block_opts_out: bool,
    /// With `network_block_opts_out`: how long, in seconds, no endpoint may answer before
    /// Candor treats the block as the user's choice: what is waiting is discarded and nothing
    /// more is collected until the endpoint answers again. Required with it, refused without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_block_after_seconds: Option<u64>,
    /// Which notice a user sees before data leaves.
    pub notice: NoticeKind,
}

/// The decision when no rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DefaultMode {
    /// Collected unless the user opts out.
    On,
    /// Collected only when the user opts in.
    Off,
}

/// An environment variable that controls telemetry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariableRule {
    /// The variable's name, exactly as the vendor documents it.
    pub name: String,
    /// Whether a true value turns telemetry off or a false value does.
    pub meaning: VariableMeaning,
    /// The values the vendor documents for opting out (`["1", "true"]`).
    pub documented_values: Vec<String>,
    /// Whom the setting affects, when the vendor says (`every user of this dashboard instance`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// What a variable's value means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum VariableMeaning {
    /// The variable enables telemetry: a false value turns it off, a true value changes nothing.
    Enables,
    /// The variable opts out: a true value turns telemetry off, a false value changes nothing.
    OptsOut,
}

/// A condition that the host reports at run time and may withdraw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuntimeCondition {
    /// A stable identifier the host uses to report it (`browser-open`).
    pub id: String,
    /// What must hold, in words for the disclosure (`the dashboard is open in a browser`).
    pub description: String,
}

/// The notice a user gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "kind", deny_unknown_fields)]
pub enum NoticeKind {
    /// The disclosure statement is shown in the product's own interface whenever telemetry is on.
    InProduct {
        /// Where it is shown (`at the bottom of the settings panel`).
        location: String,
    },
    /// A command-line notice shown once; nothing is sent until it has been shown.
    FirstRun,
    /// The product shows no notice of its own; the published disclosure page is the notice.
    DocumentationOnly,
}

/// The disclosure statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisclosureSpec {
    /// The statement shown to users while telemetry is on.
    pub statement: String,
    /// What the telemetry covers and when, in a sentence or two.
    pub scope: String,
}

/// When data is collected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionSpec {
    /// The occasions that trigger collection.
    pub triggers: Vec<Trigger>,
    /// The vendor's own words for the schedule (`every few hours`).
    pub schedule: String,
    /// Seconds between periodic collections, when there are any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<u64>,
    /// How far, as a percentage of the interval, each period may be moved at random so that a
    /// fleet of machines does not report in step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_percent: Option<u8>,
    /// Whether each event carries a random per-installation identifier, so the vendor can count
    /// installations. Absent means no identifier is sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub install_id: bool,
    /// Whether what is sent can be traced back to one installation, and by which key. Where
    /// it can, turning consent off sends the receiver one deletion request for that key.
    /// Absent means `none`: nothing sent can be traced back to the machine.
    #[serde(default, skip_serializing_if = "DeletionKey::is_none")]
    pub deletion_key: DeletionKey,
}

/// The key by which a product's events can be traced to one installation, and so erased.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum DeletionKey {
    /// Nothing sent can be traced back to one installation: there is nothing to delete.
    #[default]
    None,
    /// Candor's random install id (`collection.install_id` must be true).
    InstallId,
    /// The value of a data point the product already sends (its id), such as a hashed machine
    /// identifier; the point's value must be `hashed`.
    Point(String),
}

impl CollectionSpec {
    /// Whether each event carries an install id: Candor's random one (`install_id`), or, for
    /// a catalogue whose deletion key is a point, that point's value (the identifier the
    /// product already sends, so that every event of the machine can be erased by it).
    pub fn carries_install_id(&self) -> bool {
        self.install_id || matches!(self.deletion_key, DeletionKey::Point(_))
    }
}

impl DeletionKey {
    /// Whether nothing traces events to an installation.
    pub fn is_none(&self) -> bool {
        matches!(self, Self::None)
    }

    /// What opting out does to what was already sent, in one line (for `candor status`).
    pub fn summary(&self) -> &'static str {
        match self {
            Self::None => {
                "nothing sent can be traced back to this machine, so there is nothing to delete"
            }
            _ => {
                "what was sent can be traced to this installation; opting out sends the \
                 receiver one deletion request for it"
            }
        }
    }
}

/// An occasion on which data is collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// When the product is first loaded in a process.
    FirstLoad,
    /// Periodically, every `interval_seconds`.
    Periodic,
    /// As the user uses the product.
    Usage,
    /// When an unhandled exception occurs.
    UnhandledException,
}

/// Where and how data is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliverySpec {
    /// How data travels.
    pub method: DeliveryMethod,
    /// The receiving end: a host name, or a description when the host relays (`Azure Monitor`).
    pub destination: String,
    /// How the vendor describes the transfer (`sent securely through the host IDE's telemetry`).
    pub description: String,
}

/// How data travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryMethod {
    /// Handed to the host application, which sends it through its own telemetry channel.
    HostRelay,
    /// Posted as JSON over HTTPS to the vendor.
    HttpsJson,
    /// Exported as OpenTelemetry (OTLP).
    Otlp,
}

/// How long data is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionSpec {
    /// Days after which collected data is deleted, when the vendor promises a limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// How the vendor describes storage and deletion.
    pub description: String,
    /// How many days the user's machine keeps its copy of each payload sent, for the person
    /// to see (`candor view`, `candor receipts`). Candor keeps them 30 days (and 16 MiB per
    /// product) by default; a catalogue may declare fewer days, never more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_copy_days: Option<u32>,
    /// The smallest group the vendor's reports show: a value, a product version or a label
    /// appears by name only when at least this many installations sent it (counted by events
    /// when the product sends no install id); smaller groups are shown together as `(other)`.
    /// At least 1; 5 when absent.
    #[serde(
        default = "default_min_group",
        skip_serializing_if = "is_default_min_group"
    )]
    #[schemars(range(min = 1))]
    pub min_group: u32,
    /// What the vendor's receiving end keeps of each accepted event: `events` (each event as
    /// it arrived, the default) or `aggregates` (only per-day counts folded from it, the raw
    /// event never stored; event ids alone are kept, for the retention's duplicate window).
    #[serde(default, skip_serializing_if = "Storage::is_events")]
    pub storage: Storage,
}

/// What a receiving end keeps of an accepted event.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Storage {
    /// The event as it arrived, one row per event.
    #[default]
    Events,
    /// Per-day aggregates only: the event is folded into its day's counts in the transaction
    /// that acknowledges it, and no row of it is kept; only its id, for the duplicate window.
    Aggregates,
}

impl Storage {
    /// `true` for [`Storage::Events`], the default.
    #[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
    pub fn is_events(&self) -> bool {
        *self == Self::Events
    }

    /// Its name in a catalogue and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Events => "events",
            Self::Aggregates => "aggregates",
        }
    }
}

/// The minimum group size when a catalogue declares none.
pub const DEFAULT_MIN_GROUP: u32 = 5;

fn default_min_group() -> u32 {
    DEFAULT_MIN_GROUP
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_default_min_group(k: &u32) -> bool {
    *k == DEFAULT_MIN_GROUP
}

/// One data point: a single fact a product may send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataPointSpec {
    /// A stable identifier: lower-case letters, digits and underscores (`agent_version`).
    pub id: String,
    /// A short name for tables.
    pub name: String,
    /// What is collected, in a sentence.
    pub description: String,
    /// Anything else a reader should know (how it is protected, what it never includes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// A heading to group related points under in the disclosure (`IIS metrics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The shape of the value.
    pub value: ValueType,
    /// For `names`, `label_counts` and `mode_by_name` values: the most items (names, labels)
    /// one value may hold. Absent means [`DEFAULT_MAX_ITEMS`]; at most [`MAX_ITEMS_LIMIT`].
    /// A value with more items is refused by the sender and by the receiver alike. Other kinds
    /// are bounded by their declaration (keys, statistics, frames) and refuse this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u32>,
    /// The machine reading this point carries, when Candor takes it itself
    /// (`system.kernel_version`); absent for values only the product knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<MachineReading>,
    /// The unit of a measured value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Unit>,
    /// How the value is protected before it leaves the machine. Mandatory: there is no default.
    pub privacy: PrivacyClass,
    /// From which version the point is collected, per runtime line. A line that is not named here
    /// never collects the point.
    pub gates: BTreeMap<String, Gate>,
    /// The OpenTelemetry semantic-convention attribute that means the same as this point
    /// (`os.description`, `process.runtime.version`…): OTLP sinks also send the value under that
    /// name. Only names whose value is the point's string value as it stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semconv: Option<String>,
    /// When the point stops being collected: `"never"` when the vendor states no end, the first
    /// UTC day without it (`{ date = "2026-09-30" }`), or per runtime line the first version
    /// without it (`{ versions = { core = "2.0" } }`). Absent: the catalogue does not say, and
    /// the point is collected as long as it is declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Expires>,
    /// Who answers for the point, as the vendor names them (a team, a person): one line, at
    /// most 200 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Links (`https://` only) to the review that approved collecting the point.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(r"^https://")), length(max = crate::lifecycle::MAX_REVIEW_LINKS))]
    pub review_links: Vec<String>,
}

/// The first version of a runtime line that collects a data point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Gate {
    /// This version and every later one (`{ since = "9.2" }`).
    Since(String),
    /// Versions strictly later than this one (`{ after = "20.9.1" }`).
    After(String),
}

/// The shape of a data point's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum ValueType {
    /// True or false.
    Flag,
    /// One value from a declared list.
    Enumeration {
        /// The values that may be sent as they are.
        values: Vec<String>,
        /// When set, any other value is replaced by this placeholder; when absent, any other
        /// value is rejected.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        other: Option<String>,
    },
    /// A version number (`8.0.11`, `21.1.2`).
    Version,
    /// Free text; always scrubbed of personal data and length-limited before it is sent.
    Text {
        /// The longest text sent, in bytes, after scrubbing; longer text is truncated.
        max_len: u32,
    },
    /// A whole number of things.
    Count,
    /// A length of time.
    Duration,
    /// A summary of many measurements; the raw measurements never leave.
    Distribution {
        /// The statistics sent.
        statistics: Vec<Statistic>,
    },
    /// Measurements folded on this machine into counts on functional (log-linear) buckets:
    /// `buckets_per_octave` buckets between each power of two, from the bucket of `min` to the
    /// bucket of `max` (in the point's `unit`, which is required). Only the counts of the
    /// buckets that hold a measurement, their total and the sum of the measurements leave;
    /// a receiver adds the counts of many installations exactly and reads any percentile
    /// within one bucket.
    Histogram {
        /// The smallest measurement told apart; smaller ones count in its bucket. Above zero.
        min: f64,
        /// The largest measurement told apart; larger ones count in its bucket.
        max: f64,
        /// Buckets per power of two: 8 (the default) makes each bucket about 9% wide.
        #[serde(default = "default_buckets_per_octave")]
        #[schemars(range(min = 1, max = 64))]
        buckets_per_octave: u32,
    },
    /// An identifier replaced by its hash on this machine.
    Hashed {
        /// The hash used.
        algorithm: HashAlgorithm,
    },
    /// A list of names (setting names, rule names); never their values.
    Names {
        /// When set, only these names are sent as they are; others become `other`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        known: Option<Vec<String>>,
        /// The placeholder for a name outside `known`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        other: Option<String>,
    },
    /// How many times each label occurred (HTTP status code → count).
    LabelCounts,
    /// One value from a declared list for each name (Protect rule → Monitor or Block).
    ModeByName {
        /// The values a mode may take.
        modes: Vec<String>,
    },
    /// A small record of declared keys with short values; undeclared keys are dropped.
    Properties {
        /// The keys that may be sent.
        keys: Vec<String>,
    },
    /// A language tag (`en-US`), validated.
    LanguageTag,
    /// A browser's user-agent string, reduced to browser family, major version and OS family.
    UserAgent,
    /// An exception: type, scrubbed message and a stack trace filtered to allowed namespaces.
    Exception {
        /// Frames whose method lies in one of these namespaces are kept; others are dropped.
        allowed_namespaces: Vec<String>,
        /// Whether the log message that accompanied the exception is sent (scrubbed).
        #[serde(default)]
        includes_log_message: bool,
    },
}

/// Functional buckets per power of two when a histogram declares none.
pub const DEFAULT_BUCKETS_PER_OCTAVE: u32 = 8;

fn default_buckets_per_octave() -> u32 {
    DEFAULT_BUCKETS_PER_OCTAVE
}

/// The most items a `names`, `label_counts` or `mode_by_name` value may hold when its point
/// declares no `max_items`: more than any product's settings, rules or status codes, and few
/// enough that one value stays small on the wire and in a receiver's database.
pub const DEFAULT_MAX_ITEMS: u32 = 256;
/// The largest `max_items` a catalogue may declare.
pub const MAX_ITEMS_LIMIT: u32 = 4096;

impl DataPointSpec {
    /// The most items one value of this point may hold: `Some` for the kinds whose values are
    /// lists or maps of caller-chosen names (`names`, `label_counts`, `mode_by_name`), `None`
    /// for kinds the declaration bounds otherwise.
    pub fn item_cap(&self) -> Option<usize> {
        matches!(
            self.value,
            ValueType::Names { .. } | ValueType::LabelCounts | ValueType::ModeByName { .. }
        )
        .then(|| self.max_items.unwrap_or(DEFAULT_MAX_ITEMS) as usize)
    }
}

impl ValueType {
    /// The kind's name as written in catalogue files.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Flag => "flag",
            Self::Enumeration { .. } => "enumeration",
            Self::Version => "version",
            Self::Text { .. } => "text",
            Self::Count => "count",
            Self::Duration => "duration",
            Self::Distribution { .. } => "distribution",
            Self::Histogram { .. } => "histogram",
            Self::Hashed { .. } => "hashed",
            Self::Names { .. } => "names",
            Self::LabelCounts => "label_counts",
            Self::ModeByName { .. } => "mode_by_name",
            Self::Properties { .. } => "properties",
            Self::LanguageTag => "language_tag",
            Self::UserAgent => "user_agent",
            Self::Exception { .. } => "exception",
        }
    }

    /// The privacy classes a value of this kind may honestly carry. A catalogue that pairs, say,
    /// free text with `public` is rejected: free text is never sent unscrubbed.
    pub fn permitted_privacy(&self) -> &'static [PrivacyClass] {
        use PrivacyClass::*;
        match self {
            Self::Flag
            | Self::Enumeration { .. }
            | Self::Version
            | Self::Count
            | Self::Duration
            | Self::LanguageTag
            | Self::Names { .. }
            | Self::ModeByName { .. } => &[Public],
            Self::Text { .. } | Self::Exception { .. } | Self::Properties { .. } => &[Scrubbed],
            Self::Distribution { .. } | Self::Histogram { .. } | Self::LabelCounts => &[Aggregated],
            Self::Hashed { .. } => &[Hashed],
            Self::UserAgent => &[Coarsened],
        }
    }
}

/// A statistic of a [`ValueType::Distribution`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// How many measurements.
    Count,
    /// The smallest.
    Min,
    /// The largest.
    Max,
    /// The middle value (the mean of the two middle values for an even count).
    Median,
    /// The 95th percentile.
    P95,
}

impl Statistic {
    /// The name as catalogues and the wire write it (`min`, `p95`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Min => "min",
            Self::Max => "max",
            Self::Median => "median",
            Self::P95 => "p95",
        }
    }
}

/// How a hashed identifier is hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum HashAlgorithm {
    /// Plain SHA-256, as some vendors promise. Anyone can compute it, so a value from a small
    /// space (a 48-bit MAC address) can be recovered by trying every candidate.
    Sha256,
    /// HMAC-SHA256 with a secret key: without the key the hash cannot be recomputed.
    HmacSha256,
}

/// The unit of a measured value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Bytes.
    Bytes,
    /// Milliseconds.
    Milliseconds,
    /// Seconds.
    Seconds,
}

/// How a data point's value is protected before it leaves the machine. Every data point must
/// name one; there is no default that means "not personal".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PrivacyClass {
    /// Not personal: a flag, a number or a value from a fixed vocabulary, sent as it is.
    Public,
    /// Replaced by a hash on this machine; the original never leaves.
    Hashed,
    /// Free text, scrubbed of personal data and secrets on this machine and length-limited.
    Scrubbed,
    /// Only a summary of many values is sent; the individual values never leave.
    Aggregated,
    /// Reduced to a coarse form (a user agent to browser family, major version and OS family).
    Coarsened,
}

impl PrivacyClass {
    /// The name as written in catalogue files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Hashed => "hashed",
            Self::Scrubbed => "scrubbed",
            Self::Aggregated => "aggregated",
            Self::Coarsened => "coarsened",
        }
    }
}
