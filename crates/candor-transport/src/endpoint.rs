//! Where a sink sends: parsed with the WHATWG URL rules and checked before anything is sent.

use std::fmt;
use std::net::{Ipv6Addr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Duration;

use url::{Host, Url};

use crate::TransportError;

/// A checked endpoint URL.
///
/// Its [`Display`](fmt::Display) and [`Debug`] forms show scheme, host, port and path only: a
/// query string or fragment (where a `?token=` would sit) never reaches a message, a log or a
/// receipt. Only [`Endpoint::url`] gives the whole URL, for the request itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: Url,
    loopback: bool,
}

impl Endpoint {
    /// Checks `url`: `https://` anywhere, plain `http://` only to a loopback address
    /// (`localhost`, `127.0.0.0/8`, `::1`), no credentials in the URL, a port within range.
    /// The URL is used as given.
    pub fn parse(url: &str) -> Result<Self, TransportError> {
        let bad = |why: &str| TransportError::Endpoint {
            url: shown_raw(url),
            reason: why.to_owned(),
        };
        let parsed = Url::parse(url.trim()).map_err(|e| bad(&format!("not a URL ({e})")))?;
        match parsed.scheme() {
            "http" | "https" => {}
            _ => return Err(bad("only http:// and https:// are supported")),
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad(
                "credentials in a URL end up in logs; give a token instead",
            ));
        }
        let loopback = match parsed.host() {
            None => return Err(bad("no host")),
            Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(v4)) => v4.is_loopback(),
            Some(Host::Ipv6(v6)) => v6 == Ipv6Addr::LOCALHOST,
        };
        if parsed.scheme() == "http" && !loopback {
            return Err(bad(
                "plain http:// is refused except to this machine (localhost, 127.0.0.1, ::1); use https://",
            ));
        }
        Ok(Self {
            url: parsed,
            loopback,
        })
    }

    /// Checks `url` as OTLP users write it: a base URL with no path
    /// (`http://127.0.0.1:4318`) gets the signal's path appended (`/v1/logs`); a URL with a
    /// path is used as given.
    pub fn with_signal_path(url: &str, signal_path: &str) -> Result<Self, TransportError> {
        let mut endpoint = Self::parse(url)?;
        if endpoint.url.path().is_empty() || endpoint.url.path() == "/" {
            endpoint.url.set_path(signal_path);
        }
        Ok(endpoint)
    }

    /// The whole URL, query included: for the request only, never for display.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// The host part (an IPv6 address without brackets).
    pub fn host(&self) -> String {
        match self.url.host() {
            Some(Host::Ipv6(v6)) => v6.to_string(),
            Some(host) => host.to_string(),
            None => String::new(),
        }
    }

    /// The port, explicit or the scheme's default.
    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(0)
    }

    /// The path.
    pub fn path(&self) -> &str {
        self.url.path()
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    /// Whether the endpoint is on this machine.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }

    /// Whether something accepts a TCP connection at the endpoint's host and port within
    /// `within`, name resolution included; nothing is sent. The caller waits no longer than
    /// `within` whatever the resolver does (the check finishes on a thread of its own).
    pub fn accepts_connection(&self, within: Duration) -> bool {
        let target = (self.host(), self.port());
        let (answer, answered) = mpsc::channel();
        let started = std::thread::Builder::new()
            .name("candor-probe".to_owned())
            .spawn(move || {
                let reached = target.to_socket_addrs().is_ok_and(|mut addresses| {
                    addresses
                        .by_ref()
                        .take(4)
                        .any(|a| TcpStream::connect_timeout(&a, within).is_ok())
                });
                let _ = answer.send(reached);
            });
        started.is_ok() && answered.recv_timeout(within).unwrap_or(false)
    }
}

impl fmt::Display for Endpoint {
    /// Scheme, host, port and path; never the query or fragment.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match self.url.host() {
            Some(Host::Ipv6(v6)) => format!("[{v6}]"),
            Some(host) => host.to_string(),
            None => String::new(),
        };
        write!(f, "{}://{host}", self.url.scheme())?;
        if let Some(port) = self.url.port() {
            write!(f, ":{port}")?;
        }
        f.write_str(self.url.path())?;
        if self.url.query().is_some() {
            f.write_str("?…")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({self})")
    }
}

/// A URL as it may be shown, parsed or not: cut at the query or fragment and at 200
/// characters, control characters removed, and any user-info (`user:password@`) replaced by
/// `…@`. Whatever sits before the last `@` ahead of the query (after the scheme's `//`) is
/// hidden, even where a URL parser would read the `@` as part of the path: a name or password
/// never shows, at the cost of hiding part of an odd path.
pub(crate) fn shown_raw(url: &str) -> String {
    let cut = url.find(['?', '#']).map_or(url, |at| &url[..at]);
    let mut shown = match cut.rfind('@') {
        None => cut.to_owned(),
        Some(at) => {
            let authority = authority_start(cut)
                .filter(|&start| start <= at)
                .unwrap_or(0);
            format!("{}…@{}", &cut[..authority], &cut[at + 1..])
        }
    };
    shown = shown
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if cut.len() < url.len() {
        shown.push_str("?…");
    }
    shown
}

