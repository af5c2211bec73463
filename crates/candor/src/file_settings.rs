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
//! What a host sets on its builder wins, then `CANDOR_*` variables, then this file. A file
//! that cannot be parsed at all is consent's to report (it turns telemetry off); a
//! `[transport]` section with an unknown key or an unusable value is a build error, never
//! silently ignored.

use std::path::PathBuf;
use std::time::Duration;

use candor_state::StateDir;
use serde::Deserialize;

use crate::error::BuildError;

/// The longest timeout the file may set.
const MAX_TIMEOUT_SECONDS: f64 = 600.0;

#[derive(Debug, Default, Deserialize)]
struct File {
    #[serde(default)]
    transport: Option<TransportSettings>,
}

/// What `[transport]` says.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TransportSettings {
    pub(crate) ca_file: Option<PathBuf>,
    connect_timeout_seconds: Option<f64>,
    request_timeout_seconds: Option<f64>,
}

impl TransportSettings {
    /// The section in Candor's folder's `config.toml`; none when there is no file, no
    /// section, or a file consent already refuses as broken.
    pub(crate) fn read(state: &StateDir) -> Result<Self, BuildError> {
        let text = match state.read_config() {
            Ok(Some(text)) => text,
            Ok(None) | Err(_) => return Ok(Self::default()),
        };
        let Ok(file) = toml::from_str::<toml::Table>(&text) else {
            return Ok(Self::default());
        };
        let Some(section) = file.get("transport") else {
            return Ok(Self::default());
        };
        let file: File = toml::Value::Table(
            [("transport".to_owned(), section.clone())]
                .into_iter()
                .collect(),
        )
        .try_into()
        .map_err(|e: toml::de::Error| {
            BuildError::Config(format!(
                "{}: [transport]: {}",
                state.config_file().display(),
                e.message().trim()
            ))
        })?;
        let settings = file.transport.unwrap_or_default();
        for (name, value) in [
            ("connect_timeout_seconds", settings.connect_timeout_seconds),
            ("request_timeout_seconds", settings.request_timeout_seconds),
        ] {
            if value.is_some_and(|v| !(v > 0.0 && v <= MAX_TIMEOUT_SECONDS)) {
                return Err(BuildError::Config(format!(
                    "{}: [transport] {name} must be more than 0 and at most {MAX_TIMEOUT_SECONDS}",
                    state.config_file().display()
                )));
            }
        }
        Ok(settings)
    }

    pub(crate) fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout_seconds.map(Duration::from_secs_f64)
    }

    pub(crate) fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout_seconds.map(Duration::from_secs_f64)
    }
}
