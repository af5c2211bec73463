//! What a catalogue revision tells a person, and whether a later revision collects more.
//!
//! A product with a first-run notice keeps, once the notice was shown, what that revision
//! disclosed ([`Disclosed`]: per point its privacy class, value shape and gates). A later
//! revision is compared with it point by point ([`Catalogue::widened_since`]): a point it adds,
//! a gate that admits a version the old one did not, a weaker privacy class or a changed value
//! shape is a widening, and the notice is due again for those points. A revision that only
//! removes points, narrows gates or strengthens protection widens nothing.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalogue::Catalogue;
use crate::gate::Bound;
use crate::model::{Gate, PrivacyClass, ValueType};
use crate::version::Version;

/// What one catalogue revision disclosed: the form a notice marker keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disclosed {
    /// The catalogue's revision.
    pub revision: String,
    /// Every point it declared, by id.
    pub points: BTreeMap<String, DisclosedPoint>,
}

/// What bounds one point's collection, as a revision declared it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosedPoint {
    /// Its privacy class.
    pub privacy: PrivacyClass,
    /// The shape of its value.
    pub value: ValueType,
    /// Its gate per runtime line, as written.
    pub gates: BTreeMap<String, Gate>,
}

/// How a revision collects more of one point than the one a person was told about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Widening {
    /// The point was not declared.
    Added,
    /// Its gate on this runtime line admits a version the old gate did not (or the line did
    /// not collect it at all).
    GateWidened {
        /// The runtime line.
        line: String,
    },
    /// Its privacy class protects less (public < scrubbed < coarsened < aggregated < hashed).
    ProtectionLoosened {
        /// The class the person was told about.
        from: PrivacyClass,
        /// The class now.
        to: PrivacyClass,
    },
    /// Its value's shape changed; Candor cannot tell whether the new shape reveals more, so
    /// it counts as a widening.
    ShapeChanged,
}

/// One point a revision widened, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Widened {
    /// The point's id.
    pub point: String,
    /// How it widened.
    pub how: Widening,
}

impl fmt::Display for Widened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.how {
            Widening::Added => write!(f, "{}: new", self.point),
            Widening::GateWidened { line } => {
                write!(f, "{}: collected by more versions of {line}", self.point)
            }
            Widening::ProtectionLoosened { from, to } => write!(
                f,
                "{}: protection changed from {} to {}",
                self.point,
                from.as_str(),
                to.as_str()
            ),
            Widening::ShapeChanged => write!(f, "{}: its value's shape changed", self.point),
        }
    }
}

/// How strongly a class protects a value: higher protects more.
fn protection(class: PrivacyClass) -> u8 {
    match class {
        PrivacyClass::Public => 0,
        PrivacyClass::Scrubbed => 1,
        PrivacyClass::Coarsened => 2,
        PrivacyClass::Aggregated => 3,
        PrivacyClass::Hashed => 4,
    }
}

/// The lowest version a bound admits, for comparing two bounds: `(version, strict)`.
fn admits_more(new: &Bound, old: &Bound) -> bool {
    match (new, old) {
        (Bound::Since(a), Bound::Since(b)) | (Bound::After(a), Bound::After(b)) => a < b,
        // `since a` admits `a` itself, which `after b` never does when a <= b.
        (Bound::Since(a), Bound::After(b)) => a <= b,
        // `after a` admits the versions between a and b when a < b.
        (Bound::After(a), Bound::Since(b)) => a < b,
    }
}

impl Catalogue {
    /// What this revision discloses, for a notice marker to keep.
    pub fn disclosed(&self) -> Disclosed {
        let spec = self.spec();
        Disclosed {
            revision: spec.revision.clone(),
            points: spec
                .data_points
                .iter()
                .map(|p| {
                    (
                        p.id.clone(),
                        DisclosedPoint {
                            privacy: p.privacy,
                            value: p.value.clone(),
                            gates: p.gates.clone(),
                        },
                    )
                })
                .collect(),
        }
    }

    /// The points this revision collects more of than `told` disclosed, in catalogue order.
    /// Empty when it only narrows (or is the same). A gate the old text cannot be read under
    /// this line's scheme counts as widened: what cannot be compared is not assumed told.
    pub fn widened_since(&self, told: &Disclosed) -> Vec<Widened> {
        let mut widened = Vec::new();
        for point in &self.spec().data_points {
            let mut note = |how| {
                widened.push(Widened {
                    point: point.id.clone(),
                    how,
                });
            };
            let Some(old) = told.points.get(&point.id) else {
                note(Widening::Added);
                continue;
            };
            if protection(point.privacy) < protection(old.privacy) {
                note(Widening::ProtectionLoosened {
                    from: old.privacy,
                    to: point.privacy,
                });
            }
            if point.value != old.value {
                note(Widening::ShapeChanged);
            }
            for line in point.gates.keys() {
                let Ok(Some(new)) = self.gate(&point.id, line) else {
                    continue;
                };
                let wider = match old.gates.get(line) {
                    None => true,
                    Some(gate) => self
                        .parse_old_gate(line, gate)
                        .is_none_or(|old| admits_more(new, &old)),
                };
                if wider {
                    note(Widening::GateWidened { line: line.clone() });
                }
            }
        }
        widened
    }

