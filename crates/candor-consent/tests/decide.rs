//! Every consent rule of both built-in products, as a table: inputs → mode and deciding source.

use std::collections::BTreeSet;
use std::path::PathBuf;

use candor_consent::{
    CiPolicy, ConfigError, ConfigState, ConsentGate, DecidedBy, Decision, Environment, HostLaunch,
    HostSignals, Inputs, Mode, Pending, Transition, UserConfig, decide,
};
use candor_schema::{Catalogue, builtin};

fn catalogue(product: &str) -> &'static Catalogue {
    builtin::catalogues()
        .expect("built-ins")
        .get(product)
        .expect("known")
}

fn config(text: &str) -> ConfigState {
    ConfigState::Loaded {
        path: PathBuf::from("/home/u/.config/candor/config.toml"),
        config: UserConfig::parse(text).expect("valid config"),
    }
}

fn broken_config() -> ConfigState {
    ConfigState::Broken(ConfigError {
        path: PathBuf::from("/home/u/.config/candor/config.toml"),
        message: "line 1: invalid mode".into(),
    })
}

/// A dashboard launched from a qualifying Visual Studio with the browser open: the baseline
/// under which the dashboard collects.
fn dashboard_host() -> HostSignals {
    HostSignals {
        launch: Some(HostLaunch {
            id: "visual-studio".into(),
            version: "17.14".into(),
        }),
        host_opted_out: false,
        conditions: BTreeSet::from(["browser-open".to_owned()]),
    }
}

fn host(id: &str, version: &str) -> HostSignals {
    HostSignals {
        launch: Some(HostLaunch {
            id: id.into(),
            version: version.into(),
        }),
        ..dashboard_host()
    }
}

struct Case {
    name: &'static str,
    product: &'static str,
    env: &'static [(&'static str, &'static str)],
    config: ConfigState,
    host: HostSignals,
    ci_policy: CiPolicy,
    mode: Mode,
    decided_by: &'static str,
    reason_contains: &'static str,
    warns: bool,
    /// Since how long ago the endpoint has not answered, as Candor's folder records it.
    unanswered_for: Option<std::time::Duration>,
}

fn case(name: &'static str, product: &'static str) -> Case {
    Case {
        name,
        product,
        env: &[],
        config: ConfigState::Missing,
        host: if product == "aspire-dashboard" {
            dashboard_host()
        } else {
            HostSignals::default()
        },
        ci_policy: CiPolicy::Unchanged,
        mode: Mode::On,
        decided_by: "default",
        reason_contains: "on by default",
        warns: false,
        unanswered_for: None,
    }
}

fn source_name(by: &DecidedBy) -> String {
    match by {
        DecidedBy::DoNotTrack => "do-not-track".into(),
        DecidedBy::Variable { name } => format!("variable {name}"),
        DecidedBy::ConfigFile { .. } => "config".into(),
        DecidedBy::HostOptOut => "host-opt-out".into(),
        DecidedBy::HostRequirement => "host".into(),
        DecidedBy::RuntimeCondition { id } => format!("condition {id}"),
        DecidedBy::NetworkBlock { .. } => "network".into(),
        DecidedBy::Ci => "ci".into(),
        DecidedBy::Default => "default".into(),
        other => panic!("a source this table does not know: {other:?}"),
    }
}

const AGENT: &str = "contrast-dotnet-agent";
const DASHBOARD: &str = "aspire-dashboard";
const AGENT_VAR: &str = "variable CONTRAST_DOTNET_TELEMETRY_OPTOUT";
const DASHBOARD_VAR: &str = "variable DOTNET_DASHBOARD_ENABLE_TELEMETRY";

