//! What PostgreSQL is given of an event: its content sealed with XChaCha20-Poly1305 (random
//! 192-bit nonces, which never repeat in practice; HChaCha20 from RustCrypto's `chacha20`
//! derives each nonce's key, and aws-lc's ChaCha20-Poly1305 seals with it), and keyed hashes (HMAC-SHA256, stored as
//! their 32 bytes) where the database must match values without reading them: the event id
//! (exactly once) and the install id (counting installations, deleting one's data). The sealed
//! content is bound to its row's hashed id (associated data: the hash in hex, as the layout
//! before `bytea` keys stored it, so rows sealed then open unchanged), so it cannot be moved
//! to another row unnoticed.

use aws_lc_rs::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::key::{Sealing, StoreKey};
use super::{StoreError, StoredEvent};

const NONCE: usize = 24;

/// The cipher refused to seal (it does only for contents of hundreds of gigabytes).
#[derive(Debug, thiserror::Error)]
#[error("the cipher refused it")]
struct CipherRefused;

/// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha): HChaCha20 of the key and the nonce's first
/// 16 bytes is the key of an IETF ChaCha20-Poly1305 whose nonce is four zero bytes and the
/// nonce's last 8. The same bytes as RustCrypto's `XChaCha20Poly1305` (a test holds the two
/// equal), in a quarter of its time on rows of a few hundred bytes: aws-lc's ChaCha20-Poly1305
/// (already in the tree under rustls) has no per-message setup to speak of, where RustCrypto's
/// vectorised Poly1305 spends most of a short row's time setting up and finishing.
#[derive(Clone)]
struct XChaCha {
    key: [u8; 32],
}

impl XChaCha {
    /// The ChaCha20-Poly1305 key and nonce that `nonce` stands for.
    fn for_nonce(&self, nonce: &[u8; NONCE]) -> Result<(LessSafeKey, Nonce), CipherRefused> {
        let (prefix, suffix) = nonce.split_at(16);
        let subkey =
            chacha20::hchacha::<chacha20::cipher::consts::U10>((&self.key).into(), prefix.into());
        let key = UnboundKey::new(&CHACHA20_POLY1305, &subkey).map_err(|_| CipherRefused)?;
        let mut short = [0u8; 12];
        short[4..].copy_from_slice(suffix);
        Ok((LessSafeKey::new(key), Nonce::assume_unique_for_key(short)))
    }

    /// Encrypts `data` where it lies; returns the tag.
    fn seal(
        &self,
        nonce: &[u8; NONCE],
        aad: &[u8],
        data: &mut [u8],
    ) -> Result<[u8; 16], CipherRefused> {
        let (key, nonce) = self.for_nonce(nonce)?;
        let tag = key
            .seal_in_place_separate_tag(nonce, Aad::from(aad), data)
            .map_err(|_| CipherRefused)?;
        let mut out = [0u8; 16];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Decrypts `ciphertext ‖ tag` where it lies; the plaintext, or an error when the tag
    /// does not hold (another key, another row, altered bytes).
    fn open<'d>(
        &self,
        nonce: &[u8; NONCE],
        aad: &[u8],
        data: &'d mut [u8],
    ) -> Result<&'d mut [u8], CipherRefused> {
        let (key, nonce) = self.for_nonce(nonce)?;
        key.open_in_place(nonce, Aad::from(aad), data)
            .map_err(|_| CipherRefused)
    }
}

/// A keyed hash as a row holds it: an event id's, an install id's, a day's group's.
pub(crate) type RowKey = [u8; 32];

/// One key's sealing and hashing.
#[derive(Clone)]
pub(crate) struct Sealer {
    aead: XChaCha,
    index: hmac::Hmac<Sha256>,
    check: String,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

/// An event's content as sealed: everything but the product and the time, which partition
/// and purge the table. Sealed as a JSON array of its fields in this order ([`ContentRef`]);
/// rows an earlier Candor sealed hold a JSON object of them, and open as well (serde reads a
/// struct from either form).
#[derive(Deserialize)]
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

/// [`Content`] as it is sealed, borrowed from the event (or from a [`Content`] being sealed
/// again), without copying its text first: its fields by position, in [`Content`]'s order, so
/// a row does not carry the names of its eight fields (a hundred bytes, a third of a typical
/// event's row, sealed, stored and written to the WAL for every event).
struct ContentRef<'a> {
    event_id: &'a str,
    product_version: &'a str,
    runtime_line: &'a str,
    catalogue_revision: &'a str,
    install_id: Option<&'a str>,
    point: &'a str,
    kind: &'a str,
    value: &'a str,
}

