//! What Candor's own command line needs of the runtime besides what a host uses: replaying a
//! spool, discarding one, and the preparer a preview runs. Each works on Candor's folder
//! through `candor-state`, by path: nothing here hands out the folder itself or its keys.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use candor_collect::Preparer;
use candor_schema::Catalogue;
use candor_state::StateDir;

pub use crate::builder::Replayed;
use crate::{BuildError, Builder};

/// Delivers what earlier runs left in the builder's product's spool, through the same sink,
/// spool, caps and receipts a built [`crate::Telemetry`] uses, within `deadline`. Consent is
/// decided first, exactly as [`Builder::build`] decides it: unless the decision allows
/// sending now, nothing is sent and the spool is left as it is (or, when the network block
/// holds, discarded). While it sends, consent is followed as a running product follows it,
/// and nothing recorded before the user last withdrew it is sent. No version is needed.
pub fn replay(builder: Builder, deadline: Duration) -> Result<Replayed, BuildError> {
    builder.replay(deadline)
}

/// Discards what waits in `product`'s spool in Candor's folder `state`, and returns how many
/// events it held: what a revocation does to pending data when no host is running (`candor
/// consent <product> off`). The same removal a running [`crate::Telemetry`] makes when its
/// consent is revoked, under the same locks: it waits (up to 30 s) for a write or a delivery
/// in progress in any process, so when it returns nothing that was waiting is still being
/// sent. A spool that does not exist holds nothing and is not created.
pub fn discard_spooled(state: &Path, product: &str) -> Result<u64, BuildError> {
    crate::builder::discard_spooled(&StateDir::new(state), product)
}

/// The preparer for a product as this installation runs it: the machine's scrubber and the
/// hashing key (`key` if given, else the installation's key that Candor's folder `state`
/// keeps, created on first use; with neither, keyed points are refused and say so). A preview
/// built on it hashes exactly as the wire does.
pub fn product_preparer(
    catalogue: Arc<Catalogue>,
    runtime: Option<&str>,
    version: &str,
    state: Option<&Path>,
    key: Option<&[u8]>,
) -> Result<Preparer, BuildError> {
    let state = state.map(StateDir::new);
    crate::builder::product_preparer(catalogue, runtime, version, state.as_ref(), key)
}
