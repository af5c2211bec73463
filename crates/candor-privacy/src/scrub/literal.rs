//! Findings that start at a literal: each trigger the automaton reports is confirmed (or not)
//! by a validator that looks at the bytes around it.
//!
//! Validators only ever stop at ASCII bytes, so every span they produce lies on character
//! boundaries. Scans that could be repeated for each trigger are bounded in length, and a
//! trigger inside a span already found is skipped, so the work stays linear in the text.

use aho_corasick::AhoCorasick;

use super::{Finding, Span};

/// What a pattern may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    At,
    Url,
    Bearer,
    Jwt,
    Aws,
    GitHub,
    GitHubPat,
    Slack,
    Google,
    Pem,
    UsersDir,
    HomeDir,
    Unc,
    SecretKey,
    UserKey,
    Literal(Finding),
}

/// The built-in patterns, matched ignoring ASCII case.
pub(crate) const TRIGGERS: &[(&str, Trigger)] = &[
    ("@", Trigger::At),
    ("://", Trigger::Url),
    ("bearer ", Trigger::Bearer),
    ("eyj", Trigger::Jwt),
    ("akia", Trigger::Aws),
    ("asia", Trigger::Aws),
    ("ghp_", Trigger::GitHub),
    ("gho_", Trigger::GitHub),
    ("ghu_", Trigger::GitHub),
    ("ghs_", Trigger::GitHub),
    ("ghr_", Trigger::GitHub),
    ("github_pat_", Trigger::GitHubPat),
    ("xoxa-", Trigger::Slack),
    ("xoxb-", Trigger::Slack),
    ("xoxp-", Trigger::Slack),
    ("xoxr-", Trigger::Slack),
    ("xoxs-", Trigger::Slack),
    ("aiza", Trigger::Google),
    ("-----begin ", Trigger::Pem),
    ("\\users\\", Trigger::UsersDir),
    ("/users/", Trigger::UsersDir),
    ("/home/", Trigger::HomeDir),
    ("\\\\", Trigger::Unc),
    ("password", Trigger::SecretKey),
    ("passwd", Trigger::SecretKey),
    ("pwd", Trigger::SecretKey),
    ("secret", Trigger::SecretKey),
    ("token", Trigger::SecretKey),
    ("apikey", Trigger::SecretKey),
    ("api_key", Trigger::SecretKey),
    ("api-key", Trigger::SecretKey),
    ("api key", Trigger::SecretKey),
    ("accountkey", Trigger::SecretKey),
    ("sharedaccesskey", Trigger::SecretKey),
    ("sharedaccesssignature", Trigger::SecretKey),
    ("privatekey", Trigger::SecretKey),
    ("private_key", Trigger::SecretKey),
    ("private-key", Trigger::SecretKey),
    ("credential", Trigger::SecretKey),
    ("authorization", Trigger::SecretKey),
    ("accesskey", Trigger::SecretKey),
    ("access_key", Trigger::SecretKey),
    ("user id", Trigger::UserKey),
    ("user name", Trigger::UserKey),
    ("user", Trigger::UserKey),
    ("uid", Trigger::UserKey),
    ("login", Trigger::UserKey),
];

/// Words that make a key's value secret, matched inside the key with `_`, `-`, `.` and spaces
/// removed (`client_secret`, `DB_PASSWORD`, `x-api-key`, `AccountKey`).
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "accountkey",
    "sharedaccesskey",
    "sharedaccesssignature",
    "privatekey",
    "credential",
    "authorization",
    "accesskey",
];

/// Keys whose value is a user name, compared whole after normalisation.
const USER_KEYS: &[&str] = &[
    "userid",
    "uid",
    "username",
    "user",
    "login",
    "userprincipalname",
    "upn",
];

/// URL query parameters whose value is secret, compared whole (lower case).
const URL_SECRET_PARAMS: &[&str] = &[
    "code",
    "sig",
    "signature",
    "key",
    "auth",
    "session",
    "sessionid",
    "sid",
    "jwt",
    "ticket",
    "st",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "x-goog-signature",
    "x-goog-credential",
];

/// Folder names under `Users` or `home` that belong to nobody in particular.
const SHARED_FOLDERS: &[&str] = &["public", "default", "default user", "all users", "shared"];

/// Longest key name considered (`--azure-storage-account-key` fits).
const MAX_KEY: usize = 64;

