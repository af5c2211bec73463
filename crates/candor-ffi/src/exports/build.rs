//! Building a handle: the catalogue (built in, or the host's TOML), then the settings the
//! `candor` crate's `Builder` takes, then `candor_build`.

#![allow(unsafe_code)]

use std::ffi::c_char;
use std::sync::Arc;

use candor::{Builder, Catalogue, SinkSpec, Telemetry};

use super::guard;
use crate::code::{CandorCode, Refusal};
use crate::raw;
use crate::registry;
use crate::types::{
    CANDOR_MAX_CATALOGUE_BYTES, CANDOR_SINK_FILE, CANDOR_SINK_JSON, CANDOR_SINK_OTLP_GRPC,
    CANDOR_SINK_OTLP_HTTP, CANDOR_SINK_STDOUT, CandorBuilder, CandorHandle,
};

fn build_error(e: impl std::fmt::Display) -> Refusal {
    Refusal::new(CandorCode::Build, e.to_string())
}

/// Issues a builder for `catalogue` and writes its id to `out`.
fn issue(catalogue: Arc<Catalogue>, out: raw::Out<CandorBuilder>) -> Result<(), Refusal> {
    let builder = Telemetry::builder(Arc::clone(&catalogue));
    out.write(registry::add_builder(builder, catalogue)?);
    Ok(())
}

/// Starts a builder for a built-in catalogue (`"contrast-dotnet-agent"`,
/// `"aspire-dashboard"`) and writes its id to `out`.
///
/// # Safety
/// `product` points to `product_len` readable bytes; `out` to one writable `CandorBuilder`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_builder_new(
    product: *const c_char,
    product_len: usize,
    out: *mut CandorBuilder,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `out` is writable for one `CandorBuilder`.
        let out = unsafe { raw::Out::required(out, "out") }?;
        // SAFETY: the caller promises `product_len` readable bytes at `product`.
        let product = unsafe { raw::text(product, product_len, "product") }?;
        let catalogue = candor::builtin(product).map_err(build_error)?;
        issue(catalogue, out)
    })
}

/// Starts a builder for the host's own catalogue, given as TOML text (validated by the same
/// loader as every catalogue), and writes its id to `out`.
///
/// # Safety
/// `toml` points to `toml_len` readable bytes; `out` to one writable `CandorBuilder`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_builder_from_toml(
    toml: *const c_char,
    toml_len: usize,
    out: *mut CandorBuilder,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `out` is writable for one `CandorBuilder`.
        let out = unsafe { raw::Out::required(out, "out") }?;
        // SAFETY: the caller promises `toml_len` readable bytes at `toml`.
        let text = unsafe { raw::text_capped(toml, toml_len, CANDOR_MAX_CATALOGUE_BYTES, "toml") }?;
        let catalogue =
            Catalogue::from_toml_str(text, "the host's catalogue").map_err(build_error)?;
        issue(Arc::new(catalogue), out)
    })
}

/// Reads one string argument, then applies `set` to the builder.
///
/// # Safety
/// `ptr` points to `len` readable bytes.
unsafe fn set_text(
    builder: CandorBuilder,
    ptr: *const c_char,
    len: usize,
    what: &str,
    set: impl FnOnce(Builder, String) -> Builder,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `len` readable bytes at `ptr`.
        let value = unsafe { raw::text(ptr, len, what) }?.to_owned();
        registry::change_builder(builder, |b| set(b, value))
    })
}

/// The product version that records (gates are checked against it). Required before
/// `candor_build`.
///
/// # Safety
/// `version` points to `version_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_builder_version(
    builder: CandorBuilder,
    version: *const c_char,
    version_len: usize,
) -> CandorCode {
    // SAFETY: the caller's promise is passed on.
    unsafe { set_text(builder, version, version_len, "version", Builder::version) }
}

/// The runtime line (`"framework"`, `"core"`); required when the catalogue has several.
///
/// # Safety
/// `line` points to `line_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_builder_runtime(
    builder: CandorBuilder,
    line: *const c_char,
    line_len: usize,
) -> CandorCode {
    // SAFETY: the caller's promise is passed on.
    unsafe { set_text(builder, line, line_len, "runtime line", Builder::runtime) }
}

