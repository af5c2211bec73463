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
fn lifecycle_fields_follow_the_schema_as_the_loader_reads_them() {
    let validator = validator();
    let exported = read_json("catalogues/contrast-dotnet-agent.json");
    assert_eq!(exported["data_points"][0]["expires"], "never");
    let with = |edit: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut catalogue = exported.clone();
        edit(
            catalogue["data_points"][0]
                .as_object_mut()
                .expect("a point"),
        );
        catalogue
    };
    let loads = |catalogue: &Value| {
        candor_schema::Catalogue::from_json_str(&catalogue.to_string(), "edited.json").is_ok()
    };
    // Both accept each form of `expires`, an owner and review links.
    for good in [
        with(&|p| {
            p.insert(
                "expires".into(),
                serde_json::json!({ "date": "2027-03-31" }),
            );
        }),
        with(&|p| {
            p.insert(
                "expires".into(),
                serde_json::json!({ "versions": { "core": "2.0", "framework": "22.1" } }),
            );
            p.insert("owner".into(), Value::from("Agent telemetry team"));
            p.insert(
                "review_links".into(),
                serde_json::json!(["https://reviews.example.com/agent/1"]),
            );
        }),
    ] {
        assert_eq!(errors(&validator, &good), Vec::<String>::new());
        assert!(loads(&good), "{}", good["data_points"][0]);
    }
    // Both refuse what the schema can express: a date in another form, a plain-text date, a
    // link that is not https, two kinds of expiry at once.
    for bad in [
        with(&|p| {
            p.insert(
                "expires".into(),
                serde_json::json!({ "date": "31.03.2027" }),
            );
        }),
        with(&|p| {
            p.insert("expires".into(), Value::from("2027-03-31"));
        }),
        with(&|p| {
            p.insert(
                "review_links".into(),
                serde_json::json!(["http://reviews.example.com/agent/1"]),
            );
        }),
        with(&|p| {
            p.insert(
                "expires".into(),
                serde_json::json!({ "date": "2027-03-31", "versions": { "core": "2.0" } }),
            );
        }),
    ] {
        assert!(!validator.is_valid(&bad), "{}", bad["data_points"][0]);
        assert!(!loads(&bad), "{}", bad["data_points"][0]);
    }
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
        time: candor_schema::Timestamp::parse("2026-11-21T09:30:00.000Z").expect("a time"),
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

    let mut other_product = good.clone();
    other_product["product"] = Value::from("aspire-dashboard");
    assert!(!validator.is_valid(&other_product));

    // A histogram as the preparer folds it passes; buckets in another shape do not.
    let layout = candor_schema::BucketLayout::of(
        &agent
            .data_point("contrast_http_response_time")
            .expect("declared")
            .value,
    )
    .expect("a histogram");
    let folded = candor_schema::Value::Histogram(layout.fold(&[3.5, 3.6, 420.0]));
    let mut histogram = good;
    histogram["point"] = Value::from("contrast_http_response_time");
    histogram["value"] = serde_json::to_value(&folded).expect("json");
    assert_eq!(errors(&validator, &histogram), Vec::<String>::new());
    let mut as_object = histogram.clone();
    as_object["value"]["data"]["buckets"] = serde_json::json!({"14": 2});
    assert!(!validator.is_valid(&as_object));
    let mut fractional = histogram;
    fractional["value"]["data"]["buckets"] = serde_json::json!([[14.5, 2]]);
    assert!(!validator.is_valid(&fractional));
}
