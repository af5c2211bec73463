//! Request bodies to events: the JSON sink's array (gzip or plain) and OTLP/HTTP protobuf logs
//! as Candor's OTLP sink writes them, each item read straight into `candor_schema::Event` (JSON
//! by the schema's own deserialisation, a log record by `candor-otlp`'s one mapping).

use std::io::Read;

use flate2::read::GzDecoder;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;

use crate::validate::{Reason, Refusal};
use candor_schema::Event;

/// The most events one request may carry.
pub const MAX_EVENTS_PER_REQUEST: usize = 100_000;

/// Why a body could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Decompressed, the body exceeds the cap (or holds too many events).
    #[error("the payload exceeds {0}")]
    TooLarge(String),
    /// Not a payload of this endpoint.
    #[error("malformed payload: {0}")]
    Malformed(String),
}

/// One item of a payload: an event of the schema, or why it is not one.
pub type Item = Result<Event, Refusal>;

/// The body, decompressed when it is gzip (by header or by its magic bytes), within `max` bytes.
pub fn decompress(body: &[u8], max: usize) -> Result<std::borrow::Cow<'_, [u8]>, DecodeError> {
    if body.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(max));
        let read = GzDecoder::new(body)
            .take(max as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| DecodeError::Malformed(format!("bad gzip: {e}")))?;
        if read > max {
            return Err(DecodeError::TooLarge(format!("{max} bytes decompressed")));
        }
        return Ok(std::borrow::Cow::Owned(out));
    }
    if body.len() > max {
        return Err(DecodeError::TooLarge(format!("{max} bytes")));
    }
    Ok(std::borrow::Cow::Borrowed(body))
}

/// Whether a body is gzip (by its magic bytes).
pub fn is_gzip(body: &[u8]) -> bool {
    body.starts_with(&[0x1f, 0x8b])
}

/// Decompresses a gzip body a stretch at a time, within a cap on the decompressed size, so a
/// large body is inflated in slices of bounded work and its growing buffer can be accounted.
pub struct Inflate {
    decoder: GzDecoder<std::io::Cursor<bytes::Bytes>>,
    out: Vec<u8>,
    max: usize,
}

impl std::fmt::Debug for Inflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflate")
            .field("inflated", &self.out.len())
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl Inflate {
    /// Starts on a gzip body, allowing at most `max` decompressed bytes.
    pub fn new(body: bytes::Bytes, max: usize) -> Self {
        // A first guess at the size, so that a small body does not hold a large buffer.
        let guess = body
            .len()
            .saturating_mul(4)
            .max(4096)
            .min(max.saturating_add(1));
        Self {
            decoder: GzDecoder::new(std::io::Cursor::new(body)),
            out: Vec::with_capacity(guess),
            max,
        }
    }

    /// Compressed bytes not yet read.
    pub fn compressed_left(&self) -> usize {
        let cursor = self.decoder.get_ref();
        let read = usize::try_from(cursor.position()).unwrap_or(usize::MAX);
        cursor.get_ref().len().saturating_sub(read)
    }

    /// Bytes decompressed so far.
    pub fn inflated(&self) -> usize {
        self.out.len()
    }

    /// Bytes the decompressed buffer holds room for (what it costs in memory now).
    pub fn capacity(&self) -> usize {
        self.out.capacity()
    }

    /// Decompresses up to `budget` more bytes; `Some` with the whole output once the stream
    /// ended.
    pub fn step(&mut self, budget: usize) -> Result<Option<Vec<u8>>, DecodeError> {
        let want = budget.max(1).min(self.max + 1 - self.out.len());
        if self.out.len() == self.out.capacity() {
            // Doubling, but never past the cap: the buffer costs at most twice what it holds.
            let target = (self.out.capacity().max(4096) * 2).min(self.max + 1);
            self.out.reserve_exact(target - self.out.len());
        }
        // At most what the buffer has room for, so it grows only here.
        let room = (self.out.capacity() - self.out.len()).max(1);
        let read = (&mut self.decoder)
            .take(want.min(room) as u64)
            .read_to_end(&mut self.out)
            .map_err(|e| DecodeError::Malformed(format!("bad gzip: {e}")))?;
        if self.out.len() > self.max {
            return Err(DecodeError::TooLarge(format!(
                "{} bytes decompressed",
                self.max
            )));
        }
        if read == 0 {
            let mut out = std::mem::take(&mut self.out);
            out.shrink_to_fit();
            return Ok(Some(out));
        }
        Ok(None)
    }
}

/// The largest single event, encoded: many times what any declared point needs (an exception
/// with every frame is under 100 KiB). A larger item is refused unread, so that no one item can
/// make the decoder allocate many times its size.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// A JSON array of events.
pub fn json_events(body: &[u8]) -> Result<Vec<Item>, DecodeError> {
    Ok(json_items(body)?.into_iter().map(json_item).collect())
}

