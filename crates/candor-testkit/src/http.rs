//! A small HTTP/1.1 receiver on loopback, with scripted faults.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flate2::read::GzDecoder;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message;

use crate::{Log, Received, otlp};

/// What the receiver does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (and `Retry-After`, when given) without recording events.
    Status(u16, Option<String>),
    /// Wait this long before answering (beyond the client's timeout, it gives up).
    Slow(Duration),
    /// Send half a response and close the connection.
    Cut,
    /// Answer with this redirect status and `Location`, without recording events.
    Redirect(u16, String),
    /// Answer this status with a body of this many bytes (streamed, never held in memory),
    /// without recording events.
    Huge(u16, u64),
}

/// One request as the receiver saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenRequest {
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
}

#[derive(Default)]
struct Shared {
    log: Mutex<Log>,
    faults: Mutex<VecDeque<Fault>>,
    stop: AtomicBool,
}

/// The receiver; stops when dropped.
pub struct HttpReceiver {
    port: u16,
    shared: Arc<Shared>,
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
        Self::start_with(Some(make_ca()))
    }

    fn start_with(tls: Option<(TestCa, Arc<rustls::ServerConfig>)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let accept = Arc::clone(&shared);
        let (ca, config) = match tls {
            Some((ca, config)) => (Some(ca), Some(config)),
            None => (None, None),
        };
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept.stop.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&accept);
                let config = config.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_nodelay(true);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    match config {
                        None => serve(stream, &shared),
                        Some(config) => {
                            let Ok(connection) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            serve(rustls::StreamOwned::new(connection, stream), &shared);
                        }
                    }
                });
            }
        });
        Self {
            port,
            shared,
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

impl Drop for HttpReceiver {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve<S: Read + Write>(stream: S, shared: &Shared) {
    let mut reader = BufReader::new(stream);
    loop {
        // Whatever the last answer was, it leaves now (over TLS it may still sit in a buffer).
        let _ = reader.get_mut().flush();
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut words = request_line.split_whitespace();
        let method = words.next().unwrap_or("").to_owned();
        let target = words.next().unwrap_or("/").to_owned();
        let path = target.split('?').next().unwrap_or("/").to_owned();
        let mut length = 0usize;
        let mut gzip = false;
        let mut authorization = None;
        let mut content_type = String::new();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                let value = value.trim();
                let name = name.to_ascii_lowercase();
                match name.as_str() {
                    "content-length" => length = value.parse().unwrap_or(0),
                    "content-encoding" => gzip = value.eq_ignore_ascii_case("gzip"),
                    "authorization" => authorization = Some(value.to_owned()),
                    "content-type" => content_type = value.to_ascii_lowercase(),
                    _ => {}
                }
                headers.push((name, value.to_owned()));
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        shared.log.lock().unwrap().seen.push(SeenRequest {
            method,
            target,
            headers,
        });
        let writer = reader.get_mut();
        let fault = shared.faults.lock().unwrap().pop_front();
        match fault {
            Some(Fault::Status(code, retry_after)) => {
                shared.log.lock().unwrap().requests += 1;
                let extra = retry_after
                    .map(|r| format!("retry-after: {r}\r\n"))
                    .unwrap_or_default();
                let _ = write!(
                    writer,
                    "HTTP/1.1 {code} Fault\r\ncontent-length: 0\r\n{extra}\r\n"
                );
                continue;
            }
            Some(Fault::Slow(delay)) => {
                shared.log.lock().unwrap().requests += 1;
                std::thread::sleep(delay);
                return;
            }
            Some(Fault::Cut) => {
                shared.log.lock().unwrap().requests += 1;
                let _ = writer.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"par");
                let _ = writer.flush();
                return;
            }
            Some(Fault::Redirect(code, location)) => {
                shared.log.lock().unwrap().requests += 1;
                let _ = write!(
                    writer,
                    "HTTP/1.1 {code} Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n"
                );
                continue;
            }
            Some(Fault::Huge(code, size)) => {
                shared.log.lock().unwrap().requests += 1;
                let _ = write!(
                    writer,
                    "HTTP/1.1 {code} Huge\r\ncontent-type: application/octet-stream\r\ncontent-length: {size}\r\n\r\n"
                );
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = size;
                while left > 0 {
                    let n = left.min(chunk.len() as u64) as usize;
                    if writer.write_all(&chunk[..n]).is_err() {
                        shared.log.lock().unwrap().huge_cut_short = true;
                        return;
                    }
                    left -= n as u64;
                }
                continue;
            }
            None => {}
        }
        let body = if gzip {
            let mut out = Vec::new();
            if GzDecoder::new(&body[..]).read_to_end(&mut out).is_err() {
                let _ = write!(
                    writer,
                    "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"
                );
                continue;
            }
            out
        } else {
            body
        };
        let events = decode(&path, &content_type, &body);
        {
            let mut log = shared.log.lock().unwrap();
            log.requests += 1;
            log.authorizations.push(authorization);
            log.bodies.push(body);
            match events {
                Some(events) => log.events.extend(events),
                None => {
                    drop(log);
                    let _ = write!(
                        writer,
                        "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"
                    );
                    continue;
                }
            }
        }
        let (kind, reply): (&str, &[u8]) = if path == "/v1/logs" {
            ("application/x-protobuf", b"")
        } else {
            ("application/json", b"{}")
        };
        let mut response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\ncontent-length: {}\r\n\r\n",
            reply.len()
        )
        .into_bytes();
        response.extend_from_slice(reply);
        let _ = writer.write_all(&response);
    }
}

/// A CA (made now, with rcgen) and a server configuration whose certificate it issued, for
/// `localhost` and `127.0.0.1`. The CA's certificate is written to a PEM file for clients.
fn make_ca() -> (TestCa, Arc<rustls::ServerConfig>) {
    use rustls::pki_types::pem::PemObject as _;
    let (ca, leaf_pem, key_pem) = make_ca_pems();
    let leaf = rustls::pki_types::CertificateDer::from_pem_slice(leaf_pem.as_bytes()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf], key)
        .unwrap();
    (ca, Arc::new(config))
}

/// A CA (made now, with rcgen), and a server certificate and key (PEM) it issued for
/// `localhost` and `127.0.0.1`.
pub(crate) fn make_ca_pems() -> (TestCa, String, String) {
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
    let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
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
