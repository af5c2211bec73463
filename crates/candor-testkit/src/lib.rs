//! Real receivers for Candor's tests, started on loopback by the tests themselves.
//!
//! - [`HttpReceiver`]: Candor's own HTTP/1.1 server (`candor-http-server`, on a thread of its
//!   own) taking gzip JSON batches (the vendor and relay sinks) and OTLP/HTTP protobuf
//!   (`/v1/logs`, decoded with the official OTLP definitions), and told to fail: a status with
//!   `Retry-After`, an answer held past the client's timeout, a reply cut short, a redirect, a
//!   huge answer streamed as it is sent; over plain HTTP or HTTPS with a certificate from a CA
//!   made at test time (rcgen).
//! - [`GrpcReceiver`]: an OTLP/gRPC logs service (tonic, from `opentelemetry-proto`).
//!
//! - [`browser`]: Debian's headless Chromium, to load Candor's pages in a real browser.
//! - [`native`]: the C compiler and Python 3, for hosts of the C ABI in other languages.
//!
//! The receivers keep every request's raw bytes (for canary searches) and the events they decoded.
//! Test support only: not published, and nothing in Candor's libraries depends on it.

#![allow(missing_docs, clippy::unwrap_used)]

pub mod browser;
mod event;
mod grpc;
mod http;
pub mod native;
mod otlp;

pub use event::agent_event;
pub use grpc::{GrpcFault, GrpcReceiver};
pub use http::{Fault, HttpReceiver, SeenRequest, TestCa};

/// One event as a receiver decoded it.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub event_id: String,
    pub point: String,
    pub product: String,
    /// The value as JSON: for JSON sinks the envelope's `{"kind", "data"}`; for OTLP the
    /// log body converted to JSON.
    pub value: serde_json::Value,
}

/// What a receiver saw.
#[derive(Debug, Clone, Default)]
pub struct Log {
    pub requests: u64,
    /// Raw request bodies after decompression.
    pub bodies: Vec<Vec<u8>>,
    pub authorizations: Vec<Option<String>>,
    pub events: Vec<Received>,
    /// Every request's method, target and headers (HTTP receivers).
    pub seen: Vec<SeenRequest>,
    /// A `Fault::Huge` answer stopped because the client closed the connection.
    pub huge_cut_short: bool,
    /// Every gRPC request's metadata (names lower-cased; the gRPC receiver).
    pub metadata: Vec<Vec<(String, String)>>,
}

impl Log {
    /// How many times each event id arrived.
    pub fn id_counts(&self) -> std::collections::BTreeMap<String, u64> {
        let mut counts = std::collections::BTreeMap::new();
        for e in &self.events {
            *counts.entry(e.event_id.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// Whether `needle` appears in any body.
    pub fn contains(&self, needle: &str) -> bool {
        let needle = needle.as_bytes();
        self.bodies
            .iter()
            .any(|b| b.windows(needle.len()).any(|w| w == needle))
    }
}

/// A port on loopback that nothing listens on (bound, then released).
pub fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Whether a test must fail, not skip, when a tool it needs (a C compiler, Python, Chromium,
/// PostgreSQL) is missing: under `cargo xtask test` (README's suite command, which installs
/// them and sets `CANDOR_REQUIRE_TOOLS=1`) and wherever `CI` is set to anything but `false`/`0`.
pub fn tools_required() -> bool {
    let set = |name: &str| {
        std::env::var(name)
            .is_ok_and(|v| !v.is_empty() && !v.eq_ignore_ascii_case("false") && v != "0")
    };
    set("CANDOR_REQUIRE_TOOLS") || set("CI")
}
