//! A single-pass scrubber for free text.
//!
//! One search (a hashed three-byte prefix filter, see `trigger`) finds every literal that can
//! start a secret or a personal value (`@` and its escaped forms, `://`, `password`, `/home/`,
//! `AKIA`, vendor token prefixes such as `sk_live_` or `glpat-`, `-----BEGIN `, this machine's
//! user name…); one byte scan finds the numeric shapes (IP and MAC addresses, card, social
//! security, phone and IBAN numbers); one pass over long runs of token characters finds
//! whole-word shapes (wallet addresses, Cisco MACs, Discord and Twilio tokens, opaque
//! high-entropy tokens). Each candidate is confirmed by a small validator (Luhn, mod-97,
//! base58check, bech32, entropy…), the confirmed spans are merged (overlaps become their union,
//! so nothing leaks between two findings), and the output is built
//! once. Clean text costs the prefix filter and two byte scans that skip most bytes unread.
//!
//! Time is linear in the input, whatever it is: every validator's look-around is bounded or goes
//! through a run memo (a long run is scanned once, not once per trigger inside it), and the
//! fixpoint re-scans only changed lines, found in one pass.
//!
//! Replacements name what was removed (`[email]`, `[user]`, `[secret]`…), so the result stays
//! readable, and scrubbing scrubbed text changes nothing.

mod literal;
mod numeric;
mod shape;
mod text;
mod trigger;

use trigger::TriggerSearch;

pub use text::{MAX_INPUT_BYTES, TRUNCATION_MARKER};

/// What a replaced span held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Finding {
    /// An e-mail address.
    Email,
    /// An IPv4 or IPv6 address.
    Ip,
    /// A MAC address.
    Mac,
    /// A user name (in a path, a connection string, `user@host`, or this machine's).
    User,
    /// A host name (this machine's, a UNC server, the host of `user@host`).
    Host,
    /// A UNC share name.
    Share,
    /// This machine's home folder.
    Home,
    /// Credentials in a URL's authority.
    Credentials,
    /// A secret value (`password=…`, a secret URL parameter, a connection-string key).
    Secret,
    /// A bearer token.
    Token,
    /// A JSON Web Token.
    Jwt,
    /// A well-known API key format (AWS, GitHub, Slack, Google).
    ApiKey,
    /// A payment card number (Luhn-checked).
    Card,
    /// A PEM block (keys, certificates).
    Pem,
    /// An international bank account number (mod-97 checked).
    Iban,
    /// A US social security number.
    Ssn,
    /// A telephone number.
    Phone,
    /// A checksummed cryptocurrency wallet address (Bitcoin, Ethereum).
    Wallet,
}

impl Finding {
    /// The text that replaces the span.
    pub fn token(self) -> &'static str {
        match self {
            Self::Email => "[email]",
            Self::Ip => "[ip]",
            Self::Mac => "[mac]",
            Self::User => "[user]",
            Self::Host => "[host]",
            Self::Share => "[share]",
            Self::Home => "[home]",
            Self::Credentials => "[credentials]",
            Self::Secret => "[secret]",
            Self::Token => "[token]",
            Self::Jwt => "[jwt]",
            Self::ApiKey => "[api-key]",
            Self::Card => "[card]",
            Self::Pem => "[pem]",
            Self::Iban => "[iban]",
            Self::Ssn => "[ssn]",
            Self::Phone => "[phone]",
            Self::Wallet => "[wallet]",
        }
    }
}

/// A confirmed finding: bytes `start..end` of the text are replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) finding: Finding,
}

/// This machine's own names, known when the host starts. Any of them in free text is replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineLiterals {
    /// The current user's login name.
    pub user_name: Option<String>,
    /// The current user's home folder.
    pub home_dir: Option<String>,
    /// This machine's host name.
    pub host_name: Option<String>,
}

/// Passes after which a line that still changes is replaced whole by [`REDACTED`]; in practice
/// the second pass finds nothing, and only crafted input cascades further.
const MAX_PASSES: usize = 16;

/// Replaces a line that could not be scrubbed to a fixpoint.
pub const REDACTED: &str = "[redacted]";

/// Machine literals longer than this are not names; they are ignored rather than matched.
const MAX_LITERAL_BYTES: usize = 256;

/// Account names that are the same on millions of machines; replacing them everywhere would
/// mangle ordinary words ("root cause") and protect nobody.
const GENERIC_ACCOUNTS: &[&str] = &[
    "root",
    "admin",
    "administrator",
    "user",
    "users",
    "runner",
    "ubuntu",
    "debian",
    "docker",
    "app",
    "system",
    "nobody",
    "guest",
    "default",
    "public",
    "localhost",
    "vscode",
    "codespace",
];

