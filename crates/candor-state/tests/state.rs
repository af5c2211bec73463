//! Candor's folder under hostile conditions: permissions, symlinks and FIFOs where files
//! should be, oversized files, and many threads racing to create one key.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use candor_state::{StateDir, StateError, file};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

#[test]
fn folders_are_0700_and_files_0600() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = StateDir::new(tmp.path().join("candor"));
    state.hashing_key("p").expect("key");
    state.install_id("p").expect("id");
    let spool = state.spool_dir("p").expect("spool");
    file::ensure_dir(&spool).expect("spool");
    let events = state.events_file("p").expect("events");
    file::ensure_dir(events.parent().expect("folder")).expect("events");
    let mut f = file::open_append(&events).expect("append");
    std::io::Write::write_all(&mut f, b"{}\n").expect("write");
    state.write_notice("p", b"{}").expect("notice");
    for dir in [
        state.root().to_owned(),
        state.root().join("keys"),
        state.root().join("install-ids"),
        spool,
        state.root().join("events"),
        state.root().join("notices"),
    ] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    for f in [
        state.key_file("p").expect("path"),
        state.install_id_file("p").expect("path"),
        events,
        state.notice_marker("p").expect("path"),
    ] {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
}

#[test]
fn an_existing_open_folder_is_narrowed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("candor");
    std::fs::create_dir_all(root.join("keys")).expect("mkdir");
    for dir in [&root, &root.join("keys")] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let state = StateDir::new(&root);
    state.hashing_key("p").expect("key");
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(&root.join("keys")), 0o700);
}

#[test]
fn a_planted_temporary_or_symlinked_key_is_never_written_through() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = StateDir::new(tmp.path().join("candor"));
    let keys = state.root().join("keys");
    std::fs::create_dir_all(&keys).expect("mkdir");
    // What the old code wrote through: a fixed temporary name, world-readable.
    std::fs::write(keys.join("p.tmp"), "planted").expect("plant");
    std::fs::set_permissions(keys.join("p.tmp"), std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    let key = state.hashing_key("p").expect("key");
    assert_eq!(key.len(), 32);
    assert_eq!(mode(&state.key_file("p").expect("path")), 0o600);
    assert_eq!(
        std::fs::read_to_string(keys.join("p.tmp")).expect("read"),
        "planted"
    );
    // A symlink where the key should be: refused, its target untouched.
    let target = tmp.path().join("target");
    std::fs::write(&target, "victim").expect("write");
    std::os::unix::fs::symlink(&target, state.key_file("q").expect("path")).expect("symlink");
    let err = state.hashing_key("q").expect_err("a symlink is refused");
    assert!(
        matches!(
            err,
            StateError::NotAFile {
                found: "symlink",
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.to_string().contains('\n'));
    assert_eq!(std::fs::read_to_string(&target).expect("read"), "victim");
}

#[test]
fn fifos_are_refused_at_once_not_blocked_on() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = StateDir::new(tmp.path().join("candor"));
    std::fs::create_dir_all(state.root().join("keys")).expect("mkdir");
    std::fs::create_dir_all(state.root().join("events")).expect("mkdir");
    mkfifo(&state.config_file());
    mkfifo(&state.key_file("p").expect("path"));
    let events = state.events_file("p").expect("path");
    mkfifo(&events);
    let started = Instant::now();
    let config = state.config();
    let key = state.hashing_key("p").expect_err("key FIFO");
    let append = file::open_append(&events).expect_err("events FIFO");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(&config, candor_state::ConfigRead::Unusable(e) if e.message.contains("FIFO")),
        "{config:?}"
    );
    for err in [key, append] {
        assert!(
            matches!(err, StateError::NotAFile { found: "FIFO", .. }),
            "{err}"
        );
    }
}