impl Serialize for ContentRef<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (
            self.event_id,
            self.product_version,
            self.runtime_line,
            self.catalogue_revision,
            self.install_id,
            self.point,
            self.kind,
            self.value,
        )
            .serialize(serializer)
    }
}

impl<'a> ContentRef<'a> {
    fn of(event: &'a StoredEvent) -> Self {
        Self {
            event_id: &event.event_id,
            product_version: &event.product_version,
            runtime_line: &event.runtime_line,
            catalogue_revision: &event.catalogue_revision,
            install_id: event.install_id.as_deref(),
            point: &event.point,
            kind: event.kind,
            value: &event.value,
        }
    }

    fn from_content(content: &'a Content) -> Self {
        Self {
            event_id: &content.event_id,
            product_version: &content.product_version,
            runtime_line: &content.runtime_line,
            catalogue_revision: &content.catalogue_revision,
            install_id: content.install_id.as_deref(),
            point: &content.point,
            kind: &content.kind,
            value: &content.value,
        }
    }
}

/// Fresh nonces for a series of seals, drawn from the operating system in one call rather
/// than one call per event.
pub(super) struct Nonces {
    pool: Vec<u8>,
    used: usize,
}

impl Nonces {
    /// Room for `count` nonces (more are drawn when they run out).
    pub(super) fn new(count: usize) -> Result<Self, StoreError> {
        let mut nonces = Self {
            pool: vec![0; count.max(1) * NONCE],
            used: 0,
        };
        nonces.refill()?;
        Ok(nonces)
    }

    fn refill(&mut self) -> Result<(), StoreError> {
        getrandom::fill(&mut self.pool).map_err(StoreError::Random)?;
        self.used = 0;
        Ok(())
    }

    fn next(&mut self) -> Result<[u8; NONCE], StoreError> {
        if self.used + NONCE > self.pool.len() {
            self.refill()?;
        }
        let mut nonce = [0u8; NONCE];
        nonce.copy_from_slice(&self.pool[self.used..self.used + NONCE]);
        // Each nonce is used once: the pool's bytes are overwritten as they are handed out.
        self.pool[self.used..self.used + NONCE].fill(0);
        self.used += NONCE;
        Ok(nonce)
    }
}

/// What a day's aggregate row of PostgreSQL holds sealed: the group its events share. The
/// install id is kept (sealed) so that a rotation can hash it again with the new key. Sealed
/// by position, as [`Content`] is ([`GroupRef`]); an earlier Candor's object form opens too.
#[derive(Deserialize)]
pub(super) struct Group {
    pub(super) point: String,
    pub(super) product_version: String,
    pub(super) kind: String,
    pub(super) value: String,
    pub(super) install_id: Option<String>,
}

/// [`Group`] borrowed: from an event as it is folded, or from a group as it is re-sealed.
/// Sealed as a JSON array of its fields in [`Group`]'s order.
pub(super) struct GroupRef<'a> {
    point: &'a str,
    product_version: &'a str,
    kind: &'a str,
    value: &'a str,
    install_id: Option<&'a str>,
}

impl Serialize for GroupRef<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (
            self.point,
            self.product_version,
            self.kind,
            self.value,
            self.install_id,
        )
            .serialize(serializer)
    }
}

impl<'a> GroupRef<'a> {
    pub(super) fn of(event: &'a StoredEvent) -> Self {
        Self {
            point: &event.point,
            product_version: &event.product_version,
            kind: event.kind,
            value: &event.value,
            install_id: event.install_id.as_deref(),
        }
    }
}

impl Group {
    pub(super) fn borrowed(&self) -> GroupRef<'_> {
        GroupRef {
            point: &self.point,
            product_version: &self.product_version,
            kind: &self.kind,
            value: &self.value,
            install_id: self.install_id.as_deref(),
        }
    }
}

/// The associated data that binds a sealed row to its key: the key in hex.
fn bound_to(row: &RowKey) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, b) in row.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
    }
    out
}

impl Sealer {
    /// The sealer `sealing` names: its key's, or the public key's for an unencrypted store.
    pub(crate) fn of(sealing: &Sealing) -> Self {
        match sealing {
            Sealing::Key(key) => Self::new(key),
            Sealing::Unencrypted => Self::new(&StoreKey::public()),
        }
    }

