//! The dashboard demo's stand-in for its IDE: a loopback endpoint, served by Candor's one HTTP
//! server, that accepts the relay's POSTs to `/telemetry` when they carry its bearer token, and
//! counts the events.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use candor_http_server::http::{HeaderValue, Method, StatusCode, header};
use candor_http_server::{
    BackgroundServer, Request, Response, Server, ServerConfig, WholeReplies, text_response,
};

/// The path the relay posts to.
const PATH: &str = "/telemetry";

/// The largest batch accepted, as sent (gzip) and once inflated.
const MAX_BODY_BYTES: usize = 8 << 20;
const MAX_INFLATED_BYTES: u64 = 32 << 20;

/// A loopback relay endpoint; stops when dropped.
#[derive(Debug)]
pub struct IdeEndpoint {
    server: BackgroundServer,
    token: Arc<str>,
    accepted: Arc<AtomicU64>,
}

impl IdeEndpoint {
    /// Starts on a free loopback port with a token of 128 random bits. Fails when the port
    /// cannot be bound or the system has no random source.
    pub fn start() -> std::io::Result<Self> {
        let mut secret = [0u8; 16];
        getrandom::fill(&mut secret).map_err(|e| {
            std::io::Error::other(format!("no random source for the relay's token: {e}"))
        })?;
        let token: Arc<str> = secret
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into();
        let accepted = Arc::new(AtomicU64::new(0));
        let config = ServerConfig {
            max_body_bytes: MAX_BODY_BYTES,
            header_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(10),
            max_connections: 8,
            shutdown_grace: Duration::from_secs(1),
            ..ServerConfig::default()
        };
        let handler = {
            let (token, accepted) = (Arc::clone(&token), Arc::clone(&accepted));
            move |request: Request| {
                let answer = answer(&token, &accepted, request);
                async move { answer }
            }
        };
        let server = Server::spawn("127.0.0.1:0", config, WholeReplies(handler))
            .map_err(std::io::Error::other)?;
        Ok(Self {
            server,
            token,
            accepted,
        })
    }

    /// The relay URL.
    pub fn url(&self) -> String {
        format!("http://{}{PATH}", self.server.local_addr())
    }

    /// The bearer token the IDE hands the dashboard.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Events accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

/// Accepts a batch (a JSON array, gzip or plain) posted with the token, and counts its events.
fn answer(token: &str, accepted: &AtomicU64, request: Request) -> Response {
    if request.uri().path() != PATH {
        return text_response(StatusCode::NOT_FOUND, "not the relay endpoint\n");
    }
    if request.method() != Method::POST {
        let mut response = text_response(StatusCode::METHOD_NOT_ALLOWED, "POST only\n");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    if !presented.is_some_and(|p| same_bytes(p, token.as_bytes())) {
        let mut response = text_response(StatusCode::UNAUTHORIZED, "a valid token is required\n");
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    let encoding = request.headers().get(header::CONTENT_ENCODING);
    let json = match encoding.map(HeaderValue::as_bytes) {
        None | Some(b"identity") => request.body().to_vec(),
        Some(b"gzip") => {
            let mut json = Vec::new();
            match flate2::read::GzDecoder::new(&request.body()[..])
                .take(MAX_INFLATED_BYTES + 1)
                .read_to_end(&mut json)
            {
                Err(_) => return text_response(StatusCode::BAD_REQUEST, "not gzip\n"),
                Ok(n) if n as u64 > MAX_INFLATED_BYTES => {
                    return text_response(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("the batch inflates beyond {MAX_INFLATED_BYTES} bytes\n"),
                    );
                }
                Ok(_) => json,
            }
        }
        Some(_) => {
            return text_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "gzip or identity only\n",
            );
        }
    };
    match serde_json::from_slice::<Vec<serde::de::IgnoredAny>>(&json) {
        Ok(events) => {
            accepted.fetch_add(events.len() as u64, Ordering::Relaxed);
            text_response(StatusCode::OK, "")
        }
        Err(_) => text_response(StatusCode::BAD_REQUEST, "not a JSON array of events\n"),
    }
}

/// Whether two byte strings are equal, in a time that depends only on their lengths.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::same_bytes;

    #[test]
    fn tokens_compare_whole() {
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"abc", b"ab"));
        assert!(!same_bytes(b"", b"a"));
    }
}
