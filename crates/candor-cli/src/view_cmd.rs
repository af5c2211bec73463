//! `candor view`: the local page of what Candor holds and sent, until interrupted.

use std::io::Write;
use std::path::Path;

use candor_consent::Environment;
use candor_view::{RedirectFile, ViewServer, ViewSource, open_browser};

use crate::args::ViewArgs;
use crate::{CliError, source, state_cmd};

pub(crate) fn run(
    file: Option<&Path>,
    args: &ViewArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let catalogues = source::catalogues(file)?;
    let env = Environment::from_process();
    let view = ViewServer::start(
        ViewSource {
            state: state_cmd::state()?,
            catalogues: catalogues.iter().cloned().collect(),
            env: env.clone(),
        },
        args.port,
    )
    .map_err(|e| CliError::Usage(e.to_string()))?;
    // The URL is the first line, alone, so a script or test can read it; what follows is
    // best effort: a reader that stopped after the URL (`candor view | head -1`) must not stop
    // the page.
    writeln!(out, "{}", view.url())?;
    out.flush()?;
    // The browser is given a private page that redirects to the URL, never the URL itself:
    // its command line is readable by every user of the machine. The page goes when the view
    // stops.
    let mut redirect = None;
    let hint = if args.no_open {
        "open it in a browser on this machine; Ctrl-C stops it".to_owned()
    } else {
        let runtime = env.get("XDG_RUNTIME_DIR").map(std::path::Path::new);
        let opened = RedirectFile::new(view.url(), runtime).and_then(|page| {
            let program = open_browser(page.path(), env.get("BROWSER").and_then(|b| b.to_str()))?;
            redirect = Some(page);
            Ok(program)
        });
        match opened {
            Ok(program) => format!("opened with {program}; Ctrl-C stops it"),
            Err(why) => format!("open it in a browser on this machine ({why}); Ctrl-C stops it"),
        }
    };
    let _ = writeln!(out, "{hint}").and_then(|()| out.flush());
    view.wait_for_interrupt();
    drop(redirect);
    Ok(())
}
