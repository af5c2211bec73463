//! Where a sink sends: checked before anything is sent.

use std::net::{IpAddr, Ipv6Addr};

use crate::TransportError;

/// A checked endpoint URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: String,
    host: String,
    loopback: bool,
}

impl Endpoint {
    /// Checks `url`: `https://` anywhere, plain `http://` only to a loopback address
    /// (`localhost`, `127.0.0.0/8`, `::1`), no credentials in the URL.
    pub fn parse(url: &str) -> Result<Self, TransportError> {
        let bad = |why: &str| TransportError::Endpoint {
            url: url.chars().take(200).collect(),
            reason: why.to_owned(),
        };
        let url = url.trim();
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("not a URL"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(bad("only http:// and https:// are supported"));
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return Err(bad(
                "credentials in a URL end up in logs; give a token instead",
            ));
        }
        let host = if let Some(bracketed) = authority.strip_prefix('[') {
            bracketed.split(']').next().unwrap_or("").to_owned()
        } else {
            authority
                .rsplit_once(':')
                .map_or(authority, |(h, _)| h)
                .to_owned()
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("no host"));
        }
        let loopback = is_loopback(&host);
        if scheme == "http" && !loopback {
            return Err(bad(
                "plain http:// is refused except to this machine (localhost, 127.0.0.1, ::1); use https://",
            ));
        }
        Ok(Self {
            url: url.to_owned(),
            host,
            loopback,
        })
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The host part.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether the endpoint is on this machine.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }
}

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => v6 == Ipv6Addr::LOCALHOST,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "127.0.0.1:4318",
            "http:///path",
        ] {
            let err = Endpoint::parse(bad).expect_err(bad);
            assert!(!err.to_string().is_empty());
        }
    }
}
