//! Consent while a product runs: its inputs followed as they change, and the word the
//! pipelines ask for before each batch is written and sent.
//!
//! The decision is taken again when an input changes:
//!
//! - `config.toml` and the record `candor consent` leaves (`consent-changes/<product>`) are
//!   looked at (one `lstat` each) by the worker at least every [`FOLLOW_EVERY`], and by each
//!   pipeline right before it writes or sends a batch; when either changed, the file is read
//!   again (one reading, through `candor-state`) and consent decides again;
//! - the host's signals and environment when the host reports them;
//! - the network record, as the pipeline's answers move it (the catalogue's network block).
//!
//! A change of decision, and any withdrawal the user recorded with `candor consent` (`off`,
//! `local` or `reset`, even one undone before it was noticed; `on` records none), is a
//! withdrawal: everything recorded before that moment is withdrawn
//! and never sent, whatever the decision is afterwards. The pipelines enforce it by the time
//! each event was recorded, so it holds for batches in memory, in the spool, and left there by
//! other processes or earlier runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use candor_consent::{
    ConfigState, ConsentGate, DecidedBy, Decision, Inputs, Mode, Transition, decide,
};
use candor_schema::{Catalogue, Event};
use candor_state::{FileStamp, StateDir};
use candor_transport::{Endpoint, Permission, Permit};

/// How often the worker looks at the consent inputs in Candor's folder: a change written by
/// `candor consent` or by hand takes effect within about this long (and at once for sending,
/// which looks before every batch).
pub(crate) const FOLLOW_EVERY: Duration = Duration::from_millis(500);
/// How often a product held off by the network block checks whether the endpoint answers.
const PROBE_EVERY: Duration = Duration::from_secs(60);
/// How long one such check may take, resolution included.
pub(crate) const PROBE_WITHIN: Duration = Duration::from_secs(2);

/// Where consent's files are: `config.toml` and the consent-change record in `config`, the
/// first-run marker and the network record in `state`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Folders {
    pub(crate) config: Option<StateDir>,
    pub(crate) state: Option<StateDir>,
}

/// The stamps of the consent files a product follows (`config.toml` and its consent-change
/// record), taken before they are read at startup: an edit that lands between that read and
/// the watch's start then shows as a change, and is read at the first look
/// ([`ConsentWatch::follow`]) rather than missed for good (review H1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ConsentStamps {
    config: Option<FileStamp>,
    change: Option<FileStamp>,
}

impl ConsentStamps {
    /// The stamps in `config` (the folder that holds `config.toml`) for `product`, now.
    pub(crate) fn take(config: Option<&StateDir>, product: &str) -> Self {
        Self {
            config: config.and_then(StateDir::config_stamp),
            change: config.and_then(|c| c.consent_change_stamp(product)),
        }
    }
}

/// The decision in force for a running product, and what it was taken from.
pub(crate) struct ConsentWatch {
    catalogue: Arc<Catalogue>,
    gate: ConsentGate,
    folders: Folders,
    endpoint: Option<Endpoint>,
    watched: Mutex<Watched>,
    /// Nanoseconds since the epoch of the latest withdrawal (0: none): nothing recorded at or
    /// before it is ever sent.
    withdrawn_at: AtomicU64,
}

struct Watched {
    inputs: Inputs,
    config_stamp: Option<FileStamp>,
    change_stamp: Option<FileStamp>,
    /// The notice marker's: a notice shown while the product runs releases what it held.
    notice_stamp: Option<FileStamp>,
    last_look: Instant,
    /// A failure the pipeline reported before this is not held against the endpoint (it
    /// answered a probe since).
    answered_at: Option<SystemTime>,
    last_probe: Option<Instant>,
}

