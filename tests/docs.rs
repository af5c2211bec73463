//! The committed `docs/` is exactly what the catalogues generate, and the drift check notices
//! when it is not.

use candor_docs::{StaleReason, check, generate, write};
use candor_schema::{Catalogue, builtin};
use candor_tests::docs_dir;

fn builtins() -> Vec<Catalogue> {
    builtin::catalogues()
        .expect("built-ins load")
        .iter()
        .cloned()
        .collect()
}

#[test]
fn committed_docs_match_the_catalogues() {
    let files = generate(&builtins());
    let stale = check(&files, &docs_dir()).expect("docs/ is readable");
    let listing: Vec<String> = stale.iter().map(ToString::to_string).collect();
    assert!(
        stale.is_empty(),
        "docs/ is stale; run `cargo xtask docs`:\n  {}",
        listing.join("\n  ")
    );
}

#[test]
fn every_generated_file_starts_with_the_generated_notice() {
    for file in generate(&builtins()) {
        let first = file.contents.lines().next().unwrap_or_default();
        assert!(
            first.contains(candor_docs::GENERATED_NOTICE),
            "{}: {first}",
            file.path
        );
    }
}

#[test]
fn drift_check_fails_after_a_catalogue_change_and_passes_after_regeneration() {
    let dir = tempfile::tempdir().expect("temp dir");
    let original = builtins();
    write(&generate(&original), dir.path()).expect("write");
    assert_eq!(
        check(&generate(&original), dir.path()).expect("check"),
        vec![]
    );

    // A vendor edits a data point's description and forgets to regenerate.
    let mut changed_spec = original[1].spec().clone();
    changed_spec.data_points[0].description = "The agent's version, now with build number.".into();
    let changed = Catalogue::from_spec(changed_spec, "edited").expect("still valid");
    let edited = vec![original[0].clone(), changed];
    let stale = check(&generate(&edited), dir.path()).expect("check");
    let stale_paths: Vec<&str> = stale.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        stale_paths,
        vec![
            "catalogues/contrast-dotnet-agent.json",
            "disclosure/contrast-dotnet-agent.md"
        ]
    );
    assert!(stale.iter().all(|s| s.reason == StaleReason::Differs));

    write(&generate(&edited), dir.path()).expect("regenerate");
    assert_eq!(
        check(&generate(&edited), dir.path()).expect("check"),
        vec![]
    );
}

#[test]
fn drift_check_names_missing_and_orphaned_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = generate(&builtins());
    write(&files, dir.path()).expect("write");
    std::fs::remove_file(dir.path().join("disclosure/aspire-dashboard.md")).expect("remove");
    // A page the generator once wrote for a product that is gone: stamped, so it is ours.
    let retired = format!("<!-- {} -->\n\nold\n", candor_docs::GENERATED_NOTICE);
    std::fs::write(dir.path().join("disclosure/retired-product.md"), retired).expect("write");
    let stale = check(&files, dir.path()).expect("check");
    assert_eq!(stale.len(), 2, "{stale:?}");
    assert!(stale.iter().any(|s| s.path == "disclosure/aspire-dashboard.md" && s.reason == StaleReason::Missing));
    assert!(stale.iter().any(
        |s| s.path == "disclosure/retired-product.md" && s.reason == StaleReason::NotGenerated
    ));
    write(&files, dir.path()).expect("repair");
    assert!(check(&files, dir.path()).expect("check").is_empty());
    assert!(!dir.path().join("disclosure/retired-product.md").exists());
}

/// `candor docs --out DIR` once deleted a user's `schema/users.sql`: a file without the
/// generated notice is not the generator's, whatever folder it is in.
#[test]
fn a_foreign_file_in_a_generated_folder_stays_and_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = generate(&builtins());
    std::fs::create_dir_all(dir.path().join("schema")).expect("mkdir");
    std::fs::write(dir.path().join("schema/users.sql"), "create table users();").expect("write");
    // A user's own file where a generated one belongs is not overwritten either.
    std::fs::create_dir_all(dir.path().join("disclosure")).expect("mkdir");
    std::fs::write(
        dir.path().join("disclosure/aspire-dashboard.md"),
        "my notes",
    )
    .expect("write");

    let left_alone = write(&files, dir.path()).expect("write");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("schema/users.sql")).expect("kept"),
        "create table users();"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("disclosure/aspire-dashboard.md")).expect("kept"),
        "my notes"
    );
    assert!(left_alone.iter().any(|s| s.path == "schema/users.sql"
        && s.reason == StaleReason::Foreign
        && !s.is_stale()));
    assert!(
        left_alone
            .iter()
            .any(|s| s.path == "disclosure/aspire-dashboard.md"
                && s.reason == StaleReason::Blocked
                && s.is_stale())
    );
    // Every other generated file was written.
    let report = check(&files, dir.path()).expect("check");
    let stale: Vec<&str> = report
        .iter()
        .filter(|s| s.is_stale())
        .map(|s| s.path.as_str())
        .collect();
    assert_eq!(stale, vec!["disclosure/aspire-dashboard.md"]);
}

