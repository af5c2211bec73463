//! A data point's `semconv`: the OpenTelemetry attribute that means the same. Only known names
//! whose value is a string are accepted.

use candor_schema::Catalogue;

const AGENT: &str = include_str!("../catalogues/contrast-dotnet-agent.toml");

#[test]
fn the_agent_names_its_os_and_runtime_points() {
    let catalogue = Catalogue::from_toml_str(AGENT, "agent.toml").expect("valid");
    let named = |id: &str| catalogue.data_point(id).expect(id).semconv.clone();
    assert_eq!(named("os_version").as_deref(), Some("os.description"));
    assert_eq!(
        named("core_runtime_version").as_deref(),
        Some("process.runtime.version")
    );
    assert_eq!(named("working_set"), None);
}

#[test]
fn unknown_names_and_non_string_points_are_refused() {
    let unknown = AGENT.replace("semconv = \"os.description\"", "semconv = \"os.evil\"");
    let err = Catalogue::from_toml_str(&unknown, "agent.toml").expect_err("unknown name");
    assert!(err.to_string().contains("semconv"), "{err}");
    let flag = AGENT.replace(
        "id = \"in_container\"\n",
        "id = \"in_container\"\nsemconv = \"cloud.platform\"\n",
    );
    let err = Catalogue::from_toml_str(&flag, "agent.toml").expect_err("a flag is no string");
    assert!(err.to_string().contains("semconv"), "{err}");
}
