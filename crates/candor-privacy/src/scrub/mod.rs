//! A single-pass scrubber for free text.
//!
//! One search (a filter of hashed three-byte pieces, see `trigger`) finds every literal that can
//! start a secret or a personal value (`@` and its escaped and full-width forms, `%2540`
//! included, `://`, secret-bearing key names, `/home/`, `\\`, `S-1-`, `CN=`, `IIS APPPOOL\`,
//! `AKIA` and the other AWS key prefixes, vendor token prefixes such as `sk_live_` or `glpat-`,
//! `-----BEGIN `, a database client's name and the `-p` after it, `machine ` of a `.netrc`,
//! this machine's user name…); one classification of the text in blocks of 64 bytes (`blocks`)
//! feeds a byte scan for the numeric shapes (IP and MAC addresses, card, social security,
//! national and IBAN numbers, phone numbers international, North American or national) and a
//! pass over long runs of token characters for whole-word shapes (wallet addresses, Cisco MACs,
//! Discord and Twilio tokens, opaque high-entropy tokens). Each candidate is confirmed by a
//! small validator (Luhn, mod-97, base58check, bech32, EIP-55, entropy…), the
//! confirmed spans are merged (overlaps become their union, so nothing leaks between two
//! findings), and the output is built once. Clean text costs the piece filter and one block
//! classification whose scans skip most bytes unread. Where the CPU runs AVX2, these byte scans
//! run in vector form (`kernel` chooses once, `simd` holds the code), with the same findings:
//! tests compare the two forms on every machine that runs both. Text holding full-width forms, other
//! scripts' digits or characters that show as nothing (a zero-width space inside
//! `pass\u{200b}word`) is scanned once more as ASCII, without the invisible ones (`fold`).
//!
//! Time is linear in the input, whatever it is: every validator's look-around is bounded or goes
//! through a run memo (a long run is scanned once, not once per trigger inside it), and the
//! fixpoint re-scans only what a pass changed and a bounded stretch around it (widened to white
//! space), so one finding at the end of a long line does not cost a second read of the line.
//!
//! Replacements name what was removed (`[email]`, `[user]`, `[secret]`…), so the result stays
//! readable, and scrubbing scrubbed text changes nothing. A length cut keeps no part of a
//! secret: the text is scanned past the place it is cut (`text`), and what straddles it is kept
//! only as its token.

mod blocks;
mod command;
mod finance;
mod fold;
mod identity;
mod kernel;
mod keys;
mod lex;
mod literal;
mod national;
mod numeric;
mod phone;
mod shape;
// The crate's one module with `unsafe` code: AVX2, entered where the CPU runs it.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod simd;
mod text;
mod trigger;
mod vendor;

use std::ops::Range;

use kernel::Kernel;
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
    /// A secret value (`password=…`, a secret URL parameter, a connection-string key, the
    /// password a database client takes as `-pS3cret`).
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
    /// A telephone number: international (`+44 20 7946 0958`), North American
    /// (`(415) 555-0173`), or national with its trunk prefix (`020 7946 0958`, and with a
    /// phone word before it `0170 1234567`, `01 23 45 67 89`).
    Phone,
    /// A cryptocurrency wallet address: Bitcoin (Base58Check or bech32, checksum verified) or
    /// Ethereum (`0x` and 40 hex digits; an EIP-55 mixed-case checksum is verified).
    Wallet,
    /// A Windows security identifier of an account (`S-1-5-21-…`, `S-1-12-1-…`), not a
    /// well-known one (`S-1-5-18`).
    Sid,
    /// A national identifier: a UK National Insurance number, a German tax id, a French
    /// social security (INSEE) number.
    NationalId,
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
            Self::Sid => "[sid]",
            Self::NationalId => "[national-id]",
        }
    }
}

/// A confirmed finding: bytes `start..end` of the text are replaced.
///
/// Twelve bytes: offsets are kept as `u32` (the text scanned is at most [`MAX_INPUT_BYTES`]), so
/// a line of a million findings holds a few megabytes of them, not tens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Span {
    start: u32,
    end: u32,
    pub(crate) finding: Finding,
}

impl Span {
    /// Offsets past `u32::MAX` cannot occur: every text scanned is cut to [`MAX_INPUT_BYTES`]
    /// first. They are clamped rather than trusted, so a mistake shows as a short span, not a
    /// panic.
    pub(crate) fn new(start: usize, end: usize, finding: Finding) -> Self {
        let clamp = |at: usize| u32::try_from(at).unwrap_or(u32::MAX);
        Self {
            start: clamp(start),
            end: clamp(end),
            finding,
        }
    }

