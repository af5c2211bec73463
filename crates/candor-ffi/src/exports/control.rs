//! Everything but recording: the machine snapshot, status, consent changes, flush and
//! shutdown.

#![allow(unsafe_code)]

use std::ffi::c_char;
use std::time::Duration;

use candor::Status;
use candor::status::{DecidedBy, DropCause, Mode, Transition};

use super::build::refuse_unhonoured_opt_out;
use super::guard;
use crate::code::{CandorCode, Refusal};
use crate::raw;
use crate::registry;
use crate::types::{
    CANDOR_MODE_LOCAL, CANDOR_MODE_OFF, CANDOR_MODE_ON, CandorHandle, CandorStatus,
};

fn mode_code(mode: Mode) -> i32 {
    match mode {
        Mode::On => CANDOR_MODE_ON,
        Mode::Local => CANDOR_MODE_LOCAL,
        // A mode added later is reported as the strictest one.
        _ => CANDOR_MODE_OFF,
    }
}

/// The C form of a status.
pub(crate) fn c_status(status: &Status) -> CandorStatus {
    let sent = status.sent.as_ref();
    CandorStatus {
        recorded: status.recorded,
        dropped_queue_full: status.dropped(DropCause::QueueFull),
        prepared: status.prepared,
        discarded_by_consent: status.dropped(DropCause::Withdrawn),
        refused: status.refused_total(),
        delivered: sent.map_or(0, |s| s.delivered),
        pending: sent.map_or(0, |s| s.pending),
        // Everything else dropped, each event once: what consent withdrew and what a full
        // queue lost have their own fields.
        dropped: status
            .all_drops()
            .iter()
            .filter(|d| !matches!(d.cause, DropCause::Withdrawn | DropCause::QueueFull))
            .map(|d| d.events)
            .sum(),
        kept_locally: status.kept_locally.as_ref().map_or(0, |s| s.delivered),
        mode: mode_code(status.decision.mode),
        may_send: u8::from(status.decision.may_send()),
        notice_pending: u8::from(status.decision.notice_pending),
        network_blocked: u8::from(matches!(
            status.decision.decided_by,
            DecidedBy::NetworkBlock { .. }
        )),
    }
}

/// Reads this machine and records every point of the catalogue that names a machine reading
/// (the agent's first-load snapshot); writes how many could not be read to `out_unavailable`
/// (may be NULL). With consent off it reads nothing.
///
/// # Safety
/// `out_unavailable` is NULL or points to one writable `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_record_system_snapshot(
    handle: CandorHandle,
    out_unavailable: *mut u32,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `out_unavailable` is NULL or writable.
        let out = unsafe { raw::Out::optional(out_unavailable, "out_unavailable") }?;
        let telemetry = registry::telemetry(handle)?;
        let unavailable = telemetry.record_system_snapshot();
        if let Some(out) = out {
            out.write(u32::try_from(unavailable.len()).unwrap_or(u32::MAX));
        }
        Ok(())
    })
}

/// Writes what Candor has done so far to `out`.
///
/// # Safety
/// `out` points to one writable `CandorStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_status(handle: CandorHandle, out: *mut CandorStatus) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `out` is writable for one `CandorStatus`.
        let out = unsafe { raw::Out::required(out, "out") }?;
        let status = registry::telemetry(handle)?.status();
        out.write(c_status(&status));
        Ok(())
    })
}

/// Writes the status as JSON (UTF-8, NUL-terminated) to `buf` (`cap` bytes) and its length
/// without the NUL to `out_len`: the decision with its mode, deciding source and reason in
/// words, the counters, each refusal with its reason, the sender's counters and drops by
/// cause. When `cap` is too small the buffer is left alone, the length needed is still
/// written, and `CANDOR_CODE_BUFFER_TOO_SMALL` is returned (`buf` may be NULL with `cap` 0).
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes; `out_len` to one writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_status_json(
    handle: CandorHandle,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `out_len` is writable.
        let out_len = unsafe { raw::Out::required(out_len, "out_len") }?;
        let status = registry::telemetry(handle)?.status();
        let json = serde_json::to_string(&status)
            .map_err(|e| Refusal::new(CandorCode::Internal, format!("status as JSON: {e}")))?;
        // SAFETY: the caller promises `buf` has `cap` writable bytes (or is NULL).
        unsafe { raw::copy_out(&json, buf, cap, out_len) }
    })
}

