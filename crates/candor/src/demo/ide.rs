//! The dashboard demo's stand-in for its IDE: a loopback endpoint that accepts the relay's
//! POSTs when they carry its bearer token, and counts the events.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A loopback relay endpoint; stops when dropped.
#[derive(Debug)]
pub struct IdeEndpoint {
    port: u16,
    token: String,
    accepted: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl IdeEndpoint {
    /// Starts on a free loopback port with a random token.
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let token = candor_collect::new_event_id();
        let accepted = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (token, accepted, stop) = (token.clone(), Arc::clone(&accepted), Arc::clone(&stop));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    if let Ok(stream) = stream {
                        let (token, accepted) = (token.clone(), Arc::clone(&accepted));
                        std::thread::spawn(move || serve(stream, &token, &accepted));
                    }
                }
            });
        }
        Ok(Self {
            port,
            token,
            accepted,
            stop,
        })
    }

    /// The relay URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/telemetry", self.port)
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

impl Drop for IdeEndpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Serves one connection's requests, counting the events accepted.
fn serve(stream: TcpStream, token: &str, accepted: &AtomicU64) {
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let (mut length, mut authorised) = (0usize, false);
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "authorization" => authorised = value.trim() == format!("Bearer {token}"),
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; length.min(64 * 1024 * 1024)];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let status = if authorised {
            let mut json = Vec::new();
            let ok = flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut json)
                .is_ok();
            match serde_json::from_slice::<Vec<serde_json::Value>>(&json) {
                Ok(events) if ok => {
                    accepted.fetch_add(events.len() as u64, Ordering::Relaxed);
                    "200 OK"
                }
                _ => "400 Bad Request",
            }
        } else {
            "401 Unauthorized"
        };
        if writer
            .write_all(format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n").as_bytes())
            .is_err()
        {
            return;
        }
    }
}
