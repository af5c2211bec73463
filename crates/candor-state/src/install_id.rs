//! A random per-install identifier: the better alternative to a hashed MAC address. Made and
//! read here only, where it is kept (`StateDir::install_id`), or made for one process when
//! there is no folder.
//!
//! It names an installation, not a machine or a person: it is random, so nothing can be
//! recovered from it, and deleting its file (`candor clean`) resets it.

use std::path::Path;

use crate::StateError;

/// Bytes of randomness in an install id.
pub(crate) const INSTALL_ID_LEN: usize = 16;

/// A random 128-bit identifier, as 32 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstallId(String);

impl InstallId {
    /// A fresh id from the operating system's random source (for a process with no folder to
    /// keep one in).
    pub fn generate() -> Result<Self, StateError> {
        crate::layout::random(INSTALL_ID_LEN, Path::new("install-id")).map(|b| Self::from_bytes(&b))
    }

    /// An id as written: 32 hex digits (either case, surrounding spaces ignored), else `None`.
    pub fn parse(text: &str) -> Option<Self> {
        crate::layout::parse_hex(text.as_bytes(), INSTALL_ID_LEN).map(|b| Self::from_bytes(&b))
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Self {
        Self(crate::layout::hex(bytes))
    }

    /// The id as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_parse_back() {
        let a = InstallId::generate().expect("random");
        let b = InstallId::generate().expect("random");
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(
            a.as_str()
                .bytes()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
        );
        assert_eq!(
            InstallId::parse(&format!("{}\n", a.as_str())),
            Some(a.clone())
        );
        assert_eq!(InstallId::parse(&a.as_str().to_ascii_uppercase()), Some(a));
        assert_eq!(InstallId::parse("not an id"), None);
        assert_eq!(InstallId::parse(&"0".repeat(31)), None);
    }
}
