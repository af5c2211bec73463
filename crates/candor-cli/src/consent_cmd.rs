//! `candor consent`: the user changes their mind in one command. The mode is written to
//! config.toml through Candor's folder (comments and other keys kept), the new decision is
//! printed as `status` prints it, and `off` discards what waits in the product's spool.

use std::io::Write;
use std::path::Path;

use candor_consent::{Mode, ModeScope, set_mode};
use candor_state::StateError;

use crate::args::{ConsentArgs, HostArgs};
use crate::{CliError, consent_now, source, state_cmd, status_cmd};

/// What the user asked for.
#[derive(Debug, Clone, Copy)]
enum Setting {
    Set(Mode),
    Reset,
}

fn setting(word: &str) -> Result<Setting, CliError> {
    match word {
        "on" => Ok(Setting::Set(Mode::On)),
        "local" => Ok(Setting::Set(Mode::Local)),
        "off" => Ok(Setting::Set(Mode::Off)),
        "reset" => Ok(Setting::Reset),
        other => Err(CliError::Usage(format!(
            "unknown setting `{other}`; use on, local, off or reset"
        ))),
    }
}

/// Why the configuration file was not written.
enum EditError {
    State(StateError),
    Refused(String),
}

impl From<StateError> for EditError {
    fn from(e: StateError) -> Self {
        Self::State(e)
    }
}

pub(crate) fn run(
    file: Option<&Path>,
    args: &ConsentArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let catalogues = source::catalogues(file)?;
    let (scope, word) = match (args.all, args.words.as_slice()) {
        (true, [word]) => (ModeScope::AllProducts, word),
        (false, [product, word]) => {
            catalogues.get(product)?;
            (ModeScope::Product(product.clone()), word)
        }
        (true, _) => {
            return Err(CliError::Usage(
                "with --all, give only the setting: candor consent --all on|local|off|reset"
                    .to_owned(),
            ));
        }
        (false, _) => {
            return Err(CliError::Usage(
                "give a product and a setting: candor consent <product> on|local|off|reset"
                    .to_owned(),
            ));
        }
    };
    let setting = setting(word)?;
    let mode = match setting {
        Setting::Set(mode) => Some(mode),
        Setting::Reset => None,
    };
    let state = state_cmd::state()?;
    let path = state.config_file();
    state
        .update_config(|text| set_mode(text, &scope, mode).map_err(EditError::Refused))
        .map_err(|e| match e {
            EditError::State(e) => {
                CliError::Usage(format!("cannot change the configuration file: {e}"))
            }
            EditError::Refused(message) => CliError::Usage(format!(
                "{}: {message}; not changed (fix or remove the file first)",
                path.display()
            )),
        })?;
    let products: Vec<&candor_schema::Catalogue> = match &scope {
        ModeScope::Product(id) => vec![catalogues.get(id)?],
        _ => catalogues.iter().collect(),
    };
    let what = match (&scope, setting) {
        (ModeScope::Product(id), Setting::Set(m)) => format!("mode = \"{}\" for {id}", m.as_str()),
        (ModeScope::Product(id), Setting::Reset) => format!("removed the mode set for {id}"),
        (_, Setting::Set(m)) => format!("mode = \"{}\" for every product", m.as_str()),
        (_, Setting::Reset) => "removed every mode setting".to_owned(),
    };
    writeln!(out, "{}: {what}", path.display())?;
    for catalogue in products {
        let decision = consent_now::decide_now(catalogue, &HostArgs::default());
        status_cmd::write_text(
            out,
            &catalogue.spec().product.name,
            catalogue.product_id(),
            &decision,
        )?;
        // Revocation: pending data of a product switched off is thrown away, never sent later.
        if matches!(setting, Setting::Set(Mode::Off)) {
            let discarded = candor::discard_spooled(&state, catalogue.product_id())
                .map_err(|e| CliError::Usage(format!("cannot discard pending data: {e}")))?;
            writeln!(
                out,
                "  pending:    {discarded} event(s) waiting in the spool discarded"
            )?;
        }
    }
    Ok(())
}