/// The items of a JSON array, each still encoded, at most [`MAX_EVENTS_PER_REQUEST`] of them.
///
/// The array is cut at its own commas ([`ArrayScan`]) without building anything, and the
/// count is checked as it grows: an array of millions of tiny items (`[0,0,…]`, a gzip bomb of
/// a few KiB) is refused once it passes the cap, instead of growing a list many times the
/// body's size. Each item is parsed on its own later, so a broken item is refused alone.
pub fn json_items(body: &[u8]) -> Result<Vec<&[u8]>, DecodeError> {
    let mut scan = ArrayScan::default();
    while !scan.step(body, usize::MAX)? {}
    Ok(scan.items().iter().map(|r| &body[r.clone()]).collect())
}

/// Cuts a JSON array into its items a stretch at a time, so that a large body is split in
/// slices of bounded work. It checks the array's own structure (one array, items separated by
/// single commas, nothing after the closing bracket, no string left open) and leaves each
/// item's syntax to the item's own parse.
#[derive(Debug, Default)]
pub struct ArrayScan {
    at: usize,
    opened: bool,
    closed: bool,
    depth: usize,
    in_string: bool,
    escaped: bool,
    item_start: usize,
    items: Vec<std::ops::Range<usize>>,
}

impl ArrayScan {
    /// Reads at most `budget` more bytes of `body` (the same body every time); returns true
    /// when the whole body has been read.
    pub fn step(&mut self, body: &[u8], budget: usize) -> Result<bool, DecodeError> {
        let malformed = || DecodeError::Malformed("not a JSON array of events".to_owned());
        let end = self.at.saturating_add(budget).min(body.len());
        while self.at < end {
            let (i, b) = (self.at, body[self.at]);
            self.at += 1;
            if self.closed {
                if !b.is_ascii_whitespace() {
                    return Err(malformed());
                }
                continue;
            }
            if !self.opened {
                match b {
                    b'[' => {
                        self.opened = true;
                        self.item_start = i + 1;
                    }
                    _ if b.is_ascii_whitespace() => {}
                    _ => return Err(malformed()),
                }
                continue;
            }
            if self.in_string {
                match b {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'[' | b'{' => self.depth += 1,
                b']' | b'}' if self.depth > 0 => self.depth -= 1,
                b',' | b']' if self.depth == 0 => {
                    let item = body[self.item_start..i].trim_ascii();
                    let last = b == b']';
                    if item.is_empty() {
                        // `[]` is an empty array; `[,`, `,,` and `,]` are not JSON.
                        if !(last && self.items.is_empty()) {
                            return Err(malformed());
                        }
                    } else {
                        if self.items.len() == MAX_EVENTS_PER_REQUEST {
                            return Err(DecodeError::TooLarge(format!(
                                "{MAX_EVENTS_PER_REQUEST} events"
                            )));
                        }
                        let offset = item.as_ptr() as usize - body.as_ptr() as usize;
                        self.items.push(offset..offset + item.len());
                    }
                    self.item_start = i + 1;
                    self.closed = last;
                }
                b'}' => return Err(malformed()),
                _ => {}
            }
        }
        if self.at < body.len() {
            return Ok(false);
        }
        if self.closed {
            Ok(true)
        } else {
            Err(malformed())
        }
    }

    /// How far into the body the scan has read.
    pub fn position(&self) -> usize {
        self.at
    }

    /// The items found so far, as ranges of the body.
    pub fn items(&self) -> &[std::ops::Range<usize>] {
        &self.items
    }

    /// The items found, once the scan is done.
    pub fn into_items(self) -> Vec<std::ops::Range<usize>> {
        self.items
    }
}

/// One item of a JSON array as an event, or why it is not one.
pub fn json_item(encoded: &[u8]) -> Item {
    if encoded.len() > MAX_EVENT_BYTES {
        return Err(too_big());
    }
    serde_json::from_slice::<Event>(encoded).map_err(|e| not_an_event(e, encoded))
}

/// Why an item is not an event of the schema. A time that is not RFC 3339 has its own reason
/// (`bad_time`), as the check gives it; finding which field failed costs a second parse with
/// the path tracked, on the refusal's path only.
fn not_an_event(error: serde_json::Error, encoded: &[u8]) -> Refusal {
    let mut tracked = serde_json::Deserializer::from_slice(encoded);
    if let Err(failed) = serde_path_to_error::deserialize::<_, Event>(&mut tracked)
        && failed.path().to_string() == "time"
    {
        return Refusal {
            reason: Reason::BadTime,
            detail: crate::validate::shown_up_to(&failed.into_inner().to_string(), 80),
            product: None,
        };
    }
    Refusal {
        reason: Reason::Malformed,
        detail: format!("not an event of the published schema: {error}"),
        product: None,
    }
}

fn too_big() -> Refusal {
    Refusal {
        reason: Reason::OutOfBounds,
        detail: format!("an event larger than {MAX_EVENT_BYTES} bytes"),
        product: None,
    }
}

/// OTLP/HTTP protobuf logs.
pub fn otlp_events(body: &[u8]) -> Result<Vec<Item>, DecodeError> {
    Ok(otlp_records(body)?.into_iter().map(otlp_item).collect())
}

/// The log records of an OTLP logs request, each still encoded, at most
/// [`MAX_EVENTS_PER_REQUEST`] of them.
///
/// Only the three enclosing levels (request, resource logs, scope logs) are walked, and
/// nothing else is decoded: a decoded record costs a hundred times the two bytes an empty one
/// takes on the wire, so a request is counted before any record is built.
pub fn otlp_records(body: &[u8]) -> Result<Vec<&[u8]>, DecodeError> {
    // ExportLogsServiceRequest.resource_logs = 1; ResourceLogs.scope_logs = 2;
    // ScopeLogs.log_records = 2.
    let mut records = Vec::new();
    for resource in Fields::new(body, 1) {
        for scope in Fields::new(resource?, 2) {
            for record in Fields::new(scope?, 2) {
                if records.len() == MAX_EVENTS_PER_REQUEST {
                    return Err(DecodeError::TooLarge(format!(
                        "{MAX_EVENTS_PER_REQUEST} events"
                    )));
                }
                records.push(record?);
            }
        }
    }
    Ok(records)
}

/// The length-delimited fields with one number of an encoded protobuf message, in order;
/// every other field is skipped by its wire type.
struct Fields<'a> {
    rest: &'a [u8],
    wanted: u64,
}