/// Candor's folder for keys, the spool, receipts and local events. Default: the user's
/// configuration folder (`CANDOR_CONFIG_DIR`, else the platform's).
///
/// # Safety
/// `dir` points to `dir_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_builder_state_dir(
    builder: CandorBuilder,
    dir: *const c_char,
    dir_len: usize,
) -> CandorCode {
    // SAFETY: the caller's promise is passed on.
    unsafe { set_text(builder, dir, dir_len, "state dir", |b, d| b.state_dir(d)) }
}

/// A PEM file of certificate authorities to trust for `https://` endpoints, besides the
/// system's.
///
/// # Safety
/// `path` points to `path_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_builder_ca_file(
    builder: CandorBuilder,
    path: *const c_char,
    path_len: usize,
) -> CandorCode {
    // SAFETY: the caller's promise is passed on.
    unsafe { set_text(builder, path, path_len, "CA file", |b, p| b.ca_file(p)) }
}

/// A runtime condition that holds (`"browser-open"`); call once per condition.
///
/// # Safety
/// `condition` points to `condition_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_builder_condition(
    builder: CandorBuilder,
    condition: *const c_char,
    condition_len: usize,
) -> CandorCode {
    // SAFETY: the caller's promise is passed on.
    unsafe {
        set_text(builder, condition, condition_len, "condition", |b, c| {
            b.condition(c)
        })
    }
}

/// Where events go: `kind` is one of `CANDOR_SINK_*`; `target` is the endpoint URL, or the
/// file's path for `CANDOR_SINK_FILE`, and may be NULL (length 0) for `CANDOR_SINK_STDOUT`.
/// The relay sink takes a token too: `candor_builder_sink_relay`. Default: a JSON-lines file
/// in Candor's folder. Endpoints are checked when the handle is built.
///
/// # Safety
/// `target` is NULL with `target_len` 0, or points to `target_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_builder_sink(
    builder: CandorBuilder,
    kind: i32,
    target: *const c_char,
    target_len: usize,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `target` is NULL with length 0 or has `target_len`
        // readable bytes.
        let target = unsafe { raw::optional_text(target, target_len, "target") }?;
        let needs_target = |what: &str| {
            target.map(str::to_owned).ok_or_else(|| {
                Refusal::new(
                    CandorCode::Null,
                    format!("this sink needs {what} as its target"),
                )
            })
        };
        let spec = match kind {
            CANDOR_SINK_OTLP_HTTP => SinkSpec::OtlpHttp {
                endpoint: needs_target("an endpoint URL")?,
            },
            CANDOR_SINK_OTLP_GRPC => SinkSpec::OtlpGrpc {
                endpoint: needs_target("an endpoint URL")?,
            },
            CANDOR_SINK_JSON => SinkSpec::Json {
                endpoint: needs_target("an endpoint URL")?,
            },
            CANDOR_SINK_FILE => SinkSpec::File {
                path: needs_target("a file path")?.into(),
            },
            CANDOR_SINK_STDOUT => SinkSpec::Stdout,
            other => {
                return Err(Refusal::new(
                    CandorCode::InvalidArgument,
                    format!(
                        "{other} is not a sink kind (CANDOR_SINK_*; the relay sink is set with \
                         candor_builder_sink_relay)"
                    ),
                ));
            }
        };
        registry::change_builder(builder, |b| b.sink(spec))
    })
}

/// Sends through the host's loopback relay (`endpoint`) with its bearer `token`, which never
/// appears in a message, a log or a receipt.
///
/// # Safety
/// `endpoint` and `token` point to `endpoint_len` and `token_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_builder_sink_relay(
    builder: CandorBuilder,
    endpoint: *const c_char,
    endpoint_len: usize,
    token: *const c_char,
    token_len: usize,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `endpoint_len` readable bytes at `endpoint`.
        let endpoint = unsafe { raw::text(endpoint, endpoint_len, "endpoint") }?.to_owned();
        // SAFETY: the caller promises `token_len` readable bytes at `token`.
        let token = unsafe { raw::text(token, token_len, "token") }?.to_owned();
        registry::change_builder(builder, |b| b.sink(SinkSpec::Relay { endpoint, token }))
    })
}