/// Hands the host the notice it owes the person, when one is owed (the catalogue asks for a
/// first-run notice, and it was never shown or a later revision collects more), and records it
/// as shown: the host shows the text it gets, as it shows things (a console, a dialog).
///
/// Writes the text (UTF-8, NUL-terminated, one paragraph per line) to `buf` (`cap` bytes), its
/// length without the NUL to `out_len`, and 1 to `out_shown` (may be NULL); when nothing is
/// owed (or another thread holds the notice at that moment), the length is 0 and `out_shown` 0. When `cap` is too small the buffer is left alone,
/// the length needed is still written, nothing is recorded (the notice stays owed), and
/// `CANDOR_CODE_BUFFER_TOO_SMALL` is returned. A marker Candor cannot write is
/// `CANDOR_CODE_STATE`, and the notice stays owed. Until it is recorded, what the notice holds
/// is held and not sent.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes; `out_len` to one writable `size_t`;
/// `out_shown` is NULL or points to one writable `int32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_show_notice(
    handle: CandorHandle,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
    out_shown: *mut i32,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `out_len` is writable.
        let out_len = unsafe { raw::Out::required(out_len, "out_len") }?;
        // SAFETY: the caller promises `out_shown` is NULL or writable.
        let out_shown = unsafe { raw::Out::optional(out_shown, "out_shown") }?;
        let telemetry = registry::telemetry(handle)?;
        let state_error =
            |e: std::io::Error| Refusal::new(CandorCode::State, format!("the notice: {e}"));
        let Some(notice) = telemetry.owed_notice().map_err(state_error)? else {
            out_len.write(0);
            if let Some(out) = out_shown {
                out.write(0);
            }
            if !buf.is_null() && cap > 0 {
                // SAFETY: `buf` is not NULL and the caller promises `cap` (> 0) writable bytes.
                unsafe { buf.write(0) };
            }
            return Ok(());
        };
        // SAFETY: the caller promises `buf` has `cap` writable bytes (or is NULL).
        unsafe { raw::copy_out(notice.text(), buf, cap, out_len) }?;
        telemetry.notice_shown(notice).map_err(state_error)?;
        if let Some(out) = out_shown {
            out.write(1);
        }
        Ok(())
    })
}

/// The host turned its own telemetry off (non-zero) or on again (0): consent is decided
/// again, and if the mode changes, everything recorded under the old decision and not yet
/// sent is thrown away. Writes 1 to `out_changed` (may be NULL) when the mode changed.
///
/// Only a catalogue that honours its host's opt-out follows it: for any other, an opt-out
/// (non-zero) is refused with `CANDOR_CODE_NOT_HONOURED` and nothing changes (the product's
/// own consent rules decide; a host that must not send shuts the handle down). 0 is accepted
/// by every catalogue.
///
/// # Safety
/// `out_changed` is NULL or points to one writable `int32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_set_host_opted_out(
    handle: CandorHandle,
    opted_out: i32,
    out_changed: *mut i32,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `out_changed` is NULL or writable.
        let out = unsafe { raw::Out::optional(out_changed, "out_changed") }?;
        let telemetry = registry::telemetry(handle)?;
        if opted_out != 0 {
            refuse_unhonoured_opt_out(telemetry.catalogue())?;
        }
        let transition = telemetry.set_host_opted_out(opted_out != 0);
        if let Some(out) = out {
            out.write(i32::from(transition != Transition::Unchanged));
        }
        Ok(())
    })
}

/// Sends what is queued, waiting at most `timeout_ms` milliseconds.
#[unsafe(no_mangle)]
pub extern "C" fn candor_flush(handle: CandorHandle, timeout_ms: u32) -> CandorCode {
    guard(|| {
        registry::telemetry(handle)?.flush(Duration::from_millis(u64::from(timeout_ms)));
        Ok(())
    })
}

/// Stops recording, sends what it can within `timeout_ms` milliseconds (the rest stays in
/// the spool for the next run), writes the final status to `out` (may be NULL) and releases
/// the handle. From the moment this call starts, the handle is refused with
/// `CANDOR_CODE_CLOSED` on every thread, a second shutdown included; a record call already
/// under way on another thread finishes and its value is ignored. A misaligned `out` is
/// refused before anything is done: the handle keeps running.
///
/// # Safety
/// `out` is NULL or points to one writable `CandorStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_shutdown(
    handle: CandorHandle,
    timeout_ms: u32,
    out: *mut CandorStatus,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `out` is NULL or writable for one `CandorStatus`.
        let out = unsafe { raw::Out::optional(out, "out") }?;
        let telemetry = registry::take_telemetry(handle)?;
        let status = telemetry.shutdown(Duration::from_millis(u64::from(timeout_ms)));
        if let Some(out) = out {
            out.write(c_status(&status));
        }
        Ok(())
    })
}
