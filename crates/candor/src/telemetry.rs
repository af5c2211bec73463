//! The handle a host records through; everything else happens on Candor's one worker
//! (`runtime`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use candor_collect::{Input, Preparer, Record, Rejected, Scalar, Schedule};
use candor_collect::{SystemProbe, Unavailable};
use candor_consent::{ConsentGate, Decision, Environment, Mode, Pending, Ticket, Transition};
use candor_schema::Catalogue;
use candor_state::StateDir;
use candor_transport::{Control, DropCause, DropCount, SinkSpec, StatsSnapshot, Worker};
use serde::Serialize;

use crate::builder::{Begun, Builder};
use crate::clock::{Reading, RecordClock};
use crate::error::BuildError;
use crate::intake::{Intake, Pushed};
use crate::lane::{Lane, PipelinePlan, network_plan};
use crate::notice::{NoticeDesk, OwedNotice};
use crate::record::{Payload, PointRef, Recorded};
use crate::runtime::{Runtime, Shared};
use crate::watch::ConsentWatch;

/// How long a change of decision the host made waits for the worker to throw away what was
/// recorded before it.
const DISCARD_WITHIN: Duration = Duration::from_secs(5);

/// A cheap, cloneable handle for recording telemetry. See the crate documentation.
#[derive(Clone)]
pub struct Telemetry {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("product", &self.inner.catalogue.product_id())
            .field("collecting", &self.inner.gate.is_collecting())
            .finish_non_exhaustive()
    }
}

struct Inner {
    /// The watch's gate, held here too so that `record` is one pointer away from its load.
    gate: ConsentGate,
    watch: Arc<ConsentWatch>,
    catalogue: Arc<Catalogue>,
    /// Recorded values, in each thread's ring; the worker takes them in.
    intake: Arc<Intake>,
    /// How `record` reads the time.
    clock: RecordClock,
    /// Set by `shutdown`: later values are ignored rather than queued for a worker that is gone.
    closed: AtomicBool,
    shared: Arc<Shared>,
    worker: Worker,
    state: Option<StateDir>,
    /// Hands out the owed notice one at a time.
    notice: NoticeDesk,
    /// The deletion request's courier, shared with the worker: a shutdown waits for it.
    courier: Option<crate::deletion::Courier>,
}

/// What Candor has done so far, for a status page or a debug log. Every value recorded is
/// counted once more, where it is or ended: queued, refused, dropped under a cause (in
/// `drops`, or in a delivery's counters), delivered, or pending in a delivery (held for the
/// first-run notice, batched or spooled).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Status {
    /// The consent decision in force, with its reason.
    pub decision: Decision,
    /// Values accepted by `record`. (Counted by the worker as it takes them in, so `record`
    /// pays for no shared counter: while it works, the few hundred values in its hands are
    /// counted here but not yet where they end.)
    pub recorded: u64,
    /// Values recorded and still waiting for Candor's worker.
    pub queued: u64,
    /// Values prepared into events.
    pub prepared: u64,
    /// Events held until the first-run notice is shown (then sent, or dropped at shutdown).
    pub held_for_notice: u64,
    /// Values refused, one entry per data point with its first reason and a count: undeclared
    /// points, points not in effect for this version, expired points (by the UTC day of
    /// recording or by version), values of the wrong shape.
    pub refused: Vec<Refusal>,
    /// Values and events dropped before they reached the network or the local delivery, by
    /// cause: a full queue, consent withdrawn (what was queued or held when it changed, and
    /// what this run found waiting in the spool when it started while the user's word was
    /// against sending: off or local, see `DecidedBy::is_users_word`), values
    /// recorded after shutdown. What a delivery drops is in its own counters.
    pub drops: Vec<DropCount>,
    /// The network delivery's counters (delivered, retried, spooled…), once it has started.
    pub sent: Option<StatsSnapshot>,
    /// The local delivery's counters (mode `local`), once it has started.
    pub kept_locally: Option<StatsSnapshot>,
    /// Where receipts of delivered payloads are written.
    pub receipts: Option<PathBuf>,
}

