//! The server's limits against hostile clients, its shutdown, and TLS.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use candor_http_server::{Request, Response, Server, ServerConfig, http, text_response};

struct Running {
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    fn stop(mut self) -> Duration {
        let started = Instant::now();
        let _ = self.stop.take().unwrap().send(());
        self.thread.take().unwrap().join().unwrap();
        started.elapsed()
    }
}

/// Echoes the body's length; `/slow` answers after 300 ms.
async fn handler(request: Request) -> Response {
    if request.uri().path() == "/slow" {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    text_response(http::StatusCode::OK, format!("{}", request.body().len()))
}

fn start(config: ServerConfig) -> Running {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime
        .block_on(Server::bind("127.0.0.1:0", config))
        .unwrap();
    let address = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        runtime
            .block_on(server.run(handler, async {
                let _ = stopped.await;
            }))
            .unwrap();
    });
    Running {
        address,
        stop: Some(stop),
        thread: Some(thread),
    }
}

fn exchange(address: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn small() -> ServerConfig {
    ServerConfig {
        max_body_bytes: 1024,
        header_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_millis(300),
        shutdown_grace: Duration::from_secs(5),
        ..ServerConfig::default()
    }
}

#[test]
fn bodies_over_the_cap_are_refused_without_being_read() {
    let running = start(small());
    // 4 GB announced: answered at once, nothing read.
    let answer = exchange(
        running.address,
        b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 4294967296\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // Chunked, with no length announced: cut off at the cap.
    let mut chunked = b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..4 {
        chunked.extend_from_slice(b"200\r\n");
        chunked.extend_from_slice(&[b'a'; 0x200]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let answer = exchange(running.address, &chunked);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // Within the cap: read whole.
    let answer = exchange(
        running.address,
        b"POST / HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 5\r\n\r\nhello",
    );
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("5"),
        "{answer}"
    );
    running.stop();
}

#[test]
fn a_client_that_stalls_is_cut_off_at_the_deadline() {
    let running = start(small());
    let started = Instant::now();
    // Half a request line, then nothing.
    let answer = exchange(running.address, b"POST / HT");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!answer.contains("200"), "{answer}");
    // A body that never completes gets 408.
    let answer = exchange(
        running.address,
        b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nabc",
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    running.stop();
}

#[test]
fn shutdown_finishes_requests_in_flight_and_stops_listening() {
    let running = start(small());
    let address = running.address;
    let slow = std::thread::spawn(move || {
        exchange(
            address,
            b"GET /slow HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        )
    });
    std::thread::sleep(Duration::from_millis(100));
    let took = running.stop();
    assert!(took < Duration::from_secs(5), "{took:?}");
    let answer = slow.join().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(TcpStream::connect(address).is_err());
}

#[cfg(feature = "tls")]
#[test]
fn tls_by_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let running = start(ServerConfig {
        tls: Some(candor_http_server::TlsFiles {
            certificate_chain: cert_path,
            private_key: key_path.clone(),
        }),
        ..small()
    });
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap())
        .resolve("localhost", running.address)
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/", running.address.port());
    let response = client.post(&url).body("four").send().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.text().unwrap(), "4");
    // Plain HTTP to the TLS port gets no HTTP answer.
    let answer = exchange(
        running.address,
        b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert!(!answer.contains("200"), "{answer}");
    running.stop();
    // A key file that is not a key, or a FIFO: a one-line error from `bind`, before anything
    // is announced as listening, not a panic and not a wait.
    std::fs::write(&key_path, "not a key").unwrap();
    let fifo = dir.path().join("key.fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (key, expected) in [
        (key_path, "TLS: cannot read the private key"),
        (fifo, "TLS: cannot read the private key"),
    ] {
        let error = runtime
            .block_on(Server::bind(
                "127.0.0.1:0",
                ServerConfig {
                    tls: Some(candor_http_server::TlsFiles {
                        certificate_chain: dir.path().join("cert.pem"),
                        private_key: key,
                    }),
                    ..small()
                },
            ))
            .unwrap_err();
        assert!(error.to_string().starts_with(expected), "{error}");
        assert_eq!(error.to_string().lines().count(), 1, "{error}");
    }
}

#[test]
fn oversized_headers_are_refused() {
    let running = start(small());
    let mut request = b"GET / HTTP/1.1\r\nhost: x\r\nx-filler: ".to_vec();
    request.extend(std::iter::repeat_n(b'a', 200 * 1024));
    request.extend_from_slice(b"\r\n\r\n");
    let answer = exchange(running.address, &request);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    running.stop();
}

/// Every open connection may hold a body of up to `max_body_bytes`; across connections they
/// share one budget. A client that stalls mid-body keeps its room; another body that does not
/// fit is answered 503 with `Retry-After` before it is read, a small one still fits, and once
/// the first body is complete the room is free again. (Before, 200 connections each holding a
/// nearly complete 8 MiB body took `candor serve` to 1.7 GB.)
#[test]
fn request_bodies_share_one_memory_budget() {
    let running = start(ServerConfig {
        max_body_bytes: 1 << 20,
        max_buffered_bytes: 3 << 19,
        body_timeout: Duration::from_secs(10),
        ..ServerConfig::default()
    });
    let head = |len: usize| {
        format!("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")
    };
    // The first client announces 1 MiB and sends only part of it.
    let mut stalled = TcpStream::connect(running.address).unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stalled.write_all(head(1 << 20).as_bytes()).unwrap();
    stalled.write_all(&vec![b'x'; 1000]).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let mut big = head(1 << 20).into_bytes();
    big.extend(vec![b'y'; 1 << 20]);
    let answer = exchange(running.address, &big);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );

    let mut small = head(100_000).into_bytes();
    small.extend(vec![b'z'; 100_000]);
    let answer = exchange(running.address, &small);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("100000"), "{answer}");

    stalled.write_all(&vec![b'x'; (1 << 20) - 1000]).unwrap();
    let mut answer = Vec::new();
    let _ = stalled.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("1048576"), "{answer}");

    let answer = exchange(running.address, &big);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    running.stop();
}

