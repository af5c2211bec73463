//! The machine readings a data point may name as its source.
//!
//! A catalogue says which fact about the machine or process a point carries
//! (`source = "system.kernel_version"`); the collectors provide each reading by that name, so a
//! system snapshot fills exactly the points its product's catalogue asks for. This crate only
//! names the readings and the value kinds each can fill; it never takes one.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::ValueType;

/// A reading of the machine or process that Candor's collectors can take.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[non_exhaustive]
pub enum MachineReading {
    /// The operating system's name and version (`Ubuntu 22.04.4 LTS`); fills `text`.
    #[serde(rename = "system.os_version")]
    OsVersion,
    /// The kernel's release, as `uname -r` prints it; fills `text`.
    #[serde(rename = "system.kernel_version")]
    KernelVersion,
    /// Whether the process runs in a container; fills `flag`.
    #[serde(rename = "system.in_container")]
    InContainer,
    /// Whether the process runs in Azure App Service; fills `flag`.
    #[serde(rename = "system.in_azure_app_service")]
    InAzureAppService,
    /// The MAC address of the adapter chosen to identify the machine; fills `hashed` only, so
    /// the address itself never leaves.
    #[serde(rename = "system.mac_address")]
    MacAddress,
    /// The memory page size in bytes; fills `count`.
    #[serde(rename = "system.memory_page_size")]
    MemoryPageSize,
    /// The process's resident memory in bytes; fills `count`.
    #[serde(rename = "system.working_set")]
    WorkingSet,
    /// How long the process has been running; fills `duration`.
    #[serde(rename = "system.process_running_time")]
    ProcessRunningTime,
}

impl MachineReading {
    /// Every reading, in a stable order.
    pub const ALL: &'static [Self] = &[
        Self::OsVersion,
        Self::KernelVersion,
        Self::InContainer,
        Self::InAzureAppService,
        Self::MacAddress,
        Self::MemoryPageSize,
        Self::WorkingSet,
        Self::ProcessRunningTime,
    ];

    /// The name catalogues use (`system.kernel_version`).
    pub fn name(self) -> &'static str {
        match self {
            Self::OsVersion => "system.os_version",
            Self::KernelVersion => "system.kernel_version",
            Self::InContainer => "system.in_container",
            Self::InAzureAppService => "system.in_azure_app_service",
            Self::MacAddress => "system.mac_address",
            Self::MemoryPageSize => "system.memory_page_size",
            Self::WorkingSet => "system.working_set",
            Self::ProcessRunningTime => "system.process_running_time",
        }
    }

    /// The reading with this name, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.name() == name)
    }

    /// The value kind (as written in catalogues) this reading fills.
    pub fn kind_name(self) -> &'static str {
        match self {
            Self::OsVersion | Self::KernelVersion => "text",
            Self::InContainer | Self::InAzureAppService => "flag",
            Self::MacAddress => "hashed",
            Self::MemoryPageSize | Self::WorkingSet => "count",
            Self::ProcessRunningTime => "duration",
        }
    }

    /// Whether a point of this value kind can carry the reading.
    pub fn fits(self, value: &ValueType) -> bool {
        value.kind_name() == self.kind_name()
    }
}

impl std::fmt::Display for MachineReading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
