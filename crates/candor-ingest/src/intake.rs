//! One request body to a checked batch, as the pool's work: inflate it (gzip), cut it into
//! items, check each item against its catalogue. Every slice is bounded (a MiB inflated or
//! scanned, a few hundred items checked), what the work holds in memory is reserved from one
//! budget shared by all bodies in progress, and what the request may store is bounded by its
//! size on the wire (the storage allowance).

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::decode::{self, ArrayScan, DecodeError, Inflate};
use crate::pool::Work;
use crate::store::{Batch, Preparer, Preparing, StoreError, StoredEvent};
use crate::validate::{Accepted, Reason, Refusal};

/// Bytes inflated or scanned in one slice.
const BYTES_PER_SLICE: usize = 1 << 20;
/// Encoded item bytes checked in one slice (a slice also ends after [`ITEMS_PER_SLICE`]).
const ITEM_BYTES_PER_SLICE: usize = 128 << 10;
/// Items checked in one slice.
const ITEMS_PER_SLICE: usize = 256;
/// At most this many refusals are kept for the reply (all are counted).
pub(crate) const MAX_LISTED_REFUSALS: usize = 1000;

/// The body's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// The JSON sink's array.
    Json,
    /// OTLP/HTTP protobuf logs.
    Otlp,
}

/// What a body may cost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The largest body after decompression.
    pub(crate) max_decoded: usize,
    /// The most bytes the request's accepted events may store.
    pub(crate) allowance: usize,
}

/// Why a body was not checked.
#[derive(Debug)]
pub(crate) enum IntakeError {
    /// The body cannot be read, or is too large.
    Decode(DecodeError),
    /// The bodies in progress hold all the memory checking may use: retry later.
    Busy,
    /// The store's preparation of an accepted event failed (the system gave no random bytes).
    Store(StoreError),
}

/// One refused item as the reply lists it: its position, its event id when it had one, why.
pub(crate) type Listed = (usize, Option<String>, Refusal);

/// A checked body.
#[derive(Debug)]
pub(crate) struct Checked {
    /// Items the body held.
    pub(crate) received: usize,
    /// Accepted events and refusal counts.
    pub(crate) batch: Batch,
    /// The first [`MAX_LISTED_REFUSALS`] refusals.
    pub(crate) refused: Vec<Listed>,
    /// All refusals.
    pub(crate) refused_count: usize,
    /// Deletion requests an OTLP body carried (each a log record of its own), well formed,
    /// each with its record's place in the body.
    pub(crate) deletions: Vec<(usize, candor_schema::DeletionRequest)>,
    /// The memory the batch is counted under until it reaches the queue.
    pub(crate) reservation: Reservation,
}

/// Memory reserved from the checking budget (whole KiB), returned when dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: Arc<Semaphore>,
    held: Option<OwnedSemaphorePermit>,
    kib: usize,
}

impl Reservation {
    pub(crate) fn new(budget: Arc<Semaphore>) -> Self {
        Self {
            budget,
            held: None,
            kib: 0,
        }
    }

    /// Grows the reservation to cover `bytes`; false when the budget has no room.
    fn cover(&mut self, bytes: usize) -> bool {
        let want = bytes.div_ceil(1024);
        if want <= self.kib {
            return true;
        }
        let Ok(more) = u32::try_from(want - self.kib) else {
            return false;
        };
        match Arc::clone(&self.budget).try_acquire_many_owned(more) {
            Ok(permit) => {
                match &mut self.held {
                    Some(held) => held.merge(permit),
                    None => self.held = Some(permit),
                }
                self.kib = want;
                true
            }
            Err(_) => false,
        }
    }
}

enum Stage {
    Inflate(Inflate),
    Scan {
        plain: Bytes,
        scan: ArrayScan,
    },
    /// OTLP: walking the three enclosing levels is cheap (lengths are skipped, nothing is
    /// decoded), so the records are found in one slice.
    Records {
        plain: Bytes,
    },
    Check {
        plain: Bytes,
        items: Vec<Range<usize>>,
        next: usize,
        /// Bytes of the items not yet checked.
        left: usize,
    },
    Finished,
}

/// A body being decoded and checked.
pub(crate) struct Intake {
    accepted: Arc<Accepted>,
    format: Format,
    limits: Limits,
    now: SystemTime,
    stage: Stage,
    reservation: Reservation,
    /// Bytes the decoded body holds in memory (the inflated buffer; a plain body is counted
    /// by the HTTP server's body budget).
    body_memory: usize,
    /// Bytes the accepted rows hold in memory.
    rows_memory: usize,
    stored: usize,
    over_allowance: bool,
    received: usize,
    batch: Batch,
    /// The store's own work on each accepted event, done here rather than on the writer's
    /// thread.
    preparing: Preparing,
    refused: Vec<Listed>,
    refused_count: usize,
    counts: BTreeMap<(String, Reason), u64>,
    deletions: Vec<(usize, candor_schema::DeletionRequest)>,
}

