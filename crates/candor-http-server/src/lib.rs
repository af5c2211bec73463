//! Candor's one HTTP server: hyper 1 on tokio, with the limits every Candor endpoint needs.
//!
//! A [`Server`] is bound to an address, then [`Server::run`] serves a [`Handler`] until a
//! shutdown future completes. Before the handler sees a request, the server has read its whole
//! body within a size cap (413 beyond it, decided from `Content-Length` when there is one, so an
//! oversized upload is not read at all) and within a deadline (408 when the client stalls);
//! headers must arrive within their own deadline, and the number of open connections is capped:
//! at the cap, the connection that has waited longest without a request is closed to make room
//! (so idle sockets, however many and however often reconnected, cannot keep clients out), and
//! a connection the handler is answering is never closed. Shutdown stops accepting, lets
//! requests in flight finish for a grace period, then closes what is left. With the `tls` feature the same
//! server speaks HTTPS from a PEM certificate chain and key.
//!
//! A [`StreamingHandler`] (served by [`Server::run_streaming`]) may answer with a body produced
//! while it is sent ([`reply_channel`]): a reply too large to hold, one that trickles, or one cut
//! short on purpose. [`Server::spawn`] serves on a thread of its own, for callers without a
//! runtime.
//!
//! Used by `candor-ingest` (the receiving end, `candor serve`), `candor-view` (the local page),
//! the `candor` crate's demo (the IDE's loopback relay endpoint) and `candor-testkit` (the
//! receivers tests send to, faults included). It knows nothing about catalogues, events or
//! storage: requests in, responses out.

#![warn(missing_docs)]

mod background;
mod reply;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use background::BackgroundServer;
pub use http;
pub use reply::{
    ReplyAborted, ReplyBody, ReplyClosed, ReplySender, StreamingHandler, StreamingResponse,
    WholeReplies, reply_channel,
};

mod connections;
use connections::{Connections, Registered};

/// A request whose body has been read completely, within the server's cap.
pub type Request = http::Request<Bytes>;
/// A response with its whole body.
pub type Response = http::Response<Full<Bytes>>;

/// What answers requests. Implemented for any `Fn(Request) -> Future<Output = Response>`.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(&self, request: Request) -> Pin<Box<dyn Future<Output = Response> + Send + 'static>>;

    /// The largest body this handler takes for a request with this method and path, when it
    /// is smaller than [`ServerConfig::max_body_bytes`]: a larger body is answered 413 without
    /// being read (by its `Content-Length`) or once that many bytes have arrived.
    fn max_body_bytes(&self, method: &http::Method, path: &str) -> Option<usize> {
        let _ = (method, path);
        None
    }
}

impl<F, Fut> Handler for F
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    fn handle(&self, request: Request) -> Pin<Box<dyn Future<Output = Response> + Send + 'static>> {
        Box::pin(self(request))
    }
}

/// Limits and deadlines.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The largest request body accepted, in bytes (as sent, before any decompression).
    pub max_body_bytes: usize,
    /// The most request-body bytes held at once across all connections. A request whose body
    /// (its `Content-Length`, else `max_body_bytes`) does not fit in what is left is answered
    /// 503 with `Retry-After` before its body is read: without it, every open connection could
    /// hold `max_body_bytes` (200 connections held 1.7 GB).
    pub max_buffered_bytes: usize,
    /// How long a client has to send a request's headers.
    pub header_timeout: Duration,
    /// How long a client has to send a request's body once its headers arrived.
    pub body_timeout: Duration,
    /// How many connections are open at once. At the cap, a new connection makes room by
    /// closing the one that has waited longest without a request (a new connection before its
    /// headers, or one kept alive after an answer); when none waits, the one that has been
    /// reading a body for longest, past `body_grace_at_cap`. Idle sockets cannot keep real
    /// clients out.
    pub max_connections: usize,
    /// At the connection cap with no idle connection: how long a connection may have been
    /// reading its request's body before it is closed to make room.
    pub body_grace_at_cap: Duration,
    /// How long requests in flight may take to finish after shutdown was asked for.
    pub shutdown_grace: Duration,
    /// TLS: when set, the server speaks only HTTPS.
    #[cfg(feature = "tls")]
    pub tls: Option<TlsFiles>,
}