    pub(crate) fn start(&self) -> usize {
        self.start as usize
    }

    pub(crate) fn end(&self) -> usize {
        self.end as usize
    }
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

/// Passes after which a line (or the stretch of a long line being rescanned, see
/// [`RESCAN_REACH`]) that still changes is replaced whole by [`REDACTED`]; in practice
/// the second pass finds nothing, and only crafted input cascades further.
const MAX_PASSES: usize = 16;

/// Replaces a line that could not be scrubbed to a fixpoint.
pub const REDACTED: &str = "[redacted]";

/// How far from a replacement the next pass looks for what it may have changed. Every detector
/// whose finding can cross white space reaches a bounded distance (a phone or card number's
/// groups, a key's look-back, a connection-string value with spaces: a few hundred bytes at
/// most), and what cannot cross white space is covered by widening the stretch to white space.
const RESCAN_REACH: usize = 2048;

/// The stretch of `line` to scan again after bytes `changed_start..changed_end` were changed:
/// `reach` either side ([`RESCAN_REACH`]), widened to the nearest space or tab (or the line's
/// ends), so no word is cut. A run of blanks at the far end is crossed, with the word after
/// it: a key or a flag next to the change takes the next word as its value, however many
/// blanks come between (`-password     hunter2`).
fn rescan_region(
    line: &str,
    changed_start: usize,
    changed_end: usize,
    reach: usize,
) -> Range<usize> {
    let bytes = line.as_bytes();
    let from = changed_start.saturating_sub(reach);
    let start = memchr::memrchr2(b' ', b'\t', &bytes[..from]).map_or(0, |n| n + 1);
    let to = changed_end.saturating_add(reach).min(bytes.len());
    let word_end =
        |at: usize| memchr::memchr2(b' ', b'\t', &bytes[at..]).map_or(bytes.len(), |n| at + n);
    let mut end = word_end(to);
    if end > to && end < bytes.len() {
        // `to` fell inside a word: the blanks after it are not the run to cross.
        return start..end;
    }
    // `to` fell on a blank: cross the run and take the word after it.
    while end < bytes.len() && matches!(bytes[end], b' ' | b'\t') {
        end += 1;
    }
    end = word_end(end);
    start..end
}

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

/// A literal of `min` to [`MAX_LITERAL_BYTES`] bytes that is not a generic account name.
fn distinctive(value: &str, min: usize) -> bool {
    (min..=MAX_LITERAL_BYTES).contains(&value.len())
        && !GENERIC_ACCOUNTS.contains(&value.to_ascii_lowercase().as_str())
}

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

    /// The user name the scrubber replaces wherever it stands as a word: this one, trimmed,
    /// unless it is too short or too long to be distinctive, or a name the same on millions of
    /// machines (`root`, `admin`, `runner`…), which would mangle ordinary words and protect no
    /// one. A caller planting this machine's name to show it scrubbed (the demo) plants a
    /// stand-in instead when this is `None`.
    pub fn matched_user_name(&self) -> Option<&str> {
        self.user_name
            .as_deref()
            .map(str::trim)
            .filter(|u| distinctive(u, 3))
    }

    /// The literals worth matching: long enough to be distinctive and not generic account names.
    fn patterns(&self) -> Vec<(String, Finding)> {
        let mut out = Vec::new();
        let useful = |v: &str, min: usize| distinctive(v.trim(), min);
        // The length is that of the folder as matched, without its trailing separators: `////`
        // would otherwise be an empty pattern, and `/a//` one that matches `/a` anywhere.
        let home = self
            .home_dir
            .as_deref()
            .map(|h| h.trim().trim_end_matches(['/', '\\']))
            .filter(|h| (4..=MAX_LITERAL_BYTES).contains(&h.len()));
        if let Some(home) = home {
            out.push((home.to_owned(), Finding::Home));
        }
        if let Some(user) = self.matched_user_name() {
            out.push((user.to_owned(), Finding::User));
        }
        if let Some(host) = self.host_name.as_deref().filter(|h| useful(h, 3)) {
            out.push((host.trim().to_owned(), Finding::Host));
        }
        out
    }
}

/// The part of a text a pass of [`Scrubber::scrub_into`] works on: `focus` is where findings
/// count, `cut` says which ends of the text are cuts inside a line rather than its ends.
struct Stretch {
    focus: Range<usize>,
    cut: [bool; 2],
}

impl Stretch {
    /// All of `text`, which is no cut stretch of a line.
    fn whole(text: &str) -> Self {
        Self {
            focus: 0..text.len(),
            cut: [false; 2],
        }
    }
}

