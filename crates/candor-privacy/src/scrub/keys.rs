//! Values named by their key: `password=…`, `"token": "…"`, `Pwd=…;`, `--client-secret …`,
//! `User ID=…`, `COMPUTERNAME=…`, `.netrc` entries, `the password is …`, `user / pass`.
//!
//! The key's whole name decides what its value is ([`kind_of`]): a secret (it holds a secret
//! word, or ends in `key`, `pass` or `pw`), a user name or a computer's name. The value is kept
//! when it names no secret: a reference to one (`$VAR`, `${VAR}`, `%VAR%`, `env.X`,
//! `settings.X`, a function call), a placeholder (`<YOUR_PASSWORD>`, `***`, `xxxx`), a label
//! (`"Password"`), a route (`/account/password`), or a yes or no.
//!
//! Every scan is bounded or remembered: the key's run through [`KeyRuns`], a value that is kept
//! is at most [`MAX_KEPT_VALUE`] bytes (a longer one is replaced, and the triggers inside it
//! are skipped as covered), prose and pairs look at a word or two.

use super::lex::{push, run, run_back, run_within, starts_with_token, word_before};
use super::{Finding, Span};

/// Longest key name considered (`--azure-storage-account-key` fits).
pub(crate) const MAX_KEY: usize = 64;

/// A value longer than this is never kept as a reference or placeholder: it is replaced.
const MAX_KEPT_VALUE: usize = 256;

/// What a key's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Secret,
    User,
    Host,
}

impl KeyKind {
    fn finding(self) -> Finding {
        match self {
            KeyKind::Secret => Finding::Secret,
            KeyKind::User => Finding::User,
            KeyKind::Host => Finding::Host,
        }
    }
}

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
    "id",
    "ids",
    "label",
    "hint",
    "placeholder",
    "prompt",
    "field",
    "header",
    "location",
    "store",
    "vault",
    "source",
    "env",
    "ref",
    "algorithm",
    "strength",
    "rotation",
];

/// Keys that end in `key` and name no secret: database and dictionary keys, keyboard keys,
/// public keys, and words that happen to end so.
const NOT_SECRET_KEYS: &[&str] = &[
    "publickey",
    "primarykey",
    "foreignkey",
    "partitionkey",
    "rowkey",
    "sortkey",
    "hashkey",
    "rangekey",
    "idempotencykey",
    "cachekey",
    "registrykey",
    "routingkey",
    "lookupkey",
    "compositekey",
    "uniquekey",
    "surrogatekey",
    "naturalkey",
    "businesskey",
    "hotkey",
    "shortcutkey",
    "groupkey",
    "messagekey",
    "objectkey",
    "dictionarykey",
    "entitykey",
    "resourcekey",
    "localizationkey",
    "translationkey",
    "i18nkey",
    "labelkey",
    "namekey",
    "idkey",
    "itemkey",
    "querykey",
    "statekey",
    "propertykey",
    "settingkey",
    "configkey",
    "mapkey",
    "projectkey",
    "issuekey",
    "sitekey",
    "templatekey",
    "monkey",
    "turkey",
    "whiskey",
    "hockey",
    "jockey",
    "donkey",
    "lackey",
];

/// Whole keys (normalised) whose value is a secret though they hold no secret word.
const SECRET_KEYS: &[&str] = &[
    "pw",
    "pass",
    "passcode",
    "pin",
    "pincode",
    "creds",
    "sonarlogin",
    "auth",
    "authkey",
];

/// The last part of a key (`DB_PASS`, `smtpPw`) that makes its value a secret.
const SECRET_LAST_PARTS: &[&str] = &["pass", "pw", "pwd", "passwd", "pin"];

/// Keys whose value is a user name, compared whole after normalisation.
const USER_KEYS: &[&str] = &[
    "userid",
    "uid",
    "username",
    "user",
    "login",
    "userprincipalname",
    "upn",
    "samaccountname",
    "logonname",
    "runas",
    "runasuser",
    "domainuser",
];

