//! Windows and directory identities, as .NET exception messages and environment dumps show
//! them: accounts (`CORP\jdoe`), IIS application pool identities (`IIS APPPOOL\shop`),
//! security identifiers (`S-1-5-21-…`), UNC paths and the people's folders under them,
//! distinguished names (`CN=Jane Doe,OU=Staff,DC=corp`), computer names Windows makes up
//! (`DESKTOP-8F3K2L1`) and people's devices (`jsmith-laptop`), and `~jdoe/` paths.
//!
//! What names no one stays: `NT AUTHORITY\SYSTEM`, `BUILTIN\Administrators`, `NT SERVICE\…`,
//! well-known SIDs (`S-1-5-18`, `S-1-5-32-544`), `DefaultAppPool`, the containers and groups
//! every directory has (`CN=Users`, `CN=Domain Admins`), and paths (`bin\Debug`, `src\app.cs`):
//! an account is only taken where its shape or its words say it is one.
//!
//! Every look-around is bounded: a name, a domain or a folder is at most a few hundred bytes.

use super::lex::{
    boundary_before, is_alnum, path_delimiter, push, run_back, run_within, starts_with_token,
    word_before,
};
use super::{Finding, Span};

/// Names longer than this are not names.
const MAX_NAME: usize = 64;

fn domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

fn account_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'$')
}

/// Authorities whose accounts are the same on every Windows machine, written before their `\`.
const WELL_KNOWN_AUTHORITIES: &[&str] = &[
    "nt authority",
    "builtin",
    "nt service",
    "iis apppool",
    "nt virtual machine",
    "window manager",
    "font driver host",
    "application package authority",
    "nt task",
    "local",
];

/// File name endings: `obj\project.assets.json` is a path, not an account.
const FILE_EXTENSIONS: &[&str] = &[
    "cs", "vb", "fs", "dll", "exe", "pdb", "json", "xml", "config", "txt", "log", "csproj",
    "vbproj", "fsproj", "sln", "props", "targets", "resx", "cshtml", "razor", "aspx", "ascx",
    "asmx", "ashx", "svc", "js", "ts", "ps1", "psm1", "bat", "cmd", "sh", "py", "rs", "c", "h",
    "cpp", "hpp", "md", "yml", "yaml", "ini", "cfg", "dat", "db", "sql", "html", "htm", "css",
    "png", "jpg", "gif", "svg", "ico", "zip", "msi", "nupkg", "pfx", "cer", "crt", "pem", "key",
    "lock", "tmp", "bak", "cache", "vhdx", "tlb", "lib", "obj", "so", "pdf", "doc", "docx", "xlsx",
    "csv",
];

/// Words that say an account follows (`Login failed for user 'CORP\jdoe'`,
/// `running as corp\jdoe`).
const ACCOUNT_WORDS: &[&str] = &[
    "user",
    "username",
    "account",
    "login",
    "logon",
    "identity",
    "principal",
    "owner",
    "member",
    "runas",
    "credential",
    "credentials",
    "impersonating",
    "impersonate",
    "caller",
    "as",
    "for",
    "grant",
    "granted",
    "deny",
    "denied",
];

fn is_file_name(name: &[u8]) -> bool {
    name.iter().rposition(|b| *b == b'.').is_some_and(|dot| {
        let ext = &name[dot + 1..];
        FILE_EXTENSIONS
            .iter()
            .any(|e| ext.eq_ignore_ascii_case(e.as_bytes()))
    })
}

/// True when `bytes[..at]` ends with one of `phrases` (ignoring ASCII case) at a word's start.
fn ends_with_phrase(bytes: &[u8], at: usize, phrases: &[&str]) -> bool {
    phrases.iter().any(|p| {
        let p = p.as_bytes();
        at >= p.len()
            && bytes[at - p.len()..at].eq_ignore_ascii_case(p)
            && boundary_before(bytes, at - p.len())
    })
}

