//! The HTTP face of the receiving end: routes, replies and status codes.
//!
//! | request | answer |
//! |---|---|
//! | `POST /v1/events` (JSON array, gzip or plain) | 200 with what was stored and what was refused; 422 when every event was refused |
//! | `POST /v1/logs` (OTLP/HTTP protobuf) | 200 with OTLP's partial success; 400 when every record was refused |
//! | either, queue full | 429 with `Retry-After` |
//! | either, database failing | 503 with `Retry-After`; nothing of the batch acknowledged |
//! | either, body over the cap | 413; malformed body 400 |
//! | `GET /` | the HTML page of every product's aggregates |
//! | `GET /v1/report/<product>` | one product's report as JSON (`?since=&until=`) |
//! | `GET /healthz` | 200 |

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use candor_http_server::http::{self, HeaderValue, Method, StatusCode, header};
use candor_http_server::{Request, Response, text_response};
use http_body_util::Full;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use prost::Message;
use serde_json::json;

use crate::decode::{self, DecodeError, Item};
use crate::store::{Batch, Store, StoreError};
use crate::validate::{Accepted, Refusal, micros};
use crate::writer::{QueueError, Writer};
use crate::{report, retention};

/// At most this many refusals are listed in a reply (all are counted).
const MAX_LISTED_REFUSALS: usize = 1000;

/// Settings of the receiving end.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Events that may wait for the database; beyond, requests get 429.
    pub queue_capacity: usize,
    /// The largest body after decompression.
    pub max_decoded_bytes: usize,
    /// How long a request waits for its commit before it gets 503.
    pub commit_deadline: Duration,
    /// How often `serve` purges data past its retention.
    pub purge_every: Duration,
    /// What `Retry-After` says on 429 and 503, in seconds.
    pub retry_after_secs: u32,
}

impl Default for IngestConfig {
    /// 200 000 queued events, 64 MiB decompressed, 30 s to commit, a purge every hour, retry
    /// after 2 s.
    fn default() -> Self {
        Self {
            queue_capacity: 200_000,
            max_decoded_bytes: 64 << 20,
            commit_deadline: Duration::from_secs(30),
            purge_every: Duration::from_secs(3600),
            retry_after_secs: 2,
        }
    }
}