#[cfg(unix)]
#[test]
fn a_symlinked_generated_folder_is_not_followed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let elsewhere = tempfile::tempdir().expect("temp dir");
    std::fs::write(elsewhere.path().join("precious.md"), "keep me").expect("write");
    std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("disclosure")).expect("link");
    // A link where a generated file belongs is not written through either.
    std::fs::create_dir_all(dir.path().join("schema")).expect("mkdir");
    let target = elsewhere.path().join("target.json");
    std::fs::write(&target, "theirs").expect("write");
    std::os::unix::fs::symlink(&target, dir.path().join("schema/event.schema.json")).expect("link");

    let files = generate(&builtins());
    let left_alone = write(&files, dir.path()).expect("write");
    let names: Vec<String> = std::fs::read_dir(elsewhere.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "nothing written behind the link: {names:?}");
    assert_eq!(
        std::fs::read_to_string(elsewhere.path().join("precious.md")).expect("kept"),
        "keep me"
    );
    assert_eq!(std::fs::read_to_string(&target).expect("kept"), "theirs");
    assert!(left_alone.iter().any(|s| s.path == "disclosure/aspire-dashboard.md" && s.reason == StaleReason::Blocked));
    assert!(
        left_alone
            .iter()
            .any(|s| s.path == "schema/event.schema.json" && s.reason == StaleReason::Blocked)
    );
    assert!(
        std::fs::symlink_metadata(dir.path().join("disclosure"))
            .expect("still there")
            .file_type()
            .is_symlink()
    );
}

/// A product name holding a line break and a heading must not become a heading on its page;
/// the loader refuses it, and text that reaches the page in prose fields is escaped.
#[test]
fn catalogue_text_cannot_inject_markdown() {
    let agent = builtins()[1].spec().clone();
    let mut hostile = agent.clone();
    hostile.product.name = "Widget\n# Telemetry is DISABLED".into();
    let err = Catalogue::from_spec(hostile, "hostile").expect_err("a newline in a name is refused");
    assert!(err.to_string().contains("product.name"), "{err}");
    assert!(err.to_string().contains("U+000A"), "{err}");

    let mut hostile = agent.clone();
    hostile.data_points[0].description =
        "Version.\n# Telemetry is DISABLED\n\n| forged | row |".into();
    hostile.data_points[0].name = "Agent \\| version <b>x</b>".into();
    hostile.product.description = "# Off\n<script>alert(1)</script>".into();
    let catalogue = Catalogue::from_spec(hostile, "hostile").expect("prose may span lines");
    let files = generate([&catalogue]);
    let page = &files
        .iter()
        .find(|f| f.path == "disclosure/contrast-dotnet-agent.md")
        .expect("page")
        .contents;
    for line in page.lines() {
        assert!(
            !line.starts_with("# Telemetry") && !line.starts_with("# Off"),
            "{line}"
        );
        assert!(
            !line.contains("<script>") && !line.contains("<b>"),
            "{line}"
        );
    }
    let row = page
        .lines()
        .find(|l| l.contains("(`agent_version`)"))
        .expect("the point's row");
    // Five cells: an unescaped pipe would make more.
    assert_eq!(unescaped_pipes(row), 6, "{row}");
}

fn unescaped_pipes(row: &str) -> usize {
    row.match_indices('|')
        .filter(|(i, _)| row[..*i].chars().rev().take_while(|c| *c == '\\').count() % 2 == 0)
        .count()
}

