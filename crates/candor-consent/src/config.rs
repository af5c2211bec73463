//! The modes the user's configuration file sets, as consent reads them.
//!
//! ```toml
//! # For every product, unless a product says otherwise.
//! mode = "on"
//!
//! [products.aspire-dashboard]
//! mode = "local"   # collect and keep on this machine, never send
//! ```
//!
//! `candor-state` reads and parses the file (once per reading) and hands over its consent
//! section; this module reads the words: `on`, `local` or `off`, in any case, surrounding
//! spaces ignored, an empty value unset. A file that cannot be read or parsed, or a mode word
//! Candor does not know, does not fall back to defaults: it turns telemetry off, because the
//! user evidently meant to say something and Candor cannot tell what.

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use candor_state::{CONFIG_FILE, ConfigError, ModeScope};
use candor_state::{ConfigFile, ConfigRead};

use crate::decision::Mode;
use crate::environment::Environment;

/// The variable that moves Candor's configuration folder (for tests and managed machines).
pub const CONFIG_DIR_VARIABLE: &str = "CANDOR_CONFIG_DIR";

/// Candor's configuration folder: `$CANDOR_CONFIG_DIR`, else the platform's configuration folder
/// with `candor` appended (`~/.config/candor` on Linux). `None` when neither is known.
pub fn config_dir(env: &Environment) -> Option<PathBuf> {
    if let Some(dir) = env.get(CONFIG_DIR_VARIABLE).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    dirs::config_dir().map(|d| d.join("candor"))
}

/// The modes the configuration file sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserConfig {
    /// The mode for every product without its own entry.
    pub mode: Option<Mode>,
    /// Per-product settings, by product id.
    pub products: BTreeMap<String, ProductConfig>,
}

/// One product's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProductConfig {
    /// The mode for this product.
    pub mode: Option<Mode>,
}

impl Mode {
    /// Reads a mode as a user writes it: `on`, `local` or `off`, in any case, surrounding
    /// spaces ignored; an empty value is `None` (unset). Any other word is an error naming it,
    /// shown safely.
    pub fn from_word(word: &str) -> Result<Option<Self>, String> {
        let trimmed = word.trim();
        match trimmed.to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "on" => Ok(Some(Self::On)),
            "local" => Ok(Some(Self::Local)),
            "off" => Ok(Some(Self::Off)),
            _ => Err(format!(
                "mode \"{}\" is not one of on, local, off",
                crate::switch::shown(trimmed)
            )),
        }
    }
}

impl UserConfig {
    /// The mode the file sets for a product, if any.
    pub fn mode_for(&self, product: &str) -> Option<Mode> {
        self.products
            .get(product)
            .and_then(|p| p.mode)
            .or(self.mode)
    }

    /// Reads the modes of a parsed configuration file; a word that is not a mode is an error.
    pub fn from_file(file: &ConfigFile) -> Result<Self, String> {
        let section = file.consent();
        let mode = section
            .mode
            .as_deref()
            .map(Mode::from_word)
            .transpose()?
            .flatten();
        let products = section
            .products
            .iter()
            .map(|(id, product)| {
                let mode = product
                    .mode
                    .as_deref()
                    .map(Mode::from_word)
                    .transpose()
                    .map_err(|e| format!("[products.{id}]: {e}"))?
                    .flatten();
                Ok((id.clone(), ProductConfig { mode }))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { mode, products })
    }

    /// Parses a configuration file's text (through `candor-state`, as a reading does).
    pub fn parse(text: &str) -> Result<Self, String> {
        let file =
            ConfigFile::parse(std::path::Path::new(CONFIG_FILE), text).map_err(|e| e.message)?;
        Self::from_file(&file)
    }
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

impl ConfigState {
    /// Consent's section of one reading of the file.
    pub fn from_read(read: &ConfigRead) -> Self {
        match read {
            ConfigRead::Missing => Self::Missing,
            ConfigRead::Unusable(e) => Self::Broken(e.clone()),
            ConfigRead::Read(file) => match UserConfig::from_file(file) {
                Ok(config) => Self::Loaded {
                    path: file.path().to_owned(),
                    config,
                },
                Err(message) => Self::Broken(ConfigError {
                    path: file.path().to_owned(),
                    message,
                }),
            },
        }
    }
}

/// The configuration file's new text after setting (`Some`) or removing (`None`) one mode,
/// keeping everything else the user wrote (see [`candor_state::config::set_mode`]). A file
/// that is not Candor's configuration, or sets a mode consent cannot read, is refused and
/// nothing is produced: a user's broken file is never overwritten by a guess.
pub fn set_mode(
    text: Option<&str>,
    scope: &ModeScope,
    mode: Option<Mode>,
) -> Result<String, String> {
    candor_state::config::set_mode(text, scope, mode.map(Mode::as_str), &|file| {
        UserConfig::from_file(file).map(|_| ())
    })
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
    fn modes_are_read_trimmed_and_ignoring_case_and_empty_is_unset() {
        for (word, mode) in [
            ("ON", Some(Mode::On)),
            (" Local ", Some(Mode::Local)),
            ("oFF", Some(Mode::Off)),
            ("", None),
            ("   ", None),
        ] {
            let config = UserConfig::parse(&format!("mode = \"{word}\"")).expect(word);
            assert_eq!(config.mode, mode, "{word:?}");
        }
    }

    #[test]
    fn unknown_modes_and_fields_are_errors() {
        let err = UserConfig::parse("mode = \"maybe\"").expect_err("unknown word");
        assert!(err.contains("\"maybe\""), "{err}");
        let err =
            UserConfig::parse("[products.a]\nmode = \"tru\\u001b[31m\"").expect_err("escaped");
        assert!(
            err.contains("[products.a]") && !err.contains('\u{1b}'),
            "{err}"
        );
        assert!(UserConfig::parse("mood = \"on\"").is_err());
        let err = UserConfig::parse("\n\nmode = ").expect_err("syntax");
        assert!(err.starts_with("line 3"), "{err}");
    }

    #[test]
    fn set_mode_refuses_a_file_with_a_mode_consent_cannot_read() {
        assert!(
            set_mode(
                Some("mode = \"sometimes\""),
                &ModeScope::AllProducts,
                Some(Mode::Off)
            )
            .is_err()
        );
        let edited = set_mode(
            Some("mode = \"ON\""),
            &ModeScope::Product("p".into()),
            Some(Mode::Off),
        )
        .expect("a mode in capitals is a mode");
        let config = UserConfig::parse(&edited).expect("valid");
        assert_eq!(config.mode, Some(Mode::On));
        assert_eq!(config.mode_for("p"), Some(Mode::Off));
    }

    #[test]
    fn the_config_dir_can_be_moved_by_a_variable() {
        let env = Environment::from_pairs([(CONFIG_DIR_VARIABLE, "/tmp/candor-test")]);
        assert_eq!(config_dir(&env), Some(PathBuf::from("/tmp/candor-test")));
    }
}
