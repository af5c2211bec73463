//! A small HTTP/1.1 receiver on loopback, with scripted faults.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
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
}

impl HttpReceiver {
    /// Starts on a free loopback port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let accept = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept.stop.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&accept);
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        Self { port, shared }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port><path>`
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
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

fn serve(stream: TcpStream, shared: &Shared) {
    // Answer in one segment without Nagle's delay, so clients are not held up by delayed ACKs.
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_owned();
        let mut length = 0usize;
        let mut gzip = false;
        let mut authorization = None;
        let mut content_type = String::new();
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
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.parse().unwrap_or(0),
                    "content-encoding" => gzip = value.eq_ignore_ascii_case("gzip"),
                    "authorization" => authorization = Some(value.to_owned()),
                    "content-type" => content_type = value.to_ascii_lowercase(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
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
                let _ = writer.shutdown(std::net::Shutdown::Both);
                return;
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
