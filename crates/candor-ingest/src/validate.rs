//! The check on arrival: every event against the catalogue revision it names. The check
//! itself is `candor-check`'s, the one a sending machine runs again on what it spooled; this
//! module keeps the revisions a server accepts and turns an admitted event into the row it
//! stores.

use std::collections::BTreeMap;
use std::time::SystemTime;

use candor_check::check_event;
pub use candor_check::{MAX_AGE_WITHOUT_RETENTION_DAYS, MAX_CLOCK_AHEAD, Reason, Refusal};
pub(crate) use candor_check::{micros, shown, shown_up_to};
use candor_privacy::Scrubber;
use candor_schema::{Catalogue, Event, Storage};

use crate::store::StoredEvent;

/// The catalogues a server accepts: for each product, every revision it holds.
#[derive(Debug, Clone)]
pub struct Accepted {
    products: BTreeMap<String, Vec<Catalogue>>,
    scrubber: Scrubber,
    /// Every product kept as aggregates, whatever its catalogue says (`serve --storage`).
    aggregate_all: bool,
}

impl Accepted {
    /// From catalogues; several revisions of one product may be given, each is accepted.
    pub fn new(catalogues: impl IntoIterator<Item = Catalogue>) -> Self {
        let mut products: BTreeMap<String, Vec<Catalogue>> = BTreeMap::new();
        for catalogue in catalogues {
            let revisions = products
                .entry(catalogue.product_id().to_owned())
                .or_default();
            if !revisions
                .iter()
                .any(|c| c.spec().revision == catalogue.spec().revision)
            {
                revisions.push(catalogue);
            }
        }
        Self {
            products,
            // The server's own user and host names are no evidence of anything in a client's
            // text: the detector runs without machine literals.
            scrubber: Scrubber::default(),
            aggregate_all: false,
        }
    }

    /// Keeps every product as per-day aggregates ([`Storage::Aggregates`]), whatever its
    /// catalogue declares; `Storage::Events` leaves each catalogue's choice. A server may
    /// keep less than a catalogue allows, never more.
    #[must_use]
    pub fn with_storage(mut self, storage: Storage) -> Self {
        self.aggregate_all = storage == Storage::Aggregates;
        self
    }

    /// What is kept of a product's events: aggregates when the server says so or any accepted
    /// revision declares it (each revision's promise holds), else the events.
    pub fn storage(&self, product: &str) -> Storage {
        let declared = self.products.get(product).is_some_and(|revisions| {
            revisions
                .iter()
                .any(|c| c.spec().retention.storage == Storage::Aggregates)
        });
        if self.aggregate_all || declared {
            Storage::Aggregates
        } else {
            Storage::Events
        }
    }

    /// The built-in catalogues: every earlier revision Candor shipped, then the current one (the
    /// newest, which reports use for names and kinds).
    pub fn builtin() -> Result<Self, &'static candor_schema::CatalogueError> {
        let set = candor_schema::builtin::catalogues()?;
        let previous = candor_schema::builtin::previous_revisions()?;
        Ok(Self::new(previous.iter().chain(set.iter()).cloned()))
    }

    /// The products, in order.
    pub fn products(&self) -> impl Iterator<Item = &str> {
        self.products.keys().map(String::as_str)
    }

    /// A product's newest loaded revision (the last given), for names and kinds in reports.
    pub fn catalogue(&self, product: &str) -> Option<&Catalogue> {
        self.products.get(product).and_then(|r| r.last())
    }

    /// The retention a product promises, in days: the shortest any accepted revision declares,
    /// so that no revision's promise is broken.
    pub fn retention_days(&self, product: &str) -> Option<u32> {
        self.products
            .get(product)?
            .iter()
            .filter_map(|c| c.spec().retention.days)
            .min()
    }

    /// The smallest group a report of `product` shows by name: the largest any of its
    /// revisions declares (each revision's promise holds), [`candor_schema::DEFAULT_MIN_GROUP`]
    /// for an unknown product.
    pub fn min_group(&self, product: &str) -> u64 {
        self.products
            .get(product)
            .and_then(|revisions| revisions.iter().map(|c| c.spec().retention.min_group).max())
            .map_or(u64::from(candor_schema::DEFAULT_MIN_GROUP), u64::from)
            .max(1)
    }

    /// Checks one event against the revision it names ([`candor_check::check_event`], the
    /// check the sending machine runs on what it spooled); on success, the row to store.
    pub fn check(&self, event: Event, now: SystemTime) -> Result<StoredEvent, Refusal> {
        let revisions = self.products.get(event.product()).ok_or_else(|| {
            Refusal::new(
                Reason::UnknownProduct,
                format!("no catalogue for product `{}`", shown(event.product())),
            )
        })?;
        let with_product = |mut r: Refusal| {
            r.product = Some(event.product().to_owned());
            r
        };
        let catalogue = revisions
            .iter()
            .find(|c| c.spec().revision == event.catalogue_revision())
            .ok_or_else(|| {
                with_product(Refusal::new(
                    Reason::UnknownRevision,
                    format!(
                        "catalogue revision `{}` is not accepted",
                        shown(event.catalogue_revision())
                    ),
                ))
            })?;
        check_event(catalogue, &event, now, &self.scrubber).map_err(with_product)?;
        let storage = self.storage(event.product());
        let event = event.into_parts();
        // Serialising a checked value cannot fail (string keys, finite numbers).
        let value = serde_json::to_string(&event.value.data()).unwrap_or_else(|_| "null".into());
        Ok(StoredEvent {
            storage,
            kind: event.value.kind_name(),
            value,
            event_id: event.event_id,
            time_us: event.time.unix_micros(),
            product: event.product,
            product_version: event.product_version,
            runtime_line: event.runtime_line,
            catalogue_revision: event.catalogue_revision,
            install_id: event.install_id,
            point: event.point,
        })
    }
}
