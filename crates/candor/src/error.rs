//! Why a [`crate::Telemetry`] could not be built.

use candor_state::StateError;

/// A setup error. Recording never fails: once built, problems are counted and shown in
/// [`crate::Telemetry::status`]. Each error keeps the one behind it as its `source()`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The product, runtime line or version does not fit the catalogue.
    #[error(transparent)]
    Catalogue(#[from] candor_schema::QueryError),
    /// The sink cannot be set up.
    #[error(transparent)]
    Transport(#[from] candor_transport::TransportError),
    /// Candor's folder cannot be used for what it keeps (keys, install ids, the spool).
    #[error("{what}: {source}")]
    State {
        /// What Candor was doing.
        what: &'static str,
        /// Why it could not.
        #[source]
        source: StateError,
    },
    /// The hashing key cannot be used.
    #[error("hashing key: {0}")]
    HashKey(#[source] candor_privacy::HashError),
    /// A built-in catalogue failed validation (a Candor bug, caught by its tests).
    #[error("built-in catalogue is invalid: {0}")]
    InvalidBuiltin(#[source] &'static candor_schema::CatalogueError),
    /// The `[transport]` section of the user's `config.toml` cannot be used.
    #[error(transparent)]
    Config(#[from] candor_state::ConfigError),
    /// No product version was given ([`crate::Builder::version`]).
    #[error("the product version is required (Builder::version)")]
    NoVersion,
    /// Neither a sink nor a folder for Candor's state was given, and none was found.
    #[error("no folder for Candor's state: give a sink or a state_dir")]
    NoStateDir,
}

impl BuildError {
    /// A state error, with what Candor was doing.
    pub(crate) fn state(what: &'static str) -> impl FnOnce(StateError) -> Self {
        move |source| Self::State { what, source }
    }
}
