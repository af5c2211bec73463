//! Findings that start at a literal: each trigger the search reports is confirmed (or not) by a
//! validator that looks at the bytes around it.
//!
//! Most validators look at one trigger alone. The exception is a database client's `-p`: the
//! client's name (`mysql`, `mariadb-dump`…) is a trigger of its own, remembered in
//! [`DbCommand`], and a `-pS3cret` after it on the same line is a password. Triggers come in
//! text order, so this needs no look-back: only the bytes between one trigger and the next are
//! checked for a line break, each once.
//!
//! Validators only ever stop at ASCII bytes, so every span they produce lies on character
//! boundaries. Scans that could be repeated for each trigger are bounded in length, and a
//! trigger inside a span already found is skipped, so the work stays linear in the text.

use super::trigger::TriggerSearch;
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
    /// A vendor's token: an index into [`VENDORS`].
    Vendor(usize),
    /// `1234567890:AA…`, a Telegram bot token.
    Telegram,
    /// `<32 hex>-us12`, a Mailchimp API key.
    Mailchimp,
    /// `abc8Q~…`, an Azure AD client secret.
    AzureSecret,
    /// `curl -u user:pass`, `--user user:pass`.
    CurlUser,
    /// A database client's name (`mysql`, `mariadb-dump`…): a `-p` after it on its line
    /// attaches a password.
    DbClient,
    /// ` -p`, `"-p`: a short option that, after a database client, is `-pPASSWORD`.
    DbPassword,
    Literal(Finding),
}

