//! `config.toml`, the user's file: read and parsed here and nowhere else, once per reading,
//! into typed sections that the parts of Candor each take (`candor-consent` the modes,
//! the facade `[transport]`), and the one edit Candor ever makes to it (a mode, for
//! `candor consent`).
//!
//! ```toml
//! mode = "on"                     # every product, unless a product says otherwise
//!
//! [products.aspire-dashboard]
//! mode = "local"
//!
//! [transport]
//! ca_file = "/etc/ssl/company-ca.pem"
//! connect_timeout_seconds = 5
//! request_timeout_seconds = 15
//! ```
//!
//! The file's shape is checked here (no key Candor does not know, every value of its type);
//! what the values mean is not: a mode is kept as the word the user wrote, for consent to read,
//! and a timeout as the number written, for the transport settings to bound. A key unknown in
//! `[transport]` makes that section unusable without making the rest of the file unusable, so
//! consent still reads the user's modes when a transport setting is wrong.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The user's configuration file in Candor's folder.
pub const CONFIG_FILE: &str = "config.toml";

/// A configuration file that exists but cannot be used (or a section of it), in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it (`line 3: …`).
    pub message: String,
}

/// What reading `config.toml` found.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigRead {
    /// There is no file: no settings.
    Missing,
    /// The file was read and has Candor's shape.
    Read(ConfigFile),
    /// The file exists but cannot be used (not a regular file, too large, not UTF-8, not TOML,
    /// a key Candor does not know, a value of the wrong type).
    Unusable(ConfigError),
}

impl ConfigRead {
    /// The file, when it was read.
    pub fn file(&self) -> Option<&ConfigFile> {
        match self {
            Self::Read(file) => Some(file),
            _ => None,
        }
    }
}

/// `config.toml` as read: the consent section (the top-level `mode` and `[products.<id>]`) and
/// `[transport]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigFile {
    path: PathBuf,
    consent: ConsentSection,
    transport: Result<TransportSection, ConfigError>,
}

/// The modes the file sets, as written (consent reads the words).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ConsentSection {
    /// The top-level `mode`: every product without its own.
    #[serde(default)]
    pub mode: Option<String>,
    /// `[products.<id>]`, by product id.
    #[serde(default)]
    pub products: BTreeMap<String, ProductSection>,
}

/// One product's table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ProductSection {
    /// `mode` for this product, as written.
    #[serde(default)]
    pub mode: Option<String>,
}

/// `[transport]`, as written (the facade bounds the values and resolves the path).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TransportSection {
    /// A PEM file of extra certificate authorities; relative to Candor's folder.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Seconds to establish a connection.
    #[serde(default)]
    pub connect_timeout_seconds: Option<f64>,
    /// Seconds for a whole request.
    #[serde(default)]
    pub request_timeout_seconds: Option<f64>,
}

/// The whole file's shape: `[transport]` is typed on its own, so that its errors stay its own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    products: BTreeMap<String, ProductSection>,
    #[serde(default)]
    transport: Option<toml::Value>,
}

impl ConfigFile {
    /// Parses the file's text (read from `path`).
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let error = |message: String| ConfigError {
            path: path.to_owned(),
            message,
        };
        let raw: Raw = toml::from_str(text).map_err(|e| error(toml_message(&e, text)))?;
        let transport = match raw.transport {
            None => Ok(TransportSection::default()),
            Some(value) => value
                .try_into::<TransportSection>()
                .map_err(|e| error(format!("[transport]: {}", e.message().trim()))),
        };
        Ok(Self {
            path: path.to_owned(),
            consent: ConsentSection {
                mode: raw.mode,
                products: raw.products,
            },
            transport,
        })
    }

    /// Where it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The modes it sets.
    pub fn consent(&self) -> &ConsentSection {
        &self.consent
    }

    /// `[transport]` (empty when absent), or why it cannot be used.
    pub fn transport(&self) -> Result<&TransportSection, &ConfigError> {
        self.transport.as_ref()
    }
}