/// Keys whose value is a computer's name.
const HOST_KEYS: &[&str] = &[
    "computername",
    "computer",
    "machinename",
    "hostname",
    "clientname",
    "workstation",
    "workstationname",
    "logonserver",
];

pub(crate) fn is_key_char(b: u8) -> bool {
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
            .filter(|b| !matches!(b, b'_' | b'-' | b'.' | b' ' | b'/'))
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

    fn ends_with(&self, word: &str) -> bool {
        self.as_bytes().ends_with(word.as_bytes())
    }
}

/// The last part of a key: after its last `_`, `-`, `.` or space, or its last change from a
/// lower-case letter to an upper-case one (`smtpPw`).
fn last_part(key: &[u8]) -> &[u8] {
    let mut start = 0;
    for i in 1..key.len() {
        if matches!(key[i - 1], b'_' | b'-' | b'.' | b' ')
            || key[i - 1].is_ascii_lowercase() && key[i].is_ascii_uppercase()
        {
            start = i;
        }
    }
    &key[start..]
}

/// What the value of the key `key` (as written) is, if the key says.
pub(crate) fn kind_of(key: &[u8]) -> Option<KeyKind> {
    let normalised = NormalisedKey::new(key);
    let describes = NOT_SECRET_ENDINGS.iter().any(|e| normalised.ends_with(e));
    let secret = SECRET_WORDS.iter().any(|w| normalised.contains(w))
        || normalised.ends_with("key")
            && !normalised.is("key")
            && !NOT_SECRET_KEYS.iter().any(|k| normalised.ends_with(k))
        || SECRET_KEYS.iter().any(|k| normalised.is(k))
        // `sonar.login`, `-Dsonar.login`, `SONAR_TOKEN`: SonarQube's token.
        || normalised.ends_with("sonarlogin")
        || SECRET_LAST_PARTS
            .iter()
            .any(|p| last_part(key).eq_ignore_ascii_case(p.as_bytes()));
    if secret && !describes {
        return Some(KeyKind::Secret);
    }
    if USER_KEYS.iter().any(|k| normalised.is(k)) {
        return Some(KeyKind::User);
    }
    // `COMPUTERNAME`, `Environment.MachineName`, `sshHostname`.
    if HOST_KEYS.iter().any(|k| normalised.ends_with(k)) {
        return Some(KeyKind::Host);
    }
    None
}

/// The run of key bytes around a trigger, remembered: triggers come in text order, and many
/// can fall in one run (`tokentokentoken…`), which is then read once.
#[derive(Debug, Default)]
pub(crate) struct KeyRuns {
    known: Option<(usize, usize)>,
}

impl KeyRuns {
    /// The run of key bytes holding `start..end`; its start is looked for no further back than
    /// a key's length (a longer run is no key's name as a whole, whatever its true start;
    /// [`key_value`] then reads the key from its trigger on).
    fn around(&mut self, bytes: &[u8], start: usize, end: usize) -> (usize, usize) {
        if let Some((s, e)) = self.known
            && s <= start
            && end <= e
        {
            return (s, e);
        }
        let s = run_back(bytes, start, MAX_KEY + 1, is_key_char);
        let e = run(bytes, end, is_key_char);
        self.known = Some((s, e));
        (s, e)
    }
}