/// The built-in patterns, matched ignoring ASCII case.
pub(crate) const TRIGGERS: &[(&str, Trigger)] = &[
    ("@", Trigger::At),
    // The same `@` escaped: in a URL, a JSON string, an XML or HTML text.
    ("%40", Trigger::At),
    // Percent-encoded twice (a URL carried inside another URL's parameter): `%25` is the `%`.
    ("%2540", Trigger::At),
    ("\\u0040", Trigger::At),
    ("&#64;", Trigger::At),
    ("&#x40;", Trigger::At),
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
    ("xoxe-", Trigger::Slack),
    ("xoxe.", Trigger::Slack),
    ("aiza", Trigger::Google),
    ("-----begin ", Trigger::Pem),
    ("\\users\\", Trigger::UsersDir),
    ("/users/", Trigger::UsersDir),
    ("/home/", Trigger::HomeDir),
    // Escaped separators (a URL's `%2F`, JSON's `\/`, XML's `&#47;`) and legacy profile roots.
    ("%2fhome%2f", Trigger::HomeDir),
    ("%2fusers%2f", Trigger::UsersDir),
    ("%5cusers%5c", Trigger::UsersDir),
    ("%252fhome%252f", Trigger::HomeDir),
    ("%252fusers%252f", Trigger::UsersDir),
    ("%255cusers%255c", Trigger::UsersDir),
    ("\\/home\\/", Trigger::HomeDir),
    ("\\/users\\/", Trigger::UsersDir),
    ("&#47;home&#47;", Trigger::HomeDir),
    ("&#92;users&#92;", Trigger::UsersDir),
    ("\\documents and settings\\", Trigger::UsersDir),
    ("/documents and settings/", Trigger::UsersDir),
    ("\\profiles\\", Trigger::UsersDir),
    (":aa", Trigger::Telegram),
    ("-us", Trigger::Mailchimp),
    ("q~", Trigger::AzureSecret),
    (" -u ", Trigger::CurlUser),
    ("--user ", Trigger::CurlUser),
    ("--user=", Trigger::CurlUser),
    ("mysql", Trigger::DbClient),
    ("mariadb", Trigger::DbClient),
    (" -p", Trigger::DbPassword),
    ("\t-p", Trigger::DbPassword),
    ("\"-p", Trigger::DbPassword),
    ("'-p", Trigger::DbPassword),
    ("\\\\", Trigger::Unc),
    ("password", Trigger::SecretKey),
    ("passwd", Trigger::SecretKey),
    ("passphrase", Trigger::SecretKey),
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
    "passphrase",
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

/// Key endings that say the value describes a secret rather than holds one (`secretName`,
/// `max_tokens`, `tokenUrl`), and .NET's `PublicKeyToken`, which names a public key.
const NOT_SECRET_ENDINGS: &[&str] = &[
    "name",
    "publickeytoken",
    "tokens",
    "count",
    "length",
    "size",
    "limit",
    "type",
    "kind",
    "url",
    "uri",
    "endpoint",
    "path",
    "file",
    "policy",
    "expiry",
    "expiration",
    "expiresin",
    "enabled",
    "required",
    "provider",
    "format",
    "mode",
    "version",
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

fn body_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn body_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn body_hex_dash(b: u8) -> bool {
    b.is_ascii_hexdigit() || b == b'-'
}

fn body_base64url(b: u8) -> bool {
    is_base64url(b)
}

fn body_dotted(b: u8) -> bool {
    is_base64url(b) || b == b'.'
}

fn body_path(b: u8) -> bool {
    is_base64url(b) || b == b'/'
}

/// A vendor's token format: the prefix exactly as the vendor writes it, what its body is made
/// of, and the body's least length (shorter is a word that happens to share the prefix).
pub(crate) struct Vendor {
    prefix: &'static str,
    body: fn(u8) -> bool,
    min_body: usize,
}

const fn vendor(prefix: &'static str, body: fn(u8) -> bool, min_body: usize) -> Vendor {
    Vendor {
        prefix,
        body,
        min_body,
    }
}

/// Token formats with a fixed prefix. Their triggers are the prefixes in lower case; the
/// validator insists on the exact case, a word boundary before, and the body.
pub(crate) const VENDORS: &[Vendor] = &[
    // Stripe: secret, restricted and publishable keys.
    vendor("sk_live_", body_alnum, 16),
    vendor("sk_test_", body_alnum, 16),
    vendor("rk_live_", body_alnum, 16),
    vendor("rk_test_", body_alnum, 16),
    vendor("pk_live_", body_alnum, 16),
    vendor("pk_test_", body_alnum, 16),
    // OpenAI (`sk-…`, `sk-proj-…`, `sk-svcacct-…`) and Anthropic (`sk-ant-api03-…`).
    vendor("sk-", body_base64url, 32),
    vendor("npm_", body_alnum, 30),
    vendor("pypi-AgEI", body_base64url, 40),
    // SendGrid: `SG.` id `.` secret.
    vendor("SG.", body_dotted, 50),
    // GitLab personal, deploy, runner, trigger, CI job, incoming-mail, OAuth and agent tokens.
    vendor("glpat-", body_base64url, 20),
    vendor("gldt-", body_base64url, 20),
    vendor("glrt-", body_base64url, 20),
    vendor("glptt-", body_base64url, 20),
    vendor("glcbt-", body_base64url, 20),
    vendor("glimt-", body_base64url, 20),
    vendor("glsoat-", body_base64url, 20),
    vendor("gloas-", body_base64url, 20),
    vendor("glagent-", body_base64url, 20),
    vendor("glffct-", body_base64url, 20),
    // Slack incoming webhooks and workflow triggers: the path is the secret.
    vendor("hooks.slack.com/services/", body_path, 20),
    vendor("hooks.slack.com/workflows/", body_path, 20),
    vendor("hooks.slack.com/triggers/", body_path, 20),
    // DigitalOcean personal, OAuth and refresh tokens.
    vendor("dop_v1_", body_hex, 64),
    vendor("doo_v1_", body_hex, 64),
    vendor("dor_v1_", body_hex, 64),
    // Shopify access, shared-secret, custom-app and partner tokens.
    vendor("shpat_", body_hex, 32),
    vendor("shpss_", body_hex, 32),
    vendor("shpca_", body_hex, 32),
    vendor("shppa_", body_hex, 32),
    vendor("PMAK-", body_hex_dash, 40),
    // Square access and OAuth secrets, and its `EAAA` tokens.
    vendor("sq0atp-", body_base64url, 22),
    vendor("sq0csp-", body_base64url, 40),
    vendor("EAAA", body_base64url, 56),
    // Facebook / Meta access tokens.
    vendor("EAAB", body_alnum, 40),
    vendor("EAAC", body_alnum, 40),
    vendor("EAAG", body_alnum, 40),
    vendor("EAAI", body_alnum, 40),
    vendor("hf_", body_alnum, 30),
    vendor("dckr_pat_", body_base64url, 24),
];

/// The built-in patterns and what each starts: [`TRIGGERS`], then one per vendor prefix.
pub(crate) fn builtin_triggers() -> Vec<(String, Trigger)> {
    TRIGGERS
        .iter()
        .map(|(p, t)| ((*p).to_owned(), *t))
        .chain(
            VENDORS
                .iter()
                .enumerate()
                .map(|(i, v)| (v.prefix.to_ascii_lowercase(), Trigger::Vendor(i))),
        )
        .collect()
}

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
    search: &TriggerSearch,
    triggers: &[Trigger],
    text: &str,
    spans: &mut Vec<Span>,
) {
    let bytes = text.as_bytes();
    // The span reaching furthest so far, as (start, end).
    let mut covered = (0, 0);
    let mut pem_unterminated = false;
    let mut memo = Memos::default();
    search.for_each(bytes, |m| {
        // A trigger wholly inside a span already found adds nothing (and re-scanning a long
        // value for each trigger inside it would be quadratic); one reaching past it may.
        // One near the span's end is looked at all the same: what it starts (a key's value, a
        // bearer's token) may reach past the span (`Bearer x.SetPassword("…")`). That is at most
        // a key's length of triggers per span, so the work stays linear.
        if m.start >= covered.0 && m.end + MAX_KEY <= covered.1 {
            return;
        }
        let before = spans.len();
        let (start, end) = (m.start, m.end);
        match triggers[m.pattern] {
            Trigger::At => at_sign(bytes, start, end, spans),
            Trigger::Url => url(bytes, start, &mut memo, spans),
            Trigger::Bearer => bearer(bytes, start, end, &mut memo, spans),
            Trigger::Jwt => jwt(bytes, start, &mut memo, spans),
            Trigger::Aws => aws(bytes, start, spans),
            Trigger::GitHub => prefixed(bytes, start, end, 30, is_alnum, &mut memo.alnum, spans),
            Trigger::GitHubPat => prefixed(bytes, start, end, 40, is_word, &mut memo.word, spans),
            Trigger::Slack => prefixed(
                bytes,
                start,
                end,
                10,
                |b| is_alnum(b) || b == b'-',
                &mut memo.slack,
                spans,
            ),
            Trigger::Google => prefixed(
                bytes,
                start,
                end,
                30,
                is_base64url,
                &mut memo.base64url,
                spans,
            ),
            Trigger::Pem => pem(text, start, &mut pem_unterminated, spans),
            Trigger::UsersDir | Trigger::HomeDir => folder_owner(bytes, end, spans),
            Trigger::Unc => unc(bytes, start, spans),
            Trigger::SecretKey => {
                let db_command = memo.db.client_before(bytes, start);
                key_value(bytes, start, end, KeyKind::Secret, db_command, spans);
            }
            Trigger::UserKey => key_value(bytes, start, end, KeyKind::User, false, spans),
            Trigger::Vendor(i) => vendor_token(bytes, start, end, i, &mut memo, spans),
            Trigger::Telegram => telegram(bytes, start, &mut memo, spans),
            Trigger::Mailchimp => mailchimp(bytes, start, spans),
            Trigger::AzureSecret => azure_secret(bytes, start, &mut memo, spans),
            Trigger::CurlUser => curl_user(bytes, end, spans),
            Trigger::DbClient => memo.db.client(bytes, start, end),
            Trigger::DbPassword => db_password(bytes, start, &mut memo.db, spans),
            Trigger::Literal(finding) => literal(bytes, start, end, finding, spans),
        }
        for span in &spans[before..] {
            if span.end() > covered.1 {
                covered = (span.start(), span.end());
            }
        }
    });
}

/// Where a run of bytes of one class ends, remembered between calls.
///
/// Triggers come in text order, and many can fall inside one long run (`eyJeyJeyJ…`); scanning
/// the run again for each would be quadratic. A query from inside the run remembered returns its
/// end at once, and a query from a little before it scans only up to it, so each call site scans
/// every byte a bounded number of times. One memo serves one class of bytes only.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RunMemo {
    known: Option<(usize, usize)>,
}

