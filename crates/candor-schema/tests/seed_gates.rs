//! The built-in catalogues, checked against their vendors' documents line by line: for each
//! version the documents print, which data points are in effect. A version equal to a strict
//! bound ("later than 20.9.1") is excluded; one equal to an inclusive bound ("9.2") is included.

use candor_schema::{Catalogue, builtin};

fn catalogue(product: &str) -> &'static Catalogue {
    builtin::catalogues()
        .expect("built-in catalogues load")
        .get(product)
        .expect("built-in product exists")
}

fn ids_in_effect(product: &str, line: &str, version: &str) -> Vec<&'static str> {
    catalogue(product)
        .points_in_effect(line, version)
        .expect("query succeeds")
        .into_iter()
        .map(|p| p.id.as_str())
        .collect()
}

const AGENT_BASE: &[&str] = &[
    "agent_version",
    "os_version",
    "in_container",
    "in_azure_app_service",
    "machine_id",
    "kernel_version",
    "memory_page_size",
    "working_set",
    "process_running_time",
    "assess_enabled",
    "protect_enabled",
];
const AGENT_INSTANCE: &[&str] = &["contrast_instance"];
const AGENT_CIE: &[&str] = &[
    "cie_used",
    "application_framework",
    "chained_profiler_vendor",
];
const AGENT_HOSTING: &[&str] = &["process_hosting_mode", "cie_raw_profiler_hook_used"];
const AGENT_CONFIG: &[&str] = &[
    "non_default_setting_names",
    "disabled_assess_rules",
    "contrast_http_status_codes",
    "contrast_http_response_time",
];
const AGENT_TIMINGS: &[&str] = &[
    "profiler_init_time",
    "first_request_time",
    "sensor_init_time",
    "init_to_first_request_end_time",
];
const AGENT_IIS: &[&str] = &[
    "iis_app_count",
    "iis_app_count_analyzed",
    "iis_app_count_clr4",
    "iis_app_count_clr2",
    "iis_pool_count",
    "iis_pool_count_agent_attached",
    "iis_pool_count_clr4",
    "iis_pool_count_clr2",
    "iis_apps_per_pool",
];
const AGENT_RULE_MODES: &[&str] = &["protect_rule_modes"];
const AGENT_EXCEPTIONS: &[&str] = &["sensor_exceptions"];

/// The expected set, built from the seed's sections in the order it prints them.
fn expect(groups: &[&[&'static str]], runtime_only: &'static str) -> Vec<&'static str> {
    let mut all: Vec<&'static str> = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        all.extend_from_slice(group);
        if i == 0 {
            all.push(runtime_only);
        }
    }
    all.sort_unstable();
    all
}

