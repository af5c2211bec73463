//! A per-installation hashing key, created at random and kept in a file only its owner reads.
//!
//! Keyed hashes (HMAC-SHA256) are only as private as their key. A key made on this machine and
//! never sent means the vendor sees stable pseudonyms for one installation that nobody, the
//! vendor included, can reverse or match across installations.

use std::io::{self, Write};
use std::path::Path;

/// Length of a generated key, in bytes.
pub const KEY_LEN: usize = 32;

/// Reads the key stored at `path`, or creates one. A file holding anything but a key of
/// [`KEY_LEN`] bytes in hex is replaced, never trusted.
pub fn load_or_create_key(path: &Path) -> io::Result<Vec<u8>> {
    if let Ok(text) = std::fs::read_to_string(path)
        && let Some(key) = parse_hex(text.trim())
    {
        return Ok(key);
    }
    let mut key = vec![0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| io::Error::other(e.to_string()))?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let temporary = path.with_extension("tmp");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temporary)?;
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        writeln!(file, "{hex}")?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path)?;
    Ok(key)
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != KEY_LEN * 2 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_created_once_and_reused() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("keys/p.key");
        let first = load_or_create_key(&path).expect("create");
        assert_eq!(first.len(), KEY_LEN);
        assert_eq!(load_or_create_key(&path).expect("load"), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by others: {mode:o}");
        }
        std::fs::write(&path, "not a key").expect("write");
        let replaced = load_or_create_key(&path).expect("replace");
        assert_ne!(replaced, first);
    }
}
