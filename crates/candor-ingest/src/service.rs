//! The HTTP face of the receiving end: routes, replies and status codes.
//!
//! | request | answer |
//! |---|---|
//! | `POST /v1/events` (JSON array, gzip or plain) | 200 with what was stored and what was refused; 422 when every event was refused |
//! | `POST /v1/logs` (OTLP/HTTP protobuf) | 200 with OTLP's partial success; 400 when every record was refused |
//! | either, queue full (events or bytes) | 429 with `Retry-After` |
//! | either, database failing | 503 with `Retry-After`; nothing of the batch acknowledged |
//! | either, the bodies being checked hold the checking budget | 503 with `Retry-After`; nothing stored |
//! | either, body over the cap | 413; malformed body 400 |
//! | `GET /` | the HTML page of every product's aggregates (read token) |
//! | `GET /v1/report/<product>` | one product's report as JSON (`?since=&until=`) (read token) |
//! | either report, no read token configured | 404, "reads are off" |
//! | either report, token missing or wrong | 401 with `WWW-Authenticate: Bearer`, no detail |
//! | either report, [`IngestConfig::max_reports`] already running | 503 with `Retry-After` |
//! | `POST /v1/deletion-requests` (JSON `DeletionRequest`; an ingest endpoint, no read token) | 200 with a `DeletionConfirmation` once every event of the product with that key recorded up to `before` is erased, the same whether there were any; 400 malformed; 413 over 4 KiB (refused once that much has arrived, or by its `Content-Length`); 422 unknown product; 429 queue full (an erasure counts as one event of the queue, and at most 64 wait at once); 503 database failing |
//! | `GET /healthz` | 200 |
//!
//! Bodies are decoded and checked on the checking pool, never on the async threads, and
//! reports on the blocking pool: the threads that read sockets only wait for answers.

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

use tokio::sync::Semaphore;

use crate::access::ReadToken;
use crate::decode::DecodeError;
use crate::intake::{Checked, Format, Intake, IntakeError, Limits, Listed};
use crate::pool::Pool;
use crate::store::{Preparer, Storage, Store, StoreError};
use crate::validate::{Accepted, Reason, micros};
use crate::writer::{QueueError, Writer};
use crate::{report, retention};

/// Settings of the receiving end.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Events that may wait for the database; beyond, requests get 429.
    pub queue_capacity: usize,
    /// What the events waiting for the database may hold in memory together; beyond,
    /// requests get 429.
    pub queue_bytes: usize,
    /// The largest body after decompression.
    pub max_decoded_bytes: usize,
    /// What the events of one request may store: this many bytes per byte of the request's
    /// body as it arrived (compressed or not), at least [`IngestConfig::min_storage_allowance`]
    /// and at most [`IngestConfig::max_decoded_bytes`]. Events past it are refused
    /// (`over_storage_allowance`), so a small body that decompresses into much text cannot
    /// store many times what it cost to send.
    pub storage_per_received_byte: usize,
    /// The storage allowance of any request, however small.
    pub min_storage_allowance: usize,
    /// Threads that decode and check bodies (off the async runtime's threads).
    pub checking_threads: usize,
    /// What the bodies being checked may hold in memory together (decompressed bodies and
    /// the rows made from them); a body that would pass it is answered 503 with
    /// `Retry-After`. At least [`IngestConfig::max_decoded_bytes`] plus room for its rows.
    pub checking_memory: usize,
    /// How long a request waits for its commit before it gets 503.
    pub commit_deadline: Duration,
    /// How often `serve` purges data past its retention.
    pub purge_every: Duration,
    /// What `Retry-After` says on 429 and 503, in seconds.
    pub retry_after_secs: u32,
    /// Reports (`GET /`, `GET /v1/report/…`) computed or waiting at once; more get 503.
    pub max_reports: usize,
    /// The token the read endpoints (`GET /`, `GET /v1/report/…`) require as
    /// `Authorization: Bearer …`; without one they answer 404.
    pub read_token: Option<ReadToken>,
    /// Raises every product's minimum group (the installations a value or a version must
    /// come from to be shown by name) above what its catalogue declares; never lowers it.
    pub min_group: Option<u64>,
    /// [`Storage::Aggregates`] keeps every product's events as per-day aggregates only,
    /// whatever its catalogue declares; [`Storage::Events`] follows each catalogue.
    pub storage: Storage,
}

