//! Recording: one call per kind of value the catalogue has, each by point id. The value is
//! copied before the call returns; Candor's worker then checks it against the catalogue for
//! the running version and applies the point's privacy, exactly as for a Rust host. A point
//! that is undeclared, not collected by this version, or given the wrong kind of value is
//! refused there and counted in the status (`refused`), not here: the call returns
//! `CANDOR_CODE_OK` once the value is queued (or, with consent off, ignored).
//!
//! A new value kind in the catalogue format gets one function here, taking its natural C
//! shape and building the `candor::Input` the Rust recorder would, and one line in the C
//! generator of `candor-docs` (`c_header`), which maps the kind to the function.

#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::c_char;
use std::time::Duration;

use candor::Input;

use super::guard;
use crate::code::{CandorCode, Refusal};
use crate::raw;
use crate::registry;
use crate::types::{CandorException, CandorHandle, CandorStr};

/// Records `input` for `point` on `handle`.
fn put(handle: CandorHandle, point: &str, input: Input) -> Result<(), Refusal> {
    registry::with_telemetry(handle, |t| t.record(point, input))
}

/// The point id argument every record call takes.
///
/// # Safety
/// `point` points to `point_len` readable bytes.
unsafe fn point_id<'a>(point: *const c_char, point_len: usize) -> Result<&'a str, Refusal> {
    // SAFETY: the caller's promise is passed on.
    unsafe { raw::text(point, point_len, "point") }
}

/// Pairs keys with values, refusing a key given twice (a map has one value per key).
fn pairs<V>(what: &str, keys: Vec<&str>, values: Vec<V>) -> Result<BTreeMap<String, V>, Refusal> {
    let mut map = BTreeMap::new();
    for (key, value) in keys.into_iter().zip(values) {
        if map.insert(key.to_owned(), value).is_some() {
            return Err(Refusal::new(
                CandorCode::InvalidArgument,
                format!("{what} has the key {key:?} twice"),
            ));
        }
    }
    Ok(map)
}

/// Records a flag (non-zero is true).
///
/// # Safety
/// `point` points to `point_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_record_flag(
    handle: CandorHandle,
    point: *const c_char,
    point_len: usize,
    value: i32,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `point_len` readable bytes at `point`.
        let point = unsafe { point_id(point, point_len) }?;
        put(handle, point, Input::Flag(value != 0))
    })
}

/// Records a whole number (a `count` point).
///
/// # Safety
/// `point` points to `point_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_record_count(
    handle: CandorHandle,
    point: *const c_char,
    point_len: usize,
    value: u64,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `point_len` readable bytes at `point`.
        let point = unsafe { point_id(point, point_len) }?;
        put(handle, point, Input::Count(value))
    })
}

/// Records a length of time in nanoseconds (a `duration` point; converted to its unit).
///
/// # Safety
/// `point` points to `point_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_record_duration(
    handle: CandorHandle,
    point: *const c_char,
    point_len: usize,
    nanoseconds: u64,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `point_len` readable bytes at `point`.
        let point = unsafe { point_id(point, point_len) }?;
        put(
            handle,
            point,
            Input::Elapsed(Duration::from_nanos(nanoseconds)),
        )
    })
}

/// Reads one string value, then records what `make` builds from it.
///
/// # Safety
/// `point` and `value` point to `point_len` and `value_len` readable bytes.
unsafe fn record_string(
    handle: CandorHandle,
    point: *const c_char,
    point_len: usize,
    value: *const c_char,
    value_len: usize,
    make: fn(String) -> Input,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `point_len` readable bytes at `point`.
        let point = unsafe { point_id(point, point_len) }?;
        // SAFETY: the caller promises `value_len` readable bytes at `value`.
        let value = unsafe { raw::text(value, value_len, "value") }?;
        put(handle, point, make(value.to_owned()))
    })
}

