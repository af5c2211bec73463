//! The system snapshot: facts about the machine and process, read from the real system.
//!
//! Every reading is either a value the system reported or [`Unavailable`] with the reason;
//! nothing is guessed. On Linux the readings come from `/proc`, `/sys` and `/etc/os-release`
//! under a root directory that tests can point at a fixture tree; on other systems the files do
//! not exist and each reading says so.

mod container;
mod linux;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use candor_privacy::mac::{MacChoice, choose_mac};

pub use container::{app_service_signs, container_signs};

use candor_schema::{DataPointSpec, MachineReading};

use crate::input::Input;
use crate::record::Record;

/// Why a reading has no value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unavailable {
    /// What went wrong, in a sentence fragment (`cannot read /proc/self/status: not found`).
    pub reason: String,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl Unavailable {
    /// A reading that has no value, for this reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

/// One reading of the snapshot.
pub type Reading<T> = Result<T, Unavailable>;

/// Where the snapshot reads from: a root directory and an environment.
#[derive(Debug, Clone)]
pub struct SystemProbe {
    root: PathBuf,
    env: BTreeMap<String, String>,
}

impl SystemProbe {
    /// The real machine: root `/` and this process's environment.
    pub fn real() -> Self {
        Self {
            root: PathBuf::from("/"),
            env: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// A fixture tree under `root`, with the given environment.
    pub fn at(root: impl Into<PathBuf>, env: BTreeMap<String, String>) -> Self {
        Self {
            root: root.into(),
            env,
        }
    }

    /// The root read from.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative.trim_start_matches('/'))
    }

    pub(crate) fn var(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// Takes the snapshot.
    pub fn snapshot(&self) -> SystemSnapshot {
        let container = container_signs(self);
        let app_service = app_service_signs(self);
        SystemSnapshot {
            os_version: linux::os_version(self),
            kernel_version: linux::kernel_version(self),
            in_container: Ok(!container.is_empty()),
            container_signs: container,
            in_azure_app_service: Ok(!app_service.is_empty()),
            app_service_signs: app_service,
            mac_address: self.mac_address(),
            memory_page_size: linux::page_size(self),
            working_set: linux::working_set(self),
            process_running_time: linux::running_time(self),
        }
    }

    fn mac_address(&self) -> Reading<String> {
        let adapters = linux::adapters(self)?;
        match choose_mac(&adapters) {
            MacChoice::Chosen { address, .. } => Ok(address.to_string()),
            MacChoice::Unavailable { skipped } if skipped.is_empty() => {
                Err(Unavailable::new("no network adapter found"))
            }
            MacChoice::Unavailable { skipped } => Err(Unavailable::new(format!(
                "no adapter qualifies ({})",
                skipped
                    .iter()
                    .map(|(a, r)| format!("{a}: {r}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ))),
        }
    }
}

/// Facts about the machine and the process.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemSnapshot {
    /// The operating system's name and version.
    pub os_version: Reading<String>,
    /// The kernel's release (what `uname -r` prints).
    pub kernel_version: Reading<String>,
    /// Whether the process runs in a container.
    pub in_container: Reading<bool>,
    /// The signs that said so (empty when it does not).
    pub container_signs: Vec<String>,
    /// Whether the process runs in Azure App Service.
    pub in_azure_app_service: Reading<bool>,
    /// The signs that said so.
    pub app_service_signs: Vec<String>,
    /// The MAC address of the adapter chosen to identify the machine. It is only ever sent
    /// hashed; this field exists so that the hash is computed in one place, the preparer.
    pub mac_address: Reading<String>,
    /// The memory page size in bytes.
    pub memory_page_size: Reading<u64>,
    /// The process's resident memory in bytes.
    pub working_set: Reading<u64>,
    /// How long the process has been running.
    pub process_running_time: Reading<Duration>,
}

impl SystemSnapshot {
    /// One reading as the raw input for a point that names it as its source, or why it is
    /// unavailable. The input's shape is the one the reading's kind takes (a MAC address is an
    /// identifier, so it is only ever sent hashed).
    pub fn reading(&self, reading: MachineReading) -> Reading<Input> {
        fn map<T: Clone>(r: &Reading<T>, f: impl FnOnce(T) -> Input) -> Reading<Input> {
            r.clone().map(f)
        }
        match reading {
            MachineReading::OsVersion => map(&self.os_version, Input::Text),
            MachineReading::KernelVersion => map(&self.kernel_version, Input::Text),
            MachineReading::InContainer => map(&self.in_container, Input::Flag),
            MachineReading::InAzureAppService => map(&self.in_azure_app_service, Input::Flag),
            MachineReading::MacAddress => map(&self.mac_address, Input::Identifier),
            MachineReading::MemoryPageSize => map(&self.memory_page_size, Input::Count),
            MachineReading::WorkingSet => map(&self.working_set, Input::Count),
            MachineReading::ProcessRunningTime => map(&self.process_running_time, Input::Elapsed),
            other => Err(Unavailable::new(format!(
                "this Candor cannot take the reading `{other}`"
            ))),
        }
    }

    /// The readings `points` ask for, as `(point, input)` pairs, each with its value or why it
    /// is unavailable. Points without a source are skipped: only the product knows those.
    pub fn inputs_for<'a>(
        &self,
        points: impl IntoIterator<Item = &'a DataPointSpec>,
    ) -> Vec<(&'a str, Reading<Input>)> {
        points
            .into_iter()
            .filter_map(|point| Some((point.id.as_str(), self.reading(point.source?))))
            .collect()
    }
}

/// Records every reading `points` ask for into `sink`; returns the points whose reading is
/// unavailable, with the reason, so the host can log them. Pass the points in effect for the
/// running version (or every point of the catalogue, and let the preparer refuse the others).
pub fn record_readings<'a>(
    sink: &impl Record,
    points: impl IntoIterator<Item = &'a DataPointSpec>,
    snapshot: &SystemSnapshot,
) -> Vec<(&'a str, Unavailable)> {
    let mut unavailable = Vec::new();
    for (point, reading) in snapshot.inputs_for(points) {
        match reading {
            Ok(input) => sink.record(point, input),
            Err(why) => unavailable.push((point, why)),
        }
    }
    unavailable
}

/// The version of the Rust compiler that built Candor, for a Rust host that reports its own
/// runtime (`1.95.0`), or unavailable when the build could not tell.
pub fn rust_runtime_version() -> Reading<String> {
    let text = env!("CANDOR_RUSTC_VERSION");
    // `rustc 1.95.0 (59807616e 2026-04-14)` → `1.95.0`
    text.split_whitespace()
        .nth(1)
        .filter(|v| candor_schema::is_version_text(v))
        .map(str::to_owned)
        .ok_or_else(|| Unavailable::new("the compiler's version was not recorded at build time"))
}
