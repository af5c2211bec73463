//! Where the catalogues come from: the built-ins, or one file the user names.

use std::borrow::Cow;
use std::path::Path;
use std::time::SystemTime;

use candor_schema::{Catalogue, Catalogues, Date, builtin};

use crate::{CliError, untrusted};

/// The largest catalogue file read (the built-ins are a few tens of kilobytes).
const MAX_CATALOGUE_BYTES: u64 = 4 * 1024 * 1024;

pub(crate) fn catalogues(file: Option<&Path>) -> Result<Cow<'static, Catalogues>, CliError> {
    match file {
        None => {
            let builtins = builtin::catalogues()
                .map_err(|e| CliError::Usage(format!("built-in catalogue is invalid: {e}")))?;
            builtins.iter().for_each(warn);
            Ok(Cow::Borrowed(builtins))
        }
        Some(path) => {
            let one = catalogue_file(path)?;
            Ok(Cow::Owned(Catalogues::new(vec![one])?))
        }
    }
}

/// Prints what the loaded catalogue warns of today (UTC): points expiring within 30 days, or
/// expired. The library never prints; every command that loads a catalogue says it here.
fn warn(catalogue: &Catalogue) {
    let today = Date::from_system_time(SystemTime::now());
    for warning in catalogue.warnings(today) {
        eprintln!(
            "candor: warning: {}",
            untrusted::shown(&warning.to_string(), untrusted::MAX_MESSAGE_CHARS)
        );
    }
}

/// One catalogue file (TOML, or JSON by its extension), read capped; a FIFO or device is
/// refused rather than blocked on.
pub(crate) fn catalogue_file(path: &Path) -> Result<Catalogue, CliError> {
    let bytes = candor_state::file::read_input(path, MAX_CATALOGUE_BYTES)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let name = path.display().to_string();
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::Usage(format!("{name}: the file is not UTF-8 text")))?;
    let is_json = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    let catalogue = if is_json {
        Catalogue::from_json_str(&text, &name)?
    } else {
        Catalogue::from_toml_str(&text, &name)?
    };
    warn(&catalogue);
    Ok(catalogue)
}