impl<'a> Fields<'a> {
    fn new(message: &'a [u8], wanted: u64) -> Self {
        Self {
            rest: message,
            wanted,
        }
    }

    fn next_field(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        let malformed = || DecodeError::Malformed("not OTLP logs: bad protobuf framing".into());
        while !self.rest.is_empty() {
            let key = prost::encoding::decode_varint(&mut self.rest).map_err(|_| malformed())?;
            let skip = match key & 7 {
                0 => {
                    prost::encoding::decode_varint(&mut self.rest).map_err(|_| malformed())?;
                    0
                }
                1 => 8,
                5 => 4,
                2 => {
                    let len =
                        prost::encoding::decode_varint(&mut self.rest).map_err(|_| malformed())?;
                    let len = usize::try_from(len)
                        .ok()
                        .filter(|l| *l <= self.rest.len())
                        .ok_or_else(malformed)?;
                    let (value, rest) = self.rest.split_at(len);
                    self.rest = rest;
                    if key >> 3 == self.wanted {
                        return Ok(Some(value));
                    }
                    0
                }
                _ => return Err(malformed()),
            };
            self.rest = self.rest.get(skip..).ok_or_else(malformed)?;
        }
        Ok(None)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<&'a [u8], DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_field() {
            Ok(Some(field)) => Some(Ok(field)),
            Ok(None) => None,
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// One encoded log record as an event, or why it is not one.
pub fn otlp_item(encoded: &[u8]) -> Item {
    match otlp_entry(encoded) {
        OtlpEntry::Event(item) => item,
        OtlpEntry::Deletion(_) => Err(Refusal {
            reason: Reason::Malformed,
            detail: "a deletion request where events are expected".to_owned(),
            product: None,
        }),
    }
}

/// What one log record of an OTLP logs request carries.
#[derive(Debug)]
pub enum OtlpEntry {
    /// An event (or why it is not one).
    Event(Item),
    /// A deletion request (`candor_otlp::DELETION_EVENT`), or why it is not a well-formed
    /// one.
    Deletion(Result<candor_schema::DeletionRequest, Refusal>),
}

/// One encoded log record: an event or a deletion request, each read through Candor's one
/// OTLP mapping.
pub fn otlp_entry(encoded: &[u8]) -> OtlpEntry {
    if encoded.len() > MAX_EVENT_BYTES {
        return OtlpEntry::Event(Err(too_big()));
    }
    let record = match LogRecord::decode(encoded) {
        Ok(record) => record,
        Err(e) => {
            return OtlpEntry::Event(Err(Refusal {
                reason: Reason::Malformed,
                detail: format!("not an OTLP log record: {e}"),
                product: None,
            }));
        }
    };
    let malformed = |e: candor_otlp::ReadError| Refusal {
        reason: Reason::Malformed,
        detail: e.to_string(),
        product: None,
    };
    if candor_otlp::is_deletion(&record) {
        return OtlpEntry::Deletion(candor_otlp::read_deletion(&record).map_err(malformed));
    }
    OtlpEntry::Event(candor_otlp::read_event(&record).map_err(malformed))
}
