//! Where the catalogues come from: the built-ins, or one file the user names.

use std::borrow::Cow;
use std::path::Path;

use candor_schema::{Catalogue, Catalogues, builtin};

use crate::CliError;

pub(crate) fn catalogues(file: Option<&Path>) -> Result<Cow<'static, Catalogues>, CliError> {
    match file {
        None => builtin::catalogues()
            .map(Cow::Borrowed)
            .map_err(|e| CliError::Usage(format!("built-in catalogue is invalid: {e}"))),
        Some(path) => {
            let one = Catalogue::from_path(path)?;
            Ok(Cow::Owned(Catalogues::new(vec![one])?))
        }
    }
}