/// `CORP\jdoe`, `corp.example.com\jdoe`, `CORP\WS-0142$` (a computer's account), and the same
/// with the backslash doubled in JSON (`CORP\\jdoe`): `at` is a backslash.
///
/// Paths share the shape, so an account is taken only where it is written as one: an
/// upper-case domain (`CONTOSO\jsmith`, not `bin\Debug`), after a word that says an account
/// follows (`for user 'corp\jdoe'`), as an ACL entry (`corp\jdoe:(F)`), or a computer's
/// account (`corp\ws01$`); never a file (`obj\app.dll`), never after a drive or another folder,
/// never an escape sequence after an upper-case word (`ERROR\nat`).
pub(crate) fn account(bytes: &[u8], at: usize, spans: &mut Vec<Span>) {
    if at > 0 && bytes[at - 1] == b'\\' {
        return;
    }
    let separator = if bytes.get(at + 1) == Some(&b'\\') {
        2
    } else {
        1
    };
    if bytes.get(at + separator) == Some(&b'\\') {
        return;
    }
    let domain_start = run_back(bytes, at, MAX_NAME + 1, domain_char);
    let domain = &bytes[domain_start..at];
    if domain.is_empty() || domain.len() > MAX_NAME || domain_start + MAX_NAME < at {
        return;
    }
    if !(domain[0].is_ascii_alphanumeric() || domain == b".") {
        return;
    }
    if domain_start > 0 {
        let before = bytes[domain_start - 1];
        let opens = before.is_ascii_whitespace()
            || matches!(
                before,
                b'\''
                    | b'"'
                    | b'`'
                    | b'('
                    | b'['
                    | b'{'
                    | b'<'
                    | b'='
                    | b':'
                    | b','
                    | b';'
                    | b'>'
                    | b'|'
            );
        if !opens {
            return;
        }
        // `C:\…`: a drive letter is no domain (the `:` before it is a key's).
        if before == b':' && domain.len() == 1 {
            return;
        }
    }
    if ends_with_phrase(bytes, at, WELL_KNOWN_AUTHORITIES) {
        return;
    }
    let user_start = at + separator;
    let user_end = run_within(bytes, user_start, MAX_NAME + 1, account_char);
    let user = &bytes[user_start..user_end];
    if user.is_empty()
        || user.len() > MAX_NAME
        || !(user[0].is_ascii_alphanumeric() || user[0] == b'_')
        || starts_with_token(bytes, user_start)
    {
        return;
    }
    if matches!(bytes.get(user_end), Some(b'\\' | b'/')) || is_file_name(user) {
        return;
    }
    let computer = user.ends_with(b"$");
    let acl_entry = bytes[user_end..].starts_with(b":(");
    let worded = word_before(bytes, domain_start, 24, b"'\":", ACCOUNT_WORDS);
    let upper_domain = domain.len() >= 2
        && domain.iter().any(u8::is_ascii_uppercase)
        && !domain.iter().any(u8::is_ascii_lowercase);
    // `ERROR\nat`, `FAILED\tretry`, `X\u0041`: an escape after an upper-case word.
    let escape_like = matches!(
        user[0],
        b'n' | b'r' | b't' | b'u' | b'x' | b'0' | b'b' | b'f'
    ) && separator == 1;
    if !(worded || acl_entry || computer || upper_domain && !escape_like) {
        return;
    }
    let finding = if computer {
        Finding::Host
    } else {
        Finding::User
    };
    push(spans, domain_start, user_end, finding);
}

/// Application pools every IIS has, whose identities name no one.
const DEFAULT_POOLS: &[&str] = &[
    "defaultapppool",
    "classic .net apppool",
    ".net v2.0",
    ".net v2.0 classic",
    ".net v4.5",
    ".net v4.5 classic",
    ".net v4.0",
    ".net v4.0 classic",
    "asp.net v4.0",
    "asp.net v4.0 classic",
];

/// `IIS APPPOOL\shop-jdoe`: an application pool's identity (`start..end` is the trigger, up to
/// and including its backslash, doubled or not). Quoted, the name runs to the quote (pool names
/// may hold spaces); else it is a run of name bytes.
pub(crate) fn app_pool(bytes: &[u8], start: usize, end: usize, spans: &mut Vec<Span>) {
    if !boundary_before(bytes, start) {
        return;
    }
    let quote = start
        .checked_sub(1)
        .map(|b| bytes[b])
        .filter(|b| matches!(b, b'\'' | b'"'));
    let name_end = match quote {
        Some(q) => run_within(bytes, end, MAX_NAME + 1, |b| b != q && b != b'\n'),
        None => run_within(bytes, end, MAX_NAME + 1, |b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'$')
        }),
    };
    // A sentence's full stop is not part of the name.
    let name_end = if quote.is_none() && name_end > end && bytes[name_end - 1] == b'.' {
        name_end - 1
    } else {
        name_end
    };
    let name = &bytes[end..name_end];
    if name.is_empty() || name.len() > MAX_NAME || starts_with_token(bytes, end) {
        return;
    }
    let default = DEFAULT_POOLS
        .iter()
        .any(|p| name.eq_ignore_ascii_case(p.as_bytes()))
        || quote.is_none()
            && (name.eq_ignore_ascii_case(b".NET") || name.eq_ignore_ascii_case(b"Classic"));
    if !default {
        push(spans, end, name_end, Finding::User);
    }
}

