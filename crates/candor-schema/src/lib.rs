//! Candor's versioned data-point catalogue.
//!
//! A catalogue declares, for one product, every data point the product may send, from which
//! version of each runtime line, in what shape, and how each is protected; and the promises that
//! surround them: how to opt out, what the user is told, when data is collected, where it goes,
//! how long it is kept and what is never collected. Everything else in Candor reads it:
//! consent evaluates its opt-out rules, collectors and transport refuse any point it does not
//! declare for the running version, and the disclosure documentation is generated from it.
//!
//! Each data point may also declare when it stops (`expires`: never, a UTC day, or a version per
//! runtime line), an owner and links to its review ([`Expires`], [`Expiry`]). Whether a dated
//! point has expired depends on a day the caller passes: this crate reads no clock.
//!
//! Two catalogues are built in ([`builtin`]): the .NET Aspire dashboard (`aspire-dashboard`) and
//! the Contrast .NET agent (`contrast-dotnet-agent`). A user's own catalogue file (TOML or JSON)
//! goes through the same validating loader ([`Catalogue::from_path`]).
//!
//! This crate is the bottom of Candor's stack. It knows nothing about consent decisions, the
//! system it runs on, hashing or scrubbing, or transport: no tokio, no HTTP, no system calls
//! beyond reading a catalogue file a caller names.

#![warn(missing_docs)]

pub mod builtin;
mod catalogue;
mod date;
mod deletion;
mod error;
mod event;
mod gate;
mod histogram;
mod lifecycle;
mod load;
mod model;
mod revision;
mod source;
mod timestamp;
mod version;
mod walk;

pub use catalogue::{Catalogue, Catalogues, HostRequirement, SemanticNames, semantic_names};
pub use date::{Date, DateError};
pub use deletion::{
    DELETION_PATH, DELETION_REQUEST_KIND, DeletionConfirmation, DeletionRequest,
    DeletionRequestError, MAX_DELETION_REQUEST_BYTES,
};
pub use error::{CatalogueError, Problem, QueryError};
pub use event::{
    Event, EventParts, ExceptionValue, HistogramValue, MAX_COUNT, MAX_FRAMES, MAX_MESSAGE_LEN,
    MAX_NAME_LEN, MAX_PROPERTY_VALUE_LEN, MAX_VERSION_LEN, MismatchKind, NameProblem, Stamp, Value,
    ValueMismatch, check_name, check_value, event_json_schema, is_bidi_control, is_language_tag,
    is_unsendable_char, is_version_text,
};
pub use gate::Bound;
pub use histogram::{BucketLayout, LayoutError, MAX_BUCKETS_PER_OCTAVE, MAX_HISTOGRAM_BUCKETS};
pub use lifecycle::{
    CatalogueWarning, EXPIRY_WARNING_DAYS, Expired, Expires, Expiry, MAX_LINK_LEN, MAX_OWNER_LEN,
    MAX_REVIEW_LINKS,
};
pub use load::{LOCAL_COPY_MAX_BYTES, MAX_LOCAL_COPY_DAYS};
pub use model::{
    CatalogueSpec, CollectionSpec, ConsentSpec, DEFAULT_BUCKETS_PER_OCTAVE, DEFAULT_MAX_ITEMS,
    DEFAULT_MIN_GROUP, DataPointSpec, DefaultMode, DeletionKey, DeliveryMethod, DeliverySpec,
    DisclosureSpec, FORMAT_VERSION, Gate, HashAlgorithm, HostMinimum, HostPolicy, HostSpec,
    MAX_ITEMS_LIMIT, MIN_FORMAT_VERSION, NoticeKind, PrivacyClass, ProductSpec, RetentionSpec,
    RevisionSpec, RuntimeCondition, RuntimeLineSpec, Statistic, Storage, Trigger, Unit, ValueType,
    VariableMeaning, VariableRule,
};
pub use revision::{Disclosed, DisclosedPoint, Widened, Widening};
pub use source::MachineReading;
pub use timestamp::{MAX_TIME_TEXT_LEN, TimeError, Timestamp};
pub use version::{Version, VersionError, VersionScheme};
pub use walk::{Grammar, MAX_HASH_KEY_ID_LEN, MIN_HASH_HEX_DIGITS, StringRole};

/// The environment variable Candor honours for every product: a true value turns telemetry off
/// (see <https://consoledonottrack.com>).
pub const DO_NOT_TRACK: &str = "DO_NOT_TRACK";

/// The JSON Schema (draft 2020-12) of the catalogue format, for validating catalogues in other
/// tools and languages.
pub fn catalogue_json_schema() -> serde_json::Value {
    schemars::schema_for!(CatalogueSpec).to_value()
}