/// The receiving end: catalogues, the writer, and a reading connection for reports.
pub struct Ingest {
    accepted: Arc<Accepted>,
    writer: Writer,
    reader: Arc<Mutex<Box<dyn Store>>>,
    config: IngestConfig,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Ingest {
    /// Opens two connections to the database (one writes, one reads for reports) and starts the
    /// writer.
    pub fn open(
        accepted: Accepted,
        database: &crate::DatabaseUrl,
        config: IngestConfig,
    ) -> Result<Self, StoreError> {
        let writing = database.open()?;
        let reading = database.open()?;
        Ok(Self {
            accepted: Arc::new(accepted),
            writer: Writer::start(writing, config.queue_capacity, config.commit_deadline),
            reader: Arc::new(Mutex::new(reading)),
            config,
        })
    }

    /// The catalogues accepted.
    pub fn accepted(&self) -> &Accepted {
        &self.accepted
    }

    /// Events waiting for the database now.
    pub fn queued(&self) -> u64 {
        self.writer.queued()
    }

    /// Purges every product's data past its retention as of `as_of`, through the writer.
    pub async fn purge(&self, as_of: SystemTime) -> Vec<retention::Purged> {
        let mut out = Vec::new();
        for (product, days, before_us) in retention::cutoffs(&self.accepted, as_of) {
            let result = self.writer.purge(&product, before_us).await;
            out.push(retention::Purged {
                product,
                days,
                removed: result,
            });
        }
        out
    }

    /// Answers one request.
    pub async fn handle(self: Arc<Self>, request: Request) -> Response {
        let path = request.uri().path().to_owned();
        match (request.method(), path.as_str()) {
            (&Method::POST, "/v1/events") => self.receive(request, Format::Json).await,
            (&Method::POST, "/v1/logs") => self.receive(request, Format::Otlp).await,
            (&Method::GET, "/") => self.page(request).await,
            (&Method::GET, "/healthz") => text_response(StatusCode::OK, "ok\n"),
            (&Method::GET, p) if p.starts_with("/v1/report/") => {
                let product = p.trim_start_matches("/v1/report/").to_owned();
                self.report_json(&product, request.uri().query()).await
            }
            (_, "/v1/events" | "/v1/logs" | "/" | "/healthz") => {
                text_response(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
            }
            _ => text_response(StatusCode::NOT_FOUND, "not found\n"),
        }
    }

    async fn receive(&self, request: Request, format: Format) -> Response {
        // The body is dropped here, before the wait for the commit: a full queue holds checked
        // rows, not request bodies as well. Items are delimited first and decoded one at a time
        // into checked rows, so no more than one decoded item is held at once.
        let checked = {
            let body = request.into_body();
            decode::decompress(&body, self.config.max_decoded_bytes).and_then(|plain| {
                Ok(match format {
                    Format::Json => {
                        let items = decode::json_items(&plain)?;
                        (
                            items.len(),
                            self.check(items.into_iter().map(decode::json_item)),
                        )
                    }
                    Format::Otlp => {
                        let records = decode::otlp_records(&plain)?;
                        (
                            records.len(),
                            self.check(records.into_iter().map(decode::otlp_item)),
                        )
                    }
                })
            })
        };
        let (received, (batch, refused)) = match checked {
            Ok(checked) => checked,
            Err(DecodeError::TooLarge(what)) => {
                return text_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the payload exceeds {what}\n"),
                );
            }
            Err(e) => return text_response(StatusCode::BAD_REQUEST, format!("{e}\n")),
        };
        let all_refused = received > 0 && batch.events.is_empty();
        match self.writer.write(batch).await {
            Ok(written) => reply(format, StatusCode::OK, written, &refused, all_refused),
            // Refusals alone do not need the database to be answered.
            Err(_) if all_refused => reply(
                format,
                StatusCode::OK,
                crate::store::Written::default(),
                &refused,
                true,
            ),
            Err(QueueError::Full) => self.retry_later(
                StatusCode::TOO_MANY_REQUESTS,
                "the ingest queue is full; retry later\n".to_owned(),
            ),
            Err(QueueError::Unavailable(message)) => self.retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("nothing was stored: {message}\n"),
            ),
        }
    }

    fn check(
        &self,
        items: impl Iterator<Item = Item>,
    ) -> (Batch, Vec<(usize, Option<String>, Refusal)>) {
        let now = SystemTime::now();
        let mut batch = Batch::default();
        let mut refused = Vec::new();
        let mut counts: std::collections::BTreeMap<(String, crate::Reason), u64> =
            Default::default();
        for (index, item) in items.enumerate() {
            let (id, outcome) = match item {
                Err(refusal) => (None, Err(refusal)),
                Ok(event) => {
                    // Echoed back so the client can tell which event was refused; bounded.
                    let id: String = event.event_id.chars().take(64).collect();
                    (Some(id), self.accepted.check(event, now))
                }
            };
            match outcome {
                Ok(row) => batch.events.push(row),
                Err(refusal) => {
                    *counts
                        .entry((refusal.product.clone().unwrap_or_default(), refusal.reason))
                        .or_default() += 1;
                    refused.push((index, id, refusal));
                }
            }
        }
        batch.refusals = counts.into_iter().map(|((p, r), n)| (p, r, n)).collect();
        (batch, refused)
    }