impl Default for ServerConfig {
    /// 8 MiB bodies, 256 MiB of bodies at once, 10 s for headers, 30 s for a body, 1024
    /// connections (a body at the cap keeps its connection for 2 s), 10 s grace.
    fn default() -> Self {
        Self {
            max_body_bytes: 8 << 20,
            max_buffered_bytes: 256 << 20,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            body_grace_at_cap: Duration::from_secs(2),
            shutdown_grace: Duration::from_secs(10),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// A PEM certificate chain and its private key.
#[cfg(feature = "tls")]
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub certificate_chain: std::path::PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: std::path::PathBuf,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address asked for.
        address: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The TLS certificate or key could not be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// The thread or runtime of [`Server::spawn`] could not be started.
    #[error("cannot start the server's thread: {0}")]
    Runtime(#[source] std::io::Error),
}

/// A bound server, not yet serving.
pub struct Server {
    listener: TcpListener,
    config: ServerConfig,
    #[cfg(feature = "tls")]
    acceptor: Option<tokio_rustls::TlsAcceptor>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listener", &self.listener)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds `address` (`127.0.0.1:0` picks a free port). Must be called inside a tokio runtime.
    /// With TLS configured, the certificate and key are loaded here, so a bad file is an error
    /// of `bind`, before anything is announced as listening.
    pub async fn bind(address: &str, config: ServerConfig) -> Result<Self, ServerError> {
        #[cfg(feature = "tls")]
        let acceptor = match &config.tls {
            Some(files) => Some(tls::acceptor(files)?),
            None => None,
        };
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| ServerError::Bind {
                address: address.to_owned(),
                source,
            })?;
        Ok(Self {
            listener,
            config,
            #[cfg(feature = "tls")]
            acceptor,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves `handler` until `shutdown` completes, then drains connections for the grace
    /// period.
    pub async fn run(
        self,
        handler: impl Handler,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServerError> {
        self.run_streaming(WholeReplies(handler), shutdown).await
    }

    /// As [`Server::run`], for a handler whose replies may be streamed ([`reply_channel`]). A
    /// reply still streaming when the grace period ends is cut off with its connection.
    pub async fn run_streaming(
        self,
        handler: impl StreamingHandler,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServerError> {
        #[cfg(feature = "tls")]
        let acceptor = self.acceptor;
        let handler: Arc<dyn StreamingHandler> = Arc::new(handler);
        let config = Arc::new(self.config);
        let permits = Arc::new(Semaphore::new(config.max_connections.max(1)));
        let budget = Arc::new(Semaphore::new(
            kib(config.max_buffered_bytes).min(Semaphore::MAX_PERMITS),
        ));
        let connections = Arc::new(Connections::default());
        // Every connection task holds a receiver: `true` asks it to finish gracefully, and the
        // drain is over when all receivers are gone.
        let (draining, drain) = tokio::sync::watch::channel(false);
        tokio::pin!(shutdown);
        'serving: loop {
            let (stream, _peer) = tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(pair) => pair,
                    // Out of descriptors or a connection reset before accept: keep serving.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            // At the cap, a connection that waits without a request (or has read a body for
            // too long) makes room for the new one: idle sockets cannot keep clients out.
            let permit = loop {
                if let Ok(permit) = Arc::clone(&permits).try_acquire_owned() {
                    break permit;
                }
                connections.evict(Instant::now(), config.body_grace_at_cap);
                tokio::select! {
                    () = &mut shutdown => break 'serving,
                    permit = Arc::clone(&permits).acquire_owned() => match permit {
                        Ok(p) => break p,
                        Err(_) => break 'serving,
                    },
                    () = tokio::time::sleep(EVICTION_RETRY) => {}
                }
            };
            // The peer's address is deliberately dropped here: nothing below ever sees it.
            let _ = stream.set_nodelay(true);
            let registered = Arc::new(connections.register());
            let service = {
                let handler = Arc::clone(&handler);
                let config = Arc::clone(&config);
                let budget = Arc::clone(&budget);
                let registered = Arc::clone(&registered);
                service_fn(move |request: http::Request<Incoming>| {
                    let handler = Arc::clone(&handler);
                    let config = Arc::clone(&config);
                    let budget = Arc::clone(&budget);
                    let registered = Arc::clone(&registered);
                    async move {
                        let _idle_after = IdleAfter(&registered);
                        registered.reading();
                        Ok::<_, Infallible>(
                            serve_one(&*handler, &config, &budget, &registered, request).await,
                        )
                    }
                })
            };
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(config.header_timeout)
                .max_buf_size(64 * 1024);
            let drain = drain.clone();
            #[cfg(feature = "tls")]
            if let Some(acceptor) = &acceptor {
                let acceptor = acceptor.clone();
                let header_timeout = config.header_timeout;
                tokio::spawn(async move {
                    let _permit = permit;
                    let mut drain = drain;
                    let tls = tokio::select! {
                        accepted = tokio::time::timeout(header_timeout, acceptor.accept(stream)) => {
                            match accepted {
                                Ok(Ok(tls)) => tls,
                                _ => return,
                            }
                        }
                        () = registered.close.notified() => return,
                        _ = drain.changed() => return,
                    };
                    connection(
                        builder.serve_connection(TokioIo::new(tls), service),
                        &registered,
                        drain,
                    )
                    .await;
                });
                continue;
            }
            tokio::spawn(async move {
                let _permit = permit;
                connection(
                    builder.serve_connection(TokioIo::new(stream), service),
                    &registered,
                    drain,
                )
                .await;
            });
        }
        drop(self.listener);
        drop(drain);
        let _ = draining.send(true);
        let _ = tokio::time::timeout(config.shutdown_grace, draining.closed()).await;
        Ok(())
    }
}

/// How often a new connection waiting at the cap asks again for room.
const EVICTION_RETRY: Duration = Duration::from_millis(100);
/// How long a connection closed to make room may take to finish writing an answer.
const EVICTION_GRACE: Duration = Duration::from_millis(500);

/// Marks the connection idle when its request is answered, or abandoned.
struct IdleAfter<'a>(&'a Registered);

impl Drop for IdleAfter<'_> {
    fn drop(&mut self) {
        self.0.idle();
    }
}

/// Serves one connection until it ends, the server drains it, or it is closed to make room.
async fn connection<C>(
    conn: C,
    registered: &Registered,
    mut drain: tokio::sync::watch::Receiver<bool>,
) where
    C: GracefulConnection,
{
    tokio::pin!(conn);
    let evicted = tokio::select! {
        _ = conn.as_mut() => return,
        () = registered.close.notified() => true,
        _ = drain.changed() => false,
    };
    let answered = registered
        .answered
        .load(std::sync::atomic::Ordering::Relaxed);
    if !answered && (evicted || registered.is_idle()) {
        // No answer was ever written on it and none is being made: it closes now.
        return;
    }
    // An answer may be on its way out: hyper closes once it is written (at once when the
    // connection waits between requests). Drained connections are bounded by the server's
    // grace period, evicted ones by their own.
    conn.as_mut().graceful_shutdown();
    if evicted {
        let _ = tokio::time::timeout(EVICTION_GRACE, conn).await;
    } else {
        let _ = conn.await;
    }
}

/// A hyper connection that can be asked to finish gracefully.
trait GracefulConnection: Future<Output = Result<(), hyper::Error>> + Send {
    fn graceful_shutdown(self: Pin<&mut Self>);
}

impl<I, S> GracefulConnection for hyper::server::conn::http1::Connection<I, S>
where
    S: hyper::service::HttpService<Incoming, ResBody = ReplyBody> + Send,
    S::Future: Send,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        hyper::server::conn::http1::Connection::graceful_shutdown(self);
    }
}

/// A plain response with a text body.
pub fn text_response(status: http::StatusCode, text: impl Into<String>) -> Response {
    let mut response = http::Response::new(Full::new(Bytes::from(text.into())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Bytes in whole KiB, rounded up: the unit of the shared body budget.
fn kib(bytes: usize) -> usize {
    bytes.div_ceil(1024)
}

async fn serve_one(
    handler: &dyn StreamingHandler,
    config: &ServerConfig,
    budget: &Arc<Semaphore>,
    registered: &Registered,
    request: http::Request<Incoming>,
) -> StreamingResponse {
    // The endpoint's own cap, when smaller: a body past it is never read whole.
    let cap = handler
        .max_body_bytes(request.method(), request.uri().path())
        .map_or(config.max_body_bytes, |n| n.min(config.max_body_bytes));
    let declared = request
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return reply::streaming(too_large(cap));
    }
    // The body's room is reserved before it is read, and held until the answer: what a
    // request may buffer counts against the one budget of all connections.
    let room = hyper::body::Body::size_hint(request.body())
        .upper()
        .map_or(cap, |n| usize::try_from(n).unwrap_or(usize::MAX))
        .min(cap);
    let units = u32::try_from(kib(room)).unwrap_or(u32::MAX);
    let _reserved = if units == 0 {
        None
    } else {
        match Arc::clone(budget).try_acquire_many_owned(units) {
            Ok(permit) => Some(permit),
            Err(_) => return reply::streaming(busy()),
        }
    };
    let (parts, body) = request.into_parts();
    let limited = Limited::new(body, cap);
    let bytes = match tokio::time::timeout(config.body_timeout, limited.collect()).await {
        Err(_) => {
            return reply::streaming(text_response(
                http::StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time\n",
            ));
        }
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => {
            return reply::streaming(too_large(cap));
        }
        Ok(Err(_)) => {
            return reply::streaming(text_response(
                http::StatusCode::BAD_REQUEST,
                "the request body could not be read\n",
            ));
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    registered.handling();
    handler
        .handle(http::Request::from_parts(parts, bytes))
        .await
}

fn busy() -> Response {
    let mut response = text_response(
        http::StatusCode::SERVICE_UNAVAILABLE,
        "the server holds as many request bodies as it may; retry later\n",
    );
    let headers = response.headers_mut();
    headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from(1));
    headers.insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    response
}

fn too_large(cap: usize) -> Response {
    let mut response = text_response(
        http::StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body exceeds {cap} bytes\n"),
    );
    response.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    response
}

#[cfg(feature = "tls")]
mod tls {
    use std::sync::Arc;

    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::rustls::ServerConfig;

    use super::{ServerError, TlsFiles};

    /// The most a certificate chain or key file may hold.
    const MAX_PEM_BYTES: u64 = 1 << 20;

    /// A PEM file's bytes: a regular file only (a FIFO would block the start for ever), capped.
    fn read_pem(path: &std::path::Path, what: &str) -> Result<Vec<u8>, ServerError> {
        use std::io::Read;
        let cannot = |e: &dyn std::fmt::Display| {
            ServerError::Tls(format!("cannot read the {what} {}: {e}", path.display()))
        };
        let meta = std::fs::metadata(path).map_err(|e| cannot(&e))?;
        if !meta.is_file() {
            return Err(cannot(&"not a regular file"));
        }
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_PEM_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| cannot(&e))?;
        if bytes.len() as u64 > MAX_PEM_BYTES {
            return Err(cannot(&"larger than 1 MiB"));
        }
        Ok(bytes)
    }

    pub(crate) fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, ServerError> {
        let chain_pem = read_pem(&files.certificate_chain, "certificate chain")?;
        let key_pem = read_pem(&files.private_key, "private key")?;
        let chain = CertificateDer::pem_slice_iter(&chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                ServerError::Tls(format!(
                    "cannot read the certificate chain {}: {e}",
                    files.certificate_chain.display()
                ))
            })?;
        if chain.is_empty() {
            return Err(ServerError::Tls(format!(
                "{} holds no certificate",
                files.certificate_chain.display()
            )));
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
            ServerError::Tls(format!(
                "cannot read the private key {}: {e}",
                files.private_key.display()
            ))
        })?;
        let config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| ServerError::Tls(e.to_string()))?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}