/// The scrubber: built once, used from any thread.
#[derive(Debug, Clone)]
pub struct Scrubber {
    search: TriggerSearch,
    triggers: Vec<literal::Trigger>,
    /// The form of the byte scans this CPU runs best (the same findings from each).
    kernel: Kernel,
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
        Self::with_kernel(machine, Kernel::detect())
    }

    /// [`Scrubber::new`], with the byte scans in the form `kernel` (the tests compare them).
    pub(crate) fn with_kernel(machine: &MachineLiterals, kernel: Kernel) -> Self {
        let mut patterns = Vec::new();
        let mut triggers = Vec::new();
        for (pattern, trigger) in literal::builtin_triggers() {
            patterns.push(pattern);
            triggers.push(trigger);
        }
        let builtin = patterns.len();
        for (value, finding) in machine.patterns() {
            patterns.push(trigger::Pattern::plain(value));
            triggers.push(literal::Trigger::Literal(finding));
        }
        let search = match TriggerSearch::new(&patterns, kernel) {
            Some(search) => search,
            None => {
                // Only the machine's literals can make a build fail (they are capped in length,
                // so this is not expected); without them the scrubber still does its job.
                patterns.truncate(builtin);
                triggers.truncate(builtin);
                TriggerSearch::new(&patterns, kernel)
                    .expect("the built-in trigger set always builds (tested)")
            }
        };
        Self {
            search,
            triggers,
            kernel,
        }
    }

    /// Scrubs `text`, with no length limit beyond [`MAX_INPUT_BYTES`].
    pub fn scrub(&self, text: &str) -> String {
        self.scrub_limited(text, MAX_INPUT_BYTES)
    }

    /// Scrubs `text` and cuts the result to at most `max_len` bytes, ending with
    /// [`TRUNCATION_MARKER`] when it was cut. Control characters (other than newline and tab)
    /// and bidirectional-override characters are removed.
    ///
    /// A cut never keeps part of a secret. Text longer than the limit (and a margin) is scanned
    /// past the place it is cut (`text::prepare`), so a secret that straddles that place is
    /// seen whole; the result keeps what lies before the place, a straddling secret only as its
    /// token, and nothing after it. The result is then cut to `max_len`, which cuts scrubbed
    /// text only.
    pub fn scrub_limited(&self, text: &str, max_len: usize) -> String {
        let prepared = text::prepare(text, max_len, self.kernel);
        let mut scrubbed = String::with_capacity(prepared.text.len());
        let mut keep_end = prepared.cut.then_some(prepared.keep);
        // The whole text is no cut stretch, so nothing can run into a cut.
        let whole = self.scrub_into(
            &prepared.text,
            MAX_PASSES,
            Stretch::whole(&prepared.text),
            RESCAN_REACH,
            &mut keep_end,
            &mut scrubbed,
        );
        debug_assert!(whole);
        if let Some(end) = keep_end {
            scrubbed.truncate(end);
        }
        text::finish(scrubbed, max_len, prepared.cut)
    }

    /// Scrubs bytes that may not be UTF-8: invalid sequences become U+FFFD first.
    pub fn scrub_bytes(&self, bytes: &[u8], max_len: usize) -> String {
        self.scrub_limited(&String::from_utf8_lossy(bytes), max_len)
    }

    /// Scrubs until a pass changes nothing, appending the result to `out`.
    ///
    /// A replacement can change what a detector sees next to it (a domain that ran into a PEM
    /// header ends at the token instead), so what a pass changed is scrubbed again: the lines
    /// it changed (after the first pass no finding crosses a line; PEM blocks, the one kind
    /// that does, are tokens by then), and of a long line only the stretch from
    /// [`RESCAN_REACH`] before its first replacement to as far after its last, widened to
    /// white space (see [`rescan_region`]). Each pass that changes anything replaces letters or
    /// digits by a token, so this ends; clean text costs a single pass and one copy, unchanged
    /// text is copied once, straight from the input, and a line of a megabyte with one finding
    /// at its end is read twice only near that end.
    ///
    /// `focus` is the part of `text` whose findings count: the rest was already scrubbed with
    /// more context than `text` has, and a finding there can only be an artefact of the cut.
    ///
    /// `cut` says which ends of `text` are cuts inside a line rather than its ends. A finding
    /// that reaches a cut (a quoted value left open, a config line's value: both run to the
    /// line's end) may go on past it, so then nothing is appended and this returns false; the
    /// nearest caller whose line is whole scans that line again whole, as if `reach` were
    /// unbounded.
    #[must_use]
    fn scrub_into(
        &self,
        text: &str,
        passes_left: usize,
        stretch: Stretch,
        reach: usize,
        anchor: &mut Option<usize>,
        out: &mut String,
    ) -> bool {
        let Stretch { focus, cut } = stretch;
        let mut spans = self.find(text);
        spans.retain(|s| s.end() > focus.start && s.start() < focus.end);
        if spans
            .iter()
            .any(|s| cut[0] && s.start() == 0 || cut[1] && s.end() == text.len())
        {
            return false;
        }
        let entered_with = out.len();
        if spans.is_empty() {
            *anchor = anchor.map(|a| entered_with + a);
            out.push_str(text);
            return true;
        }
        if passes_left == 0 {
            // Still changing after every pass allowed: what is left cannot be shown to be clean,
            // so none of it is kept.
            out.push_str(REDACTED);
            *anchor = anchor.map(|_| out.len());
            return true;
        }
        // The anchor, while it is a position in `text` still to be placed.
        let mut pending = anchor.take();
        let bytes = text.as_bytes();
        let line_end_after =
            |at: usize| memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |n| at + n);
        let mut line = String::new();
        let mut copied = 0;
        let mut first = 0;
        while first < spans.len() {
            // The lines holding this span, and every later span that starts in them. The search
            // for the start stops where the last group ended, and one for the end is made only
            // when a span reaches past the end found so far, so each byte is looked at a bounded
            // number of times however many spans a line holds.
            let start = spans[first].start();
            let line_start =
                memchr::memrchr(b'\n', &bytes[copied..start]).map_or(copied, |n| copied + n + 1);
            let mut line_end = line_end_after(spans[first].end());
            let mut last = first + 1;
            while last < spans.len() && spans[last].start() <= line_end {
                if spans[last].end() > line_end {
                    line_end = line_end_after(spans[last].end());
                }
                last += 1;
            }
            if let Some(a) = pending.filter(|a| *a < line_start) {
                *anchor = Some(out.len() + a - copied);
                pending = None;
            }
            out.push_str(&text[copied..line_start]);
            line.clear();
            apply(text, line_start, line_end, &spans[first..last], &mut line);
            // Where the anchor lies in the new line, if in this one.
            let mut line_anchor = pending
                .filter(|a| *a < line_end)
                .map(|a| position_after(a, line_start, &spans[first..last]));
            if line_anchor.is_some() {
                pending = None;
            }
            // Where the replacements lie in the new line: from the first token's start to the
            // last token's end.
            let changed_start = start - line_start;
            let changed_end = line.len() - (line_end - spans[last - 1].end());
            let region = rescan_region(&line, changed_start, changed_end, reach);
            let focus = changed_start.saturating_sub(reach / 2).max(region.start) - region.start
                ..region.end - region.start;
            // Where this line is cut: at the region's ends, or where `text` itself was cut.
            let line_cut = [cut[0] && line_start == 0, cut[1] && line_end == text.len()];
            let region_cut = [
                line_cut[0] || region.start > 0,
                line_cut[1] || region.end < line.len(),
            ];
            let before = out.len();
            out.push_str(&line[..region.start]);
            // The anchor in the region's terms, or placed before or after it.
            let mut region_anchor = None;
            match line_anchor {
                Some(a) if a < region.start => *anchor = Some(before + a),
                Some(a) if a < region.end => region_anchor = Some(a - region.start),
                _ => {}
            }
            if self.scrub_into(
                &line[region.clone()],
                passes_left - 1,
                Stretch {
                    focus,
                    cut: region_cut,
                },
                reach,
                &mut region_anchor,
                out,
            ) {
                if region_anchor.is_some() {
                    *anchor = region_anchor;
                } else if let Some(a) = line_anchor.filter(|a| *a >= region.end) {
                    *anchor = Some(out.len() + a - region.end);
                }
                out.push_str(&line[region.end..]);
            } else if line_cut == [false; 2] {
                // A finding ran into a cut: this line is whole, so scan all of it again.
                out.truncate(before);
                let whole = self.scrub_into(
                    &line,
                    passes_left - 1,
                    Stretch::whole(&line),
                    usize::MAX,
                    &mut line_anchor,
                    out,
                );
                debug_assert!(whole);
                if line_anchor.is_some() {
                    *anchor = line_anchor;
                }
            } else {
                out.truncate(entered_with);
                return false;
            }
            copied = line_end;
            first = last;
        }
        if let Some(a) = pending {
            *anchor = Some(out.len() + a - copied);
        }
        out.push_str(&text[copied..]);
        true
    }

    /// What would be replaced in `text`, in order, without replacing it.
    /// Like [`Scrubber::scrub`], it looks at no more than the first [`MAX_INPUT_BYTES`].
    pub fn findings(&self, text: &str) -> Vec<(Finding, String)> {
        let text = &text[..text::floor_char_boundary(text, MAX_INPUT_BYTES)];
        self.find(text)
            .into_iter()
            .map(|s| (s.finding, text[s.start()..s.end()].to_owned()))
            .collect()
    }

    fn find(&self, text: &str) -> Vec<Span> {
        let mut spans = Vec::new();
        let non_ascii = self.find_unmerged(text, &mut spans);
        // Full-width forms and other scripts' digits are read as the ASCII they stand for.
        if let Some(folded) = non_ascii.then(|| fold::fold(text)).flatten() {
            let from = spans.len();
            self.find_unmerged(&folded.text, &mut spans);
            for span in &mut spans[from..] {
                *span = Span::new(
                    folded.original(span.start()),
                    folded.original(span.end()),
                    span.finding,
                );
            }
        }
        merge(spans)
    }

    /// The spans in `text`, added to `spans` unmerged; true when `text` holds a byte outside
    /// ASCII.
    fn find_unmerged(&self, text: &str, spans: &mut Vec<Span>) -> bool {
        let from = spans.len();
        literal::find(&self.search, &self.triggers, text, spans);
        let non_ascii = blocks::find(text, spans, self.kernel);
        // A replacement token found by another detector (`/home/[pem]`) stays as it is, so
        // scrubbing scrubbed text changes nothing.
        let mut at = from;
        while at < spans.len() {
            // A validator's bounded look-ahead may stop inside a character: the span takes it
            // whole.
            let span = spans[at];
            if !text.is_char_boundary(span.start()) || !text.is_char_boundary(span.end()) {
                spans[at] = Span::new(
                    text::floor_char_boundary(text, span.start()),
                    text::ceil_char_boundary(text, span.end()),
                    span.finding,
                );
            }
            if is_already_scrubbed(&text[spans[at].start()..spans[at].end()]) {
                spans.swap_remove(at);
            } else {
                at += 1;
            }
        }
        non_ascii
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
    Finding::Sid,
    Finding::NationalId,
];