impl RunMemo {
    pub(crate) fn run(&mut self, bytes: &[u8], from: usize, class: impl Fn(u8) -> bool) -> usize {
        let from = from.min(bytes.len());
        if let Some((start, end)) = self.known {
            if (start..=end).contains(&from) {
                return end;
            }
            if from < start {
                let mut at = from;
                while at < start && class(bytes[at]) {
                    at += 1;
                }
                let end = if at == start { end } else { at };
                self.known = Some((from, end));
                return end;
            }
        }
        let end = run(bytes, from, class);
        self.known = Some((from, end));
        end
    }
}

impl Default for Memos {
    fn default() -> Self {
        Self {
            alnum: RunMemo::default(),
            word: RunMemo::default(),
            slack: RunMemo::default(),
            base64url: RunMemo::default(),
            jwt_header: RunMemo::default(),
            jwt_payload: RunMemo::default(),
            jwt_signature: RunMemo::default(),
            bearer_space: RunMemo::default(),
            bearer_token: RunMemo::default(),
            url_authority: RunMemo::default(),
            url_end: RunMemo::default(),
            url_question: RunMemo::default(),
            url_fragment: RunMemo::default(),
            url_param: RunMemo::default(),
            vendors: [RunMemo::default(); VENDORS.len()],
            telegram: RunMemo::default(),
            azure: RunMemo::default(),
            db: DbCommand::default(),
            params_checked_to: 0,
        }
    }
}

/// One memo per scan whose class differs.
#[derive(Debug)]
struct Memos {
    alnum: RunMemo,
    word: RunMemo,
    slack: RunMemo,
    base64url: RunMemo,
    jwt_header: RunMemo,
    jwt_payload: RunMemo,
    jwt_signature: RunMemo,
    bearer_space: RunMemo,
    bearer_token: RunMemo,
    url_authority: RunMemo,
    url_end: RunMemo,
    url_question: RunMemo,
    url_fragment: RunMemo,
    url_param: RunMemo,
    vendors: [RunMemo; VENDORS.len()],
    telegram: RunMemo,
    azure: RunMemo,
    db: DbCommand,
    /// Query parameters up to here were checked as part of an earlier URL.
    params_checked_to: usize,
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
    bytes
        .get(at..)
        .is_some_and(|rest| super::leading_token_len(rest).is_some())
}

/// The start of the replacement token that ends just before `at`, if one does.
fn token_ending_at(bytes: &[u8], at: usize) -> Option<usize> {
    if at == 0 || bytes[at - 1] != b']' {
        return None;
    }
    let before = &bytes[..at];
    super::replacement_tokens()
        .find(|token| before.ends_with(token.as_bytes()))
        .map(|token| at - token.len())
}

fn push(spans: &mut Vec<Span>, start: usize, end: usize, finding: Finding) {
    if start < end {
        spans.push(Span::new(start, end, finding));
    }
}

fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// `name@example.com` → `[email]`; `jdoe@buildhost` → `[user]@[host]`. The `@` may be escaped
/// (`%40`, `\u0040`, `&#64;`): `at..after` is the sign as written. Local parts and domains may
/// be internationalised (UTF-8, or `xn--` punycode).
fn at_sign(bytes: &[u8], at: usize, after: usize, spans: &mut Vec<Span>) {
    let local_char = |b: u8| {
        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-') || b >= 0x80
    };
    let quoted = quoted_local_part(bytes, at);
    if let Some(open) = quoted {
        let quote = bytes[open];
        if bytes.get(after) == Some(&quote) {
            // `'jdoe'@'10.0.0.5'`, MySQL's account syntax: the name and the host inside their
            // quotes. A wildcard host (`'%'`) or `localhost` names nobody's machine.
            let host_start = after + 1;
            let limit = bytes.len().min(host_start + 253);
            let host_end = bytes[host_start..limit]
                .iter()
                .position(|b| {
                    !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'_' | b'%'))
                })
                .map(|n| host_start + n);
            if let Some(host_end) = host_end.filter(|e| bytes[*e] == quote) {
                push(spans, open + 1, at - 1, Finding::User);
                let host = &bytes[host_start..host_end];
                if host.iter().any(u8::is_ascii_alphanumeric)
                    && !host.eq_ignore_ascii_case(b"localhost")
                {
                    push(spans, host_start, host_end, Finding::Host);
                }
            }
            return;
        }
    }
    // `"jane doe"@example.com`: a quoted local part is part of the address.
    let mut start = quoted.unwrap_or(at);
    while start > 0 && at - start < 64 && local_char(bytes[start - 1]) {
        start -= 1;
    }
    // The look-back may stop inside a character, or at dots that cannot open a local part
    // (`….jane@`): start at the next whole character, after them.
    while start < at && (is_continuation(bytes[start]) || bytes[start] == b'.') {
        start += 1;
    }
    if start == at {
        // `[email]@example.com`, `[user]@example.com`: a local part an earlier pass (or another
        // tool) already replaced leaves its domain, which goes with it. The token is part of the
        // span, so the address becomes one `[email]` and scrubbed text stays as it is.
        match token_ending_at(bytes, at) {
            Some(token_start) => start = token_start,
            None => return,
        }
    }
    // `scheme://user:pass@host` and `scheme://user@host` are a URL's credentials, which the URL
    // validator replaces while keeping the host; `mailto:` is the one scheme whose `user@host`
    // is an address.
    if start > 0
        && matches!(bytes[start - 1], b':' | b'/')
        && !(start >= 7 && bytes[start - 7..start].eq_ignore_ascii_case(b"mailto:"))
    {
        return;
    }
    let domain_char = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b >= 0x80;
    let mut end = after;
    while end < bytes.len() && end - after < 253 && domain_char(bytes[end]) {
        end += 1;
    }
    while end > after && end < bytes.len() && is_continuation(bytes[end]) {
        end -= 1;
    }
    while end > after && matches!(bytes[end - 1], b'.' | b'-') {
        end -= 1;
    }
    let domain = &bytes[after..end];
    if domain.is_empty() || !domain.iter().any(|b| b.is_ascii_alphabetic() || *b >= 0x80) {
        return;
    }
    match domain.iter().rposition(|b| *b == b'.') {
        Some(dot) => {
            let tld = &domain[dot + 1..];
            let plain = tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic);
            let punycode = tld.len() > 4 && tld[..4].eq_ignore_ascii_case(b"xn--");
            let unicode = !tld.is_empty()
                && tld.iter().any(|b| *b >= 0x80)
                && tld.iter().all(|b| *b >= 0x80 || b.is_ascii_alphabetic());
            if plain || punycode || unicode {
                push(spans, start, end, Finding::Email);
            }
        }
        // `jdoe@buildbox`: too short a pair (`a@b`) is more likely code than a login, and a host
        // name starts with a letter (`weight@5kg` is a measure).
        None if at - start >= 2 && end - after > 1 && bytes[after].is_ascii_alphabetic() => {
            push(spans, start, at, Finding::User);
            push(spans, after, end, Finding::Host);
        }
        None => {}
    }
}