/// A security identifier (`start` is its `S-1-`). Machine and domain accounts
/// (`S-1-5-21-<domain>-<rid>`), IIS pool identities (`S-1-5-82-…`) and Entra ID accounts
/// (`S-1-12-1-…`) identify someone; the well-known ones (`S-1-5-18`, `S-1-5-32-544`,
/// `S-1-5-80-…` services, `S-1-15-…` packages) do not. In a registry path
/// (`HKEY_USERS\S-1-5-21-…\Software`) and with a suffix (`…-1001_Classes`) alike.
pub(crate) fn sid(bytes: &[u8], start: usize, spans: &mut Vec<Span>) {
    if !matches!(bytes[start], b'S' | b's')
        || start > 0 && (is_alnum(bytes[start - 1]) || bytes[start - 1] == b'-')
    {
        return;
    }
    let mut at = start + 4;
    let authority_end = run_within(bytes, at, 15, |b| b.is_ascii_digit());
    if authority_end == at {
        return;
    }
    let authority = &bytes[at..authority_end];
    at = authority_end;
    let mut subs = [0u64; 15];
    let mut count = 0;
    while count < subs.len() && bytes.get(at) == Some(&b'-') {
        let sub_end = run_within(bytes, at + 1, 11, |b| b.is_ascii_digit());
        if sub_end == at + 1 || sub_end - at - 1 > 10 {
            break;
        }
        subs[count] = bytes[at + 1..sub_end]
            .iter()
            .fold(0, |v, d| v * 10 + u64::from(d - b'0'));
        if subs[count] > u64::from(u32::MAX) {
            return;
        }
        count += 1;
        at = sub_end;
    }
    if bytes.get(at).is_some_and(|b| is_alnum(*b) || *b == b'-') {
        return;
    }
    let personal = match (authority, subs[0]) {
        (b"5", 21) => count >= 4,
        (b"5", 82) => count >= 2,
        (b"12", _) => count >= 2,
        _ => false,
    };
    if personal {
        push(spans, start, at, Finding::Sid);
    }
}

/// Shares whose folders are people's: home folders, roaming and redirected profiles.
const PERSONAL_SHARES: &[&str] = &[
    "home",
    "homes",
    "homedir",
    "homedirs",
    "homefolders",
    "users",
    "user",
    "userhome",
    "userhomes",
    "userdata",
    "userfolders",
    "profiles",
    "profile",
    "roaming",
    "roamingprofiles",
    "tsprofiles",
    "rdsprofiles",
    "vdiprofiles",
    "redirect",
    "redirected",
    "redirection",
    "redirections",
    "folderredirection",
    "redirectedfolders",
    "personal",
    "staff",
    "students",
    "mydocs",
    "documents",
];

/// Folders under `Users` or `home` that belong to nobody in particular.
pub(crate) const SHARED_FOLDERS: &[&str] =
    &["public", "default", "default user", "all users", "shared"];

fn is_personal_share(name: &[u8]) -> bool {
    let name = name.strip_suffix(b"$").unwrap_or(name);
    PERSONAL_SHARES
        .iter()
        .any(|s| name.eq_ignore_ascii_case(s.as_bytes()))
}

