//! Handles as ids. A caller holds a number, never a pointer: each id is issued once, looked up
//! in a table on every call, and removed when the telemetry is shut down (or the builder built
//! or freed), so a stale, repeated or made-up id is refused with a code instead of reaching
//! freed memory, whatever thread it comes from.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, PoisonError, RwLock};

use candor::{Builder, Telemetry};

use crate::code::{CandorCode, Refusal};

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

struct Registry {
    /// The next id to issue; builders and telemetry share the sequence, so an id of one kind
    /// passed where the other is wanted is recognised.
    next: AtomicU64,
    telemetry: RwLock<Table<Telemetry>>,
    builders: Mutex<Table<Builder>>,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| Registry {
    next: AtomicU64::new(1),
    telemetry: RwLock::new(Table::default()),
    builders: Mutex::new(Table::default()),
});

fn issue() -> u64 {
    REGISTRY.next.fetch_add(1, Ordering::Relaxed)
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

/// Why `id` is not a live id of `kind` (called with no table locked).
fn missing(id: u64, kind: Kind) -> Refusal {
    let wanted = kind.name();
    let issued = id != 0 && id < REGISTRY.next.load(Ordering::Relaxed);
    if !issued {
        return Refusal::new(
            CandorCode::UnknownHandle,
            format!("{id} is not a {wanted} this library issued"),
        );
    }
    let (other_is_live, other) = match kind {
        Kind::Builder => (telemetry_table().contains_key(&id), Kind::Telemetry),
        Kind::Telemetry => (builder_table().contains_key(&id), Kind::Builder),
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

fn telemetry_table() -> std::sync::RwLockReadGuard<'static, Table<Telemetry>> {
    // A panic never happens while the table is held (only lookups and inserts), but if one
    // did, the table itself is still consistent.
    REGISTRY
        .telemetry
        .read()
        .unwrap_or_else(PoisonError::into_inner)
}

fn builder_table() -> std::sync::MutexGuard<'static, Table<Builder>> {
    REGISTRY
        .builders
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Issues an id for a new builder.
pub(crate) fn add_builder(builder: Builder) -> u64 {
    let id = issue();
    builder_table().insert(id, builder);
    id
}

/// Applies `change` to builder `id`. The table stays locked meanwhile, so two threads
/// changing one builder take turns.
pub(crate) fn change_builder(
    id: u64,
    change: impl FnOnce(Builder) -> Builder,
) -> Result<(), Refusal> {
    let mut table = builder_table();
    let Some(builder) = table.remove(&id) else {
        drop(table);
        return Err(missing(id, Kind::Builder));
    };
    table.insert(id, change(builder));
    Ok(())
}

/// Removes builder `id` and hands it over.
pub(crate) fn take_builder(id: u64) -> Result<Builder, Refusal> {
    let taken = builder_table().remove(&id);
    taken.ok_or_else(|| missing(id, Kind::Builder))
}

/// Issues a handle for running telemetry.
pub(crate) fn add_telemetry(telemetry: Telemetry) -> u64 {
    let id = issue();
    REGISTRY
        .telemetry
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id, telemetry);
    id
}

/// Runs `f` on telemetry `id`. The table is read-locked only for the call (`record` never
/// blocks), so shutting a handle down waits at most for calls already inside it.
pub(crate) fn with_telemetry<R>(id: u64, f: impl FnOnce(&Telemetry) -> R) -> Result<R, Refusal> {
    let table = telemetry_table();
    match table.get(&id) {
        Some(telemetry) => Ok(f(telemetry)),
        None => {
            drop(table);
            Err(missing(id, Kind::Telemetry))
        }
    }
}

/// A clone of telemetry `id`, for calls that wait (flush, status with its locks), so the
/// table is not held while they do.
pub(crate) fn telemetry(id: u64) -> Result<Telemetry, Refusal> {
    with_telemetry(id, Telemetry::clone)
}

/// Removes telemetry `id`: from here on the id is refused with `CANDOR_CODE_CLOSED`.
pub(crate) fn take_telemetry(id: u64) -> Result<Telemetry, Refusal> {
    let taken = REGISTRY
        .telemetry
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&id);
    taken.ok_or_else(|| missing(id, Kind::Telemetry))
}
