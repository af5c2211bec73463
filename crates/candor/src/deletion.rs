//! Opting out reaches the vendor: the key a product's events are traced by, and the one
//! deletion request Candor owes when the person's word turns collection off.
//!
//! A request is owed when a product whose catalogue declares a deletion key, and whose
//! receipts show it sent something from this folder, starts (or, while running, is told) that
//! the person's word is off: `candor consent <product> off`, the
//! product's opt-out variable, `DO_NOT_TRACK`, the host's opt-out, or the network block (an
//! off that only fails closed, such as a config file that cannot be read, is not). It
//! is made once per key and kept in `deletions/<product>.json` (through `candor-state`) until
//! a receiver confirms it; it is sent through the product's own sink, with the pipeline's
//! backoff, even though collection is off, and nothing else is sent. A confirmed request
//! stays as the receipt of the erasure while consent stays off; once the product may send
//! again the record is dropped, so that a later opt-out owes a new request. A record Candor
//! cannot read (corrupt, oversized, a symlink or FIFO in its place) is replaced by a new
//! request for the key (documented fallback): asking twice erases nothing more.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use candor_consent::{DecidedBy, Decision, Mode};
use candor_schema::{Catalogue, DeletionKey};
use candor_state::{InstallId, StateDir};
use candor_transport::deletion::{self, DeletionRecord, MAX_DELETION_RECORD};
use candor_transport::{SinkOptions, SinkSpec};

use crate::BuildError;

/// The key every event of this installation carries as its install id, for catalogues that
/// declare one: Candor's random install id, or for a point key (Contrast's `machine_id`) the
/// SHA-256 of the MAC address the collector would read — the identifier the product already
/// sends. Where no network adapter qualifies, the random install id stands in (documented
/// fallback), so the events can still be erased together.
pub(crate) fn tracing_key(
    state: Option<&StateDir>,
    catalogue: &Catalogue,
) -> Result<Option<String>, BuildError> {
    let collection = &catalogue.spec().collection;
    if !collection.carries_install_id() {
        return Ok(None);
    }
    if let DeletionKey::Point(_) = &collection.deletion_key {
        let snapshot = candor_collect::SystemProbe::real().snapshot();
        if let Ok(address) = snapshot.mac_address {
            return Ok(Some(candor_privacy::sha256_hex(address.as_bytes())));
        }
    }
    let product = catalogue.product_id();
    match state {
        Some(state) => state.install_id(product),
        None => InstallId::generate(),
    }
    .map(|id| Some(id.as_str().to_owned()))
    .map_err(BuildError::state("cannot create the install id"))
}

/// Whether `decision` is the person's word against collection: a deletion is then owed. An
/// off that only fails closed (an unknown value, a config file that cannot be read, a network
/// record Candor cannot read: each comes with a warning), or the catalogue's default, is not
/// such a word, and owes nothing: erasing what the person agreed to send needs their act.
pub(crate) fn opts_out(decision: &Decision) -> bool {
    decision.mode == Mode::Off
        && decision.warnings.is_empty()
        && matches!(
            decision.decided_by,
            DecidedBy::DoNotTrack
                | DecidedBy::Variable { .. }
                | DecidedBy::ConfigFile { .. }
                | DecidedBy::HostOptOut
                | DecidedBy::NetworkBlock { since: Some(_), .. }
        )
}

/// Reads `product`'s deletion record; `None` when there is none or it cannot be read.
pub(crate) fn read(state: &StateDir, product: &str) -> Result<Option<DeletionRecord>, String> {
    match state.read_deletion(product, MAX_DELETION_RECORD) {
        Ok(None) => Ok(None),
        Ok(Some(bytes)) => DeletionRecord::parse(&bytes).map(Some),
        Err(e) => Err(e.to_string()),
    }
}

/// Settles the record at a start (or a change of decision): a request owed when the person
/// opted out and none is kept for this key; the confirmed record dropped when the product may
/// send again. Returns the request still to be delivered.
pub(crate) fn settle(
    state: &StateDir,
    catalogue: &Catalogue,
    decision: &Decision,
) -> Option<DeletionRecord> {
    if catalogue.spec().collection.deletion_key.is_none() {
        return None;
    }
    let product = catalogue.product_id();
    let kept = read(state, product).ok().flatten();
    if !opts_out(decision) {
        if decision.may_send() && kept.as_ref().is_some_and(DeletionRecord::is_confirmed) {
            let _ = state.remove_deletion(product);
        }
        // A pending request is still delivered: the person asked for it.
        return kept.filter(|r| !r.is_confirmed());
    }
    let key = tracing_key(Some(state), catalogue).ok().flatten()?;
    if kept.is_none() && !sent_anything(state, product) {
        // Nothing of this product left this folder (as far as its receipts tell): a request
        // would only hand the vendor the identifier the person just declined to send.
        return None;
    }
    match kept {
        Some(record) if record.request.key == key => (!record.is_confirmed()).then_some(record),
        _ => {
            let record = DeletionRecord::new(product, &key, &candor_collect::new_event_id());
            state.write_deletion(product, &record.to_bytes()).ok()?;
            Some(record)
        }
    }
}

