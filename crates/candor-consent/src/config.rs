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

/// Which mode setting [`set_mode`] changes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModeScope {
    /// Every product: the top-level `mode`, and no product keeps a mode of its own (otherwise
    /// "all" would not mean all).
    AllProducts,
    /// One product: `mode` under `[products.<id>]`.
    Product(String),
}

/// The configuration file's new text after setting (`Some`) or removing (`None`) one mode,
/// keeping everything else the user wrote: comments, blank lines, key order, other keys.
/// `text` is the current file (`None` when there is none). A file that does not parse as
/// Candor's configuration is an error and nothing is produced: a user's broken file is never
/// overwritten by a guess. A table left empty by a removal is removed with it.
pub fn set_mode(
    text: Option<&str>,
    scope: &ModeScope,
    mode: Option<Mode>,
) -> Result<String, String> {
    let text = text.unwrap_or("");
    UserConfig::parse(text)?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.message().trim().replace('\n', "; "))?;
    let value = mode.map(|m| toml_edit::value(m.as_str()));
    let mut orphans = String::new();
    match scope {
        ModeScope::AllProducts => {
            match value {
                Some(value) => {
                    doc["mode"] = value;
                }
                None => remove_keeping_comments(doc.as_table_mut(), "mode", &mut orphans),
            }
            if let Some(products) = doc
                .get_mut("products")
                .and_then(toml_edit::Item::as_table_like_mut)
            {
                for (_, product) in products.iter_mut() {
                    if let Some(product) = product.as_table_like_mut() {
                        remove_keeping_comments(product, "mode", &mut orphans);
                    }
                }
                let empty: Vec<String> = products
                    .iter()
                    .filter(|(_, p)| p.as_table_like().is_some_and(|t| t.is_empty()))
                    .map(|(k, _)| k.to_owned())
                    .collect();
                for key in empty {
                    remove_keeping_comments(products, &key, &mut orphans);
                }
            }
        }
        ModeScope::Product(id) => match value {
            Some(value) => {
                let products = doc.entry("products").or_insert_with(|| {
                    let mut table = toml_edit::Table::new();
                    table.set_implicit(true);
                    toml_edit::Item::Table(table)
                });
                let products = products
                    .as_table_like_mut()
                    .ok_or("`products` is not a table")?;
                let product = products
                    .entry(id)
                    .or_insert(toml_edit::Item::Table(toml_edit::Table::new()));
                let product = product
                    .as_table_like_mut()
                    .ok_or_else(|| format!("`products.{id}` is not a table"))?;
                product.insert("mode", value);
            }
            None => {
                if let Some(products) = doc
                    .get_mut("products")
                    .and_then(toml_edit::Item::as_table_like_mut)
                {
                    let now_empty = products
                        .get_mut(id)
                        .and_then(toml_edit::Item::as_table_like_mut)
                        .is_some_and(|product| {
                            remove_keeping_comments(product, "mode", &mut orphans);
                            product.is_empty()
                        });
                    if now_empty {
                        remove_keeping_comments(products, id, &mut orphans);
                    }
                }
            }
        },
    }
    if doc
        .get("products")
        .and_then(toml_edit::Item::as_table_like)
        .is_some_and(|t| t.is_empty())
    {
        remove_keeping_comments(doc.as_table_mut(), "products", &mut orphans);
    }
    if !orphans.is_empty() {
        // The user's words outlive the settings they described: kept at the end of the file.
        let trailing = doc.trailing().as_str().unwrap_or("").to_owned();
        doc.set_trailing(format!("{trailing}{orphans}"));
    }
    let edited = doc.to_string();
    // What is written must be what the decision reads.
    let check = UserConfig::parse(&edited)?;
    let expected = match scope {
        ModeScope::AllProducts => {
            check.mode == mode && check.products.values().all(|p| p.mode.is_none())
        }
        ModeScope::Product(id) => check.products.get(id).and_then(|p| p.mode) == mode,
    };
    if !expected {
        return Err("the edited file would not say what was asked".to_owned());
    }
    Ok(edited)
}

