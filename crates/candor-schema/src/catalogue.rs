//! The validated catalogue and the questions it answers.

use std::collections::BTreeMap;
use std::path::Path;

use crate::date::Date;
use crate::error::{CatalogueError, QueryError};
use crate::gate::Bound;
use crate::lifecycle::{CatalogueWarning, Expired, Expiry};
use crate::load::{self, Format};
use crate::model::*;
use crate::version::Version;

/// A catalogue that has passed every rule of the format, with its version gates parsed.
///
/// It can only be made through the validating loader, so code holding a `Catalogue` may rely on
/// every point having a privacy class, every gate naming a declared runtime line and every
/// version being readable.
#[derive(Debug, Clone)]
pub struct Catalogue {
    spec: CatalogueSpec,
    /// Per data point, in declaration order: (runtime line index, parsed bound).
    gates: Vec<Vec<(usize, Bound)>>,
    /// Per supported host, in declaration order: its parsed minimum.
    hosts: Vec<HostRequirement>,
    /// Per data point, in declaration order: when it stops.
    expiries: Vec<Expiry>,
}

/// A supported host and its minimum version, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostRequirement {
    /// This version of the host and later.
    AtLeast(Version),
    /// The vendor has not announced the version: no version of the host qualifies yet.
    NotYetAnnounced,
}

impl HostRequirement {
    /// Whether `version` of the host qualifies. A minimum that has not been announced is never
    /// met: collecting on a guess would break the vendor's promise.
    pub fn is_met_by(&self, version: &Version) -> bool {
        match self {
            Self::AtLeast(minimum) => version >= minimum,
            Self::NotYetAnnounced => false,
        }
    }
}

impl std::fmt::Display for HostRequirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AtLeast(v) => write!(f, "{v} or later"),
            Self::NotYetAnnounced => f.write_str("a version not yet announced"),
        }
    }
}

impl Catalogue {
    /// Loads a catalogue from TOML text. `source_name` is used in error messages.
    pub fn from_toml_str(text: &str, source_name: &str) -> Result<Self, CatalogueError> {
        Self::from_str_as(text, Format::Toml, source_name)
    }

    /// Loads a catalogue from JSON text. `source_name` is used in error messages.
    pub fn from_json_str(text: &str, source_name: &str) -> Result<Self, CatalogueError> {
        Self::from_str_as(text, Format::Json, source_name)
    }