/// Every text a replacement leaves: the findings' tokens and [`REDACTED`].
pub(crate) fn replacement_tokens() -> impl Iterator<Item = &'static str> {
    std::iter::once(REDACTED).chain(ALL_FINDINGS.iter().map(|f| f.token()))
}

/// The length of the replacement token `bytes` starts with, if it starts with one.
pub(crate) fn leading_token_len(bytes: &[u8]) -> Option<usize> {
    if bytes.first() != Some(&b'[') {
        return None;
    }
    replacement_tokens()
        .find(|token| bytes.starts_with(token.as_bytes()))
        .map(str::len)
}

/// True for text made of replacement tokens and punctuation only (`[secret]`, `[secret]@`):
/// what a previous pass left, with nothing in it left to hide. Read once from the left,
/// without allocating: it runs on every finding of every pass.
fn is_already_scrubbed(text: &str) -> bool {
    if !text.contains('[') {
        return false;
    }
    let mut any = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '[' {
            if let Some(len) = leading_token_len(rest.as_bytes()) {
                any = true;
                rest = &rest[len..];
                continue;
            }
        } else if c.is_alphanumeric() {
            return false;
        }
        rest = &rest[c.len_utf8()..];
    }
    any
}

/// Sorts spans and unites overlapping ones; the earliest (then longest) finding names a union.
/// Done in place: the list may be as long as the text has findings.
fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|s| s.start < s.end);
    spans.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut kept = 0;
    for i in 0..spans.len() {
        let span = spans[i];
        // Touching spans merge too: `[secret][credentials]` says no more than `[secret]`.
        if kept > 0 && span.start <= spans[kept - 1].end {
            spans[kept - 1].end = spans[kept - 1].end.max(span.end);
        } else {
            spans[kept] = span;
            kept += 1;
        }
    }
    spans.truncate(kept);
    spans
}