fn cases() -> Vec<Case> {
    vec![
        // The agent: opt out with 1 or true.
        case("agent default", AGENT),
        Case {
            env: &[("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "1")],
            mode: Mode::Off,
            decided_by: AGENT_VAR,
            reason_contains: "opted out",
            ..case("agent opt-out 1", AGENT)
        },
        Case {
            env: &[("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "true")],
            mode: Mode::Off,
            decided_by: AGENT_VAR,
            reason_contains: "opted out",
            ..case("agent opt-out true", AGENT)
        },
        Case {
            env: &[("CONTRAST_DOTNET_TELEMETRY_OPTOUT", " TRUE ")],
            mode: Mode::Off,
            decided_by: AGENT_VAR,
            reason_contains: "\"TRUE\"",
            ..case("agent opt-out padded upper case", AGENT)
        },
        Case {
            env: &[("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "yes")],
            mode: Mode::Off,
            decided_by: AGENT_VAR,
            reason_contains: "opted out",
            ..case("agent opt-out yes", AGENT)
        },
        Case {
            env: &[("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "0")],
            ..case("agent opt-out 0 changes nothing", AGENT)
        },
        Case {
            env: &[("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "false")],
            ..case("agent opt-out false changes nothing", AGENT)
        },
        Case {
            env: &[("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "")],
            ..case("agent empty value is unset", AGENT)
        },
        Case {
            env: &[("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "maybe")],
            mode: Mode::Off,
            decided_by: AGENT_VAR,
            reason_contains: "\"maybe\", which Candor does not recognise",
            warns: true,
            ..case("agent unknown value fails closed", AGENT)
        },
        // DO_NOT_TRACK, for every product.
        Case {
            env: &[("DO_NOT_TRACK", "1")],
            mode: Mode::Off,
            decided_by: "do-not-track",
            reason_contains: "DO_NOT_TRACK is set to \"1\"",
            ..case("agent DNT", AGENT)
        },
        Case {
            env: &[("DO_NOT_TRACK", "1")],
            mode: Mode::Off,
            decided_by: "do-not-track",
            reason_contains: "every product",
            ..case("dashboard DNT", DASHBOARD)
        },
        Case {
            env: &[("DO_NOT_TRACK", "0")],
            ..case("DNT 0 changes nothing", AGENT)
        },
        Case {
            env: &[("DO_NOT_TRACK", "perhaps")],
            mode: Mode::Off,
            decided_by: "do-not-track",
            reason_contains: "does not recognise",
            warns: true,
            ..case("DNT unknown fails closed", AGENT)
        },
        Case {
            env: &[
                ("DO_NOT_TRACK", "1"),
                ("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "maybe"),
            ],
            mode: Mode::Off,
            decided_by: "do-not-track",
            reason_contains: "DO_NOT_TRACK",
            ..case("DNT decides before the product variable", AGENT)
        },
        // The dashboard: the variable enables; false disables for every user.
        case("dashboard from VS 17.14 with the browser open", DASHBOARD),
        Case {
            env: &[("DOTNET_DASHBOARD_ENABLE_TELEMETRY", "false")],
            mode: Mode::Off,
            decided_by: DASHBOARD_VAR,
            reason_contains: "every user who opens this dashboard instance",
            ..case("dashboard disabled by variable", DASHBOARD)
        },
        Case {
            env: &[("DOTNET_DASHBOARD_ENABLE_TELEMETRY", "0")],
            mode: Mode::Off,
            decided_by: DASHBOARD_VAR,
            reason_contains: "disabled",
            ..case("dashboard disabled by 0", DASHBOARD)
        },
        Case {
            env: &[("DOTNET_DASHBOARD_ENABLE_TELEMETRY", "true")],
            ..case("dashboard true changes nothing", DASHBOARD)
        },
        Case {
            env: &[("DOTNET_DASHBOARD_ENABLE_TELEMETRY", "true")],
            host: HostSignals {
                host_opted_out: true,
                ..dashboard_host()
            },
            mode: Mode::Off,
            decided_by: "host-opt-out",
            reason_contains: "Visual Studio has telemetry turned off",
            ..case("true does not override the IDE's opt-out", DASHBOARD)
        },
        Case {
            env: &[("DOTNET_DASHBOARD_ENABLE_TELEMETRY", "enabled")],
            mode: Mode::Off,
            decided_by: DASHBOARD_VAR,
            reason_contains: "does not recognise",
            warns: true,
            ..case("dashboard unknown value fails closed", DASHBOARD)
        },
        // Hosts and their versions.
        Case {
            host: HostSignals {
                launch: None,
                ..dashboard_host()
            },
            mode: Mode::Off,
            decided_by: "host",
            reason_contains: "not launched from a supported host (needs Visual Studio 17.14 or later, or C# Dev Kit for Visual Studio Code (minimum version not yet announced))",
            ..case("dashboard run without an IDE", DASHBOARD)
        },
        Case {
            host: host("visual-studio", "17.13.6"),
            mode: Mode::Off,
            decided_by: "host",
            reason_contains: "needs 17.14 or later",
            ..case("VS too old", DASHBOARD)
        },
        Case {
            host: host("visual-studio", "17.14.0"),
            ..case("VS exactly 17.14.0", DASHBOARD)
        },
        Case {
            host: host("visual-studio", "18.0"),
            ..case("VS newer", DASHBOARD)
        },
        Case {
            host: host("csharp-dev-kit", "1.30.0"),
            mode: Mode::Off,
            decided_by: "host",
            reason_contains: "not been announced yet",
            ..case("C# Dev Kit: minimum not yet announced", DASHBOARD)
        },
        Case {
            host: host("csharp-dev-kit", "999.0"),
            mode: Mode::Off,
            decided_by: "host",
            reason_contains: "not been announced yet",
            ..case("C# Dev Kit: no version qualifies", DASHBOARD)
        },
        Case {
            host: host("rider", "2025.1"),
            mode: Mode::Off,
            decided_by: "host",
            reason_contains: "`rider`, which is not a supported host",
            ..case("unsupported host", DASHBOARD)
        },
        Case {
            host: host("visual-studio", "seventeen"),
            mode: Mode::Off,
            decided_by: "host",
            reason_contains: "cannot be read",
            warns: true,
            ..case("unreadable host version", DASHBOARD)
        },
        // The browser.
        Case {
            host: HostSignals {
                conditions: BTreeSet::new(),
                ..dashboard_host()
            },
            mode: Mode::Off,
            decided_by: "condition browser-open",
            reason_contains: "only while the dashboard is open in a browser",
            ..case("browser closed", DASHBOARD)
        },
        // The user's configuration file.
        Case {
            config: config("mode = \"local\""),
            mode: Mode::Local,
            decided_by: "config",
            reason_contains: "never sent",
            ..case("config local", AGENT)
        },
        Case {
            config: config("[products.contrast-dotnet-agent]\nmode = \"off\""),
            mode: Mode::Off,
            decided_by: "config",
            reason_contains: "sets mode \"off\"",
            ..case("config off for this product", AGENT)
        },
        Case {
            config: config("[products.aspire-dashboard]\nmode = \"off\""),
            ..case("config off for another product", AGENT)
        },
        Case {
            config: config("mode = \"on\""),
            mode: Mode::On,
            decided_by: "config",
            reason_contains: "sets mode \"on\"",
            ..case("config on", AGENT)
        },
        Case {
            config: config("mode = \"on\""),
            env: &[("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "1")],
            mode: Mode::Off,
            decided_by: AGENT_VAR,
            reason_contains: "opted out",
            ..case("environment wins over the config file", AGENT)
        },
        Case {
            config: config("mode = \"on\""),
            host: HostSignals {
                launch: None,
                ..dashboard_host()
            },
            mode: Mode::Off,
            decided_by: "host",
            reason_contains: "not launched",
            ..case("config on cannot widen the host rule", DASHBOARD)
        },
        Case {
            config: config("mode = \"local\""),
            host: HostSignals {
                conditions: BTreeSet::new(),
                ..dashboard_host()
            },
            mode: Mode::Off,
            decided_by: "condition browser-open",
            reason_contains: "paused",
            ..case("config local still needs the browser", DASHBOARD)
        },
        Case {
            config: broken_config(),
            mode: Mode::Off,
            decided_by: "config",
            reason_contains: "cannot be used",
            warns: true,
            ..case("broken config fails closed", AGENT)
        },
        // CI.
        Case {
            env: &[("GITHUB_ACTIONS", "true")],
            ..case("CI leaves the decision unchanged by default", AGENT)
        },
        Case {
            env: &[("CI", "1")],
            ci_policy: CiPolicy::Off,
            mode: Mode::Off,
            decided_by: "ci",
            reason_contains: "where this product does not collect",
            ..case("CI off when the product says so", AGENT)
        },
        // The agent counts blocking the network as opting out, after a day without an answer.
        Case {
            unanswered_for: Some(std::time::Duration::from_secs(86_400 + 60)),
            mode: Mode::Off,
            decided_by: "network",
            reason_contains: "has not answered since",
            ..case("network blocked past the period", AGENT)
        },
        Case {
            unanswered_for: Some(std::time::Duration::from_secs(86_400 - 60)),
            ..case("network silent within the period", AGENT)
        },
        Case {
            unanswered_for: Some(std::time::Duration::from_secs(86_400 + 60)),
            config: config("mode = \"on\""),
            mode: Mode::Off,
            decided_by: "network",
            reason_contains: "blocking the network as opting out",
            ..case("the user's file does not override the network block", AGENT)
        },
        Case {
            unanswered_for: Some(std::time::Duration::from_secs(30 * 86_400)),
            ..case("the dashboard makes no network promise", DASHBOARD)
        },
        // Modes are read ignoring case and surrounding spaces.
        Case {
            config: config("mode = \" OFF \""),
            mode: Mode::Off,
            decided_by: "config",
            reason_contains: "sets mode \"off\"",
            ..case("a mode in capitals", AGENT)
        },
    ]
}

fn run(case: &Case) -> Decision {
    let inputs = Inputs {
        env: Environment::from_pairs(case.env.iter().copied()),
        config: case.config.clone(),
        host: case.host.clone(),
        ci_policy: case.ci_policy,
        told: None,
        unanswered_since: case
            .unanswered_for
            .map(|ago| std::time::SystemTime::now() - ago),
        unreadable_network_record: None,
    };
    decide(catalogue(case.product), &inputs)
}

#[test]
fn every_rule_decides_as_documented() {
    let mut failures = Vec::new();
    for case in cases() {
        let decision = run(&case);
        let source = source_name(&decision.decided_by);
        let ok = decision.mode == case.mode
            && source == case.decided_by
            && decision.reason.contains(case.reason_contains)
            && decision.warnings.is_empty() != case.warns;
        if !ok {
            failures.push(format!(
                "{}: got {:?} by {source} ({:?}, warnings {:?}); expected {:?} by {} containing {:?}",
                case.name, decision.mode, decision.reason, decision.warnings, case.mode, case.decided_by, case.reason_contains
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn warnings_name_the_variable_and_the_value() {
    let decision = run(&Case {
        env: &[("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "maybe")],
        ..case("", AGENT)
    });
    assert_eq!(decision.warnings.len(), 1);
    assert!(decision.warnings[0].contains("CONTRAST_DOTNET_TELEMETRY_OPTOUT"));
    assert!(decision.warnings[0].contains("\"maybe\""));
}

#[test]
fn the_statement_is_available_only_while_enabled() {
    let on = run(&case("", DASHBOARD));
    assert_eq!(
        on.statement.as_deref(),
        Some(catalogue(DASHBOARD).spec().disclosure.statement.as_str())
    );
    let off = run(&Case {
        host: HostSignals {
            conditions: BTreeSet::new(),
            ..dashboard_host()
        },
        ..case("", DASHBOARD)
    });
    assert_eq!(off.statement, None);
}

#[test]
fn ci_suppresses_interactive_notices_and_is_reported() {
    let decision = run(&Case {
        env: &[("GITLAB_CI", "true")],
        ..case("", AGENT)
    });
    assert_eq!(decision.ci, Some("GitLab CI"));
    assert!(!decision.interactive_notices);
    assert!(run(&case("", AGENT)).interactive_notices);
}

#[test]
fn a_first_run_notice_holds_sending_until_shown() {
    let text = include_str!("../../candor-schema/catalogues/contrast-dotnet-agent.toml").replace(
        "notice = { kind = \"documentation-only\" }",
        "notice = { kind = \"first-run\" }",
    );
    let cli_product = Catalogue::from_toml_str(&text, "cli.toml").expect("valid");
    let mut inputs = Inputs::default();
    let pending = decide(&cli_product, &inputs);
    assert_eq!(pending.mode, Mode::On);
    assert!(pending.notice_pending);
    assert!(!pending.may_send());
    assert!(pending.reason.contains("first-run notice"));
    inputs.told = Some(cli_product.disclosed());
    assert!(decide(&cli_product, &inputs).may_send());
}

#[test]
fn revocation_discards_what_was_recorded_under_the_old_decision() {
    let dashboard = catalogue(DASHBOARD);
    let mut inputs = Inputs {
        host: dashboard_host(),
        ..Inputs::default()
    };
    let gate = ConsentGate::new(decide(dashboard, &inputs));
    let mut pending = Pending::new();
    assert!(pending.record(&gate, "page: resources"));
    assert!(pending.record(&gate, "page: traces"));

    // The user closes the browser: the decision is re-evaluated and revoked.
    inputs.host.conditions.clear();
    let transition = gate.update(decide(dashboard, &inputs));
    assert_eq!(
        transition,
        Transition::Changed {
            from: Mode::On,
            to: Mode::Off
        }
    );
    assert!(!gate.is_collecting());
    assert!(
        !pending.record(&gate, "page: metrics"),
        "nothing is recorded while off"
    );
    assert_eq!(pending.take_sendable(&gate), Vec::<&str>::new());
    assert_eq!(pending.discarded(), 2);

    // The browser opens again: new records are sendable, the discarded ones never return.
    inputs.host.conditions.insert("browser-open".into());
    gate.update(decide(dashboard, &inputs));
    assert!(pending.record(&gate, "page: structured logs"));
    assert_eq!(pending.take_sendable(&gate), vec!["page: structured logs"]);
}

#[test]
fn data_recorded_under_local_is_never_sent_after_switching_on() {
    let agent = catalogue(AGENT);
    let mut inputs = Inputs {
        config: config("mode = \"local\""),
        ..Inputs::default()
    };
    let gate = ConsentGate::new(decide(agent, &inputs));
    let mut pending = Pending::new();
    assert!(pending.record(&gate, 1));
    assert!(pending.take_sendable(&gate).is_empty(), "local never sends");
    assert_eq!(pending.len(), 1, "local keeps it on this machine");

    inputs.config = config("mode = \"on\"");
    assert_eq!(
        gate.update(decide(agent, &inputs)),
        Transition::Changed {
            from: Mode::Local,
            to: Mode::On
        }
    );
    assert!(pending.record(&gate, 2));
    assert_eq!(pending.take_sendable(&gate), vec![2]);
    assert_eq!(pending.discarded(), 1);
}

#[test]
fn an_unchanged_decision_keeps_pending_items() {
    let agent = catalogue(AGENT);
    let inputs = Inputs::default();
    let gate = ConsentGate::new(decide(agent, &inputs));
    let mut pending = Pending::new();
    pending.record(&gate, "a");
    assert_eq!(gate.update(decide(agent, &inputs)), Transition::Unchanged);
    assert_eq!(pending.take_sendable(&gate), vec!["a"]);
    assert_eq!(pending.discarded(), 0);
}

/// A network record Candor cannot read (a folder, a FIFO, a symlink, a large file, text that
/// is not a time) fails closed for a catalogue that counts blocking the network as opting out:
/// off, decided by the network block, with the reason naming the record; the dashboard, which
/// makes no such promise, is not affected.
#[test]
fn an_unreadable_network_record_fails_closed_with_its_reason() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = candor_state::StateDir::new(tmp.path());
    let record = tmp.path().join("network").join(AGENT);
    std::fs::create_dir_all(record.join("planted")).expect("a folder in its place");
    let inputs = Inputs::gather(
        Environment::from_pairs::<&str, &str>([]),
        &candor_state::ConfigRead::Missing,
        Some(&state),
        AGENT,
        HostSignals::default(),
    );
    assert_eq!(inputs.unanswered_since, None);
    assert!(inputs.unreadable_network_record.is_some());
    let decision = decide(
        catalogue(AGENT),
        &Inputs {
            told: Some(catalogue(AGENT).disclosed()),
            ..inputs.clone()
        },
    );
    assert_eq!(decision.mode, Mode::Off, "{decision:?}");
    assert!(
        matches!(
            decision.decided_by,
            DecidedBy::NetworkBlock { since: None, .. }
        ),
        "{decision:?}"
    );
    assert!(
        decision.reason.contains("cannot read"),
        "{}",
        decision.reason
    );
    assert!(decision.reason.contains("network"), "{}", decision.reason);
    assert_eq!(decision.warnings, vec![decision.reason.clone()]);
    let json = serde_json::to_string(&decision).expect("json");
    assert!(json.contains("\"since\":null"), "{json}");
    let dashboard = decide(catalogue(DASHBOARD), &inputs);
    assert!(
        !matches!(dashboard.decided_by, DecidedBy::NetworkBlock { .. }),
        "{dashboard:?}"
    );
}
