//! Secrets on command lines: a database client's `-pS3cret`, a `-p S3cret` after a login
//! option (`-u jdoe`, `--username jdoe`, `/user:jdoe`), and `curl -u user:pass`.
//!
//! The client's name (`mysql`, `mariadb-dump`…) and a login option are triggers of their own,
//! remembered in [`CommandLine`], and a `-p` after them on the same line is a password.
//! Triggers come in text order, so this needs no look-back: only the bytes between one trigger
//! and the next are checked for a line break, each once.

use super::lex::{is_continuation, push, run, run_within, starts_with_token};
use super::{Finding, Span};

/// What the current command line has shown so far: a database client, a login option.
#[derive(Debug, Default)]
pub(crate) struct CommandLine {
    pub(crate) db: DbCommand,
    /// Where the last login option (`-u jdoe`) ended.
    login_end: Option<usize>,
    /// No line break lies between `login_end` and here (so each byte is checked once).
    login_clear_to: usize,
}

impl CommandLine {
    /// A login option ends at `end`: a `-p` after it on its line takes a password.
    pub(crate) fn login(&mut self, end: usize) {
        self.login_end = Some(end);
        self.login_clear_to = end;
    }

    /// True when a login option ends before `at` on the same line.
    fn login_before(&mut self, bytes: &[u8], at: usize) -> bool {
        let Some(end) = self.login_end else {
            return false;
        };
        if at < end {
            return false;
        }
        let from = self.login_clear_to.max(end);
        if from < at && memchr::memchr2(b'\n', b'\r', &bytes[from..at]).is_some() {
            self.login_end = None;
            return false;
        }
        self.login_clear_to = self.login_clear_to.max(at);
        true
    }
}

/// `--username jdoe`, `/user:CORP\jdoe`: a login option (`end` is past its name) and its value,
/// a user name.
pub(crate) fn login_option(
    bytes: &[u8],
    end: usize,
    line: &mut CommandLine,
    spans: &mut Vec<Span>,
) {
    let value_start = if bytes[..end].ends_with(b":") {
        end
    } else {
        run_within(bytes, end, 8, |b| matches!(b, b' ' | b'=' | b'\t'))
    };
    if value_start == end && !bytes[..end].ends_with(b":") {
        return;
    }
    let quote = bytes
        .get(value_start)
        .copied()
        .filter(|b| matches!(b, b'"' | b'\''));
    let inner = value_start + usize::from(quote.is_some());
    let value_end = run_within(bytes, inner, 256, |b| match quote {
        Some(q) => b != q && b != b'\n',
        None => !b.is_ascii_whitespace() && !matches!(b, b'"' | b'\''),
    });
    if value_end == inner || bytes[inner] == b'-' || starts_with_token(bytes, inner) {
        return;
    }
    push(spans, inner, value_end, Finding::User);
    line.login(value_end);
}

/// `curl -u user:pass`, `--user=user:pass`, `-u ":pass"`: the pair, quoted or not, is
/// credentials (`after` is past the option). A `-u user` without a password is a login
/// option: a `-p` after it takes one.
pub(crate) fn curl_user(bytes: &[u8], after: usize, line: &mut CommandLine, spans: &mut Vec<Span>) {
    let mut start = run(&bytes[..bytes.len().min(after + 8)], after, |b| b == b' ');
    let quote = bytes
        .get(start)
        .copied()
        .filter(|b| matches!(b, b'"' | b'\''));
    if quote.is_some() {
        start += 1;
    }
    let limit = bytes.len().min(start + 512);
    let mut end = run(&bytes[..limit], start, |b| match quote {
        Some(q) => b != q && b != b'\n',
        None => !b.is_ascii_whitespace() && !matches!(b, b'"' | b'\''),
    });
    // Cut by the limit inside a character: the value ends before it.
    while end > start && end < bytes.len() && is_continuation(bytes[end]) {
        end -= 1;
    }
    let value = &bytes[start..end];
    if value.is_empty() || value.first() == Some(&b'-') || starts_with_token(bytes, start) {
        return;
    }
    // `user:pass`, or `:pass` (a password alone, the user left out) of at least three bytes.
    let pair = memchr::memchr(b':', value)
        .is_some_and(|c| c + 1 < value.len() && (c > 0 || value.len() >= 4));
    if pair && value.len() >= 3 {
        push(spans, start, end, Finding::Credentials);
    } else {
        line.login(end);
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
pub(crate) struct DbCommand {
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
    pub(crate) fn client(&mut self, bytes: &[u8], start: usize, end: usize) {
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
    pub(crate) fn client_before(&mut self, bytes: &[u8], at: usize) -> bool {
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
pub(crate) fn db_password(bytes: &[u8], sep: usize, line: &mut CommandLine, spans: &mut Vec<Span>) {
    if !bytes
        .get(sep + 1..sep + 3)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"-p"))
    {
        return;
    }
    if bytes[sep + 2] == b'P' {
        // `-P` attached is a port (`-P3306`); spaced, after a login option, `sqlcmd -U sa -P
        // pass` takes a password.
        if bytes.get(sep + 3) == Some(&b' ') {
            spaced_password(bytes, sep, sep + 3, line, spans);
        }
        return;
    }
    let value_start = sep + 3;
    let Some(&first) = bytes.get(value_start) else {
        return;
    };
    if first.is_ascii_whitespace() {
        spaced_password(bytes, sep, value_start, line, spans);
        return;
    }
    if !line.db.client_before(bytes, sep) {
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

/// `-p S3cret` (or `-P S3cret`) after a login option on the same line (`psexec -u jdoe -p
/// S3cret`, `docker login -u jdoe -p S3cret`, `sqlcmd -U sa -P S3cret`): the next word is a
/// password. After a database client, a spaced `-p` prompts instead, and a number is a port
/// (`-p 5432`).
fn spaced_password(
    bytes: &[u8],
    sep: usize,
    after: usize,
    line: &mut CommandLine,
    spans: &mut Vec<Span>,
) {
    if !line.login_before(bytes, sep) || line.db.client_before(bytes, sep) {
        return;
    }
    let start = run_within(bytes, after, 8, |b| b == b' ' || b == b'\t');
    let quote = bytes
        .get(start)
        .copied()
        .filter(|b| matches!(b, b'"' | b'\''));
    let inner = start + usize::from(quote.is_some());
    let end = run_within(bytes, inner, 256, |b| match quote {
        Some(q) => b != q && b != b'\n',
        None => !(b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'`')),
    });
    let value = &bytes[inner..end];
    if value.is_empty()
        || value[0] == b'-'
        || value.iter().all(u8::is_ascii_digit)
        || starts_with_token(bytes, inner)
    {
        return;
    }
    push(spans, inner, end, Finding::Secret);
}
