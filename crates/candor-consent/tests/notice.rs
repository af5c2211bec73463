//! The notice marker records the revision a person was told about: a widening revision owes the
//! notice again for the points it widened, a narrowing one owes nothing, and a marker that
//! cannot be read is the whole notice again.

use candor_consent::{FirstRunNotice, Inputs, NoticeDue, decide};
use candor_schema::Catalogue;
use candor_state::StateDir;

const HEAD: &str = r#"format = 1
never_collected = ["file contents"]
[product]
id = "tool"
name = "Tool"
vendor = "Us"
description = "A tool."
[[runtime_lines]]
id = "main"
name = "Tool"
versioning = "dotted"
[consent]
default = "on"
notice = { kind = "first-run" }
[disclosure]
statement = "Tool sends usage data."
scope = "While it runs."
[collection]
triggers = ["usage"]
schedule = "as it is used"
[delivery]
method = "https-json"
destination = "t.example.com"
description = "HTTPS."
[retention]
description = "A while."
"#;

fn catalogue(revision: &str, points: &[(&str, &str)]) -> Catalogue {
    let mut text = format!("revision = \"{revision}\"\n{HEAD}");
    for (id, since) in points {
        text.push_str(&format!(
            "[[data_points]]\nid = \"{id}\"\nname = \"{id}\"\ndescription = \"It.\"\n\
             value = {{ kind = \"count\" }}\nprivacy = \"public\"\n\
             gates.main = {{ since = \"{since}\" }}\n"
        ));
    }
    Catalogue::from_toml_str(&text, "tool.toml").expect("valid")
}

fn shown(notice: &FirstRunNotice) -> Option<String> {
    let mut out = Vec::new();
    notice
        .show_once(&mut out)
        .expect("shown")
        .then(|| String::from_utf8(out).expect("utf-8"))
}

#[test]
fn a_widening_revision_shows_the_notice_again_and_a_narrowing_one_does_not() {
    let dir = tempfile::tempdir().expect("tmp");
    let first = catalogue("1", &[("a", "1.0"), ("b", "2.0")]);
    let notice = FirstRunNotice::new(dir.path(), &first);
    assert_eq!(notice.due(), NoticeDue::FirstRun);
    assert_eq!(shown(&notice).as_deref(), Some("Tool sends usage data.\n"));
    assert!(notice.is_shown());
    assert_eq!(shown(&notice), None, "once per revision");

    // Revision 2 adds `c` and collects `b` from earlier versions.
    let second = catalogue("2", &[("a", "1.0"), ("b", "1.5"), ("c", "1.0")]);
    let notice = FirstRunNotice::new(dir.path(), &second);
    assert_eq!(
        notice.due(),
        NoticeDue::Widened {
            points: vec!["b".to_owned(), "c".to_owned()]
        }
    );
    let decision = decide(
        &second,
        &Inputs {
            told: candor_consent::told(&StateDir::new(dir.path()), "tool"),
            ..Inputs::default()
        },
    );
    assert!(decision.notice_pending && decision.may_send());
    assert!(!decision.holds_for_notice("a"));
    assert!(decision.holds_for_notice("b") && decision.holds_for_notice("c"));
    assert!(decision.reason.contains("b, c"), "{}", decision.reason);
    let text = shown(&notice).expect("shown again");
    assert!(text.starts_with("Tool sends usage data.\n"), "{text}");
    assert!(text.contains("Revision 2 of Tool's catalogue"), "{text}");
    assert!(
        text.contains("b: collected by more versions of main"),
        "{text}"
    );
    assert!(text.contains("c: new"), "{text}");
    assert!(!text.contains("a: "), "{text}");
    assert_eq!(notice.due(), NoticeDue::Nothing);

    // Revision 3 only narrows: nothing to show, but it is recorded, so a point it removed that
    // comes back in revision 4 is announced again.
    let third = catalogue("3", &[("a", "1.0"), ("b", "3.0")]);
    let notice = FirstRunNotice::new(dir.path(), &third);
    assert_eq!(notice.due(), NoticeDue::Nothing);
    assert_eq!(shown(&notice), None);
    let fourth = catalogue("4", &[("a", "1.0"), ("b", "3.0"), ("c", "1.0")]);
    assert_eq!(
        FirstRunNotice::new(dir.path(), &fourth).due(),
        NoticeDue::Widened {
            points: vec!["c".to_owned()]
        }
    );
}

type Plant<'a> = Box<dyn Fn(&std::path::Path) + 'a>;

#[test]
fn a_marker_that_cannot_be_read_is_the_whole_notice_again() {
    let c = catalogue("1", &[("a", "1.0")]);
    let corrupt: [(&str, Plant<'_>); 4] = [
        (
            "a marker from an older Candor",
            Box::new(|p| std::fs::write(p, "shown\n").expect("write")),
        ),
        (
            "a truncated record",
            Box::new(|p| std::fs::write(p, "{\"revision\":\"1\",\"poi").expect("write")),
        ),
        (
            "an oversized marker",
            Box::new(|p| {
                let record = String::from_utf8(c.disclosed().to_json()).expect("utf-8");
                let padded = format!("{}{}", " ".repeat(2 * 1024 * 1024), record);
                std::fs::write(p, padded).expect("write");
            }),
        ),
        (
            "a symlink to a valid record",
            Box::new(|p| {
                let elsewhere = p.with_extension("elsewhere");
                std::fs::write(&elsewhere, c.disclosed().to_json()).expect("write");
                std::os::unix::fs::symlink(&elsewhere, p).expect("symlink");
            }),
        ),
    ];
    for (what, plant) in corrupt {
        let dir = tempfile::tempdir().expect("tmp");
        let notice = FirstRunNotice::new(dir.path(), &c);
        std::fs::create_dir_all(notice.marker().parent().expect("folder")).expect("folder");
        plant(notice.marker());
        assert_eq!(notice.due(), NoticeDue::FirstRun, "{what}");
        let decision = decide(
            &c,
            &Inputs::gather(
                Default::default(),
                &StateDir::new(dir.path()).config(),
                Some(&StateDir::new(dir.path())),
                "tool",
                Default::default(),
            ),
        );
        assert!(!decision.may_send(), "{what}");
    }
}

#[test]
fn a_fifo_marker_is_refused_without_waiting() {
    let dir = tempfile::tempdir().expect("tmp");
    let c = catalogue("1", &[("a", "1.0")]);
    let notice = FirstRunNotice::new(dir.path(), &c);
    std::fs::create_dir_all(notice.marker().parent().expect("folder")).expect("folder");
    let status = std::process::Command::new("mkfifo")
        .arg(notice.marker())
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let started = std::time::Instant::now();
    assert_eq!(notice.due(), NoticeDue::FirstRun);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Showing it cannot replace a FIFO: an error, never a hang.
    assert!(notice.show_once(&mut Vec::new()).is_err());
}