    fn parse_old_gate(&self, line: &str, gate: &Gate) -> Option<Bound> {
        let scheme = self.runtime_line(line).ok()?.versioning;
        Some(match gate {
            Gate::Since(text) => Bound::Since(Version::parse(text, scheme).ok()?),
            Gate::After(text) => Bound::After(Version::parse(text, scheme).ok()?),
        })
    }
}

impl Disclosed {
    /// The record a notice marker keeps (JSON).
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Reads a notice marker's record; `None` when it is not one (corrupt, truncated, from an
    /// older Candor), which its readers take as "the notice was not shown".
    pub fn from_json(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalogue with `points` (TOML `[[data_points]]` tables) appended to a small head.
    fn catalogue(revision: &str, points: &str) -> Catalogue {
        let text = format!(
            r#"format = 1
revision = "{revision}"
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
notice = {{ kind = "first-run" }}
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
{points}"#
        );
        Catalogue::from_toml_str(&text, "tool.toml").expect("valid")
    }

    fn point(id: &str, privacy: &str, value: &str, gate: &str) -> String {
        format!(
            "[[data_points]]\nid = \"{id}\"\nname = \"{id}\"\ndescription = \"It.\"\n\
             value = {value}\nprivacy = \"{privacy}\"\ngates.main = {gate}\n"
        )
    }

    const COUNT: &str = "{ kind = \"count\" }";
    const TEXT: &str = "{ kind = \"text\", max_len = 100 }";

    fn widened(old: &Catalogue, new: &Catalogue) -> Vec<String> {
        new.widened_since(&old.disclosed())
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn adding_widening_or_loosening_is_a_widening() {
        let old = catalogue(
            "1",
            &[
                point("a", "public", COUNT, "{ since = \"2.0\" }"),
                point("b", "scrubbed", TEXT, "{ after = \"2.0\" }"),
            ]
            .concat(),
        );
        let new = catalogue(
            "2",
            &[
                point("a", "public", COUNT, "{ since = \"1.5\" }"),
                point("b", "scrubbed", TEXT, "{ since = \"2.0\" }"),
                point("c", "public", COUNT, "{ since = \"9.0\" }"),
            ]
            .concat(),
        );
        assert_eq!(
            widened(&old, &new),
            [
                "a: collected by more versions of main",
                "b: collected by more versions of main",
                "c: new",
            ]
        );
        let hashed = catalogue(
            "1",
            &point(
                "w",
                "hashed",
                "{ kind = \"hashed\", algorithm = \"hmac-sha256\" }",
                "{ since = \"1.0\" }",
            ),
        );
        let text = catalogue("2", &point("w", "scrubbed", TEXT, "{ since = \"1.0\" }"));
        assert_eq!(
            widened(&hashed, &text),
            [
                "w: protection changed from hashed to scrubbed",
                "w: its value's shape changed"
            ]
        );
    }

    #[test]
    fn a_revision_that_only_narrows_widens_nothing() {
        let old = catalogue(
            "1",
            &[
                point("a", "public", COUNT, "{ since = \"2.0\" }"),
                point("b", "scrubbed", TEXT, "{ since = \"2.0\" }"),
                point("gone", "public", COUNT, "{ since = \"1.0\" }"),
            ]
            .concat(),
        );
        let new = catalogue(
            "2",
            &[
                point("a", "public", COUNT, "{ since = \"3.0\" }"),
                point("b", "scrubbed", TEXT, "{ after = \"2.0\" }"),
            ]
            .concat(),
        );
        assert!(widened(&old, &new).is_empty());
        assert!(widened(&new, &new).is_empty());
    }

    #[test]
    fn an_old_gate_that_cannot_be_read_counts_as_widened() {
        let new = catalogue("2", &point("a", "public", COUNT, "{ since = \"1.0\" }"));
        let mut told = new.disclosed();
        told.points.get_mut("a").expect("a").gates =
            [("main".to_owned(), Gate::Since("not a version".to_owned()))].into();
        assert_eq!(new.widened_since(&told).len(), 1);
    }

    #[test]
    fn a_record_round_trips_and_junk_is_no_record() {
        let c = catalogue("1", &point("a", "public", COUNT, "{ since = \"1.0\" }"));
        let record = c.disclosed().to_json();
        assert_eq!(Disclosed::from_json(&record), Some(c.disclosed()));
        for junk in [
            &b"shown\n"[..],
            b"",
            b"{\"revision\": 1}",
            &record[..record.len() / 2],
        ] {
            assert_eq!(Disclosed::from_json(junk), None);
        }
    }
}
