//! OTLP logs: each event one log record whose EventName is the data point's id, with the
//! envelope as attributes and the value as the body; the product as the resource's service.
//!
//! Candor encodes the export request itself (`opentelemetry-proto`'s generated types, prost)
//! and sends it itself: over HTTP with the same blocking client and rules as the other HTTP
//! sinks (no redirects, capped replies, `Retry-After`, statuses classified by number), over
//! gRPC with tonic's client for the generated `LogsService` (codes classified by number,
//! `RetryInfo` honoured). No SDK or exporter sits in between, so no `OTEL_*` variable is read,
//! every answer is seen as a typed status, and one spooled batch is one request.
//!
//! gRPC needs tokio: the sink owns a current-thread runtime, built on the pipeline's sender
//! thread, and blocks on each export there.

#[cfg(feature = "otlp-grpc")]
use std::time::Duration;
use std::time::SystemTime;

pub use candor_otlp::encode_request;
use candor_schema::Event;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsPartialSuccess;
#[cfg(feature = "otlp-http")]
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use prost::Message;

#[cfg(feature = "otlp-grpc")]
use super::Failure;
#[cfg(feature = "otlp-grpc")]
use super::classify_grpc;
use super::{Outcome, Refusals, SemanticNames, Sink, SinkOptions};
use crate::TransportError;
use crate::endpoint::Endpoint;

/// OTLP's two transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// HTTP with protobuf bodies (`/v1/logs`).
    #[cfg(feature = "otlp-http")]
    HttpProtobuf,
    /// gRPC.
    #[cfg(feature = "otlp-grpc")]
    Grpc,
}

enum Transport {
    #[cfg(feature = "otlp-http")]
    Http(reqwest::blocking::Client),
    #[cfg(feature = "otlp-grpc")]
    Grpc(Box<grpc::Connection>),
}

/// Exports batches as OTLP log records.
pub struct OtlpSink {
    endpoint: Endpoint,
    protocol: OtlpProtocol,
    transport: Transport,
    semconv: SemanticNames,
    request_timeout: std::time::Duration,
    /// The last attempt's request, for the local copy.
    last: Option<super::Payload>,
    /// The last answer's partial-success message, where it refused nothing (a deletion
    /// request's confirmation is read from it).
    last_message: Option<String>,
}

impl std::fmt::Debug for OtlpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpSink")
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl OtlpSink {
    /// A sink to `endpoint`: for HTTP the logs URL (`http://127.0.0.1:4318/v1/logs`; give
    /// [`Endpoint::with_signal_path`] a base URL to get it), for gRPC the server
    /// (`http://127.0.0.1:4317`).
    pub fn new(
        endpoint: Endpoint,
        protocol: OtlpProtocol,
        options: &SinkOptions,
    ) -> Result<Self, TransportError> {
        let transport = match protocol {
            #[cfg(feature = "otlp-http")]
            OtlpProtocol::HttpProtobuf => Transport::Http(super::client::build(options)?),
            #[cfg(feature = "otlp-grpc")]
            OtlpProtocol::Grpc => grpc::connect(&endpoint, options)?,
        };
        Ok(Self {
            endpoint,
            protocol,
            transport,
            semconv: options.semconv.clone(),
            request_timeout: options.timeouts.request,
            last: None,
            last_message: None,
        })
    }
}

impl Sink for OtlpSink {
    fn kind(&self) -> &'static str {
        match self.protocol {
            #[cfg(feature = "otlp-http")]
            OtlpProtocol::HttpProtobuf => "otlp-http",
            #[cfg(feature = "otlp-grpc")]
            OtlpProtocol::Grpc => "otlp-grpc",
        }
    }

    fn destination(&self) -> String {
        self.endpoint.to_string()
    }

    fn deliver(&mut self, events: &[Event]) -> Outcome {
        self.deliver_by(events, None)
    }

    fn take_payload(&mut self) -> Option<super::Payload> {
        self.last.take()
    }

    /// The request as a log record of its own (`candor_otlp::encode_deletion`); the answer's
    /// partial-success message is where a receiver confirms (`candor_otlp::confirms`). No
    /// local copy of the payload is kept for it.
    fn deliver_deletion(
        &mut self,
        request: &candor_schema::DeletionRequest,
        deadline: Option<std::time::Instant>,
    ) -> Option<(Outcome, bool)> {
        let message = candor_otlp::encode_deletion(request, SystemTime::now());
        let outcome = self.export(Request::Message(message), 1, deadline);
        self.last = None;
        let confirmed = self
            .last_message
            .take()
            .is_some_and(|m| candor_otlp::confirms(&m, &request.request_id));
        Some((outcome, confirmed))
    }

    fn deliver_by(&mut self, events: &[Event], deadline: Option<std::time::Instant>) -> Outcome {
        let request = match &self.transport {
            // HTTP writes the bytes straight from the events, without building the message.
            #[cfg(feature = "otlp-http")]
            Transport::Http(_) => Request::Bytes(candor_otlp::encode_request_bytes(
                events,
                &self.semconv,
                SystemTime::now(),
            )),
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(_) => {
                Request::Message(encode_request(events, &self.semconv, SystemTime::now()))
            }
        };
        self.export(request, events.len(), deadline)
    }
}