/// Where the quoted name ending right before the `@` at `at` opens (`'jdoe'@`, `"jane doe"@`):
/// a name of up to 64 bytes, with no quote or line break in it and not only spaces.
fn quoted_local_part(bytes: &[u8], at: usize) -> Option<usize> {
    let close = at.checked_sub(1)?;
    let quote = bytes[close];
    if !matches!(quote, b'\'' | b'"') {
        return None;
    }
    let floor = close.saturating_sub(64);
    let open = floor
        + bytes[floor..close]
            .iter()
            .rposition(|b| matches!(b, b'\'' | b'"' | b'\n'))?;
    let name = &bytes[open + 1..close];
    (bytes[open] == quote && name.iter().any(|b| !b.is_ascii_whitespace()) && !name.contains(&b'@'))
        .then_some(open)
}

/// A token with a vendor's fixed prefix.
fn vendor_token(
    bytes: &[u8],
    start: usize,
    end: usize,
    index: usize,
    memo: &mut Memos,
    spans: &mut Vec<Span>,
) {
    let vendor = &VENDORS[index];
    if &bytes[start..end] != vendor.prefix.as_bytes() {
        return;
    }
    // A webhook's host follows `//` or a dot-free boundary; every other prefix starts a word.
    if !vendor.prefix.starts_with("hooks.") && !boundary_before(bytes, start) {
        return;
    }
    let mut body_end = memo.vendors[index].run(bytes, end, vendor.body);
    while body_end > end && matches!(bytes[body_end - 1], b'.' | b'/') {
        body_end -= 1;
    }
    if body_end - end >= vendor.min_body {
        push(spans, start, body_end, Finding::ApiKey);
    }
}

/// `123456789:AA` and 33 base64url characters: a Telegram bot's id and secret.
fn telegram(bytes: &[u8], colon: usize, memo: &mut Memos, spans: &mut Vec<Span>) {
    if &bytes[colon..colon + 3] != b":AA" {
        return;
    }
    let mut id_start = colon;
    while id_start > 0 && colon - id_start < 11 && bytes[id_start - 1].is_ascii_digit() {
        id_start -= 1;
    }
    if !(8..=10).contains(&(colon - id_start)) || !boundary_before(bytes, id_start) {
        return;
    }
    let end = memo.telegram.run(bytes, colon + 3, is_base64url);
    if end - (colon + 3) >= 33 {
        push(spans, id_start, end, Finding::ApiKey);
    }
}

/// 32 hex digits, `-us` and a data-centre number: a Mailchimp API key.
fn mailchimp(bytes: &[u8], dash: usize, spans: &mut Vec<Span>) {
    if &bytes[dash..dash + 3] != b"-us" || dash < 32 {
        return;
    }
    let start = dash - 32;
    if !bytes[start..dash].iter().all(u8::is_ascii_hexdigit) || !boundary_before(bytes, start) {
        return;
    }
    let digits_end = run(&bytes[..bytes.len().min(dash + 6)], dash + 3, |b| {
        b.is_ascii_digit()
    });
    if (1..=2).contains(&(digits_end - dash - 3))
        && !bytes.get(digits_end).is_some_and(|b| is_word(*b))
    {
        push(spans, start, digits_end, Finding::ApiKey);
    }
}

fn azure_secret_char(b: u8) -> bool {
    is_word(b) || matches!(b, b'~' | b'.' | b'-')
}

/// An Azure AD (Entra) client secret: three characters, a digit, `Q~`, then 31 to 34 more.
fn azure_secret(bytes: &[u8], q: usize, memo: &mut Memos, spans: &mut Vec<Span>) {
    if &bytes[q..q + 2] != b"Q~" || q < 4 || !bytes[q - 1].is_ascii_digit() {
        return;
    }
    let start = q - 4;
    if !bytes[start..q - 1].iter().all(|b| azure_secret_char(*b)) || !boundary_before(bytes, start)
    {
        return;
    }
    let end = memo.azure.run(bytes, q + 2, azure_secret_char);
    if (31..=40).contains(&(end - q - 2)) {
        push(spans, start, end, Finding::Secret);
    }
}

