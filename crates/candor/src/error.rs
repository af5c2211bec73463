//! Why a [`crate::Telemetry`] could not be built.

/// A setup error. Recording never fails: once built, problems are counted and shown in
/// [`crate::Telemetry::status`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The product, runtime line or version does not fit the catalogue.
    #[error(transparent)]
    Catalogue(#[from] candor_schema::QueryError),
    /// The sink cannot be set up.
    #[error(transparent)]
    Transport(#[from] candor_transport::TransportError),
    /// Candor's local state (keys, spool) cannot be created.
    #[error("{0}")]
    State(String),
    /// A built-in catalogue failed validation (a Candor bug, caught by its tests).
    #[error("built-in catalogue is invalid: {0}")]
    InvalidBuiltin(String),
    /// The `[transport]` section of the user's `config.toml` cannot be used.
    #[error("{0}")]
    Config(String),
    /// Something required was not given.
    #[error("{0}")]
    Missing(&'static str),
}