pub(crate) fn find(
    automaton: &AhoCorasick,
    triggers: &[Trigger],
    text: &str,
    spans: &mut Vec<Span>,
) {
    let bytes = text.as_bytes();
    // The span reaching furthest so far, as (start, end).
    let mut covered = (0, 0);
    let mut pem_unterminated = false;
    for m in automaton.find_overlapping_iter(text) {
        // A trigger wholly inside a span already found adds nothing (and re-scanning a long
        // value for each trigger inside it would be quadratic); one reaching past it may.
        if m.start() >= covered.0 && m.end() <= covered.1 {
            continue;
        }
        let before = spans.len();
        let (start, end) = (m.start(), m.end());
        match triggers[m.pattern().as_usize()] {
            Trigger::At => at_sign(bytes, start, spans),
            Trigger::Url => url(bytes, start, spans),
            Trigger::Bearer => bearer(bytes, start, end, spans),
            Trigger::Jwt => jwt(bytes, start, spans),
            Trigger::Aws => aws(bytes, start, spans),
            Trigger::GitHub => prefixed(bytes, start, end, 30, is_alnum, spans),
            Trigger::GitHubPat => prefixed(bytes, start, end, 40, is_word, spans),
            Trigger::Slack => prefixed(bytes, start, end, 10, |b| is_alnum(b) || b == b'-', spans),
            Trigger::Google => prefixed(bytes, start, end, 30, |b| is_word(b) || b == b'-', spans),
            Trigger::Pem => pem(text, start, &mut pem_unterminated, spans),
            Trigger::UsersDir | Trigger::HomeDir => folder_owner(bytes, end, spans),
            Trigger::Unc => unc(bytes, start, spans),
            Trigger::SecretKey => key_value(bytes, start, end, KeyKind::Secret, spans),
            Trigger::UserKey => key_value(bytes, start, end, KeyKind::User, spans),
            Trigger::Literal(finding) => literal(bytes, start, end, finding, spans),
        }
        for span in &spans[before..] {
            if span.end > covered.1 {
                covered = (span.start, span.end);
            }
        }
    }
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// True when `bytes[at - 1]` does not continue a word (or `at` is the start).
fn boundary_before(bytes: &[u8], at: usize) -> bool {
    at == 0 || !is_word(bytes[at - 1])
}

fn run(bytes: &[u8], from: usize, class: impl Fn(u8) -> bool) -> usize {
    bytes[from..]
        .iter()
        .position(|b| !class(*b))
        .map_or(bytes.len(), |n| from + n)
}

/// True when a value starts with a replacement token: a previous pass already replaced it, and
/// scanning on past the token would swallow text the first pass kept.
fn starts_with_token(bytes: &[u8], at: usize) -> bool {
    bytes.get(at) == Some(&b'[')
        && (bytes[at..].starts_with(super::REDACTED.as_bytes())
            || super::ALL_FINDINGS
                .iter()
                .any(|f| bytes[at..].starts_with(f.token().as_bytes())))
}

fn push(spans: &mut Vec<Span>, start: usize, end: usize, finding: Finding) {
    if start < end {
        spans.push(Span {
            start,
            end,
            finding,
        });
    }
}

/// `name@example.com` → `[email]`; `jdoe@buildhost` → `[user]@[host]`.
fn at_sign(bytes: &[u8], at: usize, spans: &mut Vec<Span>) {
    let local_char =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-');
    let mut start = at;
    while start > 0 && at - start < 64 && local_char(bytes[start - 1]) {
        start -= 1;
    }
    if start == at || bytes[start] == b'.' {
        return;
    }
    // `scheme://user:pass@host` and `scheme://user@host` are a URL's credentials, which the URL
    // validator replaces while keeping the host; `mailto:` is the one scheme whose `user@host`
    // is an address.
    if start > 0
        && matches!(bytes[start - 1], b':' | b'/')
        && !bytes[..start].to_ascii_lowercase().ends_with(b"mailto:")
    {
        return;
    }
    let domain_char = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-';
    let mut end = at + 1;
    while end < bytes.len() && end - at <= 253 && domain_char(bytes[end]) {
        end += 1;
    }
    while end > at + 1 && matches!(bytes[end - 1], b'.' | b'-') {
        end -= 1;
    }
    let domain = &bytes[at + 1..end];
    if domain.is_empty() || !domain.iter().any(u8::is_ascii_alphabetic) {
        return;
    }
    match domain.iter().rposition(|b| *b == b'.') {
        Some(dot) => {
            let tld = &domain[dot + 1..];
            if tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic) {
                push(spans, start, end, Finding::Email);
            }
        }
        // `jdoe@buildbox`: too short a pair (`a@b`) is more likely code than a login.
        None if at - start >= 2 && end - at > 2 => {
            push(spans, start, at, Finding::User);
            push(spans, at + 1, end, Finding::Host);
        }
        None => {}
    }
}

