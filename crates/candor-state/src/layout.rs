//! The layout of Candor's folder and the operations on it.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::StateError;
use crate::config::{CONFIG_FILE, ConfigError, ConfigFile, ConfigRead};
use crate::file::{self, FileLock, FileStamp, MAX_SMALL_FILE};
use crate::install_id::{INSTALL_ID_LEN, InstallId};

/// Length of a hashing key, in bytes (stored as twice as many hex digits).
pub const KEY_LEN: usize = 32;
/// The largest notice marker read: a revision and its points' declarations, far below this.
pub const MAX_NOTICE_MARKER: u64 = 1024 * 1024;

const RECEIPTS_FILE: &str = "receipts.jsonl";
const KEYS: &str = "keys";
const INSTALL_IDS: &str = "install-ids";
const SPOOL: &str = "spool";
const EVENTS: &str = "events";
const LOCAL: &str = "local";
const NOTICES: &str = "notices";
const SENT: &str = "sent";
const DEMO: &str = "demo";
const LOCKS: &str = "locks";
const NETWORK: &str = "network";
const CONSENT_CHANGES: &str = "consent-changes";
const DELETIONS: &str = "deletions";
const INGEST_DATABASE: &str = "ingest.db";

/// Everything `clean` removes: all of Candor's state except the user's `config.toml`.
/// (`install-id` is the single-file install id of earlier versions.)
const STATE: &[&str] = &[
    SPOOL,
    RECEIPTS_FILE,
    KEYS,
    INSTALL_IDS,
    "install-id",
    NOTICES,
    EVENTS,
    SENT,
    LOCAL,
    DEMO,
    LOCKS,
    NETWORK,
    CONSENT_CHANGES,
    DELETIONS,
];