/// `password=…`, `"token": "…"`, `Pwd=…;`, `--client-secret …`, `User ID=…`: `start..end` is
/// the trigger (its key part).
///
/// `db_command` says a database client opened this line: there, `-pMyPassword` is `-p` with
/// its value attached (see `command::db_password`), not a `--password`-like flag whose value is
/// the next word.
pub(crate) fn key_value(
    bytes: &[u8],
    start: usize,
    end: usize,
    db_command: bool,
    runs: &mut KeyRuns,
    spans: &mut Vec<Span>,
) {
    let (key_start, key_end) = if bytes[start..end].contains(&b' ') {
        // `api key`, `user id`: the trigger holds a space; the key is the words around it.
        (
            run_back(bytes, start, MAX_KEY, is_key_char),
            run_within(bytes, end, MAX_KEY, is_key_char),
        )
    } else {
        let (run_start, run_end) = runs.around(bytes, start, end);
        // A run too long for a key's name may still end in one: a hash or token written
        // against it (`…9b0password=`, or `…9b0ｐａｓｓｗｏｒｄ＝` once folded) is not part
        // of the name, which is read from the trigger on.
        if run_end - run_start >= MAX_KEY {
            (start, run_end)
        } else {
            (run_start, run_end)
        }
    };
    if key_end - key_start >= MAX_KEY {
        return;
    }
    let key = &bytes[key_start..key_end];
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
    // Where a value would start is settled first: most words that hold a trigger have none
    // after them (`[secret]`, `tokens were`), and that is cheaper to see than the key's name.
    let mut prose = false;
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
            let Some(kind) = kind_of(key) else {
                return;
            };
            // Only an element that closes on its line (`<YOUR_PASSWORD>` alone is a
            // placeholder, not an element).
            let inner = at + 1;
            let close =
                memchr::memchr2(b'<', b'\n', &bytes[inner..]).map_or(bytes.len(), |n| inner + n);
            if !bytes[close..].starts_with(b"</") {
                return;
            }
            if !starts_with_token(bytes, inner) && !names_no_secret(bytes, inner, close) {
                push(spans, inner, close, kind.finding());
            }
            return;
        }
        // `SetPassword("…")`, `password(@"…")`: a quoted first argument.
        Some(b'(') if at == key_end && matches!(bytes.get(at + 1), Some(b'"' | b'\'' | b'@')) => {
            at + 1
        }
        // `set password "…"`, `SECRET 'x'`: a quoted string right after a secret's key.
        Some(b'"' | b'\'')
            if at > after_key && !key_quoted && kind_of(key) == Some(KeyKind::Secret) =>
        {
            at
        }
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
        // `the password is hunter2`, `password was 'x'`: prose.
        Some(b) if at > after_key && !b.is_ascii_whitespace() => {
            let word_end = run_within(bytes, at, 6, |b| b.is_ascii_alphabetic());
            let word = &bytes[at..word_end];
            if ["is", "was", "are", "were"]
                .iter()
                .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
                && matches!(bytes.get(word_end), Some(b' ' | b'\t'))
            {
                prose = true;
                run_within(bytes, word_end, 8, |b| b == b' ' || b == b'\t')
            } else if netrc_login_before(bytes, key_start) {
                // `login jdoe password hunter2`: a `.netrc` line, or a command's words.
                at
            } else {
                return;
            }
        }
        _ => return,
    };
    let Some(kind) = kind_of(key) else {
        return;
    };
    if prose && kind != KeyKind::Secret {
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
    if is_reference(bytes, value_start) {
        return;
    }
    let (value_start, value_end) = value_bounds(bytes, value_start, first, kind, key_start, prose);
    if prose && !prose_value_is_secret(bytes, value_start, value_end, first) {
        return;
    }
    // `Authorization: Bearer abc…` — the scheme word is not the secret; the word after it is.
    if kind == KeyKind::Secret && NormalisedKey::new(key).contains("authorization") {
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
    }
    if kind == KeyKind::Secret && names_no_secret(bytes, value_start, value_end) {
        return;
    }
    // `credentials: jdoe / Hunter2!`: a pair after a credentials key goes whole.
    let value_end = if kind == KeyKind::Secret && NormalisedKey::new(key).contains("cred") {
        pair_end(bytes, value_end).unwrap_or(value_end)
    } else {
        value_end
    };
    push(spans, value_start, value_end, kind.finding());
}