impl Status {
    /// Everything dropped, before and in both deliveries, by cause.
    pub fn all_drops(&self) -> Vec<DropCount> {
        DropCount::merge(
            std::iter::once(self.drops.as_slice()).chain(
                [&self.sent, &self.kept_locally]
                    .into_iter()
                    .flatten()
                    .map(|s| s.drops.as_slice()),
            ),
        )
    }

    /// How many were dropped for exactly `cause`, before and in both deliveries.
    pub fn dropped(&self, cause: DropCause) -> u64 {
        self.all_drops()
            .iter()
            .filter(|d| d.cause == cause)
            .map(|d| d.events)
            .sum()
    }

    /// How many values were refused, over every point.
    pub fn refused_total(&self) -> u64 {
        self.refused.iter().map(|r| r.count).sum()
    }
}

/// A data point's refusals: the first reason, and how many values were refused.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Refusal {
    /// Why the first value was refused (its point is [`Rejected::point`]).
    pub reason: Rejected,
    /// How many values of the point were refused.
    pub count: u64,
}

impl Serialize for Refusal {
    /// `["reason in words", count]`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.reason.to_string(), self.count).serialize(serializer)
    }
}

impl Telemetry {
    /// Starts configuring telemetry for the product `catalogue` describes.
    pub fn builder(catalogue: impl Into<Arc<Catalogue>>) -> Builder {
        Builder::new(catalogue.into())
    }

