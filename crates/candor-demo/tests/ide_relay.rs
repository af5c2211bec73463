//! The dashboard demo's IDE endpoint against a hostile client: only its token, only POST to its
//! path, bodies capped as sent and once inflated, and a stop that no client can hold up.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use candor_demo::IdeEndpoint;

fn address(ide: &IdeEndpoint) -> SocketAddr {
    let url = ide.url();
    let authority = url
        .strip_prefix("http://")
        .and_then(|rest| rest.strip_suffix("/telemetry"))
        .expect("http://ADDRESS/telemetry");
    authority.parse().expect("a socket address")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// Sends one request and returns the status code.
fn status(ide: &IdeEndpoint, head: &str, body: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(address(ide)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let request = format!(
        "{head}\r\nhost: 127.0.0.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("write");
    // A refused request may be answered before its body is read.
    let _ = stream.write_all(body);
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

fn post(ide: &IdeEndpoint, authorization: Option<&str>, body: &[u8]) -> u16 {
    let mut head = "POST /telemetry HTTP/1.1\r\ncontent-encoding: gzip".to_owned();
    if let Some(value) = authorization {
        head.push_str(&format!("\r\nauthorization: {value}"));
    }
    status(ide, &head, body)
}

#[test]
fn only_the_token_is_accepted_and_events_are_counted() {
    let ide = IdeEndpoint::start().expect("start");
    let token = ide.token().to_owned();
    assert_eq!(token.len(), 32, "128 random bits in hex");
    let other = IdeEndpoint::start().expect("start");
    assert_ne!(token, other.token(), "a token per endpoint");
    let batch = gzip(br#"[{"point":"a"},{"point":"b"},{"point":"c"}]"#);
    for wrong in [
        None,
        Some(String::new()),
        Some("Bearer".to_owned()),
        Some("Bearer ".to_owned()),
        Some(format!("Basic {token}")),
        Some(format!("bearer{token}")),
        Some(format!("Bearer {token}x")),
        Some(format!("Bearer {}", &token[..31])),
        Some(format!("Bearer {}", other.token())),
    ] {
        assert_eq!(post(&ide, wrong.as_deref(), &batch), 401, "{wrong:?}");
    }
    assert_eq!(ide.accepted(), 0);
    let bearer = format!("Bearer {token}");
    assert_eq!(post(&ide, Some(&bearer), &batch), 200);
    assert_eq!(ide.accepted(), 3);
    // Not a batch: refused, not counted.
    assert_eq!(post(&ide, Some(&bearer), &gzip(b"{\"point\":1}")), 400);
    assert_eq!(post(&ide, Some(&bearer), b"not gzip"), 400);
    assert_eq!(ide.accepted(), 3);
    // Only POST, only its path.
    assert_eq!(status(&ide, "GET /telemetry HTTP/1.1", b""), 405);
    assert_eq!(
        status(
            &ide,
            &format!("POST /elsewhere HTTP/1.1\r\nauthorization: {bearer}"),
            &batch
        ),
        404
    );
}

#[test]
fn bodies_are_capped_as_sent_and_once_inflated() {
    let ide = IdeEndpoint::start().expect("start");
    let bearer = format!("Bearer {}", ide.token());
    // 9 MiB declared: refused from the header, before the body is read.
    let head = format!(
        "POST /telemetry HTTP/1.1\r\nauthorization: {bearer}\r\ncontent-length: {}\r\nhost: x\r\n\r\n",
        9 << 20
    );
    let mut stream = TcpStream::connect(address(&ide)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(head.as_bytes()).expect("write");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // 40 MiB of zeros in about 40 KiB of gzip: refused once 32 MiB came out.
    let bomb = gzip(&vec![b' '; 40 << 20]);
    assert!(bomb.len() < 1 << 20);
    assert_eq!(post(&ide, Some(&bearer), &bomb), 413);
    assert_eq!(ide.accepted(), 0);
}

#[test]
fn stopping_is_not_held_up_by_idle_or_stalled_clients() {
    let ide = IdeEndpoint::start().expect("start");
    let address = address(&ide);
    let idle = TcpStream::connect(address).expect("connect");
    let mut stalled = TcpStream::connect(address).expect("connect");
    stalled
        .write_all(
            format!(
                "POST /telemetry HTTP/1.1\r\nauthorization: Bearer {}\r\ncontent-length: 1000\r\n\r\n[",
                ide.token()
            )
            .as_bytes(),
        )
        .expect("write");
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    drop(ide);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "stopping took {took:?}");
    assert!(
        TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_err(),
        "still listening after the endpoint was dropped"
    );
    drop((idle, stalled));
}