    fn retry_later(&self, status: StatusCode, message: String) -> Response {
        let mut response = text_response(status, message);
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(self.config.retry_after_secs),
        );
        response
    }

    async fn with_reader<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store, &Accepted) -> T + Send + 'static,
    ) -> Option<T> {
        let reader = Arc::clone(&self.reader);
        let accepted = Arc::clone(&self.accepted);
        tokio::task::spawn_blocking(move || {
            let mut store = reader.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut **store, &accepted)
        })
        .await
        .ok()
    }

    async fn page(&self, request: Request) -> Response {
        let days = query_value(request.uri().query(), "days")
            .and_then(|d| d.parse::<u32>().ok())
            .unwrap_or(30)
            .clamp(1, 3660);
        let now = SystemTime::now();
        let since = now - Duration::from_secs(u64::from(days) * 86_400);
        let (since_us, until_us) = (micros(since), micros(now) + 86_400_000_000);
        let reports = self
            .with_reader(move |store, accepted| {
                accepted
                    .products()
                    .map(|p| report::build(store, accepted, p, since_us, until_us))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await;
        match reports {
            Some(Ok(reports)) => {
                let range = format!(
                    "Events recorded in the last {days} days (since {}).",
                    humantime::format_rfc3339_seconds(since)
                );
                let mut response = http::Response::new(Full::new(Bytes::from(
                    crate::page::render(&reports, &range),
                )));
                let headers = response.headers_mut();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                headers.insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
                );
                headers.insert(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                );
                response
            }
            Some(Err(e)) => self.retry_later(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
            None => text_response(StatusCode::INTERNAL_SERVER_ERROR, "report failed\n"),
        }
    }

    async fn report_json(&self, product: &str, query: Option<&str>) -> Response {
        if self.accepted.catalogue(product).is_none() {
            return text_response(StatusCode::NOT_FOUND, "no such product\n");
        }
        let now = SystemTime::now();
        let bound = |key: &str, default: i64| match query_value(query, key) {
            Some(text) => crate::parse_time_arg(&text, now),
            None => Ok(default),
        };
        let (since_us, until_us) = match (bound("since", i64::MIN), bound("until", i64::MAX)) {
            (Ok(s), Ok(u)) => (s, u),
            (Err(e), _) | (_, Err(e)) => {
                return text_response(StatusCode::BAD_REQUEST, format!("{e}\n"));
            }
        };
        let product = product.to_owned();
        let result = self
            .with_reader(move |store, accepted| {
                report::build(store, accepted, &product, since_us, until_us)
            })
            .await;
        match result {
            Some(Ok(report)) => json_response(
                StatusCode::OK,
                serde_json::to_vec(&report).unwrap_or_default(),
            ),
            Some(Err(e)) => self.retry_later(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
            None => text_response(StatusCode::INTERNAL_SERVER_ERROR, "report failed\n"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Json,
    Otlp,
}

fn reply(
    format: Format,
    status: StatusCode,
    written: crate::store::Written,
    refused: &[(usize, Option<String>, Refusal)],
    all_refused: bool,
) -> Response {
    match format {
        Format::Json => {
            let listed: Vec<_> = refused
                .iter()
                .take(MAX_LISTED_REFUSALS)
                .map(|(index, id, r)| {
                    json!({
                        "index": index,
                        "event_id": id,
                        "reason": r.reason.code(),
                        "detail": r.detail,
                    })
                })
                .collect();
            let body = json!({
                "accepted": written.inserted,
                "duplicates": written.duplicates,
                "refused_count": refused.len(),
                "refused": listed,
            });
            let status = if all_refused {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                status
            };
            json_response(status, serde_json::to_vec(&body).unwrap_or_default())
        }
        Format::Otlp => {
            let partial_success = (!refused.is_empty()).then(|| ExportLogsPartialSuccess {
                rejected_log_records: i64::try_from(refused.len()).unwrap_or(i64::MAX),
                error_message: refused
                    .iter()
                    .take(20)
                    .map(|(index, _, r)| format!("#{index} {}: {}", r.reason.code(), r.detail))
                    .collect::<Vec<_>>()
                    .join("; "),
            });
            let body = ExportLogsServiceResponse { partial_success }.encode_to_vec();
            let mut response = http::Response::new(Full::new(Bytes::from(body)));
            *response.status_mut() = if all_refused {
                StatusCode::BAD_REQUEST
            } else {
                status
            };
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-protobuf"),
            );
            response
        }
    }
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = http::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.replace("%3A", ":").replace("%3a", ":"))
    })
}
