//! Building a [`Telemetry`]: the catalogue, the product version, where to send, and what the
//! host knows about consent.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use candor_collect::{Preparer, ProductContext};
use candor_consent::{
    DecidedBy, Decision, Environment, HostLaunch, HostSignals, Inputs, Mode, config_dir, decide,
};
use candor_privacy::{KeyedHasher, MachineLiterals, Scrubber};
use candor_schema::{Catalogue, Date};
use candor_state::{ConfigRead, StateDir};
use candor_transport::{
    Admit, Endpoint, PipelineConfig, SinkOptions, SinkSpec, Spool, SpoolCaps, StatsSnapshot,
    Timeouts, TransportError,
};

use crate::error::BuildError;
use crate::file_settings::TransportSettings;
use crate::watch::{ConsentStamps, ConsentWatch, Folders, PROBE_WITHIN};

/// Names a PEM file of CA certificates to trust when the builder is given none.
const CA_FILE_VARIABLE: &str = "CANDOR_CA_FILE";
use crate::telemetry::Telemetry;

/// Configures a [`Telemetry`]. Only the version is required; everything else has a default
/// that sends nothing anywhere surprising (a file in Candor's folder).
///
/// Its `Debug` form never shows the hashing key, the relay token or an endpoint's query string.
pub struct Builder {
    pub(crate) catalogue: Arc<Catalogue>,
    pub(crate) version: Option<String>,
    pub(crate) runtime: Option<String>,
    pub(crate) sink: Option<SinkSpec>,
    pub(crate) state_dir: Option<PathBuf>,
    pub(crate) config_dir: Option<PathBuf>,
    pub(crate) env: Option<Environment>,
    pub(crate) host: HostSignals,
    pub(crate) hash_key: Option<Vec<u8>>,
    pub(crate) queue_capacity: usize,
    pub(crate) pipeline: PipelineConfig,
    pub(crate) timeouts: Timeouts,
    /// Whether the host set the timeouts (else `[transport]` in config.toml may).
    timeouts_set: bool,
    /// The CA `[transport]` in config.toml names, used when neither the host nor
    /// `CANDOR_CA_FILE` names one.
    file_ca: Option<PathBuf>,
    pub(crate) ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("product", &self.catalogue.product_id())
            .field("version", &self.version)
            .field("runtime", &self.runtime)
            .field("sink", &self.sink)
            .field("state_dir", &self.state_dir)
            .field("config_dir", &self.config_dir)
            .field("host", &self.host)
            .field("hash_key", &self.hash_key.as_ref().map(|_| "<redacted>"))
            .field("queue_capacity", &self.queue_capacity)
            .field("timeouts", &self.timeouts)
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

impl Builder {
    pub(crate) fn new(catalogue: Arc<Catalogue>) -> Self {
        Self {
            catalogue,
            version: None,
            runtime: None,
            sink: None,
            state_dir: None,
            config_dir: None,
            env: None,
            host: HostSignals::default(),
            hash_key: None,
            queue_capacity: 4096,
            pipeline: PipelineConfig::default(),
            timeouts: Timeouts::default(),
            timeouts_set: false,
            file_ca: None,
            ca_file: None,
        }
    }

    /// The product version that records (gates are checked against it). Required.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// The runtime line (required when the catalogue has several).
    pub fn runtime(mut self, line: impl Into<String>) -> Self {
        self.runtime = Some(line.into());
        self
    }

    /// Where events go. Default: a JSON-lines file under Candor's folder
    /// (`events/<product>.jsonl`).
    pub fn sink(mut self, sink: SinkSpec) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Candor's folder for keys, the spool, receipts and local events. Default: the user's
    /// configuration folder (`CANDOR_CONFIG_DIR`, else the platform's).
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// The Candor folder whose `config.toml` (and record of `candor consent`) consent reads
    /// and follows while the product runs. Default: the state folder ([`Builder::state_dir`]).
    /// A demo keeps its keys and spool apart but obeys the user's own choice this way.
    pub fn config_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config_dir = Some(dir.into());
        self
    }

    /// The environment consent reads (default: this process's).
    pub fn environment(mut self, env: Environment) -> Self {
        self.env = Some(env);
        self
    }

