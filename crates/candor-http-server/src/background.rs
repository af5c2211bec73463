//! A server on a thread of its own, for callers without a tokio runtime: a test's receiver, a
//! demo's loopback endpoint.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use crate::{Server, ServerConfig, ServerError, StreamingHandler};

/// How long stopping waits beyond the shutdown grace for the thread to end.
const STOP_MARGIN: Duration = Duration::from_secs(2);

/// A server serving on its own thread (one current-thread tokio runtime); stops when
/// [`BackgroundServer::stop`] is called or when dropped.
#[derive(Debug)]
pub struct BackgroundServer {
    address: SocketAddr,
    grace: Duration,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// Disconnects when the thread has ended (its sender is dropped with the thread's state).
    ended: mpsc::Receiver<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Binds `address` and serves `handler` on a new thread with its own runtime, returning
    /// once the address is bound (a bind or TLS error is returned here). For a [`Handler`]
    /// (whole replies), pass [`WholeReplies`](crate::WholeReplies)`(handler)`.
    ///
    /// [`Handler`]: crate::Handler
    pub fn spawn(
        address: &str,
        config: ServerConfig,
        handler: impl StreamingHandler,
    ) -> Result<BackgroundServer, ServerError> {
        let grace = config.shutdown_grace;
        let (bound_tx, bound_rx) = mpsc::channel::<Result<SocketAddr, ServerError>>();
        let (ended_tx, ended) = mpsc::channel::<()>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let address = address.to_owned();
        let thread = std::thread::Builder::new()
            .name("candor-http-server".to_owned())
            .spawn(move || {
                let _ended = ended_tx;
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(source) => {
                        let _ = bound_tx.send(Err(ServerError::Runtime(source)));
                        return;
                    }
                };
                let server = match runtime.block_on(Server::bind(&address, config)) {
                    Ok(server) => server,
                    Err(error) => {
                        let _ = bound_tx.send(Err(error));
                        return;
                    }
                };
                if bound_tx.send(Ok(server.local_addr())).is_err() {
                    return;
                }
                // A dropped handle stops the server as `stop` does.
                let shutdown = async {
                    let _ = stopped.await;
                };
                let _ = runtime.block_on(server.run_streaming(handler, shutdown));
                // Dropping the runtime cancels what is left: a reply still being streamed, a
                // handler still waiting.
            })
            .map_err(ServerError::Runtime)?;
        let address = match bound_rx.recv() {
            Ok(Ok(address)) => address,
            Ok(Err(error)) => {
                let _ = thread.join();
                return Err(error);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(ServerError::Runtime(std::io::Error::other(
                    "the server's thread ended before it was bound",
                )));
            }
        };
        Ok(BackgroundServer {
            address,
            grace,
            stop: Some(stop),
            ended,
            thread: Some(thread),
        })
    }
}

impl BackgroundServer {
    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, lets requests in flight finish within the shutdown grace, and returns
    /// when the thread has ended, or at the latest a moment after the grace.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        let Some(stop) = self.stop.take() else {
            return;
        };
        let _ = stop.send(());
        match self.ended.recv_timeout(self.grace + STOP_MARGIN) {
            Err(mpsc::RecvTimeoutError::Disconnected) | Ok(()) => {
                if let Some(thread) = self.thread.take() {
                    let _ = thread.join();
                }
            }
            // Still ending: left to finish on its own rather than waited on past the deadline.
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}