/// The host application that launched the product and its version (`"visual-studio"`,
/// `"17.14"`), for catalogues that require a host or a minimum host version.
///
/// # Safety
/// `id` and `version` point to `id_len` and `version_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_builder_host(
    builder: CandorBuilder,
    id: *const c_char,
    id_len: usize,
    version: *const c_char,
    version_len: usize,
) -> CandorCode {
    guard(|| {
        // SAFETY: the caller promises `id_len` readable bytes at `id`.
        let id = unsafe { raw::text(id, id_len, "host id") }?.to_owned();
        // SAFETY: the caller promises `version_len` readable bytes at `version`.
        let version = unsafe { raw::text(version, version_len, "host version") }?.to_owned();
        registry::change_builder(builder, |b| b.host(id, version))
    })
}

/// Whether the host has turned its own telemetry off (non-zero: off). A running handle
/// follows later changes through `candor_set_host_opted_out`.
///
/// Only a catalogue that honours its host's opt-out (`honours_host_opt_out`, as the
/// dashboard's does) follows it. For any other catalogue (the agent's) an opt-out (non-zero)
/// is refused with `CANDOR_CODE_NOT_HONOURED` and the builder is left as it was: the
/// product's own consent rules decide, so a host that must not send does not build.
/// 0 is accepted by every catalogue.
#[unsafe(no_mangle)]
pub extern "C" fn candor_builder_host_opted_out(
    builder: CandorBuilder,
    opted_out: i32,
) -> CandorCode {
    guard(|| {
        if opted_out != 0 {
            let catalogue = registry::builder_catalogue(builder)?;
            refuse_unhonoured_opt_out(&catalogue)?;
        }
        registry::change_builder(builder, |b| b.host_opted_out(opted_out != 0))
    })
}

/// `CANDOR_CODE_NOT_HONOURED` for a host opt-out given to a catalogue that does not follow it:
/// accepting it with `CANDOR_CODE_OK` would tell the host that its user's choice holds when
/// it does not.
pub(crate) fn refuse_unhonoured_opt_out(catalogue: &Catalogue) -> Result<(), Refusal> {
    if catalogue.spec().hosts.honours_host_opt_out {
        return Ok(());
    }
    Err(Refusal::new(
        CandorCode::NotHonoured,
        format!(
            "the catalogue of {} does not follow its host's opt-out (honours_host_opt_out is \
             not set), so the opt-out changes nothing: its own consent rules decide; stop \
             recording and shut the handle down if nothing may be sent",
            catalogue.product_id()
        ),
    ))
}

/// Decides consent, starts Candor's threads, and writes the new handle to `out`. The builder
/// is consumed whatever the result (after this call its id is refused with
/// `CANDOR_CODE_CLOSED`), except when the call is refused before it begins: a NULL or
/// misaligned `out`, or `CANDOR_MAX_HANDLES` handles running already (`CANDOR_CODE_LIMIT`).
/// A setting Candor refuses returns `CANDOR_CODE_BUILD` with the reason in
/// `candor_last_error`.
///
/// # Safety
/// `out` points to one writable `CandorHandle`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_build(
    builder: CandorBuilder,
    out: *mut CandorHandle,
) -> CandorCode {
    guard(|| {
        // Checked before the builder is consumed, so a bad `out` costs the caller nothing.
        // SAFETY: the caller promises `out` is writable for one `CandorHandle`.
        let out = unsafe { raw::Out::required(out, "out") }?;
        let slot = registry::reserve_handle()?;
        let telemetry = registry::take_builder(builder)?
            .build()
            .map_err(build_error)?;
        out.write(slot.fill(telemetry));
        Ok(())
    })
}

/// Releases a builder that will not be built. Freeing it twice, or after `candor_build`, is
/// refused with `CANDOR_CODE_CLOSED`.
#[unsafe(no_mangle)]
pub extern "C" fn candor_builder_free(builder: CandorBuilder) -> CandorCode {
    guard(|| registry::take_builder(builder).map(drop))
}