    /// The host that launched the product and its version (`visual-studio`, `17.14`).
    pub fn host(mut self, id: impl Into<String>, version: impl Into<String>) -> Self {
        self.host.launch = Some(HostLaunch {
            id: id.into(),
            version: version.into(),
        });
        self
    }

    /// Whether the host has turned its own telemetry off.
    pub fn host_opted_out(mut self, opted_out: bool) -> Self {
        self.host.host_opted_out = opted_out;
        self
    }

    /// A runtime condition that holds (`browser-open`).
    pub fn condition(mut self, id: impl Into<String>) -> Self {
        self.host.conditions.insert(id.into());
        self
    }

    /// The key for `hmac-sha256` points. Default: a random key made once per installation
    /// and kept in Candor's folder.
    pub fn hash_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.hash_key = Some(key.into());
        self
    }

    /// How many recorded values may wait for the worker, per recording thread, before new
    /// ones are dropped (the sender's queue holds at least as many prepared events). Each of
    /// the first four threads that record gets a ring of this size and the threads beyond
    /// share one more, all allocated when the product starts: five times this many slots of
    /// 64 bytes (1.25 MiB at the default 4096).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self.pipeline.queue_capacity = capacity.max(PipelineConfig::default().queue_capacity);
        self
    }

    /// The first retry waits up to `base`; each further one up to twice as long, at most `max`.
    pub fn retry_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.pipeline.backoff_base = base;
        self.pipeline.backoff_max = max.max(base);
        self
    }

    /// How long a batch waits for more events before it is sent.
    pub fn batch_wait(mut self, wait: Duration) -> Self {
        self.pipeline.batch_max_wait = wait;
        self
    }

    /// Connection and request timeouts of network sinks.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self.timeouts_set = true;
        self
    }

    /// A PEM file of certificate authorities to trust for `https://` endpoints, besides the
    /// system's (a company CA, or a test CA). Default: the file `CANDOR_CA_FILE` names, if any.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    pub(crate) fn sink_options(&self) -> SinkOptions {
        // The builder's CA first, else `CANDOR_CA_FILE` (never an `OTEL_*` or proxy variable).
        let ca_file = self.ca_file.clone().or_else(|| {
            let env = self.env.clone().unwrap_or_else(Environment::from_process);
            env.get(CA_FILE_VARIABLE)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| self.file_ca.clone())
        });
        SinkOptions {
            timeouts: self.timeouts,
            ca_file,
            semconv: candor_schema::semantic_names([&*self.catalogue]),
        }
    }

    /// Spool caps (bytes, files, age).
    pub fn spool_caps(mut self, caps: SpoolCaps) -> Self {
        self.pipeline.spool_caps = caps;
        self
    }

    /// Decides consent, then starts Candor's worker and sender threads. Nothing is queued
    /// before consent is decided; while it is off, nothing is queued at all and the worker only
    /// follows the consent inputs (the user's `config.toml`), so that a change to `on` starts
    /// collecting. When the catalogue's network block holds, the endpoint is probed first
    /// (within two seconds), and what waits in the spool is discarded if it still holds.
    pub fn build(self) -> Result<Telemetry, BuildError> {
        let version = self.version.clone().ok_or(BuildError::NoVersion)?;
        if let Some(sink) = &self.sink {
            sink.check()?;
        }
        let begun = self.begin()?;
        let mut this = self.with_file_settings(&begun);
        let preparer = product_preparer(
            Arc::clone(&this.catalogue),
            this.runtime.as_deref(),
            &version,
            begun.folders.state.as_ref(),
            this.hash_key.as_deref(),
        )?;
        this.pipeline.admit = Some(readmission(
            Arc::clone(&this.catalogue),
            Arc::clone(preparer.scrubber()),
        ));
        Telemetry::start(this, preparer, begun)
    }

    /// Fills what the host left unset from `[transport]` in the user's `config.toml` (the CA
    /// only after `CANDOR_CA_FILE`, which `sink_options` reads first).
    fn with_file_settings(mut self, begun: &Begun) -> Self {
        let file = &begun.transport;
        if !self.timeouts_set {
            if let Some(connect) = file.connect_timeout() {
                self.timeouts.connect = connect;
            }
            if let Some(request) = file.request_timeout() {
                self.timeouts.request = request;
            }
        }
        // A relative path is read from Candor's folder, where the file that names it lives.
        self.file_ca = match (&file.ca_file, &begun.folders.config) {
            (Some(path), Some(folder)) => Some(folder.root().join(path)),
            _ => None,
        };
        self
    }

    /// Everything consent and the transport settings read when a product starts: one reading
    /// of `config.toml` (consent takes its section, the transport settings theirs), the
    /// first-run marker and the network record, with this environment and what the host said.
    /// When the network block holds, the endpoint is probed (within [`PROBE_WITHIN`]): an
    /// answer lifts it. When the user's word then does not send (off or local, see
    /// `DecidedBy::is_users_word`), what waits in the spool is discarded: it was recorded
    /// under a decision that no longer holds.
    fn begin(&self) -> Result<Begun, BuildError> {
        let env = self.env.clone().unwrap_or_else(Environment::from_process);
        let state = self
            .state_dir
            .clone()
            .or_else(|| config_dir(&env))
            .map(StateDir::new);
        let config = self.config_dir.clone().map(StateDir::new).or(state.clone());
        let product = self.catalogue.product_id().to_owned();
        // Stamped before they are read: an edit landing after the read shows as a change the
        // watch then reads, never as the file already read (review H1).
        let stamps = ConsentStamps::take(config.as_ref(), &product);
        let read = config
            .as_ref()
            .map_or(ConfigRead::Missing, StateDir::config);
        let transport = TransportSettings::from_config(&read)?;
        let mut inputs = Inputs::gather(env, &read, state.as_ref(), &product, self.host.clone());
        let endpoint = self
            .sink
            .as_ref()
            .and_then(SinkSpec::endpoint)
            .and_then(Result::ok);
        if blocked(&decide(&self.catalogue, &inputs))
            && endpoint
                .as_ref()
                .is_some_and(|e| e.accepts_connection(PROBE_WITHIN))
        {
            if let Some(state) = &state {
                let _ = state.set_unanswered_since(&product, None);
            }
            inputs.unanswered_since = None;
            inputs.unreadable_network_record = None;
        }
        // What earlier runs left in the spool was recorded to be sent. The user's word against
        // sending (off or local, however it came about: `candor consent`, a hand edit, a
        // variable set for this run, the network block) is a change of decision since then:
        // what was recorded before it is withdrawn, never sent by a later run that is on
        // again. A process that only lacks the context (no host, a runtime condition, CI) or
        // waits for the first-run notice leaves it waiting.
        let decision = decide(&self.catalogue, &inputs);
        let discarded = match &state {
            Some(state) if decision.mode != Mode::On && decision.decided_by.is_users_word() => {
                discard_spooled(state, &product)?
            }
            _ => 0,
        };
        // The person's word against collection owes the vendor one deletion request, where
        // the catalogue declares a key (`crate::deletion`).
        let deletion = state
            .as_ref()
            .and_then(|state| crate::deletion::settle(state, &self.catalogue, &decision));
        Ok(Begun {
            inputs,
            folders: Folders { config, state },
            stamps,
            transport,
            endpoint,
            discarded,
            deletion,
        })
    }

    /// Delivers what earlier runs left in this product's spool, through the same sink,
    /// spool, caps and receipts a built [`Telemetry`] uses, within `deadline`. Consent is
    /// decided first, exactly as [`Builder::build`] decides it: unless the decision allows
    /// sending now, nothing is sent; the spool is discarded when the user's word is off or
    /// local (see `begin`), and left as it is when this process only lacks the context (a
    /// host, a runtime condition) or a first-run notice is pending. While it sends, consent is
    /// followed as a running product follows it, and each event read back passes the one event
    /// check again; nothing recorded before the user last withdrew it is sent. No version is
    /// needed.
    /// (`candor::admin::replay`.)
    pub(crate) fn replay(self, deadline: Duration) -> Result<Replayed, BuildError> {
        if let Some(sink) = &self.sink {
            sink.check()?;
        }
        let mut begun = self.begin()?;
        let mut this = self.with_file_settings(&begun);
        let deletion = match (begun.deletion.take(), &begun.folders.state, &this.sink) {
            (Some(record), Some(state), Some(sink)) => Some(crate::deletion::deliver(
                state,
                sink,
                &this.sink_options(),
                record,
                deadline,
            )),
            (record, _, _) => record,
        };
        this.pipeline.admit = Some(readmission(
            Arc::clone(&this.catalogue),
            Arc::new(Scrubber::new(&MachineLiterals::detect())),
        ));
        let (watch, state, discarded) = begun.watch(&this.catalogue);
        let decision = watch.gate().decision();
        let plan = crate::lane::network_plan(&this, state.as_ref(), Some(watch.permit(Mode::On)))?;
        let spool = plan.spool_dir();
        if !decision.may_send() {
            return Ok(Replayed {
                decision,
                sent: None,
                spool,
                discarded,
                deletion,
            });
        }
        let pipeline = plan.start()?;
        Ok(Replayed {
            decision,
            sent: Some(pipeline.shutdown(deadline)),
            spool,
            discarded,
            deletion,
        })
    }
}

