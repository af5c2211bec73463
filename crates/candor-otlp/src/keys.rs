//! The attribute keys and names of Candor's OTLP mapping.

/// The event id.
pub const EVENT_ID: &str = "candor.event_id";
/// The data point (also the record's `EventName`).
pub const POINT: &str = "candor.point";
/// The value's kind, as catalogues name it (`count`, `names`, …).
pub const KIND: &str = "candor.kind";
/// The product's catalogue id.
pub const PRODUCT: &str = "candor.product";
/// The product version.
pub const PRODUCT_VERSION: &str = "candor.product_version";
/// The runtime line.
pub const RUNTIME_LINE: &str = "candor.runtime_line";
/// The catalogue revision.
pub const CATALOGUE_REVISION: &str = "candor.catalogue_revision";
/// The install id, present only where the catalogue declares one.
pub const INSTALL_ID: &str = "candor.install_id";

/// A deletion request's key (what the product's events carry as their install id).
pub const DELETION_KEY: &str = "candor.deletion.key";
/// A deletion request's id.
pub const DELETION_REQUEST_ID: &str = "candor.deletion.request_id";
/// A deletion request's time of opting out: events recorded up to it are erased.
pub const DELETION_BEFORE: &str = "candor.deletion.before";

/// The resource's service name: the product.
pub const SERVICE_NAME: &str = "service.name";
/// The resource's service version: the product version.
pub const SERVICE_VERSION: &str = "service.version";
/// The SDK's name.
pub const SDK_NAME: &str = "telemetry.sdk.name";
/// The SDK's language.
pub const SDK_LANGUAGE: &str = "telemetry.sdk.language";
/// The SDK's version.
pub const SDK_VERSION: &str = "telemetry.sdk.version";

/// The instrumentation scope's name, and the SDK's.
pub const SCOPE_NAME: &str = "candor";
/// The instrumentation scope's version, and the SDK's: Candor's.
pub const SCOPE_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The SDK's language.
pub const LANGUAGE: &str = "rust";
/// The severity text every record carries (its number is `INFO`).
pub const SEVERITY_TEXT: &str = "INFO";