/// `\\server\share`: the server is a host, the share often a person's name, and under a share
/// of people's folders (`\\fs01\home$\jdoe`, `\\fs01\profiles\jdoe.V6`,
/// `\\fs01\dfs\redirect\jdoe`) the folder after it names a person. Also with every backslash
/// doubled, as JSON writes them.
pub(crate) fn unc(bytes: &[u8], start: usize, spans: &mut Vec<Span>) {
    let opens = start == 0
        || bytes[start - 1].is_ascii_whitespace()
        || matches!(
            bytes[start - 1],
            b'"' | b'\'' | b'(' | b'=' | b'<' | b'>' | b',' | b'['
        );
    if !opens {
        return;
    }
    let escaped = bytes[start..].starts_with(b"\\\\\\\\");
    let separator: &[u8] = if escaped { b"\\\\" } else { b"\\" };
    let server_start = start + 2 * separator.len();
    let server_end = run_within(bytes, server_start, 256, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')
    });
    if server_end == server_start || !bytes[server_end..].starts_with(separator) {
        return;
    }
    if !starts_with_token(bytes, server_start) {
        push(spans, server_start, server_end, Finding::Host);
    }
    let folder = |from: usize| run_within(bytes, from, 256, |b| !path_delimiter(b));
    let share_start = server_end + separator.len();
    let share_end = folder(share_start);
    push(spans, share_start, share_end, Finding::Share);
    let mut personal = is_personal_share(&bytes[share_start..share_end]);
    let mut at = share_end;
    for _ in 0..3 {
        if !bytes[at..].starts_with(separator) {
            return;
        }
        let name_start = at + separator.len();
        let name_end = folder(name_start);
        let name = &bytes[name_start..name_end];
        if name.is_empty() {
            return;
        }
        if personal {
            if !SHARED_FOLDERS
                .iter()
                .any(|f| name.eq_ignore_ascii_case(f.as_bytes()))
                && !starts_with_token(bytes, name_start)
            {
                push(spans, name_start, name_end, Finding::User);
            }
            return;
        }
        personal = is_personal_share(name);
        at = name_end;
    }
}

/// Containers and groups every Active Directory has: a DN's `CN=` with one of these names no
/// one.
const WELL_KNOWN_CNS: &[&str] = &[
    "users",
    "computers",
    "builtin",
    "system",
    "configuration",
    "schema",
    "services",
    "sites",
    "partitions",
    "foreignsecurityprincipals",
    "program data",
    "microsoft",
    "policies",
    "managed service accounts",
    "keys",
    "infrastructure",
    "lostandfound",
    "ntds quotas",
    "tpm devices",
    "domain admins",
    "domain users",
    "domain guests",
    "domain computers",
    "domain controllers",
    "enterprise admins",
    "schema admins",
    "administrators",
    "administrator",
    "guest",
    "guests",
    "krbtgt",
    "group policy creator owners",
    "cert publishers",
    "account operators",
    "server operators",
    "backup operators",
    "print operators",
    "remote desktop users",
    "dnsadmins",
    "dnsupdateproxy",
    "protected users",
    "key admins",
    "enterprise key admins",
    "read-only domain controllers",
    "iis_iusrs",
    "replicator",
];

/// Words that end a group's name (`Shop Admins`, `Payroll Readers`).
const GROUP_WORDS: &[&str] = &[
    "admins",
    "administrators",
    "users",
    "group",
    "groups",
    "operators",
    "readers",
    "writers",
    "owners",
    "members",
    "editors",
    "contributors",
    "service",
    "services",
    "servers",
    "computers",
    "accounts",
    "team",
    "teams",
    "staff",
    "developers",
    "approvers",
];