fn url_char_ends(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'<' | b'>' | b'`')
}

/// Credentials in the authority and secret query parameters.
fn url(bytes: &[u8], sep: usize, spans: &mut Vec<Span>) {
    let scheme_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-');
    let mut scheme_start = sep;
    while scheme_start > 0 && sep - scheme_start < 32 && scheme_char(bytes[scheme_start - 1]) {
        scheme_start -= 1;
    }
    if sep - scheme_start < 2 || !bytes[scheme_start].is_ascii_alphabetic() {
        return;
    }
    let authority_start = sep + 3;
    let authority_end = bytes[authority_start..]
        .iter()
        .position(|b| url_char_ends(*b) || matches!(b, b'/' | b'?' | b'#'))
        .map_or(bytes.len(), |n| authority_start + n);
    if let Some(at) = bytes[authority_start..authority_end]
        .iter()
        .rposition(|b| *b == b'@')
    {
        push(
            spans,
            authority_start,
            authority_start + at,
            Finding::Credentials,
        );
    }
    let url_end = bytes[authority_end..]
        .iter()
        .position(|b| url_char_ends(*b))
        .map_or(bytes.len(), |n| authority_end + n);
    let Some(question) = bytes[authority_end..url_end]
        .iter()
        .position(|b| *b == b'?')
    else {
        return;
    };
    let query_start = authority_end + question + 1;
    let query_end = bytes[query_start..url_end]
        .iter()
        .position(|b| *b == b'#')
        .map_or(url_end, |n| query_start + n);
    let mut param_start = query_start;
    while param_start < query_end {
        let param_end = bytes[param_start..query_end]
            .iter()
            .position(|b| matches!(b, b'&' | b';'))
            .map_or(query_end, |n| param_start + n);
        let param = &bytes[param_start..param_end];
        if let Some(eq) = param.iter().position(|b| *b == b'=')
            && !starts_with_token(bytes, param_start + eq + 1)
        {
            let key = &param[..eq];
            if URL_SECRET_PARAMS
                .iter()
                .any(|p| key.eq_ignore_ascii_case(p.as_bytes()))
                || is_secret_key(key)
            {
                push(spans, param_start + eq + 1, param_end, Finding::Secret);
            }
        }
        param_start = param_end + 1;
    }
}

fn bearer(bytes: &[u8], start: usize, end: usize, spans: &mut Vec<Span>) {
    if !boundary_before(bytes, start) {
        return;
    }
    let token_start = run(bytes, end, |b| b == b' ');
    let token_char = |b: u8| {
        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'+' | b'/' | b'=' | b'-')
    };
    let token_end = run(bytes, token_start, token_char);
    if token_end - token_start >= 8 {
        push(spans, token_start, token_end, Finding::Token);
    }
}

/// `eyJ…` header, payload and signature, each base64url.
fn jwt(bytes: &[u8], start: usize, spans: &mut Vec<Span>) {
    if !bytes[start..].starts_with(b"eyJ") || (start > 0 && is_base64url(bytes[start - 1])) {
        return;
    }
    let header_end = run(bytes, start, is_base64url);
    if header_end - start < 10 || bytes.get(header_end) != Some(&b'.') {
        return;
    }
    let payload_end = run(bytes, header_end + 1, is_base64url);
    if payload_end - header_end < 3 || bytes.get(payload_end) != Some(&b'.') {
        return;
    }
    let signature_end = run(bytes, payload_end + 1, is_base64url);
    push(spans, start, signature_end, Finding::Jwt);
}

/// AWS access key ids: `AKIA` or `ASIA` and 16 upper-case letters or digits.
fn aws(bytes: &[u8], start: usize, spans: &mut Vec<Span>) {
    let prefix = &bytes[start..start + 4];
    if !(prefix == b"AKIA" || prefix == b"ASIA") || !boundary_before(bytes, start) {
        return;
    }
    let end = run(bytes, start + 4, |b| {
        b.is_ascii_uppercase() || b.is_ascii_digit()
    });
    if end - start == 20 && !bytes.get(end).is_some_and(|b| is_alnum(*b)) {
        push(spans, start, end, Finding::ApiKey);
    }
}

