//! What a store computes of each event from the event and the store key alone, before the
//! write: on PostgreSQL, the keyed hashes of its id and install id and its sealed content (or,
//! kept as aggregates, its day's group sealed and named). The threads that check a request do
//! it as each event is accepted ([`Preparing`]), so the writer's threads and their
//! connections spend their time in the database, not in hashing and encryption; a batch that
//! reaches [`Store::write`](super::Store::write) without it (a caller of the store's own) has
//! it computed there, by the same code. SQLite, whose file is encrypted whole, needs nothing.

#[cfg(feature = "postgres")]
use std::collections::HashMap;
#[cfg(feature = "postgres")]
use std::sync::Arc;

#[cfg(feature = "postgres")]
use super::seal::{GroupRef, Nonces, RowKey, Sealer};
use super::{DatabaseUrl, Sealing, StoreError, StoredEvent};
#[cfg(feature = "postgres")]
use super::{Storage, day_start};

/// Makes the [`Preparing`] of each batch for one database and key; cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Preparer {
    #[cfg(feature = "postgres")]
    sealer: Option<Arc<Sealer>>,
}

impl std::fmt::Debug for Preparer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Preparer(..)")
    }
}

impl Preparer {
    /// What the store at `url` opened with `sealing` needs of each event.
    pub(crate) fn new(url: &DatabaseUrl, sealing: &Sealing) -> Self {
        match url {
            #[cfg(feature = "postgres")]
            DatabaseUrl::Postgres(_) => Self {
                sealer: Some(Arc::new(Sealer::of(sealing))),
            },
            _ => {
                let _ = sealing;
                Self::default()
            }
        }
    }

    #[cfg(feature = "postgres")]
    pub(super) fn with(sealer: &Sealer) -> Self {
        Self {
            sealer: Some(Arc::new(sealer.clone())),
        }
    }

    /// The preparation of one batch.
    pub(crate) fn start(&self) -> Preparing {
        Preparing {
            #[cfg(feature = "postgres")]
            sealer: self.sealer.clone(),
            prepared: Prepared::default(),
            #[cfg(feature = "postgres")]
            installs: HashMap::new(),
            #[cfg(feature = "postgres")]
            groups: HashMap::new(),
            #[cfg(feature = "postgres")]
            nonces: None,
        }
    }
}

/// One batch being prepared, an event at a time, in the batch's order.
pub(crate) struct Preparing {
    #[cfg(feature = "postgres")]
    sealer: Option<Arc<Sealer>>,
    prepared: Prepared,
    /// Install ids hashed in this batch (a batch comes from one installation, or a few).
    #[cfg(feature = "postgres")]
    installs: HashMap<String, RowKey>,
    /// The groups sealed in this batch, by key: a day's counts repeat values.
    #[cfg(feature = "postgres")]
    groups: HashMap<RowKey, Arc<SealedGroup>>,
    #[cfg(feature = "postgres")]
    nonces: Option<Nonces>,
}

/// Nonces drawn from the operating system at a time.
#[cfg(feature = "postgres")]
const NONCES_AT_ONCE: usize = 128;

impl Preparing {
    /// Prepares the batch's next event; returns the bytes that added in memory.
    pub(crate) fn add(&mut self, event: &StoredEvent) -> Result<usize, StoreError> {
        #[cfg(feature = "postgres")]
        if let Some(sealer) = &self.sealer {
            return self.seal(&Arc::clone(sealer), event);
        }
        let _ = event;
        Ok(0)
    }

    /// What was prepared.
    pub(crate) fn finish(self) -> Prepared {
        self.prepared
    }

