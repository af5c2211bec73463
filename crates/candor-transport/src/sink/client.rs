//! The one HTTP client set-up and the one way to post that every HTTP sink (JSON, relay,
//! OTLP/HTTP) uses.
//!
//! - No redirect is followed: a 3xx is an answer, kept and retried like a temporary failure,
//!   so a payload never goes to a host nobody checked and a 301 never turns into a bodiless GET.
//! - No proxy variable and no `OTEL_*` variable is read: where and how Candor sends comes only
//!   from its own configuration.
//! - At most [`MAX_REPLY_BYTES`] of a reply are read, or [`MAX_ANSWER_BYTES`] of an acceptance
//!   (which may list the events the receiver refused one by one).
//! - Errors are named by type ([`Failure`]) and shown with the endpoint's display form, which
//!   never includes a query string; reqwest's own error text (which carries the full URL) is
//!   never shown.

use std::io::Read;

use super::failure_in_chain;
use std::time::SystemTime;

use super::{
    Failure, MAX_ANSWER_BYTES, MAX_REPLY_BYTES, Outcome, Refusals, SinkOptions, classify_status,
};
use crate::TransportError;
use crate::endpoint::Endpoint;
use crate::retry::parse_retry_after;

/// A blocking client with Candor's rules. Must not be built inside an async runtime (the
/// pipeline builds sinks on its own thread).
pub(crate) fn build(options: &SinkOptions) -> Result<reqwest::blocking::Client, TransportError> {
    #[allow(unused_mut)]
    let mut builder = reqwest::blocking::Client::builder()
        .connect_timeout(options.timeouts.connect)
        .timeout(options.timeouts.request)
        .user_agent(concat!("candor/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .tcp_nodelay(true);
    if let Some(path) = &options.ca_file {
        #[cfg(feature = "tls")]
        {
            let pem = super::read_ca(path)?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                TransportError::NoCertificate {
                    path: path.clone(),
                    source: std::sync::Arc::new(e),
                }
            })?;
            builder = builder.tls_certs_merge(certs);
        }
        #[cfg(not(feature = "tls"))]
        return Err(TransportError::NotBuilt {
            sink: format!("TLS with the CA in {}", path.display()),
            feature: "tls",
        });
    }
    builder
        .build()
        .map_err(|e| TransportError::Client(std::sync::Arc::new(e)))
}

/// Posts `body` and says what became of it. `bytes` is what a delivery reports as sent;
/// `refusals` reads an acceptance's body (as far as it was read) for the events the receiver
/// refused one by one.
pub(crate) fn post(
    request: reqwest::blocking::RequestBuilder,
    endpoint: &Endpoint,
    bytes: u64,
    refusals: impl FnOnce(&[u8]) -> Refusals,
) -> Outcome {
    let response = match request.send() {
        Ok(r) => r,
        Err(e) => {
            let failure = failure_of(&e);
            return Outcome::Retry {
                failure,
                reason: format!("POST to {endpoint}: {failure}"),
                after: None,
            };
        }
    };
    let status = response.status().as_u16();
    let after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    // Read the reply, but never more than the cap: a reply cut short still counts as a
    // failure, a reply too long is simply not read further.
    let cap = if (200..300).contains(&status) {
        MAX_ANSWER_BYTES
    } else {
        MAX_REPLY_BYTES
    };
    let mut reply = Vec::new();
    let complete = response.take(cap as u64).read_to_end(&mut reply).is_ok();
    match classify_status(status, after, &endpoint.to_string()) {
        Outcome::Delivered { .. } if complete => Outcome::Delivered {
            bytes,
            refused: refusals(&reply),
        },
        Outcome::Delivered { .. } => Outcome::Retry {
            failure: Failure::Network,
            reason: format!("the reply from {endpoint} was cut short"),
            after: None,
        },
        other => other,
    }
}

/// Names a transport error by type: a TLS failure, a refused connection, a timeout, or a broken
/// connection.
pub(crate) fn failure_of(error: &reqwest::Error) -> Failure {
    if let Some(failure) = failure_in_chain(error) {
        return failure;
    }
    if error.is_timeout() {
        Failure::Timeout
    } else if error.is_connect() {
        Failure::Connect
    } else {
        Failure::Network
    }
}