/// Where the authority begins in `url`: after `scheme:` and the slashes (or backslashes, which
/// the WHATWG rules read as slashes) that follow it; `None` without them.
fn authority_start(url: &str) -> Option<usize> {
    let colon = url.find(':')?;
    let scheme = &url[..colon];
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let rest = &url[colon + 1..];
    let slashes = rest.len() - rest.trim_start_matches(['/', '\\']).len();
    (is_scheme && slashes > 0).then_some(colon + 1 + slashes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_answers_whether_something_listens_and_never_waits_past_its_time() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let open = Endpoint::parse(&format!("http://127.0.0.1:{port}/v1/events?k=v")).expect("url");
        assert!(open.accepts_connection(Duration::from_secs(2)));
        drop(listener);
        assert!(!open.accepts_connection(Duration::from_secs(2)));
        // A name no resolver answers quickly: the wait is bounded all the same.
        let far = Endpoint::parse("https://unresolvable.invalid:4318/").expect("url");
        let started = std::time::Instant::now();
        assert!(!far.accepts_connection(Duration::from_millis(300)));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn plain_http_only_on_loopback() {
        for ok in [
            "http://127.0.0.1:4318/v1/logs",
            "http://localhost:8080",
            "http://[::1]:9000/x",
            "http://127.8.9.10/",
            "https://telemetry.dotnet.contrastsecurity.com/api",
        ] {
            assert!(Endpoint::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://telemetry.example.com/",
            "http://10.0.0.1/",
            "http://localhost.evil.com/",
            "ftp://127.0.0.1/",
            "https://user:pw@example.com/",
            "https://user@example.com/",
            "127.0.0.1:4318",
            "http:///path",
            "http://[::1]evil.com/",
            "http://127.0.0.1:99999/",
            "http://[::ffff:10.0.0.1]/",
        ] {
            let err = Endpoint::parse(bad).expect_err(bad);
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn a_base_url_gets_the_signal_path() {
        for (given, used) in [
            ("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/logs"),
            ("http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/logs"),
            (
                "http://127.0.0.1:4318/v1/logs",
                "http://127.0.0.1:4318/v1/logs",
            ),
            (
                "http://127.0.0.1:4318/custom",
                "http://127.0.0.1:4318/custom",
            ),
            ("http://[::1]:4318?k=v", "http://[::1]:4318/v1/logs?k=v"),
        ] {
            let e = Endpoint::with_signal_path(given, "/v1/logs").expect(given);
            assert_eq!(e.url(), used, "{given}");
        }
    }

    #[test]
    fn queries_never_show() {
        let e = Endpoint::parse("https://example.com:8443/in?token=SECRET#frag").expect("ok");
        assert_eq!(e.to_string(), "https://example.com:8443/in?…");
        assert!(!format!("{e:?}").contains("SECRET"));
        assert!(e.url().contains("SECRET"), "the request still carries it");
        let err = Endpoint::parse("http://evil.example/?token=SECRET").expect_err("refused");
        assert!(!err.to_string().contains("SECRET"), "{err}");
        let err = Endpoint::parse("http://[::1]x/?token=SECRET").expect_err("refused");
        assert!(!err.to_string().contains("SECRET"), "{err}");
    }

    #[test]
    fn user_info_never_shows() {
        for (given, shown) in [
            (
                "http://user:pa55word@127.0.0.1:1/v1/logs?token=X",
                "http://…@127.0.0.1:1/v1/logs?…",
            ),
            ("https://alice@example.com/in", "https://…@example.com/in"),
            ("http:\\\\bob:pw@host/x", "http:\\\\…@host/x"),
            // Not a URL a parser takes, and still nothing of the name or password.
            ("http://user:p/ss@host/", "http://…@host/"),
            ("user:pa55word@host:4318", "…@host:4318"),
            ("http://a@b@127.0.0.1/", "http://…@127.0.0.1/"),
            (
                "http://127.0.0.1:4318/v1/logs",
                "http://127.0.0.1:4318/v1/logs",
            ),
            ("http://127.0.0.1/?q=a@b", "http://127.0.0.1/?…"),
        ] {
            assert_eq!(shown_raw(given), shown, "{given}");
        }
        for url in [
            "http://user:pa55word@127.0.0.1:1/v1/logs?token=X",
            "https://alice:s3cret@example.com/",
            "http://alice:s3cret@evil.example/",
            "ftp://alice:s3cret@127.0.0.1/",
        ] {
            let err = Endpoint::parse(url).expect_err(url).to_string();
            for secret in ["pa55word", "s3cret", "alice", "user:"] {
                assert!(!err.contains(secret), "{err}");
            }
        }
    }
}
