//! The first-run notice of command-line hosts, and the notice again when a catalogue revision
//! widens collection.
//!
//! The marker Candor's folder ([`candor_state::StateDir`]) keeps records what the person was
//! told: the catalogue revision and its points' declarations ([`Disclosed`]). A later revision
//! is compared with it ([`Catalogue::widened_since`]): one that adds points, widens a gate or
//! loosens a protection makes the notice due again for those points ([`NoticeDue::Widened`]),
//! and they are held, never sent, until it has been shown. A marker that cannot be read (a
//! symlink, a FIFO, larger than [`candor_state::MAX_NOTICE_MARKER`], not a record Candor
//! wrote) counts as never shown: the whole notice is shown again.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use candor_schema::{Catalogue, Disclosed, NoticeKind};
use candor_state::StateDir;
use serde::Serialize;

/// Which notice a product owes the person before some of its data may leave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum NoticeDue {
    /// None: the product shows no first-run notice, or the person was told about this revision
    /// or a wider one.
    Nothing,
    /// The first-run notice was never shown (or its marker cannot be read): nothing is sent.
    FirstRun,
    /// A revision widened collection since the one the person was told about: these points
    /// are held until the notice is shown again; the others are sent as before.
    Widened {
        /// The points held, in catalogue order.
        points: Vec<String>,
    },
}

impl NoticeDue {
    /// Whether a notice must be shown.
    pub fn is_pending(&self) -> bool {
        *self != Self::Nothing
    }

    /// Whether events of `point` wait for the notice.
    pub fn holds(&self, point: &str) -> bool {
        match self {
            Self::Nothing => false,
            Self::FirstRun => true,
            Self::Widened { points } => points.iter().any(|p| p == point),
        }
    }
}

/// What `catalogue` owes a person told about `told` (`None`: never told).
pub fn notice_due(catalogue: &Catalogue, told: Option<&Disclosed>) -> NoticeDue {
    if catalogue.spec().consent.notice != NoticeKind::FirstRun {
        return NoticeDue::Nothing;
    }
    let Some(told) = told else {
        return NoticeDue::FirstRun;
    };
    let mut points: Vec<String> = Vec::new();
    for widened in catalogue.widened_since(told) {
        if points.last() != Some(&widened.point) {
            points.push(widened.point);
        }
    }
    if points.is_empty() {
        NoticeDue::Nothing
    } else {
        NoticeDue::Widened { points }
    }
}

/// What `product`'s notice marker in `state` says the person was told; `None` when never, or
/// when the marker cannot be read (the documented fallback: the notice is shown again).
pub fn told(state: &StateDir, product: &str) -> Option<Disclosed> {
    let bytes = state.read_notice(product).ok()??;
    Disclosed::from_json(&bytes)
}

/// A product's notice and its marker.
#[derive(Debug, Clone)]
pub struct FirstRunNotice {
    state: StateDir,
    catalogue: Catalogue,
    marker: PathBuf,
}

impl FirstRunNotice {
    /// The notice of `catalogue`'s product, remembered under Candor's configuration folder.
    pub fn new(config_dir: &Path, catalogue: &Catalogue) -> Self {
        let state = StateDir::new(config_dir);
        let marker = state
            .notice_marker(catalogue.product_id())
            .unwrap_or_else(|_| config_dir.join("notices").join("invalid-product-id"));
        Self {
            state,
            catalogue: catalogue.clone(),
            marker,
        }
    }

    /// Where the marker lives.
    pub fn marker(&self) -> &Path {
        &self.marker
    }

    /// What is owed now.
    pub fn due(&self) -> NoticeDue {
        notice_due(
            &self.catalogue,
            told(&self.state, self.catalogue.product_id()).as_ref(),
        )
    }

    /// Whether nothing is owed (the person was told about this revision, or one that
    /// collected at least as much).
    pub fn is_shown(&self) -> bool {
        !self.due().is_pending()
    }

    /// Shows the notice on `out` when one is owed (after a widening revision, with what it
    /// widened), then records this revision in the marker. Returns whether it was shown now.
    /// The marker is written only after the notice was, so a failure to show it means it will
    /// be shown next time. A revision that only narrows is recorded without a word, so a
    /// point it removed that comes back later is announced again.
    pub fn show_once(&self, out: &mut dyn Write) -> io::Result<bool> {
        let Some(text) = self.owed_text()? else {
            return Ok(false);
        };
        out.write_all(text.as_bytes())?;
        out.flush()?;
        self.record_shown()?;
        Ok(true)
    }

    /// The notice owed now, as text (one line per paragraph, each ending in a newline), for a
    /// host that shows it its own way (a dialog, a C host's buffer); `None` when nothing is
    /// owed. It is not recorded: the host calls [`FirstRunNotice::record_shown`] once it was
    /// shown. A revision that only narrows is recorded here, silently, as in
    /// [`FirstRunNotice::show_once`].
    pub fn owed_text(&self) -> io::Result<Option<String>> {
        let told = told(&self.state, self.catalogue.product_id());
        let due = notice_due(&self.catalogue, told.as_ref());
        if !due.is_pending() {
            let now = self.catalogue.disclosed();
            if told.is_some_and(|t| t.revision != now.revision) {
                self.record(&now)?;
            }
            return Ok(None);
        }
        let spec = self.catalogue.spec();
        let mut text = format!("{}\n", spec.disclosure.statement);
        if let (NoticeDue::Widened { .. }, Some(told)) = (&due, &told) {
            text.push_str(&format!(
                "Revision {} of {}'s catalogue collects more than revision {}, which you were \
                 told about:\n",
                spec.revision, spec.product.name, told.revision
            ));
            for widened in self.catalogue.widened_since(told) {
                text.push_str(&format!("  - {widened}\n"));
            }
        }
        Ok(Some(text))
    }

    /// Records that the notice of this revision was shown: what it held is sent from now on.
    pub fn record_shown(&self) -> io::Result<()> {
        self.record(&self.catalogue.disclosed())
    }

    fn record(&self, now: &Disclosed) -> io::Result<()> {
        self.state
            .write_notice(self.catalogue.product_id(), &now.to_json())
            .map_err(|e| io::Error::other(e.to_string()))
    }
}
