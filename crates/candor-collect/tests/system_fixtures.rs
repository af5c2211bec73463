//! Snapshot readings from fixture trees: containers, App Service, odd and missing files.

use std::collections::BTreeMap;
use std::path::Path;

use candor_collect::SystemProbe;

fn write(root: &Path, relative: &str, contents: &[u8]) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, contents).expect("write");
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn auxv(pairs: &[(u64, u64)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in pairs.iter().chain(&[(0, 0)]) {
        out.extend_from_slice(&k.to_ne_bytes());
        out.extend_from_slice(&v.to_ne_bytes());
    }
    out
}

/// A plain Linux host: no container signs.
fn bare_host(root: &Path) {
    write(root, "etc/os-release", b"NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n");
    write(root, "proc/sys/kernel/osrelease", b"6.1.0-18-amd64\n");
    write(root, "proc/1/cgroup", b"0::/init.scope\n");
    write(
        root,
        "proc/self/mountinfo",
        b"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n",
    );
    write(
        root,
        "proc/self/auxv",
        &auxv(&[(33, 1), (6, 16384), (17, 100)]),
    );
    write(root, "proc/self/status", b"Name:\tx\nVmRSS:\t  20480 kB\n");
    write(root, "proc/self/stat", b"4242 (my (odd) app) S 1 4242 4242 0 -1 4194304 100 0 0 0 10 5 0 0 20 0 1 0 5000 1000 100\n");
    write(root, "proc/uptime", b"150.50 300.00\n");
    write(root, "sys/class/net/lo/address", b"00:00:00:00:00:00\n");
    write(root, "sys/class/net/lo/type", b"772\n");
    write(root, "sys/class/net/eth0/address", b"3c:22:fb:12:34:56\n");
    write(root, "sys/class/net/eth0/type", b"1\n");
    std::fs::create_dir_all(root.join("sys/class/net/eth0/device")).expect("device");
    write(
        root,
        "sys/class/net/docker0/address",
        b"02:42:ac:11:00:01\n",
    );
    write(root, "sys/class/net/docker0/type", b"1\n");
}

#[test]
fn bare_host_reads_every_value() {
    let dir = tempfile::tempdir().expect("tmp");
    bare_host(dir.path());
    let s = SystemProbe::at(dir.path(), env(&[])).snapshot();
    assert_eq!(
        s.os_version.as_deref(),
        Ok("Debian GNU/Linux 12 (bookworm)")
    );
    assert_eq!(s.kernel_version.as_deref(), Ok("6.1.0-18-amd64"));
    assert_eq!(s.in_container, Ok(false), "{:?}", s.container_signs);
    assert_eq!(s.in_azure_app_service, Ok(false));
    assert_eq!(s.memory_page_size, Ok(16384));
    assert_eq!(s.working_set, Ok(20480 * 1024));
    // uptime 150.5 s, started at tick 5000 of 100 per second = 50 s: running 100.5 s.
    let running = s.process_running_time.expect("running").as_secs_f64();
    assert!((running - 100.5).abs() < 1e-6, "{running}");
    // eth0 has a device; docker0 is a software bridge and lo is loopback.
    let mac = s.mac_address.expect("mac").to_lowercase().replace('-', ":");
    assert_eq!(mac, "3c:22:fb:12:34:56");
}

#[test]
fn docker_is_seen_by_each_sign() {
    type Plant = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Plant, BTreeMap<String, String>)> = vec![
        (
            "/.dockerenv",
            Box::new(|r: &Path| write(r, ".dockerenv", b"")),
            env(&[]),
        ),
        (
            "/run/.containerenv",
            Box::new(|r: &Path| write(r, "run/.containerenv", b"")),
            env(&[]),
        ),
        (
            "cgroup",
            Box::new(|r: &Path| {
                write(
                    r,
                    "proc/1/cgroup",
                    b"12:memory:/kubepods/besteffort/pod1234/abcd\n",
                )
            }),
            env(&[]),
        ),
        (
            "overlay",
            Box::new(|r: &Path| {
                write(r, "proc/self/mountinfo", b"600 500 0:50 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/ABC:/var/lib/docker/overlay2/l/DEF,upperdir=/var/lib/docker/overlay2/x/diff\n")
            }),
            env(&[]),
        ),
        (
            "kubernetes",
            Box::new(|_: &Path| {}),
            env(&[("KUBERNETES_SERVICE_HOST", "10.0.0.1")]),
        ),
        (
            "podman",
            Box::new(|_: &Path| {}),
            env(&[("container", "podman")]),
        ),
        (
            "dotnet image",
            Box::new(|_: &Path| {}),
            env(&[("DOTNET_RUNNING_IN_CONTAINER", "true")]),
        ),
    ];
    for (name, plant, environment) in cases {
        let dir = tempfile::tempdir().expect("tmp");
        bare_host(dir.path());
        plant(dir.path());
        let s = SystemProbe::at(dir.path(), environment).snapshot();
        assert_eq!(s.in_container, Ok(true), "{name}: no sign found");
        assert_eq!(
            s.container_signs.len(),
            1,
            "{name}: {:?}",
            s.container_signs
        );
    }
}