/// Records a word sent as it is after checking: an `enumeration`, `version`, `language_tag`
/// or `user_agent` point (user agents are coarsened first).
///
/// # Safety
/// `point` and `value` point to `point_len` and `value_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_record_word(
    handle: CandorHandle,
    point: *const c_char,
    point_len: usize,
    value: *const c_char,
    value_len: usize,
) -> CandorCode {
    // SAFETY: the caller's promise is passed on.
    unsafe { record_string(handle, point, point_len, value, value_len, Input::Word) }
}

/// Records free text (a `text` point): scrubbed of personal data and cut to the declared
/// length before it can leave.
///
/// # Safety
/// `point` and `value` point to `point_len` and `value_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_record_text(
    handle: CandorHandle,
    point: *const c_char,
    point_len: usize,
    value: *const c_char,
    value_len: usize,
) -> CandorCode {
    // SAFETY: the caller's promise is passed on.
    unsafe { record_string(handle, point, point_len, value, value_len, Input::Text) }
}

/// Records an identifier to hash (a `hashed` point): only its hash leaves the machine.
///
/// # Safety
/// `point` and `value` point to `point_len` and `value_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_record_identifier(
    handle: CandorHandle,
    point: *const c_char,
    point_len: usize,
    value: *const c_char,
    value_len: usize,
) -> CandorCode {
    // SAFETY: the caller's promise is passed on.
    unsafe {
        record_string(
            handle,
            point,
            point_len,
            value,
            value_len,
            Input::Identifier,
        )
    }
}

/// Records measurements to summarise (a `distribution` point): only the declared statistics
/// leave, never the measurements. NULL with `count` 0 is no measurement. A measurement that is
/// negative, infinite or NaN is refused with `CANDOR_CODE_INVALID_ARGUMENT` and nothing is
/// recorded (as a negative or non-finite duration is refused where the facade reads one):
/// Candor's distributions are of times and sizes, and a summary silently missing or skewed
/// by one would report what never happened.
///
/// # Safety
/// `point` points to `point_len` readable bytes; `samples` to `count` doubles (or NULL, 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_record_samples(
    handle: CandorHandle,
    point: *const c_char,
    point_len: usize,
    samples: *const f64,
    count: usize,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `point_len` readable bytes at `point`.
        let point = unsafe { point_id(point, point_len) }?;
        // SAFETY: the caller promises `count` readable doubles at `samples`.
        let samples = unsafe { raw::array(samples, count, "samples") }?;
        if let Some((i, bad)) = samples
            .iter()
            .enumerate()
            .find(|(_, s)| !(s.is_finite() && **s >= 0.0))
        {
            return Err(Refusal::new(
                CandorCode::InvalidArgument,
                format!("samples[{i}] is {bad}; measurements are finite and not negative"),
            ));
        }
        put(handle, point, Input::Samples(samples.to_vec()))
    })
}

/// Records one reporting period's measurements of a `histogram` point: Candor folds them into
/// the point's bucket counts before anything is queued, so only the counts, their number and
/// sum leave, never a measurement. Measurements that are not finite are left out; those outside
/// the declared range count in its first or last bucket. NULL with `count` 0 is a period
/// without measurements.
///
/// # Safety
/// `point` points to `point_len` readable bytes; `measurements` to `count` doubles (or NULL, 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_record_histogram(
    handle: CandorHandle,
    point: *const c_char,
    point_len: usize,
    measurements: *const f64,
    count: usize,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `point_len` readable bytes at `point`.
        let point = unsafe { point_id(point, point_len) }?;
        // SAFETY: the caller promises `count` readable doubles at `measurements`.
        let measurements = unsafe { raw::array(measurements, count, "measurements") }?;
        put(handle, point, Input::Samples(measurements.to_vec()))
    })
}

/// Records a list of names (a `names` point), never their values.
///
/// # Safety
/// `point` points to `point_len` readable bytes; `names` to `count` `CandorStr` (or NULL, 0),
/// each describing readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_record_names(
    handle: CandorHandle,
    point: *const c_char,
    point_len: usize,
    names: *const CandorStr,
    count: usize,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `point_len` readable bytes at `point`.
        let point = unsafe { point_id(point, point_len) }?;
        // SAFETY: the caller promises `count` valid `CandorStr` at `names`.
        let names = unsafe { raw::strings(names, count, "names") }?;
        put(
            handle,
            point,
            Input::Names(names.into_iter().map(str::to_owned).collect()),
        )
    })
}