/// What a product starts from (see `Builder::begin`).
pub(crate) struct Begun {
    pub(crate) inputs: Inputs,
    pub(crate) folders: Folders,
    /// The consent files' stamps, taken before they were read.
    pub(crate) stamps: ConsentStamps,
    pub(crate) transport: TransportSettings,
    pub(crate) endpoint: Option<Endpoint>,
    /// Events discarded from the spool at the start: the decision did not send.
    pub(crate) discarded: u64,
    /// A deletion request still to be delivered.
    pub(crate) deletion: Option<candor_transport::DeletionRecord>,
}

impl Begun {
    /// The consent watch that follows these inputs for `catalogue`'s product, the state folder,
    /// and what the network block discarded at the start.
    pub(crate) fn watch(
        self,
        catalogue: &Arc<Catalogue>,
    ) -> (Arc<ConsentWatch>, Option<StateDir>, u64) {
        let state = self.folders.state.clone();
        let watch = Arc::new(ConsentWatch::new(
            Arc::clone(catalogue),
            self.inputs,
            self.folders,
            self.stamps,
            self.endpoint,
        ));
        (watch, state, self.discarded)
    }
}

/// The check every event read back from the product's spool passes before it is sent: the
/// one `candor-check` runs where events arrive (this catalogue's product and revision, a
/// declared point in effect for the event's version, kind and bounds, scrubbed text clean,
/// verbatim values in their grammar, hashes in their form, a time within bounds), with this
/// machine's scrubber, and the point's expiry by the UTC day the value was recorded, as the
/// preparer checks it. A spool line changed on disk (another product, an undeclared point,
/// raw personal data) never leaves; the pipeline drops it as `DropCause::Inadmissible`.
fn readmission(catalogue: Arc<Catalogue>, scrubber: Arc<Scrubber>) -> Admit {
    Admit::new(move |event| {
        let admitted = candor_check::check_event(&catalogue, event, SystemTime::now(), &scrubber)
            .map_err(|refusal| refusal.to_string())?;
        let recorded = event.time().to_system_time();
        let expired = catalogue
            .expired(
                event.point(),
                event.runtime_line(),
                &admitted.version,
                Date::from_system_time(recorded),
            )
            .ok()
            .flatten();
        match expired {
            Some(expired) => Err(format!(
                "`{}` is no longer collected: {expired}",
                admitted.point.id
            )),
            None => Ok(()),
        }
    })
}