/// Owners, review links and versions (build metadata is free text: `1.0+<b>`) are the
/// catalogue's words: none becomes Markdown or HTML on the page, and each point says when it
/// stops.
#[test]
fn lifecycle_text_cannot_inject_markdown_and_each_point_says_when_it_stops() {
    let mut spec = builtins()[1].spec().clone();
    let version = |text: &str| candor_schema::Gate::After(text.to_owned());
    spec.data_points[0].owner = Some("Team *bold* <img src=x onerror=alert(1)> | cell".into());
    spec.data_points[0].review_links = vec!["https://reviews.example.com/a?b=c&d=e#f".into()];
    spec.data_points[0].expires = Some(candor_schema::Expires::Date("2027-03-31".into()));
    spec.data_points[1]
        .gates
        .insert("core".into(), version("1.5.15+<script>x</script>"));
    spec.data_points[1].expires = Some(candor_schema::Expires::Versions(
        [("core".to_owned(), "2.0+<b>|`x`".to_owned())].into(),
    ));
    spec.data_points[2].expires = None;
    let catalogue = Catalogue::from_spec(spec, "lifecycle").expect("valid");
    let files = generate([&catalogue]);
    let page = &files
        .iter()
        .find(|f| f.path == "disclosure/contrast-dotnet-agent.md")
        .expect("page")
        .contents;
    for line in page.lines() {
        // What Markdown would act on is what remains once escaped characters are taken out.
        let mut live = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                chars.next();
            } else {
                live.push(c);
            }
        }
        for raw in ["<script", "<b>", "<img", "*bold*"] {
            assert!(!live.contains(raw), "{raw} in {line}");
        }
    }
    let row = |id: &str, table_width: usize| {
        let row = page
            .lines()
            .filter(|l| l.contains(&format!("(`{id}`)")))
            .find(|l| unescaped_pipes(l) == table_width)
            .unwrap_or_else(|| panic!("{id}'s row"));
        row.to_owned()
    };
    let first = row("agent_version", 6);
    assert!(first.contains("| from 2027-03-31 (UTC) |"), "{first}");
    let second = row(&builtins()[1].spec().data_points[1].id, 6);
    assert!(
        second
            .contains("| from .NET Core 2.0+\\<b\\>\\|\\`x\\`; no end stated on .NET Framework |"),
        "{second}"
    );
    let third = row(&builtins()[1].spec().data_points[2].id, 6);
    assert!(third.contains("| not stated |"), "{third}");
    let fourth = row(&builtins()[1].spec().data_points[3].id, 6);
    assert!(
        fourth.contains("| never: the vendor states no end |"),
        "{fourth}"
    );
    assert!(
        page.contains("### .NET Framework later than 2020.8.3, .NET Core later than 1.5.15+\\<script\\>x\\</script\\>"),
        "the gate's build metadata is escaped in its heading"
    );
    // The owners table: three cells, the link a plain autolink.
    let owner = row("agent_version", 4);
    assert_eq!(
        owner,
        "| Agent version (`agent_version`) | Team \\*bold\\* \\<img src=x onerror=alert(1)\\> \\| cell | \
         <https://reviews.example.com/a?b=c&d=e#f> |"
    );
    assert!(page.contains("no owner and no review for the other 37 data points"));
}

#[test]
fn control_and_direction_characters_are_refused_in_every_single_line_field() {
    let agent = builtins()[1].spec().clone();
    type Edit = Box<dyn Fn(&mut candor_schema::CatalogueSpec)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "product.vendor",
            Box::new(|s| s.product.vendor = "Acme\rEvil".into()),
        ),
        (
            "delivery.destination",
            Box::new(|s| s.delivery.destination = "a\u{202E}b".into()),
        ),
        (
            "collection.schedule",
            Box::new(|s| s.collection.schedule = "daily\u{0}".into()),
        ),
        (
            "runtime_lines[0](framework).name",
            Box::new(|s| s.runtime_lines[0].name = "x\ny".into()),
        ),
        (
            "data_points[0](agent_version).name",
            Box::new(|s| s.data_points[0].name = "a\tb".into()),
        ),
        (
            "data_points[0](agent_version).description",
            Box::new(|s| s.data_points[0].description = "ok\u{1b}[31m".into()),
        ),
    ];
    for (path, edit) in cases {
        let mut spec = agent.clone();
        edit(&mut spec);
        let err = Catalogue::from_spec(spec, "edited").expect_err(path);
        assert_eq!(err.path(), Some(path), "{err}");
    }
}

#[test]
fn generation_is_deterministic() {
    assert_eq!(generate(&builtins()), generate(&builtins()));
}

