//! What a store's failure tells: one line a person can read, naming what failed and why, the
//! driver's or the system's error kept behind it as its `source()`, and never a password a
//! database URL held.

#![allow(clippy::unwrap_used)]

mod support;

use std::error::Error as _;

use candor_ingest::{DatabaseUrl, Sealing, StoreError};
use support::*;

fn open_error(url: &DatabaseUrl) -> StoreError {
    url.open(&Sealing::Key(test_key())).map(|_| ()).unwrap_err()
}

/// The message is one line, and the error behind it is kept.
fn one_line_with_source(e: &StoreError) -> String {
    let message = e.to_string();
    assert!(!message.contains(['\n', '\r']), "{message:?}");
    assert!(e.source().is_some(), "{e:?} keeps no source");
    message
}

#[test]
#[cfg(feature = "postgres")]
fn an_unreachable_postgres_is_one_line_without_its_password() {
    let url = DatabaseUrl::parse(&format!(
        "postgres://candor:hunter2SECRET@127.0.0.1:{}/telemetry",
        free_port()
    ))
    .unwrap();
    let e = open_error(&url);
    assert!(matches!(e, StoreError::Postgres(_)), "{e:?}");
    let message = one_line_with_source(&e);
    assert!(message.starts_with("the database failed: "), "{message}");
    assert!(message.contains("connect"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(!format!("{e:?}").contains("hunter2"), "{e:?}");
}

#[test]
#[cfg(feature = "postgres")]
fn a_postgres_url_that_does_not_parse_is_one_line_without_its_password() {
    for text in [
        "postgres://candor:hunter2SECRET@127.0.0.1:port/telemetry",
        "postgres://candor:hunter2SECRET@127.0.0.1/telemetry?connect_timeout=hunter2SECRET",
    ] {
        let e = open_error(&DatabaseUrl::parse(text).unwrap());
        assert!(matches!(e, StoreError::UrlSyntax(_)), "{e:?}");
        let message = one_line_with_source(&e);
        assert!(message.starts_with("bad PostgreSQL URL: "), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }
}

#[test]
#[cfg(feature = "sqlite")]
fn a_sqlite_path_that_is_no_database_file_is_one_line_with_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    // A folder where the file should be.
    let e = open_error(&DatabaseUrl::Sqlite(dir.path().to_owned()));
    assert!(matches!(e, StoreError::SqliteFile { .. }), "{e:?}");
    let message = one_line_with_source(&e);
    assert!(
        message.starts_with(&format!("the database failed: {}", dir.path().display())),
        "{message}"
    );
    // A file where the folder should be.
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let e = open_error(&DatabaseUrl::Sqlite(file.join("ingest.db")));
    assert!(matches!(e, StoreError::Folder { .. }), "{e:?}");
    let message = one_line_with_source(&e);
    assert!(
        message.starts_with("the database failed: cannot create "),
        "{message}"
    );
    // A rotation of a file that is not there names it, and there is nothing behind it.
    let missing = dir.path().join("missing.db");
    let key = candor_ingest::StoreKey::from_hex(&"7d".repeat(32)).unwrap();
    let e = DatabaseUrl::Sqlite(missing.clone())
        .rotate_key(&test_key(), &key)
        .unwrap_err();
    assert!(matches!(e, StoreError::NoFile(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "the database failed: {}: no such database file",
            missing.display()
        )
    );
}

/// PostgreSQL's own refusal, whose message has a `DETAIL:` line and a `HINT:` line, reaches
/// the person as one line holding all three, and the driver's error behind it.
#[test]
#[cfg(feature = "postgres")]
fn a_postgres_refusal_over_several_lines_is_one_line() {
    let Some(db) = Db::postgres() else { return };
    let Db::Postgres(pg) = &db else {
        unreachable!()
    };
    // The database refuses every schema statement, with a detail and a hint: the store's
    // setup meets it first.
    let mut admin = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    admin
        .batch_execute(
            "CREATE FUNCTION candor_refuse() RETURNS event_trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'refused by the test' USING DETAIL = 'first line', \
             HINT = 'second line'; END $$; \
             CREATE EVENT TRIGGER candor_refuse ON ddl_command_start \
             EXECUTE FUNCTION candor_refuse()",
        )
        .unwrap();
    let e = open_error(&db.url());
    assert!(matches!(e, StoreError::Postgres(_)), "{e:?}");
    let message = one_line_with_source(&e);
    for part in [
        "refused by the test",
        "DETAIL: first line",
        "HINT: second line",
    ] {
        assert!(message.contains(part), "{message}");
    }
}