/// Whether the receipts log shows events of `product` taken by a receiver other than a local
/// file: only then can a vendor hold anything to erase. A log Candor cannot read counts as
/// "sent" (asking once too often erases nothing more).
fn sent_anything(state: &StateDir, product: &str) -> bool {
    const MAX_RECEIPTS: u64 = 1 << 20;
    match candor_transport::Receipts::new(state.receipts_path(), MAX_RECEIPTS).read(Some(product)) {
        Ok(receipts) => receipts.iter().any(|r| r.events > 0 && r.sink != "file"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(_) => true,
    }
}

/// Sends `record` through `sink` until confirmed, refused, or `deadline`, keeping the record
/// up to date in `state`.
pub(crate) fn deliver(
    state: &StateDir,
    sink: &SinkSpec,
    options: &SinkOptions,
    record: DeletionRecord,
    deadline: Duration,
) -> DeletionRecord {
    deliver_until(state, sink, options, record, deadline, &|| false)
}

/// [`deliver`], stopping early when `stopped` says so (the product shut down).
fn deliver_until(
    state: &StateDir,
    sink: &SinkSpec,
    options: &SinkOptions,
    mut record: DeletionRecord,
    deadline: Duration,
    stopped: &dyn Fn() -> bool,
) -> DeletionRecord {
    let product = record.request.product.clone();
    deletion::deliver(sink, options, &mut record, deadline, stopped, |r| {
        let _ = state.write_deletion(&product, &r.to_bytes());
    });
    record
}

/// How long a running product keeps trying to deliver a deletion request; a later run tries
/// again.
const PATIENCE: Duration = Duration::from_secs(24 * 3600);

/// What a product needs to owe and send its deletion request, at the start and when consent
/// turns off while it runs (`Runtime::tick`). At most one delivery runs at a time; a shutdown
/// waits for it within its own deadline ([`Courier::wait_idle`]), so a short-lived process
/// (`candor send`) does not exit while its request is on the wire.
#[derive(Clone)]
pub(crate) struct Courier {
    state: StateDir,
    catalogue: Arc<Catalogue>,
    sink: SinkSpec,
    options: SinkOptions,
    delivering: Arc<Delivering>,
}

/// Whether a delivery runs, and a condition to wait for its end.
#[derive(Default)]
struct Delivering {
    busy: Mutex<bool>,
    ended: Condvar,
    /// Set by the product's shutdown: a delivery makes no further attempt.
    stopped: std::sync::atomic::AtomicBool,
}

impl Delivering {
    /// Claims the one delivery; false when one is already under way.
    fn claim(&self) -> bool {
        let mut busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        !std::mem::replace(&mut *busy, true)
    }

    fn release(&self) {
        *self.busy.lock().unwrap_or_else(PoisonError::into_inner) = false;
        self.ended.notify_all();
    }
}

impl Courier {
    /// A courier for a catalogue that declares a deletion key, with a folder and a sink.
    pub(crate) fn new(
        state: Option<&StateDir>,
        catalogue: &Arc<Catalogue>,
        sink: Option<&SinkSpec>,
        options: SinkOptions,
    ) -> Option<Self> {
        if catalogue.spec().collection.deletion_key.is_none() {
            return None;
        }
        Some(Self {
            state: state?.clone(),
            catalogue: Arc::clone(catalogue),
            sink: sink?.clone(),
            options,
            delivering: Arc::default(),
        })
    }

    /// Settles the record for `decision` (see [`settle`]) and sends what is owed.
    pub(crate) fn on_decision(&self, decision: &Decision) {
        if let Some(record) = settle(&self.state, &self.catalogue, decision) {
            self.send(record);
        }
    }

    /// Sends `record` on a thread of its own, unless a delivery is already under way: the
    /// host does not wait for it.
    pub(crate) fn send(&self, record: DeletionRecord) {
        if !self.delivering.claim() {
            return;
        }
        let this = self.clone();
        let spawned = std::thread::Builder::new()
            .name("candor-deletion".to_owned())
            .spawn(move || {
                let stopped = || {
                    this.delivering
                        .stopped
                        .load(std::sync::atomic::Ordering::Acquire)
                };
                deliver_until(
                    &this.state,
                    &this.sink,
                    &this.options,
                    record,
                    PATIENCE,
                    &stopped,
                );
                this.delivering.release();
            });
        if spawned.is_err() {
            // The next start tries again.
            self.delivering.release();
        }
    }

    /// Waits until no delivery runs, or `deadline`, then stops any delivery from making
    /// another attempt (the product is shutting down: nothing of it keeps sending after its
    /// shutdown returns but an attempt already on the wire, bounded by the request timeout).
    /// Returns whether none runs. An undelivered request keeps its record: the next start
    /// sends it again.
    pub(crate) fn stop(&self, deadline: Instant) -> bool {
        let idle = self.wait_idle(deadline);
        self.delivering
            .stopped
            .store(true, std::sync::atomic::Ordering::Release);
        idle
    }

    /// Waits until no delivery runs, or `deadline`. Returns whether none runs.
    fn wait_idle(&self, deadline: Instant) -> bool {
        let mut busy = self
            .delivering
            .busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while *busy {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            busy = self
                .delivering
                .ended
                .wait_timeout(busy, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}
