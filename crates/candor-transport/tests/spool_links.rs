//! The spool's folder and leftovers as a hostile folder holds them: a symlink in the spool
//! folder's place is refused, not written through (what is spooled is listed and discarded by
//! a view that does not follow links either), and the sweep of a crash's leftovers removes
//! stale files only, never a folder named like one.

#![cfg(unix)]

use std::time::{Duration, SystemTime};

use candor_transport::{Spool, SpoolCaps, SpoolView};

#[test]
fn a_symlinked_spool_folder_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("dir");
    let spool_dir = dir.path().join("spool");
    std::os::unix::fs::symlink(&elsewhere, &spool_dir).expect("symlink");
    let error = Spool::open(&spool_dir, SpoolCaps::default()).expect_err("refused");
    assert!(error.to_string().contains("not a folder"), "{error}");
    assert!(SpoolView::open(&spool_dir).is_none());
    assert_eq!(std::fs::read_dir(&elsewhere).expect("read").count(), 0);
}

#[test]
fn the_leftover_sweep_removes_stale_files_only() {
    let dir = tempfile::tempdir().expect("tmp");
    let spool_dir = dir.path().join("spool");
    std::fs::create_dir(&spool_dir).expect("dir");
    let folder = spool_dir.join(".tmp-not-a-write");
    std::fs::create_dir(&folder).expect("dir");
    std::fs::write(folder.join("keep.txt"), "mine").expect("write");
    let stale = spool_dir.join(".tmp-crashed");
    std::fs::write(&stale, "half a batch").expect("write");
    let old = SystemTime::now() - Duration::from_secs(3 * 3600);
    for path in [&folder, &stale] {
        std::fs::File::options()
            .write(true)
            .open(if path.is_dir() {
                folder.join("keep.txt")
            } else {
                (*path).clone()
            })
            .expect("open")
            .set_modified(old)
            .expect("age");
    }
    // The folder's own time: aged through a file handle on the folder.
    std::fs::File::open(&folder)
        .expect("open dir")
        .set_modified(old)
        .expect("age dir");
    Spool::open(&spool_dir, SpoolCaps::default()).expect("opens");
    assert!(!stale.exists(), "a stale leftover file is removed");
    assert!(folder.join("keep.txt").exists(), "a folder is never swept");
}
