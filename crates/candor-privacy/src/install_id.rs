//! A random per-install identifier: the better alternative to a hashed MAC address.
//!
//! It names an installation, not a machine or a person: it is random, so nothing can be
//! recovered from it, and deleting its file resets it. The file is kept by Candor's folder
//! (`candor_state::StateDir::install_id`); this module only makes and checks ids.

use std::io;

/// A random 128-bit identifier, as 32 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstallId(String);

impl InstallId {
    /// A fresh random id from the operating system's random source.
    pub fn generate() -> io::Result<Self> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Self(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// An id read back from where it is kept (Candor's folder, `candor_state::StateDir`,
    /// stores it): 32 lower-case hex digits, else `None`, never trusted.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        (text.len() == 32
            && text
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .then(|| Self(text.to_owned()))
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
        assert_eq!(InstallId::parse(&format!("{}\n", a.as_str())), Some(a));
        assert_eq!(InstallId::parse("not an id"), None);
        assert_eq!(InstallId::parse(&"A".repeat(32)), None);
    }
}