/// Where position `at` of a text (from `from`, with `spans` replaced as [`apply`] writes it)
/// lies in what is written: inside a span, just after its token, so that what comes before
/// holds the whole token.
fn position_after(at: usize, from: usize, spans: &[Span]) -> usize {
    let mut written = 0;
    let mut read = from;
    for span in spans {
        if at <= span.start() {
            break;
        }
        written += span.start() - read + span.finding.token().len();
        read = span.end();
        if at < span.end() {
            return written;
        }
    }
    written + at - read
}

/// Writes `text[from..to]` to `out` with the spans (which lie inside it, in order) replaced.
fn apply(text: &str, from: usize, to: usize, spans: &[Span], out: &mut String) {
    let mut at = from;
    for span in spans {
        out.push_str(&text[at..span.start()]);
        out.push_str(span.finding.token());
        at = span.end();
    }
    out.push_str(&text[at..to]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Scrubs `text` rescanning whole lines after each pass, the reference the region rescans
    /// must agree with.
    fn scrub_rescanning_whole_lines(scrubber: &Scrubber, text: &str) -> String {
        let mut out = String::new();
        let whole = scrubber.scrub_into(
            text,
            MAX_PASSES,
            Stretch::whole(text),
            usize::MAX,
            &mut None,
            &mut out,
        );
        assert!(whole);
        out
    }

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z]{1,10}",
            "[0-9]{1,5}",
            "[ .:@=/\\\\?&\"-]",
            Just("::".to_owned()),
            Just("://".to_owned()),
            Just("password".to_owned()),
            Just("Bearer ".to_owned()),
            Just("/home/".to_owned()),
            Just("-----BEGIN ".to_owned()),
            Just("eyJ".to_owned()),
            Just("4111 1111 1111 1111".to_owned()),
            Just("10.0.0.1".to_owned()),
            Just("jane@example.com".to_owned()),
            Just("\n".to_owned()),
            // Pieces of a cascade the fuzzer found: each replacement exposes another finding.
            Just("@@IpI+".to_owned()),
            Just("::7:4-@".to_owned()),
            Just(".ml".to_owned()),
            Just("lorem ipsum dolor sit amet ".repeat(100)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn rescanning_near_changes_finds_what_rescanning_whole_lines_finds(
            pieces in prop::collection::vec(piece(), 0..40)
        ) {
            let text = pieces.concat();
            let scrubber = Scrubber::default();
            let expected = scrub_rescanning_whole_lines(&scrubber, &text);
            prop_assert_eq!(scrubber.scrub(&text), expected);
        }
    }

    /// Long fillers (words, blanks, one long word) move findings across the edges of the
    /// rescanned stretch; the pieces include the cascades found in review.
    fn long_line_piece() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z]{1,6}",
            "[0-9]{1,5}",
            "[ .:@=/\\\\?&\"';,{}()<>\\[\\]-]",
            Just(" ".to_owned()),
            Just("\t".to_owned()),
            Just("password".to_owned()),
            Just("password: ".to_owned()),
            Just("Password=".to_owned()),
            Just("token=\"".to_owned()),
            Just("Bearer ".to_owned()),
            Just("Authorization: Bearer ".to_owned()),
            Just("/home/".to_owned()),
            Just("tel ".to_owned()),
            Just("mysql -u root -p".to_owned()),
            Just("-password".to_owned()),
            Just("mysql ".to_owned()),
            Just(" -p".to_owned()),
            Just("-u".to_owned()),
            Just("4111 1111 1111 1111".to_owned()),
            Just("020 7946 0958".to_owned()),
            Just("+44 20 7946 0958".to_owned()),
            Just("DE76 0034 3923 9571 0159 26".to_owned()),
            Just("512-84-3301".to_owned()),
            Just("10.0.0.1".to_owned()),
            Just("jane@example.com".to_owned()),
            Just("%2540".to_owned()),
            Just("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl".to_owned()),
            Just("0x195bcfb809fec3922a29feed700ed6f21e33e11b".to_owned()),
            Just("sk_live_51HqLmNoPqRsTuVwXyZ0123456789".to_owned()),
            Just("CORP\\jdoe".to_owned()),
            Just("for user '".to_owned()),
            Just("S-1-5-21-1004336348-1177238915-682003330-1001".to_owned()),
            Just("\\\\fs01\\home$\\".to_owned()),
            Just("CN=Jane Doe,OU=Staff,DC=corp".to_owned()),
            Just("DESKTOP-7KQ2M9X".to_owned()),
            Just("jsmith-laptop".to_owned()),
            Just("~jdoe/a/b".to_owned()),
            Just("LICENSE_KEY=".to_owned()),
            Just("machine h login u password ".to_owned()),
            Just("the password is ".to_owned()),
            Just("credentials: ".to_owned()),
            Just(" / ".to_owned()),
            Just("512 84 3301".to_owned()),
            Just("138 0013 8000".to_owned()),
            Just("8 (495) 123-45-67".to_owned()),
            Just("4111.1111.1111.1111".to_owned()),
            Just("@@IpI+".to_owned()),
            Just("::7:4-@".to_owned()),
            Just(".ml".to_owned()),
            Just("\n".to_owned()),
            (1usize..700).prop_map(|n| "ab ".repeat(n)),
            (1usize..3000).prop_map(|n| "x".repeat(n)),
            (1usize..1500).prop_map(|n| " ".repeat(n)),
            (1usize..600).prop_map(|n| "1 ".repeat(n)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn rescanning_near_changes_agrees_on_long_lines_blanks_and_cascades(
            pieces in prop::collection::vec(long_line_piece(), 0..30)
        ) {
            let text = pieces.concat();
            let s = Scrubber::default();
            let expected = scrub_rescanning_whole_lines(&s, &text);
            let got = s.scrub(&text);
            prop_assert_eq!(&got, &expected);
            prop_assert_eq!(s.scrub(&got), got);
        }
    }

    /// A scrubber per kernel this machine runs (see `kernel`), with machine literals, the
    /// scalar one first.
    fn one_per_kernel() -> Vec<Scrubber> {
        let machine = MachineLiterals {
            user_name: Some("jdoe".into()),
            home_dir: Some("/home/jdoe".into()),
            host_name: Some("buildhost-17".into()),
        };
        Kernel::all()
            .into_iter()
            .map(|kernel| Scrubber::with_kernel(&machine, kernel))
            .collect()
    }

    /// Every kernel's scrubber gives `text` the same output as the scalar one, whole and cut
    /// to `limit`.
    fn assert_kernels_agree(scrubbers: &[Scrubber], text: &str, limit: usize) {
        let (scalar, vector) = scrubbers.split_first().expect("the scalar kernel");
        let whole = scalar.scrub(text);
        let cut = scalar.scrub_limited(text, limit);
        for other in vector {
            assert_eq!(other.scrub(text), whole, "{:?} on {text:?}", other.kernel);
            assert_eq!(
                other.scrub_limited(text, limit),
                cut,
                "{:?} on {text:?} cut to {limit}",
                other.kernel
            );
        }
    }

    #[test]
    fn this_machine_tests_every_kernel() {
        // The tests below compare the kernels; on an x86-64 CPU without AVX2 they would compare
        // the scalar one with itself, and say nothing about the vector one.
        if cfg!(target_arch = "x86_64") {
            assert_eq!(
                one_per_kernel().len(),
                2,
                "this x86-64 CPU runs no AVX2: the AVX2 kernel goes untested here"
            );
        }
    }

    /// A `.netrc` entry whose password value a first pass replaces together with the words
    /// after it (a number read as an SSN): a second pass must not pair the words that follow
    /// anew and take a later `password is` for a value. Found by the property test below, about
    /// once in 30 000 cases.
    #[test]
    fn a_netrc_entry_reads_the_same_after_a_replacement_joined_its_words() {
        let s = Scrubber::default();
        for text in [
            " / machine h login u password \n512 84 3301@@IpI+the password is ",
            "machine db.example login u password 512 84 3301 then password is",
        ] {
            let once = s.scrub(text);
            assert_eq!(s.scrub(&once), once, "{text:?}");
            assert_eq!(once, scrub_rescanning_whole_lines(&s, text), "{text:?}");
            assert!(
                once.ends_with("password is ") || once.ends_with("password is"),
                "{once}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        /// Log-like text with every detector's triggers, at every alignment to the blocks and
        /// steps of the vector scans.
        #[test]
        fn every_kernel_scrubs_log_text_alike(
            pieces in prop::collection::vec(long_line_piece(), 0..30),
            shift in 0usize..70,
            limit in 0usize..4000,
        ) {
            let text = format!("{}{}", "x".repeat(shift), pieces.concat());
            assert_kernels_agree(&one_per_kernel(), &text, limit);
        }

        #[test]
        fn every_kernel_scrubs_arbitrary_text_alike(
            text in any::<String>(),
            bytes in prop::collection::vec(any::<u8>(), 0..700),
            limit in 0usize..300,
        ) {
            let scrubbers = one_per_kernel();
            assert_kernels_agree(&scrubbers, &text, limit);
            let lossy = String::from_utf8_lossy(&bytes);
            assert_kernels_agree(&scrubbers, &lossy, limit);
        }
    }

    /// The shapes that once made a scrubber quadratic (`benches/scrub_adversarial.rs`), and
    /// long runs around the edges of blocks, repeated to lengths around those edges.
    #[test]
    fn every_kernel_scrubs_repeated_shapes_alike() {
        let scrubbers = one_per_kernel();
        let shapes = [
            "10.0.0.1 ",
            "user@",
            "http://u:p@",
            "a.b@example.com ",
            "eyJhbGciOi.",
            "AKIA",
            "password=",
            "token=\"",
            "/home/",
            "\\\\a\\",
            "Bearer ",
            "1:",
            "aa-",
            "4111 ",
            "-----BEGIN ",
            "deadbeef",
            "Zm9vYmFy+/",
            "x%40",
            "mysql -pS3 ",
            "A\\",
            "S-1-5-21-1-",
            "CN=a,",
            "DESKTOP-",
            "~ab/",
            "key=",
            "machine a login b ",
            "password is ",
            "tskey-",
            "123 45 ",
            "de89 ",
            "tel 12 ",
            "\u{ff14}\u{ff11}\u{ff11}\u{ff11} ",
            "pass\u{200b}word=",
            "aB3xK9pQ2mZ7vR4tW8yL1nC6",
            "abcdefghijklmn",
            "abcdefghijklm7",
            "0123456789abcdefghij ",
            "x",
        ];
        for shape in shapes {
            for len in [
                1, 13, 14, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000, 1024, 3000,
            ] {
                let text: String = shape.chars().cycle().take(len).collect();
                assert_kernels_agree(&scrubbers, &text, len / 2);
            }
        }
    }

    #[test]
    fn a_change_at_the_end_of_a_long_line_is_rescanned_near_it() {
        let line = format!("{}4111 1111 1111 1111", "lorem ipsum ".repeat(2000));
        let region = rescan_region(&line, line.len() - 6, line.len(), RESCAN_REACH);
        assert!(region.start > line.len() - 6 - RESCAN_REACH - 12);
        assert!(region.start <= line.len() - 6 - RESCAN_REACH);
        assert_eq!(&line[region.start - 1..region.start], " ");
        assert_eq!(region.end, line.len());
        // No word is cut: a region that would start inside a word starts before it.
        let word = format!("head {} tail", "x".repeat(5000));
        assert_eq!(rescan_region(&word, 4000, 4001, 100), 5..5005);
    }

    #[test]
    fn a_home_folder_of_separators_or_a_short_name_is_no_literal() {
        for home in ["////", "/a//", "\\\\", "/ab/"] {
            let machine = MachineLiterals {
                home_dir: Some(home.to_owned()),
                ..MachineLiterals::default()
            };
            assert!(machine.patterns().is_empty(), "{home}");
            let scrubber = Scrubber::new(&machine);
            assert_eq!(scrubber.scrub("see /a/b and /ab/c"), "see /a/b and /ab/c");
        }
        let machine = MachineLiterals {
            home_dir: Some("/home/jdoe///".to_owned()),
            ..MachineLiterals::default()
        };
        assert_eq!(
            machine.patterns(),
            vec![("/home/jdoe".to_owned(), Finding::Home)]
        );
    }

    #[test]
    fn the_built_in_trigger_set_builds() {
        let patterns: Vec<trigger::Pattern> = literal::builtin_triggers()
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert!(TriggerSearch::new(&patterns, Kernel::Scalar).is_some());
    }

    #[test]
    fn only_tokens_and_punctuation_count_as_already_scrubbed() {
        for scrubbed in [
            "[secret]",
            "[secret]@",
            "[user]@[host]",
            "\"[redacted]\"",
            "[ip]:[ip]",
        ] {
            assert!(is_already_scrubbed(scrubbed), "{scrubbed}");
        }
        for not in [
            "",
            "@",
            "[x]",
            "[secret]x",
            "a[secret]",
            "[secret]é",
            "[secret]١",
            "[[ip]email]",
            "[secret",
            "user@example.com",
            // Letters around a token are not a token, even where taking the inner token out
            // would leave one (a change from the first reading, which took tokens out kind by
            // kind: this reads from the left, and scrubs such a value).
            "[to[mac]ken]",
            "[u[ip]ser]",
            "[se[ip]cret]",
        ] {
            assert!(!is_already_scrubbed(not), "{not}");
        }
        let scrubber = Scrubber::default();
        for (text, scrubbed) in [
            ("password=[to[mac]ken]", "password=[secret]"),
            ("pwd:[u[ip]ser]", "pwd:[secret]"),
            ("C:\\Users\\[se[ip]cret]", "C:\\Users\\[user]"),
            ("password=[secret]", "password=[secret]"),
        ] {
            assert_eq!(scrubber.scrub(text), scrubbed, "{text}");
        }
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
            (merged[0].start(), merged[0].end(), merged[0].finding),
            (0, 10, Finding::Email)
        );
    }
}