impl MachineLiterals {
    /// Reads this process's user name, home folder and host name from the environment and, on
    /// Unix, `/etc/hostname`. Values that cannot be read are left out.
    pub fn detect() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let host_name = var("HOSTNAME").or_else(|| var("COMPUTERNAME")).or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .or_else(|_| std::fs::read_to_string("/etc/hostname"))
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        });
        Self {
            user_name: var("USER")
                .or_else(|| var("USERNAME"))
                .or_else(|| var("LOGNAME")),
            home_dir: var("HOME").or_else(|| var("USERPROFILE")),
            host_name,
        }
    }

    /// The literals worth matching: long enough to be distinctive and not generic account names.
    fn patterns(&self) -> Vec<(String, Finding)> {
        let mut out = Vec::new();
        let useful = |v: &str, min: usize| {
            let v = v.trim();
            (min..=MAX_LITERAL_BYTES).contains(&v.len())
                && !GENERIC_ACCOUNTS.contains(&v.to_ascii_lowercase().as_str())
        };
        let home = self.home_dir.as_deref();
        if let Some(home) = home.filter(|h| (4..=MAX_LITERAL_BYTES).contains(&h.trim().len())) {
            out.push((
                home.trim().trim_end_matches(['/', '\\']).to_owned(),
                Finding::Home,
            ));
        }
        if let Some(user) = self.user_name.as_deref().filter(|u| useful(u, 3)) {
            out.push((user.trim().to_owned(), Finding::User));
        }
        if let Some(host) = self.host_name.as_deref().filter(|h| useful(h, 3)) {
            out.push((host.trim().to_owned(), Finding::Host));
        }
        out
    }
}

/// The scrubber: built once, used from any thread.
#[derive(Debug, Clone)]
pub struct Scrubber {
    search: TriggerSearch,
    triggers: Vec<literal::Trigger>,
}

impl Default for Scrubber {
    /// A scrubber without machine literals.
    fn default() -> Self {
        Self::new(&MachineLiterals::default())
    }
}

impl Scrubber {
    /// A scrubber that also replaces this machine's literals.
    pub fn new(machine: &MachineLiterals) -> Self {
        let mut patterns: Vec<String> = Vec::new();
        let mut triggers = Vec::new();
        for (pattern, trigger) in literal::builtin_triggers() {
            patterns.push(pattern);
            triggers.push(trigger);
        }
        let builtin = patterns.len();
        for (value, finding) in machine.patterns() {
            patterns.push(value);
            triggers.push(literal::Trigger::Literal(finding));
        }
        let search = match TriggerSearch::new(&patterns) {
            Some(search) => search,
            None => {
                // Only the machine's literals can make a build fail (they are capped in length,
                // so this is not expected); without them the scrubber still does its job.
                patterns.truncate(builtin);
                triggers.truncate(builtin);
                TriggerSearch::new(&patterns)
                    .expect("the built-in trigger set always builds (tested)")
            }
        };
        Self { search, triggers }
    }

    /// Scrubs `text`, with no length limit beyond [`MAX_INPUT_BYTES`].
    pub fn scrub(&self, text: &str) -> String {
        self.scrub_limited(text, MAX_INPUT_BYTES)
    }

    /// Scrubs `text` and cuts the result to at most `max_len` bytes, ending with
    /// [`TRUNCATION_MARKER`] when it was cut. Control characters (other than newline and tab)
    /// and bidirectional-override characters are removed.
    pub fn scrub_limited(&self, text: &str, max_len: usize) -> String {
        let (prepared, cut) = text::prepare(text, max_len);
        let scrubbed = self.scrub_to_fixpoint(&prepared, MAX_PASSES);
        text::finish(scrubbed, max_len, cut)
    }

    /// Scrubs bytes that may not be UTF-8: invalid sequences become U+FFFD first.
    pub fn scrub_bytes(&self, bytes: &[u8], max_len: usize) -> String {
        self.scrub_limited(&String::from_utf8_lossy(bytes), max_len)
    }

    /// Scrubs until a pass changes nothing.
    ///
    /// A replacement can change what a detector sees next to it (a domain that ran into a PEM
    /// header ends at the token instead), so the lines a pass changed are scrubbed again. Only
    /// those lines: after the first pass no finding crosses a line (PEM blocks, the one kind that
    /// does, are tokens by then). Each pass that changes anything replaces letters or digits by a
    /// token, so this ends; clean text costs a single pass.
    fn scrub_to_fixpoint(&self, text: &str, passes_left: usize) -> String {
        let spans = self.find(text);
        if spans.is_empty() {
            return text.to_owned();
        }
        if passes_left == 0 {
            // Still changing after every pass allowed: what is left cannot be shown to be clean,
            // so none of it is kept.
            return REDACTED.to_owned();
        }
        let (replaced, tokens) = apply_recording(text, &spans);
        let mut out = String::with_capacity(replaced.len());
        let mut copied = 0;
        for (line_start, line_end) in changed_lines(&replaced, &tokens) {
            out.push_str(&replaced[copied..line_start]);
            out.push_str(&self.scrub_to_fixpoint(&replaced[line_start..line_end], passes_left - 1));
            copied = line_end;
        }
        out.push_str(&replaced[copied..]);
        out
    }