#[test]
fn reads_are_capped() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = StateDir::new(tmp.path());
    std::fs::write(state.config_file(), "#".repeat(300 * 1024)).expect("write");
    assert!(matches!(
        state.config(),
        candor_state::ConfigRead::Unusable(e) if e.message.contains("larger than")
    ));
    std::fs::write(tmp.path().join("small"), "abc").expect("write");
    assert!(file::read_capped(&tmp.path().join("small"), 2).is_err());
    assert_eq!(
        file::read_capped(&tmp.path().join("small"), 3).expect("fits"),
        b"abc"
    );
}

#[test]
fn racing_threads_agree_on_one_key_and_one_install_id() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("candor");
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let root = root.clone();
            std::thread::spawn(move || {
                let state = StateDir::new(root);
                (
                    state.hashing_key("p").expect("key"),
                    state.install_id("p").expect("id"),
                )
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    // What is on disk is what they used, and `read_key_file` reads it back as bytes.
    let state = StateDir::new(&root);
    let on_disk = StateDir::read_key_file(&state.key_file("p").expect("path")).expect("read");
    assert_eq!(on_disk, results[0].0);
    assert_eq!(results[0].1.as_str().len(), 32);
}

#[test]
fn a_damaged_key_is_replaced_and_then_kept() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = StateDir::new(tmp.path());
    let first = state.hashing_key("p").expect("key");
    std::fs::write(state.key_file("p").expect("path"), "not a key").expect("damage");
    let second = state.hashing_key("p").expect("replaced");
    assert_ne!(first, second);
    assert_eq!(state.hashing_key("p").expect("kept"), second);
}

#[test]
fn clean_removes_everything_but_the_configuration_and_never_follows_links() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = StateDir::new(tmp.path().join("candor"));
    state.hashing_key("p").expect("key");
    state.install_id("p").expect("id");
    file::ensure_dir(&state.spool_dir("p").expect("spool")).expect("spool");
    for path in [
        state.events_file("p").expect("events"),
        state.local_file("p").expect("local"),
    ] {
        file::ensure_dir(path.parent().expect("folder")).expect("mkdir");
        std::fs::write(path, "{}\n").expect("write");
    }
    std::fs::write(state.config_file(), "mode = \"on\"\n").expect("config");
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).expect("mkdir");
    std::fs::write(outside.join("keep"), "mine").expect("write");
    std::os::unix::fs::symlink(&outside, state.root().join("demo")).expect("symlink");
    let listed = state.clean(true).expect("dry run");
    assert!(listed.iter().any(|p| p.ends_with("events")));
    assert!(state.root().join("events").exists());
    let removed = state.clean(false).expect("clean");
    assert_eq!(listed, removed);
    for name in ["keys", "install-ids", "spool", "events", "local", "demo"] {
        assert!(
            std::fs::symlink_metadata(state.root().join(name)).is_err(),
            "{name} left behind"
        );
    }
    assert!(state.config_file().exists());
    assert_eq!(
        std::fs::read_to_string(outside.join("keep")).expect("read"),
        "mine"
    );
}