/// Whether the network block decided.
fn blocked(decision: &Decision) -> bool {
    matches!(decision.decided_by, DecidedBy::NetworkBlock { .. })
}

/// Discards what waits in `product`'s spool in `state`, under the spool's locks; a spool that
/// does not exist holds nothing and is not created.
pub(crate) fn discard_spooled(state: &StateDir, product: &str) -> Result<u64, BuildError> {
    /// Long enough for a delivery in progress to end (a request's default timeout is 15 s).
    const WAIT: Duration = Duration::from_secs(30);
    let dir = state
        .spool_dir(product)
        .map_err(BuildError::state("the spool folder"))?;
    if !candor_state::file::is_dir(&dir) {
        return Ok(0);
    }
    let spool =
        Spool::open(&dir, SpoolCaps::default()).map_err(|source| TransportError::Spool {
            dir: dir.clone(),
            source: Arc::new(source),
        })?;
    spool
        .discard_all(WAIT)
        .map_err(BuildError::state("cannot discard the spool"))
}

/// What [`crate::admin::replay`] did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Replayed {
    /// The consent decision taken before anything was sent.
    pub decision: Decision,
    /// The pipeline's counters, when the decision allowed sending.
    pub sent: Option<StatsSnapshot>,
    /// The spool folder replayed (or left alone).
    pub spool: Option<std::path::PathBuf>,
    /// Events found waiting and discarded because the decision does not send (off by any
    /// rule, the network block included, or local): they were recorded under another.
    pub discarded: u64,
    /// The deletion request owed for this product, as it stands after this run tried to
    /// deliver it (confirmed, refused with its cause, or waiting).
    pub deletion: Option<candor_transport::DeletionRecord>,
}