/// An export request, as the transport takes it.
enum Request {
    /// Encoded (what HTTP sends).
    #[cfg_attr(not(feature = "otlp-http"), allow(dead_code))]
    Bytes(Vec<u8>),
    /// The message (what gRPC sends).
    #[cfg_attr(not(feature = "otlp-grpc"), allow(dead_code))]
    Message(opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest),
}

impl Request {
    #[cfg(feature = "otlp-http")]
    fn into_bytes(self) -> Vec<u8> {
        match self {
            Self::Bytes(bytes) => bytes,
            Self::Message(message) => message.encode_to_vec(),
        }
    }

    #[cfg(feature = "otlp-grpc")]
    fn into_message(
        self,
    ) -> Option<opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest> {
        match self {
            Self::Message(message) => Some(message),
            Self::Bytes(bytes) => Message::decode(bytes.as_slice()).ok(),
        }
    }
}

impl OtlpSink {
    /// Exports `request` (holding `len` records) once.
    fn export(
        &mut self,
        request: Request,
        len: usize,
        deadline: Option<std::time::Instant>,
    ) -> Outcome {
        // The request timeout never exceeds the time left before the caller's deadline.
        let Some(timeout) = super::time_left(self.request_timeout, deadline) else {
            return super::out_of_time(&self.endpoint);
        };
        self.last_message = None;
        match &mut self.transport {
            #[cfg(feature = "otlp-http")]
            Transport::Http(client) => {
                let body = request.into_bytes();
                let bytes = body.len() as u64;
                self.last = Some(super::Payload {
                    format: candor_state::PayloadFormat::OtlpProtobuf,
                    bytes: body.clone(),
                });
                let post = client
                    .post(self.endpoint.url())
                    .header("content-type", "application/x-protobuf")
                    .timeout(timeout)
                    .body(body);
                let message = &mut self.last_message;
                super::client::post(post, &self.endpoint, bytes, |answer| {
                    let partial = ExportLogsServiceResponse::decode(answer)
                        .ok()
                        .and_then(|r| r.partial_success);
                    *message = partial.as_ref().map(|p| p.error_message.clone());
                    partial.map_or_else(Refusals::default, |p| partial_refusals(&p, len))
                })
            }
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(connection) => {
                let Some(request) = request.into_message() else {
                    return Outcome::Reject {
                        failure: Failure::Encode,
                        reason: "an export request Candor could not build".to_owned(),
                    };
                };
                let bytes = request.encoded_len() as u64;
                self.last = Some(super::Payload {
                    format: candor_state::PayloadFormat::OtlpProtobuf,
                    bytes: request.encode_to_vec(),
                });
                let grpc::Connection { runtime, client } = &mut **connection;
                // tonic sends this as `grpc-timeout` and its channel enforces it.
                let mut request = tonic::Request::new(request);
                request.set_timeout(timeout);
                let answer = runtime.block_on(client.export(request));
                match answer {
                    Ok(response) => {
                        let partial = response.into_inner().partial_success;
                        self.last_message = partial.as_ref().map(|p| p.error_message.clone());
                        Outcome::Delivered {
                            bytes,
                            refused: partial
                                .map_or_else(Refusals::default, |p| partial_refusals(&p, len)),
                        }
                    }
                    Err(status) => grpc::outcome(&status, &self.endpoint),
                }
            }
        }
    }
}

/// OTLP's partial success: how many log records the receiver rejected (it does not say which),
/// and its message.
fn partial_refusals(partial: &ExportLogsPartialSuccess, len: usize) -> Refusals {
    let count = u64::try_from(partial.rejected_log_records).unwrap_or(0);
    if count == 0 {
        return Refusals::default();
    }
    let reason = partial.error_message.lines().next().map(str::to_owned);
    Refusals::new(count, [], len, reason.filter(|r| !r.is_empty()))
}

#[cfg(feature = "otlp-grpc")]
mod grpc {
    //! The gRPC transport: a tonic channel on a current-thread runtime, and what a status means.

    use std::error::Error as _;

    use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;

    use super::{Duration, Failure, Outcome, Transport, classify_grpc};
    use crate::TransportError;
    use crate::endpoint::Endpoint;
    use crate::sink::SinkOptions;