/// `curl -u user:pass`, `--user=user:pass`: the pair, quoted or not, is credentials.
fn curl_user(bytes: &[u8], after: usize, spans: &mut Vec<Span>) {
    let mut start = run(&bytes[..bytes.len().min(after + 8)], after, |b| b == b' ');
    let quote = bytes
        .get(start)
        .copied()
        .filter(|b| matches!(b, b'"' | b'\''));
    if quote.is_some() {
        start += 1;
    }
    let limit = bytes.len().min(start + 512);
    let end = run(&bytes[..limit], start, |b| match quote {
        Some(q) => b != q && b != b'\n',
        None => !b.is_ascii_whitespace() && !matches!(b, b'"' | b'\''),
    });
    let value = &bytes[start..end];
    if value.len() >= 3
        && value.first() != Some(&b'-')
        && memchr::memchr(b':', value).is_some_and(|c| c > 0 && c + 1 < value.len())
        && !starts_with_token(bytes, start)
    {
        push(spans, start, end, Finding::Credentials);
    }
}

/// Database clients whose `-p` takes the password attached (`-pS3cret`, `-p'S3cret'`), with no
/// space: a `-p` followed by a space prompts for it instead. PostgreSQL's `-p` is a port; its
/// password comes as `PGPASSWORD=…`, a `password=` keyword or a URL, which the key and URL
/// validators catch.
const DB_CLIENTS: &[&str] = &[
    "mysql",
    "mysqldump",
    "mysqladmin",
    "mysqlimport",
    "mysqlcheck",
    "mysqlshow",
    "mysqlslap",
    "mysqlpump",
    "mysqlbinlog",
    "mysqlsh",
    "mysql_upgrade",
    "mysql_secure_installation",
    "mariadb",
    "mariadb-dump",
    "mariadb-admin",
    "mariadb-import",
    "mariadb-check",
    "mariadb-show",
    "mariadb-slap",
    "mariadb-binlog",
    "mariadb-upgrade",
];

/// The database client last seen, for the `-p` options after it; triggers come in text order.
#[derive(Debug, Default)]
struct DbCommand {
    /// Where the last client's name ends.
    client_end: Option<usize>,
    /// No line break lies between `client_end` and here (so each byte is checked once).
    clear_to: usize,
}

impl DbCommand {
    /// A client's name at `start..end` (the trigger): a whole word from [`DB_CLIENTS`], in lower
    /// case as commands are typed, maybe with a path before it or `.exe` after it, in a
    /// command's place: not the value of an option (`--name mysql -p3306:3306` names a
    /// container, `-I/usr/include/mysql` a folder), nor part of a longer word (`mysql:8`,
    /// `mysql.service`, `libmysqlclient`).
    fn client(&mut self, bytes: &[u8], start: usize, end: usize) {
        let opens_word = |b: u8| {
            b.is_ascii_whitespace()
                || matches!(
                    b,
                    b'"' | b'\'' | b'(' | b'`' | b';' | b'|' | b'&' | b'[' | b','
                )
        };
        if start > 0 && !(opens_word(bytes[start - 1]) || matches!(bytes[start - 1], b'/' | b'\\'))
        {
            return;
        }
        let limit = bytes.len().min(start + 32);
        let word_end = run(&bytes[..limit], end, |b| {
            b.is_ascii_lowercase() || b == b'_' || b == b'-'
        });
        if !DB_CLIENTS
            .iter()
            .any(|c| &bytes[start..word_end] == c.as_bytes())
        {
            return;
        }
        let name_end = if bytes[word_end..].starts_with(b".exe") {
            word_end + 4
        } else {
            word_end
        };
        if !bytes
            .get(name_end)
            .is_none_or(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\''))
        {
            return;
        }
        // The folders before the name, if it has a path: a path that is an option's value
        // (`-I/usr/include/mysql`, `--datadir=/var/lib/mysql`) names no command. The walk back
        // stops at white space or a quote, which also ends every name accepted, so no two walks
        // cross (and none goes further than a long path).
        let floor = start.saturating_sub(256);
        let mut word_start = start;
        while word_start > floor && !opens_word(bytes[word_start - 1]) {
            word_start -= 1;
        }
        let path = &bytes[word_start..start];
        if word_start == floor && floor > 0 || path.first() == Some(&b'-') || path.contains(&b'=') {
            return;
        }
        if follows_an_option(bytes, word_start) {
            return;
        }
        self.client_end = Some(name_end);
        self.clear_to = name_end;
    }

    /// True when a client's name ends before `at` on the same line.
    ///
    /// No distance is set: a limit in bytes would let each pass of the fixpoint, shortening the
    /// line, bring another `-p` within it. Calls come in text order and each byte is checked for
    /// a line break once.
    fn client_before(&mut self, bytes: &[u8], at: usize) -> bool {
        let Some(client_end) = self.client_end else {
            return false;
        };
        if at < client_end {
            return false;
        }
        let from = self.clear_to.max(client_end);
        if from < at && memchr::memchr2(b'\n', b'\r', &bytes[from..at]).is_some() {
            self.client_end = None;
            return false;
        }
        self.clear_to = self.clear_to.max(at);
        true
    }
}

