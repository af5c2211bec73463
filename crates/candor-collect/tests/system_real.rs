//! The snapshot on the real machine, checked against independent sources.
#![cfg(target_os = "linux")]

use std::process::Command;

use candor_collect::SystemProbe;

fn command(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().expect(program);
    assert!(out.status.success(), "{program} failed");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

#[test]
fn kernel_version_matches_uname() {
    let snapshot = SystemProbe::real().snapshot();
    assert_eq!(
        snapshot.kernel_version.expect("kernel"),
        command("uname", &["-r"])
    );
}

#[test]
fn page_size_matches_getconf() {
    let snapshot = SystemProbe::real().snapshot();
    let expected: u64 = command("getconf", &["PAGESIZE"]).parse().expect("number");
    assert_eq!(snapshot.memory_page_size.expect("page size"), expected);
}

#[test]
fn working_set_agrees_with_statm() {
    // Field 2 of /proc/self/statm is resident pages: a second source for the same figure, read
    // a moment later, so allow for the process growing in between.
    let snapshot = SystemProbe::real().snapshot();
    let rss = snapshot.working_set.expect("working set");
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .expect("field")
        .parse()
        .expect("n");
    let page: u64 = command("getconf", &["PAGESIZE"]).parse().expect("number");
    let other = pages * page;
    let diff = rss.abs_diff(other);
    assert!(rss > 0);
    assert!(diff <= other / 10 + 4 * 1024 * 1024, "{rss} vs {other}");
}

#[test]
fn running_time_is_close_to_ps() {
    let snapshot = SystemProbe::real().snapshot();
    let ours = snapshot
        .process_running_time
        .expect("running time")
        .as_secs_f64();
    // ps reports our own elapsed time in whole seconds.
    let pid = std::process::id().to_string();
    let etimes: f64 = command("ps", &["-o", "etimes=", "-p", &pid])
        .parse()
        .expect("number");
    assert!((ours - etimes).abs() <= 2.0, "ours {ours} s, ps {etimes} s");
}

#[test]
fn os_version_matches_os_release() {
    let snapshot = SystemProbe::real().snapshot();
    let text = std::fs::read_to_string("/etc/os-release").expect("os-release");
    let pretty = text
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .expect("PRETTY_NAME")
        .trim_matches('"');
    assert_eq!(snapshot.os_version.expect("os"), pretty);
}

#[test]
fn machine_id_source_is_a_real_adapter_or_says_why() {
    let snapshot = SystemProbe::real().snapshot();
    match snapshot.mac_address {
        Ok(mac) => {
            let found = std::fs::read_dir("/sys/class/net")
                .expect("net")
                .flatten()
                .any(|e| {
                    std::fs::read_to_string(e.path().join("address"))
                        .is_ok_and(|a| a.trim().eq_ignore_ascii_case(&mac.replace('-', ":")))
                });
            assert!(found, "{mac} is not the address of any adapter");
        }
        Err(why) => assert!(!why.reason.is_empty()),
    }
}

#[test]
fn rust_runtime_version_matches_rustc() {
    let ours = candor_collect::rust_runtime_version().expect("recorded at build");
    let rustc = command("rustc", &["--version"]);
    assert!(rustc.contains(&ours), "{rustc} vs {ours}");
}