#[test]
fn product_ids_cannot_leave_the_folder() {
    let state = StateDir::new("/nonexistent");
    for bad in ["../x", "a/b", ".hidden", "", "a\u{1b}b"] {
        assert!(state.key_file(bad).is_err(), "{bad:?}");
        assert!(state.spool_dir(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn a_lock_is_exclusive_and_waits_no_longer_than_asked() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = StateDir::new(tmp.path());
    let held = state
        .lock_for("spool-p", Duration::from_secs(1))
        .expect("first");
    let started = Instant::now();
    let err = state
        .lock_for("spool-p", Duration::from_millis(100))
        .expect_err("held elsewhere");
    assert!(matches!(err, StateError::Busy { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
    drop(held);
    state
        .lock_for("spool-p", Duration::from_millis(100))
        .expect("released");
}

#[test]
fn a_symlinked_folder_is_used_but_a_file_where_a_folder_should_be_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let real = tmp.path().join("dotfiles-candor");
    std::fs::create_dir(&real).expect("mkdir");
    let root = tmp.path().join("candor");
    std::os::unix::fs::symlink(&real, &root).expect("symlink");
    let state = StateDir::new(&root);
    state.hashing_key("p").expect("a symlinked root works");
    assert!(real.join("keys/p.key").is_file());
    std::fs::write(root.join("install-ids"), "not a folder").expect("write");
    let err = state
        .install_id("p")
        .expect_err("a file where a folder should be");
    assert!(
        matches!(err, StateError::NotAFolder { found: "file", .. }),
        "{err}"
    );
}

/// `candor serve`'s default database lives in Candor's folder like every other file: a
/// symlink or FIFO planted there (or at one of SQLite's side files) is refused, not followed
/// to create or open a database elsewhere.
#[test]
fn a_planted_link_at_the_ingest_database_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = StateDir::new(tmp.path().join("candor"));
    let clean = state.ingest_database().expect("a fresh folder");
    assert_eq!(clean.file_name().unwrap(), "ingest.db");
    let elsewhere = tmp.path().join("elsewhere.db");
    for planted in ["ingest.db", "ingest.db-wal", "ingest.db-journal"] {
        let link = tmp.path().join("candor").join(planted);
        std::os::unix::fs::symlink(&elsewhere, &link).expect("link");
        let err = state.ingest_database().expect_err(planted);
        assert!(
            matches!(err, StateError::NotAFile { .. }),
            "{planted}: {err}"
        );
        std::fs::remove_file(&link).expect("unlink");
    }
    mkfifo(&tmp.path().join("candor").join("ingest.db"));
    assert!(state.ingest_database().is_err());
    assert!(!elsewhere.exists());
}

/// `config.toml` is read in one place, once per reading: missing is no settings; a symlink, a
/// folder, text that is not UTF-8 are unusable (never followed, never fatal); a stamp changes
/// with every way the file can change, and not otherwise.
#[test]
fn the_config_file_is_read_typed_and_stamped() {
    use candor_state::ConfigRead;
    let tmp = tempfile::tempdir().expect("tmp");
    let state = StateDir::new(tmp.path());
    assert_eq!(state.config(), ConfigRead::Missing);
    assert_eq!(state.config_stamp(), None);
    std::fs::write(state.config_file(), "mode = \"Off\"\n").expect("write");
    let first = state.config_stamp().expect("stamped");
    assert_eq!(state.config_stamp(), Some(first), "a look changes nothing");
    let ConfigRead::Read(file) = state.config() else {
        panic!("readable");
    };
    assert_eq!(file.consent().mode.as_deref(), Some("Off"));
    // Rewritten in place, same length: the change time moves.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(state.config_file(), "mode = \"On!\"\n").expect("rewrite");
    let second = state.config_stamp().expect("stamped");
    assert_ne!(first, second);
    // Replaced by a rename, as `candor consent` does.
    state
        .update_config(|_| Ok::<_, StateError>("mode = \"on\"\n".to_owned()))
        .expect("edit");
    assert_ne!(state.config_stamp(), Some(second));
    std::fs::write(tmp.path().join("elsewhere.toml"), "mode = \"on\"\n").expect("write");
    std::fs::remove_file(state.config_file()).expect("rm");
    std::os::unix::fs::symlink(tmp.path().join("elsewhere.toml"), state.config_file())
        .expect("symlink");
    assert!(matches!(state.config(), ConfigRead::Unusable(e) if e.message.contains("symlink")));
    std::fs::remove_file(state.config_file()).expect("rm");
    std::fs::write(state.config_file(), [b'm', 0xff]).expect("write");
    assert!(matches!(state.config(), ConfigRead::Unusable(e) if e.message.contains("UTF-8")));
    std::fs::remove_file(state.config_file()).expect("rm");
    std::fs::create_dir(state.config_file()).expect("mkdir");
    assert!(matches!(state.config(), ConfigRead::Unusable(_)));
}

/// The record `candor consent` leaves: its time, read back; unreadable counts as now, a time
/// in the future as now; `clean` removes it.
#[test]
fn consent_changes_are_recorded_and_read_safely() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = StateDir::new(tmp.path());
    assert_eq!(state.consent_changed_at("p").expect("read"), None);
    let before = std::time::SystemTime::now();
    state.note_consent_change("p").expect("note");
    let at = state.consent_changed_at("p").expect("read").expect("noted");
    assert!(at >= before - Duration::from_millis(1) && at <= std::time::SystemTime::now());
    let stamp = state.consent_change_stamp("p");
    assert!(stamp.is_some());
    std::thread::sleep(Duration::from_millis(5));
    state.note_consent_change("p").expect("again");
    assert_ne!(state.consent_change_stamp("p"), stamp);
    let record = tmp.path().join("consent-changes/p");
    std::fs::write(&record, "99999999999.0\n").expect("future");
    let now = state.consent_changed_at("p").expect("read").expect("some");
    assert!(now <= std::time::SystemTime::now());
    std::fs::write(&record, "garbage").expect("garbage");
    assert!(state.consent_changed_at("p").expect("read").is_some());
    state.clean(false).expect("clean");
    assert_eq!(state.consent_changed_at("p").expect("read"), None);
    assert!(state.note_consent_change("../escape").is_err());
}

/// Numbers too large for the system's clock, planted in Candor's time records, never panic a
/// reader: a consent-change record in the far future counts as a change now, a network record
/// in the far future as none (the period restarts).
#[test]
fn times_beyond_the_clock_in_records_never_panic() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = StateDir::new(tmp.path());
    std::fs::create_dir_all(tmp.path().join("network")).expect("mkdir");
    std::fs::create_dir_all(tmp.path().join("consent-changes")).expect("mkdir");
    for huge in [
        "18446744073709551615",
        "9223372036854775807",
        "18446744073709551614",
    ] {
        std::fs::write(tmp.path().join("network/p"), format!("{huge}\n")).expect("write");
        assert_eq!(
            state.unanswered_since("p").expect("a number"),
            None,
            "{huge}"
        );
        std::fs::write(tmp.path().join("consent-changes/p"), format!("{huge}.0\n")).expect("write");
        let before = std::time::SystemTime::now();
        let at = state
            .consent_changed_at("p")
            .expect("read")
            .expect("a change");
        assert!(at >= before && at <= std::time::SystemTime::now(), "{huge}");
        std::fs::write(
            tmp.path().join("consent-changes/p"),
            format!("{huge}.999999999\n"),
        )
        .expect("write");
        assert!(state.consent_changed_at("p").expect("read").is_some());
    }
}

/// The network record is Candor's: what cannot be read as one (a folder, a FIFO, a symlink, a
/// large file, text that is not a time) is an error, never "no record", and writing a time
/// replaces whatever stands in its place, so the period builds up across runs.
#[test]
fn an_unreadable_network_record_is_an_error_and_is_replaced_when_written() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = StateDir::new(tmp.path());
    let network = tmp.path().join("network");
    std::fs::create_dir_all(&network).expect("mkdir");
    let record = network.join("p");
    let target = tmp.path().join("elsewhere");
    std::fs::write(&target, "1\n").expect("target");
    let long_ago = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for what in ["folder", "fifo", "symlink", "1 MB", "text"] {
        let _ = file::remove(&record);
        match what {
            "folder" => std::fs::create_dir(&record).expect("folder"),
            "fifo" => mkfifo(&record),
            "symlink" => std::os::unix::fs::symlink(&target, &record).expect("link"),
            "1 MB" => std::fs::write(&record, vec![b'1'; 1 << 20]).expect("big"),
            _ => std::fs::write(&record, "yesterday\n").expect("text"),
        }
        let started = Instant::now();
        assert!(
            state.unanswered_since("p").is_err(),
            "{what} read as a record"
        );
        assert!(started.elapsed() < Duration::from_secs(2), "{what}");
        state
            .set_unanswered_since("p", Some(long_ago))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            state.unanswered_since("p").expect("written"),
            Some(long_ago),
            "{what}"
        );
        assert_eq!(std::fs::read(&target).expect("target"), b"1\n", "{what}");
    }
    state.set_unanswered_since("p", None).expect("forget");
    assert_eq!(state.unanswered_since("p").expect("none"), None);
}

