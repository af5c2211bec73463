//! Errors from loading and querying catalogues.

use std::fmt;

use crate::version::VersionError;

/// A catalogue that could not be loaded. Its message names the file and, for a content problem,
/// the path inside the file (`data_points[3](agent_version).gates.framework`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogueError {
    /// The file could not be read.
    #[error("{source_name}: cannot read the file: {error}")]
    Io {
        /// The file's name as given.
        source_name: String,
        /// What the operating system said.
        #[source]
        error: std::io::Error,
    },
    /// The file is not well-formed TOML or JSON.
    #[error("{source_name}: {message}")]
    Syntax {
        /// The file's name as given.
        source_name: String,
        /// What is wrong, with the line and column.
        message: String,
    },
    /// The file is well-formed but breaks a rule of the catalogue format.
    #[error("{source_name}: {path}: {problem}")]
    Invalid {
        /// The file's name as given.
        source_name: String,
        /// Where in the file (`data_points[3](agent_version).privacy`); `(top level)` for the root.
        path: String,
        /// What is wrong.
        problem: Problem,
    },
}

impl CatalogueError {
    /// The content problem, if this is one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Invalid { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// The path inside the file, if this is a content problem.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Invalid { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// A rule of the catalogue format that a file breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A field the format does not know (often a typo).
    UnknownField(String),
    /// A mandatory field is absent.
    MissingField(String),
    /// A field has the wrong type or an unknown value.
    WrongValue(String),
    /// Two entries share an identifier.
    DuplicateId(String),
    /// A gate names a runtime line the catalogue does not declare.
    UndeclaredRuntimeLine {
        /// The line named.
        line: String,
        /// The lines declared.
        declared: Vec<String>,
    },
    /// A text field that must say something is empty.
    Empty,
    /// A version that cannot be read under its line's scheme.
    BadVersion(VersionError),
    /// A privacy class that does not fit the value's kind.
    PrivacyMismatch {
        /// The value's kind.
        kind: &'static str,
        /// The class declared.
        declared: &'static str,
        /// The classes allowed for that kind.
        permitted: Vec<&'static str>,
    },
    /// Any other broken rule, described in words.
    Rule(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownField(field) => write!(f, "unknown field `{field}`"),
            Self::MissingField(field) => write!(f, "missing field `{field}`"),
            Self::WrongValue(message) => f.write_str(message),
            Self::DuplicateId(id) => write!(f, "the id `{id}` is used twice"),
            Self::UndeclaredRuntimeLine { line, declared } => write!(
                f,
                "runtime line `{line}` is not declared (declared: {})",
                declared.join(", ")
            ),
            Self::Empty => f.write_str("must not be empty"),
            Self::BadVersion(error) => error.fmt(f),
            Self::PrivacyMismatch {
                kind,
                declared,
                permitted,
            } => write!(
                f,
                "a `{kind}` value cannot have privacy class `{declared}` (allowed: {})",
                permitted.join(", ")
            ),
            Self::Rule(message) => f.write_str(message),
        }
    }
}

/// A question the catalogue cannot answer as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// No catalogue for this product.
    #[error("unknown product `{product}` (known: {})", known.join(", "))]
    UnknownProduct {
        /// The product asked for.
        product: String,
        /// The products known.
        known: Vec<String>,
    },
    /// The product has no such runtime line.
    #[error("`{product}` has no runtime line `{line}` (its lines: {})", known.join(", "))]
    UnknownRuntimeLine {
        /// The product.
        product: String,
        /// The line asked for.
        line: String,
        /// The product's lines.
        known: Vec<String>,
    },
    /// The product has several runtime lines and none was chosen.
    #[error("`{product}` has several runtime lines ({}); choose one", lines.join(", "))]
    RuntimeLineRequired {
        /// The product.
        product: String,
        /// Its lines.
        lines: Vec<String>,
    },
    /// The version could not be read under the line's scheme.
    #[error("version of `{line}`: {error}")]
    BadVersion {
        /// The runtime line.
        line: String,
        /// Why the version could not be read.
        error: VersionError,
    },
    /// The product declares no such data point.
    #[error("`{product}` declares no data point `{point}`")]
    UnknownDataPoint {
        /// The product.
        product: String,
        /// The point asked for.
        point: String,
    },
}
