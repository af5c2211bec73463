//! The C types: handles, borrowed strings, the exception and status structures, and the
//! constants a caller passes or compares with.

use std::ffi::c_char;

/// A telemetry handle: an id issued by `candor_build`, never a pointer. 0 is never issued.
/// After `candor_shutdown` the id is never issued again, so a late or repeated use is refused
/// with `CANDOR_CODE_CLOSED` rather than reaching freed memory.
pub type CandorHandle = u64;

/// A builder: an id issued by `candor_builder_new` or `candor_builder_from_toml`, consumed by
/// `candor_build` or `candor_builder_free`. 0 is never issued.
pub type CandorBuilder = u64;

/// A string the caller lends for the duration of one call: `len` bytes of UTF-8 at `ptr`, no
/// terminating NUL needed (a NUL inside is a character like any other).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CandorStr {
    /// The first byte; never NULL for a string that is given (see each call for absent ones).
    pub ptr: *const c_char,
    /// The length in bytes.
    pub len: usize,
}

/// An exception as the host caught it. `message`, `stack` and `log_message` may have a NULL
/// `ptr` (with `len` 0) when absent; `type_name` is required.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CandorException {
    /// The exception's type name (`System.InvalidOperationException`).
    pub type_name: CandorStr,
    /// Its message (scrubbed before it is sent).
    pub message: CandorStr,
    /// Its stack trace as text, one frame per line (filtered to the point's allowed
    /// namespaces and scrubbed before it is sent).
    pub stack: CandorStr,
    /// The log message that accompanied it (sent, scrubbed, only when the point declares it).
    pub log_message: CandorStr,
}

/// What Candor has done so far (`candor_status`, `candor_shutdown`). The decision's reason
/// and the refusals in words are in `candor_status_json`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CandorStatus {
    /// Values accepted by the record calls.
    pub recorded: u64,
    /// Values dropped because Candor's queue was full.
    pub dropped_queue_full: u64,
    /// Values prepared into events (checked and privacy applied).
    pub prepared: u64,
    /// Values and events thrown away because consent changed before they were sent.
    pub discarded_by_consent: u64,
    /// Values refused (undeclared points, points not collected by this version, values of the
    /// wrong shape), all points together.
    pub refused: u64,
    /// Events the receiver accepted.
    pub delivered: u64,
    /// Events waiting in memory or in the spool.
    pub pending: u64,
    /// Events dropped for good by the sender (refused by the receiver, over the spool's caps,
    /// a disk that refused the write). Events consent withdrew are not among them: they are
    /// in `discarded_by_consent`, so no event is counted twice.
    pub dropped: u64,
    /// Events kept on this machine (consent mode `local`).
    pub kept_locally: u64,
    /// The consent mode in force: `CANDOR_MODE_OFF`, `CANDOR_MODE_LOCAL` or `CANDOR_MODE_ON`.
    pub mode: i32,
    /// 1 when data may leave the machine now (mode on and no first-run notice pending; after
    /// a catalogue revision that widened collection, the points it did not widen).
    pub may_send: u8,
    /// 1 when a notice is owed: the first-run notice was never shown, or a catalogue revision
    /// added, widened or loosened points since the one shown (those are collected and held,
    /// not sent).
    pub notice_pending: u8,
    /// 1 when consent is off because the catalogue counts a blocked network as opting out and
    /// the endpoint has not answered for the declared period.
    pub network_blocked: u8,
}

/// The version of this ABI: raised whenever a declaration in the header changes incompatibly.
pub const CANDOR_ABI_VERSION: u32 = 1;

/// The longest string any call takes, in bytes.
pub const CANDOR_MAX_STRING_BYTES: usize = 64 * 1024;
/// The longest catalogue text `candor_builder_from_toml` takes, in bytes.
pub const CANDOR_MAX_CATALOGUE_BYTES: usize = 4 * 1024 * 1024;
/// The most items a list (names, samples, label counts, modes, properties) may have.
pub const CANDOR_MAX_ITEMS: usize = 4096;
/// The most running handles a process may hold at once (each has Candor's threads); one per
/// product is what a host needs. `candor_build` past it returns `CANDOR_CODE_LIMIT`.
pub const CANDOR_MAX_HANDLES: usize = 16;
/// The most builders a process may hold that are neither built nor freed.
/// `candor_builder_new` past it returns `CANDOR_CODE_LIMIT`.
pub const CANDOR_MAX_BUILDERS: usize = 64;

/// Consent mode: nothing is collected or sent.
pub const CANDOR_MODE_OFF: i32 = 0;
/// Consent mode: collected and kept on this machine, never sent.
pub const CANDOR_MODE_LOCAL: i32 = 1;
/// Consent mode: collected and sent.
pub const CANDOR_MODE_ON: i32 = 2;

/// Sink: OTLP over HTTP/protobuf to a base URL (which gets `/v1/logs`) or the logs URL.
pub const CANDOR_SINK_OTLP_HTTP: i32 = 1;
/// Sink: OTLP over gRPC (needs the library built with the `otlp-grpc` feature).
pub const CANDOR_SINK_OTLP_GRPC: i32 = 2;
/// Sink: gzip-compressed JSON to a vendor endpoint.
pub const CANDOR_SINK_JSON: i32 = 3;
/// Sink: JSON lines appended to a file (the target is its path).
pub const CANDOR_SINK_FILE: i32 = 4;
/// Sink: JSON lines on standard output (no target).
pub const CANDOR_SINK_STDOUT: i32 = 5;
