//! Handles as ids. A caller holds a number, never a pointer: each id is issued once, looked up
//! in a table on every call, and removed when the telemetry is shut down (or the builder built
//! or freed), so a stale, repeated or made-up id is refused with a code instead of reaching
//! freed memory, whatever thread it comes from.
//!
//! The tables are bounded ([`CANDOR_MAX_HANDLES`] running handles, each with Candor's
//! threads, and [`CANDOR_MAX_BUILDERS`] builders not yet built or freed): a host that leaks
//! them is refused with `CANDOR_CODE_LIMIT` instead of growing without end. Each process has
//! its own registry (`process`): ids issued before a `fork()` are refused in the child with
//! `CANDOR_CODE_FORKED` before any lock is taken.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use candor::{Builder, Catalogue, Telemetry};

use crate::code::{CandorCode, Refusal};
use crate::process;
use crate::types::{CANDOR_MAX_BUILDERS, CANDOR_MAX_HANDLES};

/// Ids are small consecutive numbers: spread them over the table with one multiplication
/// instead of SipHash (nothing here is keyed by an attacker's choice of many values).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Table<T> = HashMap<u64, T, BuildHasherDefault<IdHasher>>;

/// A builder waiting for `candor_build`, with the catalogue it was started from.
struct Pending {
    builder: Builder,
    catalogue: Arc<Catalogue>,
}

/// One process's ids and what they name.
pub(crate) struct Registry {
    /// The fork count `process` had when this registry was made.
    forks: u64,
    /// Ids below this one were issued by the process this one was forked from (1 in the first
    /// process, which issued none before).
    first_id: u64,
    /// This process's id, read when the registry was made (for messages).
    pid: u32,
    /// The id of the process that issued the ids below `first_id`, for messages.
    parent_pid: Option<u32>,
    /// The next id to issue; builders and telemetry share the sequence, so an id of one kind
    /// passed where the other is wanted is recognised.
    next: AtomicU64,
    /// Running handles plus builds under way, at most `CANDOR_MAX_HANDLES`.
    handle_slots: AtomicUsize,
    telemetry: RwLock<Table<Telemetry>>,
    builders: Mutex<Table<Pending>>,
}

impl Registry {
    /// A registry for the process at fork count `forks`; `parent` is the registry copied from
    /// the process this one was forked from, whose ids it will refuse.
    pub(crate) fn new(forks: u64, parent: Option<&Registry>) -> Self {
        // Read with an atomic load only: the parent's locks are never touched.
        let first_id = parent.map_or(1, |p| p.next.load(Ordering::Relaxed).max(1));
        Self {
            forks,
            first_id,
            pid: std::process::id(),
            parent_pid: parent.map(|p| p.pid),
            next: AtomicU64::new(first_id),
            handle_slots: AtomicUsize::new(0),
            telemetry: RwLock::new(Table::default()),
            builders: Mutex::new(Table::default()),
        }
    }

    /// The fork count this registry was made at.
    pub(crate) fn forks(&self) -> u64 {
        self.forks
    }

    fn issue(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    fn telemetry_table(&self) -> std::sync::RwLockReadGuard<'_, Table<Telemetry>> {
        // A panic never happens while the table is held (only lookups and inserts), but if one
        // did, the table itself is still consistent.
        self.telemetry
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn telemetry_table_mut(&self) -> std::sync::RwLockWriteGuard<'_, Table<Telemetry>> {
        self.telemetry
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn builder_table(&self) -> std::sync::MutexGuard<'_, Table<Pending>> {
        self.builders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Refuses an id issued before this process was forked, before any lock is taken.
    fn check_not_inherited(&self, id: u64, kind: Kind) -> Result<(), Refusal> {
        if id == 0 || id >= self.first_id {
            return Ok(());
        }
        let parent = self
            .parent_pid
            .map_or_else(|| "its parent".to_owned(), |p| format!("process {p}"));
        Err(Refusal::new(
            CandorCode::Forked,
            format!(
                "{} {id} was made before this process ({}) was forked from {parent}: \
                 nothing Candor holds survives fork(); build a new handle in this process",
                kind.name(),
                self.pid
            ),
        ))
    }

    /// Why `id` is not a live id of `kind` (called with no table locked).
    fn missing(&self, id: u64, kind: Kind) -> Refusal {
        let wanted = kind.name();
        let issued = id != 0 && id < self.next.load(Ordering::Relaxed);
        if !issued {
            return Refusal::new(
                CandorCode::UnknownHandle,
                format!("{id} is not a {wanted} this library issued"),
            );
        }
        let (other_is_live, other) = match kind {
            Kind::Builder => (self.telemetry_table().contains_key(&id), Kind::Telemetry),
            Kind::Telemetry => (self.builder_table().contains_key(&id), Kind::Builder),
        };
        if other_is_live {
            return Refusal::new(
                CandorCode::UnknownHandle,
                format!("{id} is a {}, not a {wanted}", other.name()),
            );
        }
        let gone = match kind {
            Kind::Builder => "was built or freed",
            Kind::Telemetry => "was shut down",
        };
        Refusal::new(CandorCode::Closed, format!("{wanted} {id} {gone}"))
    }
}

/// The two kinds of id.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Builder,
    Telemetry,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Builder => "builder",
            Self::Telemetry => "telemetry handle",
        }
    }
}

