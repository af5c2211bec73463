//! Where prepared events go: the network lane (the builder's sink, the product's spool and
//! the receipts) and the local lane (mode `local`: a file in Candor's folder). Each is a
//! [`Delivery`] the facade's one worker drives, started when its first event arrives.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use candor_schema::Event;
use candor_state::StateDir;
use candor_transport::{
    Control, Counters, Delivery, Permit, Pipeline, PipelineConfig, SinkOptions, SinkSpec,
    build_sink,
};

use crate::builder::Builder;
use crate::error::BuildError;

/// How to start a delivery when it is first needed.
pub(crate) struct PipelinePlan {
    spec: SinkSpec,
    config: PipelineConfig,
    options: SinkOptions,
}

impl PipelinePlan {
    pub(crate) fn new(
        spec: SinkSpec,
        base: &PipelineConfig,
        options: SinkOptions,
        spool: Option<PathBuf>,
        receipts: Option<PathBuf>,
        permit: Option<Permit>,
    ) -> Self {
        let mut config = base.clone();
        config.spool = spool;
        config.receipts = receipts;
        config.permit = permit;
        Self {
            spec,
            config,
            options,
        }
    }

    /// The spool folder, if the delivery has one.
    pub(crate) fn spool_dir(&self) -> Option<PathBuf> {
        self.config.spool.clone()
    }

    /// A pipeline on a thread of its own (`Builder::replay`, which has no worker).
    pub(crate) fn start(&self) -> Result<Pipeline, BuildError> {
        let spec = self.spec.clone();
        let options = self.options.clone();
        Ok(Pipeline::start(self.config.clone(), move || {
            spec.build(options)
        })?)
    }

    /// A delivery for the facade's worker: the sink built within its deadline and the spool
    /// opened; when either cannot be, a delivery that drops each event and counts it
    /// ([`candor_transport::DropCause::SinkUnavailable`]), saying why.
    fn open(&self) -> Delivery {
        let spec = self.spec.clone();
        let options = self.options.clone();
        build_sink(move || spec.build(options))
            .and_then(|sink| Delivery::new(self.config.clone(), sink))
            .unwrap_or_else(|e| Delivery::unavailable(self.config.clone(), &e))
    }
}

/// The network delivery a product's events go through: the builder's sink (default: the
/// events file in Candor's folder), the product's spool and the receipts log. `build` and
/// `replay` both use it, so a replay sends exactly as a running host does.
pub(crate) fn network_plan(
    builder: &Builder,
    state: Option<&StateDir>,
    permit: Option<Permit>,
) -> Result<PipelinePlan, BuildError> {
    let product = builder.catalogue.product_id();
    let spec = match (&builder.sink, state) {
        (Some(sink), _) => sink.clone(),
        (None, Some(state)) => SinkSpec::File {
            path: state
                .events_file(product)
                .map_err(BuildError::state("the events file"))?,
        },
        (None, None) => return Err(BuildError::NoStateDir),
    };
    let spool = state
        .map(|s| s.spool_dir(product))
        .transpose()
        .map_err(BuildError::state("the spool folder"))?;
    // A copy of each accepted payload, as it went on the wire, for the person to see; for
    // as long as the catalogue says, never longer than Candor's default.
    let days = builder
        .catalogue
        .spec()
        .retention
        .local_copy_days
        .unwrap_or(candor_schema::MAX_LOCAL_COPY_DAYS)
        .min(candor_schema::MAX_LOCAL_COPY_DAYS);
    let caps = candor_state::CopyCaps {
        max_bytes: candor_schema::LOCAL_COPY_MAX_BYTES,
        max_age: std::time::Duration::from_secs(u64::from(days) * 24 * 3600),
    };
    let copies = state
        .map(|s| s.sent_copies(product, caps))
        .transpose()
        .map_err(BuildError::state("the folder of payloads sent"))?;
    let mut plan = PipelinePlan::new(
        spec,
        &builder.pipeline,
        builder.sink_options(),
        spool,
        state.map(StateDir::receipts_path),
        permit,
    );
    plan.config.copies = copies;
    Ok(plan)
}

/// One lane of the worker: not started yet, or delivering. Its counters are published when
/// it starts, for `Telemetry::status` to read from any thread.
pub(crate) struct Lane {
    plan: PipelinePlan,
    delivery: Option<Delivery>,
    counters: Arc<OnceLock<Counters>>,
}

impl Lane {
    pub(crate) fn new(plan: PipelinePlan, counters: Arc<OnceLock<Counters>>) -> Self {
        Self {
            plan,
            delivery: None,
            counters,
        }
    }

    /// Hands an event to the delivery, starting it first if need be.
    pub(crate) fn deliver(&mut self, event: Event) {
        let delivery = self.delivery.get_or_insert_with(|| {
            let delivery = self.plan.open();
            let _ = self.counters.set(delivery.counters());
            delivery
        });
        delivery.accept(event);
    }

    /// The delivery's counters, once it started.
    pub(crate) fn counters(&self) -> Option<&Counters> {
        self.counters.get()
    }

    pub(crate) fn tick(&mut self) {
        if let Some(d) = &mut self.delivery {
            d.tick();
        }
    }

    pub(crate) fn next_wake(&self) -> Option<Instant> {
        self.delivery.as_ref().map(Delivery::next_wake)
    }

    /// Carries out `control` on the delivery, if it started; the events pending afterwards.
    pub(crate) fn control(&mut self, control: Control, deadline: Instant) -> u64 {
        self.delivery
            .as_mut()
            .map_or(0, |d| d.control(control, deadline))
    }
}
