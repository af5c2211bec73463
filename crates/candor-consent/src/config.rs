//! The user's Candor configuration file: a mode per product.
//!
//! ```toml
//! # For every product, unless a product says otherwise.
//! mode = "on"
//!
//! [products.aspire-dashboard]
//! mode = "local"   # collect and keep on this machine, never send
//! ```
//!
//! A file that cannot be read or parsed does not fall back to defaults: it turns telemetry off,
//! because the user evidently meant to say something and Candor cannot tell what.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::decision::Mode;
use crate::environment::Environment;

/// The variable that moves Candor's configuration folder (for tests and managed machines).
pub const CONFIG_DIR_VARIABLE: &str = "CANDOR_CONFIG_DIR";

/// The largest configuration file Candor reads; a larger one is treated as broken.
const MAX_CONFIG_BYTES: u64 = 256 * 1024;

/// The user's configuration file, in Candor's configuration folder.
pub const CONFIG_FILE: &str = candor_state::CONFIG_FILE;

/// Candor's configuration folder: `$CANDOR_CONFIG_DIR`, else the platform's configuration folder
/// with `candor` appended (`~/.config/candor` on Linux). `None` when neither is known.
pub fn config_dir(env: &Environment) -> Option<PathBuf> {
    if let Some(dir) = env.get(CONFIG_DIR_VARIABLE).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    dirs::config_dir().map(|d| d.join("candor"))
}

/// What the configuration file says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The mode for every product without its own entry.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// Per-product settings, by product id.
    #[serde(default)]
    pub products: BTreeMap<String, ProductConfig>,
    /// `[transport]`: where and how Candor sends, which the facade reads. Consent does not
    /// look inside it; it is named here so that the rest of the file stays strictly checked.
    #[serde(default)]
    transport: Option<OtherSection>,
}

/// A section another part of Candor reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct OtherSection;

impl<'de> Deserialize<'de> for OtherSection {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| Self)
    }
}

/// One product's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductConfig {
    /// The mode for this product.
    #[serde(default)]
    pub mode: Option<Mode>,
}

impl UserConfig {
    /// The mode the file sets for a product, if any.
    pub fn mode_for(&self, product: &str) -> Option<Mode> {
        self.products
            .get(product)
            .and_then(|p| p.mode)
            .or(self.mode)
    }

    /// Parses the file's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| {
            let message = e.message().trim().replace('\n', "; ");
            match e.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}: {message}")
                }
                None => message,
            }
        })
    }

    /// Reads the file at `path`. A missing file is normal and means "no settings"; a file that
    /// is too large, not UTF-8, or not a regular file (a symlink, a FIFO) is broken.
    pub fn load(path: &Path) -> ConfigState {
        let broken = |message: String| {
            ConfigState::Broken(ConfigError {
                path: path.to_owned(),
                message,
            })
        };
        let bytes = match candor_state::file::read_capped(path, MAX_CONFIG_BYTES) {
            Ok(bytes) => bytes,
            Err(e) if e.is_not_found() => return ConfigState::Missing,
            Err(candor_state::StateError::TooLarge { .. }) => {
                return broken(format!(
                    "larger than {MAX_CONFIG_BYTES} bytes, more than a configuration file can be"
                ));
            }
            Err(e) => return broken(without_path(&e.to_string(), path)),
        };
        let Ok(text) = String::from_utf8(bytes) else {
            return broken("the file is not UTF-8 text".to_owned());
        };
        match Self::parse(&text) {
            Ok(config) => ConfigState::Loaded {
                path: path.to_owned(),
                config,
            },
            Err(message) => broken(message),
        }
    }

    /// Reads `config.toml` from Candor's configuration folder.
    pub fn load_default(env: &Environment) -> ConfigState {
        match config_dir(env) {
            Some(dir) => Self::load(&candor_state::StateDir::new(dir).config_file()),
            None => ConfigState::Missing,
        }
    }
}

/// The state crate's one-line error names the path; the configuration error names it too.
fn without_path(message: &str, path: &Path) -> String {
    let prefix = format!("{}: ", path.display());
    message.strip_prefix(&prefix).unwrap_or(message).to_owned()
}

/// A configuration file that exists but cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub message: String,
}

/// The configuration as the decision sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ConfigState {
    /// There is no configuration file.
    #[default]
    Missing,
    /// The file was read.
    Loaded {
        /// Where it was read from.
        path: PathBuf,
        /// What it says.
        config: UserConfig,
    },
    /// The file exists but cannot be used; telemetry is off until it is fixed.
    Broken(ConfigError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_entries_override_the_global_mode() {
        let config =
            UserConfig::parse("mode = \"off\"\n[products.aspire-dashboard]\nmode = \"local\"\n")
                .expect("valid");
        assert_eq!(config.mode_for("aspire-dashboard"), Some(Mode::Local));
        assert_eq!(config.mode_for("contrast-dotnet-agent"), Some(Mode::Off));
    }

    #[test]
    fn unknown_modes_and_fields_are_errors() {
        assert!(UserConfig::parse("mode = \"maybe\"").is_err());
        assert!(UserConfig::parse("mood = \"on\"").is_err());
        let err = UserConfig::parse("\n\nmode = ").expect_err("syntax");
        assert!(err.starts_with("line 3"), "{err}");
    }

    #[test]
    fn missing_broken_and_huge_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(
            UserConfig::load(&dir.path().join("absent.toml")),
            ConfigState::Missing
        );
        let broken = dir.path().join("broken.toml");
        std::fs::write(&broken, [0xff, 0xfe]).expect("write");
        assert!(matches!(UserConfig::load(&broken), ConfigState::Broken(_)));
        let huge = dir.path().join("huge.toml");
        std::fs::write(&huge, "#".repeat(300 * 1024)).expect("write");
        assert!(matches!(UserConfig::load(&huge), ConfigState::Broken(_)));
        // A folder where the file should be.
        assert!(matches!(
            UserConfig::load(dir.path()),
            ConfigState::Broken(_)
        ));
        // A FIFO: refused at once, never blocked on (it would hang a host's `build()`).
        #[cfg(unix)]
        {
            let fifo = dir.path().join("fifo.toml");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            assert!(made.is_ok_and(|s| s.success()));
            let started = std::time::Instant::now();
            let state = UserConfig::load(&fifo);
            assert!(started.elapsed() < std::time::Duration::from_secs(2));
            assert!(
                matches!(&state, ConfigState::Broken(e) if e.message.contains("FIFO")),
                "{state:?}"
            );
            let link = dir.path().join("link.toml");
            std::fs::write(dir.path().join("real.toml"), "mode = \"on\"\n").expect("write");
            std::os::unix::fs::symlink(dir.path().join("real.toml"), &link).expect("symlink");
            assert!(matches!(UserConfig::load(&link), ConfigState::Broken(_)));
        }
    }

    #[test]
    fn the_config_dir_can_be_moved_by_a_variable() {
        let env = Environment::from_pairs([(CONFIG_DIR_VARIABLE, "/tmp/candor-test")]);
        assert_eq!(config_dir(&env), Some(PathBuf::from("/tmp/candor-test")));
    }
}
