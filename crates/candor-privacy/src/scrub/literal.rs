//! Findings that start at a literal: each trigger the search reports is confirmed (or not) by a
//! validator that looks at the bytes around it.
//!
//! This module holds the trigger table and the loop over the search's matches, and the
//! validators of addresses, URLs, bearer tokens, JWTs, PEM blocks, home folders and this
//! machine's own names. Keys and their values are in `keys`, command lines in `command`,
//! vendors' tokens in `vendor`, Windows and directory identities in `identity`.
//!
//! Validators only ever stop at ASCII bytes, so every span they produce lies on character
//! boundaries. Scans that could be repeated for each trigger are bounded in length or go
//! through a memo, and a trigger inside a span already found is skipped, so the work stays
//! linear in the text.

use super::command::{self, CommandLine};
use super::identity;
use super::keys::{self, KeyRuns, MAX_KEY};
use super::lex::{
    RunMemo, boundary_before, is_base64url, is_continuation, is_word, path_delimiter, push, run,
    run_back, starts_with_token, token_ending_at,
};
use super::trigger::{Beside, Pattern, TriggerSearch};
use super::vendor::{self, Prefixed, VendorMemos};
use super::{Finding, Span};

/// What a pattern may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// `@` and its escaped and look-alike forms.
    At,
    Url,
    Bearer,
    Jwt,
    Aws,
    Prefixed(Prefixed),
    Pem,
    UsersDir,
    HomeDir,
    Unc,
    /// A key whose name may say what its value is; the number is the length of the key's part
    /// of the pattern (`pw:` is a key of two bytes and its separator).
    Key(u8),
    /// `user/pass` and the like: a pair of values follows.
    CredentialPair,
    /// `machine `: a `.netrc` entry.
    Netrc,
    /// A vendor's token: an index into [`vendor::VENDORS`].
    Vendor(usize),
    /// `1234567890:AA…`, a Telegram bot token.
    Telegram,
    /// `<32 hex>-us12`, a Mailchimp API key.
    Mailchimp,
    /// `abc8Q~…`, an Azure AD client secret.
    AzureSecret,
    /// `curl -u user:pass`, `--user user:pass`.
    CurlUser,
    /// `--username jdoe`, `/user:jdoe`: a login option, whose value is a user name.
    LoginOption,
    /// A database client's name (`mysql`, `mariadb-dump`…): a `-p` after it on its line
    /// attaches a password.
    DbClient,
    /// ` -p`, `"-p`: a short option that, after a database client, is `-pPASSWORD`, and after
    /// a login option takes the next word.
    DbPassword,
    /// A backslash: `DOMAIN\user`.
    Account,
    /// `IIS APPPOOL\`.
    AppPool,
    /// `S-1-`.
    Sid,
    /// `CN=`.
    DistinguishedName,
    /// `DESKTOP-`, `LAPTOP-`, `WIN-`…
    ComputerName,
    /// `-laptop`, `-pc`, `-macbook`…
    DeviceName,
    /// `~`: `~jdoe/`.
    Tilde,
    Literal(Finding),
}

