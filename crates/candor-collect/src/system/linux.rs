//! Readings from `/proc`, `/sys` and `/etc/os-release` under the probe's root.

use std::time::Duration;

use candor_privacy::mac::Adapter;

use super::{Reading, SystemProbe, Unavailable};

/// Reads a small text file under the root, or says why it cannot.
fn read(probe: &SystemProbe, relative: &str) -> Reading<String> {
    let path = probe.path(relative);
    std::fs::read_to_string(&path)
        .map_err(|e| Unavailable::new(format!("cannot read {relative}: {}", io_reason(&e))))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "not found on this system".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

/// `PRETTY_NAME` of os-release, else `NAME VERSION_ID`.
pub(super) fn os_version(probe: &SystemProbe) -> Reading<String> {
    let text = read(probe, "etc/os-release").or_else(|_| read(probe, "usr/lib/os-release"))?;
    let field = |key: &str| {
        text.lines().find_map(|line| {
            let value = line.strip_prefix(key)?.strip_prefix('=')?;
            let value = value.trim().trim_matches('"').trim_matches('\'').trim();
            (!value.is_empty()).then(|| value.to_owned())
        })
    };
    field("PRETTY_NAME")
        .or_else(|| match (field("NAME"), field("VERSION_ID")) {
            (Some(n), Some(v)) => Some(format!("{n} {v}")),
            (n, _) => n,
        })
        .ok_or_else(|| Unavailable::new("os-release names no operating system"))
}

/// The kernel release, as `uname -r` prints it.
pub(super) fn kernel_version(probe: &SystemProbe) -> Reading<String> {
    let text = read(probe, "proc/sys/kernel/osrelease")?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Unavailable::new("/proc/sys/kernel/osrelease is empty"));
    }
    Ok(text.to_owned())
}

/// Auxiliary-vector keys (see getauxval(3)): the values the kernel hands every process, which is
/// also where the C library's `sysconf` finds them.
const AT_PAGESZ: u64 = 6;
const AT_CLKTCK: u64 = 17;

/// One entry of `/proc/self/auxv`, read as native-endian 64-bit words.
fn auxv(probe: &SystemProbe, key: u64) -> Reading<u64> {
    let relative = "proc/self/auxv";
    let bytes = std::fs::read(probe.path(relative))
        .map_err(|e| Unavailable::new(format!("cannot read {relative}: {}", io_reason(&e))))?;
    let word = |chunk: &[u8]| u64::from_ne_bytes(chunk.try_into().unwrap_or([0; 8]));
    bytes
        .chunks_exact(16)
        .map(|pair| (word(&pair[..8]), word(&pair[8..])))
        .take_while(|(k, _)| *k != 0)
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .filter(|v| *v > 0)
        .ok_or_else(|| Unavailable::new(format!("{relative} has no entry {key}")))
}

/// The memory page size (what `getconf PAGESIZE` prints).
pub(super) fn page_size(probe: &SystemProbe) -> Reading<u64> {
    auxv(probe, AT_PAGESZ)
}

/// `VmRSS` of `/proc/self/status`, in bytes.
pub(super) fn working_set(probe: &SystemProbe) -> Reading<u64> {
    let text = read(probe, "proc/self/status")?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .ok_or_else(|| Unavailable::new("/proc/self/status has no VmRSS line"))?;
    let kib: u64 = line
        .trim()
        .strip_suffix("kB")
        .map(str::trim)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| Unavailable::new(format!("VmRSS `{}` is not in kB", line.trim())))?;
    kib.checked_mul(1024)
        .ok_or_else(|| Unavailable::new("VmRSS overflows"))
}

/// System uptime minus the process's start time (field 22 of `/proc/self/stat`, in clock ticks).
pub(super) fn running_time(probe: &SystemProbe) -> Reading<Duration> {
    let stat = read(probe, "proc/self/stat")?;
    // The command name (field 2) is in parentheses and may itself hold spaces and parentheses;
    // the fields after the last `)` are plain numbers. starttime is the 20th of them.
    let after_name = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .ok_or_else(|| Unavailable::new("/proc/self/stat is malformed"))?;
    let start_ticks: u64 = after_name
        .split_whitespace()
        .nth(19)
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| Unavailable::new("/proc/self/stat has no start time"))?;
    let ticks_per_second = auxv(probe, AT_CLKTCK)?;
    let uptime: f64 = read(probe, "proc/uptime")?
        .split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .filter(|u: &f64| u.is_finite() && *u >= 0.0)
        .ok_or_else(|| Unavailable::new("/proc/uptime is malformed"))?;
    let started = start_ticks as f64 / ticks_per_second as f64;
    Duration::try_from_secs_f64((uptime - started).max(0.0))
        .map_err(|_| Unavailable::new("running time out of range"))
}

/// The network adapters under `/sys/class/net`.
pub(super) fn adapters(probe: &SystemProbe) -> Reading<Vec<Adapter>> {
    const ARPHRD_LOOPBACK: &str = "772";
    let relative = "sys/class/net";
    let entries = std::fs::read_dir(probe.path(relative))
        .map_err(|e| Unavailable::new(format!("cannot list {relative}: {}", io_reason(&e))))?;
    let mut adapters = Vec::new();
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let dir = entry.path();
        let text = |file: &str| std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        adapters.push(Adapter {
            is_loopback: text("type").trim() == ARPHRD_LOOPBACK || name == "lo",
            address: text("address").trim().to_owned(),
            has_device: dir.join("device").exists(),
            name,
        });
    }
    adapters.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(adapters)
}