/// The most deletion requests one body may carry (a client sends one, alone).
const MAX_DELETIONS_PER_BODY: usize = 16;

impl Intake {
    pub(crate) fn new(
        accepted: Arc<Accepted>,
        body: Bytes,
        format: Format,
        limits: Limits,
        budget: Arc<Semaphore>,
        preparer: &Preparer,
    ) -> Self {
        let stage = if decode::is_gzip(&body) {
            Stage::Inflate(Inflate::new(body, limits.max_decoded))
        } else {
            Self::after_inflate(format, body)
        };
        Self {
            accepted,
            format,
            limits,
            now: SystemTime::now(),
            stage,
            reservation: Reservation::new(budget),
            body_memory: 0,
            rows_memory: 0,
            stored: 0,
            over_allowance: false,
            received: 0,
            batch: Batch::default(),
            preparing: preparer.start(),
            refused: Vec::new(),
            refused_count: 0,
            counts: BTreeMap::new(),
            deletions: Vec::new(),
        }
    }

    fn after_inflate(format: Format, plain: Bytes) -> Stage {
        match format {
            Format::Json => Stage::Scan {
                plain,
                scan: ArrayScan::default(),
            },
            Format::Otlp => Stage::Records { plain },
        }
    }

    fn check(plain: Bytes, items: Vec<Range<usize>>) -> Stage {
        let left = items.iter().map(Range::len).sum();
        Stage::Check {
            plain,
            items,
            next: 0,
            left,
        }
    }

    fn advance(&mut self) -> Result<bool, IntakeError> {
        let decode = IntakeError::Decode;
        match std::mem::replace(&mut self.stage, Stage::Finished) {
            Stage::Inflate(mut inflate) => {
                let done = inflate.step(BYTES_PER_SLICE).map_err(decode)?;
                self.body_memory = inflate.capacity();
                if let Some(plain) = done {
                    self.body_memory = plain.capacity();
                    self.stage = Self::after_inflate(self.format, Bytes::from(plain));
                } else {
                    self.stage = Stage::Inflate(inflate);
                }
                self.reserve()?;
            }
            Stage::Scan { plain, mut scan } => {
                let done = scan.step(&plain, BYTES_PER_SLICE).map_err(decode)?;
                self.stage = if done {
                    Self::check(plain, scan.into_items())
                } else {
                    Stage::Scan { plain, scan }
                };
            }
            Stage::Records { plain } => {
                let items = decode::otlp_records(&plain)
                    .map_err(decode)?
                    .into_iter()
                    .map(|record| {
                        let offset = record.as_ptr() as usize - plain.as_ptr() as usize;
                        offset..offset + record.len()
                    })
                    .collect();
                self.stage = Self::check(plain, items);
            }
            Stage::Check {
                plain,
                items,
                mut next,
                mut left,
            } => {
                let (mut bytes, end) = (0, (next + ITEMS_PER_SLICE).min(items.len()));
                while next < end && bytes < ITEM_BYTES_PER_SLICE {
                    let range = items[next].clone();
                    bytes += range.len();
                    left = left.saturating_sub(range.len());
                    self.item(next, &plain[range])?;
                    next += 1;
                }
                if next == items.len() {
                    self.received = items.len();
                    return Ok(true);
                }
                self.stage = Stage::Check {
                    plain,
                    items,
                    next,
                    left,
                };
            }
            Stage::Finished => return Ok(true),
        }
        Ok(false)
    }

    /// Reserves what the body and rows hold now; a body that cannot get it is answered 503.
    fn reserve(&mut self) -> Result<(), IntakeError> {
        if self.reservation.cover(self.body_memory + self.rows_memory) {
            Ok(())
        } else {
            Err(IntakeError::Busy)
        }
    }