/// True when the word before `start` (spaces between) is an option such as `--name` or `-e`,
/// whose value `start` would be; `--`, which ends the options of a wrapper (`kubectl exec pod --
/// mysql`), is not one. Looks back no further than a short word.
fn follows_an_option(bytes: &[u8], start: usize) -> bool {
    let floor = start.saturating_sub(64);
    let mut word_end = start;
    while word_end > floor && matches!(bytes[word_end - 1], b' ' | b'\t') {
        word_end -= 1;
    }
    if word_end == start || word_end == floor {
        return false;
    }
    let mut word_start = word_end;
    while word_start > floor && !bytes[word_start - 1].is_ascii_whitespace() {
        word_start -= 1;
    }
    let word = &bytes[word_start..word_end];
    word.first() == Some(&b'-') && word != b"--"
}

/// `mysql -u app -pS3cret`, `mysqldump -p'S3 cret' db`, `["mysql","-pS3cret"]`: after a database
/// client on the same line, the value attached to `-p` is a password. `sep` is the byte before
/// the `-p` (a space, a tab or a quote). `-p` alone (it prompts), `-P 3306` (a port) and every
/// `-p` on a line without a client (`mkdir -p`, `cp -pr`, `gcc -pthread`, `ssh -p 22`) are
/// left alone.
fn db_password(bytes: &[u8], sep: usize, db: &mut DbCommand, spans: &mut Vec<Span>) {
    if bytes.get(sep + 1..sep + 3) != Some(b"-p") {
        return;
    }
    let value_start = sep + 3;
    let Some(&first) = bytes.get(value_start) else {
        return;
    };
    if first.is_ascii_whitespace() || !db.client_before(bytes, sep) {
        return;
    }
    // A quoted value's closing quote is looked for no further than a long password's length,
    // so a line of unclosed `-p'` costs a bounded amount per trigger.
    let limit = bytes.len().min(value_start + 256);
    let (start, end) = if matches!(first, b'"' | b'\'') {
        let inner = value_start + 1;
        let close = run(&bytes[..limit], inner, |b| b != first && b != b'\n');
        if close < limit && bytes[close] == first {
            (inner, close)
        } else {
            (
                inner,
                run(&bytes[..limit], inner, |b| !b.is_ascii_whitespace()),
            )
        }
    } else {
        // Up to white space or a quote: the quote that opened `"-pS3cret"`, or a shell's. Every
        // trigger starts with one of those, so this run never crosses another's start.
        let end = run(bytes, value_start, |b| {
            !(b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'`'))
        });
        (value_start, end)
    };
    if !starts_with_token(bytes, start) {
        push(spans, start, end, Finding::Secret);
    }
}

fn url_char_ends(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'<' | b'>' | b'`')
}

/// Credentials in the authority and secret query parameters.
///
/// Every scan goes through a memo, and query parameters an earlier URL already checked are not
/// checked again, so a line of `http://u:p@` repeated costs one pass, not one per `://`.
fn url(bytes: &[u8], sep: usize, memo: &mut Memos, spans: &mut Vec<Span>) {
    let scheme_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-');
    let mut scheme_start = sep;
    while scheme_start > 0 && sep - scheme_start < 32 && scheme_char(bytes[scheme_start - 1]) {
        scheme_start -= 1;
    }
    if sep - scheme_start < 2 || !bytes[scheme_start].is_ascii_alphabetic() {
        return;
    }
    let authority_start = sep + 3;
    let authority_end = memo.url_authority.run(bytes, authority_start, |b| {
        !(url_char_ends(b) || matches!(b, b'/' | b'?' | b'#'))
    });
    // The authority ends at the first `/`, so it holds at most one `://`'s worth of text that a
    // later trigger would scan again: bounded by the next `/`.
    if let Some(at) = memchr::memrchr(b'@', &bytes[authority_start..authority_end]) {
        push(
            spans,
            authority_start,
            authority_start + at,
            Finding::Credentials,
        );
    }
    let url_end = memo
        .url_end
        .run(bytes, authority_end, |b| !url_char_ends(b));
    let question = memo
        .url_question
        .run(bytes, authority_end, |b| !(url_char_ends(b) || b == b'?'));
    if question >= url_end || bytes[question] != b'?' {
        return;
    }
    let query_start = question + 1;
    let query_end = memo
        .url_fragment
        .run(bytes, query_start, |b| !(url_char_ends(b) || b == b'#'))
        .min(url_end);
    let mut param_start = query_start;
    while param_start < query_end {
        let param_end = memo
            .url_param
            .run(bytes, param_start, |b| {
                !(url_char_ends(b) || matches!(b, b'#' | b'&' | b';'))
            })
            .min(query_end);
        let param = &bytes[param_start..param_end];
        if let Some(eq) = memchr::memchr(b'=', param)
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
        // The parameters from here on were split at the same `&` and checked by the same rule
        // as part of an earlier URL whose query reaches at least as far.
        if param_start < memo.params_checked_to {
            break;
        }
    }
    memo.params_checked_to = memo.params_checked_to.max(query_end);
}

fn bearer(bytes: &[u8], start: usize, end: usize, memo: &mut Memos, spans: &mut Vec<Span>) {
    if !boundary_before(bytes, start) {
        return;
    }
    let token_start = memo.bearer_space.run(bytes, end, |b| b == b' ');
    let token_char = |b: u8| {
        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'+' | b'/' | b'=' | b'-')
    };
    let token_end = memo.bearer_token.run(bytes, token_start, token_char);
    if token_end - token_start >= 8 {
        push(spans, token_start, token_end, Finding::Token);
    }
}

/// `eyJ…` header, payload and signature, each base64url.
fn jwt(bytes: &[u8], start: usize, memo: &mut Memos, spans: &mut Vec<Span>) {
    if !bytes[start..].starts_with(b"eyJ") || (start > 0 && is_base64url(bytes[start - 1])) {
        return;
    }
    let header_end = memo.jwt_header.run(bytes, start, is_base64url);
    if header_end - start < 10 || bytes.get(header_end) != Some(&b'.') {
        return;
    }
    let payload_end = memo.jwt_payload.run(bytes, header_end + 1, is_base64url);
    if payload_end - header_end < 3 {
        return;
    }
    if bytes.get(payload_end) != Some(&b'.') {
        // A token cut before its signature still carries its claims: a JSON payload (`eyJ`)
        // after a JSON header is one.
        if bytes[header_end + 1..].starts_with(b"eyJ") && payload_end - header_end > 10 {
            push(spans, start, payload_end, Finding::Jwt);
        }
        return;
    }
    let signature_end = memo.jwt_signature.run(bytes, payload_end + 1, is_base64url);
    push(spans, start, signature_end, Finding::Jwt);
}

