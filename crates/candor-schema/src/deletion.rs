//! The deletion request: what a client sends when the person opts out of a product whose
//! events can be traced to an installation, and what the receiving end answers. One
//! definition for both ends, so they cannot disagree.
//!
//! Over a JSON sink the request is `POST`ed to the events endpoint's sibling
//! [`DELETION_PATH`] (`…/v1/events` → `…/v1/deletion-requests`) as a JSON
//! [`DeletionRequest`]; a receiver that accepts it answers 200 with a
//! [`DeletionConfirmation`], the same answer whether the key held events or none.

use serde::{Deserialize, Serialize};

/// The path a deletion request is sent to, next to `/v1/events`.
pub const DELETION_PATH: &str = "/v1/deletion-requests";

/// The most bytes a deletion request's body may have.
pub const MAX_DELETION_REQUEST_BYTES: usize = 4096;

/// A request to erase every event of `product` traced to `key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletionRequest {
    /// Always `deletion-request`.
    pub kind: String,
    /// The product's catalogue id.
    pub product: String,
    /// The key its events carry: an install id (32 lower-case hex digits) or a hashed
    /// identifier (64).
    pub key: String,
    /// A random 128-bit id in lower-case hex, so that a receiver's answer can be matched.
    pub request_id: String,
    /// When the person opted out, RFC 3339 in UTC: events recorded up to then are erased,
    /// never those of a later run the person consented to again.
    pub before: String,
}

/// What a receiver answers when it has erased what it held for a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionConfirmation {
    /// The request's id.
    pub request_id: String,
    /// When the receiver erased what it held, RFC 3339 in UTC.
    pub confirmed_at: String,
}

/// Why a deletion request is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeletionRequestError {
    /// `kind` is not `deletion-request`.
    #[error("the kind is not `deletion-request`")]
    Kind,
    /// The key is not 32 or 64 lower-case hex digits.
    #[error("a deletion key is 32 or 64 lower-case hex digits")]
    Key,
    /// The request id is not 32 lower-case hex digits.
    #[error("a request id is 32 lower-case hex digits")]
    RequestId,
    /// `before` is not an RFC 3339 time.
    #[error("`before` is not an RFC 3339 time")]
    Before,
}

/// The `kind` of every deletion request.
pub const DELETION_REQUEST_KIND: &str = "deletion-request";

impl DeletionRequest {
    /// A request for `key` of `product`'s events recorded up to `before` (RFC 3339), named
    /// by `request_id`.
    pub fn new(product: &str, key: &str, request_id: &str, before: &str) -> Self {
        Self {
            kind: DELETION_REQUEST_KIND.to_owned(),
            product: product.to_owned(),
            key: key.to_owned(),
            request_id: request_id.to_owned(),
            before: before.to_owned(),
        }
    }

    /// Whether the request is well formed (the product is checked by the receiver, against
    /// what it accepts).
    pub fn check(&self) -> Result<(), DeletionRequestError> {
        if self.kind != DELETION_REQUEST_KIND {
            return Err(DeletionRequestError::Kind);
        }
        if !(is_lower_hex(&self.key, 32) || is_lower_hex(&self.key, 64)) {
            return Err(DeletionRequestError::Key);
        }
        if !is_lower_hex(&self.request_id, 32) {
            return Err(DeletionRequestError::RequestId);
        }
        // A time is what the receiver reads it as; its text is at most a timestamp's.
        if self.before.is_empty() || self.before.len() > 40 {
            return Err(DeletionRequestError::Before);
        }
        Ok(())
    }
}

fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "2026-12-05T11:00:00Z";

    #[test]
    fn a_request_is_checked_for_its_kind_key_and_id() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(DeletionRequest::new("p", id, id, T).check(), Ok(()));
        let long = "ab".repeat(32);
        assert_eq!(DeletionRequest::new("p", &long, id, T).check(), Ok(()));
        let upper = id.to_uppercase();
        assert_eq!(
            DeletionRequest::new("p", &upper, id, T).check(),
            Err(DeletionRequestError::Key)
        );
        assert_eq!(
            DeletionRequest::new("p", id, "x", T).check(),
            Err(DeletionRequestError::RequestId)
        );
        assert_eq!(
            DeletionRequest::new("p", id, id, "").check(),
            Err(DeletionRequestError::Before)
        );
        let mut wrong = DeletionRequest::new("p", id, id, T);
        wrong.kind = "events".to_owned();
        assert_eq!(wrong.check(), Err(DeletionRequestError::Kind));
    }
}
