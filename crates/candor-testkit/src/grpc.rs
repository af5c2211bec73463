//! An OTLP/gRPC logs receiver (tonic) on loopback.

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
}

#[tonic::async_trait]
impl LogsService for Service {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let request = request.into_inner();
        let mut log = self.log.lock().unwrap();
        log.requests += 1;
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
    log: Arc<Mutex<Log>>,
    _runtime: tokio::runtime::Runtime,
}

impl GrpcReceiver {
    pub fn start() -> Self {
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
        let service = Service {
            log: Arc::clone(&log),
        };
        runtime.spawn(async move {
            let incoming = tonic::transport::server::TcpIncoming::from(listener);
            let _ = tonic::transport::Server::builder()
                .add_service(LogsServiceServer::new(service))
                .serve_with_incoming(incoming)
                .await;
        });
        Self {
            port,
            log,
            _runtime: runtime,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
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