/// Records how many times each label occurred (a `label_counts` point): `labels[i]` occurred
/// `counts[i]` times.
///
/// # Safety
/// `point` points to `point_len` readable bytes; `labels` and `counts` to `count` items each
/// (or both NULL with `count` 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_record_label_counts(
    handle: CandorHandle,
    point: *const c_char,
    point_len: usize,
    labels: *const CandorStr,
    counts: *const u64,
    count: usize,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `point_len` readable bytes at `point`.
        let point = unsafe { point_id(point, point_len) }?;
        // SAFETY: the caller promises `count` valid `CandorStr` at `labels`.
        let labels = unsafe { raw::strings(labels, count, "labels") }?;
        // SAFETY: the caller promises `count` readable integers at `counts`.
        let counts = unsafe { raw::array(counts, count, "counts") }?;
        let map = pairs("labels", labels, counts.to_vec())?;
        put(handle, point, Input::LabelCounts(map))
    })
}

/// Reads two parallel string lists into a map.
///
/// # Safety
/// `keys` and `values` point to `count` valid `CandorStr` each (or both NULL with `count` 0).
unsafe fn string_map(
    keys: *const CandorStr,
    values: *const CandorStr,
    count: usize,
    (keys_what, values_what): (&str, &str),
) -> Result<BTreeMap<String, String>, Refusal> {
    // SAFETY: the caller promises `count` valid `CandorStr` at `keys`.
    let keys = unsafe { raw::strings(keys, count, keys_what) }?;
    // SAFETY: the caller promises `count` valid `CandorStr` at `values`.
    let values = unsafe { raw::strings(values, count, values_what) }?;
    pairs(
        keys_what,
        keys,
        values.into_iter().map(str::to_owned).collect(),
    )
}

/// Records a mode per name (a `mode_by_name` point): `names[i]` is in mode `modes[i]`.
///
/// # Safety
/// `point` points to `point_len` readable bytes; `names` and `modes` to `count` valid
/// `CandorStr` each (or both NULL with `count` 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_record_modes(
    handle: CandorHandle,
    point: *const c_char,
    point_len: usize,
    names: *const CandorStr,
    modes: *const CandorStr,
    count: usize,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `point_len` readable bytes at `point`.
        let point = unsafe { point_id(point, point_len) }?;
        // SAFETY: the caller's promise about both lists is passed on.
        let map = unsafe { string_map(names, modes, count, ("names", "modes")) }?;
        put(handle, point, Input::ModeByName(map))
    })
}

/// Records key–value pairs (a `properties` point): undeclared keys are dropped and values
/// scrubbed before they can leave.
///
/// # Safety
/// `point` points to `point_len` readable bytes; `keys` and `values` to `count` valid
/// `CandorStr` each (or both NULL with `count` 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_record_properties(
    handle: CandorHandle,
    point: *const c_char,
    point_len: usize,
    keys: *const CandorStr,
    values: *const CandorStr,
    count: usize,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `point_len` readable bytes at `point`.
        let point = unsafe { point_id(point, point_len) }?;
        // SAFETY: the caller's promise about both lists is passed on.
        let map = unsafe { string_map(keys, values, count, ("keys", "values")) }?;
        put(handle, point, Input::Properties(map))
    })
}

/// Records an exception (an `exception` point): its type, its message scrubbed, its stack
/// trace (one frame per line) filtered to the point's allowed namespaces.
///
/// # Safety
/// `point` points to `point_len` readable bytes; `exception` to an initialised
/// `CandorException` whose strings describe readable bytes (or NULL, 0 where absent).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_record_exception(
    handle: CandorHandle,
    point: *const c_char,
    point_len: usize,
    exception: *const CandorException,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `point_len` readable bytes at `point`.
        let point = unsafe { point_id(point, point_len) }?;
        // SAFETY: the caller's promise about `exception` is passed on.
        let exception = unsafe { raw::exception(exception) }?;
        put(handle, point, Input::Exception(exception))
    })
}
