//! `[transport]` in the user's `config.toml`: Candor's own transport settings, for a machine
//! whose operator configures Candor once rather than in each host.
//!
//! ```toml
//! [transport]
//! ca_file = "/etc/ssl/company-ca.pem"   # trusted besides the system's, for https://
//! connect_timeout_seconds = 5
//! request_timeout_seconds = 15
//! ```
//!
//! What a host sets on its builder wins, then `CANDOR_*` variables, then this file. The file
//! is read and parsed by `candor-state` (once, for consent and for these settings); a file that
//! cannot be parsed at all is consent's to report (it turns telemetry off); a `[transport]`
//! section with an unknown key or an unusable value is a build error, never silently ignored.

use std::path::PathBuf;
use std::time::Duration;

use candor_state::{ConfigError, ConfigRead};

use crate::error::BuildError;

/// The longest timeout the file may set.
const MAX_TIMEOUT_SECONDS: f64 = 600.0;

/// What `[transport]` says, checked.
#[derive(Debug, Default)]
pub(crate) struct TransportSettings {
    pub(crate) ca_file: Option<PathBuf>,
    connect_timeout_seconds: Option<f64>,
    request_timeout_seconds: Option<f64>,
}

impl TransportSettings {
    /// The section of one reading of `config.toml` (`candor-state` reads and parses it); none
    /// when there is no file, or a file consent already refuses as unusable.
    pub(crate) fn from_config(read: &ConfigRead) -> Result<Self, BuildError> {
        let Some(file) = read.file() else {
            return Ok(Self::default());
        };
        let section = file
            .transport()
            .map_err(|e| BuildError::Config(e.clone()))?;
        for (name, value) in [
            ("connect_timeout_seconds", section.connect_timeout_seconds),
            ("request_timeout_seconds", section.request_timeout_seconds),
        ] {
            if value.is_some_and(|v| !(v > 0.0 && v <= MAX_TIMEOUT_SECONDS)) {
                return Err(BuildError::Config(ConfigError {
                    path: file.path().to_owned(),
                    message: format!(
                        "[transport] {name} must be more than 0 and at most {MAX_TIMEOUT_SECONDS}"
                    ),
                }));
            }
        }
        Ok(Self {
            ca_file: section.ca_file.clone(),
            connect_timeout_seconds: section.connect_timeout_seconds,
            request_timeout_seconds: section.request_timeout_seconds,
        })
    }

    pub(crate) fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout_seconds.map(Duration::from_secs_f64)
    }

    pub(crate) fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout_seconds.map(Duration::from_secs_f64)
    }
}
