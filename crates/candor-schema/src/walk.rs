//! The one walk over a value's strings: each string with its role, which says how the sender
//! protects it and so how every door checks it.
//!
//! The preparer (`candor-collect`) walks a value it is making with [`Value::walk_strings_mut`]
//! and applies each role (scrubs, coarsens, hashes, or checks the grammar of what is sent as it
//! is); the event check (`candor-check`, on arrival and on the spool's re-admission) walks a
//! value it received with [`Value::walk_strings`] and checks each role (no finding of the
//! scrubber in protected text, the grammar of verbatim text). Both read the roles from here, so
//! a string's treatment is decided once, by its place in the value and the point's privacy
//! class. A hash's form has one rule too: [`HashAlgorithm::admits`].

use crate::event::{ExceptionValue, MAX_MESSAGE_LEN, MAX_PROPERTY_VALUE_LEN, Value};
use crate::model::{DataPointSpec, HashAlgorithm, PrivacyClass, ValueType};

/// How one string of a value is protected before it leaves the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StringRole {
    /// Free text, scrubbed of personal data and cut to at most `max_len` bytes: it shows no
    /// finding of the scrubber.
    Scrubbed {
        /// The most bytes it may hold.
        max_len: usize,
    },
    /// Coarsened by the sender (a user agent to browser family, major version and OS family):
    /// it shows no finding of the scrubber.
    Coarsened,
    /// Sent as it is: it must match the grammar, with nothing personal in it.
    Verbatim(Grammar),
    /// The hash of an identifier, in the algorithm's form ([`HashAlgorithm::admits`]).
    Hash(HashAlgorithm),
}

/// The grammar a string sent as it is follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Grammar {
    /// A setting or rule name, a label, a mode: an identifier with nothing personal in it
    /// (`candor_privacy::check_identifier`).
    Identifier,
    /// A version number (`candor_privacy::check_version`).
    Version,
    /// A language tag without private-use subtags ([`crate::is_language_tag`]), checked with the
    /// value's shape.
    LanguageTag,
    /// A type name ([`crate::check_name`]), checked with the value's shape.
    Name,
    /// A word the catalogue declares (an enumeration value, a property key), checked with the
    /// value's shape against the declaration.
    Declared,
}

/// An identifier sent as it is, unless the point is scrubbed: then it is scrubbed as text.
fn verbatim(point: &DataPointSpec, grammar: Grammar) -> StringRole {
    if point.privacy == PrivacyClass::Scrubbed {
        StringRole::Scrubbed {
            max_len: MAX_PROPERTY_VALUE_LEN,
        }
    } else {
        StringRole::Verbatim(grammar)
    }
}

const MESSAGE: StringRole = StringRole::Scrubbed {
    max_len: MAX_MESSAGE_LEN,
};
const PROPERTY: StringRole = StringRole::Scrubbed {
    max_len: MAX_PROPERTY_VALUE_LEN,
};
const DECLARED: StringRole = StringRole::Verbatim(Grammar::Declared);

/// The role of a single-string value of `point`, or `None` when the value holds no single string.
fn single(point: &DataPointSpec, value: &Value) -> Option<StringRole> {
    Some(match (&point.value, value) {
        (_, Value::Enumeration(_)) => DECLARED,
        (_, Value::Version(_)) => verbatim(point, Grammar::Version),
        (ValueType::Text { max_len }, Value::Text(_)) => StringRole::Scrubbed {
            max_len: *max_len as usize,
        },
        (ValueType::Hashed { algorithm }, Value::Hashed(_)) => StringRole::Hash(*algorithm),
        (_, Value::LanguageTag(_)) => verbatim(point, Grammar::LanguageTag),
        (_, Value::UserAgent(_)) => StringRole::Coarsened,
        _ => return None,
    })
}