/// AWS access key ids: `AKIA` or `ASIA` and 16 upper-case letters or digits.
fn aws(bytes: &[u8], start: usize, spans: &mut Vec<Span>) {
    let prefix = &bytes[start..start + 4];
    if !(prefix == b"AKIA" || prefix == b"ASIA") || !boundary_before(bytes, start) {
        return;
    }
    // Seventeen bytes settle it: sixteen of the body and one that must not continue it.
    let limit = bytes.len().min(start + 21);
    let end = run(&bytes[..limit], start + 4, |b| {
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
    memo: &mut RunMemo,
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
    let token_end = memo.run(bytes, end, body);
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
                | b'%'
                | b'&'
        )
}

/// The folder after `\Users\`, `/Users/` or `/home/` names a user.
fn folder_owner(bytes: &[u8], after: usize, spans: &mut Vec<Span>) {
    let start = run(bytes, after, |b| b == b'\\' || b == b'/');
    if starts_with_token(bytes, start) {
        return;
    }
    let mut end = run(bytes, start, |b| !path_delimiter(b));
    // `/Users/Jane Doe/Library`: a name with spaces ends at the next separator, if one comes
    // within a name's length.
    if bytes.get(end) == Some(&b' ') {
        let limit = bytes.len().min(end + 64);
        let more = run(&bytes[..limit], end, |b| b == b' ' || !path_delimiter(b));
        if more < limit && matches!(bytes[more], b'/' | b'\\') && bytes[more - 1] != b' ' {
            end = more;
        }
    }
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
        // Keys are short: comparing at each place is cheaper than building a searcher, and
        // comparing the first byte before the rest skips most places without a call.
        let word = word.as_bytes();
        self.as_bytes()
            .windows(word.len())
            .any(|w| w[0] == word[0] && w == word)
    }

    fn is(&self, word: &str) -> bool {
        self.as_bytes() == word.as_bytes()
    }

    /// Names a secret: contains a secret word, and is not the secret's name (`secretName`).
    fn is_secret(&self) -> bool {
        SECRET_WORDS.iter().any(|w| self.contains(w))
            && !NOT_SECRET_ENDINGS
                .iter()
                .any(|e| self.as_bytes().ends_with(e.as_bytes()))
    }
}

fn is_secret_key(key: &[u8]) -> bool {
    NormalisedKey::new(key).is_secret()
}