impl ConsentWatch {
    /// Follows `inputs` (gathered from `folders` just now, after `stamps` were taken) for
    /// `catalogue`'s product; the decision they give is in force at once.
    pub(crate) fn new(
        catalogue: Arc<Catalogue>,
        inputs: Inputs,
        folders: Folders,
        stamps: ConsentStamps,
        endpoint: Option<Endpoint>,
    ) -> Self {
        let product = catalogue.product_id().to_owned();
        let gate = ConsentGate::new(decide(&catalogue, &inputs));
        let ConsentStamps {
            config: config_stamp,
            change: change_stamp,
        } = stamps;
        let notice_stamp = folders
            .state
            .as_ref()
            .and_then(|s| s.notice_stamp(&product));
        let withdrawn_at = folders
            .config
            .as_ref()
            .and_then(|c| c.consent_changed_at(&product).ok().flatten())
            .map_or(0, nanos);
        Self {
            catalogue,
            gate,
            folders,
            endpoint,
            watched: Mutex::new(Watched {
                inputs,
                config_stamp,
                change_stamp,
                notice_stamp,
                last_look: Instant::now(),
                answered_at: None,
                last_probe: None,
            }),
            withdrawn_at: AtomicU64::new(withdrawn_at),
        }
    }

    pub(crate) fn gate(&self) -> &ConsentGate {
        &self.gate
    }

    /// Whether the catalogue counts a blocked network as opting out.
    pub(crate) fn network_block_applies(&self) -> bool {
        self.catalogue.spec().consent.network_block_opts_out
    }

    fn watched(&self) -> std::sync::MutexGuard<'_, Watched> {
        self.watched.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks everything recorded until now as withdrawn.
    fn withdraw_now(&self) {
        self.withdrawn_at
            .fetch_max(nanos(SystemTime::now()), Ordering::AcqRel);
    }

    /// Applies a new decision; `renew` starts a new generation even when the mode is the same.
    fn apply(&self, decision: Decision, renew: bool) -> Transition {
        let transition = if renew {
            self.gate.renew(decision)
        } else {
            self.gate.update(decision)
        };
        if transition != Transition::Unchanged {
            self.withdraw_now();
        }
        transition
    }

    /// Changes the inputs as the host says, decides again and applies the decision.
    pub(crate) fn redecide(&self, change: impl FnOnce(&mut Inputs)) -> Transition {
        let mut watched = self.watched();
        change(&mut watched.inputs);
        let decision = decide(&self.catalogue, &watched.inputs);
        self.apply(decision, false)
    }

    /// Puts a decision the host took itself in force.
    pub(crate) fn update(&self, decision: Decision) -> Transition {
        let _watched = self.watched();
        self.apply(decision, false)
    }

    /// Looks at the consent inputs in Candor's folder (one `lstat` each); when the user's file
    /// or consent record changed, reads the file again and decides again. Returns the
    /// transition when the decision was taken again.
    pub(crate) fn follow(&self) -> Option<Transition> {
        let Some(config) = &self.folders.config else {
            return None;
        };
        let product = self.catalogue.product_id();
        let mut watched = self.watched();
        watched.last_look = Instant::now();
        let config_stamp = config.config_stamp();
        let change_stamp = config.consent_change_stamp(product);
        let notice_stamp = self
            .folders
            .state
            .as_ref()
            .and_then(|s| s.notice_stamp(product));
        let file_changed = config_stamp != watched.config_stamp;
        let renewed = change_stamp != watched.change_stamp;
        let notice_changed = notice_stamp != watched.notice_stamp;
        if !file_changed && !renewed && !notice_changed {
            return None;
        }
        watched.config_stamp = config_stamp;
        watched.change_stamp = change_stamp;
        watched.notice_stamp = notice_stamp;
        if file_changed {
            watched.inputs.config = ConfigState::from_read(&config.config());
        }
        if let Some(state) = &self.folders.state {
            watched.inputs.told = candor_consent::told(state, product);
        }
        let decision = decide(&self.catalogue, &watched.inputs);
        Some(self.apply(decision, renewed))
    }

    /// [`ConsentWatch::follow`], when the last look is older than [`FOLLOW_EVERY`].
    pub(crate) fn follow_if_due(&self) -> Option<Transition> {
        if self.watched().last_look.elapsed() < FOLLOW_EVERY {
            return None;
        }
        self.follow()
    }

