//! Every loader error names the file and the path inside it, and never panics.

use candor_schema::{Catalogue, CatalogueError, Problem};

const MINIMAL: &str = r#"
format = 1
revision = "1"
never_collected = ["source code"]

[product]
id = "demo-tool"
name = "Demo tool"
vendor = "Example"
description = "A tool used in tests."

[[runtime_lines]]
id = "main"
name = "Demo"
versioning = "dotted"

[consent]
default = "on"
notice = { kind = "first-run" }

[disclosure]
statement = "Demo tool sends usage data."
scope = "While it runs."

[collection]
triggers = ["usage"]
schedule = "as it is used"

[delivery]
method = "https-json"
destination = "telemetry.example.com"
description = "HTTPS."

[retention]
description = "Kept for a while."

[[data_points]]
id = "command_count"
name = "Commands"
description = "How many commands ran."
value = { kind = "count" }
privacy = "public"
gates.main = { since = "1.0" }
"#;

fn load(text: &str) -> Result<Catalogue, CatalogueError> {
    Catalogue::from_toml_str(text, "demo.toml")
}

fn error_of(text: &str) -> CatalogueError {
    load(text).expect_err("the catalogue should be rejected")
}

#[test]
fn the_minimal_catalogue_loads() {
    let catalogue = load(MINIMAL).expect("minimal catalogue is valid");
    assert_eq!(catalogue.product_id(), "demo-tool");
}

#[test]
fn a_missing_privacy_class_is_rejected_with_its_path() {
    let err = error_of(&MINIMAL.replace("privacy = \"public\"\n", ""));
    assert_eq!(
        err.problem(),
        Some(&Problem::MissingField("privacy".into()))
    );
    assert_eq!(err.path(), Some("data_points[0](command_count)"));
    assert_eq!(
        err.to_string(),
        "demo.toml: data_points[0](command_count): missing field `privacy`"
    );
}

#[test]
fn an_unknown_field_is_rejected() {
    let err =
        error_of(&MINIMAL.replace("privacy = \"public\"", "privacy = \"public\"\nprivcy = 1"));
    assert_eq!(err.problem(), Some(&Problem::UnknownField("privcy".into())));
    assert!(
        err.to_string()
            .starts_with("demo.toml: data_points[0](command_count)"),
        "{err}"
    );
}

#[test]
fn an_unknown_privacy_class_is_rejected() {
    let err = error_of(&MINIMAL.replace("privacy = \"public\"", "privacy = \"none\""));
    assert!(
        matches!(err.problem(), Some(Problem::WrongValue(_))),
        "{err}"
    );
    assert_eq!(err.path(), Some("data_points[0](command_count).privacy"));
}

#[test]
fn a_duplicate_data_point_id_is_rejected() {
    let point = &MINIMAL[MINIMAL.find("[[data_points]]").expect("has a point")..];
    let err = error_of(&format!("{MINIMAL}\n{point}"));
    assert_eq!(
        err.problem(),
        Some(&Problem::DuplicateId("command_count".into()))
    );
    assert_eq!(err.path(), Some("data_points[1](command_count).id"));
}

#[test]
fn a_gate_on_an_undeclared_runtime_line_is_rejected() {
    let err = error_of(&MINIMAL.replace("gates.main", "gates.mian"));
    assert_eq!(
        err.problem(),
        Some(&Problem::UndeclaredRuntimeLine {
            line: "mian".into(),
            declared: vec!["main".into()]
        })
    );
    assert_eq!(err.path(), Some("data_points[0](command_count).gates.mian"));
}

#[test]
fn an_empty_description_is_rejected() {
    let err = error_of(&MINIMAL.replace("How many commands ran.", "  "));
    assert_eq!(err.problem(), Some(&Problem::Empty));
    assert_eq!(
        err.path(),
        Some("data_points[0](command_count).description")
    );
}

