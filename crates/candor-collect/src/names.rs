//! Names that cannot carry values.

use std::fmt;

/// A name: of a configuration setting, a rule, a resource type. It is checked when it is made,
/// so a value (`Password=hunter2`, a path with spaces, an e-mail address) cannot pass as one:
/// only letters, digits and `. _ - : / [ ] +`, at most 128 bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

/// Why a string is not a name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a name: {0}")]
pub struct NameError(String);

impl Name {
    /// Checks and wraps a name.
    pub fn new(name: &str) -> Result<Self, NameError> {
        candor_schema::check_name(name).map_err(|e| NameError(e.to_string()))?;
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
