//! Every data point of both built-in catalogues has a collector or a typed recorder: the test
//! drives every recorder method and the system snapshot, and compares the points they produce
//! with the catalogue's.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use candor_collect::{
    AgentRecorder, Clr, ContrastInstance, HttpExchanges, IisInventory, IisPool, Milestone,
    Milestones, RuleMode,
};
use candor_collect::{DashboardRecorder, DurationSamples};
use candor_collect::{Input, Name, RawException, Record};
use candor_collect::{SystemSnapshot, record_readings};

#[derive(Default)]
struct Points(Mutex<BTreeSet<String>>);

impl Record for Points {
    fn record(&self, point: &str, _input: Input) {
        self.0.lock().expect("lock").insert(point.to_owned());
    }
}

fn catalogue_points(product: &str) -> BTreeSet<String> {
    let catalogues = candor_schema::builtin::catalogues().expect("built-ins");
    catalogues
        .get(product)
        .expect("product")
        .spec()
        .data_points
        .iter()
        .map(|p| p.id.clone())
        .collect()
}

fn every_reading_available() -> SystemSnapshot {
    SystemSnapshot {
        os_version: Ok("Linux".into()),
        kernel_version: Ok("6.1".into()),
        in_container: Ok(false),
        container_signs: vec![],
        in_azure_app_service: Ok(false),
        app_service_signs: vec![],
        mac_address: Ok("3c:22:fb:12:34:56".into()),
        memory_page_size: Ok(4096),
        working_set: Ok(1 << 20),
        process_running_time: Ok(Duration::from_secs(3)),
    }
}

#[test]
fn every_agent_point_has_a_collector_or_recorder() {
    let points = Arc::new(Points::default());
    let agent = AgentRecorder::new(Arc::clone(&points));
    let catalogues = candor_schema::builtin::catalogues().expect("built-ins");
    let spec = catalogues
        .get("contrast-dotnet-agent")
        .expect("agent")
        .spec();
    let unavailable = record_readings(&*points, &spec.data_points, &every_reading_available());
    assert!(unavailable.is_empty(), "{unavailable:?}");
    agent.agent_version("21.1.2");
    agent.framework_runtime_version("4.8.1");
    agent.core_runtime_version("8.0.11");
    agent.assess_enabled(true);
    agent.protect_enabled(false);
    agent.contrast_instance(ContrastInstance::Hosted);
    agent.cie_used(false);
    agent.cie_raw_profiler_hook_used(false);
    agent.application_framework("aspnet-mvc");
    agent.chained_profiler_vendor("none");
    agent.process_hosting_mode("in-process");
    agent.non_default_settings(&[Name::new("agent.logger.level").expect("name")]);
    agent.disabled_assess_rules(&[Name::new("sql-injection").expect("name")]);
    agent.protect_rule_modes(&[(Name::new("xss").expect("name"), RuleMode::Block)]);
    agent.caught_exception(RawException::default());
    let mut http = HttpExchanges::default();
    http.record(200, Duration::from_millis(5));
    agent.http_summary(&mut http);
    let t0 = Instant::now();
    let mut m = Milestones::started_at(t0);
    for (i, milestone) in [
        Milestone::ProfilerInitialised,
        Milestone::SensorInitialised,
        Milestone::FirstRequestSent,
        Milestone::FirstRequestEnded,
    ]
    .into_iter()
    .enumerate()
    {
        m.mark_at(milestone, t0 + Duration::from_millis(10 * (i as u64 + 1)));
    }
    assert!(agent.init_timings(&m).is_empty());
    agent.iis(&IisInventory {
        pools: vec![IisPool {
            apps: 1,
            apps_analyzed: 1,
            clr: Clr::V4,
            agent_attached: true,
        }],
    });
    let recorded = points.0.lock().expect("lock").clone();
    // The hand-written wrappers and the snapshot cover every point the catalogue had when they
    // were written; a point added since is reachable through the generated recorder, whose
    // methods are exactly the catalogue's points.
    assert!(recorded.is_subset(&catalogue_points("contrast-dotnet-agent")));
    let generated: BTreeSet<String> = candor_collect::ContrastDotnetAgentPoint::ALL
        .iter()
        .map(|p| p.id().to_owned())
        .collect();
    assert_eq!(generated, catalogue_points("contrast-dotnet-agent"));
}

#[test]
fn every_dashboard_point_has_a_recorder() {
    let points = Arc::new(Points::default());
    let dashboard = DashboardRecorder::new(Arc::clone(&points));
    dashboard.page_navigation("resources", &[("view", "graph")]);
    dashboard.resource_types(&["project"]);
    dashboard.request_user_agent("Mozilla/5.0");
    dashboard.invoked_command("restart");
    dashboard.request_language("en-US");
    dashboard.dashboard_language("en");
    let mut samples = DurationSamples::default();
    samples.push(Duration::from_millis(3));
    dashboard.resource_restart_times(&mut samples);
    dashboard.otel_processing_times(&mut samples);
    dashboard.unhandled_exception(RawException::default());
    let recorded = points.0.lock().expect("lock").clone();
    assert!(recorded.is_subset(&catalogue_points("aspire-dashboard")));
    let generated: BTreeSet<String> = candor_collect::AspireDashboardPoint::ALL
        .iter()
        .map(|p| p.id().to_owned())
        .collect();
    assert_eq!(generated, catalogue_points("aspire-dashboard"));
}

/// A snapshot fills whatever the product's catalogue asks for: the dashboard declares no machine
/// reading, so its snapshot records nothing (and so produces no "undeclared" refusals).
#[test]
fn a_snapshot_records_only_the_readings_a_catalogue_names() {
    let catalogues = candor_schema::builtin::catalogues().expect("built-ins");
    let points = Points::default();
    let dashboard = catalogues
        .get("aspire-dashboard")
        .expect("dashboard")
        .spec();
    assert!(
        record_readings(&points, &dashboard.data_points, &every_reading_available()).is_empty()
    );
    assert!(points.0.lock().expect("lock").is_empty());

    // A vendor's catalogue that names one reading under its own point id gets exactly that.
    let mut spec = dashboard.clone();
    let mut point = spec.data_points[0].clone();
    point.id = "host_kernel".into();
    point.value = candor_schema::ValueType::Text { max_len: 64 };
    point.privacy = candor_schema::PrivacyClass::Scrubbed;
    point.source = Some(candor_schema::MachineReading::KernelVersion);
    spec.data_points.push(point);
    let catalogue = candor_schema::Catalogue::from_spec(spec, "vendor").expect("valid");
    let snapshot = every_reading_available();
    let inputs = snapshot.inputs_for(&catalogue.spec().data_points);
    assert_eq!(inputs, vec![("host_kernel", Ok(Input::Text("6.1".into())))]);

    // An unavailable reading is reported under the point that asked for it.
    let mut broken = every_reading_available();
    broken.kernel_version = Err(candor_collect::Unavailable::new("no /proc"));
    let missing = record_readings(&points, &catalogue.spec().data_points, &broken);
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].0, "host_kernel");
}