#[test]
fn an_unreadable_gate_version_is_rejected() {
    let err = error_of(&MINIMAL.replace("since = \"1.0\"", "since = \"one\""));
    assert!(
        matches!(err.problem(), Some(Problem::BadVersion(_))),
        "{err}"
    );
}

#[test]
fn a_gate_with_both_bounds_is_rejected() {
    let err = error_of(&MINIMAL.replace("since = \"1.0\"", "since = \"1.0\", after = \"0.9\""));
    assert!(err.problem().is_some(), "{err}");
    assert!(err.to_string().contains("gates"), "{err}");
}

#[test]
fn free_text_cannot_be_declared_public() {
    let err =
        error_of(&MINIMAL.replace("{ kind = \"count\" }", "{ kind = \"text\", max_len = 100 }"));
    assert!(
        matches!(err.problem(), Some(Problem::PrivacyMismatch { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("allowed: scrubbed"), "{err}");
}

#[test]
fn declaring_do_not_track_is_rejected_because_candor_honours_it_itself() {
    let text = MINIMAL.replace(
        "notice = { kind = \"first-run\" }",
        "notice = { kind = \"first-run\" }\nvariables = [{ name = \"DO_NOT_TRACK\", meaning = \"opts-out\", documented_values = [\"1\"] }]",
    );
    let err = error_of(&text);
    assert_eq!(err.path(), Some("consent.variables[0].name"));
}

#[test]
fn a_periodic_trigger_without_an_interval_is_rejected() {
    let err = error_of(&MINIMAL.replace("triggers = [\"usage\"]", "triggers = [\"periodic\"]"));
    assert_eq!(err.path(), Some("collection.interval_seconds"));
}

#[test]
fn a_required_host_list_that_is_empty_is_rejected() {
    let text = MINIMAL.replace("[consent]", "[hosts]\nrequired = true\n\n[consent]");
    assert_eq!(error_of(&text).path(), Some("hosts.supported"));
}

#[test]
fn syntax_errors_give_line_and_column_on_one_line() {
    let err = error_of("format = 1\nrevision = \n");
    let message = err.to_string();
    assert!(matches!(err, CatalogueError::Syntax { .. }));
    assert!(
        message.starts_with("demo.toml: invalid TOML at line 2"),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
}

#[test]
fn json_catalogues_load_and_report_paths_the_same_way() {
    let catalogue = load(MINIMAL).expect("valid");
    let json = catalogue.to_json_pretty();
    let again = Catalogue::from_json_str(&json, "demo.json").expect("round trip");
    assert_eq!(again.spec(), catalogue.spec());

    let broken = json.replace("\"privacy\": \"public\",", "");
    let err = Catalogue::from_json_str(&broken, "demo.json").expect_err("rejected");
    assert_eq!(
        err.to_string(),
        "demo.json: data_points[0](command_count): missing field `privacy`"
    );
    let err = Catalogue::from_json_str("{", "demo.json").expect_err("rejected");
    assert!(
        err.to_string().starts_with("demo.json: invalid JSON"),
        "{err}"
    );
}

#[test]
fn files_that_are_missing_binary_or_huge_are_clear_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("absent.toml");
    let err = Catalogue::from_path(&missing).expect_err("missing file");
    assert!(matches!(err, CatalogueError::Io { .. }));
    assert!(
        err.to_string()
            .contains("absent.toml: cannot read the file"),
        "{err}"
    );

    let binary = dir.path().join("binary.toml");
    std::fs::write(&binary, [0x66, 0x6f, 0xff, 0xfe, 0x00]).expect("write");
    let err = Catalogue::from_path(&binary).expect_err("binary file");
    assert!(err.to_string().contains("not UTF-8"), "{err}");

    let huge = "# padding\n".repeat(500_000);
    let err = load(&huge).expect_err("huge input");
    assert!(err.to_string().contains("at most"), "{err}");
}

#[test]
fn arbitrary_garbage_never_panics() {
    let samples = [
        "",
        "\0",
        "[[[",
        "format = \"one\"",
        "data_points = 3",
        "{}",
        "format = 1\n[product]\nid = \"\"",
        "format = 1\n[[runtime_lines]]\nid = \" \"\n",
    ];
    for sample in samples {
        assert!(load(sample).is_err(), "{sample:?}");
        assert!(
            Catalogue::from_json_str(sample, "x.json").is_err(),
            "{sample:?}"
        );
    }
}

#[test]
fn a_point_may_name_a_machine_reading_it_fits() {
    let text = MINIMAL.replace(
        "privacy = \"public\"",
        "source = \"system.working_set\"\nprivacy = \"public\"",
    );
    let catalogue = load(&text).expect("a count reading on a count point");
    assert_eq!(
        catalogue.spec().data_points[0].source,
        Some(candor_schema::MachineReading::WorkingSet)
    );
}

#[test]
fn an_unknown_machine_reading_is_refused() {
    let text = MINIMAL.replace(
        "privacy = \"public\"",
        "source = \"system.screen_resolution\"\nprivacy = \"public\"",
    );
    let err = error_of(&text);
    assert_eq!(
        err.path(),
        Some("data_points[0](command_count).source"),
        "{err}"
    );
    assert!(
        err.to_string().contains("system.screen_resolution"),
        "{err}"
    );
}

#[test]
fn a_machine_reading_of_another_kind_is_refused() {
    // A MAC address may only ever fill a hashed point: declared on a count it is refused.
    let text = MINIMAL.replace(
        "privacy = \"public\"",
        "source = \"system.mac_address\"\nprivacy = \"public\"",
    );
    let err = error_of(&text);
    assert_eq!(
        err.path(),
        Some("data_points[0](command_count).source"),
        "{err}"
    );
    assert!(err.to_string().contains("fills a `hashed` value"), "{err}");
}

#[test]
fn every_machine_reading_round_trips_by_name() {
    for reading in candor_schema::MachineReading::ALL {
        assert_eq!(
            candor_schema::MachineReading::from_name(reading.name()),
            Some(*reading)
        );
    }
}

#[test]
fn network_block_opts_out_needs_a_period_and_a_period_needs_it() {
    let without_period = MINIMAL.replace(
        "default = \"on\"",
        "default = \"on\"\nnetwork_block_opts_out = true",
    );
    let err = error_of(&without_period);
    assert_eq!(
        err.path(),
        Some("consent.network_block_after_seconds"),
        "{err}"
    );
    let with_both = without_period.replace(
        "network_block_opts_out = true",
        "network_block_opts_out = true\nnetwork_block_after_seconds = 3600",
    );
    load(&with_both).expect("valid");
    let period_alone = MINIMAL.replace(
        "default = \"on\"",
        "default = \"on\"\nnetwork_block_after_seconds = 3600",
    );
    let err = error_of(&period_alone);
    assert!(
        err.to_string()
            .contains("network_block_opts_out is not set"),
        "{err}"
    );
    let too_short = with_both.replace("= 3600", "= 5");
    assert!(
        error_of(&too_short)
            .to_string()
            .contains("shorter than the minimum")
    );
}

/// `max_items` caps the lists and maps of caller-chosen names; any other kind refuses it, and
/// a cap must hold a value with every known name.
#[test]
fn max_items_is_declared_only_where_a_value_has_items() {
    let names = MINIMAL.replace(
        "value = { kind = \"count\" }",
        "value = { kind = \"names\" }\nmax_items = 40",
    );
    let catalogue = load(&names).expect("names may declare max_items");
    let point = catalogue.data_point("command_count").unwrap();
    assert_eq!(point.item_cap(), Some(40));

    let default = MINIMAL
        .replace(
            "value = { kind = \"count\" }",
            "value = { kind = \"label_counts\" }",
        )
        .replace("privacy = \"public\"", "privacy = \"aggregated\"");
    let catalogue = load(&default).unwrap();
    assert_eq!(
        catalogue.data_point("command_count").unwrap().item_cap(),
        Some(candor_schema::DEFAULT_MAX_ITEMS as usize)
    );

    let on_count = MINIMAL.replace(
        "value = { kind = \"count\" }",
        "value = { kind = \"count\" }\nmax_items = 4",
    );
    let err = error_of(&on_count);
    assert_eq!(err.path(), Some("data_points[0](command_count).max_items"));
    assert!(err.to_string().contains("no items to cap"), "{err}");

    for bad in ["0", "4097"] {
        let err = error_of(&names.replace("max_items = 40", &format!("max_items = {bad}")));
        assert_eq!(
            err.path(),
            Some("data_points[0](command_count).max_items"),
            "{bad}"
        );
    }

    let known = MINIMAL.replace(
        "value = { kind = \"count\" }",
        "value = { kind = \"names\", known = [\"a\", \"b\", \"c\"], other = \"z\" }\nmax_items = 3",
    );
    let err = error_of(&known);
    assert!(err.to_string().contains("known names"), "{err}");
    assert!(load(&known.replace("max_items = 3", "max_items = 4")).is_ok());
}

#[test]
fn a_revision_history_is_checked() {
    let history = |entries: &str| format!("{MINIMAL}{entries}");
    load(&history(
        "[[revisions]]\nrevision = \"0\"\nsummary = \"First.\"\nremoved = [\"old_point\"]\n\
         [[revisions]]\nrevision = \"1\"\nsummary = \"Second.\"\nadded = [\"command_count\"]\n",
    ))
    .expect("a valid history loads");
    for (entries, path, words) in [
        (
            "[[revisions]]\nrevision = \"0\"\nsummary = \"Old.\"\n",
            "revisions[0].revision",
            "the catalogue is revision `1`",
        ),
        (
            "[[revisions]]\nrevision = \"1\"\nsummary = \"x\"\nadded = [\"nope\"]\n",
            "revisions[0].added[0]",
            "not a declared data point",
        ),
        (
            "[[revisions]]\nrevision = \"1\"\nsummary = \"x\"\nwidened = [\"nope\"]\n",
            "revisions[0].widened[0]",
            "not a declared data point",
        ),
        (
            "[[revisions]]\nrevision = \"1\"\nsummary = \" \"\n",
            "revisions[0].summary",
            "",
        ),
        (
            "[[revisions]]\nrevision = \"1\"\nsummary = \"a\"\n\
             [[revisions]]\nrevision = \"1\"\nsummary = \"b\"\n",
            "revisions[1].revision",
            "",
        ),
        (
            "[[revisions]]\nrevision = \"1\"\nsummary = \"x\"\nremoved = [\"Not An Id\"]\n",
            "revisions[0].removed[0]",
            "not a valid id",
        ),
    ] {
        let error = error_of(&history(entries));
        let CatalogueError::Invalid { path: at, .. } = &error else {
            panic!("{error}");
        };
        assert_eq!(at, path, "{error}");
        assert!(error.to_string().contains(words), "{error}");
    }
}

#[test]
fn a_catalogue_may_only_shorten_how_long_copies_are_kept() {
    let with = |days: u32| {
        MINIMAL.replace(
            "description = \"Kept for a while.\"",
            &format!("description = \"Kept for a while.\"\nlocal_copy_days = {days}"),
        )
    };
    let catalogue = load(&with(7)).expect("fewer days load");
    assert_eq!(catalogue.spec().retention.local_copy_days, Some(7));
    load(&with(candor_schema::MAX_LOCAL_COPY_DAYS)).expect("the default itself loads");
    for days in [0, candor_schema::MAX_LOCAL_COPY_DAYS + 1] {
        let error = error_of(&with(days));
        assert!(
            error.to_string().contains("retention.local_copy_days"),
            "{error}"
        );
    }
}