/// `CN=Jane Doe,OU=Staff,DC=corp,DC=example`: the common name of a distinguished name (an
/// LDAP or Active Directory one, followed by another component) names a person, unless it is
/// a container or group every directory has, or a host name (a certificate's subject). `start`
/// is the `CN=`.
pub(crate) fn distinguished_name(bytes: &[u8], start: usize, spans: &mut Vec<Span>) {
    if start > 0
        && !(bytes[start - 1].is_ascii_whitespace()
            || matches!(
                bytes[start - 1],
                b',' | b'"' | b'\'' | b'(' | b'/' | b';' | b'<' | b'[' | b'=' | b':' | b'{'
            ))
    {
        return;
    }
    let value_start = start + 3;
    // Up to an unescaped separator; `\,` and `\2C` are escapes.
    let limit = bytes.len().min(value_start + 128);
    let mut at = value_start;
    while at < limit {
        match bytes[at] {
            b'\\' => at += 2,
            b',' | b'+' | b';' | b'"' | b'\'' | b')' | b'>' | b'\n' | b'\r' => break,
            _ => at += 1,
        }
    }
    let mut value_end = at.min(limit);
    if value_end >= limit || bytes.get(value_end) != Some(&b',') {
        return;
    }
    // The next component: `OU=`, `DC=`, `CN=`, `O=`, `L=`, `C=`, `ST=`, `UID=`.
    let next = run_within(bytes, value_end + 1, 2, |b| b == b' ');
    let type_end = run_within(bytes, next, 6, |b| b.is_ascii_alphabetic());
    let attribute = &bytes[next..type_end];
    if bytes.get(type_end) != Some(&b'=')
        || !["ou", "dc", "cn", "o", "l", "c", "st", "uid", "street"]
            .iter()
            .any(|t| attribute.eq_ignore_ascii_case(t.as_bytes()))
    {
        return;
    }
    while value_end > value_start && bytes[value_end - 1] == b' ' {
        value_end -= 1;
    }
    let value = &bytes[value_start..value_end];
    if value.is_empty() || starts_with_token(bytes, value_start) {
        return;
    }
    let well_known = WELL_KNOWN_CNS
        .iter()
        .any(|c| value.eq_ignore_ascii_case(c.as_bytes()));
    // `CN=Shop Admins`, `CN=Payroll Readers`, `CN=x,OU=Groups,…`: a group, named for what its
    // members do, not a person. Only the next component is read.
    let last_word = value.rsplit(|b| *b == b' ').next().unwrap_or(value);
    let next_value_end = run_within(bytes, type_end + 1, 64, |b| {
        !matches!(b, b',' | b'+' | b';' | b'"' | b'\'' | b')' | b'\n')
    });
    let next_value = &bytes[type_end + 1..next_value_end];
    let group = GROUP_WORDS
        .iter()
        .any(|w| last_word.eq_ignore_ascii_case(w.as_bytes()))
        || attribute.eq_ignore_ascii_case(b"ou")
            && next_value
                .windows(5)
                .any(|w| w.eq_ignore_ascii_case(b"group"));
    // `CN=api.example.com`: a service's host name, as certificates' subjects carry.
    let host_name = value.contains(&b'.')
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'*'));
    if !well_known && !host_name && !group {
        push(spans, value_start, value_end, Finding::User);
    }
}

/// The names Windows makes up for a computer: a prefix and a fixed number of random upper-case
/// letters and digits.
const MADE_UP_COMPUTER_NAMES: &[(&str, usize)] = &[
    ("DESKTOP-", 7),
    ("LAPTOP-", 8),
    ("WIN-", 11),
    ("EC2AMAZ-", 7),
    ("MININT-", 7),
];

fn host_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// A host name's domain after its first label (`.corp.example.com`), from `at`: where it ends.
fn domain_after(bytes: &[u8], at: usize) -> usize {
    let mut end = at;
    while bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_alphanumeric)
    {
        let label_end = run_within(bytes, end + 1, 63, host_char);
        end = label_end;
    }
    end
}

/// `DESKTOP-8F3K2L1`, `LAPTOP-Q7RT2M4K`, `WIN-3J5K7L9M2N4`, with its domain if one follows
/// (`start..end` is the prefix).
pub(crate) fn made_up_computer_name(bytes: &[u8], start: usize, end: usize, spans: &mut Vec<Span>) {
    let prefix = &bytes[start..end];
    let Some(&(_, length)) = MADE_UP_COMPUTER_NAMES
        .iter()
        .find(|(p, _)| prefix == p.as_bytes())
    else {
        return;
    };
    if start > 0 && (is_alnum(bytes[start - 1]) || matches!(bytes[start - 1], b'-' | b'_')) {
        return;
    }
    let name_end = run_within(bytes, end, length + 1, |b| {
        b.is_ascii_uppercase() || b.is_ascii_digit()
    });
    if name_end - end != length
        || bytes
            .get(name_end)
            .is_some_and(|b| is_alnum(*b) || matches!(b, b'-' | b'_'))
    {
        return;
    }
    push(spans, start, domain_after(bytes, name_end), Finding::Host);
}

