//! Signs that the process runs in a container or in Azure App Service.
//!
//! No single sign is reliable everywhere, so each detector lists every sign it finds; the
//! snapshot reports true when there is at least one, and `candor preview` shows which.

use super::SystemProbe;

/// Words in `/proc/1/cgroup` that container runtimes leave behind.
const CGROUP_MARKERS: &[&str] = &["docker", "kubepods", "containerd", "libpod", "lxc", "/ecs/"];

/// Directories of container image layers, seen in the root mount's options.
const LAYER_MARKERS: &[&str] = &["/docker/", "/containerd/", "/containers/storage/"];

/// Environment variables container platforms set: Kubernetes in every pod, `container` by
/// podman and systemd-nspawn, `DOTNET_RUNNING_IN_CONTAINER` in Microsoft's .NET images.
const CONTAINER_VARIABLES: &[&str] = &[
    "KUBERNETES_SERVICE_HOST",
    "container",
    "DOTNET_RUNNING_IN_CONTAINER",
];

/// Every sign of a container, as short descriptions.
pub fn container_signs(probe: &SystemProbe) -> Vec<String> {
    let mut signs = Vec::new();
    for marker_file in [".dockerenv", "run/.containerenv"] {
        if probe.path(marker_file).exists() {
            signs.push(format!("/{marker_file} exists"));
        }
    }
    if let Ok(cgroup) = std::fs::read_to_string(probe.path("proc/1/cgroup"))
        && let Some(marker) = CGROUP_MARKERS.iter().find(|m| cgroup.contains(*m))
    {
        signs.push(format!("/proc/1/cgroup mentions `{marker}`"));
    }
    if let Ok(mountinfo) = std::fs::read_to_string(probe.path("proc/self/mountinfo"))
        && let Some(sign) = root_mount_sign(&mountinfo)
    {
        signs.push(sign);
    }
    for variable in CONTAINER_VARIABLES {
        if let Some(value) = probe.var(variable)
            && !value.eq_ignore_ascii_case("false")
        {
            signs.push(format!("{variable} is set"));
        }
    }
    signs
}

/// The root mount is an overlay of container image layers.
fn root_mount_sign(mountinfo: &str) -> Option<String> {
    mountinfo.lines().find_map(|line| {
        let (mount, super_part) = line.split_once(" - ")?;
        let mount_point = mount.split_whitespace().nth(4)?;
        if mount_point != "/" {
            return None;
        }
        let mut fields = super_part.split_whitespace();
        let fs_type = fields.next()?;
        let options = fields.nth(1).unwrap_or("");
        let marker = LAYER_MARKERS.iter().find(|m| options.contains(*m))?;
        (fs_type == "overlay").then(|| format!("root is an overlay of `{marker}` layers"))
    })
}

/// Azure App Service sets `WEBSITE_SITE_NAME` with, among others, `WEBSITE_INSTANCE_ID` and
/// `WEBSITE_OWNER_NAME`. One variable alone is too easy to set by accident; two are required.
pub fn app_service_signs(probe: &SystemProbe) -> Vec<String> {
    const COMPANIONS: &[&str] = &[
        "WEBSITE_INSTANCE_ID",
        "WEBSITE_OWNER_NAME",
        "WEBSITE_HOSTNAME",
    ];
    if probe.var("WEBSITE_SITE_NAME").is_none() {
        return Vec::new();
    }
    let companions: Vec<String> = COMPANIONS
        .iter()
        .filter(|v| probe.var(v).is_some())
        .map(|v| format!("{v} is set"))
        .collect();
    if companions.is_empty() {
        return Vec::new();
    }
    let mut signs = vec!["WEBSITE_SITE_NAME is set".to_owned()];
    signs.extend(companions);
    signs
}