    #[cfg(feature = "postgres")]
    fn seal(&mut self, sealer: &Sealer, event: &StoredEvent) -> Result<usize, StoreError> {
        let nonces = match &mut self.nonces {
            Some(nonces) => nonces,
            None => self.nonces.insert(Nonces::new(NONCES_AT_ONCE)?),
        };
        let rows = self.prepared.rows.get_or_insert_with(|| Rows {
            key_check: sealer.check().into(),
            rows: Vec::new(),
            groups: Vec::new(),
        });
        let id = sealer.index(&event.event_id);
        let install = match event.install_id.as_deref() {
            None => None,
            Some(install) => Some(match self.installs.get(install) {
                Some(key) => *key,
                None => {
                    let key = sealer.index(install);
                    self.installs.insert(install.to_owned(), key);
                    key
                }
            }),
        };
        // Anything not kept whole is folded, as the write has it.
        if event.storage == Storage::Events {
            let sealed = sealer.seal_event(&id, event, nonces)?;
            let bytes = sealed.capacity();
            rows.rows.push(Row::Whole {
                id,
                install,
                sealed,
            });
            return Ok(bytes + std::mem::size_of::<Row>());
        }
        let content = GroupRef::of(event);
        let key = sealer.group_key(&content);
        let (group, bytes) = match self.groups.get(&key) {
            Some(group) => (Arc::clone(group), 0),
            None => {
                let sealed = sealer.seal_group(&key, &content, nonces)?;
                let bytes = sealed.capacity() + ROW_KEY_BYTES;
                let group = Arc::new(SealedGroup { key, sealed });
                rows.groups.push(Arc::clone(&group));
                self.groups.insert(key, Arc::clone(&group));
                (group, bytes)
            }
        };
        rows.rows.push(Row::Folded {
            id,
            day: day_start(event.time_us),
            group,
            install,
        });
        Ok(bytes + std::mem::size_of::<Row>())
    }
}

#[cfg(feature = "postgres")]
const ROW_KEY_BYTES: usize = 32;

/// What was prepared of a batch's events, in their order; nothing until a store prepared it.
#[derive(Clone, Default)]
pub(crate) struct Prepared {
    #[cfg(feature = "postgres")]
    pub(super) rows: Option<Rows>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Prepared(..)")
    }
}

impl Prepared {
    /// The bytes it holds in memory.
    pub(crate) fn memory_bytes(&self) -> usize {
        #[cfg(feature = "postgres")]
        if let Some(rows) = &self.rows {
            return rows.rows.len() * std::mem::size_of::<Row>()
                + rows
                    .rows
                    .iter()
                    .map(|row| match row {
                        Row::Whole { sealed, .. } => sealed.capacity(),
                        Row::Folded { .. } => 0,
                    })
                    .sum::<usize>()
                + rows
                    .groups
                    .iter()
                    .map(|g| g.sealed.capacity() + ROW_KEY_BYTES)
                    .sum::<usize>();
        }
        0
    }
}

/// The PostgreSQL rows of a batch's events, one per event in the batch's order, with the key
/// they were made with.
#[cfg(feature = "postgres")]
#[derive(Clone)]
pub(super) struct Rows {
    /// The key check value of the key that made them: a batch prepared with another key is
    /// prepared again by the store.
    pub(super) key_check: Arc<str>,
    pub(super) rows: Vec<Row>,
    /// The day groups the folded rows name, each sealed once.
    pub(super) groups: Vec<Arc<SealedGroup>>,
}

/// What PostgreSQL stores of one event.
#[cfg(feature = "postgres")]
#[derive(Clone)]
pub(super) enum Row {
    /// An event kept whole: its id's and install id's keyed hashes, its content sealed.
    Whole {
        id: RowKey,
        install: Option<RowKey>,
        sealed: Vec<u8>,
    },
    /// An event folded into its day's group (one of [`Rows::groups`]).
    Folded {
        id: RowKey,
        day: i64,
        group: Arc<SealedGroup>,
        install: Option<RowKey>,
    },
}

/// A day's group as stored: named by its keyed hash, its content sealed.
#[cfg(feature = "postgres")]
#[derive(Clone)]
pub(super) struct SealedGroup {
    pub(super) key: RowKey,
    pub(super) sealed: Vec<u8>,
}