    pub(super) struct Connection {
        pub(super) runtime: tokio::runtime::Runtime,
        pub(super) client: LogsServiceClient<tonic::transport::Channel>,
    }

    pub(super) fn connect(
        endpoint: &Endpoint,
        options: &SinkOptions,
    ) -> Result<Transport, TransportError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TransportError::thread("the gRPC sink's runtime", e))?;
        let config = |e: tonic::transport::Error| TransportError::Grpc {
            endpoint: endpoint.to_string(),
            source: std::sync::Arc::new(e),
        };
        #[allow(unused_mut)]
        let mut channel = tonic::transport::Endpoint::from_shared(endpoint.url().to_owned())
            .map_err(config)?
            .connect_timeout(options.timeouts.connect)
            .timeout(options.timeouts.request)
            .tcp_nodelay(true)
            .user_agent(concat!("candor/", env!("CARGO_PKG_VERSION")))
            .map_err(config)?;
        if endpoint.is_https() {
            #[cfg(feature = "tls")]
            {
                let mut tls = tonic::transport::ClientTlsConfig::new()
                    .with_native_roots()
                    .domain_name(endpoint.host());
                if let Some(path) = &options.ca_file {
                    let pem = crate::sink::read_ca(path)?;
                    tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
                }
                channel = channel.tls_config(tls).map_err(config)?;
            }
            #[cfg(not(feature = "tls"))]
            return Err(TransportError::NotBuilt {
                sink: "otlp-grpc over https".to_owned(),
                feature: "tls",
            });
        }
        let channel = {
            let _inside = runtime.enter();
            channel.connect_lazy()
        };
        Ok(Transport::Grpc(Box::new(Connection {
            runtime,
            client: LogsServiceClient::new(channel),
        })))
    }

    /// A failed export: a transport failure (nothing answered) or the server's status code,
    /// with the delay its `RetryInfo` asks for.
    pub(super) fn outcome(status: &tonic::Status, endpoint: &Endpoint) -> Outcome {
        if let Some(failure) = transport_failure(status) {
            return Outcome::Retry {
                failure,
                reason: format!("gRPC to {endpoint}: {failure}"),
                after: None,
            };
        }
        classify_grpc(
            status.code() as i32,
            retry_delay(status.details()),
            &endpoint.to_string(),
        )
    }

    /// `Some` when the status stands for a failure to reach the server rather than its answer.
    fn transport_failure(status: &tonic::Status) -> Option<Failure> {
        let source = status.source()?;
        if let Some(found) = crate::sink::failure_in_chain(source) {
            return Some(found);
        }
        let mut next = Some(source);
        while let Some(e) = next {
            if e.is::<tonic::TimeoutExpired>() {
                return Some(Failure::Timeout);
            }
            next = e.source();
        }
        Some(Failure::Network)
    }

    /// `google.rpc.Status` (as far as Candor reads it) and `google.rpc.RetryInfo`: the OTLP
    /// specification's way for a server to say how long to wait.
    #[derive(Clone, PartialEq, prost::Message)]
    struct RpcStatus {
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

    pub(super) fn retry_delay(details: &[u8]) -> Option<Duration> {
        use prost::Message as _;
        let status = RpcStatus::decode(details).ok()?;
        status
            .details
            .iter()
            .filter(|d| d.type_url.ends_with("google.rpc.RetryInfo"))
            .find_map(|d| RetryInfo::decode(d.value.as_slice()).ok()?.retry_delay)
            .map(|d| {
                Duration::from_secs(u64::try_from(d.seconds).unwrap_or(0))
                    + Duration::from_nanos(u64::try_from(d.nanos).unwrap_or(0))
            })
            .map(|d| d.min(crate::retry::MAX_RETRY_AFTER))
    }

    #[cfg(test)]
    pub(crate) fn retry_info_details(delay: Duration) -> Vec<u8> {
        use prost::Message as _;
        let info = RetryInfo {
            retry_delay: Some(ProtoDuration {
                seconds: i64::try_from(delay.as_secs()).unwrap_or(0),
                nanos: i32::try_from(delay.subsec_nanos()).unwrap_or(0),
            }),
        };
        RpcStatus {
            details: vec![ProtoAny {
                type_url: "type.googleapis.com/google.rpc.RetryInfo".to_owned(),
                value: info.encode_to_vec(),
            }],
        }
        .encode_to_vec()
    }
}

#[cfg(all(test, feature = "otlp-grpc"))]
mod tests {
    use super::*;

    #[test]
    fn retry_info_is_read() {
        let details = grpc::retry_info_details(Duration::from_millis(1500));
        assert_eq!(
            grpc::retry_delay(&details),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(grpc::retry_delay(b"\xff\x00garbage"), None);
    }
}
