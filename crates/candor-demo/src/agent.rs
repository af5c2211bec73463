//! A simulated Contrast .NET agent 21.5.1 on .NET Framework (a version that collects every
//! point of that line): a snapshot at first load, then one every
//! (shortened) interval, with HTTP summaries, IIS pools, rule modes and caught exceptions.

use std::time::{Duration, Instant};

use candor_collect::{
    Clr, ContrastInstance, HttpExchanges, IisInventory, IisPool, Milestone, Milestones, RuleMode,
};

use super::{DemoOptions, DemoSummary, canaries, destination};
use candor::{Name, Occasion, RawException, Telemetry};

use crate::DemoError;

fn names(list: &[&str]) -> Vec<Name> {
    list.iter().filter_map(|n| Name::new(n).ok()).collect()
}

/// Runs the agent demo; see [`super::DemoOptions`].
pub fn run(options: &DemoOptions) -> Result<DemoSummary, DemoError> {
    let catalogue = candor::builtin("contrast-dotnet-agent")?;
    let mut builder = Telemetry::builder(catalogue)
        .runtime("framework")
        .version("21.5.1")
        .state_dir(&options.state_dir)
        .batch_wait(Duration::from_millis(200));
    if let Some(sink) = &options.sink {
        builder = builder.sink(sink.clone());
    }
    if let Some(ca) = &options.ca_file {
        builder = builder.ca_file(ca);
    }
    if let Some(config) = &options.config_dir {
        builder = builder.config_dir(config);
    }
    let telemetry = builder.build()?;
    let agent = candor_collect::AgentRecorder::new(telemetry.clone());
    let [email, _home, windows_home, token, password, user] = canaries();

    // Start-up milestones, as the agent would mark them.
    let start = Instant::now();
    let mut milestones = Milestones::started_at(start);
    milestones.mark_at(
        Milestone::ProfilerInitialised,
        start + Duration::from_millis(182),
    );
    milestones.mark_at(
        Milestone::SensorInitialised,
        start + Duration::from_millis(431),
    );
    milestones.mark_at(
        Milestone::FirstRequestSent,
        start + Duration::from_millis(450),
    );
    milestones.mark_at(
        Milestone::FirstRequestEnded,
        start + Duration::from_millis(712),
    );

    let mut schedule = telemetry.schedule().with_interval(options.interval);
    let mut http = HttpExchanges::default();
    let end = Instant::now() + options.run_for;
    let mut round = 0u64;
    loop {
        let now = Instant::now();
        if let Some(occasion) = schedule.due(now) {
            let _unavailable = telemetry.record_system_snapshot();
            agent.agent_version("21.5.1");
            agent.framework_runtime_version("4.8.1");
            agent.assess_enabled(true);
            agent.protect_enabled(true);
            agent.contrast_instance(ContrastInstance::Hosted);
            agent.cie_used(false);
            agent.cie_raw_profiler_hook_used(false);
            agent.application_framework("aspnet-mvc");
            agent.chained_profiler_vendor("datadog");
            agent.process_hosting_mode("in-process");
            agent.non_default_settings(&names(&[
                "agent.logger.level",
                "application.name",
                "api.proxy.url",
            ]));
            agent.disabled_assess_rules(&names(&["sql-injection", "xxe"]));
            agent.protect_rule_modes(&[
                (Name::new("sql-injection").expect("a name"), RuleMode::Block),
                (
                    Name::new("cmd-injection").expect("a name"),
                    RuleMode::Monitor,
                ),
            ]);
            agent.iis(&IisInventory {
                pools: vec![
                    IisPool {
                        apps: 3,
                        apps_analyzed: 2,
                        clr: Clr::V4,
                        agent_attached: true,
                    },
                    IisPool {
                        apps: 1,
                        apps_analyzed: 1,
                        clr: Clr::V4,
                        agent_attached: true,
                    },
                    IisPool {
                        apps: 2,
                        apps_analyzed: 0,
                        clr: Clr::V2,
                        agent_attached: false,
                    },
                    IisPool {
                        apps: 6,
                        apps_analyzed: 4,
                        clr: Clr::V4,
                        agent_attached: true,
                    },
                ],
            });
            if occasion == Occasion::FirstLoad {
                agent.init_timings(&milestones);
            }
            agent.http_summary(&mut http);
        }
        // Between reports the agent talks to Contrast and sometimes catches an exception.
        for i in 0..5 {
            let status = if (round + i).is_multiple_of(17) {
                503
            } else {
                200
            };
            http.record(
                status,
                Duration::from_millis(40 + (round * 7 + i * 13) % 160),
            );
        }
        if round.is_multiple_of(4) {
            agent.caught_exception(RawException {
                type_name: "System.Net.WebException".to_owned(),
                message: format!("The remote server returned an error: (401) Unauthorized. token={token}"),
                stack: format!(
                    "   at System.Net.HttpWebRequest.GetResponse()\n   at Contrast.Agent.Http.TeamServerClient.Send(Request request) in {windows_home}\\agent\\TeamServerClient.cs:line 211\n   at Customer.Shop.Checkout.Pay(Card card, String owner)\n   at Customer.Shop.Controllers.CartController.Post()\n   at Contrast.Agent.Sensors.RequestSensor.OnEnd(HttpContext context)"
                ),
                log_message: Some(format!(
                    "Failed to report to TeamServer as {user} ({email}); connection string Server=ts;{password}"
                )),
            });
        }
        round += 1;
        if Instant::now() >= end {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    agent.http_summary(&mut http);
    // Not declared for .NET Framework: refused, never sent.
    telemetry.record(
        "core_runtime_version",
        candor::Input::Word("8.0.11".to_owned()),
    );
    let status = telemetry.shutdown(Duration::from_secs(10));
    let destination = match &options.sink {
        Some(sink) => destination(sink),
        None => options
            .state_dir
            .join("events/contrast-dotnet-agent.jsonl")
            .display()
            .to_string(),
    };
    Ok(DemoSummary::new(
        "contrast-dotnet-agent",
        destination,
        status,
    ))
}
