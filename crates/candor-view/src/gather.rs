//! Reading Candor's folder into what the page shows. Every file is read through `StateDir`
//! (capped; `config.toml` once per page), the spool through `candor-transport`'s read-only
//! `SpoolView`, receipts through its `Receipts`; nothing is written, created, narrowed or
//! removed. What cannot be read is kept as an [`Unreadable`] note, shown on the page.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::SystemTime;

use candor_consent::{Decision, Environment, HostSignals, Inputs, decide};
use candor_schema::{Catalogue, Event};
use candor_state::{ConfigRead, StateDir, StateError};
use candor_transport::{Receipt, Receipts, SpoolView};

/// The largest events file read (the default sink's output, local-mode data).
const MAX_EVENTS_FILE: u64 = 16 << 20;
/// The receipts log's cap, as `candor receipts` reads it.
const MAX_RECEIPTS: u64 = 1 << 20;

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Candor's folder first, then each demo run's folder.
    pub folders: Vec<FolderView>,
}

/// One Candor folder.
#[derive(Debug, Clone)]
pub struct FolderView {
    /// What it is (`Candor's folder`, `demo: contrast-dotnet-agent`).
    pub label: String,
    /// Where it is.
    pub root: PathBuf,
    /// Every known product, in catalogue order.
    pub products: Vec<ProductView>,
}

/// One product in one folder.
#[derive(Debug, Clone)]
pub struct ProductView {
    /// The catalogue's product id.
    pub id: String,
    /// The product's name.
    pub name: String,
    /// The consent decision now, for this folder.
    pub decision: Decision,
    /// The runtime line and version of the newest event found, when there is one: the
    /// catalogue in effect is the one for that version.
    pub running: Option<(String, String)>,
    /// The catalogue's points: id, name, value kind, privacy class, and whether the point is
    /// in effect for [`ProductView::running`] (`None` when no version is known).
    pub points: Vec<(String, String, &'static str, &'static str, Option<bool>)>,
    /// The receipts of payloads carrying this product's events, oldest first.
    pub receipts: Vec<ReceiptView>,
    /// The batches waiting in the spool, oldest first.
    pub spool: Vec<SpooledBatch>,
    /// The events the default sink wrote (what was sent, as sent, when the sink is the file).
    pub sent: Vec<Event>,
    /// What mode `local` kept.
    pub local: Vec<Event>,
    /// Files or lines that could not be read.
    pub unreadable: Vec<Unreadable>,
    /// What opting out does to what was sent: the catalogue's one line, and the deletion
    /// request's state ("deletion requested at …; confirmed at …") when there is one.
    pub deletion: (String, Option<String>),
}

/// A receipt with the events it carried.
#[derive(Debug, Clone)]
pub struct ReceiptView {
    /// The receipt as logged.
    pub receipt: Receipt,
    /// Its events, by id, with the copy the default sink kept when there is one.
    pub events: Vec<SentEvent>,
}

/// One event of a receipt.
#[derive(Debug, Clone)]
pub struct SentEvent {
    /// The event id in the receipt.
    pub id: String,
    /// The event as sent, from the copy of its payload (or the default sink's output).
    pub event: Option<Event>,
}

/// One batch in the spool.
#[derive(Debug, Clone)]
pub struct SpooledBatch {
    /// When it was written.
    pub written: SystemTime,
    /// Its events.
    pub events: Vec<Event>,
}

/// Something that could not be read, and why.
#[derive(Debug, Clone)]
pub struct Unreadable {
    /// What (`events file`, `spool batch`).
    pub what: String,
    /// Why, in one line.
    pub message: String,
}

/// Reads Candor's folder `state` and the demo folders inside it, for `catalogues`, deciding
/// consent with `env` as a host started now would (no host signals). The user's `config.toml`
/// is read once, and decides for the demo runs too (a demo obeys the user's choice).
pub fn gather(state: &StateDir, catalogues: &[Catalogue], env: &Environment) -> Snapshot {
    let config = state.config();
    let mut folders = vec![folder(
        "Candor's folder".to_owned(),
        state,
        &config,
        catalogues,
        env,
    )];
    for (product, dir) in state.demo_folders() {
        folders.push(folder(
            format!("demo run: {product}"),
            &dir,
            &config,
            catalogues,
            env,
        ));
    }
    Snapshot { folders }
}

fn folder(
    label: String,
    state: &StateDir,
    config: &ConfigRead,
    catalogues: &[Catalogue],
    env: &Environment,
) -> FolderView {
    let mut receipts_problem = None;
    let receipts = Receipts::new(state.receipts_path(), MAX_RECEIPTS)
        .read(None)
        .unwrap_or_else(|e| {
            receipts_problem = Some(Unreadable {
                what: "receipts".to_owned(),
                message: e.to_string(),
            });
            Vec::new()
        });
    let products = catalogues
        .iter()
        .map(|catalogue| {
            let mut view = product(state, config, catalogue, env, &receipts);
            if let Some(problem) = &receipts_problem {
                view.unreadable.push(problem.clone());
            }
            view
        })
        .collect();
    FolderView {
        label,
        root: state.root().to_owned(),
        products,
    }
}

