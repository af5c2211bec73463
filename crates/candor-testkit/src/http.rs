//! An HTTP/1.1 receiver on loopback, served by Candor's one HTTP server (candor-http-server),
//! with scripted faults.
//!
//! Every fault is an answer a real server can give, so hyper gives it: a status with
//! `Retry-After`, a redirect, an answer held back, a huge body streamed as it is sent, and a
//! reply cut short (a streamed body aborted after its first bytes, which closes the connection
//! before the declared `Content-Length` is reached). No fault needs a raw socket.

use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use candor_http_server::http::{self, HeaderValue, StatusCode, header};
use candor_http_server::{
    BackgroundServer, Request, Server, ServerConfig, StreamingResponse, TlsFiles, reply_channel,
};
use flate2::read::GzDecoder;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message;

use crate::{Log, Received, otlp};

/// The most a gzip body may inflate to; beyond it the request is refused (413).
const MAX_INFLATED_BYTES: u64 = 256 << 20;

/// What the receiver does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (and `Retry-After`, when given) without recording events.
    Status(u16, Option<String>),
    /// Hold the answer this long, then refuse it (503) without recording events; a client whose
    /// timeout is shorter gives up first.
    Slow(Duration),
    /// Answer 200 with a `Content-Length` of 100, send the first bytes, then close the
    /// connection.
    Cut,
    /// Answer with this redirect status and `Location`, without recording events.
    Redirect(u16, String),
    /// Answer this status with a body of this many bytes (streamed, never held in memory),
    /// without recording events.
    Huge(u16, u64),
}

impl Fault {
    /// Panics on the test's thread for a fault no HTTP server can send: a status outside
    /// 100–999, a header value with control characters.
    fn check(&self) {
        let (code, header) = match self {
            Self::Status(code, retry_after) => (Some(*code), retry_after.as_deref()),
            Self::Redirect(code, location) => (Some(*code), Some(location.as_str())),
            Self::Huge(code, _) => (Some(*code), None),
            Self::Slow(_) | Self::Cut => (None, None),
        };
        if let Some(code) = code {
            assert!(
                StatusCode::from_u16(code).is_ok(),
                "{self:?}: {code} is not an HTTP status"
            );
        }
        if let Some(value) = header {
            assert!(
                HeaderValue::from_str(value).is_ok(),
                "{self:?}: not a header value"
            );
        }
    }
}

/// One request as the receiver saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenRequest {
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    /// Header names lower-cased, as received (repeated names grouped together).
    pub headers: Vec<(String, String)>,
}

#[derive(Default)]
struct Shared {
    log: Mutex<Log>,
    faults: Mutex<VecDeque<Fault>>,
}

/// The receiver; stops when dropped.
pub struct HttpReceiver {
    port: u16,
    shared: Arc<Shared>,
    // Declared before `tls`: the server stops before the certificate files are removed.
    _server: BackgroundServer,
    tls: Option<TestCa>,
}