/// Where the value that starts at `value_start` (its first byte `first`) ends, and where it
/// starts without its quotes.
fn value_bounds(
    bytes: &[u8],
    value_start: usize,
    first: u8,
    kind: KeyKind,
    key_start: usize,
    prose: bool,
) -> (usize, usize) {
    match first {
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
            if prose {
                // A sentence's punctuation is not part of the word.
                while end > value_start && matches!(bytes[end - 1], b'.' | b':' | b'!' | b'?') {
                    end -= 1;
                }
                return (value_start, end);
            }
            // `Password=my secret pass;`: in a connection string, a value runs to the `;`,
            // spaces and all. Looked for no further than a short value's length.
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
    }
}

/// A word in prose after `the password is` is a password when it does not read as a word of
/// the sentence: quoted, or holding a digit, a symbol or an upper-case letter after its first.
fn prose_value_is_secret(bytes: &[u8], start: usize, end: usize, first: u8) -> bool {
    let value = &bytes[start..end];
    if value.len() < 4 {
        return false;
    }
    if matches!(first, b'"' | b'\'') {
        return true;
    }
    value.iter().any(|b| !b.is_ascii_alphabetic()) || value[1..].iter().any(u8::is_ascii_uppercase)
}

/// True when the words before `key_start` on its line end with `login <word>` (or `user`,
/// `username`): a `.netrc` entry or a command's words, whose password follows after a blank.
fn netrc_login_before(bytes: &[u8], key_start: usize) -> bool {
    let floor = key_start.saturating_sub(96);
    let mut at = key_start;
    while at > floor && matches!(bytes[at - 1], b' ' | b'\t') {
        at -= 1;
    }
    if at == key_start {
        return false;
    }
    let value_start = run_back(bytes, at, 64, |b| !b.is_ascii_whitespace());
    if value_start == at {
        return false;
    }
    word_before(
        bytes,
        value_start,
        16,
        b"\t",
        &["login", "user", "username"],
    )
}

/// The end of `/ <word>`, ` / <word>` or `:<word>` right after a value: a pair's second half.
fn pair_end(bytes: &[u8], end: usize) -> Option<usize> {
    let mut at = end;
    let spaced = bytes.get(at) == Some(&b' ');
    if spaced {
        at += 1;
    }
    if !matches!(bytes.get(at), Some(b'/')) || spaced && bytes.get(at + 1) != Some(&b' ') {
        return None;
    }
    at += 1 + usize::from(spaced);
    let second_end = run_within(bytes, at, 128, |b| {
        !(b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b',' | b';'))
    });
    (second_end > at).then_some(second_end)
}

/// `user/pass jdoe/hunter2`, `username / password: jdoe / S3cret!`: after the pair of names
/// (`start..end` the trigger), the pair of values is credentials.
pub(crate) fn credential_pair(bytes: &[u8], end: usize, spans: &mut Vec<Span>) {
    let mut at = run_within(bytes, end, 8, |b| matches!(b, b' ' | b'\t' | b':' | b'='));
    if at == end {
        return;
    }
    if bytes[at..].starts_with(b"is ") {
        at += 3;
    }
    let first_end = run_within(bytes, at, 128, |b| {
        !(b.is_ascii_whitespace() || matches!(b, b'/' | b'"' | b'\'' | b',' | b';'))
    });
    if first_end == at || starts_with_token(bytes, at) {
        return;
    }
    if let Some(second_end) = pair_end(bytes, first_end) {
        push(spans, at, second_end, Finding::Credentials);
    }
}