/// A token with a vendor's prefix: the prefix must be written exactly as the vendor does
/// (`ghp_`, `xoxb-`, `AIza`), followed by at least `min_body` token characters.
fn prefixed(
    bytes: &[u8],
    start: usize,
    end: usize,
    min_body: usize,
    body: impl Fn(u8) -> bool,
    spans: &mut Vec<Span>,
) {
    let prefix = &bytes[start..end];
    let exact = match prefix[0] {
        b'A' => prefix == b"AIza",
        b'g' | b'x' => prefix.iter().all(|b| !b.is_ascii_uppercase()),
        _ => false,
    };
    if !exact || !boundary_before(bytes, start) {
        return;
    }
    let token_end = run(bytes, end, body);
    if token_end - end >= min_body {
        push(spans, start, token_end, Finding::ApiKey);
    }
}

/// A PEM block, up to and including its `-----END …-----` line; to the end of the text when it
/// has none (a block cut in half is still a key).
fn pem(text: &str, start: usize, unterminated: &mut bool, spans: &mut Vec<Span>) {
    if *unterminated {
        push(spans, start, text.len(), Finding::Pem);
        return;
    }
    let end = text[start..].find("-----END ").and_then(|end_line| {
        let label = start + end_line + "-----END ".len();
        text[label..].find("-----").map(|dashes| label + dashes + 5)
    });
    match end {
        Some(end) => push(spans, start, end, Finding::Pem),
        None => {
            *unterminated = true;
            push(spans, start, text.len(), Finding::Pem);
        }
    }
}

fn path_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b'\\'
                | b'/'
                | b'"'
                | b'\''
                | b'<'
                | b'>'
                | b'|'
                | b':'
                | b';'
                | b','
                | b'('
                | b')'
                | b'`'
                | b'*'
                | b'?'
        )
}

/// The folder after `\Users\`, `/Users/` or `/home/` names a user.
fn folder_owner(bytes: &[u8], after: usize, spans: &mut Vec<Span>) {
    let start = run(bytes, after, |b| b == b'\\' || b == b'/');
    if starts_with_token(bytes, start) {
        return;
    }
    let end = run(bytes, start, |b| !path_delimiter(b));
    let name = &bytes[start..end];
    if !SHARED_FOLDERS
        .iter()
        .any(|f| name.eq_ignore_ascii_case(f.as_bytes()))
    {
        push(spans, start, end, Finding::User);
    }
}

/// `\\server\share`: the server is a host, the share often a person's name.
fn unc(bytes: &[u8], start: usize, spans: &mut Vec<Span>) {
    let opens = start == 0
        || bytes[start - 1].is_ascii_whitespace()
        || matches!(
            bytes[start - 1],
            b'"' | b'\'' | b'(' | b'=' | b'<' | b'>' | b',' | b'['
        );
    if !opens {
        return;
    }
    let server_start = start + 2;
    let server_end = run(bytes, server_start, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')
    });
    if server_end == server_start || bytes.get(server_end) != Some(&b'\\') {
        return;
    }
    push(spans, server_start, server_end, Finding::Host);
    let share_end = run(bytes, server_end + 1, |b| !path_delimiter(b));
    push(spans, server_end + 1, share_end, Finding::Share);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Secret,
    User,
}

fn is_key_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// A key in lower case without `_`, `-`, `.` and spaces, in a fixed buffer (keys are at most
/// [`MAX_KEY`] bytes), so that checking a trigger allocates nothing.
struct NormalisedKey {
    bytes: [u8; MAX_KEY],
    len: usize,
}

