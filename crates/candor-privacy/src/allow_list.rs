//! The allow-list policy: known values pass as they are, anything else becomes one placeholder.
//!
//! For short values from a small vocabulary (resource kinds, command names) this is stronger than
//! hashing: an unknown value is not hidden, it is never sent at all.

use std::collections::BTreeSet;

/// A set of values that may be sent as they are, and the placeholder for all others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList {
    known: BTreeSet<String>,
    placeholder: String,
}

impl AllowList {
    /// Values in `known` pass; any other becomes `placeholder`.
    pub fn new<I, S>(known: I, placeholder: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            known: known.into_iter().map(Into::into).collect(),
            placeholder: placeholder.into(),
        }
    }

    /// The value to send for `value`. Matching is exact: `Project` is not `project`, because a
    /// near-miss is exactly the kind of user-made value the policy keeps back.
    pub fn apply<'a>(&'a self, value: &'a str) -> &'a str {
        if self.known.contains(value) {
            value
        } else {
            &self.placeholder
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_pass_and_others_become_the_placeholder() {
        let list = AllowList::new(["restart", "stop"], "custom-command");
        assert_eq!(list.apply("restart"), "restart");
        assert_eq!(list.apply("deploy-to-jdoe-laptop"), "custom-command");
        assert_eq!(list.apply("Restart"), "custom-command");
        assert_eq!(list.apply(""), "custom-command");
    }
}