    /// Loads a catalogue file: `.json` files as JSON, anything else as TOML.
    pub fn from_path(path: &Path) -> Result<Self, CatalogueError> {
        let source_name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|error| CatalogueError::Io {
            source_name: source_name.clone(),
            error,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| CatalogueError::Syntax {
            source_name: source_name.clone(),
            message: format!(
                "the file is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        })?;
        let is_json = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
        let format = if is_json { Format::Json } else { Format::Toml };
        Self::from_str_as(&text, format, &source_name)
    }

    fn from_str_as(text: &str, format: Format, source_name: &str) -> Result<Self, CatalogueError> {
        let spec = load::parse(text, format, source_name)?;
        Self::from_spec(spec, source_name)
    }

    /// Validates a catalogue built in code.
    pub fn from_spec(spec: CatalogueSpec, source_name: &str) -> Result<Self, CatalogueError> {
        let load::Parsed {
            gates,
            hosts,
            expiries,
        } = load::validate(&spec, source_name)?;
        Ok(Self {
            spec,
            gates,
            hosts,
            expiries,
        })
    }

    /// Everything the catalogue declares.
    pub fn spec(&self) -> &CatalogueSpec {
        &self.spec
    }

    /// The product id (`aspire-dashboard`).
    pub fn product_id(&self) -> &str {
        &self.spec.product.id
    }

    /// The catalogue as pretty-printed JSON, for tools in other languages.
    pub fn to_json_pretty(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(&self.spec).unwrap_or_default()
    }

    /// The runtime line with this id.
    pub fn runtime_line(&self, id: &str) -> Result<&RuntimeLineSpec, QueryError> {
        self.line_index(id).map(|i| &self.spec.runtime_lines[i])
    }

    /// The runtime line to use when the caller names none: the only one, or an error that lists
    /// them when there are several.
    pub fn resolve_runtime_line(&self, id: Option<&str>) -> Result<&RuntimeLineSpec, QueryError> {
        match (id, self.spec.runtime_lines.as_slice()) {
            (Some(id), _) => self.runtime_line(id),
            (None, [only]) => Ok(only),
            (None, lines) => Err(QueryError::RuntimeLineRequired {
                product: self.product_id().to_owned(),
                lines: lines.iter().map(|l| l.id.clone()).collect(),
            }),
        }
    }

    fn line_index(&self, id: &str) -> Result<usize, QueryError> {
        self.spec
            .runtime_lines
            .iter()
            .position(|l| l.id == id)
            .ok_or_else(|| QueryError::UnknownRuntimeLine {
                product: self.product_id().to_owned(),
                line: id.to_owned(),
                known: self
                    .spec
                    .runtime_lines
                    .iter()
                    .map(|l| l.id.clone())
                    .collect(),
            })
    }

    /// Parses a version of a runtime line under that line's scheme.
    pub fn parse_version(&self, line: &str, text: &str) -> Result<Version, QueryError> {
        let scheme = self.runtime_line(line)?.versioning;
        Version::parse(text, scheme).map_err(|error| QueryError::BadVersion {
            line: line.to_owned(),
            error,
        })
    }

    /// The data point with this id.
    pub fn data_point(&self, id: &str) -> Result<&DataPointSpec, QueryError> {
        self.point_index(id).map(|i| &self.spec.data_points[i])
    }

    fn point_index(&self, id: &str) -> Result<usize, QueryError> {
        self.spec
            .data_points
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(|| QueryError::UnknownDataPoint {
                product: self.product_id().to_owned(),
                point: id.to_owned(),
            })
    }

    /// The gate of a data point on a runtime line; `None` when the line never collects it.
    pub fn gate(&self, point: &str, line: &str) -> Result<Option<&Bound>, QueryError> {
        let point = self.point_index(point)?;
        let line = self.line_index(line)?;
        Ok(self.gate_at(point, line))
    }

    fn gate_at(&self, point: usize, line: usize) -> Option<&Bound> {
        self.gates[point]
            .iter()
            .find(|(l, _)| *l == line)
            .map(|(_, bound)| bound)
    }

    /// Every data point in catalogue order, with its gate on each runtime line in the order the
    /// lines are declared (`None` where a line never collects it). Linear in the catalogue's
    /// size, for callers that walk every point.
    pub fn points_with_gates(
        &self,
    ) -> impl Iterator<Item = (&DataPointSpec, Vec<Option<&Bound>>)> + '_ {
        let lines = self.spec.runtime_lines.len();
        self.spec
            .data_points
            .iter()
            .enumerate()
            .map(move |(i, point)| (point, (0..lines).map(|l| self.gate_at(i, l)).collect()))
    }

    /// The data points a runtime line collects at `version`, in catalogue order.
    pub fn points_in_effect(
        &self,
        line: &str,
        version: &str,
    ) -> Result<Vec<&DataPointSpec>, QueryError> {
        let line_index = self.line_index(line)?;
        let version = self.parse_version(line, version)?;
        Ok(self.points_in_effect_at(line_index, &version))
    }

    fn points_in_effect_at(&self, line: usize, version: &Version) -> Vec<&DataPointSpec> {
        self.spec
            .data_points
            .iter()
            .enumerate()
            .filter(|(i, _)| self.admits_at(*i, line, version))
            .map(|(_, p)| p)
            .collect()
    }

    /// Whether the point's gate on `line` admits `version` and the point has not expired by
    /// version there (an expiry date needs a day, see [`Catalogue::expired`]).
    fn admits_at(&self, point: usize, line: usize, version: &Version) -> bool {
        self.gate_at(point, line).is_some_and(|b| b.admits(version))
            && self.expiries[point]
                .expired_by_version(&self.spec.runtime_lines[line].id, version)
                .is_none()
    }

    /// Whether a data point is collected by `line` at `version`: its gate admits the version
    /// and the version has not reached the point's expiry version on that line. An expiry date
    /// is not considered here (it needs a day: see [`Catalogue::expired`]). An unknown point
    /// is an error, never a silent "no".
    pub fn is_in_effect(
        &self,
        point: &str,
        line: &str,
        version: &Version,
    ) -> Result<bool, QueryError> {
        let point = self.point_index(point)?;
        let line = self.line_index(line)?;
        Ok(self.admits_at(point, line, version))
    }

    /// When a data point stops being collected.
    pub fn expiry(&self, point: &str) -> Result<&Expiry, QueryError> {
        self.point_index(point).map(|i| &self.expiries[i])
    }

    /// Whether a data point has stopped for `line` at `version` on the UTC day `today`, and
    /// why; `None` while it is still collected (its gate is a separate question, see
    /// [`Catalogue::is_in_effect`]). On its expiry day itself a point has stopped.
    pub fn expired(
        &self,
        point: &str,
        line: &str,
        version: &Version,
        today: Date,
    ) -> Result<Option<Expired>, QueryError> {
        let point = self.point_index(point)?;
        let line = self.line_index(line)?;
        Ok(self.expiries[point].expired(&self.spec.runtime_lines[line].id, version, today))
    }

    /// What the person maintaining or running this catalogue should hear on `today`, in
    /// catalogue order: points whose expiry date is at most [`crate::EXPIRY_WARNING_DAYS`]
    /// days away, and points whose date has passed. The loader never prints; callers do.
    pub fn warnings(&self, today: Date) -> Vec<CatalogueWarning> {
        crate::lifecycle::warnings(&self.spec, &self.expiries, today)
    }

    /// The data points a runtime line may ever collect, each with its gate.
    pub fn points_on_line(&self, line: &str) -> Result<Vec<(&DataPointSpec, &Bound)>, QueryError> {
        let line = self.line_index(line)?;
        Ok(self
            .spec
            .data_points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| self.gate_at(i, line).map(|b| (p, b)))
            .collect())
    }

    /// The minimum version of a supported host; `None` when the catalogue does not list it.
    pub fn host_requirement(&self, host: &str) -> Option<HostRequirement> {
        let index = self
            .spec
            .hosts
            .supported
            .iter()
            .position(|h| h.id == host)?;
        self.hosts.get(index).cloned()
    }
}

/// A set of catalogues, one per product.
#[derive(Debug, Clone, Default)]
pub struct Catalogues {
    products: Vec<Catalogue>,
}

impl Catalogues {
    /// A set from catalogues; a product id that appears twice is an error.
    pub fn new(products: Vec<Catalogue>) -> Result<Self, CatalogueError> {
        for (i, c) in products.iter().enumerate() {
            if products[..i]
                .iter()
                .any(|o| o.product_id() == c.product_id())
            {
                return Err(CatalogueError::Invalid {
                    source_name: "catalogue set".to_owned(),
                    path: "product.id".to_owned(),
                    problem: crate::Problem::DuplicateId(c.product_id().to_owned()),
                });
            }
        }
        Ok(Self { products })
    }

    /// The catalogue of a product.
    pub fn get(&self, product: &str) -> Result<&Catalogue, QueryError> {
        self.products
            .iter()
            .find(|c| c.product_id() == product)
            .ok_or_else(|| QueryError::UnknownProduct {
                product: product.to_owned(),
                known: self
                    .products
                    .iter()
                    .map(|c| c.product_id().to_owned())
                    .collect(),
            })
    }

    /// Every catalogue, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = &Catalogue> {
        self.products.iter()
    }
}

/// Semantic-convention names the catalogues give their points: product id → point id →
/// attribute name (`os.description`). An OTLP record of a point named here also carries its
/// value under that name.
pub type SemanticNames = BTreeMap<String, BTreeMap<String, String>>;

/// The semantic-convention names `catalogues` give their points (a point's `semconv`).
pub fn semantic_names<'a>(catalogues: impl IntoIterator<Item = &'a Catalogue>) -> SemanticNames {
    catalogues
        .into_iter()
        .map(|c| {
            let points = c
                .spec()
                .data_points
                .iter()
                .filter_map(|p| Some((p.id.clone(), p.semconv.clone()?)))
                .collect();
            (c.product_id().to_owned(), points)
        })
        .collect()
}