#[test]
fn a_false_dotnet_variable_is_not_a_sign() {
    let dir = tempfile::tempdir().expect("tmp");
    bare_host(dir.path());
    let s =
        SystemProbe::at(dir.path(), env(&[("DOTNET_RUNNING_IN_CONTAINER", "false")])).snapshot();
    assert_eq!(s.in_container, Ok(false));
}

#[test]
fn app_service_needs_the_site_name_and_a_companion() {
    let dir = tempfile::tempdir().expect("tmp");
    bare_host(dir.path());
    let probe = |pairs: &[(&str, &str)]| SystemProbe::at(dir.path(), env(pairs)).snapshot();
    assert_eq!(
        probe(&[("WEBSITE_SITE_NAME", "shop")]).in_azure_app_service,
        Ok(false)
    );
    assert_eq!(
        probe(&[("WEBSITE_INSTANCE_ID", "abc")]).in_azure_app_service,
        Ok(false)
    );
    let s = probe(&[
        ("WEBSITE_SITE_NAME", "shop"),
        ("WEBSITE_INSTANCE_ID", "abc123"),
    ]);
    assert_eq!(s.in_azure_app_service, Ok(true));
    assert_eq!(s.app_service_signs.len(), 2);
    assert_eq!(
        probe(&[("WEBSITE_SITE_NAME", " "), ("WEBSITE_OWNER_NAME", "x")]).in_azure_app_service,
        Ok(false)
    );
}

#[test]
fn an_empty_root_says_why_for_each_reading() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = SystemProbe::at(dir.path(), env(&[])).snapshot();
    for (name, reason) in [
        ("os", s.os_version.err()),
        ("kernel", s.kernel_version.err()),
        ("page", s.memory_page_size.err()),
        ("rss", s.working_set.err()),
        ("running", s.process_running_time.err()),
        ("mac", s.mac_address.err()),
    ] {
        let reason = reason.unwrap_or_else(|| panic!("{name} has a value from nothing"));
        assert!(
            reason.reason.contains("not found") || reason.reason.contains("cannot"),
            "{name}: {reason}"
        );
    }
    assert_eq!(s.in_container, Ok(false));
}

#[test]
fn malformed_files_are_unavailable_not_panics() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    write(root, "etc/os-release", b"\xff\xfe garbage");
    write(root, "proc/sys/kernel/osrelease", b"\n");
    write(root, "proc/self/auxv", b"\x01\x02\x03");
    write(root, "proc/self/status", b"VmRSS: lots\n");
    write(root, "proc/self/stat", b"no parenthesis here");
    write(root, "proc/uptime", b"NaN");
    write(root, "sys/class/net/eth0/address", b"not a mac");
    let s = SystemProbe::at(root, env(&[])).snapshot();
    assert!(s.os_version.is_err());
    assert!(s.kernel_version.is_err());
    assert!(s.memory_page_size.is_err());
    assert!(s.working_set.is_err());
    assert!(s.process_running_time.is_err());
    let why = s.mac_address.expect_err("no usable adapter");
    assert!(why.reason.contains("eth0"), "{why}");
}

#[test]
fn only_virtual_adapters_means_no_machine_id() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    write(root, "sys/class/net/lo/address", b"00:00:00:00:00:00\n");
    write(root, "sys/class/net/lo/type", b"772\n");
    write(
        root,
        "sys/class/net/veth1a2b/address",
        b"3c:22:fb:12:34:56\n",
    );
    let s = SystemProbe::at(root, env(&[])).snapshot();
    let why = s.mac_address.expect_err("only virtual adapters");
    assert!(why.reason.contains("loopback"), "{why}");
}