    pub(crate) fn start(
        builder: Builder,
        preparer: Preparer,
        begun: Begun,
    ) -> Result<Self, BuildError> {
        let product = builder.catalogue.product_id().to_owned();
        let mut begun = begun;
        let owed = begun.deletion.take();
        let (watch, state, discarded) = begun.watch(&builder.catalogue);
        // The deletion request owed at the start goes out on a thread of its own; one owed
        // when consent turns off while the product runs, through the worker.
        let courier = crate::deletion::Courier::new(
            state.as_ref(),
            &builder.catalogue,
            builder.sink.as_ref(),
            builder.sink_options(),
        );
        if let (Some(courier), Some(record)) = (&courier, owed) {
            courier.send(record);
        }
        let gate = watch.gate().clone();
        let network = network_plan(&builder, state.as_ref(), Some(watch.permit(Mode::On)))?;
        let local_path = match &state {
            Some(state) => state.local_file(&product),
            None => StateDir::new(std::env::temp_dir()).local_file(&product),
        }
        .map_err(BuildError::state("the local-mode file"))?;
        let shared = Arc::new(Shared::default());
        shared.drops.add(DropCause::Withdrawn, discarded);
        let intake = Arc::new(Intake::new(builder.queue_capacity));
        let clock = RecordClock::detect();
        let local = PipelinePlan::new(
            SinkSpec::File { path: local_path },
            &builder.pipeline,
            builder.sink_options(),
            None,
            None,
            Some(watch.permit(Mode::Local)),
        );
        // The worker runs whatever the decision: while consent is off it queues nothing and
        // only follows the consent inputs, so that `on` written to the user's file starts
        // collecting.
        let runtime = Runtime {
            intake: Arc::clone(&intake),
            preparer,
            watch: Arc::clone(&watch),
            shared: Arc::clone(&shared),
            network: Lane::new(network, Arc::clone(&shared.network)),
            local: Lane::new(local, Arc::clone(&shared.local)),
            held: Pending::new(),
            held_cap: builder.queue_capacity,
            busy: false,
            courier: courier.clone(),
        };
        let worker = Worker::spawn("candor-worker", runtime).map_err(|e| {
            BuildError::Transport(candor_transport::TransportError::Thread {
                what: "Candor's worker",
                source: Arc::new(e),
            })
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                gate,
                watch,
                catalogue: Arc::clone(&builder.catalogue),
                intake,
                clock,
                closed: AtomicBool::new(false),
                shared,
                worker,
                state,
                notice: NoticeDesk::default(),
                courier,
            }),
        })
    }

    /// Records a raw value for a data point. The hot path: when telemetry is off this is one
    /// atomic load; when it is on, the value is pushed onto the calling thread's bounded
    /// ring (`intake`) that Candor's worker drains (polling, and woken early when the ring
    /// is half full), which
    /// checks it against the catalogue, applies privacy and delivers it. Never blocks, never
    /// panics; a full queue drops the value and counts it.
    #[inline]
    pub fn record(&self, point: &str, input: Input) {
        // The ticket is the consent check: with consent off nothing is copied.
        let Some(ticket) = self.inner.gate.ticket() else {
            return;
        };
        self.enqueue(ticket, PointRef::Named(point.into()), Payload::of(input));
    }

    /// [`Telemetry::record`] for a point id the code names (what the recorders `candor
    /// codegen` writes call): the id is kept as it is, never copied.
    #[inline]
    pub fn record_declared(&self, point: &'static str, input: Input) {
        let Some(ticket) = self.inner.gate.ticket() else {
            return;
        };
        self.enqueue(ticket, PointRef::Declared(point), Payload::of(input));
    }

    /// [`Telemetry::record_declared`] for a flag, a count or a length of time (what the
    /// generated recorders call for those kinds): the value goes into the queue's slot as it
    /// is, with nothing built or dropped on the way.
    #[inline]
    pub fn record_scalar(&self, point: &'static str, value: Scalar) {
        let Some(ticket) = self.inner.gate.ticket() else {
            return;
        };
        let intake = &self.inner.intake;
        self.queue(|time| {
            // Built from copies where it is queued.
            intake.push_with(|| {
                Some(Recorded {
                    ticket,
                    point: PointRef::Declared(point),
                    value: Payload::scalar(value),
                    time,
                })
            })
        });
    }

    #[inline(always)]
    fn enqueue(&self, ticket: Ticket, point: PointRef, value: Payload) {
        let intake = &self.inner.intake;
        self.queue(|time| {
            intake.push(Recorded {
                ticket,
                point,
                value,
                time,
            })
        });
    }

    /// Has `push` queue a value with the time of recording (unless the product was shut
    /// down), and wakes the worker when the queue fills.
    #[inline(always)]
    fn queue(&self, push: impl FnOnce(Reading) -> Pushed) {
        if self.inner.closed.load(Ordering::Relaxed) {
            return;
        }
        // The worker polls; only a filling queue is worth a wake-up.
        if push(self.inner.clock.now()) == Pushed::Filling {
            self.inner.worker.wake();
        }
    }

    /// Refuses a value for `point` that could not be read from the form a host adapter
    /// received it in (the OpenTelemetry bridge given a log body of the wrong shape): it is
    /// counted in [`Status::refused`] with `reason`, as the worker counts the values it
    /// refuses. With consent off nothing is recorded, so nothing is refused either.
    pub fn refuse(&self, point: &str, reason: impl Into<String>) {
        if !self.inner.gate.is_collecting() {
            return;
        }
        self.inner
            .shared
            .refusals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .note(candor_collect::Rejected::Invalid {
                point: point.to_owned(),
                reason: reason.into(),
            });
    }

    /// Whether anything is being recorded (consent is `on` or `local`).
    pub fn is_collecting(&self) -> bool {
        self.inner.gate.is_collecting()
    }

    /// Reads this machine and records every point of the catalogue that names a machine
    /// reading (`source = "system.…"`), whatever the product; returns the ones that could not
    /// be read, with the reason. Points the running version does not collect are refused as
    /// any other value would be.
    pub fn record_system_snapshot(&self) -> Vec<(String, Unavailable)> {
        if !self.is_collecting() {
            return Vec::new();
        }
        let snapshot = SystemProbe::real().snapshot();
        let points = &self.inner.catalogue.spec().data_points;
        candor_collect::record_readings(self, points, &snapshot)
            .into_iter()
            .map(|(point, why)| (point.to_owned(), why))
            .collect()
    }

    /// The catalogue's collection schedule, starting now.
    pub fn schedule(&self) -> Schedule {
        Schedule::from_catalogue(&self.inner.catalogue.spec().collection, Instant::now())
    }

    /// The host turned its own telemetry off (or on again). Consent is decided again; if it
    /// changes, everything recorded under the old decision and not yet sent is thrown away.
    pub fn set_host_opted_out(&self, opted_out: bool) -> Transition {
        self.redecide(|inputs| inputs.host.host_opted_out = opted_out)
    }

    /// Decides consent again with a new environment (the user set an opt-out variable, or the
    /// host re-read its own settings). If the decision changes, everything recorded under the
    /// old one and not yet sent is thrown away.
    pub fn reconsider(&self, env: Environment) -> Transition {
        self.redecide(|inputs| inputs.env = env)
    }

    /// Changes the consent inputs, decides again and applies the decision.
    fn redecide(&self, change: impl FnOnce(&mut candor_consent::Inputs)) -> Transition {
        let transition = self.inner.watch.redecide(change);
        self.after(transition);
        transition
    }

    /// Replaces the consent decision. A change of mode discards what was recorded before and
    /// not yet sent (queued, batched or spooled). The decision holds until an input changes
    /// (the user's file, a host signal), when consent decides again.
    pub fn update_consent(&self, decision: Decision) -> Transition {
        let transition = self.inner.watch.update(decision);
        self.after(transition);
        transition
    }

    /// After a change of decision: what was recorded before is thrown away.
    fn after(&self, transition: Transition) {
        if transition != Transition::Unchanged {
            self.inner.worker.ask(Control::Discard, DISCARD_WITHIN);
        }
    }

    /// Prepares everything recorded so far and writes it to the spool, sending nothing,
    /// waiting at most `timeout`. A tool that hands over a file of values (`candor send`)
    /// calls it before delivering, so what it accepted survives a deadline or a crash.
    pub fn persist(&self, timeout: Duration) {
        self.inner.worker.ask(Control::Persist, timeout);
    }

    /// Sends what is queued, waiting at most `timeout`.
    pub fn flush(&self, timeout: Duration) {
        self.inner.worker.ask(Control::Flush, timeout);
    }

    /// Stops recording, sends what it can within `deadline` (the rest stays in the spool for
    /// the next run; an owed deletion request still on the wire is waited for too, and kept
    /// for the next start if undelivered) and returns the final status. Later calls to `record` do nothing. Returns
    /// by the deadline whatever the sink does (a held stdout, a FIFO, a stalled receiver).
    pub fn shutdown(&self, deadline: Duration) -> Status {
        let until = Instant::now() + deadline;
        self.inner.closed.store(true, Ordering::Relaxed);
        self.inner.worker.stop(deadline);
        // An owed deletion request is on the wire: give it what is left of the deadline, so
        // a short-lived process does not exit under it (undelivered, it is kept for the next
        // start).
        if let Some(courier) = &self.inner.courier {
            courier.stop(until);
        }
        self.status()
    }

    /// Shows the product's notice on `out` when one is owed (its catalogue asks for a first-run
    /// notice, and it was never shown or a later revision added points, widened a gate or
    /// loosened a protection; then it lists those), and remembers this revision in Candor's
    /// folder. What the notice held is sent once the worker sees the marker (within half a
    /// second). Returns whether it was shown now; without a state folder nothing is owed and
    /// nothing is shown.
    ///
    /// While another thread holds the notice ([`Telemetry::owed_notice`]), nothing is shown
    /// here.
    pub fn show_notice(&self, out: &mut dyn std::io::Write) -> std::io::Result<bool> {
        let Some(notice) = self.owed_notice()? else {
            return Ok(false);
        };
        out.write_all(notice.text().as_bytes())?;
        out.flush()?;
        self.notice_shown(notice)?;
        Ok(true)
    }

    /// The notice owed now, for a host that shows it its own way (a dialog, a C host);
    /// `None` when nothing is owed, there is no state folder, or another thread holds the
    /// notice now. Nothing is recorded until the host hands it back to
    /// [`Telemetry::notice_shown`]; until then what the notice holds stays held.
    /// [`Telemetry::show_notice`] does both on a writer.
    pub fn owed_notice(&self) -> std::io::Result<Option<OwedNotice>> {
        let Some(state) = &self.inner.state else {
            return Ok(None);
        };
        self.inner.notice.hand_out(|| {
            candor_consent::FirstRunNotice::new(state.root(), &self.inner.catalogue).owed_text()
        })
    }

    /// Records that `notice`, which [`Telemetry::owed_notice`] handed out, was shown to the
    /// person: what it held is sent from now on (within half a second). A notice another
    /// product handed out is refused (`InvalidInput`) and records nothing.
    pub fn notice_shown(&self, notice: OwedNotice) -> std::io::Result<()> {
        if !self.inner.notice.issued(&notice) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "this notice was handed out for another product",
            ));
        }
        match &self.inner.state {
            Some(state) => candor_consent::FirstRunNotice::new(state.root(), &self.inner.catalogue)
                .record_shown(),
            None => Ok(()),
        }
    }

    /// What Candor has done so far.
    pub fn status(&self) -> Status {
        let inner = &self.inner;
        let shared = &inner.shared;
        let refused = shared
            .refusals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entries()
            .map(|(reason, count)| Refusal {
                reason: reason.clone(),
                count,
            })
            .collect();
        // Read before the queues: a worker that finishes after this look has taken in what
        // the queues held, so nothing read below is counted both as taken and as left behind.
        let finished = inner.worker.is_finished();
        let (taken, queued) = inner.intake.counts();
        let mut drops = shared.drops.counts();
        let queue_full = inner.intake.dropped_full();
        // Values that slipped in while the worker stopped are never taken in.
        let after_shutdown = if finished { queued } else { 0 };
        for (cause, n) in [
            (DropCause::QueueFull, queue_full),
            (DropCause::AfterShutdown, after_shutdown),
        ] {
            if n > 0 {
                drops = DropCount::merge([drops.as_slice(), &[DropCount::new(cause, n)]]);
            }
        }
        Status {
            decision: inner.gate.decision(),
            recorded: taken + queued,
            queued: queued - after_shutdown,
            prepared: shared.prepared.load(Ordering::Relaxed),
            held_for_notice: shared.held.load(Ordering::Relaxed),
            refused,
            drops,
            sent: shared.network.get().map(|c| c.snapshot()),
            kept_locally: shared.local.get().map(|c| c.snapshot()),
            receipts: inner.state.as_ref().map(StateDir::receipts_path),
        }
    }

    /// The catalogue.
    pub fn catalogue(&self) -> &Catalogue {
        &self.inner.catalogue
    }
}

impl Drop for Inner {
    /// Threads that recorded for this product may give its rings' places to another.
    fn drop(&mut self) {
        self.intake.retire();
    }
}

impl Record for Telemetry {
    fn record(&self, point: &str, input: Input) {
        Telemetry::record(self, point, input);
    }

    // Inlined into the host's generated recorder: a typed call is then one call deep.
    #[inline]
    fn record_declared(&self, point: &'static str, input: Input) {
        Telemetry::record_declared(self, point, input);
    }

    #[inline]
    fn record_scalar(&self, point: &'static str, value: Scalar) {
        Telemetry::record_scalar(self, point, value);
    }
}