    fn item(&mut self, index: usize, encoded: &[u8]) -> Result<(), IntakeError> {
        let item = match self.format {
            Format::Json => decode::json_item(encoded),
            Format::Otlp => match decode::otlp_entry(encoded) {
                decode::OtlpEntry::Event(item) => item,
                decode::OtlpEntry::Deletion(Ok(request))
                    if self.deletions.len() < MAX_DELETIONS_PER_BODY =>
                {
                    self.deletions.push((index, request));
                    return Ok(());
                }
                decode::OtlpEntry::Deletion(Ok(_)) => Err(Refusal {
                    reason: Reason::OutOfBounds,
                    detail: format!(
                        "more than {MAX_DELETIONS_PER_BODY} deletion requests in one body"
                    ),
                    product: None,
                }),
                decode::OtlpEntry::Deletion(Err(refusal)) => Err(refusal),
            },
        };
        let (id, outcome) = match item {
            Err(refusal) => (None, Err(refusal)),
            Ok(event) => {
                // Echoed back so the client can tell which event was refused; bounded.
                let id: String = event.event_id().chars().take(64).collect();
                let outcome = if self.over_allowance {
                    let product = self
                        .accepted
                        .catalogue(event.product())
                        .map(|_| event.product().to_owned());
                    Err(over_allowance(self.limits.allowance, product))
                } else {
                    self.accepted.check(event, self.now)
                };
                (Some(id), outcome)
            }
        };
        match outcome {
            Ok(row) => {
                let size = row.stored_bytes();
                if self.stored + size > self.limits.allowance {
                    // This event and every later one: what the request stores is a prefix.
                    self.over_allowance = true;
                    let product = Some(row.product.clone());
                    self.refuse(index, id, over_allowance(self.limits.allowance, product));
                    return Ok(());
                }
                self.stored += size;
                let prepared = self.preparing.add(&row).map_err(IntakeError::Store)?;
                self.rows_memory += row.memory_bytes() + prepared;
                self.batch.events.push(row);
                self.reserve()
            }
            Err(refusal) => {
                self.refuse(index, id, refusal);
                Ok(())
            }
        }
    }

    fn refuse(&mut self, index: usize, id: Option<String>, refusal: Refusal) {
        *self
            .counts
            .entry((refusal.product.clone().unwrap_or_default(), refusal.reason))
            .or_default() += 1;
        self.refused_count += 1;
        if self.refused.len() < MAX_LISTED_REFUSALS {
            self.refused.push((index, id, refusal));
        }
    }

    fn finish(&mut self) -> Checked {
        self.stage = Stage::Finished;
        let mut batch = std::mem::take(&mut self.batch);
        batch.prepared =
            std::mem::replace(&mut self.preparing, Preparer::default().start()).finish();
        batch.refusals = std::mem::take(&mut self.counts)
            .into_iter()
            .map(|((product, reason), n)| (product, reason, n))
            .collect();
        Checked {
            received: self.received,
            batch,
            refused: std::mem::take(&mut self.refused),
            refused_count: self.refused_count,
            deletions: std::mem::take(&mut self.deletions),
            reservation: {
                let empty = Reservation::new(Arc::clone(&self.reservation.budget));
                std::mem::replace(&mut self.reservation, empty)
            },
        }
    }
}

impl Work for Intake {
    type Output = Result<Checked, IntakeError>;

    /// Bytes still to pass through: a compressed body counts four times what is left of it,
    /// then what is inflated is scanned and checked; a scan counts its rest and the whole body
    /// to check; a check counts the items left.
    fn remaining(&self) -> usize {
        match &self.stage {
            Stage::Inflate(inflate) => inflate
                .compressed_left()
                .saturating_mul(4)
                .saturating_add(inflate.inflated())
                .saturating_mul(2),
            Stage::Scan { plain, scan } => {
                (plain.len() - scan.position().min(plain.len())).saturating_add(plain.len())
            }
            Stage::Records { plain } => plain.len(),
            Stage::Check { left, .. } => *left,
            Stage::Finished => 0,
        }
    }

    fn step(&mut self) -> Option<Self::Output> {
        match self.advance() {
            Ok(false) => None,
            Ok(true) => Some(Ok(self.finish())),
            Err(e) => {
                self.stage = Stage::Finished;
                Some(Err(e))
            }
        }
    }
}

fn over_allowance(allowance: usize, product: Option<String>) -> Refusal {
    let mut refusal = Refusal::new(
        Reason::OverStorageAllowance,
        format!(
            "the request had stored the {allowance} bytes its size allows; send fewer events \
             per request"
        ),
    );
    refusal.product = product;
    refusal
}

impl StoredEvent {
    /// The bytes the row stores: its text and its time.
    pub(crate) fn stored_bytes(&self) -> usize {
        self.event_id.len()
            + 8
            + self.product.len()
            + self.product_version.len()
            + self.runtime_line.len()
            + self.catalogue_revision.len()
            + self.install_id.as_ref().map_or(0, String::len)
            + self.point.len()
            + self.kind.len()
            + self.value.len()
    }

    /// What the row costs in memory while it waits: its text and the allocations around it.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.stored_bytes() + ROW_MEMORY_OVERHEAD
    }
}

/// The allocations and fields of a row besides its text, with room for the allocator's own
/// (measured: a full queue of small events, about 200 bytes of text each, raised the server's
/// memory by 640 to 950 bytes per event).
const ROW_MEMORY_OVERHEAD: usize = 768;
