//! Recognising continuous-integration machines.
//!
//! A CI run has no person to read a notice, so interactive notices are suppressed there. Whether
//! telemetry itself changes is the product's choice ([`CiPolicy`]); by default it does not.

use crate::environment::Environment;
use crate::switch::{Switch, read_switch};

/// Variables that CI services set, with the service's name. Checked in order.
const PROVIDERS: &[(&str, &str)] = &[
    ("GITHUB_ACTIONS", "GitHub Actions"),
    ("GITLAB_CI", "GitLab CI"),
    ("TF_BUILD", "Azure Pipelines"),
    ("JENKINS_URL", "Jenkins"),
    ("BUILDKITE", "Buildkite"),
    ("CIRCLECI", "CircleCI"),
    ("TRAVIS", "Travis CI"),
    ("APPVEYOR", "AppVeyor"),
    ("TEAMCITY_VERSION", "TeamCity"),
    ("BITBUCKET_BUILD_NUMBER", "Bitbucket Pipelines"),
    ("CODEBUILD_BUILD_ID", "AWS CodeBuild"),
    ("DRONE", "Drone"),
];

/// What a product does on a CI machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CiPolicy {
    /// The decision is unchanged; only interactive notices are suppressed.
    #[default]
    Unchanged,
    /// Telemetry is off on CI machines.
    Off,
}

/// The CI service this process runs under, if any.
pub fn detect_ci(env: &Environment) -> Option<&'static str> {
    for (variable, name) in PROVIDERS {
        let set = env.get(variable).is_some_and(|v| !v.is_empty());
        if set {
            return Some(name);
        }
    }
    // The generic convention: CI=true (or 1). CI=false means "not CI" and is honoured.
    match read_switch(env.get("CI")) {
        Switch::True => Some("a CI service (CI is set)"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_and_the_generic_variable_are_recognised() {
        let env = Environment::from_pairs([("GITHUB_ACTIONS", "true")]);
        assert_eq!(detect_ci(&env), Some("GitHub Actions"));
        let env = Environment::from_pairs([("CI", "true")]);
        assert_eq!(detect_ci(&env), Some("a CI service (CI is set)"));
        let env = Environment::from_pairs([("CI", "false")]);
        assert_eq!(detect_ci(&env), None);
        let env = Environment::from_pairs([("JENKINS_URL", "")]);
        assert_eq!(detect_ci(&env), None);
        assert_eq!(detect_ci(&Environment::default()), None);
    }
}