/// A certificate authority made at test time, and the PEM file its certificate is in.
pub struct TestCa {
    pub pem: String,
    pub file: PathBuf,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl HttpReceiver {
    /// Starts on a free loopback port.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Starts an HTTPS receiver on a free loopback port, with a certificate for `localhost`
    /// and `127.0.0.1` issued by a CA made now ([`HttpReceiver::ca`]).
    pub fn start_tls() -> Self {
        let (ca, certificate, key) = make_ca_pems();
        let dir = ca.file.parent().unwrap().to_owned();
        let files = TlsFiles {
            certificate_chain: dir.join("server.pem"),
            private_key: dir.join("server.key"),
        };
        std::fs::write(&files.certificate_chain, certificate).unwrap();
        std::fs::write(&files.private_key, key).unwrap();
        Self::start_with(Some((ca, files)))
    }

    fn start_with(tls: Option<(TestCa, TlsFiles)>) -> Self {
        let (ca, files) = match tls {
            Some((ca, files)) => (Some(ca), Some(files)),
            None => (None, None),
        };
        let config = ServerConfig {
            // Far above what a sink sends (its spool holds 8 MiB), so no test meets the cap.
            max_body_bytes: 64 << 20,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            // A held or streaming answer does not keep a test waiting when the receiver goes.
            shutdown_grace: Duration::from_millis(100),
            tls: files,
            ..ServerConfig::default()
        };
        let shared = Arc::new(Shared::default());
        let handler = {
            let shared = Arc::clone(&shared);
            move |request: Request| serve(Arc::clone(&shared), request)
        };
        let server = Server::spawn("127.0.0.1:0", config, handler).unwrap();
        Self {
            port: server.local_addr().port(),
            shared,
            _server: server,
            tls: ca,
        }
    }

    /// The CA that issued an HTTPS receiver's certificate.
    pub fn ca(&self) -> Option<&TestCa> {
        self.tls.as_ref()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port><path>` (`https://` for a TLS receiver).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// The next requests meet these faults, in order; after them, requests succeed.
    pub fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        let faults: Vec<Fault> = faults.into_iter().collect();
        faults.iter().for_each(Fault::check);
        self.shared.faults.lock().unwrap().extend(faults);
    }

    pub fn log(&self) -> Log {
        self.shared.log.lock().unwrap().clone()
    }

    pub fn events(&self) -> Vec<Received> {
        self.log().events
    }

    /// Waits up to `timeout` for at least `n` events.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let end = std::time::Instant::now() + timeout;
        loop {
            let events = self.events();
            if events.len() >= n || std::time::Instant::now() >= end {
                return events;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

async fn serve(shared: Arc<Shared>, request: Request) -> StreamingResponse {
    let (parts, body) = request.into_parts();
    let header_text = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let path = parts.uri.path().to_owned();
    let gzip =
        header_text(header::CONTENT_ENCODING).is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let authorization = header_text(header::AUTHORIZATION);
    let content_type = header_text(header::CONTENT_TYPE)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let fault = {
        let mut log = shared.log.lock().unwrap();
        log.requests += 1;
        log.seen.push(SeenRequest {
            method: parts.method.to_string(),
            target: parts
                .uri
                .path_and_query()
                .map_or_else(|| path.clone(), |t| t.as_str().to_owned()),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
        });
        drop(log);
        shared.faults.lock().unwrap().pop_front()
    };
    match fault {
        Some(Fault::Status(code, retry_after)) => {
            let mut response = empty(code);
            if let Some(after) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_str(&after).unwrap());
            }
            return response;
        }
        Some(Fault::Redirect(code, location)) => {
            let mut response = empty(code);
            response
                .headers_mut()
                .insert(header::LOCATION, HeaderValue::from_str(&location).unwrap());
            return response;
        }
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            return empty(503);
        }
        Some(Fault::Cut) => return cut().await,
        Some(Fault::Huge(code, size)) => return huge(&shared, code, size),
        None => {}
    }
    let body = if gzip {
        let mut out = Vec::new();
        let inflated = GzDecoder::new(&body[..])
            .take(MAX_INFLATED_BYTES + 1)
            .read_to_end(&mut out);
        match inflated {
            Err(_) => return empty(400),
            Ok(n) if n as u64 > MAX_INFLATED_BYTES => return empty(413),
            Ok(_) => out,
        }
    } else {
        body.to_vec()
    };
    let events = decode(&path, &content_type, &body);
    {
        let mut log = shared.log.lock().unwrap();
        log.authorizations.push(authorization);
        log.bodies.push(body);
        match events {
            Some(events) => log.events.extend(events),
            None => return empty(400),
        }
    }
    let (kind, reply): (&str, &[u8]) = if path == "/v1/logs" {
        ("application/x-protobuf", b"")
    } else {
        ("application/json", b"{}")
    };
    let mut response = http::Response::new(bytes::Bytes::from_static(reply).into());
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    response
}

/// A status with an empty body.
fn empty(code: u16) -> StreamingResponse {
    let mut response = http::Response::new(bytes::Bytes::new().into());
    *response.status_mut() = StatusCode::from_u16(code).unwrap();
    response
}

/// 200 declaring 100 bytes, of which only the first few are sent before the connection closes.
async fn cut() -> StreamingResponse {
    let (mut sender, body) = reply_channel(2);
    if sender
        .send(bytes::Bytes::from_static(b"{\"par"))
        .await
        .is_ok()
    {
        sender.abort().await;
    }
    let mut response = http::Response::new(body);
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(100));
    response
}

/// `size` bytes streamed 64 KiB at a time, never held; notes in the log when the client closed
/// the connection before the end.
fn huge(shared: &Arc<Shared>, code: u16, size: u64) -> StreamingResponse {
    let (mut sender, body) = reply_channel(4);
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let chunk = bytes::Bytes::from(vec![b'x'; 64 * 1024]);
        let mut left = size;
        while left > 0 {
            let n = left.min(chunk.len() as u64);
            if sender.send(chunk.slice(..n as usize)).await.is_err() {
                shared.log.lock().unwrap().huge_cut_short = true;
                return;
            }
            left -= n;
        }
    });
    let mut response = http::Response::new(body);
    *response.status_mut() = StatusCode::from_u16(code).unwrap();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    response
}

/// A CA (made now, with rcgen), and a server certificate and key (PEM) it issued for
/// `localhost` and `127.0.0.1`.
pub(crate) fn make_ca_pems() -> (TestCa, String, String) {
    make_ca_pems_for(&["localhost", "127.0.0.1"])
}

/// [`make_ca_pems`] with a server certificate for `names`.
fn make_ca_pems_for(names: &[&str]) -> (TestCa, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Candor test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let dir = std::env::temp_dir().join(format!(
        "candor-test-ca-{}-{}",
        std::process::id(),
        NEXT_CA.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let pem = ca_cert.pem();
    let file = dir.join("ca.pem");
    std::fs::write(&file, &pem).unwrap();
    (
        TestCa {
            pem,
            file,
            _dir: TempDir(dir),
        },
        leaf.pem(),
        leaf_key.serialize_pem(),
    )
}

static NEXT_CA: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl TestCa {
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// A new CA, and a server certificate and its private key (PEM) that it issued for
    /// `localhost` and `127.0.0.1`, for a server under test that reads them from files.
    pub fn with_server_certificate() -> (Self, String, String) {
        make_ca_pems()
    }

    /// A new CA, and a server certificate and its key (PEM) that it issued for `names` (host
    /// names or IP addresses).
    pub fn with_server_certificate_for(names: &[&str]) -> (Self, String, String) {
        make_ca_pems_for(names)
    }
}

fn decode(path: &str, content_type: &str, body: &[u8]) -> Option<Vec<Received>> {
    if path == "/v1/logs" && content_type.contains("protobuf") {
        let request = ExportLogsServiceRequest::decode(body).ok()?;
        return Some(otlp::events(&request));
    }
    let array: Vec<serde_json::Value> = serde_json::from_slice(body).ok()?;
    Some(
        array
            .into_iter()
            .map(|e| Received {
                event_id: e["event_id"].as_str().unwrap_or_default().to_owned(),
                point: e["point"].as_str().unwrap_or_default().to_owned(),
                product: e["product"].as_str().unwrap_or_default().to_owned(),
                value: e["value"].clone(),
            })
            .collect(),
    )
}
