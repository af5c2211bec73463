//! The first-run notice of command-line hosts: shown once, remembered by a marker file that
//! Candor's folder ([`candor_state::StateDir`]) keeps.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use candor_state::StateDir;

/// The marker that a product's first-run notice has been shown on this machine for this user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstRunNotice {
    state: StateDir,
    product: String,
    marker: PathBuf,
}

impl FirstRunNotice {
    /// The notice of `product`, remembered under Candor's configuration folder.
    pub fn new(config_dir: &Path, product: &str) -> Self {
        let state = StateDir::new(config_dir);
        let marker = state
            .notice_marker(product)
            .unwrap_or_else(|_| config_dir.join("notices").join("invalid-product-id"));
        Self {
            state,
            product: product.to_owned(),
            marker,
        }
    }

    /// Where the marker lives.
    pub fn marker(&self) -> &Path {
        &self.marker
    }

    /// Whether the notice has been shown before (a marker that is a symlink or FIFO does not
    /// count).
    pub fn is_shown(&self) -> bool {
        self.state.notice_shown(&self.product)
    }

    /// Shows the notice on `out` unless it was shown before, then remembers it. Returns whether
    /// it was shown now. The marker is written only after the notice was written, so a failure
    /// to show it means it will be shown next time.
    pub fn show_once(&self, out: &mut dyn Write, statement: &str) -> io::Result<bool> {
        if self.is_shown() {
            return Ok(false);
        }
        writeln!(out, "{statement}")?;
        out.flush()?;
        self.state
            .mark_notice_shown(&self.product)
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_is_shown_exactly_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let notice = FirstRunNotice::new(dir.path(), "demo");
        assert!(!notice.is_shown());
        let mut first = Vec::new();
        assert!(
            notice
                .show_once(&mut first, "Demo sends usage data.")
                .expect("shown")
        );
        assert_eq!(first, b"Demo sends usage data.\n");
        assert!(notice.is_shown());
        let mut second = Vec::new();
        assert!(
            !notice
                .show_once(&mut second, "Demo sends usage data.")
                .expect("not again")
        );
        assert!(second.is_empty());
    }
}
