//! `candor consent`: the user changes their mind in one command. A change that may withdraw
//! consent (`off`, `local`, `reset`) is recorded in Candor's folder (running products withdraw
//! what was recorded before it; `on` withdraws nothing and is not recorded), the mode is written
//! to config.toml (comments and other keys kept), the new decision is printed as `status`
//! prints it, and `off` discards what waits in the product's spool, even when the file could
//! not be edited (the command then says so and exits 1).

use std::io::Write;
use std::path::Path;

use candor_consent::{Mode, ModeScope, set_mode};
use candor_state::{StateDir, StateError};

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
    let products: Vec<&candor_schema::Catalogue> = match &scope {
        ModeScope::Product(id) => vec![catalogues.get(id)?],
        _ => catalogues.iter().collect(),
    };
    let off = matches!(setting, Setting::Set(Mode::Off));
    // A change that may leave `on` (off, local, and reset, after which the next rule decides)
    // is recorded first, then the file is written: a running product that sees the record
    // withdraws everything recorded before it, even if the change is undone before it notices
    // the file. Setting `on` withdraws nothing, so it leaves no record: re-setting `on` loses
    // nothing a running product recorded.
    let withdraws = !matches!(setting, Setting::Set(Mode::On));
    let note = |products: &[&candor_schema::Catalogue]| -> Result<(), StateError> {
        products
            .iter()
            .try_for_each(|c| state.note_consent_change(c.product_id()))
    };
    let edited = state.update_config(|text| {
        let edited = set_mode(text, &scope, mode).map_err(EditError::Refused)?;
        if withdraws {
            note(&products)?;
        }
        Ok(edited)
    });
    // Off stays off with a file that cannot be edited: the change is recorded and pending data
    // still goes, whatever else fails.
    let unrecorded = (edited.is_err() && off)
        .then(|| note(&products).err())
        .flatten()
        .map(|e| format!("cannot record the change: {e}"));
    let not_edited = match edited {
        Ok(()) => None,
        Err(EditError::State(e)) => Some(format!("cannot change the configuration file: {e}")),
        Err(EditError::Refused(message)) => Some(format!(
            "{}: {message}; not changed (fix or remove the file first)",
            path.display()
        )),
    };
    if not_edited.is_none() {
        let what = match (&scope, setting) {
            (ModeScope::Product(id), Setting::Set(m)) => {
                format!("mode = \"{}\" for {id}", m.as_str())
            }
            (ModeScope::Product(id), Setting::Reset) => format!("removed the mode set for {id}"),
            (_, Setting::Set(m)) => format!("mode = \"{}\" for every product", m.as_str()),
            (_, Setting::Reset) => "removed every mode setting".to_owned(),
        };
        writeln!(out, "{}: {what}", path.display())?;
    } else if !off {
        // Nothing changed, and nothing is discarded: say why, and stop.
        return Err(CliError::Usage(not_edited.unwrap_or_default()));
    }
    let mut problems: Vec<String> = not_edited.into_iter().chain(unrecorded).collect();
    for catalogue in products {
        let decision = consent_now::decide_now(catalogue, &HostArgs::default());
        status_cmd::write_text(
            out,
            &catalogue.spec().product.name,
            catalogue.product_id(),
            &decision,
        )?;
        // Revocation: pending data of a product switched off is thrown away, never sent later,
        // whether or not the file could be edited (a broken file keeps it off too). The
        // discard waits for any write or delivery in progress, so once this returns nothing
        // that waited is sent.
        if off {
            match discard(&state, catalogue.product_id()) {
                Ok(discarded) => writeln!(
                    out,
                    "  pending:    {discarded} event(s) waiting in the spool discarded"
                )?,
                Err(e) => problems.push(format!("cannot discard pending data: {e}")),
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::Incomplete(problems.join("; ")))
    }
}

/// Discards `product`'s spool in Candor's folder and in its demo runs' folders (a demo obeys
/// the user's consent); returns the events discarded.
fn discard(state: &StateDir, product: &str) -> Result<u64, candor::BuildError> {
    let mut discarded = candor::admin::discard_spooled(state.root(), product)?;
    for (_, demo) in state.demo_folders() {
        discarded += candor::admin::discard_spooled(demo.root(), product)?;
    }
    Ok(discarded)
}