/// What a reader who knows the vendors' documents looks for on each page.
#[test]
fn disclosure_pages_carry_every_seed_fact() {
    let files = generate(&builtins());
    let page = |name: &str| {
        files
            .iter()
            .find(|f| f.path == format!("disclosure/{name}.md"))
            .expect("page generated")
            .contents
            .clone()
    };
    let agent = page("contrast-dotnet-agent");
    for fact in [
        "`CONTRAST_DOTNET_TELEMETRY_OPTOUT` to `1` or `true`",
        "`DO_NOT_TRACK`",
        "Block network access to `telemetry.dotnet.contrastsecurity.com`",
        "### .NET Framework later than 2020.8.3, .NET Core later than 1.5.15",
        "### .NET Framework later than 2020.8.3 (never on .NET Core)",
        "### .NET Core later than 1.5.15 (never on .NET Framework)",
        "### .NET Framework later than 20.9.1, .NET Core later than 1.5.17",
        "### .NET Framework later than 20.9.3, .NET Core later than 1.5.19",
        "### .NET Framework later than 20.10.1, .NET Core later than 1.5.20",
        "### .NET Framework later than 20.10.2, .NET Core later than 1.5.21",
        "### .NET Framework later than 20.12.2, .NET Core later than 1.7.2",
        "### .NET Framework later than 21.1.1 (never on .NET Core)",
        "### .NET Framework later than 21.1.2, .NET Core later than 1.7.5",
        "### .NET Framework later than 21.4.2, .NET Core later than 1.8.4",
        "plain, unkeyed SHA-256",
        "Deleted 365 days after collection",
        "Application data",
        "every few hours",
    ] {
        assert!(agent.contains(fact), "agent page lacks {fact:?}");
    }
    let dashboard = page("aspire-dashboard");
    for fact in [
        "`DOTNET_DASHBOARD_ENABLE_TELEMETRY` to `false`",
        "every user who opens this dashboard instance",
        "Visual Studio: version 17.14 or later",
        "C# Dev Kit for Visual Studio Code: a minimum version that has not yet been announced",
        "only while the dashboard is open in a browser",
        "at the bottom of the dashboard's settings panel",
        "### Aspire dashboard 9.2 and later",
        "### Aspire dashboard 9.3 and later",
        "Includes page settings.",
        "Command name is securely hashed",
        "HMAC-SHA256",
        "Browser fingerprints",
        "IP addresses",
        "Turn telemetry off in the host application",
        "https://github.com/dotnet/aspire/issues",
    ] {
        assert!(dashboard.contains(fact), "dashboard page lacks {fact:?}");
    }
    // Every data point appears, by id, on its product's page, and says it has no end: no
    // vendor document states one.
    for catalogue in builtins() {
        let text = page(catalogue.product_id());
        for point in &catalogue.spec().data_points {
            let row = text
                .lines()
                .find(|l| l.contains(&format!("(`{}`)", point.id)))
                .unwrap_or_else(|| panic!("{} lacks {}", catalogue.product_id(), point.id));
            assert!(row.contains("| never: the vendor states no end |"), "{row}");
        }
        assert!(
            text.contains("names no owner and no review for its data points"),
            "{}",
            catalogue.product_id()
        );
    }
}

/// The command CI and developers run, run as they run it: `cargo xtask docs --check` passes on
/// the committed tree. (Its failing side is covered above through the same library call, on a
/// copy; editing the real docs/ from a test would race with other tests.)
#[test]
fn cargo_xtask_docs_check_passes_on_the_committed_tree() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["xtask", "docs", "--check"])
        .current_dir(candor_tests::workspace_root())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("docs/ is current"));
}

/// The typed recorders in `candor-collect` are exactly what the catalogues generate.
#[test]
fn committed_generated_code_matches_the_catalogues() {
    let files = candor_docs::collect_crate_files(&builtins());
    let dir = candor_tests::workspace_root().join("crates/candor-collect/src/generated");
    let report = candor_docs::check_owned(&files, &dir, &[""], candor_docs::CODEGEN_NOTICE)
        .expect("readable");
    let stale: Vec<String> = report.iter().map(ToString::to_string).collect();
    assert!(
        stale.is_empty(),
        "run `cargo xtask codegen`:\n  {}",
        stale.join("\n  ")
    );
}

/// Adding a point to a catalogue changes its recorder (a new method taking the point's kind),
/// and the drift check names the stale file.
#[test]
fn a_new_catalogue_point_gets_a_typed_method_and_the_check_notices() {
    let dir = tempfile::tempdir().expect("temp dir");
    let original = builtins();
    let files = candor_docs::collect_crate_files(&original);
    candor_docs::write_owned(&files, dir.path(), &[""], candor_docs::CODEGEN_NOTICE)
        .expect("write");
    let mut spec = original[0].spec().clone();
    let mut point = spec.data_points[0].clone();
    point.id = "theme_choice".into();
    point.value = candor_schema::ValueType::Flag;
    point.privacy = candor_schema::PrivacyClass::Public;
    spec.data_points.push(point);
    let changed = vec![
        Catalogue::from_spec(spec, "edited").expect("valid"),
        original[1].clone(),
    ];
    let files = candor_docs::collect_crate_files(&changed);
    let module = &files
        .iter()
        .find(|f| f.path == "aspire_dashboard.rs")
        .expect("module")
        .contents;
    assert!(
        module.contains("pub fn theme_choice(&self, value: bool)"),
        "{module}"
    );
    assert!(module.contains("Self::ThemeChoice => \"theme_choice\""));
    let stale = candor_docs::check_owned(&files, dir.path(), &[""], candor_docs::CODEGEN_NOTICE)
        .expect("check");
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert_eq!(stale[0].path, "aspire_dashboard.rs");
}

