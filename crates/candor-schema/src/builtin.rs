//! The catalogues that ship inside Candor.
//!
//! They are embedded at compile time and parsed on first use through the same validating loader
//! as any user's file. The test suite loads each one, so a built-in that failed validation could
//! not have been released; the API still returns a `Result` rather than trusting that.

use std::sync::OnceLock;

use crate::catalogue::{Catalogue, Catalogues};
use crate::error::CatalogueError;

/// The source files, by name, as embedded.
pub const SOURCES: &[(&str, &str)] = &[
    (
        "aspire-dashboard.toml",
        include_str!("../catalogues/aspire-dashboard.toml"),
    ),
    (
        "contrast-dotnet-agent.toml",
        include_str!("../catalogues/contrast-dotnet-agent.toml"),
    ),
];

/// Earlier revisions of the built-in catalogues, oldest first, exactly as they shipped. Hosts
/// use only the current revision ([`catalogues`]); a receiver also accepts these
/// ([`previous_revisions`]), so a product not yet updated is still heard.
pub const PREVIOUS_SOURCES: &[(&str, &str)] = &[
    (
        "previous/aspire-dashboard-2025-03-05.1.toml",
        include_str!("../catalogues/previous/aspire-dashboard-2025-03-05.1.toml"),
    ),
    (
        "previous/contrast-dotnet-agent-2021.4.2.1.toml",
        include_str!("../catalogues/previous/contrast-dotnet-agent-2021.4.2.1.toml"),
    ),
];

/// The earlier revisions of the built-in catalogues ([`PREVIOUS_SOURCES`]), oldest first.
pub fn previous_revisions() -> Result<&'static [Catalogue], &'static CatalogueError> {
    static PARSED: OnceLock<Result<Vec<Catalogue>, CatalogueError>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            PREVIOUS_SOURCES
                .iter()
                .map(|(name, text)| Catalogue::from_toml_str(text, name))
                .collect()
        })
        .as_ref()
        .map(Vec::as_slice)
}

/// Every built-in catalogue.
pub fn catalogues() -> Result<&'static Catalogues, &'static CatalogueError> {
    static PARSED: OnceLock<Result<Catalogues, CatalogueError>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            let products = SOURCES
                .iter()
                .map(|(name, text)| Catalogue::from_toml_str(text, name))
                .collect::<Result<Vec<_>, _>>()?;
            Catalogues::new(products)
        })
        .as_ref()
}