fn request_ok(address: SocketAddr) -> bool {
    exchange(
        address,
        b"POST / HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok",
    )
    .starts_with("HTTP/1.1 200")
}

/// Whether the server has closed this connection: reading ends (or is reset) within a
/// second, rather than waiting.
fn closed(stream: &mut TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

/// The cap filled with sockets that send nothing, and refilled by a client that reconnects
/// as fast as it can: real requests are still answered, long before the idle sockets' header
/// deadline, and it is the idle sockets that are closed. (Before, 1,100 idle connections held
/// the server for its whole 10 s header deadline, and reconnecting kept it there.)
#[test]
fn idle_sockets_at_the_cap_make_room_for_real_clients() {
    let running = start(ServerConfig {
        max_connections: 8,
        header_timeout: Duration::from_secs(30),
        ..small()
    });
    let address = running.address;
    let mut first_idle: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(address).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        // Keeps opening idle connections, holding the newest 16.
        s.spawn(|| {
            let mut held = std::collections::VecDeque::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(stream) = TcpStream::connect(address) {
                    held.push_back(stream);
                }
                if held.len() > 16 {
                    held.pop_front();
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        // Let it fill the cap over and over before the real clients come.
        std::thread::sleep(Duration::from_millis(300));
        let started = Instant::now();
        for _ in 0..5 {
            assert!(request_ok(address));
        }
        let took = started.elapsed();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(
            took < Duration::from_secs(15),
            "real requests waited on idle sockets: {took:?}"
        );
    });
    assert!(
        first_idle.iter_mut().all(closed),
        "the oldest idle sockets were closed to make room"
    );
    running.stop();
}

/// At the cap with no idle connection, a connection that has been reading a body past its
/// grace makes room; a request its handler is answering is never cut.
#[test]
fn slow_bodies_at_the_cap_make_room_and_answers_in_progress_are_never_cut() {
    let running = start(ServerConfig {
        max_connections: 3,
        body_timeout: Duration::from_secs(30),
        body_grace_at_cap: Duration::from_millis(200),
        ..small()
    });
    let address = running.address;
    // Two handlers busy for 300 ms each, and one body that trickles.
    let slow: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                exchange(
                    address,
                    b"GET /slow HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
                )
            })
        })
        .collect();
    let mut trickle = TcpStream::connect(address).unwrap();
    trickle
        .write_all(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\na")
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    assert!(request_ok(address));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the new request waited on a trickling body: {:?}",
        started.elapsed()
    );
    for answer in slow {
        let answer = answer.join().unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    assert!(closed(&mut trickle));
    running.stop();
}
