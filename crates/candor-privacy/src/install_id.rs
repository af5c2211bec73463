//! A random per-install identifier: the better alternative to a hashed MAC address.
//!
//! It names an installation, not a machine or a person: it is random, so nothing can be
//! recovered from it, and deleting its file resets it.

use std::io;
use std::path::Path;

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

    /// Reads the id stored at `path`, or creates and stores a new one. A file that does not hold
    /// a well-formed id is replaced, never trusted.
    pub fn load_or_create(path: &Path) -> io::Result<Self> {
        if let Ok(text) = std::fs::read_to_string(path) {
            let text = text.trim();
            if text.len() == 32
                && text
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            {
                return Ok(Self(text.to_owned()));
            }
        }
        let id = Self::generate()?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // Write to a temporary name and rename, so a crash never leaves half an id.
        let temporary = path.with_extension("tmp");
        std::fs::write(&temporary, format!("{}\n", id.0))?;
        std::fs::rename(&temporary, path)?;
        Ok(id)
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
    fn ids_are_random_and_persist() {
        let a = InstallId::generate().expect("random");
        let b = InstallId::generate().expect("random");
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);

        let dir = std::env::temp_dir().join(format!("candor-install-id-{}", std::process::id()));
        let path = dir.join("install-id");
        let first = InstallId::load_or_create(&path).expect("created");
        assert_eq!(InstallId::load_or_create(&path).expect("loaded"), first);
        std::fs::write(&path, "not an id").expect("corrupt it");
        let replaced = InstallId::load_or_create(&path).expect("replaced");
        assert_ne!(replaced, first);
        assert_eq!(replaced.as_str().len(), 32);
        let _ = std::fs::remove_dir_all(dir);
    }
}