/// Removes `key` from `table`, adding the comment lines written around it (before the key or
/// table header, after the value, inside a removed table) to `orphans`.
fn remove_keeping_comments(table: &mut dyn toml_edit::TableLike, key: &str, orphans: &mut String) {
    let mut keep = |raw: Option<&toml_edit::RawString>| {
        for line in raw
            .and_then(toml_edit::RawString::as_str)
            .unwrap_or("")
            .lines()
        {
            let line = line.trim();
            if line.starts_with('#') {
                orphans.push_str(line);
                orphans.push('\n');
            }
        }
    };
    if let Some(k) = table.key(key) {
        keep(k.leaf_decor().prefix());
    }
    match table.get(key) {
        Some(toml_edit::Item::Value(value)) => {
            keep(value.decor().prefix());
            keep(value.decor().suffix());
        }
        Some(toml_edit::Item::Table(inner)) => {
            keep(inner.decor().prefix());
            keep(inner.decor().suffix());
            let keys: Vec<String> = inner.iter().map(|(k, _)| k.to_owned()).collect();
            let mut copy = inner.clone();
            for k in keys {
                remove_keeping_comments(&mut copy, &k, orphans);
            }
        }
        _ => {}
    }
    table.remove(key);
}

#[cfg(test)]
mod edit_tests {
    use super::*;

    #[test]
    fn setting_a_product_mode_keeps_comments_and_other_keys() {
        let text = "# mine\nmode = \"on\" # everyone\n\n[products.aspire-dashboard]\n# keep local\nmode = \"local\"\n";
        let edited = set_mode(
            Some(text),
            &ModeScope::Product("contrast-dotnet-agent".into()),
            Some(Mode::Off),
        )
        .unwrap();
        assert!(
            edited.starts_with("# mine\nmode = \"on\" # everyone\n"),
            "{edited}"
        );
        assert!(
            edited.contains("# keep local\nmode = \"local\""),
            "{edited}"
        );
        let config = UserConfig::parse(&edited).unwrap();
        assert_eq!(config.mode_for("contrast-dotnet-agent"), Some(Mode::Off));
        assert_eq!(config.mode_for("aspire-dashboard"), Some(Mode::Local));
        let reset = set_mode(
            Some(&edited),
            &ModeScope::Product("contrast-dotnet-agent".into()),
            None,
        )
        .unwrap();
        assert!(!reset.contains("contrast-dotnet-agent"), "{reset}");
        assert!(reset.contains("# keep local"), "{reset}");
        // Removing every setting keeps every comment.
        let gone = set_mode(Some(&reset), &ModeScope::AllProducts, None).unwrap();
        for comment in ["# mine", "# everyone", "# keep local"] {
            assert!(gone.contains(comment), "{gone}");
        }
        assert_eq!(UserConfig::parse(&gone).unwrap(), UserConfig::default());
    }

    #[test]
    fn all_products_sets_the_global_mode_and_clears_product_modes() {
        let text = "[products.aspire-dashboard]\nmode = \"on\"\n";
        let edited = set_mode(Some(text), &ModeScope::AllProducts, Some(Mode::Off)).unwrap();
        let config = UserConfig::parse(&edited).unwrap();
        assert_eq!(config.mode, Some(Mode::Off));
        assert_eq!(config.mode_for("aspire-dashboard"), Some(Mode::Off));
        let reset = set_mode(Some(&edited), &ModeScope::AllProducts, None).unwrap();
        assert_eq!(UserConfig::parse(&reset).unwrap(), UserConfig::default());
    }

    #[test]
    fn a_broken_or_foreign_file_is_refused() {
        for text in [
            "mode = ",
            "mode = \"sometimes\"",
            "colour = \"blue\"",
            "products = 3",
        ] {
            assert!(
                set_mode(Some(text), &ModeScope::AllProducts, Some(Mode::Off)).is_err(),
                "{text}"
            );
        }
    }

    #[test]
    fn a_product_id_that_needs_quoting_is_quoted() {
        let edited =
            set_mode(None, &ModeScope::Product("a.b c".into()), Some(Mode::Local)).unwrap();
        assert_eq!(
            UserConfig::parse(&edited).unwrap().mode_for("a.b c"),
            Some(Mode::Local)
        );
    }
}