fn limit(what: &str, cap: usize, constant: &str) -> Refusal {
    Refusal::new(
        CandorCode::Limit,
        format!(
            "this process already holds {cap} {what} ({constant}); shut one down or free it \
             first (one handle per product per process is enough)"
        ),
    )
}

/// Issues an id for a new builder of `catalogue`, unless `CANDOR_MAX_BUILDERS` are waiting.
pub(crate) fn add_builder(builder: Builder, catalogue: Arc<Catalogue>) -> Result<u64, Refusal> {
    let registry = process::current();
    let mut table = registry.builder_table();
    if table.len() >= CANDOR_MAX_BUILDERS {
        return Err(limit(
            "builders not yet built or freed",
            CANDOR_MAX_BUILDERS,
            "CANDOR_MAX_BUILDERS",
        ));
    }
    let id = registry.issue();
    table.insert(id, Pending { builder, catalogue });
    Ok(id)
}

/// Applies `change` to builder `id`. The table stays locked meanwhile, so two threads
/// changing one builder take turns.
pub(crate) fn change_builder(
    id: u64,
    change: impl FnOnce(Builder) -> Builder,
) -> Result<(), Refusal> {
    let registry = process::current();
    registry.check_not_inherited(id, Kind::Builder)?;
    let mut table = registry.builder_table();
    let Some(pending) = table.remove(&id) else {
        drop(table);
        return Err(registry.missing(id, Kind::Builder));
    };
    let builder = change(pending.builder);
    table.insert(
        id,
        Pending {
            builder,
            catalogue: pending.catalogue,
        },
    );
    Ok(())
}

/// The catalogue builder `id` was started from.
pub(crate) fn builder_catalogue(id: u64) -> Result<Arc<Catalogue>, Refusal> {
    let registry = process::current();
    registry.check_not_inherited(id, Kind::Builder)?;
    let found = registry
        .builder_table()
        .get(&id)
        .map(|p| Arc::clone(&p.catalogue));
    found.ok_or_else(|| registry.missing(id, Kind::Builder))
}

/// Removes builder `id` and hands it over.
pub(crate) fn take_builder(id: u64) -> Result<Builder, Refusal> {
    let registry = process::current();
    registry.check_not_inherited(id, Kind::Builder)?;
    let taken = registry.builder_table().remove(&id);
    taken
        .map(|p| p.builder)
        .ok_or_else(|| registry.missing(id, Kind::Builder))
}

/// A place for one more running handle, held until it is filled by [`HandleSlot::fill`] or
/// given back (dropped), so that building, which starts threads, is refused before it begins
/// when `CANDOR_MAX_HANDLES` run already.
pub(crate) struct HandleSlot {
    registry: &'static Registry,
    filled: bool,
}

/// Reserves a place for one more running handle.
pub(crate) fn reserve_handle() -> Result<HandleSlot, Refusal> {
    let registry = process::current();
    registry
        .handle_slots
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < CANDOR_MAX_HANDLES).then_some(n + 1)
        })
        .map_err(|_| limit("running handles", CANDOR_MAX_HANDLES, "CANDOR_MAX_HANDLES"))?;
    Ok(HandleSlot {
        registry,
        filled: false,
    })
}

impl HandleSlot {
    /// Issues a handle for running telemetry in this place.
    pub(crate) fn fill(mut self, telemetry: Telemetry) -> u64 {
        let id = self.registry.issue();
        self.registry.telemetry_table_mut().insert(id, telemetry);
        self.filled = true;
        id
    }
}

impl Drop for HandleSlot {
    fn drop(&mut self) {
        if !self.filled {
            self.registry.handle_slots.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Runs `f` on telemetry `id`. The table is read-locked only for the call (`record` never
/// blocks), so shutting a handle down waits at most for calls already inside it.
pub(crate) fn with_telemetry<R>(id: u64, f: impl FnOnce(&Telemetry) -> R) -> Result<R, Refusal> {
    let registry = process::current();
    registry.check_not_inherited(id, Kind::Telemetry)?;
    let table = registry.telemetry_table();
    match table.get(&id) {
        Some(telemetry) => Ok(f(telemetry)),
        None => {
            drop(table);
            Err(registry.missing(id, Kind::Telemetry))
        }
    }
}

/// A clone of telemetry `id`, for calls that wait (flush, status with its locks), so the
/// table is not held while they do.
pub(crate) fn telemetry(id: u64) -> Result<Telemetry, Refusal> {
    with_telemetry(id, Telemetry::clone)
}

/// Removes telemetry `id`: from here on the id is refused with `CANDOR_CODE_CLOSED`, and its
/// place counts no more against `CANDOR_MAX_HANDLES`.
pub(crate) fn take_telemetry(id: u64) -> Result<Telemetry, Refusal> {
    let registry = process::current();
    registry.check_not_inherited(id, Kind::Telemetry)?;
    let taken = registry.telemetry_table_mut().remove(&id);
    match taken {
        Some(telemetry) => {
            registry.handle_slots.fetch_sub(1, Ordering::AcqRel);
            Ok(telemetry)
        }
        None => Err(registry.missing(id, Kind::Telemetry)),
    }
}