fn product(
    state: &StateDir,
    config: &ConfigRead,
    catalogue: &Catalogue,
    env: &Environment,
    receipts: &[Receipt],
) -> ProductView {
    let id = catalogue.product_id().to_owned();
    let inputs = Inputs::gather(
        env.clone(),
        config,
        Some(state),
        &id,
        HostSignals::default(),
    );
    let decision = decide(catalogue, &inputs);
    let mut unreadable = Vec::new();
    let sent = events(
        state.read_events(&id, MAX_EVENTS_FILE),
        "sent events file",
        &mut unreadable,
    );
    let local = events(
        state.read_local(&id, MAX_EVENTS_FILE),
        "local-mode file",
        &mut unreadable,
    );
    let spool = spool(state, &id, &mut unreadable);
    let by_id: HashMap<&str, &Event> = sent.iter().map(|e| (e.event_id(), e)).collect();
    let receipts = receipts
        .iter()
        .filter(|r| r.products.contains(&id))
        .map(|r| {
            // The copy of the payload as it went on the wire; else, for the default sink, its
            // output matched by id.
            let copy: HashMap<String, Event> = match crate::sent::sent_events(state, r) {
                Ok(events) => events
                    .unwrap_or_default()
                    .into_iter()
                    .map(|e| (e.event_id().to_owned(), e))
                    .collect(),
                Err(e) => {
                    unreadable.push(Unreadable {
                        what: "copy of a payload sent".to_owned(),
                        message: e.to_string(),
                    });
                    HashMap::new()
                }
            };
            ReceiptView {
                receipt: r.clone(),
                events: r
                    .event_ids
                    .iter()
                    .map(|event_id| SentEvent {
                        id: event_id.clone(),
                        event: copy
                            .get(event_id)
                            .cloned()
                            .or_else(|| by_id.get(event_id.as_str()).map(|e| (*e).clone())),
                    })
                    .collect(),
            }
        })
        .collect();
    let newest = sent
        .iter()
        .chain(&local)
        .chain(spool.iter().flat_map(|b| &b.events))
        .filter(|e| e.product() == id)
        .max_by(|a, b| a.time().cmp(&b.time()));
    let running = newest.map(|e| (e.runtime_line().to_owned(), e.product_version().to_owned()));
    let request = match state.read_deletion(&id, candor_transport::deletion::MAX_DELETION_RECORD) {
        Ok(None) => None,
        Ok(Some(bytes)) => match candor_transport::DeletionRecord::parse(&bytes) {
            Ok(record) => Some(record.describe()),
            Err(e) => {
                unreadable.push(Unreadable {
                    what: "deletion request".to_owned(),
                    message: e,
                });
                None
            }
        },
        Err(e) => {
            unreadable.push(Unreadable {
                what: "deletion request".to_owned(),
                message: e.to_string(),
            });
            None
        }
    };
    let deletion = (
        catalogue
            .spec()
            .collection
            .deletion_key
            .summary()
            .to_owned(),
        request,
    );
    let in_effect: Option<Vec<String>> = running.as_ref().and_then(|(line, version)| {
        catalogue
            .points_in_effect(line, version)
            .ok()
            .map(|points| points.iter().map(|p| p.id.clone()).collect())
    });
    let points = catalogue
        .spec()
        .data_points
        .iter()
        .map(|p| {
            (
                p.id.clone(),
                p.name.clone(),
                p.value.kind_name(),
                p.privacy.as_str(),
                in_effect.as_ref().map(|ids| ids.contains(&p.id)),
            )
        })
        .collect();
    ProductView {
        id,
        name: catalogue.spec().product.name.clone(),
        decision,
        running,
        points,
        receipts,
        spool,
        sent,
        local,
        unreadable,
        deletion,
    }
}

/// The events in a JSON-lines file; lines that are not events are counted as unreadable.
fn events(
    read: Result<Option<Vec<u8>>, StateError>,
    what: &str,
    unreadable: &mut Vec<Unreadable>,
) -> Vec<Event> {
    let bytes = match read {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Vec::new(),
        Err(e) => {
            unreadable.push(Unreadable {
                what: what.to_owned(),
                message: e.to_string(),
            });
            return Vec::new();
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut bad = 0usize;
    let events = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str::<Event>(l).map_err(|_| bad += 1).ok())
        .collect();
    if bad > 0 {
        unreadable.push(Unreadable {
            what: what.to_owned(),
            message: format!("{bad} line(s) are not events"),
        });
    }
    events
}

fn spool(state: &StateDir, product: &str, unreadable: &mut Vec<Unreadable>) -> Vec<SpooledBatch> {
    let Ok(dir) = state.spool_dir(product) else {
        return Vec::new();
    };
    // Read as it is: the page creates, narrows and removes nothing.
    let Some(spool) = SpoolView::open(&dir) else {
        return Vec::new();
    };
    spool
        .entries()
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| match spool.read(entry) {
            Ok(read) => {
                if read.damaged > 0 {
                    // The intact events are shown; the damaged lines are said, not hidden.
                    unreadable.push(Unreadable {
                        what: "spool batch".to_owned(),
                        message: format!(
                            "{} damaged line(s) ({}); the next delivery drops them",
                            read.damaged,
                            read.first_damage
                                .as_ref()
                                .map(ToString::to_string)
                                .unwrap_or_default()
                        ),
                    });
                }
                (!read.events.is_empty()).then_some(SpooledBatch {
                    written: entry.written,
                    events: read.events,
                })
            }
            Err(unusable) => {
                unreadable.push(Unreadable {
                    what: "spool batch".to_owned(),
                    message: unusable.to_string(),
                });
                None
            }
        })
        .collect()
}
