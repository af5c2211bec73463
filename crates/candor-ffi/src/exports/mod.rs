//! The exported functions, grouped by job. Every one runs its body inside [`guard`], so no
//! panic crosses the boundary and every refusal leaves its message for `candor_last_error`.

mod build;
mod control;
mod errors;
mod record;

pub use build::*;
pub use control::*;
pub use errors::*;
pub use record::*;

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::code::{self, CandorCode, Refusal};

/// Runs `body`, turning its refusal or a panic into a code (and the thread's last error).
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Refusal>) -> CandorCode {
    // Unwind safety: a panic abandons the call; the only state it could leave half-changed
    // is behind the registry's locks, whose tables are changed by single inserts and removes.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => CandorCode::Ok,
        Ok(Err(refusal)) => code::note(refusal),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let what: String = what.chars().filter(|c| !c.is_control()).take(200).collect();
            code::note(Refusal::new(
                CandorCode::Internal,
                format!("Candor failed inside and the call did nothing ({what})"),
            ))
        }
    }
}
