//! User agents coarsened to what many users share: browser family, major version, OS family.
//!
//! A full user-agent string, with minor versions, device models and locale, narrows a visitor
//! down far enough to act as a fingerprint; the dashboard promises no fingerprinting.

use std::fmt;

/// A coarsened user agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoarseUserAgent {
    /// `Chrome`, `Edge`, `Firefox`, `Safari`, `Opera` or `Other`.
    pub browser: &'static str,
    /// The major version, when the browser is known and states one.
    pub major: Option<u32>,
    /// `Windows`, `macOS`, `iOS`, `Android`, `ChromeOS`, `Linux` or `Other`.
    pub os: &'static str,
}

impl fmt::Display for CoarseUserAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.major {
            Some(major) => write!(f, "{} {major} on {}", self.browser, self.os),
            None => write!(f, "{} on {}", self.browser, self.os),
        }
    }
}

/// Reduces a user-agent string. Anything unrecognised becomes `Other`; nothing of the input is
/// copied except a browser's major version number.
pub fn coarsen(user_agent: &str) -> CoarseUserAgent {
    // Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
    const BROWSERS: &[(&str, &str)] = &[
        ("Edg/", "Edge"),
        ("EdgA/", "Edge"),
        ("EdgiOS/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
    ];
    let mut browser = "Other";
    let mut major = None;
    for (token, name) in BROWSERS {
        if let Some(at) = user_agent.find(token) {
            if *name == "Safari" && !user_agent.contains("Safari/") {
                continue;
            }
            browser = name;
            let digits: String = user_agent[at + token.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .take(4)
                .collect();
            major = digits.parse().ok();
            break;
        }
    }
    const SYSTEMS: &[(&str, &str)] = &[
        ("Windows", "Windows"),
        ("iPhone", "iOS"),
        ("iPad", "iOS"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Mac OS X", "macOS"),
        ("Macintosh", "macOS"),
        ("Linux", "Linux"),
    ];
    let os = SYSTEMS
        .iter()
        .find(|(token, _)| user_agent.contains(token))
        .map_or("Other", |(_, name)| name);
    CoarseUserAgent { browser, major, os }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_browsers_are_reduced_to_family_major_and_os() {
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36",
                "Chrome 120 on Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
                "Edge 120 on Windows",
            ),
            (
                "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
                "Firefox 121 on Linux",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
                "Safari 17 on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
                "Safari 17 on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A.240105.004) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
                "Chrome 120 on Android",
            ),
            ("curl/8.5.0", "Other on Other"),
            ("", "Other on Other"),
        ];
        for (input, expected) in cases {
            assert_eq!(coarsen(input).to_string(), expected, "{input}");
        }
    }

    #[test]
    fn device_models_and_minor_versions_never_survive() {
        let coarse = coarsen("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A.240105.004) Chrome/120.0.6099.144 Mobile Safari/537.36").to_string();
        assert!(!coarse.contains("Pixel"));
        assert!(!coarse.contains("6099"));
    }
}
