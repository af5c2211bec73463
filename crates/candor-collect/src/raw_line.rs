//! Raw values in JSON lines: the input of `candor send` and `candor preview --inputs`.

use candor_schema::Catalogue;
use serde::Deserialize;

use crate::input::Input;
use crate::prepare::unit_in_ms;

/// One line: which product and version recorded which point, and the raw value.
///
/// ```json
/// {"product":"aspire-dashboard","product_version":"9.3","point":"request_language","value":"en-US"}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLine {
    /// The product's catalogue id.
    pub product: String,
    /// The product version.
    pub product_version: String,
    /// The runtime line; may be left out when the product has only one.
    #[serde(default)]
    pub runtime_line: Option<String>,
    /// The data point.
    pub point: String,
    /// The raw value, shaped as [`Input::from_json`] describes.
    pub value: serde_json::Value,
}

impl RawLine {
    /// Parses one line.
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("not a raw event line: {e}"))
    }

    /// The raw input for the line's point, read under the point's declared kind.
    pub fn input(&self, catalogue: &Catalogue) -> Result<Input, String> {
        let spec = catalogue.data_point(&self.point).map_err(|_| {
            format!(
                "`{}` is not declared in the catalogue of {}",
                self.point, self.product
            )
        })?;
        Input::from_json(&spec.value, unit_in_ms(spec.unit), &self.value)
            .map_err(|e| format!("`{}`: {e}", self.point))
    }
}