/// A TOML error in one line, with the line it is on.
fn toml_message(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim().replace('\n', "; ");
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message,
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

/// The file's new text after setting (`Some`) or removing (`None`) one mode to the word
/// `word`, keeping everything else the user wrote: comments, blank lines, key order, other
/// keys. `text` is the current file (`None` when there is none). A file that does not have
/// Candor's shape, or that `check` refuses (consent refuses a mode it cannot read), is an
/// error and nothing is produced: a user's broken file is never overwritten by a guess. A
/// table left empty by a removal is removed with it. What is returned is checked again the
/// same way, and must say what was asked.
pub fn set_mode(
    text: Option<&str>,
    scope: &ModeScope,
    word: Option<&str>,
    check: &dyn Fn(&ConfigFile) -> Result<(), String>,
) -> Result<String, String> {
    let path = Path::new(CONFIG_FILE);
    let text = text.unwrap_or("");
    let parse = |text: &str| -> Result<ConfigFile, String> {
        let file = ConfigFile::parse(path, text).map_err(|e| e.message)?;
        check(&file)?;
        Ok(file)
    };
    parse(text)?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.message().trim().replace('\n', "; "))?;
    let value = word.map(toml_edit::value);
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
    // What is written must be what the next reading finds.
    let written = parse(&edited)?;
    let consent = written.consent();
    let expected = match scope {
        ModeScope::AllProducts => {
            consent.mode.as_deref() == word && consent.products.values().all(|p| p.mode.is_none())
        }
        ModeScope::Product(id) => consent.products.get(id).and_then(|p| p.mode.as_deref()) == word,
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
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigFile, ConfigError> {
        ConfigFile::parse(Path::new("config.toml"), text)
    }

    fn any(_: &ConfigFile) -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn sections_are_typed_and_modes_kept_as_written() {
        let file = parse(
            "mode = \"ON\"\n[products.a]\nmode = \"local\"\n[transport]\nca_file = \"ca.pem\"\nconnect_timeout_seconds = 2\n",
        )
        .expect("valid");
        assert_eq!(file.consent().mode.as_deref(), Some("ON"));
        assert_eq!(file.consent().products["a"].mode.as_deref(), Some("local"));
        let transport = file.transport().expect("usable");
        assert_eq!(transport.ca_file.as_deref(), Some(Path::new("ca.pem")));
        assert_eq!(transport.connect_timeout_seconds, Some(2.0));
    }

    #[test]
    fn an_unknown_key_outside_transport_makes_the_file_unusable() {
        for text in [
            "mood = \"on\"",
            "mode = 3",
            "products = 3",
            "[products.a]\nmood = 1",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
        let err = parse("\n\nmode = ").expect_err("syntax");
        assert!(err.message.starts_with("line 3"), "{err}");
    }

    #[test]
    fn a_transport_error_stays_in_its_section() {
        let file =
            parse("mode = \"off\"\n[transport]\ncolour = \"blue\"\n").expect("consent readable");
        assert_eq!(file.consent().mode.as_deref(), Some("off"));
        let err = file.transport().expect_err("unknown key");
        assert!(err.message.contains("[transport]"), "{err}");
        assert!(err.message.contains("colour"), "{err}");
    }

    #[test]
    fn setting_a_product_mode_keeps_comments_and_other_keys() {
        let text = "# mine\nmode = \"on\" # everyone\n\n[products.aspire-dashboard]\n# keep local\nmode = \"local\"\n";
        let edited = set_mode(
            Some(text),
            &ModeScope::Product("contrast-dotnet-agent".into()),
            Some("off"),
            &any,
        )
        .expect("edited");
        assert!(
            edited.starts_with("# mine\nmode = \"on\" # everyone\n"),
            "{edited}"
        );
        assert!(
            edited.contains("# keep local\nmode = \"local\""),
            "{edited}"
        );
        let file = parse(&edited).expect("valid");
        assert_eq!(
            file.consent().products["contrast-dotnet-agent"]
                .mode
                .as_deref(),
            Some("off")
        );
        let reset = set_mode(
            Some(&edited),
            &ModeScope::Product("contrast-dotnet-agent".into()),
            None,
            &any,
        )
        .expect("reset");
        assert!(!reset.contains("contrast-dotnet-agent"), "{reset}");
        assert!(reset.contains("# keep local"), "{reset}");
        // Removing every setting keeps every comment.
        let gone = set_mode(Some(&reset), &ModeScope::AllProducts, None, &any).expect("gone");
        for comment in ["# mine", "# everyone", "# keep local"] {
            assert!(gone.contains(comment), "{gone}");
        }
        assert_eq!(
            parse(&gone).expect("valid").consent(),
            &ConsentSection::default()
        );
    }

    #[test]
    fn all_products_sets_the_global_mode_and_clears_product_modes() {
        let text = "[products.aspire-dashboard]\nmode = \"on\"\n";
        let edited =
            set_mode(Some(text), &ModeScope::AllProducts, Some("off"), &any).expect("edit");
        let file = parse(&edited).expect("valid");
        assert_eq!(file.consent().mode.as_deref(), Some("off"));
        assert!(file.consent().products.is_empty(), "{edited}");
    }

    #[test]
    fn a_broken_or_refused_file_is_not_edited() {
        for text in ["mode = ", "colour = \"blue\"", "products = 3"] {
            assert!(
                set_mode(Some(text), &ModeScope::AllProducts, Some("off"), &any).is_err(),
                "{text}"
            );
        }
        let refuse = |_: &ConfigFile| Err("no".to_owned());
        assert!(
            set_mode(
                Some("mode = \"x\""),
                &ModeScope::AllProducts,
                Some("off"),
                &refuse
            )
            .is_err()
        );
    }

    #[test]
    fn a_product_id_that_needs_quoting_is_quoted() {
        let edited = set_mode(
            None,
            &ModeScope::Product("a.b c".into()),
            Some("local"),
            &any,
        )
        .expect("edit");
        assert_eq!(
            parse(&edited).expect("valid").consent().products["a.b c"]
                .mode
                .as_deref(),
            Some("local")
        );
    }
}
