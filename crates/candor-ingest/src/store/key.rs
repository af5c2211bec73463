//! The store key: what makes the database unreadable without Candor.
//!
//! One 256-bit key, read from a file as 64 hex digits, from which each use derives its own
//! key with HMAC-SHA256 over a label: SQLCipher's raw page key for SQLite; for PostgreSQL the
//! AEAD key that seals each event's content, the key of the keyed hashes that stand in for the
//! event id and the install id (which must be looked up), and the key check value stored in
//! the database so that a wrong key is an error rather than an empty report. No derived key is
//! the store key itself, and none is shown in `Debug` or an error.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// Why a text is not a store key (nothing of the text is shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not 64 hex digits.
    #[error(
        "a store key is 64 hex digits (256 bits, e.g. from `openssl rand -hex 32`); this one \
         has {chars} characters"
    )]
    NotHex {
        /// The characters the text has.
        chars: usize,
    },
    /// All zeros: no key.
    #[error("the store key is all zeros")]
    Zero,
}

/// A 256-bit store key.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreKey([u8; 32]);

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

impl StoreKey {
    /// A key from its text: 64 hex digits (surrounding blanks ignored), as
    /// `openssl rand -hex 32` writes it.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(KeyError::NotHex {
                chars: text.chars().count(),
            });
        }
        let mut key = [0u8; 32];
        for (i, pair) in text.as_bytes().chunks(2).enumerate() {
            let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
            key[i] = digit(pair[0]) << 4 | digit(pair[1]);
        }
        if key == [0u8; 32] {
            return Err(KeyError::Zero);
        }
        Ok(Self(key))
    }

    /// The key of one use, named by `label`.
    pub(crate) fn derive(&self, label: &str) -> [u8; 32] {
        let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(&self.0) else {
            // HMAC takes keys of any length; 32 bytes always fit.
            return [0u8; 32];
        };
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The value stored in the database to tell this key from another, in hex. It reveals
    /// nothing of the key (a keyed hash of a fixed text).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn check_value(&self) -> String {
        hex(&self.derive("candor store key check v1"))
    }

    /// What SQLCipher's `PRAGMA key = …;` takes to open the SQLite store (the derived raw
    /// key, so no passphrase stretching runs at each open): for an operator's `sqlcipher`
    /// shell, and for tests. It is as secret as the key.
    pub fn sqlcipher_pragma(&self) -> String {
        format!(
            "\"x'{}'\"",
            hex(&self.derive("candor sqlcipher page key v1"))
        )
    }

    /// The key that stands for an unencrypted PostgreSQL store: public, so the layout is the
    /// same whether or not it is encrypted, and anyone can read what it sealed.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn public() -> Self {
        Self([0u8; 32])
    }
}

/// How the store is opened: with the store key, or, for tests and development, unencrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sealing {
    /// Everything stored is encrypted with this key.
    Key(StoreKey),
    /// Nothing is encrypted (SQLite: a plain file; PostgreSQL: sealed with a public key).
    Unencrypted,
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    // By table: a keyed hash is written in hex for every stored event, and formatting it
    // byte by byte (`write!`) took as long as the hash.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_64_hex_digits_and_never_shown() {
        let text = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n";
        let key = StoreKey::from_hex(text).unwrap();
        assert_eq!(format!("{key:?}"), "StoreKey(..)");
        assert!(StoreKey::from_hex("abc").is_err());
        assert!(StoreKey::from_hex(&"g".repeat(64)).is_err());
        assert!(StoreKey::from_hex(&"0".repeat(64)).is_err());
        assert!(StoreKey::from_hex(&"é".repeat(32)).is_err());
        let other = StoreKey::from_hex(&"1".repeat(64)).unwrap();
        assert_ne!(key.check_value(), other.check_value());
        assert_ne!(key.derive("a"), key.derive("b"));
        assert!(!key.sqlcipher_pragma().contains("00112233"));
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }
}
