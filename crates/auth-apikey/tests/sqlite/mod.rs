//! The SQLite store: the contract, races between connections, reopening, file modes,
//! corrupt rows and a crash in the middle of a write.

use super::*;
use auth_apikey::SqliteStore;

/// A fresh private directory, removed on drop.
fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("auth-apikey-it-{name}-"))
        .tempdir()
        .unwrap()
}

#[test]
fn sqlite_store_contract() {
    let dir = temp_dir("contract");
    let store = SqliteStore::open(dir.path().join("keys.db")).unwrap();
    block_on(store_contract(&store));
}

/// Rotations and a revocation of one key from several threads at once, each with its
/// own connection to the writer: the state check and the update are one transaction.
#[test]
fn sqlite_transitions_race_safely() {
    let dir = temp_dir("race");
    let store = SqliteStore::open(dir.path().join("keys.db")).unwrap();
    block_on(concurrent_transitions(&store, 5));
    for round in 0..20u32 {
        let old = format!("R{round:07}");
        block_on(store.insert(record(&old, "race", 100))).unwrap();
        let outcomes: Vec<_> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..4u32)
                .map(|i| {
                    let store = &store;
                    let old = id(&old);
                    scope.spawn(move || {
                        let next = record(&format!("S{round:06}{i}"), "race", 200);
                        if i == 3 {
                            let at = UnixTime::from_secs(150);
                            block_on(store.revoke(&old, at)).map(|()| "revoked")
                        } else {
                            let until = UnixTime::from_secs(300);
                            block_on(store.rotate(&old, until, next)).map(|()| "rotated")
                        }
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let after = block_on(store.get(&id(&old))).unwrap().unwrap();
        let rotated = outcomes
            .iter()
            .filter(|o| matches!(o, Ok("rotated")))
            .count();
        assert!(rotated <= 1, "{outcomes:?}");
        assert_eq!(after.replaced_by.is_some(), rotated == 1, "{outcomes:?}");
        assert!(after.revoked.is_some());
        for o in &outcomes {
            assert!(
                matches!(
                    o,
                    Ok(_) | Err(Error::AlreadyRotated { .. } | Error::Inactive(_))
                ),
                "{o:?}"
            );
        }
    }
}

#[test]
fn keys_survive_reopen() {
    let dir = temp_dir("reopen");
    let path = dir.path().join("keys.db");
    let (key, id) = block_on(async {
        let (keys, _) = keys_on(SqliteStore::open(&path).unwrap());
        let issued = keys.create(NewKey::new("alice", "k")).await.unwrap();
        let revoked = keys.create(NewKey::new("alice", "gone")).await.unwrap();
        keys.revoke(&revoked.id()).await.unwrap();
        (issued.expose_key().to_owned(), revoked.id())
    });
    block_on(async {
        let (keys, _) = keys_on(SqliteStore::open(&path).unwrap());
        assert!(keys.check(&key).await.unwrap().is_valid());
        assert!(keys.get(&id).await.unwrap().unwrap().revoked.is_some());
        assert_eq!(keys.list("alice").await.unwrap().len(), 2);
    });
}

/// A new database (and its WAL) is the owner's alone; settings are claimed once.
#[test]
fn a_new_database_is_private_and_settings_are_claimed_once() {
    let dir = temp_dir("private");
    let path = dir.path().join("keys.db");
    let store = SqliteStore::open(&path).unwrap();
    block_on(store.insert(record("AAAAAAA1", "bob", 1))).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for file in ["keys.db", "keys.db-wal"] {
            let mode = std::fs::metadata(dir.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }
    let claim =
        |s: &SqliteStore, name: &str, value: &str| block_on(s.claim_setting(name, value)).unwrap();
    assert_eq!(claim(&store, "fp", "a"), "a");
    assert_eq!(claim(&store, "fp", "b"), "a");
    assert_eq!(claim(&store, "other", "b"), "b");
    drop(store);
    let again = SqliteStore::open(&path).unwrap();
    assert_eq!(claim(&again, "fp", "c"), "a");
}

#[test]
fn a_corrupt_row_is_a_store_error_not_a_refusal() {
    let dir = temp_dir("corrupt");
    let path = dir.path().join("keys.db");
    let store = SqliteStore::open(&path).unwrap();
    block_on(store.insert(record("AAAAAAA1", "bob", 1))).unwrap();
    // A time no record can hold, written behind the store's back.
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute(
        "UPDATE api_keys SET expires_ns = -5 WHERE id = 'AAAAAAA1'",
        [],
    )
    .unwrap();
    let err = block_on(store.get(&id("AAAAAAA1"))).unwrap_err();
    assert!(matches!(err, Error::Store { .. }), "{err}");
    let core: auth_core::Error = err.into();
    assert_eq!(core.status(), 503);
}

/// Set in the child process of `crash_mid_write`: the database it writes to.
const CRASH_DB: &str = "AUTH_APIKEY_CRASH_TEST_DB";

/// The child of `crash_mid_write`: issues and rotates keys until it is killed, printing
/// each key once its transaction committed.
#[allow(clippy::print_stdout)] // stdout is how the parent learns what was committed
fn crash_child(path: &std::ffi::OsStr) {
    block_on(async {
        let (keys, _) = keys_on(SqliteStore::open(path).unwrap());
        for i in 0..10_000 {
            let issued = keys
                .create(NewKey::new("alice", format!("k{i}")))
                .await
                .unwrap();
            println!("committed {}", issued.expose_key());
            let next = keys
                .rotate(&issued.id(), Duration::from_secs(3600))
                .await
                .unwrap();
            println!("rotated {} {}", issued.id(), next.expose_key());
        }
    });
}

/// A process killed (SIGKILL) in the middle of its writes loses no committed key and
/// leaves no half-done rotation.
#[test]
fn crash_mid_write() {
    use std::io::{BufRead, BufReader};
    if let Some(path) = std::env::var_os(CRASH_DB) {
        return crash_child(&path);
    }
    let dir = temp_dir("crash");
    let path = dir.path().join("keys.db");
    // This same test, in a new process, as the child.
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sqlite::crash_mid_write",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_DB, &path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut committed = Vec::new();
    let mut rotated = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["committed", key] => committed.push((*key).to_owned()),
            ["rotated", old, key] => rotated.push(((*old).to_owned(), (*key).to_owned())),
            _ => continue,
        }
        if committed.len() >= 40 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        committed.len(),
        40,
        "the child stopped before it was killed"
    );
    assert!(rotated.len() >= 39);

    let raw = rusqlite::Connection::open(&path).unwrap();
    let check: String = raw
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(raw);
    block_on(async {
        let (keys, _) = keys_on(SqliteStore::open(&path).unwrap());
        for key in &committed {
            assert!(
                keys.check(key).await.unwrap().is_valid(),
                "a committed key was lost"
            );
        }
        for (old, successor) in &rotated {
            assert!(keys.check(successor).await.unwrap().is_valid());
            let old = keys.get(&id(old)).await.unwrap().unwrap();
            assert!(old.replaced_by.is_some() && old.expires.is_some());
        }
        // Whatever was in flight is all there or not there: every rotated key has its
        // successor in the store.
        for record in keys.list("alice").await.unwrap() {
            if let Some(next) = record.replaced_by {
                assert!(keys.get(&next).await.unwrap().is_some(), "half a rotation");
            }
        }
    });
}