/// The preparer for a product as this installation runs it: the machine's scrubber and the
/// hashing key (`key` if given, else the installation's key that Candor's folder keeps,
/// created on first use, one per product whatever the race; with neither, keyed points are
/// refused and say so). The facade and the command line (`preview`) both build it here, so a
/// preview hashes exactly as the wire does.
pub(crate) fn product_preparer(
    catalogue: Arc<Catalogue>,
    runtime: Option<&str>,
    version: &str,
    state: Option<&StateDir>,
    key: Option<&[u8]>,
) -> Result<Preparer, BuildError> {
    let product = catalogue.product_id().to_owned();
    let context = ProductContext::new(catalogue, runtime, version)?;
    let scrubber = Arc::new(Scrubber::new(&MachineLiterals::detect()));
    let mut preparer = Preparer::new(context, scrubber);
    let key = match (key, state) {
        (Some(key), _) => Some(key.to_vec()),
        (None, Some(state)) => Some(
            state
                .hashing_key(&product)
                .map_err(BuildError::state("cannot create the hashing key"))?,
        ),
        (None, None) => None,
    };
    if let Some(key) = key {
        let hasher = KeyedHasher::with_derived_id(&key).map_err(BuildError::HashKey)?;
        preparer = preparer.with_hash_key(hasher);
    }
    if let Some(key) = crate::deletion::tracing_key(state, preparer.context().catalogue())? {
        preparer = preparer.with_install_id(key);
    }
    Ok(preparer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder(dir: &std::path::Path) -> Builder {
        crate::Telemetry::builder(crate::builtin("contrast-dotnet-agent").expect("built in"))
            .state_dir(dir)
            .environment(Environment::from_pairs::<&str, &str>([]))
    }

    /// Review H1: a product starting while `candor consent off` runs read `config.toml` (still
    /// on) and only then stamped it, so the `off` that landed in between was taken for the file
    /// already read and never followed. The window is made wide here: the edit lands after the
    /// startup read and before the watch starts; the first look must read it.
    #[test]
    fn an_off_landing_between_the_startup_read_and_the_watch_is_followed() {
        let dir = tempfile::tempdir().expect("tmp");
        let config = dir.path().join("config.toml");
        std::fs::write(&config, "mode = \"on\"\n").expect("config");
        let b = builder(dir.path());
        let begun = b.begin().expect("begin");
        std::fs::write(&config, "mode = \"off\"\n").expect("the user's off");
        let (watch, _, _) = begun.watch(&b.catalogue);
        assert_eq!(watch.gate().mode(), Mode::On, "what the startup read said");
        assert!(watch.follow().is_some(), "the edit is seen as a change");
        assert_eq!(watch.gate().mode(), Mode::Off);
    }

    /// The same for the consent-change record `candor consent` writes first: one written
    /// between the startup read and the watch's start is a change the first look renews on
    /// (withdrawing what was recorded before it), not a record taken as already seen.
    #[test]
    fn a_consent_record_landing_between_the_startup_read_and_the_watch_is_followed() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("config.toml"), "mode = \"on\"\n").expect("config");
        let b = builder(dir.path());
        let begun = b.begin().expect("begin");
        StateDir::new(dir.path())
            .note_consent_change(b.catalogue.product_id())
            .expect("record");
        let (watch, _, _) = begun.watch(&b.catalogue);
        assert!(
            watch.follow().is_some(),
            "the record written after the startup read is followed"
        );
        assert!(watch.follow().is_none(), "and then taken as seen");
    }
}
