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
    std::fs::write(dir.path().join("disclosure/retired-product.md"), "old").expect("write");
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
    // Every data point appears, by id, on its product's page.
    for catalogue in builtins() {
        let text = page(catalogue.product_id());
        for point in &catalogue.spec().data_points {
            assert!(
                text.contains(&format!("(`{}`)", point.id)),
                "{} lacks {}",
                catalogue.product_id(),
                point.id
            );
        }
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
