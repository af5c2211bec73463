//! An OTLP/gRPC logs receiver (tonic) on loopback.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use prost::Message;
use tonic::{Request, Response, Status};

use crate::{Log, Received, otlp};

struct Service {
    log: Arc<Mutex<Log>>,
    faults: Arc<Mutex<VecDeque<GrpcFault>>>,
}

/// What the gRPC receiver answers the next requests with, instead of accepting them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcFault {
    /// The gRPC status code.
    pub code: i32,
    /// A `google.rpc.RetryInfo` delay to put in the status details.
    pub retry_after: Option<Duration>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<ProtoAny>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ProtoAny {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    retry_delay: Option<ProtoDuration>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ProtoDuration {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

fn status_of(fault: &GrpcFault) -> Status {
    let code = tonic::Code::from_i32(fault.code);
    let Some(delay) = fault.retry_after else {
        return Status::new(code, "scripted fault");
    };
    let info = RetryInfo {
        retry_delay: Some(ProtoDuration {
            seconds: delay.as_secs() as i64,
            nanos: delay.subsec_nanos() as i32,
        }),
    };
    let details = RpcStatus {
        code: fault.code,
        message: "scripted fault".into(),
        details: vec![ProtoAny {
            type_url: "type.googleapis.com/google.rpc.RetryInfo".into(),
            value: info.encode_to_vec(),
        }],
    };
    Status::with_details(code, "scripted fault", details.encode_to_vec().into())
}

#[tonic::async_trait]
impl LogsService for Service {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let metadata = request
            .metadata()
            .iter()
            .filter_map(|kv| match kv {
                tonic::metadata::KeyAndValueRef::Ascii(k, v) => Some((
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or("").to_owned(),
                )),
                tonic::metadata::KeyAndValueRef::Binary(..) => None,
            })
            .collect();
        let request = request.into_inner();
        let mut log = self.log.lock().unwrap();
        log.requests += 1;
        log.metadata.push(metadata);
        if let Some(fault) = self.faults.lock().unwrap().pop_front() {
            return Err(status_of(&fault));
        }
        log.bodies.push(request.encode_to_vec());
        log.events.extend(otlp::events(&request));
        Ok(Response::new(ExportLogsServiceResponse {
            partial_success: None,
        }))
    }
}

/// The receiver; its runtime stops when dropped.
pub struct GrpcReceiver {
    port: u16,
    tls: Option<crate::TestCa>,
    log: Arc<Mutex<Log>>,
    faults: Arc<Mutex<VecDeque<GrpcFault>>>,
    _runtime: tokio::runtime::Runtime,
}

impl GrpcReceiver {
    pub fn start() -> Self {
        Self::start_with_nodelay(true)
    }

    /// With `nodelay` false the receiver's answers wait for Nagle's algorithm, as a server
    /// that leaves TCP_NODELAY unset does (tonic's default for an incoming listener): the
    /// export benchmark uses it to show what that costs a client.
    pub fn start_with_nodelay(nodelay: bool) -> Self {
        Self::start_inner(nodelay, None, None)
    }

    /// With HTTP/2 flow-control windows of `window` bytes (stream and connection) instead of
    /// the 64 KiB default, so a client may send a whole batch without waiting for window
    /// updates: the export benchmark uses it to show what the default windows cost.
    pub fn start_with_window(window: u32) -> Self {
        Self::start_inner(true, None, Some(window))
    }

    /// Over TLS, with a certificate for `localhost` and `127.0.0.1` from a CA made now
    /// ([`GrpcReceiver::ca`]).
    pub fn start_tls() -> Self {
        let (ca, cert, key) = crate::http::make_ca_pems();
        Self::start_inner(true, Some((ca, cert, key)), None)
    }

    /// The CA that issued a TLS receiver's certificate.
    pub fn ca(&self) -> Option<&crate::TestCa> {
        self.tls.as_ref()
    }

    fn start_inner(
        nodelay: bool,
        tls: Option<(crate::TestCa, String, String)>,
        window: Option<u32>,
    ) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Log::default()));
        let faults = Arc::new(Mutex::new(VecDeque::new()));
        let service = Service {
            log: Arc::clone(&log),
            faults: Arc::clone(&faults),
        };
        let (ca, identity) = match tls {
            Some((ca, cert, key)) => (
                Some(ca),
                Some(tonic::transport::Identity::from_pem(cert, key)),
            ),
            None => (None, None),
        };
        runtime.spawn(async move {
            let mut server = tonic::transport::Server::builder()
                .initial_stream_window_size(window)
                .initial_connection_window_size(window);
            if let Some(identity) = identity {
                server = server
                    .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
                    .unwrap();
            }
            // Answers leave at once, as a production server's would (no Nagle delay).
            let incoming =
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(nodelay));
            let _ = server
                .add_service(LogsServiceServer::new(service))
                .serve_with_incoming(incoming)
                .await;
        });
        Self {
            port,
            tls: ca,
            log,
            faults,
            _runtime: runtime,
        }
    }

    /// The next requests meet these faults, in order; after them, requests succeed.
    pub fn script(&self, faults: impl IntoIterator<Item = GrpcFault>) {
        self.faults.lock().unwrap().extend(faults);
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    pub fn events(&self) -> Vec<Received> {
        self.log.lock().unwrap().events.clone()
    }

    pub fn log(&self) -> Log {
        self.log.lock().unwrap().clone()
    }

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