/// Words naming a product or a platform, not a person, that come before a device word in
/// software's names (`docker-desktop`, `ubuntu-desktop`, `signal-desktop`).
const NOT_PEOPLE: &[&str] = &[
    "docker",
    "github",
    "gitlab",
    "remote",
    "windows",
    "win",
    "ubuntu",
    "gnome",
    "kde",
    "xfce",
    "lxde",
    "lxqt",
    "mate",
    "budgie",
    "cinnamon",
    "pantheon",
    "deepin",
    "kali",
    "linux",
    "debian",
    "fedora",
    "arch",
    "manjaro",
    "mint",
    "pop",
    "elementary",
    "vmware",
    "citrix",
    "parallels",
    "virtual",
    "virtualbox",
    "chrome",
    "chromium",
    "electron",
    "tauri",
    "flutter",
    "compose",
    "dev",
    "test",
    "build",
    "ci",
    "my",
    "your",
    "the",
    "new",
    "old",
    "home",
    "office",
    "work",
    "lab",
    "gaming",
    "game",
    "shared",
    "client",
    "server",
    "admin",
    "user",
    "guest",
    "default",
    "local",
    "mac",
    "apple",
    "dell",
    "hp",
    "lenovo",
    "asus",
    "acer",
    "msi",
    "razer",
    "surface",
    "microsoft",
    "amd",
    "intel",
    "nvidia",
    "claude",
    "signal",
    "slack",
    "teams",
    "zoom",
    "discord",
    "spotify",
    "steam",
    "obs",
    "vscode",
    "code",
    "cursor",
    "notion",
    "figma",
    "postman",
    "insomnia",
    "telegram",
    "whatsapp",
    "skype",
    "webex",
    "anydesk",
    "rustdesk",
    "teamviewer",
    "nomachine",
    "firefox",
    "brave",
    "edge",
    "opera",
    "android",
    "ios",
    "macos",
    "osx",
    "legacy",
    "modern",
    "classic",
    "generic",
    "any",
    "all",
    "cloud",
    "azure",
    "aws",
    "gcp",
    "jetbrains",
    "xcode",
    "react",
    "native",
    "qt",
    "gtk",
    "unity",
    "godot",
    "tools",
    "utils",
    "app",
    "apps",
    "common",
    "core",
    "base",
    "lib",
    "sdk",
    "api",
    "web",
    "mobile",
    "tablet",
    "portable",
    "setup",
    "installer",
    "launcher",
    "runtime",
    "host",
    "node",
    "agent",
    "service",
    "bridge",
    "proxy",
    "gateway",
    "plugin",
    "theme",
    "simple",
    "ibm",
    "toshiba",
    "sony",
    "samsung",
    "huawei",
    "xiaomi",
    "framework",
    "system",
    "x",
    "wsl",
    "hyper",
];

/// The words that make a host name a person's device.
const DEVICE_WORDS: &[&str] = &[
    "laptop",
    "pc",
    "desktop",
    "macbook",
    "mbp",
    "imac",
    "iphone",
    "ipad",
    "workstation",
    "notebook",
    "thinkpad",
];

/// `jsmith-laptop`, `Janes-MacBook-Pro.local`, `alice-pc.corp.example.com`: a host name that
/// names its owner and their device (`start..end` is `-` and the device word). The owner's part
/// is one or two words of letters (digits after them allowed), not a product's or a
/// platform's name; the device word ends the first label, maybe with `-Pro`, `-Air`, `-2`; a
/// domain after it goes too. A target triple (`x86_64-pc-windows-msvc`) or a package
/// (`docker-desktop`, `ubuntu-desktop-minimal`) is none.
pub(crate) fn device_name(bytes: &[u8], start: usize, end: usize, spans: &mut Vec<Span>) {
    // The device word, whole, and what may follow it in the label.
    let word_end = run_within(bytes, start + 1, 16, |b| b.is_ascii_alphabetic());
    let word = &bytes[start + 1..word_end];
    if word_end != end
        || !DEVICE_WORDS
            .iter()
            .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
    {
        return;
    }
    let mut label_end = run_within(bytes, word_end, 3, |b| b.is_ascii_digit());
    for _ in 0..2 {
        if bytes.get(label_end) != Some(&b'-') {
            break;
        }
        let part_end = run_within(bytes, label_end + 1, 8, is_alnum);
        let part = &bytes[label_end + 1..part_end];
        let model = ["pro", "air", "max", "mini", "m1", "m2", "m3", "m4"]
            .iter()
            .any(|m| part.eq_ignore_ascii_case(m.as_bytes()))
            || !part.is_empty() && part.iter().all(u8::is_ascii_digit);
        if !model {
            return;
        }
        label_end = part_end;
    }
    if bytes
        .get(label_end)
        .is_some_and(|b| is_alnum(*b) || matches!(b, b'-' | b'_'))
    {
        return;
    }
    // The owner's part: one or two words before the `-`.
    let mut owner_start = start;
    for part in 0..2 {
        let letters_end = run_back(bytes, owner_start, 4, |b| b.is_ascii_digit());
        let letters_start = run_back(bytes, letters_end, 24, |b| b.is_ascii_alphabetic());
        let name = &bytes[letters_start..letters_end];
        if name.len() < 2
            || NOT_PEOPLE
                .iter()
                .any(|w| name.eq_ignore_ascii_case(w.as_bytes()))
        {
            return;
        }
        owner_start = letters_start;
        if part == 0 && owner_start > 1 && bytes[owner_start - 1] == b'-' {
            owner_start -= 1;
            continue;
        }
        break;
    }
    if bytes[owner_start] == b'-' {
        return;
    }
    if owner_start > 0
        && (is_alnum(bytes[owner_start - 1])
            || matches!(bytes[owner_start - 1], b'_' | b'.' | b'-'))
    {
        return;
    }
    push(
        spans,
        owner_start,
        domain_after(bytes, label_end),
        Finding::Host,
    );
}