    pub(super) fn new(key: &StoreKey) -> Self {
        let aead = XChaCha {
            key: key.derive("candor postgres seal v1"),
        };
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

    /// The keyed hash that stands for `text` (an event id, an install id).
    pub(super) fn index(&self, text: &str) -> RowKey {
        let mut mac = self.index.clone();
        mac.update(text.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The sealed content of `event`, bound to its hashed id `row`.
    #[cfg(test)]
    pub(super) fn seal(&self, row: &RowKey, event: &StoredEvent) -> Result<Vec<u8>, StoreError> {
        self.seal_event(row, event, &mut Nonces::new(1)?)
    }

    /// The sealed content of `event`, bound to its hashed id `row`, with a nonce of `nonces`.
    pub(super) fn seal_event(
        &self,
        row: &RowKey,
        event: &StoredEvent,
        nonces: &mut Nonces,
    ) -> Result<Vec<u8>, StoreError> {
        self.seal_with(row, &ContentRef::of(event), nonces.next()?)
    }

    pub(super) fn seal_content(
        &self,
        row: &RowKey,
        content: &Content,
    ) -> Result<Vec<u8>, StoreError> {
        self.seal_json(row, &ContentRef::from_content(content))
    }

    /// A day's group of aggregated events, sealed and bound to its keyed hash `row`, with a
    /// nonce of `nonces`.
    pub(super) fn seal_group(
        &self,
        row: &RowKey,
        group: &GroupRef<'_>,
        nonces: &mut Nonces,
    ) -> Result<Vec<u8>, StoreError> {
        self.seal_with(row, group, nonces.next()?)
    }

    /// The keyed hash that names a day's group: equal for equal content, so the database
    /// adds an event to its group without reading it.
    pub(super) fn group_key(&self, group: &GroupRef<'_>) -> RowKey {
        let mut mac = self.index.clone();
        for part in [
            group.point,
            group.product_version,
            group.kind,
            group.value,
            group.install_id.unwrap_or(""),
        ] {
            // Length-prefixed, so no two different groups hash the same text.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac.update(&[u8::from(group.install_id.is_some())]);
        mac.finalize().into_bytes().into()
    }

    /// The group of a sealed aggregate row.
    pub(super) fn open_group(&self, row: &RowKey, sealed: &[u8]) -> Result<Group, StoreError> {
        self.open_json(row, sealed)
    }

    fn seal_json<T: Serialize>(&self, row: &RowKey, content: &T) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE];
        getrandom::fill(&mut nonce).map_err(StoreError::Random)?;
        self.seal_with(row, content, nonce)
    }

    /// `nonce ‖ ciphertext ‖ tag`, written into one buffer: the JSON after the nonce, then
    /// encrypted where it lies.
    fn seal_with<T: Serialize>(
        &self,
        row: &RowKey,
        content: &T,
        nonce: [u8; NONCE],
    ) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::with_capacity(NONCE + 256);
        out.extend_from_slice(&nonce);
        serde_json::to_writer(&mut out, content).map_err(|e| StoreError::Seal(Box::new(e)))?;
        let tag = self
            .aead
            .seal(&nonce, &bound_to(row), &mut out[NONCE..])
            .map_err(|e| StoreError::Seal(Box::new(e)))?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// The content of a sealed row; an error when the key or the row is not the one sealed.
    pub(super) fn open(&self, row: &RowKey, sealed: &[u8]) -> Result<Content, StoreError> {
        self.open_json(row, sealed)
    }

    fn open_json<T: serde::de::DeserializeOwned>(
        &self,
        row: &RowKey,
        sealed: &[u8],
    ) -> Result<T, StoreError> {
        let refused = || {
            StoreError::Key(
                "a stored event does not open with the store key (altered, or sealed with \
                 another key)"
                    .to_owned(),
            )
        };
        let Some((nonce, body)) = sealed.split_first_chunk::<NONCE>() else {
            return Err(refused());
        };
        let mut body = body.to_vec();
        let plain = self
            .aead
            .open(nonce, &bound_to(row), &mut body)
            .map_err(|_| refused())?;
        serde_json::from_slice(plain).map_err(|_| refused())
    }
}

#[cfg(test)]
mod tests {
    use super::super::key::hex;
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

    /// The seal is XChaCha20-Poly1305 to the byte: what RustCrypto's implementation (the one
    /// earlier rows were sealed with) seals, this opens, and the other way round, for contents
    /// of every length up to a few blocks, under varied keys, nonces and associated data.
    #[test]
    fn the_seal_is_rustcrypto_xchacha20_poly1305_to_the_byte() {
        use chacha20poly1305::aead::{AeadInPlace, KeyInit};
        use chacha20poly1305::{XChaCha20Poly1305, XNonce};
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut byte = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        };
        for length in 0..300 {
            let key: [u8; 32] = std::array::from_fn(|_| byte());
            let nonce: [u8; NONCE] = std::array::from_fn(|_| byte());
            let aad: Vec<u8> = (0..length % 70).map(|_| byte()).collect();
            let plain: Vec<u8> = (0..length).map(|_| byte()).collect();
            let ours = XChaCha { key };
            let reference = XChaCha20Poly1305::new(&key.into());

            let mut mine = plain.clone();
            let tag = ours.seal(&nonce, &aad, &mut mine).unwrap();
            let mut theirs = plain.clone();
            let their_tag = reference
                .encrypt_in_place_detached(XNonce::from_slice(&nonce), &aad, &mut theirs)
                .unwrap();
            assert_eq!(mine, theirs, "ciphertext of {length} bytes");
            assert_eq!(tag[..], their_tag[..], "tag of {length} bytes");

            let mut sealed = theirs.clone();
            sealed.extend_from_slice(&their_tag);
            assert_eq!(
                ours.open(&nonce, &aad, &mut sealed.clone()).unwrap(),
                &plain[..]
            );
            if length > 0 {
                let mut altered = sealed.clone();
                altered[length / 2] ^= 0x40;
                assert!(ours.open(&nonce, &aad, &mut altered).is_err());
            }
            let mut other_nonce = nonce;
            other_nonce[length % NONCE] ^= 1;
            assert!(ours.open(&other_nonce, &aad, &mut sealed.clone()).is_err());
            assert!(
                ours.open(&nonce, b"another row", &mut sealed.clone())
                    .is_err()
            );
        }
    }

    /// Rows are sealed by position; rows an earlier Candor sealed as JSON objects (with the
    /// fields' names) open to the same content.
    #[test]
    fn rows_sealed_with_field_names_before_open_as_rows_sealed_by_position() {
        let sealer = Sealer::new(&StoreKey::from_hex(&"c3".repeat(32)).unwrap());
        let row = sealer.index("e1");
        let event = event();
        let plain = |sealed: &[u8]| {
            let mut body = sealed[NONCE..].to_vec();
            let nonce: &[u8; NONCE] = sealed[..NONCE].try_into().unwrap();
            let plain = sealer.aead.open(nonce, &bound_to(&row), &mut body).unwrap();
            String::from_utf8(plain.to_vec()).unwrap()
        };

        let positional = sealer.seal(&row, &event).unwrap();
        assert_eq!(
            plain(&positional),
            r#"["e1","1.0","core","r","install-1","x","text","\"planted-marker\""]"#
        );
        let named = sealer
            .seal_json(
                &row,
                &serde_json::json!({
                    "event_id": "e1", "product_version": "1.0", "runtime_line": "core",
                    "catalogue_revision": "r", "install_id": "install-1", "point": "x",
                    "kind": "text", "value": "\"planted-marker\"",
                }),
            )
            .unwrap();
        assert!(plain(&named).starts_with('{'));
        assert!(plain(&named).contains(r#""product_version":"1.0""#));
        assert!(
            named.len() > positional.len() + 90,
            "{} {}",
            named.len(),
            positional.len()
        );
        for sealed in [&positional, &named] {
            let content = sealer.open(&row, sealed).unwrap();
            assert_eq!(
                (
                    content.event_id.as_str(),
                    content.product_version.as_str(),
                    content.runtime_line.as_str(),
                    content.catalogue_revision.as_str(),
                    content.install_id.as_deref(),
                    content.point.as_str(),
                    content.kind.as_str(),
                    content.value.as_str(),
                ),
                (
                    "e1",
                    "1.0",
                    "core",
                    "r",
                    Some("install-1"),
                    "x",
                    "text",
                    "\"planted-marker\""
                )
            );
        }

        let key = sealer.group_key(&GroupRef::of(&event));
        let positional = sealer
            .seal_group(&key, &GroupRef::of(&event), &mut Nonces::new(1).unwrap())
            .unwrap();
        let named = sealer
            .seal_json(
                &key,
                &serde_json::json!({
                    "point": "x", "product_version": "1.0", "kind": "text",
                    "value": "7", "install_id": null,
                }),
            )
            .unwrap();
        let group = sealer.open_group(&key, &positional).unwrap();
        assert_eq!(
            (
                group.point,
                group.product_version,
                group.kind,
                group.value,
                group.install_id
            ),
            (
                "x".to_owned(),
                "1.0".to_owned(),
                "text".to_owned(),
                "\"planted-marker\"".to_owned(),
                Some("install-1".to_owned())
            )
        );
        let group = sealer.open_group(&key, &named).unwrap();
        assert_eq!((group.value.as_str(), group.install_id), ("7", None));
    }

    #[test]
    fn sealed_rows_open_only_with_their_key_and_row() {
        let a = Sealer::new(&StoreKey::from_hex(&"a1".repeat(32)).unwrap());
        let b = Sealer::new(&StoreKey::from_hex(&"b2".repeat(32)).unwrap());
        let row = a.index("e1");
        // Bound to the key's hex, as rows were when keys were stored as text.
        assert_eq!(bound_to(&row), hex(&row).as_bytes());
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
        // A nonce and less than a tag after it; a nonce alone.
        assert!(a.open(&row, &sealed[..NONCE + 5]).is_err());
        assert!(a.open(&row, &sealed[..NONCE]).is_err());
        // Two seals of one event differ (fresh nonces), also from one pool of nonces.
        assert_ne!(sealed, a.seal(&row, &event()).unwrap());
        let mut nonces = Nonces::new(1).unwrap();
        let first = a.seal_event(&row, &event(), &mut nonces).unwrap();
        let second = a.seal_event(&row, &event(), &mut nonces).unwrap();
        assert_ne!(first[..NONCE], second[..NONCE]);
        assert_eq!(a.open(&row, &second).unwrap().event_id, "e1");
        // The borrowed form seals the same JSON as the owned one opens.
        let content = a.open(&row, &first).unwrap();
        let resealed = a.seal_content(&row, &content).unwrap();
        assert_eq!(
            a.open(&row, &resealed).unwrap().install_id.as_deref(),
            Some("install-1")
        );
    }

    /// A sealed content that opens but is not a row's shape (an array with too few or too many
    /// fields, a field of the wrong type, something else than an array or an object) is refused
    /// with the one-line key error, never taken in part or panicked on; values of every size
    /// (empty, 1 MiB, with every escape JSON has) round-trip by position.
    #[test]
    fn sealed_contents_of_another_shape_are_refused_in_one_line() {
        let sealer = Sealer::new(&StoreKey::from_hex(&"5d".repeat(32)).unwrap());
        let row = sealer.index("e1");
        let eight = ["e1", "1.0", "core", "r", "i", "x", "text", "v"];
        let shapes = [
            serde_json::json!([]),
            serde_json::json!(eight[..7]),
            serde_json::json!([&eight[..], &["extra"]].concat()),
            serde_json::json!(["e1", "1.0", "core", "r", "i", "x", "text", 7]),
            serde_json::json!(["e1", null, "core", "r", "i", "x", "text", "v"]),
            serde_json::json!(["e1", "1.0", "core", "r", 5, "x", "text", "v"]),
            serde_json::json!({"event_id": "e1"}),
            serde_json::json!("e1"),
            serde_json::json!(null),
            serde_json::json!([[eight]]),
        ];
        for shape in shapes {
            let sealed = sealer.seal_json(&row, &shape).unwrap();
            let Err(StoreError::Key(message)) = sealer.open(&row, &sealed) else {
                panic!("{shape} opened as an event");
            };
            assert_eq!(message.lines().count(), 1, "{message}");
            let Err(StoreError::Key(_)) = sealer.open_group(&row, &sealed) else {
                panic!("{shape} opened as a group");
            };
        }
        let mut event = event();
        for value in [
            String::new(),
            "v".repeat(1 << 20),
            "\"\\/\u{0}\u{1f}\u{7f}\u{2028}\u{1F600}é".to_owned(),
        ] {
            event.value.clone_from(&value);
            event.install_id = None;
            let sealed = sealer.seal(&row, &event).unwrap();
            let content = sealer.open(&row, &sealed).unwrap();
            assert_eq!((content.value, content.install_id), (value, None));
        }
    }
}