/// Candor's folder: `config.toml` (the user's; Candor edits it only through
/// [`StateDir::update_config`]), `keys/<product>.key`,
/// `install-ids/<product>`, `spool/<product>/`, `receipts.jsonl`, `events/<product>.jsonl`
/// (the default sink), `sent/<product>/` (copies of payloads sent, [`crate::SentCopies`]),
/// `local/<product>.jsonl` (mode `local`), `notices/<product>.shown`,
/// `demo/<product>/`, `network/<product>`, `consent-changes/<product>`,
/// `deletions/<product>.json` (a deletion request and its confirmation) and `locks/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// The folder at `root` (nothing is created until something is written).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `root/<sub>`, created `0700` with `root`.
    fn ensure(&self, sub: &str) -> Result<PathBuf, StateError> {
        file::ensure_dir(&self.root)?;
        let dir = self.root.join(sub);
        file::ensure_dir(&dir)?;
        Ok(dir)
    }

    /// The user's configuration file. Candor writes it only when the user asks (`candor
    /// consent`), through [`StateDir::update_config`], and `clean` never removes it.
    pub fn config_file(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// The configuration file's text, `None` when there is none. Capped at 256 KiB; a symlink
    /// or FIFO there, or text that is not UTF-8, is an error.
    fn read_config_text(&self) -> Result<Option<String>, StateError> {
        let path = self.config_file();
        let Some(bytes) = file::read_capped_if_present(&path, MAX_SMALL_FILE)? else {
            return Ok(None);
        };
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| StateError::Invalid {
                path,
                reason: "the file is not UTF-8 text".to_owned(),
            })
    }

    /// Reads and parses `config.toml`: the one reading every part of Candor takes its
    /// section from. A missing file is [`ConfigRead::Missing`]; one that is too large, not
    /// UTF-8, not a regular file (a symlink, a FIFO: refused at once, never followed or
    /// waited on) or not of Candor's shape is [`ConfigRead::Unusable`].
    pub fn config(&self) -> ConfigRead {
        let path = self.config_file();
        let unusable = |message: String| {
            ConfigRead::Unusable(ConfigError {
                path: path.clone(),
                message,
            })
        };
        match self.read_config_text() {
            Ok(None) => ConfigRead::Missing,
            Ok(Some(text)) => match ConfigFile::parse(&path, &text) {
                Ok(file) => ConfigRead::Read(file),
                Err(e) => ConfigRead::Unusable(e),
            },
            Err(StateError::TooLarge { max, .. }) => unusable(format!(
                "larger than {max} bytes, more than a configuration file can be"
            )),
            Err(e) => {
                // The state error names the path; the configuration error names it once.
                let message = e.to_string();
                let prefix = format!("{}: ", path.display());
                unusable(message.strip_prefix(&prefix).unwrap_or(&message).to_owned())
            }
        }
    }

    /// What `config.toml` is now, as cheaply as one `lstat`: a running product compares
    /// stamps to notice an edit (by `candor consent` or by hand) without reading the file.
    pub fn config_stamp(&self) -> Option<FileStamp> {
        file::stamp(&self.config_file())
    }

    /// Rewrites the configuration file with what `edit` makes of its current text (`None`
    /// when there is none), atomically (a unique temporary name renamed into place) and under
    /// the folder's `config` lock, so two editors never lose each other's change. When `edit`
    /// fails, or the current file cannot be read (a symlink, a FIFO, too large, not UTF-8),
    /// nothing is written.
    pub fn update_config<E: From<StateError>>(
        &self,
        edit: impl FnOnce(Option<&str>) -> Result<String, E>,
    ) -> Result<(), E> {
        let _held = self.lock("config")?;
        let current = self.read_config_text()?;
        let text = edit(current.as_deref())?;
        file::write_replace(&self.config_file(), text.as_bytes())?;
        Ok(())
    }

    /// Records that the user changed `product`'s consent now (`candor consent`), in
    /// `consent-changes/<product>`. Whatever was recorded for the product before this moment
    /// must never be sent afterwards, even when the change is undone before a running product
    /// noticed it; running products see the record change ([`StateDir::consent_change_stamp`]).
    pub fn note_consent_change(&self, product: &str) -> Result<(), StateError> {
        let path = self.root.join(CONSENT_CHANGES).join(component(product)?);
        self.ensure(CONSENT_CHANGES)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        file::write_replace(
            &path,
            format!("{}.{:09}\n", now.as_secs(), now.subsec_nanos()).as_bytes(),
        )
    }

    /// When `product`'s consent was last changed by the user's command, as recorded; `None`
    /// when it never was. A record Candor cannot read counts as a change now (whatever was
    /// recorded before is not sent), and a time in the future as now, also one too far ahead
    /// for this system's clock to hold.
    pub fn consent_changed_at(&self, product: &str) -> Result<Option<SystemTime>, StateError> {
        let path = self.root.join(CONSENT_CHANGES).join(component(product)?);
        let now = SystemTime::now();
        let bytes = match file::read_capped_if_present(&path, 64) {
            Ok(None) => return Ok(None),
            Ok(Some(bytes)) => bytes,
            Err(_) => return Ok(Some(now)),
        };
        let at = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| {
                let (seconds, nanos) = text.trim().split_once('.')?;
                let nanos = nanos.parse().ok().filter(|n| *n < 1_000_000_000)?;
                Some(epoch_plus(Duration::new(seconds.parse().ok()?, nanos)).unwrap_or(now))
            })
            .unwrap_or(now);
        Ok(Some(at.min(now)))
    }

    /// What `product`'s consent-change record is now, as cheaply as one `lstat`.
    pub fn consent_change_stamp(&self, product: &str) -> Option<FileStamp> {
        let path = self
            .root
            .join(CONSENT_CHANGES)
            .join(component(product).ok()?);
        file::stamp(&path)
    }

    /// The file holding `product`'s hashing key.
    pub fn key_file(&self, product: &str) -> Result<PathBuf, StateError> {
        Ok(self
            .root
            .join(KEYS)
            .join(format!("{}.key", component(product)?)))
    }

    /// `product`'s hashing key on this installation, created at random on first use. Of
    /// several processes racing to create it, one wins and all use its key. A file that does
    /// not hold a key is replaced (under a lock, so the replacement is one key too).
    pub fn hashing_key(&self, product: &str) -> Result<Vec<u8>, StateError> {
        let path = self.key_file(product)?;
        self.ensure(KEYS)?;
        get_or_create(&path, KEY_LEN, || self.lock(&format!("key-{product}")))
    }

    /// Reads a key file as Candor writes it (hex digits, one line) into the key's bytes.
    pub fn read_key_file(path: &Path) -> Result<Vec<u8>, StateError> {
        let bytes = file::read_capped(path, MAX_SMALL_FILE)?;
        parse_hex(&bytes, KEY_LEN).ok_or_else(|| StateError::Invalid {
            path: path.to_owned(),
            reason: format!("does not hold a key ({} hex digits)", KEY_LEN * 2),
        })
    }

    /// The file holding `product`'s install id.
    pub fn install_id_file(&self, product: &str) -> Result<PathBuf, StateError> {
        Ok(self.root.join(INSTALL_IDS).join(component(product)?))
    }

    /// `product`'s install id on this installation, created at random on first use, one per
    /// product whatever the race; `clean` removes it.
    pub fn install_id(&self, product: &str) -> Result<InstallId, StateError> {
        let path = self.install_id_file(product)?;
        self.ensure(INSTALL_IDS)?;
        let bytes = get_or_create(&path, INSTALL_ID_LEN, || {
            self.lock(&format!("install-id-{product}"))
        })?;
        Ok(InstallId::from_bytes(&bytes))
    }

    /// Since when `product`'s endpoint has not answered, as kept for a catalogue that counts
    /// blocking the network as opting out (`network/<product>`, seconds since the epoch).
    /// `None` when there is no record, or when it holds a time in the future (the clock was
    /// set back, or the time is beyond what this system's clock can hold): the period
    /// restarts. A record that cannot be read as Candor writes it (not a regular file, larger
    /// than a record is, not a number of seconds) is an error, never read as "no record":
    /// consent fails closed on it.
    pub fn unanswered_since(&self, product: &str) -> Result<Option<SystemTime>, StateError> {
        let path = self.network_record(product)?;
        let Some(bytes) = file::read_capped_if_present(&path, 64)? else {
            return Ok(None);
        };
        let seconds = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .ok_or_else(|| StateError::Invalid {
                path: path.clone(),
                reason: "does not hold a time in seconds since 1970, as Candor writes it"
                    .to_owned(),
            })?;
        Ok(epoch_plus(Duration::from_secs(seconds)).filter(|since| *since <= SystemTime::now()))
    }

    /// Keeps (or, with `None`, forgets) since when `product`'s endpoint has not answered. The
    /// record is Candor's own: whatever stands in its place (a folder, a FIFO, a symlink, which
    /// is removed and never followed) is replaced, so the period can build up across runs.
    pub fn set_unanswered_since(
        &self,
        product: &str,
        since: Option<SystemTime>,
    ) -> Result<(), StateError> {
        let path = self.network_record(product)?;
        let Some(since) = since else {
            file::remove(&path)?;
            return Ok(());
        };
        self.ensure(NETWORK)?;
        let seconds = since
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        if file::expect_file_or_absent(&path).is_err() {
            file::remove(&path)?;
        }
        file::write_replace(&path, format!("{seconds}\n").as_bytes())
    }

    fn network_record(&self, product: &str) -> Result<PathBuf, StateError> {
        Ok(self.root.join(NETWORK).join(component(product)?))
    }

    /// `product`'s spool folder (the spool creates it, `0700`, when it opens).
    pub fn spool_dir(&self, product: &str) -> Result<PathBuf, StateError> {
        Ok(self.root.join(SPOOL).join(component(product)?))
    }

    /// The products with a spool folder, by name.
    pub fn spooled_products(&self) -> Vec<String> {
        let mut products: Vec<String> = std::fs::read_dir(self.root.join(SPOOL))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| component(name).is_ok())
            .collect();
        products.sort();
        products
    }

    /// The receipts log (its folder created).
    pub fn receipts_file(&self) -> Result<PathBuf, StateError> {
        file::ensure_dir(&self.root)?;
        Ok(self.root.join(RECEIPTS_FILE))
    }

    /// The receipts log's path, without creating anything (for reading).
    pub fn receipts_path(&self) -> PathBuf {
        self.root.join(RECEIPTS_FILE)
    }

    /// Where the default sink writes `product`'s events (the file sink creates the file and
    /// its folder through [`file::open_append`] and [`file::ensure_dir`]).
    pub fn events_file(&self, product: &str) -> Result<PathBuf, StateError> {
        Ok(self
            .root
            .join(EVENTS)
            .join(format!("{}.jsonl", component(product)?)))
    }

    /// Where mode `local` keeps `product`'s events (created like [`StateDir::events_file`]).
    pub fn local_file(&self, product: &str) -> Result<PathBuf, StateError> {
        Ok(self
            .root
            .join(LOCAL)
            .join(format!("{}.jsonl", component(product)?)))
    }

    /// The default sink's output for `product` (`None` when there is none), read capped at
    /// `max` bytes; for showing a user what was sent.
    pub fn read_events(&self, product: &str, max: u64) -> Result<Option<Vec<u8>>, StateError> {
        file::read_capped_if_present(&self.events_file(product)?, max)
    }

    /// What mode `local` kept for `product` (`None` when nothing), read capped at `max` bytes.
    pub fn read_local(&self, product: &str, max: u64) -> Result<Option<Vec<u8>>, StateError> {
        file::read_capped_if_present(&self.local_file(product)?, max)
    }

    /// The local copies of `product`'s delivered payloads (`sent/<product>/`), kept within
    /// `caps`.
    pub fn sent_copies(
        &self,
        product: &str,
        caps: crate::sent::CopyCaps,
    ) -> Result<crate::sent::SentCopies, StateError> {
        Ok(crate::sent::SentCopies::new(
            self.root.join(SENT).join(component(product)?),
            caps,
        ))
    }

    /// The marker that `product`'s first-run notice was shown.
    pub fn notice_marker(&self, product: &str) -> Result<PathBuf, StateError> {
        Ok(self
            .root
            .join(NOTICES)
            .join(format!("{}.shown", component(product)?)))
    }

    /// What `product`'s notice marker records (`None` when the notice was never shown): the
    /// text its writer left, read capped at [`MAX_NOTICE_MARKER`]. A marker that is not a
    /// regular file, or is larger, is an error, which callers read as "not shown".
    pub fn read_notice(&self, product: &str) -> Result<Option<Vec<u8>>, StateError> {
        file::read_capped_if_present(&self.notice_marker(product)?, MAX_NOTICE_MARKER)
    }

    /// Records what `product`'s notice told the person (replacing an earlier record).
    pub fn write_notice(&self, product: &str, record: &[u8]) -> Result<(), StateError> {
        let path = self.notice_marker(product)?;
        self.ensure(NOTICES)?;
        file::write_replace(&path, record)
    }

    /// The notice marker's stamp (`None` when absent or unreadable), so a running product
    /// sees a notice shown while it runs with one `lstat`.
    pub fn notice_stamp(&self, product: &str) -> Option<FileStamp> {
        file::stamp(&self.notice_marker(product).ok()?)
    }

    /// The record of `product`'s deletion request.
    fn deletion_record(&self, product: &str) -> Result<PathBuf, StateError> {
        Ok(self
            .root
            .join(DELETIONS)
            .join(format!("{}.json", component(product)?)))
    }

    /// What `product`'s deletion record holds (`None`: no request), read capped at `max`
    /// bytes; a symlink, FIFO or folder in its place, or a larger file, is an error.
    pub fn read_deletion(&self, product: &str, max: u64) -> Result<Option<Vec<u8>>, StateError> {
        file::read_capped_if_present(&self.deletion_record(product)?, max)
    }

    /// Keeps `record` as `product`'s deletion record (replacing an earlier one; whatever
    /// stands in its place is removed, never followed).
    pub fn write_deletion(&self, product: &str, record: &[u8]) -> Result<(), StateError> {
        let path = self.deletion_record(product)?;
        self.ensure(DELETIONS)?;
        if file::expect_file_or_absent(&path).is_err() {
            file::remove(&path)?;
        }
        file::write_replace(&path, record)
    }

    /// Forgets `product`'s deletion record.
    pub fn remove_deletion(&self, product: &str) -> Result<(), StateError> {
        file::remove(&self.deletion_record(product)?)?;
        Ok(())
    }

    /// The products with a deletion record, by name.
    pub fn deletion_products(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.root.join(DELETIONS)) else {
            return Vec::new();
        };
        let mut products: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".json"))
                    .filter(|n| component(n).is_ok())
                    .map(str::to_owned)
            })
            .collect();
        products.sort();
        products
    }

    /// The default database of `candor serve` (`ingest.db`, SQLite), with Candor's folder
    /// created. It holds what a receiving end stored, not this machine's telemetry, so
    /// `clean` leaves it.
    ///
    /// The database and SQLite's side files must be regular files or absent: a symlink or FIFO
    /// planted there is refused, since SQLite would follow it.
    pub fn ingest_database(&self) -> Result<PathBuf, StateError> {
        file::ensure_dir(&self.root)?;
        let database = self.root.join(INGEST_DATABASE);
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = database.clone().into_os_string();
            name.push(suffix);
            file::expect_file_or_absent(Path::new(&name))?;
        }
        Ok(database)
    }

    /// The demo's own folder for `product` (created), so a demo never touches a real
    /// installation's keys or spool.
    pub fn demo_dir(&self, product: &str) -> Result<PathBuf, StateError> {
        let demo = self.ensure(DEMO)?;
        let dir = demo.join(component(product)?);
        file::ensure_dir(&dir)?;
        Ok(dir)
    }

    /// The demo runs' own folders that exist (`demo/<product>/`), by product, each a Candor
    /// folder of its own; nothing is created.
    pub fn demo_folders(&self) -> Vec<(String, StateDir)> {
        let demo = self.root.join(DEMO);
        let mut folders: Vec<(String, StateDir)> = std::fs::read_dir(&demo)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| component(name).is_ok())
            .map(|name| {
                let dir = StateDir::new(demo.join(&name));
                (name, dir)
            })
            .collect();
        folders.sort_by(|a, b| a.0.cmp(&b.0));
        folders
    }

    /// An exclusive lock named `name` in this folder, waiting at most `wait`.
    pub fn lock_for(&self, name: &str, wait: Duration) -> Result<FileLock, StateError> {
        let dir = self.ensure(LOCKS)?;
        FileLock::acquire(&dir.join(format!("{}.lock", component(name)?)), wait)
    }

    fn lock(&self, name: &str) -> Result<FileLock, StateError> {
        self.lock_for(name, Duration::from_secs(10))
    }

    /// Removes all of Candor's state except `config.toml` (with `dry_run`, only lists it);
    /// returns what was (or would be) removed. Symlinks are removed, never followed. It holds
    /// the `config` lock while it removes, so no `candor consent` is between reading and
    /// renaming when its lock file goes (a lock file removed under a waiter is opened again by
    /// it, [`FileLock::acquire`]). The spools' own locks are their owner's to take
    /// (`candor clean` holds them around this call), so nothing is removed under a write or a
    /// delivery in progress.
    pub fn clean(&self, dry_run: bool) -> Result<Vec<PathBuf>, StateError> {
        // Without a `locks` folder no lock is held, and none is made just to be removed.
        let locks = std::fs::symlink_metadata(self.root.join(LOCKS)).is_ok_and(|m| m.is_dir());
        let _config = if dry_run || !locks {
            None
        } else {
            Some(self.lock("config")?)
        };
        let mut removed = Vec::new();
        for name in STATE {
            let path = self.root.join(name);
            let present = if dry_run {
                std::fs::symlink_metadata(&path).is_ok()
            } else {
                file::remove(&path)?
            };
            if present {
                removed.push(path);
            }
        }
        Ok(removed)
    }
}