impl Default for IngestConfig {
    /// 200 000 queued events holding at most 256 MiB, 64 MiB decompressed, 32 bytes stored per
    /// byte received (at least 64 KiB), one checking thread per core (at most four) sharing
    /// 256 MiB, 30 s to commit, a purge every hour, retry after 2 s, 4 reports at once, and
    /// no read token (the read endpoints off).
    fn default() -> Self {
        Self {
            queue_capacity: 200_000,
            queue_bytes: 256 << 20,
            max_decoded_bytes: 64 << 20,
            storage_per_received_byte: 32,
            min_storage_allowance: 64 << 10,
            checking_threads: std::thread::available_parallelism()
                .map_or(2, std::num::NonZeroUsize::get)
                .clamp(1, 4),
            checking_memory: 256 << 20,
            commit_deadline: Duration::from_secs(30),
            purge_every: Duration::from_secs(3600),
            retry_after_secs: 2,
            max_reports: 4,
            read_token: None,
            min_group: None,
            storage: Storage::Events,
        }
    }
}

impl IngestConfig {
    /// What a request whose body arrived as `received` bytes may store.
    pub fn storage_allowance(&self, received: usize) -> usize {
        let ceiling = self.max_decoded_bytes.max(self.min_storage_allowance);
        received
            .saturating_mul(self.storage_per_received_byte)
            .clamp(self.min_storage_allowance, ceiling)
    }
}

/// [`Ingest`] as the HTTP server's handler, with the endpoints' own body caps.
pub(crate) struct Endpoints(pub(crate) Arc<Ingest>);

impl candor_http_server::Handler for Endpoints {
    fn handle(
        &self,
        request: Request,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send + 'static>> {
        Box::pin(Arc::clone(&self.0).handle(request))
    }

    fn max_body_bytes(&self, method: &Method, path: &str) -> Option<usize> {
        Ingest::max_body_bytes(method, path)
    }
}