fn sorted(mut ids: Vec<&'static str>) -> Vec<&'static str> {
    ids.sort_unstable();
    ids
}

#[test]
fn agent_on_dotnet_framework_reads_like_the_seed() {
    let runtime = "framework_runtime_version";
    let table: &[(&str, Vec<&'static str>)] = &[
        ("2020.8.2", vec![]),
        ("2020.8.3", vec![]),
        ("20.8.3", vec![]),
        ("2020.8.4", expect(&[AGENT_BASE], runtime)),
        ("20.9.1", expect(&[AGENT_BASE], runtime)),
        ("20.9.2", expect(&[AGENT_BASE, AGENT_INSTANCE], runtime)),
        ("20.9.3", expect(&[AGENT_BASE, AGENT_INSTANCE], runtime)),
        (
            "20.9.4",
            expect(&[AGENT_BASE, AGENT_INSTANCE, AGENT_CIE], runtime),
        ),
        (
            "20.10.1",
            expect(&[AGENT_BASE, AGENT_INSTANCE, AGENT_CIE], runtime),
        ),
        (
            "20.10.2",
            expect(
                &[AGENT_BASE, AGENT_INSTANCE, AGENT_CIE, AGENT_HOSTING],
                runtime,
            ),
        ),
        (
            "20.10.3",
            expect(
                &[
                    AGENT_BASE,
                    AGENT_INSTANCE,
                    AGENT_CIE,
                    AGENT_HOSTING,
                    AGENT_CONFIG,
                ],
                runtime,
            ),
        ),
        (
            "20.12.2",
            expect(
                &[
                    AGENT_BASE,
                    AGENT_INSTANCE,
                    AGENT_CIE,
                    AGENT_HOSTING,
                    AGENT_CONFIG,
                ],
                runtime,
            ),
        ),
        (
            "20.12.3",
            expect(
                &[
                    AGENT_BASE,
                    AGENT_INSTANCE,
                    AGENT_CIE,
                    AGENT_HOSTING,
                    AGENT_CONFIG,
                    AGENT_TIMINGS,
                ],
                runtime,
            ),
        ),
        (
            "21.1.1",
            expect(
                &[
                    AGENT_BASE,
                    AGENT_INSTANCE,
                    AGENT_CIE,
                    AGENT_HOSTING,
                    AGENT_CONFIG,
                    AGENT_TIMINGS,
                ],
                runtime,
            ),
        ),
        (
            "21.1.2",
            expect(
                &[
                    AGENT_BASE,
                    AGENT_INSTANCE,
                    AGENT_CIE,
                    AGENT_HOSTING,
                    AGENT_CONFIG,
                    AGENT_TIMINGS,
                    AGENT_IIS,
                ],
                runtime,
            ),
        ),
        (
            "21.1.3",
            expect(
                &[
                    AGENT_BASE,
                    AGENT_INSTANCE,
                    AGENT_CIE,
                    AGENT_HOSTING,
                    AGENT_CONFIG,
                    AGENT_TIMINGS,
                    AGENT_IIS,
                    AGENT_RULE_MODES,
                ],
                runtime,
            ),
        ),
        (
            "21.4.2",
            expect(
                &[
                    AGENT_BASE,
                    AGENT_INSTANCE,
                    AGENT_CIE,
                    AGENT_HOSTING,
                    AGENT_CONFIG,
                    AGENT_TIMINGS,
                    AGENT_IIS,
                    AGENT_RULE_MODES,
                ],
                runtime,
            ),
        ),
        (
            "2021.4.3",
            expect(
                &[
                    AGENT_BASE,
                    AGENT_INSTANCE,
                    AGENT_CIE,
                    AGENT_HOSTING,
                    AGENT_CONFIG,
                    AGENT_TIMINGS,
                    AGENT_IIS,
                    AGENT_RULE_MODES,
                    AGENT_EXCEPTIONS,
                ],
                runtime,
            ),
        ),
    ];
    for (version, expected) in table {
        assert_eq!(
            sorted(ids_in_effect("contrast-dotnet-agent", "framework", version)),
            *expected,
            ".NET Framework agent {version}"
        );
    }
}

#[test]
fn agent_on_dotnet_core_reads_like_the_seed() {
    let runtime = "core_runtime_version";
    let table: &[(&str, Vec<&'static str>)] = &[
        ("1.5.15", vec![]),
        ("1.5.16", expect(&[AGENT_BASE], runtime)),
        ("1.5.17", expect(&[AGENT_BASE], runtime)),
        ("1.5.18", expect(&[AGENT_BASE, AGENT_INSTANCE], runtime)),
        ("1.5.19", expect(&[AGENT_BASE, AGENT_INSTANCE], runtime)),
        (
            "1.5.20",
            expect(&[AGENT_BASE, AGENT_INSTANCE, AGENT_CIE], runtime),
        ),
        (
            "1.5.21",
            expect(
                &[AGENT_BASE, AGENT_INSTANCE, AGENT_CIE, AGENT_HOSTING],
                runtime,
            ),
        ),
        (
            "1.6.0",
            expect(
                &[
                    AGENT_BASE,
                    AGENT_INSTANCE,
                    AGENT_CIE,
                    AGENT_HOSTING,
                    AGENT_CONFIG,
                ],
                runtime,
            ),
        ),
        (
            "1.7.2",
            expect(
                &[
                    AGENT_BASE,
                    AGENT_INSTANCE,
                    AGENT_CIE,
                    AGENT_HOSTING,
                    AGENT_CONFIG,
                ],
                runtime,
            ),
        ),
        (
            "1.7.3",
            expect(
                &[
                    AGENT_BASE,
                    AGENT_INSTANCE,
                    AGENT_CIE,
                    AGENT_HOSTING,
                    AGENT_CONFIG,
                    AGENT_TIMINGS,
                ],
                runtime,
            ),
        ),
        (
            "1.7.5",
            expect(
                &[
                    AGENT_BASE,
                    AGENT_INSTANCE,
                    AGENT_CIE,
                    AGENT_HOSTING,
                    AGENT_CONFIG,
                    AGENT_TIMINGS,
                ],
                runtime,
            ),
        ),
        (
            "1.7.6",
            expect(
                &[
                    AGENT_BASE,
                    AGENT_INSTANCE,
                    AGENT_CIE,
                    AGENT_HOSTING,
                    AGENT_CONFIG,
                    AGENT_TIMINGS,
                    AGENT_RULE_MODES,
                ],
                runtime,
            ),
        ),
        (
            "1.8.4",
            expect(
                &[
                    AGENT_BASE,
                    AGENT_INSTANCE,
                    AGENT_CIE,
                    AGENT_HOSTING,
                    AGENT_CONFIG,
                    AGENT_TIMINGS,
                    AGENT_RULE_MODES,
                ],
                runtime,
            ),
        ),
        (
            "1.8.5",
            expect(
                &[
                    AGENT_BASE,
                    AGENT_INSTANCE,
                    AGENT_CIE,
                    AGENT_HOSTING,
                    AGENT_CONFIG,
                    AGENT_TIMINGS,
                    AGENT_RULE_MODES,
                    AGENT_EXCEPTIONS,
                ],
                runtime,
            ),
        ),
    ];
    for (version, expected) in table {
        assert_eq!(
            sorted(ids_in_effect("contrast-dotnet-agent", "core", version)),
            *expected,
            ".NET Core agent {version}"
        );
    }
}

#[test]
fn iis_metrics_exist_only_on_dotnet_framework() {
    let agent = catalogue("contrast-dotnet-agent");
    let core_ids: Vec<_> = agent
        .points_on_line("core")
        .expect("core line")
        .into_iter()
        .map(|(p, _)| p.id.as_str())
        .collect();
    for iis in AGENT_IIS {
        assert!(!core_ids.contains(iis), "{iis} must not exist on .NET Core");
        assert!(agent.gate(iis, "framework").expect("known point").is_some());
    }
    let newest_core = ids_in_effect("contrast-dotnet-agent", "core", "99.0");
    assert!(AGENT_IIS.iter().all(|p| !newest_core.contains(p)));
}

#[test]
fn dashboard_reads_like_the_seed() {
    let v92 = vec!["page_navigation"];
    let mut v93 = vec![
        "page_navigation",
        "resource_types",
        "request_user_agent",
        "invoked_commands",
        "request_language",
        "dashboard_language",
        "resource_restart_time",
        "otel_processing_time",
        "unhandled_exception",
    ];
    v93.sort_unstable();
    let table: &[(&str, Vec<&'static str>)] = &[
        ("9.1", vec![]),
        ("9.1.9", vec![]),
        ("9.2", v92.clone()),
        ("9.2.0", v92.clone()),
        ("9.2.5", v92.clone()),
        ("9.3.0-preview.1", v92),
        ("9.3", v93.clone()),
        ("9.10", v93.clone()),
        ("10.0", v93),
    ];
    for (version, expected) in table {
        assert_eq!(
            sorted(ids_in_effect("aspire-dashboard", "dashboard", version)),
            *expected,
            "dashboard {version}"
        );
    }
}

#[test]
fn every_data_point_has_a_gate_that_reads_like_the_vendor() {
    let agent = catalogue("contrast-dotnet-agent");
    let gate = agent
        .gate("agent_version", "framework")
        .expect("known")
        .expect("gated");
    assert_eq!(gate.to_string(), "later than 2020.8.3");
    let dashboard = catalogue("aspire-dashboard");
    let gate = dashboard
        .gate("page_navigation", "dashboard")
        .expect("known")
        .expect("gated");
    assert_eq!(gate.to_string(), "9.2 and later");
}

#[test]
fn host_minimums_include_one_not_yet_announced() {
    let dashboard = catalogue("aspire-dashboard");
    let vs = dashboard.host_requirement("visual-studio").expect("listed");
    let scheme = candor_schema::VersionScheme::Dotted;
    assert!(vs.is_met_by(&scheme.parse("17.14").expect("valid")));
    assert!(vs.is_met_by(&scheme.parse("17.14.3").expect("valid")));
    assert!(!vs.is_met_by(&scheme.parse("17.13.9").expect("valid")));
    let kit = dashboard
        .host_requirement("csharp-dev-kit")
        .expect("listed");
    assert_eq!(kit.to_string(), "a version not yet announced");
    for v in ["0.1", "1.0", "99.99", "999999"] {
        assert!(!kit.is_met_by(&scheme.parse(v).expect("valid")), "{v}");
    }
    assert!(dashboard.host_requirement("notepad").is_none());
}