#[cfg(feature = "postgres")]
impl Rows {
    /// The rows of `events` as `sealer` makes them: `prepared`'s when they were made for
    /// these events with this key, else made now.
    pub(super) fn of<'p>(
        prepared: &'p Prepared,
        events: &[StoredEvent],
        sealer: &Sealer,
        made: &'p mut Option<Rows>,
    ) -> Result<&'p Rows, StoreError> {
        if let Some(rows) = &prepared.rows
            && rows.rows.len() == events.len()
            && *rows.key_check == *sealer.check()
            && rows.rows.iter().zip(events).all(|(row, event)| {
                matches!(
                    (row, event.storage == Storage::Events),
                    (Row::Whole { .. }, true) | (Row::Folded { .. }, false)
                )
            })
        {
            return Ok(rows);
        }
        let mut preparing = Preparer::with(sealer).start();
        for event in events {
            preparing.add(event)?;
        }
        let rows = preparing.finish().rows.unwrap_or_else(|| Rows {
            key_check: sealer.check().into(),
            rows: Vec::new(),
            groups: Vec::new(),
        });
        Ok(made.insert(rows))
    }
}

#[cfg(test)]
#[cfg(feature = "postgres")]
mod tests {
    use super::*;
    use crate::store::StoreKey;

    fn event(id: &str, storage: Storage) -> StoredEvent {
        StoredEvent {
            event_id: id.to_owned(),
            time_us: 1_000_000,
            product: "p".to_owned(),
            product_version: "1.0".to_owned(),
            runtime_line: "core".to_owned(),
            catalogue_revision: "r".to_owned(),
            install_id: Some("install".to_owned()),
            point: "x".to_owned(),
            kind: "count",
            value: "3".to_owned(),
            storage,
        }
    }

    fn sealer(digit: &str) -> Sealer {
        Sealer::new(&StoreKey::from_hex(&digit.repeat(64)).unwrap())
    }

    /// Rows prepared by the checking threads are the store's only when they were made for
    /// these events with the store's key: rows of another key, or of other events, are made
    /// again, so nothing is ever stored under a key that does not open it.
    #[test]
    fn prepared_rows_are_used_only_for_their_events_and_key() {
        let events = vec![
            event("a", Storage::Events),
            event("b", Storage::Aggregates),
            event("c", Storage::Aggregates),
        ];
        let (one, other) = (sealer("1"), sealer("2"));
        let mut preparing = Preparer::with(&one).start();
        for e in &events {
            preparing.add(e).unwrap();
        }
        let prepared = preparing.finish();
        assert!(prepared.memory_bytes() > 0);
        let Some(rows) = &prepared.rows else {
            panic!("prepared")
        };
        // Two aggregated events of one content: one group, sealed once.
        assert_eq!((rows.rows.len(), rows.groups.len()), (3, 1));

        let mut made = None;
        let used = Rows::of(&prepared, &events, &one, &mut made).unwrap();
        assert!(std::ptr::eq(used, rows) && made.is_none());

        let mut made = None;
        let again = Rows::of(&prepared, &events, &other, &mut made).unwrap();
        assert_eq!(&*again.key_check, other.check());
        let Row::Whole { id, sealed, .. } = &again.rows[0] else {
            panic!("kept whole")
        };
        assert_eq!(*id, other.index("a"));
        assert_eq!(other.open(id, sealed).unwrap().event_id, "a");

        let mut made = None;
        let fewer = Rows::of(&prepared, &events[..2], &one, &mut made).unwrap();
        assert_eq!(fewer.rows.len(), 2);
        assert!(made.is_some());

        let mut changed = events.clone();
        changed[0].storage = Storage::Aggregates;
        let mut made = None;
        let refolded = Rows::of(&prepared, &changed, &one, &mut made).unwrap();
        assert!(matches!(refolded.rows[0], Row::Folded { .. }));
    }
}
