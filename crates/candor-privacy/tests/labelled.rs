//! Recall and keep rate per class on a labelled corpus written for these tests
//! (`tests/data/labelled.tsv`): for each class, the share of lines whose secret fragment is gone
//! after scrubbing (recall), and the share of harmless lines that come out unchanged (keep).
//! Run with `--nocapture` to see the table.

use std::collections::BTreeMap;

use candor_privacy::Scrubber;

const CORPUS: &str = include_str!("data/labelled.tsv");

#[derive(Default)]
struct Tally {
    positives: usize,
    caught: usize,
    negatives: usize,
    kept: usize,
    misses: Vec<String>,
}

fn tally() -> BTreeMap<&'static str, Tally> {
    let scrubber = Scrubber::default();
    let mut classes: BTreeMap<&str, Tally> = BTreeMap::new();
    for line in CORPUS.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = line.splitn(3, '\t');
        let (Some(class), Some(fragment), Some(text)) =
            (fields.next(), fields.next(), fields.next())
        else {
            panic!("malformed corpus line: {line:?}");
        };
        let out = scrubber.scrub(text);
        assert_eq!(scrubber.scrub(&out), out, "not idempotent on {text:?}");
        let t = classes.entry(class).or_default();
        if fragment == "-" {
            t.negatives += 1;
            if out == text {
                t.kept += 1;
            } else {
                t.misses.push(format!("changed: {text:?} -> {out:?}"));
            }
        } else {
            assert!(
                text.contains(fragment),
                "fragment not in its line: {line:?}"
            );
            t.positives += 1;
            if out.contains(fragment) {
                t.misses.push(format!("leaked: {text:?} -> {out:?}"));
            } else {
                t.caught += 1;
            }
        }
    }
    classes
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        "-".to_owned()
    } else {
        format!("{:.0} %", 100.0 * part as f64 / whole as f64)
    }
}

#[test]
fn recall_and_keep_per_class() {
    let classes = tally();
    let (mut positives, mut caught, mut negatives, mut kept) = (0, 0, 0, 0);
    println!(
        "{:<16} {:>9} {:>7} {:>9} {:>7}",
        "class", "positives", "recall", "negatives", "keep"
    );
    for (class, t) in &classes {
        println!(
            "{class:<16} {:>9} {:>7} {:>9} {:>7}",
            t.positives,
            percent(t.caught, t.positives),
            t.negatives,
            percent(t.kept, t.negatives)
        );
        for miss in &t.misses {
            println!("    {miss}");
        }
        positives += t.positives;
        caught += t.caught;
        negatives += t.negatives;
        kept += t.kept;
    }
    println!(
        "{:<16} {positives:>9} {:>7} {negatives:>9} {:>7}",
        "all",
        percent(caught, positives),
        percent(kept, negatives)
    );
    for (class, t) in &classes {
        // Every class has harmless lines of its own; every class but the keep-only ones has
        // secrets of its own.
        assert!(t.negatives > 0, "{class} has no harmless lines");
        if !matches!(*class, "dotnet" | "clean" | "placeholder" | "windows-logs") {
            assert!(t.positives > 0, "{class} has no secrets");
        }
        assert_eq!(
            t.caught, t.positives,
            "{class}: secrets leaked: {:#?}",
            t.misses
        );
        assert_eq!(
            t.kept, t.negatives,
            "{class}: harmless lines changed: {:#?}",
            t.misses
        );
    }
}