/// A lock file removed while a process waited for it (`candor clean` removes `locks/`) is
/// opened again by the waiter: it never takes "the" lock on the removed file while another
/// process takes it on the new one.
#[test]
fn a_lock_file_removed_under_a_waiter_is_opened_again() {
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("x.lock");
    let held = file::FileLock::acquire(&path, Duration::from_millis(10)).expect("first");
    let waiter = {
        let path = path.clone();
        std::thread::spawn(move || file::FileLock::acquire(&path, Duration::from_secs(5)))
    };
    std::thread::sleep(Duration::from_millis(100));
    std::fs::remove_file(&path).expect("clean removes it");
    // A newcomer takes the lock on the new file at that name…
    let newcomer = file::FileLock::acquire(&path, Duration::from_millis(100)).expect("new file");
    // …and the waiter, once the old holder lets go, must not hold one at the same time.
    drop(held);
    std::thread::sleep(Duration::from_millis(100));
    assert!(!waiter.is_finished(), "the waiter locked the removed file");
    drop(newcomer);
    let waited = waiter
        .join()
        .expect("thread")
        .expect("then it gets the lock");
    assert_eq!(waited.path(), path);
    assert!(file::FileLock::acquire(&path, Duration::from_millis(50)).is_err());
}

/// `count_lines` counts the lines that hold something of a file of any size in bounded pieces
/// (blank lines and a missing last newline included), and refuses a FIFO, a symlink or a folder
/// at once instead of blocking on or following it.
#[test]
fn count_lines_counts_any_size_and_refuses_what_is_no_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("lines");
    let mut body = Vec::new();
    for n in 0..3000 {
        body.extend_from_slice(format!("{n} {}\n", "y".repeat(n % 700)).as_bytes());
        if n % 100 == 0 {
            body.extend_from_slice(b"  \n\n");
        }
    }
    body.extend_from_slice(b"last without a newline");
    std::fs::write(&path, &body).expect("write");
    assert_eq!(file::count_lines(&path).expect("count"), 3001);
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let started = Instant::now();
    assert!(matches!(
        file::count_lines(&fifo),
        Err(StateError::NotAFile { .. })
    ));
    assert!(started.elapsed() < Duration::from_secs(2));
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&path, &link).expect("symlink");
    assert!(file::count_lines(&link).is_err());
    assert!(file::count_lines(dir.path()).is_err());
}