/// `machine api.example.com login jdoe password hunter2`: a `.netrc` entry (`after` is past
/// `machine `), on one line or several. Its login is a user name, its password and account
/// secrets.
pub(crate) fn netrc(bytes: &[u8], after: usize, spans: &mut Vec<Span>) {
    let token = |at: usize| {
        let start = run_within(bytes, at, 32, |b| b.is_ascii_whitespace());
        let end = run_within(bytes, start, 256, |b| !b.is_ascii_whitespace());
        (start, end)
    };
    let (host_start, host_end) = token(after);
    // A host's name, which no replacement leaves (a token holds brackets): what a pass
    // replaces in or after it cannot make the next word the entry's next keyword, so a second
    // pass reads the entry as the first did.
    let host_char =
        |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') || *b >= 0x80;
    if host_start == host_end
        || host_start > after + 8
        || !bytes[host_start..host_end].iter().all(host_char)
    {
        return;
    }
    let mut at = host_end;
    for _ in 0..4 {
        let (name_start, name_end) = token(at);
        let (value_start, value_end) = token(name_end);
        if name_start == name_end || value_start == value_end || value_start > name_end + 8 {
            return;
        }
        let finding = match &bytes[name_start..name_end] {
            b"login" => Finding::User,
            b"password" | b"account" => Finding::Secret,
            b"port" => {
                at = value_end;
                continue;
            }
            _ => return,
        };
        // A value an earlier pass replaced ends the reading: the replacement may have joined
        // several words into one (`512 84 3301` became `[ssn]`), so the words after it no
        // longer pair as the first pass paired them, and a later pass would take a word the
        // first left (`… the password is`) for a value.
        if starts_with_token(bytes, value_start) {
            return;
        }
        push(spans, value_start, value_end, finding);
        at = value_end;
    }
}

/// True when the value at `value_start` refers to a secret kept elsewhere rather than holding
/// one: `$VAR`, `${VAR}`, `$(VAR)`, `%VAR%`, `{{ secrets.X }}`, `env.X`, `process.env.X`,
/// `settings.X`, `os.environ["X"]`, or a function call (`getPassword()`,
/// `Environment.GetEnvironmentVariable("X")`). Reads a bounded stretch.
fn is_reference(bytes: &[u8], value_start: usize) -> bool {
    let quoted = matches!(bytes.get(value_start), Some(b'"' | b'\''));
    let at = value_start + usize::from(quoted);
    let Some(&first) = bytes.get(at) else {
        return false;
    };
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    match first {
        b'$' => bytes
            .get(at + 1)
            .is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'{' | b'(')),
        b'%' => {
            let name_end = run_within(bytes, at + 1, 64, ident);
            name_end > at + 1 && bytes.get(name_end) == Some(&b'%')
        }
        b'{' => bytes[at..].starts_with(b"{{"),
        b if b.is_ascii_alphabetic() || b == b'_' => {
            let path_end = run_within(bytes, at, 96, |b| ident(b) || b == b'.');
            let path = &bytes[at..path_end];
            let root_end = path.iter().position(|b| *b == b'.').unwrap_or(path.len());
            let root = &path[..root_end];
            const ROOTS: &[&str] = &[
                "env",
                "process",
                "settings",
                "config",
                "configuration",
                "options",
                "secrets",
                "vars",
                "params",
                "os",
                "environment",
                "system",
                "self",
                "this",
                "context",
                "ctx",
                "props",
                "args",
                "cfg",
                "conf",
            ];
            let dotted_root = root_end < path.len()
                && path.len() > root_end + 1
                && ROOTS
                    .iter()
                    .any(|r| root.eq_ignore_ascii_case(r.as_bytes()));
            // `getPassword()`, `GetSecret("db")`: a call with no argument or a quoted one,
            // closed on its line.
            let call = path.len() >= 3
                && bytes.get(path_end) == Some(&b'(')
                && matches!(bytes.get(path_end + 1), Some(b')' | b'"' | b'\''))
                && memchr::memchr2(
                    b')',
                    b'\n',
                    &bytes[path_end..bytes.len().min(path_end + 128)],
                )
                .is_some_and(|n| bytes[path_end + n] == b')');
            // `ENV["X"]`, `os.environ['X']`, `Configuration["Db:Password"]`.
            let index = bytes.get(path_end) == Some(&b'[')
                && matches!(bytes.get(path_end + 1), Some(b'"' | b'\''))
                && (dotted_root
                    || ROOTS
                        .iter()
                        .any(|r| path.eq_ignore_ascii_case(r.as_bytes()))
                    || path.eq_ignore_ascii_case(b"configuration"));
            dotted_root || call || index
        }
        _ => false,
    }
}