/// The built-in patterns, matched ignoring ASCII case. Key triggers are listed apart, in
/// [`KEY_TRIGGERS`].
pub(crate) const TRIGGERS: &[(&str, Trigger)] = &[
    ("@", Trigger::At),
    // The same `@` escaped: in a URL, a JSON string, an XML or HTML text.
    ("%40", Trigger::At),
    // Percent-encoded twice (a URL carried inside another URL's parameter): `%25` is the `%`.
    ("%2540", Trigger::At),
    ("%252540", Trigger::At),
    ("\\u0040", Trigger::At),
    ("&#64;", Trigger::At),
    ("&#x40;", Trigger::At),
    ("&commat;", Trigger::At),
    // Its look-alikes: the full-width and the small commercial at.
    ("\u{ff20}", Trigger::At),
    ("\u{fe6b}", Trigger::At),
    ("://", Trigger::Url),
    ("bearer ", Trigger::Bearer),
    ("eyj", Trigger::Jwt),
    ("akia", Trigger::Aws),
    ("asia", Trigger::Aws),
    ("abia", Trigger::Aws),
    ("acca", Trigger::Aws),
    ("agpa", Trigger::Aws),
    ("aida", Trigger::Aws),
    ("aipa", Trigger::Aws),
    ("anpa", Trigger::Aws),
    ("anva", Trigger::Aws),
    ("apka", Trigger::Aws),
    ("aroa", Trigger::Aws),
    ("asca", Trigger::Aws),
    ("a3t", Trigger::Aws),
    ("ghp_", Trigger::Prefixed(Prefixed::GitHub)),
    ("gho_", Trigger::Prefixed(Prefixed::GitHub)),
    ("ghu_", Trigger::Prefixed(Prefixed::GitHub)),
    ("ghs_", Trigger::Prefixed(Prefixed::GitHub)),
    ("ghr_", Trigger::Prefixed(Prefixed::GitHub)),
    ("github_pat_", Trigger::Prefixed(Prefixed::GitHubPat)),
    ("xoxa-", Trigger::Prefixed(Prefixed::Slack)),
    ("xoxb-", Trigger::Prefixed(Prefixed::Slack)),
    ("xoxp-", Trigger::Prefixed(Prefixed::Slack)),
    ("xoxr-", Trigger::Prefixed(Prefixed::Slack)),
    ("xoxs-", Trigger::Prefixed(Prefixed::Slack)),
    ("xoxe-", Trigger::Prefixed(Prefixed::Slack)),
    ("xoxe.", Trigger::Prefixed(Prefixed::Slack)),
    ("xapp-", Trigger::Prefixed(Prefixed::Slack)),
    ("aiza", Trigger::Prefixed(Prefixed::Google)),
    ("-----begin ", Trigger::Pem),
    ("putty-user-key-file-", Trigger::Pem),
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
    ("--username", Trigger::LoginOption),
    ("/user:", Trigger::LoginOption),
    ("mysql", Trigger::DbClient),
    ("mariadb", Trigger::DbClient),
    (" -p", Trigger::DbPassword),
    ("\t-p", Trigger::DbPassword),
    ("\"-p", Trigger::DbPassword),
    ("'-p", Trigger::DbPassword),
    ("\\\\", Trigger::Unc),
    ("\\", Trigger::Account),
    ("iis apppool\\", Trigger::AppPool),
    ("iis apppool\\\\", Trigger::AppPool),
    ("s-1-", Trigger::Sid),
    ("cn=", Trigger::DistinguishedName),
    ("desktop-", Trigger::ComputerName),
    ("laptop-", Trigger::ComputerName),
    ("win-", Trigger::ComputerName),
    ("ec2amaz-", Trigger::ComputerName),
    ("minint-", Trigger::ComputerName),
    ("-laptop", Trigger::DeviceName),
    ("-pc", Trigger::DeviceName),
    ("-desktop", Trigger::DeviceName),
    ("-macbook", Trigger::DeviceName),
    ("-mbp", Trigger::DeviceName),
    ("-imac", Trigger::DeviceName),
    ("-iphone", Trigger::DeviceName),
    ("-ipad", Trigger::DeviceName),
    ("-workstation", Trigger::DeviceName),
    ("-notebook", Trigger::DeviceName),
    ("-thinkpad", Trigger::DeviceName),
    ("~", Trigger::Tilde),
    ("user/pass", Trigger::CredentialPair),
    ("user / pass", Trigger::CredentialPair),
    ("username/password", Trigger::CredentialPair),
    ("username / password", Trigger::CredentialPair),
    ("login/password", Trigger::CredentialPair),
    ("login / password", Trigger::CredentialPair),
    ("machine ", Trigger::Netrc),
];

/// Patterns that may be (part of) a key whose name says what its value is (see `keys`).
const KEY_TRIGGERS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "pw:",
    "pw=",
    "pw\"",
    "pw'",
    "pass=",
    "pass:",
    "pass\"",
    "pass'",
    "pin=",
    "pin:",
    "secret",
    "token",
    // A key ending in `key`, before its separator (a bare `key` is too common a word to look
    // at every time).
    "key=",
    "key:",
    "key\"",
    "key'",
    "key ",
    "key>",
    "api key",
    "secret key",
    "private key",
    "access key",
    "license key",
    "account key",
    "encryption key",
    "signing key",
    "master key",
    "sharedaccesssignature",
    "credential",
    "creds",
    "authorization",
    "user id",
    "user name",
    "user",
    "uid=",
    "uid:",
    "uid\"",
    "login",
    "accountname",
    "logonname",
    "upn=",
    "upn:",
    "upn\"",
    "runas",
    "computername",
    "machinename",
    "hostname",
    "host_name",
    "clientname",
    "workstation",
    "logonserver",
];

