//! The retention promise: each product's `[retention] days`, enforced by deleting what was
//! recorded before the cut. `candor serve` purges periodically; `candor purge` on demand.

use std::time::{Duration, SystemTime};

use crate::store::{Store, StoreError};
use crate::validate::{Accepted, micros};
use crate::writer::QueueError;

/// What one product's purge did.
#[derive(Debug, Clone)]
pub struct Purged {
    /// Product id.
    pub product: String,
    /// The retention applied, in days.
    pub days: u32,
    /// Events removed, or why the purge failed.
    pub removed: Result<u64, QueueError>,
}

/// For each product that promises a retention: (product, days, cut in µs). Products that state
/// no limit are not purged.
pub fn cutoffs(accepted: &Accepted, as_of: SystemTime) -> Vec<(String, u32, i64)> {
    accepted
        .products()
        .filter_map(|product| {
            let days = accepted.retention_days(product)?;
            let cut = as_of
                .checked_sub(Duration::from_secs(u64::from(days) * 86_400))
                .map_or(i64::MIN, micros);
            Some((product.to_owned(), days, cut))
        })
        .collect()
}

/// Purges every product past its retention as of `as_of`, on this connection.
pub fn purge(
    store: &mut dyn Store,
    accepted: &Accepted,
    as_of: SystemTime,
) -> Result<Vec<Purged>, StoreError> {
    let mut out = Vec::new();
    for (product, days, cut) in cutoffs(accepted, as_of) {
        let removed = store.purge(&product, cut)?;
        out.push(Purged {
            product,
            days,
            removed: Ok(removed),
        });
    }
    Ok(out)
}