/// A recorder method says when its point stops, where the catalogue names a day or a version;
/// a point that never stops keeps the method as it was, so the built-ins' code is unchanged.
#[test]
fn a_generated_method_says_when_its_point_stops() {
    let original = builtins();
    let mut spec = original[1].spec().clone();
    spec.data_points[0].expires = Some(candor_schema::Expires::Date("2027-03-31".into()));
    spec.data_points[1].expires = Some(candor_schema::Expires::Versions(
        [
            ("core".to_owned(), "2.0".to_owned()),
            ("framework".to_owned(), "2022.1".to_owned()),
        ]
        .into(),
    ));
    let changed = Catalogue::from_spec(spec, "edited").expect("valid");
    let module = candor_docs::recorder_module(&changed, candor_docs::Paths::Facade);
    let before = candor_docs::recorder_module(&original[1], candor_docs::Paths::Facade);
    let docs_of = |module: &str, method: &str| {
        let lines: Vec<&str> = module.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.contains(&format!("pub fn {method}(")))
            .expect("method");
        lines[..at]
            .iter()
            .rev()
            .take_while(|l| l.trim_start().starts_with("///"))
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let first = &changed.spec().data_points[0].id;
    assert!(
        docs_of(&module, first).contains(
            "/// Not collected from 2027-03-31 (UTC) on: recording it then is refused as expired."
        ),
        "{}",
        docs_of(&module, first)
    );
    let second = &changed.spec().data_points[1].id;
    assert!(
        docs_of(&module, second)
            .contains("/// Not collected from `framework` 2022.1 and from `core` 2.0 on"),
        "{}",
        docs_of(&module, second)
    );
    let third = &changed.spec().data_points[2].id;
    assert_eq!(docs_of(&module, third), docs_of(&before, third));
    assert!(!before.contains("Not collected"));
}

#[test]
fn the_disclosure_page_lists_what_each_revision_changed() {
    let mut spec = builtins()[1].spec().clone();
    let current = spec.revision.clone();
    spec.consent.notice = candor_schema::NoticeKind::FirstRun;
    spec.retention.local_copy_days = Some(5);
    let first = spec.data_points[0].id.clone();
    let second = spec.data_points[1].id.clone();
    spec.revisions = vec![
        candor_schema::RevisionSpec {
            revision: "2020.1.1".into(),
            summary: "First <b>one</b>.".into(),
            added: vec![first.clone()],
            widened: vec![],
            loosened: vec![],
            narrowed: vec![],
            removed: vec!["retired_point".into()],
        },
        candor_schema::RevisionSpec {
            revision: current.clone(),
            summary: "Second.".into(),
            added: vec![second.clone()],
            widened: vec![first.clone()],
            loosened: vec![],
            narrowed: vec![],
            removed: vec![],
        },
    ];
    let catalogue = Catalogue::from_spec(spec, "history").expect("valid");
    let files = generate([&catalogue]);
    let page = &files
        .iter()
        .find(|f| f.path == "disclosure/contrast-dotnet-agent.md")
        .expect("page")
        .contents;
    let section = page
        .split("### What each revision changed")
        .nth(1)
        .expect("the section")
        .split("\n## ")
        .next()
        .expect("its text");
    let lines: Vec<&str> = section.lines().filter(|l| l.starts_with("- ")).collect();
    assert_eq!(lines.len(), 2, "{section}");
    assert!(lines[0].starts_with("- `2020.1.1`: First"), "{}", lines[0]);
    assert!(!lines[0].contains("<b>"), "{}", lines[0]);
    assert!(
        lines[0].contains(&format!("Added: `{first}`.")),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("No longer collected: `retired_point`."));
    assert!(
        lines[1].contains(&format!("Added: `{second}`.")),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains(&format!("Collected from more versions: `{first}`.")));
    assert!(
        page.contains("shows the statement again"),
        "the first-run rule is told"
    );
}