    /// The pipeline's word on a batch, asked right before it is written and right before each
    /// attempt to send it: the events recorded at or before the latest withdrawal are
    /// withdrawn (an event whose time cannot be read with them), and the rest may go when the
    /// decision in force is `mode` (sending: `on` with no notice pending).
    pub(crate) fn permission(&self, events: &[Event], mode: Mode) -> Permission {
        self.follow();
        let cut = self.withdrawn_at.load(Ordering::Acquire);
        let withdrawn = if cut == 0 {
            Vec::new()
        } else {
            events
                .iter()
                .enumerate()
                .filter(|(_, e)| e.time().unix_nanos() <= cut)
                .map(|(i, _)| i)
                .collect()
        };
        let now = match mode {
            Mode::On => self.gate.may_send_now(),
            other => self.gate.mode() == other,
        };
        Permission::withdraw(withdrawn, now)
    }

    /// The time to stamp on a value recorded at `time` under the decision in force (its ticket
    /// is current, so it was recorded after the latest withdrawal): events carry their time to
    /// the millisecond, so one recorded in the same millisecond as the withdrawal is stamped
    /// with the next, or it would read as recorded before and be withdrawn.
    pub(crate) fn stamp(&self, time: SystemTime) -> SystemTime {
        let cut = self.withdrawn_at.load(Ordering::Acquire);
        if cut == 0 || nanos(time) > cut.saturating_sub(cut % 1_000_000) + 999_999 {
            return time;
        }
        UNIX_EPOCH + Duration::from_millis(cut / 1_000_000 + 1)
    }

    /// The pipeline's permit for a pipeline that may send (or keep) in `mode`.
    pub(crate) fn permit(self: &Arc<Self>, mode: Mode) -> Permit {
        let watch = Arc::clone(self);
        Permit::new(move |events| watch.permission(events, mode))
    }

    /// Takes in since when the network pipeline has had no answer (`None`: it answered), keeps
    /// it in Candor's folder so the period spans runs, and decides again when the catalogue
    /// counts blocking the network as opting out.
    pub(crate) fn observe_network(
        &self,
        unanswered_since: Option<SystemTime>,
        answered: bool,
    ) -> Option<Transition> {
        if !self.network_block_applies() {
            return None;
        }
        let mut watched = self.watched();
        let failing = unanswered_since.map(|t| match watched.answered_at {
            Some(answered) => t.max(answered),
            None => t,
        });
        let since = match failing {
            None if answered => None,
            None => watched.inputs.unanswered_since,
            Some(failing) => Some(
                watched
                    .inputs
                    .unanswered_since
                    .map_or(failing, |kept| kept.min(failing)),
            ),
        };
        if since != watched.inputs.unanswered_since {
            self.keep_network(since);
            watched.inputs.unanswered_since = since;
        } else if since.is_none() {
            return None;
        }
        // The period runs out with time alone: decide again while a failure is on record.
        let decision = decide(&self.catalogue, &watched.inputs);
        Some(self.apply(decision, false))
    }

    /// While the network block holds, checks (at most once a minute, on the caller's thread,
    /// within [`PROBE_WITHIN`]) whether the endpoint accepts a connection; when it does, the
    /// record is cleared and consent decides again. Returns the transition, if any.
    pub(crate) fn probe_if_blocked(&self) -> Option<Transition> {
        if !matches!(
            self.gate.decision().decided_by,
            DecidedBy::NetworkBlock { .. }
        ) {
            return None;
        }
        {
            let mut watched = self.watched();
            if watched
                .last_probe
                .is_some_and(|t| t.elapsed() < PROBE_EVERY)
            {
                return None;
            }
            watched.last_probe = Some(Instant::now());
        }
        let reached = self
            .endpoint
            .as_ref()
            .is_some_and(|e| e.accepts_connection(PROBE_WITHIN));
        if !reached {
            return None;
        }
        let mut watched = self.watched();
        self.keep_network(None);
        watched.inputs.unanswered_since = None;
        watched.inputs.unreadable_network_record = None;
        watched.answered_at = Some(SystemTime::now());
        let decision = decide(&self.catalogue, &watched.inputs);
        Some(self.apply(decision, false))
    }

    /// A failure to keep the time only means the period restarts with the next run.
    fn keep_network(&self, since: Option<SystemTime>) {
        if let Some(state) = &self.folders.state {
            let _ = state.set_unanswered_since(self.catalogue.product_id(), since);
        }
    }
}

fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