/// `password=…`, `"token": "…"`, `Pwd=…;`, `--client-secret …`, `User ID=…`.
///
/// `db_command` says a database client opened this line: there, `-pMyPassword` is `-p` with its
/// value attached (see [`db_password`]), not a `--password`-like flag whose value is the next
/// word.
fn key_value(
    bytes: &[u8],
    start: usize,
    end: usize,
    kind: KeyKind,
    db_command: bool,
    spans: &mut Vec<Span>,
) {
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
    // Where a value would start is settled first: most words that hold a trigger have none
    // after them (`[secret]`, `tokens were`), and that is cheaper to see than the key's name.
    let normalised = || NormalisedKey::new(key);
    let names_the_value = |normalised: &NormalisedKey| match kind {
        // `SharedAccessKeyName`, `secretName`: the name of a secret is not the secret.
        KeyKind::Secret => normalised.is_secret(),
        KeyKind::User => USER_KEYS.iter().any(|k| normalised.is(k)),
    };
    let key_quoted = matches!(bytes.get(key_end), Some(b'"' | b'\''))
        && key_start > 0
        && bytes[key_start - 1] == bytes[key_end];
    let xml_element = key_start > 0 && bytes[key_start - 1] == b'<';
    let mut at = key_end;
    if matches!(bytes.get(at), Some(b'"' | b'\'')) {
        at += 1;
    }
    let after_key = at;
    at = run(bytes, at, |b| b == b' ' || b == b'\t');
    let value_start = match bytes.get(at) {
        // `=`, `:`, `=>`, `:=`.
        Some(b'=' | b':') => {
            let mut sep_end = at + 1;
            if matches!(bytes.get(sep_end), Some(b'>' | b'=')) {
                sep_end += 1;
            }
            run(bytes, sep_end, |b| b == b' ' || b == b'\t')
        }
        // `{"Password", "value"}`, `Set("API_KEY", "value")`.
        Some(b',') if key_quoted => run(bytes, at + 1, |b| b == b' ' || b == b'\t'),
        // `<add key="DbPassword" value="…" />`.
        Some(_)
            if key_quoted
                && bytes[at..].len() >= 6
                && bytes[at..at + 6].eq_ignore_ascii_case(b"value=") =>
        {
            at + 6
        }
        // `<password>…</password>`: the text up to the next tag.
        Some(b'>') if xml_element && at == key_end => {
            if !names_the_value(&normalised()) {
                return;
            }
            let inner = at + 1;
            let close =
                memchr::memchr2(b'<', b'\n', &bytes[inner..]).map_or(bytes.len(), |n| inner + n);
            if !starts_with_token(bytes, inner) {
                push(spans, inner, close, secret_or_user(kind));
            }
            return;
        }
        // `SetPassword("…")`, `password(@"…")`: a quoted first argument.
        Some(b'(') if at == key_end && matches!(bytes.get(at + 1), Some(b'"' | b'\'' | b'@')) => {
            at + 1
        }
        // `set password "…"`, `SECRET 'x'`: a quoted string right after a secret's key.
        Some(b'"' | b'\'') if at > after_key && kind == KeyKind::Secret && !key_quoted => at,
        // A command-line flag (`--password hunter2`) takes the next word as its value.
        Some(&b)
            if key[0] == b'-'
                && at > after_key
                && b != b'-'
                && !b.is_ascii_whitespace()
                && !(db_command && key.get(1) == Some(&b'p')) =>
        {
            at
        }
        _ => return,
    };
    let normalised = normalised();
    if !names_the_value(&normalised) {
        return;
    }
    let Some(&first) = bytes.get(value_start) else {
        return;
    };
    if starts_with_token(bytes, value_start)
        || starts_with_token(bytes, value_start + 1) && matches!(first, b'"' | b'\'' | b'{')
        || starts_with_token(bytes, value_start + 2) && first == b'@'
    {
        return;
    }
    let (value_start, value_end) = match first {
        // A C# verbatim string: `""` inside it is a quote, and it may span lines.
        b'@' if bytes.get(value_start + 1) == Some(&b'"') => {
            let inner = value_start + 2;
            let mut at = inner;
            loop {
                match memchr::memchr(b'"', &bytes[at..]) {
                    Some(n) if bytes.get(at + n + 1) == Some(&b'"') => at += n + 2,
                    Some(n) => break (inner, at + n),
                    None => break (inner, bytes.len()),
                }
            }
        }
        b'"' | b'\'' => {
            // Up to the closing quote; a backslash escapes the quote (`"a\"b"`).
            let inner = value_start + 1;
            let mut at = inner;
            while at < bytes.len() && bytes[at] != first && bytes[at] != b'\n' {
                at += if bytes[at] == b'\\' { 2 } else { 1 };
            }
            (inner, at.min(bytes.len()))
        }
        // A connection string's braced value (`Password={a;b}`).
        b'{' => {
            let inner = value_start + 1;
            let close =
                memchr::memchr2(b'}', b'\n', &bytes[inner..]).map_or(bytes.len(), |n| inner + n);
            (inner, close)
        }
        _ => {
            let value_char = |b: u8| {
                !(b.is_ascii_whitespace()
                    || matches!(
                        b,
                        b';' | b'&' | b',' | b'"' | b'\'' | b'<' | b'>' | b')' | b'}'
                    ))
            };
            let mut end = run(bytes, value_start, value_char);
            // `Password=my secret pass;`: in a connection string, a value runs to the `;`, spaces
            // and all. Looked for no further than a short value's length.
            if bytes.get(end) == Some(&b' ') {
                let limit = bytes.len().min(end + 128);
                if let Some(n) = bytes[end..limit].iter().position(|b| {
                    matches!(b, b';' | b'\n' | b'=' | b'"' | b'\'' | b'<' | b'>' | b'&')
                }) && bytes[end + n] == b';'
                {
                    end += n;
                    while bytes[end - 1] == b' ' {
                        end -= 1;
                    }
                } else if kind == KeyKind::Secret && opens_config_line(bytes, key_start) {
                    // `password: correct horse battery staple` in YAML, an .ini or .env file:
                    // a key that opens its line owns the rest of it.
                    end = memchr::memchr(b'\n', &bytes[end..]).map_or(bytes.len(), |n| end + n);
                    while matches!(bytes[end - 1], b' ' | b'\t' | b'\r') {
                        end -= 1;
                    }
                }
            }
            (value_start, end)
        }
    };
    // `Authorization: Bearer abc…` — the scheme word is not the secret; the word after it is.
    let value_end = if kind == KeyKind::Secret && normalised.contains("authorization") {
        let scheme_end = run(bytes, value_start, |b| b.is_ascii_alphabetic());
        let scheme = &bytes[value_start..scheme_end];
        let is_scheme = ["bearer", "basic", "digest", "negotiate", "token"]
            .iter()
            .any(|s| scheme.eq_ignore_ascii_case(s.as_bytes()));
        if is_scheme && bytes.get(scheme_end) == Some(&b' ') {
            let credential_start = run(bytes, scheme_end, |b| b == b' ');
            let credential_end = run(bytes, credential_start, |b| {
                !b.is_ascii_whitespace() && b != b'"' && b != b'\''
            });
            if !starts_with_token(bytes, credential_start) {
                push(spans, credential_start, credential_end, Finding::Secret);
            }
            return;
        }
        value_end
    } else {
        value_end
    };
    if kind == KeyKind::Secret && is_placeholder(&bytes[value_start..value_end]) {
        // `(using password: YES)`, `require_password=false`, `password: ********`: the value
        // says whether there is a secret, or masks it; it is not one.
        return;
    }
    push(spans, value_start, value_end, secret_or_user(kind));
}

/// Values that stand for no secret: booleans, nothing, and masks of asterisks.
fn is_placeholder(value: &[u8]) -> bool {
    const WORDS: &[&str] = &[
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "null",
        "nil",
        "none",
        "empty",
        "undefined",
        "required",
        "optional",
    ];
    WORDS
        .iter()
        .any(|w| value.eq_ignore_ascii_case(w.as_bytes()))
        || (!value.is_empty() && value.iter().all(|b| *b == b'*'))
}

/// True when only indentation (or a YAML list dash) comes before the key on its line; looked at
/// no further back than a key's length.
fn opens_config_line(bytes: &[u8], key_start: usize) -> bool {
    let floor = key_start.saturating_sub(MAX_KEY);
    let mut at = key_start;
    while at > floor && matches!(bytes[at - 1], b' ' | b'\t' | b'-') {
        at -= 1;
    }
    at == 0 || bytes[at - 1] == b'\n'
}

fn secret_or_user(kind: KeyKind) -> Finding {
    match kind {
        KeyKind::Secret => Finding::Secret,
        KeyKind::User => Finding::User,
    }
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