/// True when a value names no secret: a yes or no, nothing, a mask (`***`, `xxxx`), a
/// placeholder (`<YOUR_PASSWORD>`, `REDACTED`), a label (`Password`, `Enter your password`),
/// or a route (`/account/password`). A long value is none of these.
fn names_no_secret(bytes: &[u8], start: usize, end: usize) -> bool {
    let value = &bytes[start..end];
    let quoted = start > 0 && matches!(bytes[start - 1], b'"' | b'\'' | b'>');
    if value.len() > MAX_KEPT_VALUE {
        return false;
    }
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
        "redacted",
        "[redacted]",
        "hidden",
        "masked",
        "removed",
        "omitted",
        "sanitized",
        "scrubbed",
        "filtered",
    ];
    if WORDS
        .iter()
        .any(|w| value.eq_ignore_ascii_case(w.as_bytes()))
    {
        return true;
    }
    // `***`, `xxxx`, `XXXXXX`, `......`, `####`: one character repeated.
    if value.len() >= 3
        && matches!(
            value[0],
            b'*' | b'x' | b'X' | b'.' | b'#' | b'-' | b'_' | b'?'
        )
        && value.iter().all(|b| *b == value[0])
        || value.iter().all(|b| *b == b'*') && !value.is_empty()
    {
        return true;
    }
    // `<YOUR_PASSWORD>`, `<password>`, `[secret]` written as a placeholder.
    if value.len() >= 3
        && matches!(
            (value[0], value[value.len() - 1]),
            (b'<', b'>') | (b'[', b']')
        )
        && value[1..value.len() - 1]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b' '))
    {
        return true;
    }
    // `"Password"`, `"Enter your password:"`, `>API Key<`: a label in code or markup, a few
    // words naming a secret, written as labels are (capitalised, several words, or ending in
    // a colon).
    let text = value.strip_suffix(b":").unwrap_or(value);
    let words = text.iter().all(|b| b.is_ascii_alphabetic() || *b == b' ')
        && text.iter().filter(|b| **b == b' ').count() < 4;
    let label_like = text.len() < value.len()
        || text.contains(&b' ')
        || text.first().is_some_and(u8::is_ascii_uppercase);
    if quoted && words && label_like && !text.is_empty() && value.len() <= 40 {
        let label = NormalisedKey::new(value);
        if SECRET_WORDS.iter().any(|w| label.contains(w))
            || label.ends_with("key")
            || label.is("pin")
        {
            return true;
        }
    }
    // `/account/password`, `/oauth2/token`: a route.
    value.first() == Some(&b'/')
        && value.len() > 1
        && value
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"/_-.{}:".contains(b))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_says_what_its_value_is() {
        for secret in [
            "password",
            "DB_PASSWORD",
            "client_secret",
            "license_key",
            "accountKey",
            "x-api-key",
            "LICENSE_KEY",
            "encryptionKey",
            "sonar.login",
            "DB_PASS",
            "smtpPw",
            "pw",
            "pin",
        ] {
            assert_eq!(
                kind_of(secret.as_bytes()),
                Some(KeyKind::Secret),
                "{secret}"
            );
        }
        for user in ["USERNAME", "user", "uid", "sAMAccountName", "User ID"] {
            assert_eq!(kind_of(user.as_bytes()), Some(KeyKind::User), "{user}");
        }
        for host in ["COMPUTERNAME", "MachineName", "hostname", "LOGONSERVER"] {
            assert_eq!(kind_of(host.as_bytes()), Some(KeyKind::Host), "{host}");
        }
        for none in [
            "key",
            "primaryKey",
            "PublicKeyToken",
            "publicKey",
            "partitionKey",
            "secretName",
            "max_tokens",
            "tokenUrl",
            "bypass",
            "compass",
            "monkey",
            "hotkey",
            "spin",
            "password_file",
            "api_key_id",
        ] {
            assert_eq!(kind_of(none.as_bytes()), None, "{none}");
        }
    }
}