/// The bytes that may follow or precede a three-byte trigger for its validator to find
/// anything, where its odd starts need no other (see [`Beside`]).
fn beside(pattern: &[u8]) -> Option<Beside> {
    let ranges =
        |spans: &[(u8, u8)]| -> Vec<u8> { spans.iter().flat_map(|&(a, b)| a..=b).collect() };
    let alnum = ranges(&[(b'0', b'9'), (b'a', b'z')]);
    let mut base64url = alnum.clone();
    base64url.extend(b"_-");
    let mut domain = alnum.clone();
    domain.push(b'-');
    // A domain may start with a character of another script: UTF-8's lead bytes.
    domain.extend(0xC2..=0xF4);
    // A domain, or the quoted host of MySQL's `'jdoe'@'host'`.
    domain.extend(b".'\"");
    // Whatever a URL may hold: its credentials, host, path or query.
    let url: Vec<u8> = (0..=255).filter(|b| !url_char_ends(*b)).collect();
    let after = match pattern {
        // `%40`, and the full-width and small commercial at in UTF-8.
        b"%40" | b"\xef\xbc\xa0" | b"\xef\xb9\xab" => domain,
        b"://" => url,
        b"eyj" | b":aa" | b"sk-" | b"sg." | b"sl." => base64url,
        b"a3t" | b"a3-" | b"r8_" | b"hf_" | b"oy2" => alnum,
        b"fc-" => ranges(&[(b'0', b'9'), (b'a', b'f')]),
        b"dt0" => ranges(&[(b'a', b'z')]),
        b"-us" => ranges(&[(b'0', b'9')]),
        // A distinguished name's `CN=` follows a separator; a device's `-pc` a name.
        b"cn=" => {
            return Some(Beside {
                after: false,
                bytes: b" \t\n\x0c\r,\"'(/;<[=:{".to_vec(),
            });
        }
        b"-pc" => {
            return Some(Beside {
                after: false,
                bytes: alnum,
            });
        }
        _ => return None,
    };
    Some(Beside {
        after: true,
        bytes: after,
    })
}

