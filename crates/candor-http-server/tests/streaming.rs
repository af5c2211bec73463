//! Streamed replies (huge, cut short, left by the client) and the server on its own thread.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use candor_http_server::{
    Request, Server, ServerConfig, ServerError, StreamingResponse, WholeReplies, http,
    reply_channel, text_response,
};

fn config() -> ServerConfig {
    ServerConfig {
        max_body_bytes: 1024,
        header_timeout: Duration::from_secs(5),
        body_timeout: Duration::from_secs(5),
        shutdown_grace: Duration::from_millis(200),
        ..ServerConfig::default()
    }
}

fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

fn get(address: SocketAddr, path: &str) -> TcpStream {
    let mut stream = connect(address);
    write!(stream, "GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
    stream
}

/// Waits up to ten seconds for `condition`.
fn eventually(condition: impl Fn() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// `/huge/N` streams N bytes in 64 KiB pieces, counting what was handed over and noting when the
/// client went away; `/cut` declares 100 bytes and aborts after five; `/held` never answers.
struct Probe {
    handed_over: AtomicU64,
    client_gone: AtomicBool,
}

fn streaming_handler(probe: Arc<Probe>) -> impl Fn(Request) -> StreamingFuture {
    move |request: Request| {
        let probe = Arc::clone(&probe);
        Box::pin(async move { answer(&probe, request.uri().path()).await })
    }
}

type StreamingFuture = std::pin::Pin<Box<dyn Future<Output = StreamingResponse> + Send>>;

async fn answer(probe: &Arc<Probe>, path: &str) -> StreamingResponse {
    if let Some(size) = path.strip_prefix("/huge/") {
        let size: u64 = size.parse().unwrap();
        let (mut sender, body) = reply_channel(2);
        let probe = Arc::clone(probe);
        tokio::spawn(async move {
            let piece = Bytes::from(vec![b'x'; 64 * 1024]);
            let mut left = size;
            while left > 0 {
                let n = left.min(piece.len() as u64);
                if sender.send(piece.slice(..n as usize)).await.is_err() {
                    probe.client_gone.store(true, Ordering::SeqCst);
                    return;
                }
                probe.handed_over.fetch_add(n, Ordering::SeqCst);
                left -= n;
            }
        });
        let mut response = http::Response::new(body);
        response
            .headers_mut()
            .insert(http::header::CONTENT_LENGTH, size.into());
        return response;
    }
    if path == "/cut" {
        // Both the piece and the abort wait in the channel before the server reads either:
        // what was sent must still go out before the connection closes.
        let (mut sender, body) = reply_channel(2);
        sender.send(Bytes::from_static(b"{\"par")).await.unwrap();
        sender.abort().await;
        let mut response = http::Response::new(body);
        response
            .headers_mut()
            .insert(http::header::CONTENT_LENGTH, 100.into());
        return response;
    }
    if path == "/held" {
        std::future::pending::<()>().await;
    }
    http::Response::new(Bytes::from_static(b"whole").into())
}

fn spawn_probe() -> (candor_http_server::BackgroundServer, Arc<Probe>) {
    let probe = Arc::new(Probe {
        handed_over: AtomicU64::new(0),
        client_gone: AtomicBool::new(false),
    });
    let server = Server::spawn(
        "127.0.0.1:0",
        config(),
        streaming_handler(Arc::clone(&probe)),
    )
    .unwrap();
    (server, probe)
}

#[test]
fn a_streamed_reply_arrives_whole_with_its_length() {
    let (server, _probe) = spawn_probe();
    let size = 5 * 1024 * 1024 + 7;
    let mut stream = get(server.local_addr(), &format!("/huge/{size}"));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains(&format!("content-length: {size}")), "{head}");
    let mut body = vec![0u8; size];
    stream.read_exact(&mut body).unwrap();
    assert!(body.iter().all(|b| *b == b'x'));
}

#[test]
fn a_client_that_leaves_stops_the_writer_without_it_holding_the_reply() {
    let (server, probe) = spawn_probe();
    let size: u64 = 4 << 30;
    let mut stream = get(server.local_addr(), &format!("/huge/{size}"));
    let mut first = [0u8; 4096];
    stream.read_exact(&mut first).unwrap();
    drop(stream);
    assert!(
        eventually(|| probe.client_gone.load(Ordering::SeqCst)),
        "the writer never learnt that the client left"
    );
    let handed_over = probe.handed_over.load(Ordering::SeqCst);
    assert!(
        handed_over < 64 << 20,
        "{handed_over} bytes were handed over for a client that read 4 KiB"
    );
}

#[test]
fn an_aborted_reply_is_cut_short_after_what_was_sent() {
    let (server, _probe) = spawn_probe();
    for _ in 0..20 {
        let mut stream = get(server.local_addr(), "/cut");
        let mut answer = Vec::new();
        // The connection closes (end of stream), well before the declared 100 bytes.
        stream.read_to_end(&mut answer).unwrap();
        let answer = String::from_utf8(answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("content-length: 100"), "{answer}");
        assert!(answer.ends_with("\r\n\r\n{\"par"), "{answer:?}");
    }
}

#[test]
fn a_whole_handler_runs_on_its_own_thread() {
    let handler = |request: Request| async move {
        text_response(
            http::StatusCode::OK,
            format!("{} bytes", request.body().len()),
        )
    };
    let server = Server::spawn("127.0.0.1:0", config(), WholeReplies(handler)).unwrap();
    let mut stream = connect(server.local_addr());
    stream
        .write_all(
            b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\nconnection: close\r\n\r\nabc",
        )
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("3 bytes"), "{answer}");
    // The body cap still holds.
    let mut stream = connect(server.local_addr());
    stream
        .write_all(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[test]
fn stopping_never_waits_past_the_grace_for_held_or_streaming_replies() {
    let (server, _probe) = spawn_probe();
    let address = server.local_addr();
    let held = get(address, "/held");
    let mut streaming = get(address, &format!("/huge/{}", 4u64 << 30));
    let mut first = [0u8; 1024];
    streaming.read_exact(&mut first).unwrap();
    // A client that sent half its headers, and one that sent nothing.
    let mut half = connect(address);
    half.write_all(b"POST / HTTP/1.1\r\nhost: x\r\n").unwrap();
    let idle = connect(address);
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    server.stop();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "stop took {took:?}");
    assert!(
        TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_err(),
        "still accepting after stop"
    );
    drop((held, idle, half));
}

#[test]
fn a_port_in_use_is_an_error_of_spawn() {
    let (server, _probe) = spawn_probe();
    let taken = server.local_addr().to_string();
    let error = Server::spawn(
        &taken,
        config(),
        WholeReplies(|_: Request| async { text_response(http::StatusCode::OK, "") }),
    )
    .unwrap_err();
    assert!(matches!(error, ServerError::Bind { .. }), "{error}");
}
