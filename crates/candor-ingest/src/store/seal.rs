//! What PostgreSQL is given of an event: its content sealed with XChaCha20-Poly1305 (random
//! 192-bit nonces, which never repeat in practice), and keyed hashes (HMAC-SHA256) where the
//! database must match values without reading them: the event id (exactly once) and the
//! install id (counting installations, deleting one's data). The sealed content is bound to
//! its row's hashed id (associated data), so it cannot be moved to another row unnoticed.

use chacha20poly1305::aead::{Aead, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::key::{StoreKey, hex};
use super::{StoreError, StoredEvent};

const NONCE: usize = 24;

/// One key's sealing and hashing.
#[derive(Clone)]
pub(super) struct Sealer {
    aead: XChaCha20Poly1305,
    index: hmac::Hmac<Sha256>,
    check: String,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

/// An event's content as sealed: everything but the product and the time, which partition
/// and purge the table.
#[derive(Serialize, Deserialize)]
pub(super) struct Content {
    pub(super) event_id: String,
    pub(super) product_version: String,
    pub(super) runtime_line: String,
    pub(super) catalogue_revision: String,
    pub(super) install_id: Option<String>,
    pub(super) point: String,
    pub(super) kind: String,
    pub(super) value: String,
}

/// What a day's aggregate row of PostgreSQL holds sealed: the group its events share. The
/// install id is kept (sealed) so that a rotation can hash it again with the new key.
#[derive(Serialize, Deserialize)]
pub(super) struct Group {
    pub(super) point: String,
    pub(super) product_version: String,
    pub(super) kind: String,
    pub(super) value: String,
    pub(super) install_id: Option<String>,
}

impl Group {
    pub(super) fn of(event: &StoredEvent) -> Self {
        Self {
            point: event.point.clone(),
            product_version: event.product_version.clone(),
            kind: event.kind.to_owned(),
            value: event.value.clone(),
            install_id: event.install_id.clone(),
        }
    }
}

impl Sealer {
    pub(super) fn new(key: &StoreKey) -> Self {
        let aead = XChaCha20Poly1305::new(&key.derive("candor postgres seal v1").into());
        let index = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(
            &key.derive("candor postgres index v1"),
        )
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        Self {
            aead,
            index,
            check: key.check_value(),
        }
    }

    /// The key check value stored in the database.
    pub(super) fn check(&self) -> &str {
        &self.check
    }

    /// The keyed hash that stands for `text` (an event id, an install id), in hex.
    pub(super) fn index(&self, text: &str) -> String {
        let mut mac = self.index.clone();
        mac.update(text.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// The sealed content of `event`, bound to its hashed id `row`.
    pub(super) fn seal(&self, row: &str, event: &StoredEvent) -> Result<Vec<u8>, StoreError> {
        let content = Content {
            event_id: event.event_id.clone(),
            product_version: event.product_version.clone(),
            runtime_line: event.runtime_line.clone(),
            catalogue_revision: event.catalogue_revision.clone(),
            install_id: event.install_id.clone(),
            point: event.point.clone(),
            kind: event.kind.to_owned(),
            value: event.value.clone(),
        };
        self.seal_content(row, &content)
    }

    pub(super) fn seal_content(&self, row: &str, content: &Content) -> Result<Vec<u8>, StoreError> {
        self.seal_json(row, content)
    }

    /// A day's group of aggregated events, sealed and bound to its keyed hash `row`.
    pub(super) fn seal_group(&self, row: &str, group: &Group) -> Result<Vec<u8>, StoreError> {
        self.seal_json(row, group)
    }

    /// The keyed hash that names a day's group: equal for equal content, so the database
    /// adds an event to its group without reading it.
    pub(super) fn group_key(&self, group: &Group) -> String {
        let mut mac = self.index.clone();
        for part in [
            group.point.as_str(),
            group.product_version.as_str(),
            group.kind.as_str(),
            group.value.as_str(),
            group.install_id.as_deref().unwrap_or(""),
        ] {
            // Length-prefixed, so no two different groups hash the same text.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac.update(&[u8::from(group.install_id.is_some())]);
        hex(&mac.finalize().into_bytes())
    }

    /// The group of a sealed aggregate row.
    pub(super) fn open_group(&self, row: &str, sealed: &[u8]) -> Result<Group, StoreError> {
        self.open_json(row, sealed)
    }

    fn seal_json<T: Serialize>(&self, row: &str, content: &T) -> Result<Vec<u8>, StoreError> {
        let plain = serde_json::to_vec(content)
            .map_err(|e| StoreError::Database(format!("cannot seal an event: {e}")))?;
        let mut nonce = [0u8; NONCE];
        getrandom::fill(&mut nonce)
            .map_err(|e| StoreError::Database(format!("no random nonce: {e}")))?;
        let sealed = self
            .aead
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: row.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Database("cannot seal an event".to_owned()))?;
        let mut out = Vec::with_capacity(NONCE + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The content of a sealed row; an error when the key or the row is not the one sealed.
    pub(super) fn open(&self, row: &str, sealed: &[u8]) -> Result<Content, StoreError> {
        self.open_json(row, sealed)
    }

    fn open_json<T: serde::de::DeserializeOwned>(
        &self,
        row: &str,
        sealed: &[u8],
    ) -> Result<T, StoreError> {
        let refused = || {
            StoreError::Key(
                "a stored event does not open with the store key (altered, or sealed with \
                 another key)"
                    .to_owned(),
            )
        };
        if sealed.len() < NONCE {
            return Err(refused());
        }
        let (nonce, body) = sealed.split_at(NONCE);
        let plain = self
            .aead
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: row.as_bytes(),
                },
            )
            .map_err(|_| refused())?;
        serde_json::from_slice(&plain).map_err(|_| refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> StoredEvent {
        StoredEvent {
            event_id: "e1".to_owned(),
            time_us: 1,
            product: "p".to_owned(),
            product_version: "1.0".to_owned(),
            runtime_line: "core".to_owned(),
            catalogue_revision: "r".to_owned(),
            install_id: Some("install-1".to_owned()),
            point: "x".to_owned(),
            kind: "text",
            value: "\"planted-marker\"".to_owned(),
            storage: crate::store::Storage::Events,
        }
    }

    #[test]
    fn sealed_rows_open_only_with_their_key_and_row() {
        let a = Sealer::new(&StoreKey::from_hex(&"a1".repeat(32)).unwrap());
        let b = Sealer::new(&StoreKey::from_hex(&"b2".repeat(32)).unwrap());
        let row = a.index("e1");
        assert_eq!(row.len(), 64);
        assert_ne!(row, b.index("e1"));
        let sealed = a.seal(&row, &event()).unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"marker"));
        assert_eq!(a.open(&row, &sealed).unwrap().value, "\"planted-marker\"");
        assert!(matches!(b.open(&row, &sealed), Err(StoreError::Key(_))));
        assert!(a.open(&a.index("e2"), &sealed).is_err());
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(a.open(&row, &altered).is_err());
        assert!(a.open(&row, &sealed[..10]).is_err());
        // Two seals of one event differ (fresh nonces).
        assert_ne!(sealed, a.seal(&row, &event()).unwrap());
    }
}