/// The built-in patterns and what each starts: [`TRIGGERS`], the key triggers, then one per
/// vendor prefix; three-byte ones with the bytes that must stand beside them (see
/// [`Beside`]).
pub(crate) fn builtin_triggers() -> Vec<(Pattern, Trigger)> {
    let keys = KEY_TRIGGERS.iter().map(|p| {
        // The key's part: without a trailing separator (`pw:` is the key `pw`).
        let key_len = p.trim_end_matches([':', '=', '"', '\'', ' ', '>']).len();
        (*p, Trigger::Key(u8::try_from(key_len).unwrap_or(u8::MAX)))
    });
    TRIGGERS
        .iter()
        .copied()
        .chain(keys)
        .map(|(p, t)| (p.as_bytes().to_ascii_lowercase(), t))
        .chain(
            vendor::VENDORS
                .iter()
                .enumerate()
                .map(|(i, v)| (v.prefix.as_bytes().to_ascii_lowercase(), Trigger::Vendor(i))),
        )
        .map(|(bytes, trigger)| {
            let beside = if bytes.len() == 3 {
                beside(&bytes)
            } else {
                None
            };
            (Pattern { bytes, beside }, trigger)
        })
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

/// The memos of the scans that triggers repeat, and what a line has shown so far.
#[derive(Debug, Default)]
struct Memos {
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
    vendors: VendorMemos,
    keys: KeyRuns,
    line: CommandLine,
    /// Query parameters up to here were checked as part of an earlier URL.
    params_checked_to: usize,
}

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
        let (start, end) = (m.start, m.end);
        // A trigger wholly inside a span already found adds nothing (and re-scanning a long
        // value for each trigger inside it would be quadratic); one reaching past it may.
        // One near the span's end is looked at all the same: what it starts (a key's value, a
        // bearer's token) may reach past the span (`Bearer x.SetPassword("…")`). That is at most
        // a key's length of triggers per span, so the work stays linear.
        if start >= covered.0 && end + MAX_KEY <= covered.1 {
            return;
        }
        let before = spans.len();
        match triggers[m.pattern] {
            Trigger::At => at_sign(bytes, start, end, spans),
            Trigger::Url => url(bytes, start, &mut memo, spans),
            Trigger::Bearer => bearer(bytes, start, end, &mut memo, spans),
            Trigger::Jwt => jwt(bytes, start, &mut memo, spans),
            Trigger::Aws => vendor::aws(bytes, start, end, spans),
            Trigger::Prefixed(kind) => {
                vendor::prefixed(bytes, start, end, kind, &mut memo.vendors, spans);
            }
            Trigger::Pem => pem(text, start, &mut pem_unterminated, spans),
            Trigger::UsersDir | Trigger::HomeDir => folder_owner(bytes, end, spans),
            Trigger::Unc => identity::unc(bytes, start, spans),
            Trigger::Key(key_len) => {
                let db_command = memo.line.db.client_before(bytes, start);
                let key_end = (start + usize::from(key_len)).min(end);
                keys::key_value(bytes, start, key_end, db_command, &mut memo.keys, spans);
            }
            Trigger::CredentialPair => keys::credential_pair(bytes, end, spans),
            Trigger::Netrc => keys::netrc(bytes, end, spans),
            Trigger::Vendor(i) => {
                vendor::vendor_token(bytes, start, end, i, &mut memo.vendors, spans);
            }
            Trigger::Telegram => vendor::telegram(bytes, start, &mut memo.vendors, spans),
            Trigger::Mailchimp => vendor::mailchimp(bytes, start, spans),
            Trigger::AzureSecret => vendor::azure_secret(bytes, start, &mut memo.vendors, spans),
            Trigger::CurlUser => command::curl_user(bytes, end, &mut memo.line, spans),
            Trigger::LoginOption => command::login_option(bytes, end, &mut memo.line, spans),
            Trigger::DbClient => memo.line.db.client(bytes, start, end),
            Trigger::DbPassword => command::db_password(bytes, start, &mut memo.line, spans),
            Trigger::Account => identity::account(bytes, start, spans),
            Trigger::AppPool => identity::app_pool(bytes, start, end, spans),
            Trigger::Sid => identity::sid(bytes, start, spans),
            Trigger::DistinguishedName => identity::distinguished_name(bytes, start, spans),
            Trigger::ComputerName => identity::made_up_computer_name(bytes, start, end, spans),
            Trigger::DeviceName => identity::device_name(bytes, start, end, spans),
            Trigger::Tilde => identity::tilde_user(bytes, start, spans),
            Trigger::Literal(finding) => literal(bytes, start, end, finding, spans),
        }
        for span in &spans[before..] {
            if span.end() > covered.1 {
                covered = (span.start(), span.end());
            }
        }
    });
}