/// A deletion record is never followed or waited on: a folder, FIFO, symlink or oversized file
/// in its place is an error when read (promptly), is replaced when written (the symlink's
/// target untouched), and `clean` removes the records.
#[test]
fn a_deletion_record_in_the_way_is_refused_replaced_and_cleaned() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = StateDir::new(tmp.path());
    let folder = tmp.path().join("deletions");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let record = folder.join("p.json");
    let target = tmp.path().join("elsewhere");
    std::fs::write(&target, "theirs\n").expect("target");
    for what in ["folder", "fifo", "symlink", "oversized"] {
        let _ = file::remove(&record);
        match what {
            "folder" => std::fs::create_dir(&record).expect("folder"),
            "fifo" => mkfifo(&record),
            "symlink" => std::os::unix::fs::symlink(&target, &record).expect("link"),
            _ => std::fs::write(&record, vec![b'{'; 64 * 1024]).expect("big"),
        }
        let started = Instant::now();
        assert!(state.read_deletion("p", 16 * 1024).is_err(), "{what} read");
        assert!(started.elapsed() < Duration::from_secs(2), "{what}");
        state.write_deletion("p", b"{}\n").expect(what);
        assert_eq!(
            state.read_deletion("p", 16 * 1024).expect(what),
            Some(b"{}\n".to_vec())
        );
    }
    assert_eq!(
        std::fs::read_to_string(&target).expect("target"),
        "theirs\n"
    );
    assert_eq!(state.deletion_products(), vec!["p".to_owned()]);
    state.clean(false).expect("clean");
    assert!(!folder.exists());
    assert_eq!(state.read_deletion("p", 16 * 1024).expect("gone"), None);
}
