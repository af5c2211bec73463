//! Version gates in their parsed form.

use std::fmt;

use crate::version::Version;

/// The first version of a runtime line that collects a data point, parsed under the line's
/// scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    /// This version and every later one.
    Since(Version),
    /// Versions strictly later than this one.
    After(Version),
}

impl Bound {
    /// Whether `version` is collected under this bound.
    pub fn admits(&self, version: &Version) -> bool {
        match self {
            Self::Since(first) => version >= first,
            Self::After(last_without) => version > last_without,
        }
    }

    /// The version named in the bound.
    pub fn version(&self) -> &Version {
        match self {
            Self::Since(v) | Self::After(v) => v,
        }
    }
}

/// Reads as the vendor's own documents do: `9.2 and later`, `later than 20.9.1`.
impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Since(v) => write!(f, "{v} and later"),
            Self::After(v) => write!(f, "later than {v}"),
        }
    }
}