impl Value {
    /// Calls `visit` with each string of this value of `point` and its role, in the value's
    /// order, until `visit` fails. A value of another kind than `point` declares yields
    /// nothing: the value check refuses it first.
    pub fn walk_strings<E>(
        &self,
        point: &DataPointSpec,
        mut visit: impl FnMut(StringRole, &str) -> Result<(), E>,
    ) -> Result<(), E> {
        if point.value.kind_name() != self.kind_name() {
            return Ok(());
        }
        if let Some(role) = single(point, self) {
            return match self {
                Value::Enumeration(s)
                | Value::Version(s)
                | Value::Text(s)
                | Value::Hashed(s)
                | Value::LanguageTag(s)
                | Value::UserAgent(s) => visit(role, s),
                _ => Ok(()),
            };
        }
        match self {
            Value::Names(names) => {
                let role = verbatim(point, Grammar::Identifier);
                names.iter().try_for_each(|n| visit(role, n))
            }
            Value::LabelCounts(map) => {
                let role = verbatim(point, Grammar::Identifier);
                map.keys().try_for_each(|k| visit(role, k))
            }
            Value::ModeByName(map) => {
                let role = verbatim(point, Grammar::Identifier);
                map.iter().try_for_each(|(name, mode)| {
                    visit(role, name)?;
                    visit(role, mode)
                })
            }
            Value::Properties(map) => map.iter().try_for_each(|(key, value)| {
                visit(DECLARED, key)?;
                visit(PROPERTY, value)
            }),
            Value::Exception(e) => {
                visit(StringRole::Verbatim(Grammar::Name), &e.type_name)?;
                visit(MESSAGE, &e.message)?;
                e.frames.iter().try_for_each(|f| visit(MESSAGE, f))?;
                match &e.log_message {
                    Some(m) => visit(MESSAGE, m),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// [`Value::walk_strings`] with each string open to change, as the preparer applies each
    /// role. The keys of a map are changed by taking them out and putting them back (two that
    /// become equal are one, the later kept).
    pub fn walk_strings_mut<E>(
        &mut self,
        point: &DataPointSpec,
        mut visit: impl FnMut(StringRole, &mut String) -> Result<(), E>,
    ) -> Result<(), E> {
        if point.value.kind_name() != self.kind_name() {
            return Ok(());
        }
        if let Some(role) = single(point, self) {
            return match self {
                Value::Enumeration(s)
                | Value::Version(s)
                | Value::Text(s)
                | Value::Hashed(s)
                | Value::LanguageTag(s)
                | Value::UserAgent(s) => visit(role, s),
                _ => Ok(()),
            };
        }
        match self {
            Value::Names(names) => {
                let role = verbatim(point, Grammar::Identifier);
                names.iter_mut().try_for_each(|n| visit(role, n))
            }
            Value::LabelCounts(map) => {
                let role = verbatim(point, Grammar::Identifier);
                for (mut key, count) in std::mem::take(map) {
                    visit(role, &mut key)?;
                    map.insert(key, count);
                }
                Ok(())
            }
            Value::ModeByName(map) => {
                let role = verbatim(point, Grammar::Identifier);
                for (mut name, mut mode) in std::mem::take(map) {
                    visit(role, &mut name)?;
                    visit(role, &mut mode)?;
                    map.insert(name, mode);
                }
                Ok(())
            }
            Value::Properties(map) => {
                for (mut key, mut value) in std::mem::take(map) {
                    visit(DECLARED, &mut key)?;
                    visit(PROPERTY, &mut value)?;
                    map.insert(key, value);
                }
                Ok(())
            }
            Value::Exception(ExceptionValue {
                type_name,
                message,
                frames,
                log_message,
                ..
            }) => {
                visit(StringRole::Verbatim(Grammar::Name), type_name)?;
                visit(MESSAGE, message)?;
                frames.iter_mut().try_for_each(|f| visit(MESSAGE, f))?;
                match log_message {
                    Some(m) => visit(MESSAGE, m),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }
}

/// The most characters a key id of a keyed hash may have.
pub const MAX_HASH_KEY_ID_LEN: usize = 32;
/// The fewest hex digits a keyed hash may be cut to.
pub const MIN_HASH_HEX_DIGITS: usize = 16;

impl HashAlgorithm {
    /// Whether `text` has the form a hash of this algorithm is sent in, the one rule every door
    /// applies: for SHA-256 its 64 lower-case hex digits; for the keyed HMAC-SHA256
    /// `key-id:hex`, a key id of 1 to [`MAX_HASH_KEY_ID_LEN`] ASCII letters, digits, `-` and
    /// `_`, then an even number of [`MIN_HASH_HEX_DIGITS`] to 64 lower-case hex digits (a key
    /// may cut its hashes short, by whole bytes, as `candor-privacy`'s hasher does). Nothing
    /// longer, and no bare hex for a keyed point: a hash whose key no receiver can name is no
    /// keyed hash.
    pub fn admits(self, text: &str) -> bool {
        match self {
            Self::Sha256 => text.len() == 64 && is_lower_hex(text),
            Self::HmacSha256 => text.split_once(':').is_some_and(|(id, hex)| {
                (1..=MAX_HASH_KEY_ID_LEN).contains(&id.len())
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    && (MIN_HASH_HEX_DIGITS..=64).contains(&hex.len())
                    && hex.len().is_multiple_of(2)
                    && is_lower_hex(hex)
            }),
        }
    }

    /// The algorithm's name in messages.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Sha256 => "SHA-256",
            Self::HmacSha256 => "keyed HMAC-SHA256",
        }
    }
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A value of every kind that holds strings, for a point of the built-in catalogues, and
    /// the roles the walk must give its strings.
    fn cases() -> Vec<(&'static str, &'static str, Value, Vec<StringRole>)> {
        let text = |n| StringRole::Scrubbed { max_len: n };
        let ident = StringRole::Verbatim(Grammar::Identifier);
        let strings = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let agent = "contrast-dotnet-agent";
        let dashboard = "aspire-dashboard";
        vec![
            (
                agent,
                "contrast_instance",
                Value::Enumeration("hosted".into()),
                vec![DECLARED],
            ),
            (
                agent,
                "agent_version",
                Value::Version("4.0.0".into()),
                vec![StringRole::Verbatim(Grammar::Version)],
            ),
            (
                agent,
                "os_version",
                Value::Text("Debian".into()),
                vec![text(128)],
            ),
            (
                agent,
                "machine_id",
                Value::Hashed("ab".repeat(32)),
                vec![StringRole::Hash(HashAlgorithm::Sha256)],
            ),
            (
                agent,
                "non_default_setting_names",
                Value::Names(vec!["A".into(), "B".into()]),
                vec![ident, ident],
            ),
            (
                agent,
                "contrast_http_status_codes",
                Value::LabelCounts(BTreeMap::from([("200".into(), 1), ("404".into(), 2)])),
                vec![ident, ident],
            ),
            (
                agent,
                "protect_rule_modes",
                Value::ModeByName(strings(&[("xss", "block")])),
                vec![ident, ident],
            ),
            (
                agent,
                "sensor_exceptions",
                Value::Exception(ExceptionValue {
                    type_name: "System.Exception".into(),
                    message: "m".into(),
                    frames: vec!["at A()".into(), "at B()".into()],
                    frames_dropped: 0,
                    log_message: Some("l".into()),
                }),
                vec![
                    StringRole::Verbatim(Grammar::Name),
                    MESSAGE,
                    MESSAGE,
                    MESSAGE,
                    MESSAGE,
                ],
            ),
            (
                dashboard,
                "page_navigation",
                Value::Properties(strings(&[("page", "resources")])),
                vec![DECLARED, PROPERTY],
            ),
            (
                dashboard,
                "request_language",
                Value::LanguageTag("en-US".into()),
                vec![StringRole::Verbatim(Grammar::LanguageTag)],
            ),
            (
                dashboard,
                "request_user_agent",
                Value::UserAgent("Chrome 120 on Windows".into()),
                vec![StringRole::Coarsened],
            ),
            (agent, "working_set", Value::Count(1), vec![]),
        ]
    }

    #[test]
    fn both_walks_give_each_string_the_same_role_in_the_same_order() {
        let builtins = crate::builtin::catalogues().expect("built-ins");
        for (product, point, mut value, roles) in cases() {
            let spec = builtins
                .get(product)
                .expect(product)
                .data_point(point)
                .expect(point);
            let mut read = Vec::new();
            value
                .walk_strings(spec, |role, s| {
                    read.push((role, s.to_owned()));
                    Ok::<_, ()>(())
                })
                .expect("walk");
            assert_eq!(
                read.iter().map(|r| r.0).collect::<Vec<_>>(),
                roles,
                "{point}"
            );
            let mut changed = Vec::new();
            value
                .walk_strings_mut(spec, |role, s| {
                    changed.push((role, s.clone()));
                    s.push('!');
                    Ok::<_, ()>(())
                })
                .expect("walk");
            assert_eq!(read, changed, "{point}");
            // Every string was open to change, map keys included.
            value
                .walk_strings(spec, |_, s| {
                    assert!(s.ends_with('!'), "{point}: {s}");
                    Ok::<_, ()>(())
                })
                .expect("walk");
        }
    }

    #[test]
    fn a_scrubbed_points_identifiers_are_scrubbed_text_and_a_failed_visit_stops_the_walk() {
        let builtins = crate::builtin::catalogues().expect("built-ins");
        let mut spec = builtins
            .get("contrast-dotnet-agent")
            .expect("agent")
            .data_point("non_default_setting_names")
            .expect("point")
            .clone();
        spec.privacy = PrivacyClass::Scrubbed;
        let value = Value::Names(vec!["A".into(), "B".into()]);
        let mut seen = 0;
        let stopped = value.walk_strings(&spec, |role, _| {
            assert_eq!(role, PROPERTY);
            seen += 1;
            Err("stop")
        });
        assert_eq!((stopped, seen), (Err("stop"), 1));
        // A value of another kind than declared yields nothing.
        let mut calls = 0;
        Value::Text("x".into())
            .walk_strings(&spec, |_, _| {
                calls += 1;
                Ok::<_, ()>(())
            })
            .expect("walk");
        assert_eq!(calls, 0);
    }

    #[test]
    fn hash_forms() {
        let hex = "ab".repeat(32);
        assert!(HashAlgorithm::Sha256.admits(&hex));
        assert!(!HashAlgorithm::Sha256.admits(&hex[..63]));
        assert!(!HashAlgorithm::Sha256.admits(&hex.to_uppercase()));
        assert!(!HashAlgorithm::Sha256.admits(&format!("k1:{hex}")));
        assert!(HashAlgorithm::HmacSha256.admits(&format!("k1:{hex}")));
        assert!(HashAlgorithm::HmacSha256.admits(&format!("key_id-2:{}", &hex[..16])));
        for bad in [
            hex.clone(),
            format!(":{hex}"),
            format!("k1:{}", &hex[..15]),
            format!("k1:{}", &hex[..17]),
            format!("k1:{}", &hex[..63]),
            format!("k1:{hex}00"),
            format!("{}:{hex}", "k".repeat(33)),
            format!("k 1:{hex}"),
            format!("k1:k2:{hex}"),
        ] {
            assert!(!HashAlgorithm::HmacSha256.admits(&bad), "{bad}");
        }
    }
}