/// The time `since` after the epoch, or `None` when this system's clock cannot hold it (a
/// number planted in a record must never panic a reader).
fn epoch_plus(since: Duration) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(since)
}

/// Reads the `len`-byte value in hex at `path`, or creates one at random. Creation is atomic
/// (exactly one of several racing processes creates it); a damaged file is replaced under
/// the lock `lock` takes, after reading it again.
fn get_or_create(
    path: &Path,
    len: usize,
    lock: impl FnOnce() -> Result<FileLock, StateError>,
) -> Result<Vec<u8>, StateError> {
    let read = |path: &Path| -> Result<Option<Option<Vec<u8>>>, StateError> {
        Ok(file::read_capped_if_present(path, MAX_SMALL_FILE)?.map(|b| parse_hex(&b, len)))
    };
    match read(path)? {
        Some(Some(value)) => return Ok(value),
        Some(None) => {
            // Damaged: replace it, once, under the lock.
            let _held = lock()?;
            if let Some(Some(value)) = read(path)? {
                return Ok(value);
            }
            let value = random(len, path)?;
            file::write_replace(path, format!("{}\n", hex(&value)).as_bytes())?;
            return Ok(value);
        }
        None => {}
    }
    let value = random(len, path)?;
    if file::create_new(path, format!("{}\n", hex(&value)).as_bytes())? {
        return Ok(value);
    }
    // Another process created it first: use theirs.
    match read(path)? {
        Some(Some(value)) => Ok(value),
        _ => Err(StateError::Invalid {
            path: path.to_owned(),
            reason: "was replaced by something that is not Candor's".to_owned(),
        }),
    }
}

pub(crate) fn random(len: usize, path: &Path) -> Result<Vec<u8>, StateError> {
    let mut value = vec![0u8; len];
    getrandom::fill(&mut value).map_err(|e| StateError::Invalid {
        path: path.to_owned(),
        reason: format!("no random source: {e}"),
    })?;
    Ok(value)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub(crate) fn parse_hex(bytes: &[u8], len: usize) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if text.len() != len * 2 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// A product id (or lock name) used as one path component: letters, digits, `-`, `_`, `.`,
/// not starting with a dot, at most 128 bytes. Anything else could leave the folder.
fn component(name: &str) -> Result<&str, StateError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(name)
    } else {
        Err(StateError::Invalid {
            path: PathBuf::from(
                name.chars()
                    .take(64)
                    .collect::<String>()
                    .escape_debug()
                    .to_string(),
            ),
            reason: "is not usable as a file name in Candor's folder".to_owned(),
        })
    }
}
