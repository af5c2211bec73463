//! The events of a delivered payload, read back from the copy Candor kept of it as it went on
//! the wire, decoded by the receiving end's own decoders (`candor_ingest::decode`: the JSON
//! array, gzip or plain, and OTLP protobuf logs), so what the page and `candor receipts --json`
//! show is what a receiver reads from those bytes.

use candor_ingest::decode::{self, DecodeError, Item};
use candor_schema::Event;
use candor_state::{CopyCaps, PayloadFormat, StateDir};
use candor_transport::Receipt;

/// The most a copy may inflate to when it is read (gzip JSON).
const MAX_INFLATED: usize = 64 << 20;

/// Why a receipt's events cannot be shown from its copy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// The copy could not be read (gone past its caps, removed by `candor clean`, replaced by
    /// a symlink or FIFO, larger than Candor keeps).
    #[error("the copy {name} cannot be read: {why}")]
    Unreadable {
        /// The copy's name.
        name: String,
        /// Why, in one line.
        why: String,
    },
    /// Its bytes are not a payload of its format.
    #[error("the copy {name} is not a payload Candor sent: {why}")]
    Corrupt {
        /// The copy's name.
        name: String,
        /// Why, in one line.
        why: String,
    },
}

/// The events of the payload `receipt` names a copy of (`Ok(None)`: it names none), in the
/// order they were sent.
pub fn sent_events(state: &StateDir, receipt: &Receipt) -> Result<Option<Vec<Event>>, CopyError> {
    let Some(name) = &receipt.copy else {
        return Ok(None);
    };
    let mut last = None;
    for product in &receipt.products {
        let Ok(copies) = state.sent_copies(product, CopyCaps::reading()) else {
            continue;
        };
        match copies.read(name) {
            Ok((format, bytes)) => {
                return payload_events(format, &bytes).map(Some).map_err(|why| {
                    CopyError::Corrupt {
                        name: name.clone(),
                        why,
                    }
                });
            }
            Err(e) => last = Some(e.to_string()),
        }
    }
    Err(CopyError::Unreadable {
        name: name.clone(),
        why: last.unwrap_or_else(|| "the receipt names no product".to_owned()),
    })
}

/// The events of a payload in `format`, decoded as the receiving end decodes a request body.
pub fn payload_events(format: PayloadFormat, bytes: &[u8]) -> Result<Vec<Event>, String> {
    let items: Vec<Item> = match format {
        PayloadFormat::GzipJson => {
            let json = decode::decompress(bytes, MAX_INFLATED).map_err(|e| e.to_string())?;
            decode::json_events(&json).map_err(|e| e.to_string())?
        }
        PayloadFormat::OtlpProtobuf => decode::otlp_events(bytes).map_err(|e| e.to_string())?,
        PayloadFormat::JsonLines => bytes
            .split(|b| *b == b'\n')
            .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
            .map(decode::json_item)
            .collect(),
        _ => return Err(DecodeError::Malformed("an unknown format".to_owned()).to_string()),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| item.map_err(|r| format!("event {}: {}", i + 1, r.detail)))
        .collect()
}