/// `~jdoe/…`: a user's home folder by their name (`at` is the `~`); `~/` is one's own and names
/// no one, `PROGRA~1` is a short file name.
pub(crate) fn tilde_user(bytes: &[u8], at: usize, spans: &mut Vec<Span>) {
    if at > 0
        && !(bytes[at - 1].is_ascii_whitespace()
            || matches!(
                bytes[at - 1],
                b'"' | b'\'' | b'/' | b'=' | b':' | b'(' | b',' | b'[' | b'`'
            ))
    {
        return;
    }
    let name_start = at + 1;
    if !bytes
        .get(name_start)
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
    {
        return;
    }
    let name_end = run_within(bytes, name_start, 33, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
    });
    if name_end - name_start > 32
        || !matches!(bytes.get(name_end), Some(b'/' | b'\\'))
        || starts_with_token(bytes, name_start)
    {
        return;
    }
    // After a blank (or where the text starts, as a line does), prose uses the same shape
    // (`approx ~half/most`): a path says more, with a second folder, a file's extension, or a
    // command that takes paths before it.
    if at == 0 || bytes[at - 1].is_ascii_whitespace() {
        let path_end = run_within(bytes, name_end, 256, |b| {
            !(b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'`' | b')' | b','))
        });
        let path = &bytes[name_end..path_end];
        let deeper = path.iter().filter(|b| matches!(b, b'/' | b'\\')).count() >= 2
            || path.iter().rposition(|b| *b == b'.').is_some_and(|dot| {
                dot + 1 < path.len() && path[dot + 1..].iter().all(u8::is_ascii_alphanumeric)
            });
        const COMMANDS: &[&str] = &[
            "cd", "ls", "cp", "mv", "rm", "cat", "less", "tail", "tar", "chmod", "chown", "rsync",
            "scp", "vim", "vi", "nano", "open", "code", "source", "find", "du", "mkdir",
        ];
        if !deeper && !word_before(bytes, at, 16, b"", COMMANDS) {
            return;
        }
    }
    push(spans, name_start, name_end, Finding::User);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str, f: impl Fn(&[u8], &mut Vec<Span>)) -> Vec<(Finding, String)> {
        let mut spans = Vec::new();
        f(text.as_bytes(), &mut spans);
        spans
            .iter()
            .map(|s| (s.finding, text[s.start()..s.end()].to_owned()))
            .collect()
    }

    #[test]
    fn security_identifiers_of_accounts_but_not_well_known_ones() {
        let sid_at = |text: &str| found(text, |b, s| sid(b, text.find("S-1-").unwrap_or(0), s));
        assert_eq!(
            sid_at("owner S-1-5-21-3623811015-3361044348-30300820-1013 denied"),
            vec![(
                Finding::Sid,
                "S-1-5-21-3623811015-3361044348-30300820-1013".to_owned()
            )]
        );
        for keep in [
            "S-1-5-18",
            "S-1-5-32-544",
            "S-1-1-0",
            "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
            "S-1-16-12288",
            "S-1-5-21-99999999999-1-2-3",
        ] {
            assert!(sid_at(keep).is_empty(), "{keep}");
        }
    }
}