/// `name@example.com` → `[email]`; `jdoe@buildhost` → `[user]@[host]`. The `@` may be escaped
/// (`%40`, `\u0040`, `&#64;`): `at..after` is the sign as written. Local parts and domains may
/// be internationalised (UTF-8, or `xn--` punycode).
fn at_sign(bytes: &[u8], at: usize, after: usize, spans: &mut Vec<Span>) {
    let local_char = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'.' | b'_'
                    | b'%'
                    | b'+'
                    | b'-'
                    | b'!'
                    | b'#'
                    | b'$'
                    | b'*'
                    | b'^'
                    | b'{'
                    | b'}'
                    | b'|'
                    | b'~'
            )
            || b >= 0x80
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
    // is an address. A `/` outside a URL is a Kerberos principal's instance
    // (`jdoe/admin@CORP.EXAMPLE.COM`, `HTTP/web01.corp.example.com@CORP.EXAMPLE.COM`): the
    // principal goes whole, as a user.
    let mut principal = false;
    if start > 0
        && matches!(bytes[start - 1], b':' | b'/')
        && !(start >= 7 && bytes[start - 7..start].eq_ignore_ascii_case(b"mailto:"))
    {
        let word_start = run_back(bytes, start, 256, |b| !b.is_ascii_whitespace());
        let before = &bytes[word_start..start];
        let url = memchr::memmem::rfind(before, b"://");
        // Inside a URL's authority (no `/` since its `://`): its credentials.
        if url.is_some_and(|p| !before[p + 3..].contains(&b'/')) {
            return;
        }
        if url.is_none() && bytes[start - 1] == b'/' {
            let primary_start = run_back(bytes, start - 1, 64, |b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
            });
            if primary_start < start - 1 {
                start = primary_start;
                principal = true;
            }
        }
    }
    let domain_char = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b >= 0x80;
    // The full-width and small `@` are bytes of another script, but no domain's: the next
    // address starts there.
    let another_at = |at: usize| {
        bytes[at] == 0xEF
            && (bytes[at..].starts_with(b"\xef\xbc\xa0")
                || bytes[at..].starts_with(b"\xef\xb9\xab"))
    };
    let mut end = after;
    while end < bytes.len() && end - after < 253 && domain_char(bytes[end]) && !another_at(end) {
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
    // A Kerberos realm is written in capitals (`CORP.EXAMPLE.COM`); `app/img@sha256` is an
    // image reference.
    if principal && domain.iter().any(u8::is_ascii_lowercase) {
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
            if principal {
                push(spans, start, end, Finding::User);
            } else if plain || punycode || unicode {
                push(spans, start, end, Finding::Email);
            }
        }
        // `jdoe@buildbox`: too short a pair (`a@b`) is more likely code than a login, and a host
        // name starts with a letter (`weight@5kg` is a measure).
        None if principal => push(spans, start, end, Finding::User),
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
    let authority = &bytes[authority_start..authority_end];
    let credentials_end = match memchr::memrchr(b'@', authority) {
        Some(at) => Some(authority_start + at),
        // `user:p/ss#w@host`: a password with a `/`, `?` or `#` in it ends the authority early.
        // When what precedes reads `user:` and no port, the credentials run to the last `@`
        // before the URL ends (looked for within a long password's reach).
        None => memchr::memchr(b':', authority)
            .filter(|&colon| {
                colon > 0
                    && colon + 1 < authority.len()
                    && !authority[colon + 1..].iter().all(u8::is_ascii_digit)
            })
            .and_then(|_| {
                let limit = bytes.len().min(authority_end + 256);
                let end = run(&bytes[..limit], authority_end, |b| !url_char_ends(b));
                memchr::memrchr(b'@', &bytes[authority_end..end]).map(|at| authority_end + at)
            }),
    };
    let host_start = match credentials_end {
        Some(end) => {
            push(spans, authority_start, end, Finding::Credentials);
            end + 1
        }
        None => authority_start,
    };
    // `http://3232235777/`, `http://0xC0A80101/`: an IPv4 address written as one number.
    if host_start < authority_end {
        let host_end = host_start
            + bytes[host_start..authority_end]
                .iter()
                .position(|b| *b == b':')
                .unwrap_or(authority_end - host_start);
        if is_single_number_ipv4(&bytes[host_start..host_end]) {
            push(spans, host_start, host_end, Finding::Ip);
        }
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
                || keys::kind_of(key) == Some(keys::KeyKind::Secret)
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

/// An IPv4 address written as one number, as URL parsers and `inet_aton` read it: decimal
/// (`3232235777`) or hexadecimal (`0xC0A80101`), at least 2^24 (smaller ones are ports and
/// counts more often than addresses).
fn is_single_number_ipv4(host: &[u8]) -> bool {
    let value = if host.len() > 2 && host[..2].eq_ignore_ascii_case(b"0x") {
        let hex = &host[2..];
        if hex.is_empty() || hex.len() > 8 || !hex.iter().all(u8::is_ascii_hexdigit) {
            return false;
        }
        hex.iter().fold(0u64, |v, b| {
            v * 16 + u64::from((*b as char).to_digit(16).unwrap_or(0))
        })
    } else {
        if !(8..=10).contains(&host.len()) || !host.iter().all(u8::is_ascii_digit) {
            return false;
        }
        host.iter().fold(0u64, |v, b| v * 10 + u64::from(b - b'0'))
    };
    (1 << 24..1 << 32).contains(&value)
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
    if !identity::SHARED_FOLDERS
        .iter()
        .any(|f| name.eq_ignore_ascii_case(f.as_bytes()))
    {
        push(spans, start, end, Finding::User);
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
