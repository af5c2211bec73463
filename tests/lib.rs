//! Helpers shared by Candor's cross-crate tests.

use std::path::PathBuf;

/// The workspace root (this crate sits in `tests/` directly under it).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map_or(manifest.clone(), PathBuf::from)
}

/// The committed `docs/` folder.
pub fn docs_dir() -> PathBuf {
    workspace_root().join("docs")
}
