//! A simulated Aspire dashboard, launched by its IDE, used in a browser.

use std::time::{Duration, Instant};

use candor_collect::DurationSamples;

use super::{DemoOptions, DemoSummary, IdeEndpoint, canaries, destination};
use candor::{RawException, SinkSpec, Telemetry};

use crate::DemoError;

const PAGES: &[&str] = &[
    "resources",
    "console-logs",
    "structured-logs",
    "traces",
    "metrics",
];

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.86 Safari/537.36 Edg/131.0.2903.70",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
];

/// Runs the dashboard demo; see [`super::DemoOptions`].
pub fn run(options: &DemoOptions) -> Result<DemoSummary, DemoError> {
    let catalogue = candor::builtin("aspire-dashboard")?;
    // `--sink relay` without an endpoint: play the IDE too.
    let mut ide = None;
    let sink = match &options.sink {
        Some(SinkSpec::Relay { endpoint, .. }) if endpoint.is_empty() => {
            let endpoint_ide = IdeEndpoint::start().map_err(DemoError::Ide)?;
            let spec = SinkSpec::Relay {
                endpoint: endpoint_ide.url(),
                token: endpoint_ide.token().to_owned(),
            };
            ide = Some(endpoint_ide);
            Some(spec)
        }
        other => other.clone(),
    };
    let mut builder = Telemetry::builder(catalogue)
        .version("9.3")
        .state_dir(&options.state_dir)
        .batch_wait(Duration::from_millis(200))
        // The dashboard sends only when its IDE launched it and a browser has it open.
        .host("visual-studio", "17.14")
        .condition("browser-open");
    if let Some(sink) = &sink {
        builder = builder.sink(sink.clone());
    }
    if let Some(ca) = &options.ca_file {
        builder = builder.ca_file(ca);
    }
    if let Some(config) = &options.config_dir {
        builder = builder.config_dir(config);
    }
    let telemetry = builder.build()?;
    let dashboard = candor_collect::DashboardRecorder::new(telemetry.clone());

    let [email, home, windows_home, token, password, user] = canaries();
    dashboard.resource_types(&[
        "project",
        "container",
        "parameter",
        &format!("{}/db", windows_home.replace('\\', "/")),
    ]);
    dashboard.dashboard_language("en-US");
    let mut restarts = DurationSamples::default();
    let mut processing = DurationSamples::default();
    let pass = |n: usize, restarts: &mut DurationSamples, processing: &mut DurationSamples| {
        let page = PAGES[n % PAGES.len()];
        dashboard.page_navigation(
            page,
            &[
                ("view", "table"),
                ("filter_count", "2"),
                ("time_range", "last-15m"),
                // Free text a user typed: a filter with their address and a path.
                ("filter", &format!("user = {email} and path = {home}")),
                ("search_text", &format!("{token} {password}")),
            ],
        );
        dashboard.request_user_agent(USER_AGENTS[n % USER_AGENTS.len()]);
        dashboard.request_language(["en-US", "de-DE", "fr"][n % 3]);
        dashboard.invoked_command(["resource-restart", "resource-stop", "view-logs"][n % 3]);
        restarts.push(Duration::from_millis(800 + (n as u64 * 137) % 900));
        processing.push(Duration::from_micros(300 + (n as u64 * 911) % 4000));
    };
    for n in 0..6 {
        pass(n, &mut restarts, &mut processing);
    }
    dashboard.unhandled_exception(RawException {
        type_name: "System.InvalidOperationException".to_owned(),
        message: format!(
            "Could not load {windows_home}\\settings.json for {user} ({email}); Server=db;{password}"
        ),
        stack: format!(
            "   at Aspire.Dashboard.Model.ResourceViewModel.Update(String path) in {windows_home}\\src\\ResourceViewModel.cs:line 88\n   at Customer.Plugin.Handle(String secret)\n   at Microsoft.AspNetCore.Components.RenderTree.Renderer.Render()\n   at System.Threading.Tasks.Task.Run()"
        ),
        log_message: Some(format!("user {user} hit an error")),
    });
    let end = Instant::now() + options.run_for;
    let mut n = 6;
    while Instant::now() < end {
        pass(n, &mut restarts, &mut processing);
        n += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    dashboard.resource_restart_times(&mut restarts);
    dashboard.otel_processing_times(&mut processing);
    // A value the 9.3 catalogue does not declare: refused, never sent.
    telemetry.record(
        "screen_resolution",
        candor::Input::Word("2560x1440".to_owned()),
    );
    let status = telemetry.shutdown(Duration::from_secs(10));
    let destination = match (&ide, &sink) {
        (Some(ide), _) => format!(
            "the IDE's relay at {} ({} events accepted)",
            ide.url(),
            ide.accepted()
        ),
        (None, Some(sink)) => destination(sink),
        (None, None) => options
            .state_dir
            .join("events/aspire-dashboard.jsonl")
            .display()
            .to_string(),
    };
    Ok(DemoSummary::new("aspire-dashboard", destination, status))
}