/// The receiving end: catalogues, the checking pool, the writer, and a reading connection for
/// reports.
pub struct Ingest {
    accepted: Arc<Accepted>,
    pool: Pool,
    checking_memory: Arc<Semaphore>,
    writer: Writer,
    reader: Arc<Mutex<Box<dyn Store>>>,
    reports: Arc<Semaphore>,
    config: IngestConfig,
    /// The store's work on each accepted event that the checking threads do.
    preparer: Preparer,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Ingest {
    /// Opens the database's writing connections ([`crate::DatabaseUrl::writers`]) and one
    /// that reads for reports, with `sealing`, and starts the writer.
    pub fn open(
        accepted: Accepted,
        database: &crate::DatabaseUrl,
        sealing: &crate::Sealing,
        config: IngestConfig,
    ) -> Result<Self, StoreError> {
        let writing = (0..database.writers())
            .map(|_| database.open(sealing))
            .collect::<Result<Vec<_>, _>>()?;
        let reading = database.open(sealing)?;
        Ok(Self {
            accepted: Arc::new(accepted.with_storage(config.storage)),
            pool: Pool::start(config.checking_threads),
            checking_memory: Arc::new(Semaphore::new(
                config
                    .checking_memory
                    .div_ceil(1024)
                    .clamp(1, Semaphore::MAX_PERMITS),
            )),
            writer: Writer::start(
                writing,
                config.queue_capacity,
                config.queue_bytes,
                config.commit_deadline,
            ),
            reader: Arc::new(Mutex::new(reading)),
            reports: Arc::new(Semaphore::new(config.max_reports.max(1))),
            config,
            preparer: Preparer::new(database, sealing),
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

    /// The largest body an endpoint takes below the server's cap: a deletion request's, so a
    /// body past it is refused (413) after at most that many bytes, not read whole first.
    pub(crate) fn max_body_bytes(method: &Method, path: &str) -> Option<usize> {
        (method == Method::POST && path == candor_schema::DELETION_PATH)
            .then_some(candor_schema::MAX_DELETION_REQUEST_BYTES)
    }

    /// Answers one request.
    pub async fn handle(self: Arc<Self>, request: Request) -> Response {
        let path = request.uri().path().to_owned();
        match (request.method(), path.as_str()) {
            (&Method::POST, "/v1/events") => self.receive(request, Format::Json).await,
            (&Method::POST, "/v1/logs") => self.receive(request, Format::Otlp).await,
            (&Method::POST, candor_schema::DELETION_PATH) => self.delete(request).await,
            (&Method::GET, "/healthz") => text_response(StatusCode::OK, "ok\n"),
            (&Method::GET, "/") => match self.refuse_read(&request) {
                Some(refusal) => refusal,
                None => self.page(request).await,
            },
            (&Method::GET, p) if p.starts_with("/v1/report/") => {
                if let Some(refusal) = self.refuse_read(&request) {
                    return refusal;
                }
                let product = p.trim_start_matches("/v1/report/").to_owned();
                self.report_json(&product, request.uri().query()).await
            }
            (_, "/v1/events" | "/v1/logs" | candor_schema::DELETION_PATH | "/" | "/healthz") => {
                text_response(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
            }
            _ => text_response(StatusCode::NOT_FOUND, "not found\n"),
        }
    }

    /// The answer to a read request that may not be served: 404 when reads are off, 401 (with
    /// nothing about why) when its token is missing or wrong.
    fn refuse_read(&self, request: &Request) -> Option<Response> {
        let Some(token) = &self.config.read_token else {
            return Some(text_response(
                StatusCode::NOT_FOUND,
                "reads are off on this server: it was started without --read-token-file\n",
            ));
        };
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes);
        if token.admits(presented) {
            return None;
        }
        let mut response = text_response(StatusCode::UNAUTHORIZED, "unauthorized\n");
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer, Basic realm=\"candor\""),
        );
        Some(response)
    }

    async fn receive(&self, request: Request, format: Format) -> Response {
        // The body goes to the checking pool and comes back as checked rows: no more than the
        // rows and (for gzip) the decompressed body are held, within the checking budget.
        let body = request.into_body();
        let limits = Limits {
            max_decoded: self.config.max_decoded_bytes,
            allowance: self.config.storage_allowance(body.len()),
        };
        let intake = Intake::new(
            Arc::clone(&self.accepted),
            body,
            format,
            limits,
            Arc::clone(&self.checking_memory),
            &self.preparer,
        );
        let checked = match self.pool.run(intake).await {
            Some(Ok(checked)) => checked,
            Some(Err(IntakeError::Decode(DecodeError::TooLarge(what)))) => {
                return text_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the payload exceeds {what}\n"),
                );
            }
            Some(Err(IntakeError::Decode(e))) => {
                return text_response(StatusCode::BAD_REQUEST, format!("{e}\n"));
            }
            Some(Err(IntakeError::Store(e))) => {
                return self.retry_later(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("nothing was stored: {e}\n"),
                );
            }
            Some(Err(IntakeError::Busy)) => {
                return self.retry_later(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the server is checking as many bodies as it may hold; retry later\n"
                        .to_owned(),
                );
            }
            None => return text_response(StatusCode::INTERNAL_SERVER_ERROR, "check failed\n"),
        };
        let Checked {
            received,
            batch,
            mut refused,
            mut refused_count,
            deletions,
            reservation,
        } = checked;
        // From here the rows count against the queue's room, not the checking budget.
        drop(reservation);
        let events_all_refused =
            received > deletions.len() && batch.events.is_empty() && refused_count > 0;
        let written = match self.writer.write(batch).await {
            Ok(written) => written,
            // Refusals alone do not need the database to be answered.
            Err(_) if events_all_refused && deletions.is_empty() => {
                crate::store::Written::default()
            }
            Err(QueueError::Full) => {
                return self.retry_later(
                    StatusCode::TOO_MANY_REQUESTS,
                    "the ingest queue is full; retry later\n".to_owned(),
                );
            }
            Err(e) => {
                return self.retry_later(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("nothing was stored: {e}\n"),
                );
            }
        };
        // Deletion requests an OTLP body carried: erased after its events were written, so
        // that an event of the installation from before the opt-out in the same body is
        // erased too. One that is not taken is refused as a record; a database that cannot
        // erase fails the request as a whole (the client sends it again, and the events are
        // duplicates by then).
        let mut confirmed = Vec::new();
        for (index, deletion) in &deletions {
            match self.erase(deletion).await {
                Ok(confirmation) => confirmed.push(confirmation.request_id),
                Err(NotErased::Refused(_, reason, message)) => {
                    if refused.len() < crate::intake::MAX_LISTED_REFUSALS {
                        refused.push((
                            *index,
                            Some(deletion.request_id.clone()),
                            crate::validate::Refusal {
                                reason,
                                detail: message,
                                product: Some(deletion.product.clone()),
                            },
                        ));
                    }
                    refused_count += 1;
                }
                Err(unavailable @ (NotErased::Unavailable(_) | NotErased::Busy)) => {
                    return unavailable.response(self);
                }
            }
        }
        let answer = Answer {
            format,
            refused: &refused,
            refused_count,
            all_refused: received > 0 && refused_count >= received,
            confirmed: &confirmed,
        };
        answer.reply(written)
    }

    /// A deletion request: an ingest endpoint, like `POST /v1/events` (no read token). Every
    /// event of the product stored with the key is erased; the answer is the same whether
    /// there were any, so it says nothing about what was held.
    async fn delete(&self, request: Request) -> Response {
        let body = request.into_body();
        if body.len() > candor_schema::MAX_DELETION_REQUEST_BYTES {
            return text_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "a deletion request is at most {} bytes\n",
                    candor_schema::MAX_DELETION_REQUEST_BYTES
                ),
            );
        }
        let deletion: candor_schema::DeletionRequest = match serde_json::from_slice(&body) {
            Ok(deletion) => deletion,
            Err(e) => {
                return text_response(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "not a deletion request: {}\n",
                        candor_check::shown_up_to(&e.to_string(), 200)
                    ),
                );
            }
        };
        match self.erase(&deletion).await {
            Ok(confirmation) => json_response(
                StatusCode::OK,
                serde_json::to_vec(&confirmation).unwrap_or_default(),
            ),
            Err(refused) => refused.response(self),
        }
    }

    /// Erases what a deletion request asks for (checked for its form, its time and its
    /// product here), whichever way it came: its own endpoint, or a log record of an OTLP body.
    async fn erase(
        &self,
        deletion: &candor_schema::DeletionRequest,
    ) -> Result<candor_schema::DeletionConfirmation, NotErased> {
        deletion.check().map_err(|e| {
            NotErased::Refused(
                StatusCode::BAD_REQUEST,
                Reason::Malformed,
                candor_check::shown_up_to(&e.to_string(), 200),
            )
        })?;
        let Some(before_us) = humantime::parse_rfc3339_weak(&deletion.before)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_micros()).ok())
        else {
            return Err(NotErased::Refused(
                StatusCode::BAD_REQUEST,
                Reason::BadTime,
                "`before` is not an RFC 3339 time".to_owned(),
            ));
        };
        // The person's opt-out is in the past: a `before` ahead of this clock (beyond the
        // skew allowed an event's time) would erase what is recorded after the request.
        let now_us = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        if before_us > now_us.saturating_add(MAX_DELETION_SKEW_US) {
            return Err(NotErased::Refused(
                StatusCode::BAD_REQUEST,
                Reason::InFuture,
                "`before` is in the future: a deletion covers what was recorded up to the \
                 opt-out"
                    .to_owned(),
            ));
        }
        if self.accepted.catalogue(&deletion.product).is_none() {
            return Err(NotErased::Refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                Reason::UnknownProduct,
                format!(
                    "this server accepts no product `{}`",
                    deletion.product.escape_debug()
                ),
            ));
        }
        self.writer
            .erase(&deletion.product, &deletion.key, before_us)
            .await
            .map_err(|e| match e {
                QueueError::Full => NotErased::Busy,
                e => NotErased::Unavailable(e),
            })?;
        Ok(candor_schema::DeletionConfirmation {
            request_id: deletion.request_id.clone(),
            confirmed_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        })
    }

    fn retry_later(&self, status: StatusCode, message: String) -> Response {
        let mut response = text_response(status, message);
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(self.config.retry_after_secs),
        );
        response
    }

    /// Runs `f` on the reading connection, off the async threads; at most
    /// [`IngestConfig::max_reports`] run or wait at once, and the rest are answered 503 at
    /// once rather than queued without end.
    async fn with_reader<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store, &Accepted) -> T + Send + 'static,
    ) -> Result<T, Response> {
        let Ok(permit) = Arc::clone(&self.reports).try_acquire_owned() else {
            return Err(self.retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                "as many reports as the server computes at once are running; retry later\n"
                    .to_owned(),
            ));
        };
        let reader = Arc::clone(&self.reader);
        let accepted = Arc::clone(&self.accepted);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut store = reader.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut **store, &accepted)
        })
        .await
        .map_err(|_| text_response(StatusCode::INTERNAL_SERVER_ERROR, "report failed\n"))
    }

    async fn page(&self, request: Request) -> Response {
        let days = query_value(request.uri().query(), "days")
            .and_then(|d| d.parse::<u32>().ok())
            .unwrap_or(30)
            .clamp(1, 3660);
        let now = SystemTime::now();
        let since = now - Duration::from_secs(u64::from(days) * 86_400);
        let (since_us, until_us) = (micros(since), micros(now) + 86_400_000_000);
        let min_group = self.config.min_group;
        let reports = self
            .with_reader(move |store, accepted| {
                accepted
                    .products()
                    .map(|p| report::build(store, accepted, p, since_us, until_us, min_group))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await;
        match reports {
            Ok(Ok(reports)) => {
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
            Ok(Err(e)) => self.retry_later(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
            Err(response) => response,
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
        let min_group = self.config.min_group;
        let result = self
            .with_reader(move |store, accepted| {
                report::build(store, accepted, &product, since_us, until_us, min_group)
            })
            .await;
        match result {
            Ok(Ok(report)) => json_response(
                StatusCode::OK,
                serde_json::to_vec(&report).unwrap_or_default(),
            ),
            Ok(Err(e)) => self.retry_later(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
            Err(response) => response,
        }
    }
}

/// The answer to a body: what was stored, and what was refused.
/// How far ahead of this server's clock a deletion request's `before` may be (clock skew).
const MAX_DELETION_SKEW_US: i64 = 3_600 * 1_000_000;

/// Why a deletion request erased nothing.
enum NotErased {
    /// The request is not one this server takes (its form, time or product), with the status
    /// its own endpoint answers and the reason an OTLP record of it is refused for.
    Refused(StatusCode, Reason, String),
    /// The database could not be written: the client tries again.
    Unavailable(QueueError),
    /// The writer's queue is full: the client tries again later.
    Busy,
}

impl NotErased {
    /// The deletion endpoint's answer.
    fn response(self, service: &Ingest) -> Response {
        match self {
            Self::Refused(status, _, message) => text_response(status, format!("{message}\n")),
            Self::Unavailable(e) => service.retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("nothing was erased: {e}\n"),
            ),
            Self::Busy => service.retry_later(
                StatusCode::TOO_MANY_REQUESTS,
                "the ingest queue is full; retry later\n".to_owned(),
            ),
        }
    }
}

struct Answer<'a> {
    format: Format,
    refused: &'a [Listed],
    refused_count: usize,
    all_refused: bool,
    /// The ids of the deletion requests erased for (OTLP only).
    confirmed: &'a [String],
}

impl Answer<'_> {
    fn reply(&self, written: crate::store::Written) -> Response {
        match self.format {
            Format::Json => {
                let listed: Vec<_> = self
                    .refused
                    .iter()
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
                    "refused_count": self.refused_count,
                    "refused": listed,
                });
                let status = if self.all_refused {
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    StatusCode::OK
                };
                json_response(status, serde_json::to_vec(&body).unwrap_or_default())
            }
            Format::Otlp => {
                // Each erased deletion request is confirmed by its id in the message (OTLP's
                // answer has no other room for it), before any refusal.
                let messages: Vec<String> =
                    self.confirmed
                        .iter()
                        .map(|id| format!("{}{id}", candor_otlp::DELETION_CONFIRMED))
                        .chain(self.refused.iter().take(20).map(|(index, _, r)| {
                            format!("#{index} {}: {}", r.reason.code(), r.detail)
                        }))
                        .collect();
                let partial_success =
                    (self.refused_count > 0 || !self.confirmed.is_empty()).then(|| {
                        ExportLogsPartialSuccess {
                            rejected_log_records: i64::try_from(self.refused_count)
                                .unwrap_or(i64::MAX),
                            error_message: messages.join("; "),
                        }
                    });
                let body = ExportLogsServiceResponse { partial_success }.encode_to_vec();
                let mut response = http::Response::new(Full::new(Bytes::from(body)));
                *response.status_mut() = if self.all_refused {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::OK
                };
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-protobuf"),
                );
                response
            }
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