impl NormalisedKey {
    fn new(key: &[u8]) -> Self {
        let mut bytes = [0u8; MAX_KEY];
        let mut len = 0;
        for b in key
            .iter()
            .filter(|b| !matches!(b, b'_' | b'-' | b'.' | b' '))
            .take(MAX_KEY)
        {
            bytes[len] = b.to_ascii_lowercase();
            len += 1;
        }
        Self { bytes, len }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn contains(&self, word: &str) -> bool {
        memchr::memmem::find(self.as_bytes(), word.as_bytes()).is_some()
    }

    fn is(&self, word: &str) -> bool {
        self.as_bytes() == word.as_bytes()
    }

    /// Names a secret: contains a secret word, and is not the secret's name (`secretName`).
    fn is_secret(&self) -> bool {
        SECRET_WORDS.iter().any(|w| self.contains(w)) && !self.as_bytes().ends_with(b"name")
    }
}

fn is_secret_key(key: &[u8]) -> bool {
    NormalisedKey::new(key).is_secret()
}

/// `password=…`, `"token": "…"`, `Pwd=…;`, `--client-secret …`, `User ID=…`.
fn key_value(bytes: &[u8], start: usize, end: usize, kind: KeyKind, spans: &mut Vec<Span>) {
    let mut key_start = start;
    while key_start > 0 && end - key_start < MAX_KEY && is_key_char(bytes[key_start - 1]) {
        key_start -= 1;
    }
    let mut key_end = end;
    while key_end < bytes.len() && key_end - key_start < MAX_KEY && is_key_char(bytes[key_end]) {
        key_end += 1;
    }
    if key_end - key_start >= MAX_KEY {
        return;
    }
    let key = &bytes[key_start..key_end];
    let normalised = NormalisedKey::new(key);
    let matches = match kind {
        // `SharedAccessKeyName`, `secretName`: the name of a secret is not the secret.
        KeyKind::Secret => normalised.is_secret(),
        KeyKind::User => USER_KEYS.iter().any(|k| normalised.is(k)),
    };
    if !matches {
        return;
    }
    let mut at = key_end;
    if matches!(bytes.get(at), Some(b'"' | b'\'')) {
        at += 1;
    }
    let after_key = at;
    at = run(bytes, at, |b| b == b' ' || b == b'\t');
    let value_start = match bytes.get(at) {
        Some(b'=' | b':') => run(bytes, at + 1, |b| b == b' ' || b == b'\t'),
        // A command-line flag (`--password hunter2`) takes the next word as its value.
        Some(&b) if key[0] == b'-' && at > after_key && b != b'-' && !b.is_ascii_whitespace() => at,
        _ => return,
    };
    let Some(&first) = bytes.get(value_start) else {
        return;
    };
    if starts_with_token(bytes, value_start)
        || starts_with_token(bytes, value_start + 1) && matches!(first, b'"' | b'\'')
    {
        return;
    }
    let (value_start, value_end) = if first == b'"' || first == b'\'' {
        let inner = value_start + 1;
        let close = bytes[inner..]
            .iter()
            .position(|b| *b == first || *b == b'\n')
            .map_or(bytes.len(), |n| inner + n);
        (inner, close)
    } else {
        let end = run(bytes, value_start, |b| {
            !(b.is_ascii_whitespace()
                || matches!(
                    b,
                    b';' | b'&' | b',' | b'"' | b'\'' | b'<' | b'>' | b')' | b'}'
                ))
        });
        (value_start, end)
    };
    // `Authorization: Bearer abc…` — the scheme word is not the secret; the word after it is.
    let value_end = if kind == KeyKind::Secret && normalised.contains("authorization") {
        let scheme = &bytes[value_start..value_end];
        let is_scheme = ["bearer", "basic", "digest", "negotiate", "token"]
            .iter()
            .any(|s| scheme.eq_ignore_ascii_case(s.as_bytes()));
        if is_scheme && bytes.get(value_end) == Some(&b' ') {
            let credential_start = run(bytes, value_end, |b| b == b' ');
            let credential_end = run(bytes, credential_start, |b| {
                !b.is_ascii_whitespace() && b != b'"' && b != b'\''
            });
            push(spans, credential_start, credential_end, Finding::Secret);
            return;
        }
        value_end
    } else {
        value_end
    };
    let finding = match kind {
        KeyKind::Secret => Finding::Secret,
        KeyKind::User => Finding::User,
    };
    push(spans, value_start, value_end, finding);
}

/// This machine's own user name or host name as a whole word, or its home folder as a path
/// prefix.
fn literal(bytes: &[u8], start: usize, end: usize, finding: Finding, spans: &mut Vec<Span>) {
    let whole = match finding {
        Finding::Home => bytes.get(end).is_none_or(|b| path_delimiter(*b)),
        _ => boundary_before(bytes, start) && bytes.get(end).is_none_or(|b| !is_word(*b)),
    };
    if whole {
        push(spans, start, end, finding);
    }
}
