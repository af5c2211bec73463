//! Building a [`Telemetry`]: the catalogue, the product version, where to send, and what the
//! host knows about consent.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use candor_collect::{Preparer, ProductContext};
use candor_consent::{Environment, HostLaunch, HostSignals, Inputs, config_dir};
use candor_privacy::key_file::load_or_create_key;
use candor_privacy::{KeyedHasher, MachineLiterals, Scrubber};
use candor_schema::Catalogue;
use candor_transport::{PipelineConfig, SinkOptions, SinkSpec, SpoolCaps, Timeouts};

use crate::error::BuildError;
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
    pub(crate) env: Option<Environment>,
    pub(crate) host: HostSignals,
    pub(crate) hash_key: Option<Vec<u8>>,
    pub(crate) queue_capacity: usize,
    pub(crate) pipeline: PipelineConfig,
    pub(crate) timeouts: Timeouts,
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
            env: None,
            host: HostSignals::default(),
            hash_key: None,
            queue_capacity: 4096,
            pipeline: PipelineConfig::default(),
            timeouts: Timeouts::default(),
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

    /// How many recorded values may wait for the worker before new ones are dropped.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
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
        self
    }

    /// A PEM file of certificate authorities to trust for `https://` endpoints, besides the
    /// system's (a company CA, or a test CA). Default: the file `CANDOR_CA_FILE` names, if any.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    pub(crate) fn sink_options(&self) -> SinkOptions {
        SinkOptions {
            timeouts: self.timeouts,
            ca_file: self.ca_file.clone(),
            semconv: semantic_names([&*self.catalogue]),
        }
    }

    /// Spool caps (bytes, files, age).
    pub fn spool_caps(mut self, caps: SpoolCaps) -> Self {
        self.pipeline.spool = Some((PathBuf::new(), caps));
        self
    }

    /// Decides consent, then starts Candor's worker and sender threads. Nothing is queued
    /// before consent is decided; when it is off, no thread is started at all.
    pub fn build(mut self) -> Result<Telemetry, BuildError> {
        let version = self.version.clone().ok_or(BuildError::Missing(
            "the product version is required (Builder::version)",
        ))?;
        if let Some(sink) = &self.sink {
            sink.check()?;
        }
        let env = self.env.clone().unwrap_or_else(Environment::from_process);
        if self.ca_file.is_none() {
            self.ca_file = env
                .get("CANDOR_CA_FILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from);
        }
        let state_dir = self.state_dir.clone().or_else(|| config_dir(&env));
        let product = self.catalogue.product_id().to_owned();
        let inputs = Inputs::gather(env, state_dir.as_deref(), &product, self.host.clone());
        let preparer = product_preparer(
            Arc::clone(&self.catalogue),
            self.runtime.as_deref(),
            &version,
            state_dir.as_deref(),
            self.hash_key.as_deref(),
        )?;
        Telemetry::start(self, preparer, inputs, state_dir)
    }
}

/// The semantic-convention names the catalogues give their points, as OTLP sinks take them.
pub fn semantic_names<'a>(
    catalogues: impl IntoIterator<Item = &'a Catalogue>,
) -> candor_transport::SemanticNames {
    catalogues
        .into_iter()
        .map(|c| {
            let points = c
                .spec()
                .data_points
                .iter()
                .filter_map(|p| Some((p.id.clone(), p.semconv.clone()?)))
                .collect();
            (c.product_id().to_owned(), points)
        })
        .collect()
}

/// The preparer for a product as this installation runs it: the machine's scrubber and the
/// hashing key (`key` if given, else the installation's key in `state_dir/keys/<product>.key`,
/// created on first use; with neither, keyed points are refused and say so). The facade and
/// the command line (`preview`, `send`) both build it here, so a preview hashes exactly as the
/// wire does.
pub fn product_preparer(
    catalogue: Arc<Catalogue>,
    runtime: Option<&str>,
    version: &str,
    state_dir: Option<&Path>,
    key: Option<&[u8]>,
) -> Result<Preparer, BuildError> {
    let product = catalogue.product_id().to_owned();
    let context = ProductContext::new(catalogue, runtime, version)?;
    let scrubber = Arc::new(Scrubber::new(&MachineLiterals::detect()));
    let mut preparer = Preparer::new(context, scrubber);
    let key = match (key, state_dir) {
        (Some(key), _) => Some(key.to_vec()),
        (None, Some(dir)) => Some(
            load_or_create_key(&dir.join("keys").join(format!("{product}.key")))
                .map_err(|e| BuildError::State(format!("cannot create the hashing key: {e}")))?,
        ),
        (None, None) => None,
    };
    if let Some(key) = key {
        let hasher = KeyedHasher::with_derived_id(&key)
            .map_err(|e| BuildError::State(format!("hashing key: {e}")))?;
        preparer = preparer.with_hash_key(hasher);
    }
    Ok(preparer)
}