    /// What would be replaced in `text`, in order, without replacing it.
    pub fn findings(&self, text: &str) -> Vec<(Finding, String)> {
        self.find(text)
            .into_iter()
            .map(|s| (s.finding, text[s.start..s.end].to_owned()))
            .collect()
    }

    fn find(&self, text: &str) -> Vec<Span> {
        let mut spans = Vec::new();
        literal::find(&self.search, &self.triggers, text, &mut spans);
        numeric::find(text, &mut spans);
        shape::find(text, &mut spans);
        // A replacement token found by another detector (`/home/[pem]`) stays as it is, so
        // scrubbing scrubbed text changes nothing.
        spans.retain(|s| !is_already_scrubbed(&text[s.start..s.end]));
        merge(spans)
    }
}

pub(crate) const ALL_FINDINGS: &[Finding] = &[
    Finding::Email,
    Finding::Ip,
    Finding::Mac,
    Finding::User,
    Finding::Host,
    Finding::Share,
    Finding::Home,
    Finding::Credentials,
    Finding::Secret,
    Finding::Token,
    Finding::Jwt,
    Finding::ApiKey,
    Finding::Card,
    Finding::Pem,
    Finding::Iban,
    Finding::Ssn,
    Finding::Phone,
    Finding::Wallet,
];

/// True for text made of replacement tokens and punctuation only (`[secret]`, `[secret]@`):
/// what a previous pass left, with nothing in it left to hide.
fn is_already_scrubbed(text: &str) -> bool {
    if !text.contains('[') {
        return false;
    }
    let mut rest = text.replace(REDACTED, "");
    let mut any = rest.len() != text.len();
    for finding in ALL_FINDINGS {
        if rest.contains(finding.token()) {
            any = true;
            rest = rest.replace(finding.token(), "");
        }
    }
    any && !rest.chars().any(char::is_alphanumeric)
}

/// Sorts spans and unites overlapping ones; the earliest (then longest) finding names a union.
fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|s| s.start < s.end);
    spans.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            // Touching spans merge too: `[secret][credentials]` says no more than `[secret]`.
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    merged
}

/// Replaces the spans; returns the text and where each token landed in it.
fn apply_recording(text: &str, spans: &[Span]) -> (String, Vec<(usize, usize)>) {
    let mut out = String::with_capacity(text.len());
    let mut tokens = Vec::with_capacity(spans.len());
    let mut at = 0;
    for span in spans {
        out.push_str(&text[at..span.start]);
        let token_start = out.len();
        out.push_str(span.finding.token());
        tokens.push((token_start, out.len()));
        at = span.end;
    }
    out.push_str(&text[at..]);
    (out, tokens)
}

/// The lines (without their newline) that contain a token, merged and in order.
///
/// Tokens come in order, so each byte is looked at a bounded number of times: the search for a
/// line's start stops at the end of the line found before, and a token inside a line already
/// found costs nothing.
fn changed_lines(text: &str, tokens: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut lines: Vec<(usize, usize)> = Vec::new();
    for &(start, end) in tokens {
        let floor = match lines.last() {
            Some(&(_, last_end)) if start <= last_end => continue,
            Some(&(_, last_end)) => last_end,
            None => 0,
        };
        let line_start =
            memchr::memrchr(b'\n', &bytes[floor..start]).map_or(floor, |p| floor + p + 1);
        let line_end = memchr::memchr(b'\n', &bytes[end..]).map_or(bytes.len(), |p| end + p);
        match lines.last_mut() {
            Some(last) if line_start <= last.1 => last.1 = last.1.max(line_end),
            _ => lines.push((line_start, line_end)),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_trigger_set_builds() {
        let patterns: Vec<String> = literal::builtin_triggers()
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert!(TriggerSearch::new(&patterns).is_some());
    }

    #[test]
    fn overlapping_spans_become_their_union() {
        let spans = vec![
            Span {
                start: 5,
                end: 10,
                finding: Finding::User,
            },
            Span {
                start: 0,
                end: 6,
                finding: Finding::Email,
            },
            Span {
                start: 20,
                end: 22,
                finding: Finding::Ip,
            },
        ];
        let merged = merge(spans);
        assert_eq!(merged.len(), 2);
        assert_eq!(
            (merged[0].start, merged[0].end, merged[0].finding),
            (0, 10, Finding::Email)
        );
    }
}
