//! The exported JSON Schema, checked by a validator Candor did not write (the `jsonschema`
//! crate): it accepts both exported catalogues and rejects broken ones.

use candor_tests::docs_dir;
use serde_json::Value;

fn read_json(relative: &str) -> Value {
    let path = docs_dir().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&read_json("schema/catalogue.schema.json"))
        .expect("the schema itself is valid")
}

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn both_exported_catalogues_validate() {
    let validator = validator();
    for product in ["aspire-dashboard", "contrast-dotnet-agent"] {
        let catalogue = read_json(&format!("catalogues/{product}.json"));
        assert_eq!(
            errors(&validator, &catalogue),
            Vec::<String>::new(),
            "{product}"
        );
    }
}

#[test]
fn a_catalogue_without_a_privacy_class_is_rejected() {
    let validator = validator();
    let mut catalogue = read_json("catalogues/contrast-dotnet-agent.json");
    let point = catalogue["data_points"][4]
        .as_object_mut()
        .expect("a data point");
    assert_eq!(point["id"], "machine_id");
    point.remove("privacy");
    let found = errors(&validator, &catalogue);
    assert!(
        !found.is_empty(),
        "a point without privacy must not validate"
    );
    assert!(found.iter().any(|e| e.contains("privacy")), "{found:?}");
}

#[test]
fn unknown_fields_and_unknown_privacy_classes_are_rejected() {
    let validator = validator();
    let mut with_typo = read_json("catalogues/aspire-dashboard.json");
    with_typo["data_points"][0]["privcy"] = Value::from("public");
    assert!(!validator.is_valid(&with_typo));

    let mut unknown_class = read_json("catalogues/aspire-dashboard.json");
    unknown_class["data_points"][0]["privacy"] = Value::from("none");
    assert!(!validator.is_valid(&unknown_class));
}

#[test]
fn the_exported_catalogues_load_back_through_candors_own_loader() {
    for product in ["aspire-dashboard", "contrast-dotnet-agent"] {
        let path = docs_dir().join(format!("catalogues/{product}.json"));
        let loaded = candor_schema::Catalogue::from_path(&path).expect("exported catalogue loads");
        let builtin = candor_schema::builtin::catalogues()
            .expect("built-ins")
            .get(product)
            .expect("known");
        let mut expected = builtin.spec().clone();
        expected.comment = Some(candor_docs::GENERATED_NOTICE.to_owned());
        assert_eq!(loaded.spec(), &expected);
    }
}

/// Each product's event schema accepts exactly the events its catalogue declares: a real event
/// passes; an undeclared point, a value of another kind, or an install id the catalogue does
/// not declare fails.
#[test]
fn the_product_event_schema_accepts_only_declared_events() {
    let schema = read_json("schema/contrast-dotnet-agent.events.schema.json");
    let validator = jsonschema::validator_for(&schema).expect("the schema itself is valid");
    let agent = candor_schema::builtin::catalogues()
        .expect("built-ins")
        .get("contrast-dotnet-agent")
        .expect("agent");
    let stamp = candor_schema::Stamp {
        event_id: "0".repeat(32),
        time: "2026-11-21T09:30:00.000Z".into(),
        product_version: "21.1.2".into(),
        runtime_line: "framework".into(),
        install_id: None,
    };
    let event = candor_schema::Event::declared(
        agent,
        "working_set",
        candor_schema::Value::Count(4096),
        stamp,
    )
    .expect("declared");
    let good = serde_json::to_value(&event).expect("json");
    assert_eq!(errors(&validator, &good), Vec::<String>::new());

    let mut undeclared = good.clone();
    undeclared["point"] = Value::from("screen_resolution");
    assert!(!validator.is_valid(&undeclared));

    let mut wrong_kind = good.clone();
    wrong_kind["value"] = serde_json::json!({ "kind": "text", "data": "lots" });
    assert!(!validator.is_valid(&wrong_kind));

    let mut with_id = good.clone();
    with_id["install_id"] = Value::from("f".repeat(32));
    assert!(
        !validator.is_valid(&with_id),
        "the agent declares no install id"
    );

    let mut other_product = good;
    other_product["product"] = Value::from("aspire-dashboard");
    assert!(!validator.is_valid(&other_product));
}
