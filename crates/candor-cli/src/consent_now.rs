//! The consent decision on this machine now, from the environment, the user's configuration
//! file, the network record and what the host says, gathered as a running product gathers
//! them (`Inputs::gather`); shared by `status`, `consent` and `preview`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use candor_consent::{Decision, Environment, HostLaunch, HostSignals, Inputs, config_dir, decide};
use candor_schema::Catalogue;
use candor_state::{ConfigRead, StateDir};

use crate::args::HostArgs;

/// Candor's configuration folder on this machine, if one can be found.
pub(crate) fn candor_dir() -> Option<PathBuf> {
    config_dir(&Environment::from_process())
}

pub(crate) fn decide_now(catalogue: &Catalogue, host: &HostArgs) -> Decision {
    let env = Environment::from_process();
    let mut conditions: BTreeSet<String> = host.conditions.iter().cloned().collect();
    if host.browser_open {
        conditions.insert("browser-open".to_owned());
    }
    let host = HostSignals {
        launch: host.host.as_ref().map(|(id, version)| HostLaunch {
            id: id.clone(),
            version: version.clone(),
        }),
        host_opted_out: host.host_opted_out,
        conditions,
    };
    let state = config_dir(&env).map(StateDir::new);
    let config = state.as_ref().map_or(ConfigRead::Missing, StateDir::config);
    let inputs = Inputs::gather(env, &config, state.as_ref(), catalogue.product_id(), host);
    decide(catalogue, &inputs)
}
