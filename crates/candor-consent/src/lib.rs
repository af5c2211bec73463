//! Candor's consent decision: may this product collect telemetry now, may it send it, and why.
//!
//! [`decide`] reads a product's catalogue (its opt-out variables, host requirements, runtime
//! conditions and network block) together with [`Inputs`] — the environment, the user's Candor
//! configuration file, the network record, what the host reports, CI detection, assembled by
//! [`Inputs::gather`] for every caller — and returns a [`Decision`] whose reason names the
//! source that decided, in words a user understands. Anything Candor cannot read with certainty
//! (an unknown value, a broken configuration file, an unparseable host version) decides "off"
//! and says why: privacy fails closed.
//!
//! [`ConsentGate`] carries the decision while a host runs: the hot path reads it with one atomic
//! load, and a revocation makes everything recorded under the old decision unsendable.
//!
//! Depends on `candor-schema`, and on `candor-state`, which reads and parses the files of
//! Candor's folder (`config.toml` among them) and hands consent its section.
//! Knows nothing about collecting values, scrubbing or transport: it decides, others obey.

#![warn(missing_docs)]

mod ci;
mod config;
mod decision;
mod environment;
mod gate;
mod notice;
mod switch;

pub use ci::{CiPolicy, detect_ci};
pub use config::{
    CONFIG_DIR_VARIABLE, CONFIG_FILE, ConfigError, ConfigState, ModeScope, ProductConfig,
    UserConfig, config_dir, set_mode,
};
pub use decision::{DecidedBy, Decision, HostLaunch, HostSignals, Inputs, Mode, decide};
pub use environment::Environment;
pub use gate::{ConsentGate, Pending, Ticket, Transition};
pub use notice::{FirstRunNotice, NoticeDue, notice_due, told};
pub use switch::{Switch, read_switch};
