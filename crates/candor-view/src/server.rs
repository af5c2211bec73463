//! Serving the page: Candor's one HTTP server, on loopback only, behind a per-run secret, for
//! requests that name the loopback address in their `Host`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use candor_consent::Environment;
use candor_http_server::http::{HeaderValue, Method, StatusCode, header};
use candor_http_server::{Request, Response, Server, ServerConfig, text_response};
use candor_schema::Catalogue;
use candor_state::StateDir;

/// What the page is made from, read afresh on every request.
#[derive(Debug, Clone)]
pub struct ViewSource {
    /// Candor's folder.
    pub state: StateDir,
    /// The products to show.
    pub catalogues: Vec<Catalogue>,
    /// The environment consent is decided with.
    pub env: Environment,
}

/// Why the page could not be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ViewError {
    /// The server could not start.
    #[error("cannot start the page's server: {0}")]
    Start(String),
    /// No random source for the secret.
    #[error("no random source for the page's secret: {0}")]
    Random(String),
}

/// The page being served; stops on [`ViewServer::stop`] or when dropped.
#[derive(Debug)]
pub struct ViewServer {
    address: SocketAddr,
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Page {
    source: ViewSource,
    path: String,
    hosts: [String; 3],
}

impl ViewServer {
    /// Serves the page on `127.0.0.1:port` (0 picks a free port), at a path holding 128 random
    /// bits, from its own small runtime.
    pub fn start(source: ViewSource, port: u16) -> Result<Self, ViewError> {
        let mut secret = [0u8; 16];
        getrandom::fill(&mut secret).map_err(|e| ViewError::Random(e.to_string()))?;
        let secret: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("candor-view")
            .enable_all()
            .build()
            .map_err(|e| ViewError::Start(e.to_string()))?;
        let config = ServerConfig {
            max_body_bytes: 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: 32,
            shutdown_grace: Duration::from_secs(1),
            ..ServerConfig::default()
        };
        let bound = runtime
            .block_on(Server::bind(&format!("127.0.0.1:{port}"), config))
            .map_err(|e| ViewError::Start(e.to_string()))?;
        let address = bound.local_addr();
        let port = address.port();
        let page = Arc::new(Page {
            source,
            path: format!("/{secret}/"),
            hosts: [
                format!("127.0.0.1:{port}"),
                format!("localhost:{port}"),
                format!("[::1]:{port}"),
            ],
        });
        let url = format!("http://127.0.0.1:{port}/{secret}/");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("candor-view".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let handler = move |request: Request| {
                        let page = Arc::clone(&page);
                        async move { page.answer(request).await }
                    };
                    let _ = bound
                        .run(handler, async move {
                            let _ = stopped.await;
                        })
                        .await;
                });
            })
            .map_err(|e| ViewError::Start(e.to_string()))?;
        Ok(Self {
            address,
            url,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The page's address, secret included.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The socket address served.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until the process ends.
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Serves until the process is interrupted (Ctrl-C, `SIGTERM`), then stops serving and
    /// returns, so the caller can clean up (the browser's redirect page).
    pub fn wait_for_interrupt(self) {
        let signals = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        let Ok(signals) = signals else {
            return self.wait();
        };
        signals.block_on(async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{SignalKind, signal};
                let Ok(mut term) = signal(SignalKind::terminate()) else {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            #[cfg(not(unix))]
            let _ = tokio::signal::ctrl_c().await;
        });
        self.stop();
    }

    /// Stops serving and waits for the server's thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ViewServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Page {
    async fn answer(self: Arc<Self>, request: Request) -> Response {
        // A page of another site whose name was rebound to 127.0.0.1 sends its own name here.
        let host_ok = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|host| self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)));
        if !host_ok {
            return text_response(
                StatusCode::MISDIRECTED_REQUEST,
                "this page answers only to the loopback address it printed\n",
            );
        }
        if !same_secret(request.uri().path(), &self.path) {
            return text_response(StatusCode::NOT_FOUND, "not found\n");
        }
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return text_response(StatusCode::METHOD_NOT_ALLOWED, "read-only\n");
        }
        let page = Arc::clone(&self);
        let html = tokio::task::spawn_blocking(move || {
            let source = &page.source;
            crate::render(&crate::gather(
                &source.state,
                &source.catalogues,
                &source.env,
            ))
        })
        .await;
        let Ok(html) = html else {
            return text_response(StatusCode::INTERNAL_SERVER_ERROR, "the page failed\n");
        };
        let mut response = text_response(StatusCode::OK, html);
        let headers = response.headers_mut();
        for (name, value) in [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                candor_html::CONTENT_SECURITY_POLICY,
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::X_FRAME_OPTIONS, "DENY"),
            // The secret is in the path: no other page learns it from a referrer.
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-store"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        response
    }
}

/// Compares the request's path with the secret path in time independent of where they differ.
fn same_secret(path: &str, expected: &str) -> bool {
    let path = if path.len() + 1 == expected.len() && !path.ends_with('/') {
        // `/<secret>` without the final slash is the same page.
        format!("{path}/")
    } else {
        path.to_owned()
    };
    path.len() == expected.len()
        && path
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_secret_path_matches() {
        let expected = "/00ff/";
        assert!(same_secret("/00ff/", expected));
        assert!(same_secret("/00ff", expected));
        for path in ["/", "/00fe/", "/00ff/x", "/00ff//", "", "/00FF/"] {
            assert!(!same_secret(path, expected), "{path}");
        }
    }
}
