//! What the stores hold, SQLite across a reopen, uses under concurrency, and the lifecycle
//! on a manual clock.

use super::*;

pub(super) fn storage_cases(s: &mut Suite) {
    s.case(
        "the store never holds the key or any part of its secret",
        "auth-apikey: digests at rest",
        || {
            let dir = TempDir::new("at-rest")?;
            let memory = keys_on(MemoryStore::new())?.0;
            let sqlite = keys_on(open_sqlite(&dir.db())?)?.0;
            let mut issued = Vec::new();
            for i in 0..20 {
                let settings = NewKey::new(format!("owner-{i}"), format!("key {i}"))
                    .with_scopes(Scopes::from_space_separated("read write"));
                issued.push(issue(&memory, settings.clone())?.0);
                issued.push(issue(&sqlite, settings)?.0);
            }
            drop(sqlite);
            let on_disk = dir.all_bytes()?;
            let in_memory = format!("{:?}", memory.store());
            for key in &issued {
                holds_no_secret("SQLite files", &on_disk, key)?;
                holds_no_secret("MemoryStore", in_memory.as_bytes(), key)?;
            }
            Ok(())
        },
    );

    s.case(
        "no Debug of key, record, store, status or error shows the key",
        "auth-rs DESIGN: secrets never in messages",
        || {
            let (keys, _) = keys_on(MemoryStore::new())?;
            let issued =
                block_on(keys.create(NewKey::new("alice", "k"))).map_err(|e| e.to_string())?;
            let key = issued.expose_key().to_owned();
            let status = block_on(keys.check(&key)).map_err(|e| e.to_string())?;
            let record = block_on(keys.get(&issued.id())).map_err(|e| e.to_string())?;
            // A mistyped key loaded by a client: the error names the variable only.
            let typo = format!(
                "{}{}",
                &key[..key.len() - 1],
                if key.ends_with('x') { 'y' } else { 'x' }
            );
            let client_error = client_credential_from_lookup(
                "ACME_KEY",
                |_| Some(OsString::from(&typo)),
                keys.format(),
                Placement::Bearer,
            )
            .err()
            .ok_or("a mistyped key was accepted")?;
            // A refused request: the rejection the server logs.
            let guard = Guard::new(keys.authenticator("api"));
            block_on(keys.revoke(&issued.id())).map_err(|e| e.to_string())?;
            let denial = block_on(guard.decide(&head(&[("x-api-key", &key)], "/")))
                .err()
                .ok_or("a revoked key was accepted")?;
            let shown = [
                format!("{issued:?}"),
                format!("{status:?}"),
                format!("{record:?}"),
                format!("{keys:?}"),
                format!("{:?}", keys.store()),
                format!("{client_error:?} {client_error}"),
                format!("{denial:?} {denial}"),
                format!("{:?}", denial.to_response()),
            ];
            for text in &shown {
                holds_no_secret("Debug output", text.as_bytes(), &key)?;
                holds_no_secret("Debug output", text.as_bytes(), &typo)?;
            }
            Ok(())
        },
    );

    s.case(
        "SQLite store survives reopen",
        "auth-apikey: persistent store",
        || {
            let dir = TempDir::new("reopen")?;
            let (live, revoked, limited, old, successor) = {
                let (keys, clock) = keys_on(open_sqlite(&dir.db())?)?;
                let live = issue(&keys, NewKey::new("alice", "live"))?;
                let revoked = issue(&keys, NewKey::new("alice", "revoked"))?;
                block_on(keys.revoke(&revoked.1)).map_err(|e| e.to_string())?;
                let limited = issue(&keys, NewKey::new("alice", "limited").with_max_uses(2))?;
                ensure_eq("first use", status(&keys, &limited.0)?, None)?;
                let old = issue(&keys, NewKey::new("alice", "rotated"))?;
                clock.advance(Duration::from_secs(10));
                let next = block_on(keys.rotate(&old.1, Duration::from_secs(60)))
                    .map_err(|e| e.to_string())?;
                (live, revoked, limited, old, next.expose_key().to_owned())
            };
            // A new process: new connections, a clock at the same instant.
            let (keys, clock) = keys_on(open_sqlite(&dir.db())?)?;
            clock.advance(Duration::from_secs(10));
            ensure_eq("live key", status(&keys, &live.0)?, None)?;
            ensure_eq(
                "revoked key",
                status(&keys, &revoked.0)?,
                Some(Refusal::Revoked),
            )?;
            ensure_eq("second use", status(&keys, &limited.0)?, None)?;
            ensure_eq(
                "third use",
                status(&keys, &limited.0)?,
                Some(Refusal::Exhausted),
            )?;
            ensure_eq("old key in overlap", status(&keys, &old.0)?, None)?;
            ensure_eq("successor", status(&keys, &successor)?, None)?;
            clock.advance(Duration::from_secs(60));
            ensure_eq(
                "old key after overlap",
                status(&keys, &old.0)?,
                Some(Refusal::Expired),
            )?;
            let listed = block_on(keys.list("alice")).map_err(|e| e.to_string())?;
            ensure_eq("keys listed", listed.len(), 5)
        },
    );

    s.case(
        "uses are never over-spent under concurrency",
        "auth-apikey: remaining uses",
        || {
            let dir = TempDir::new("uses")?;
            let memory = keys_on(MemoryStore::new())?.0;
            let sqlite = keys_on(open_sqlite(&dir.db())?)?.0;
            fn spend<S: KeyStore + 'static>(keys: &ApiKeys<S>) -> Result<usize, String> {
                let (key, _) = issue(keys, NewKey::new("alice", "k").with_max_uses(50))?;
                let threads: Vec<_> = (0..8)
                    .map(|_| {
                        let (keys, key) = (keys.clone(), key.clone());
                        std::thread::spawn(move || {
                            (0..20)
                                .filter(|_| matches!(status(&keys, &key), Ok(None)))
                                .count()
                        })
                    })
                    .collect();
                let mut total = 0;
                for t in threads {
                    total += t.join().map_err(|_| "thread panicked")?;
                }
                Ok(total)
            }
            ensure_eq("memory: accepted", spend(&memory)?, 50)?;
            ensure_eq("sqlite: accepted", spend(&sqlite)?, 50)
        },
    );
}

pub(super) fn lifecycle_cases(s: &mut Suite) {
    s.case(
        "expiry exact to the second",
        "auth-apikey lifecycle",
        || {
            let (keys, clock) = keys_on(MemoryStore::new())?;
            let (key, id) = issue(
                &keys,
                NewKey::new("alice", "k").expires_after(Duration::from_secs(3600)),
            )?;
            clock.set(UnixTime::from_duration(Duration::new(
                T0 + 3599,
                999_999_999,
            )));
            ensure_eq("one nanosecond before", status(&keys, &key)?, None)?;
            clock.set(UnixTime::from_secs(T0 + 3600));
            ensure_eq("at expiry", status(&keys, &key)?, Some(Refusal::Expired))?;
            // Extending it brings it back; an expiry in the past ends it at once.
            block_on(keys.set_expiry(&id, Some(UnixTime::from_secs(T0 + 7200))))
                .map_err(|e| e.to_string())?;
            ensure_eq("extended", status(&keys, &key)?, None)?;
            block_on(keys.set_expiry(&id, Some(UnixTime::from_secs(T0))))
                .map_err(|e| e.to_string())?;
            ensure_eq("expired now", status(&keys, &key)?, Some(Refusal::Expired))
        },
    );

    s.case(
        "rotation: old key works until the overlap ends, to the second",
        "auth-apikey lifecycle",
        || {
            let (keys, clock) = keys_on(MemoryStore::new())?;
            let (old, id) = issue(&keys, NewKey::new("alice", "deploy"))?;
            clock.advance(Duration::from_secs(100));
            let next =
                block_on(keys.rotate(&id, Duration::from_secs(300))).map_err(|e| e.to_string())?;
            let next = next.expose_key().to_owned();
            ensure_eq("old key at rotation", status(&keys, &old)?, None)?;
            ensure_eq("successor at rotation", status(&keys, &next)?, None)?;
            clock.set(UnixTime::from_secs(T0 + 100 + 299));
            ensure_eq("old key at +299 s", status(&keys, &old)?, None)?;
            clock.set(UnixTime::from_secs(T0 + 100 + 300));
            ensure_eq(
                "old key at +300 s",
                status(&keys, &old)?,
                Some(Refusal::Expired),
            )?;
            ensure_eq("successor at +300 s", status(&keys, &next)?, None)?;
            // Zero overlap: the old key is refused at once.
            let (old, id) = issue(&keys, NewKey::new("alice", "urgent"))?;
            let _successor =
                block_on(keys.rotate(&id, Duration::ZERO)).map_err(|e| e.to_string())?;
            ensure_eq("zero overlap", status(&keys, &old)?, Some(Refusal::Expired))
        },
    );

    s.case(
        "revocation takes effect on the next request",
        "auth-apikey lifecycle",
        || {
            let dir = TempDir::new("revoke")?;
            let memory = keys_on(MemoryStore::new())?.0;
            let sqlite = keys_on(open_sqlite(&dir.db())?)?.0;
            let (key, id) = issue(&memory, NewKey::new("alice", "k"))?;
            ensure_eq("memory before", status(&memory, &key)?, None)?;
            block_on(memory.revoke(&id)).map_err(|e| e.to_string())?;
            ensure_eq(
                "memory after",
                status(&memory, &key)?,
                Some(Refusal::Revoked),
            )?;
            let (key, id) = issue(&sqlite, NewKey::new("alice", "k"))?;
            ensure_eq("sqlite before", status(&sqlite, &key)?, None)?;
            block_on(sqlite.revoke(&id)).map_err(|e| e.to_string())?;
            ensure_eq(
                "sqlite after",
                status(&sqlite, &key)?,
                Some(Refusal::Revoked),
            )
        },
    );

    s.case(
        "list by owner, oldest first",
        "auth-apikey lifecycle",
        || {
            let (keys, clock) = keys_on(MemoryStore::new())?;
            let a = issue(&keys, NewKey::new("alice", "a"))?.1;
            clock.advance(Duration::from_secs(1));
            issue(&keys, NewKey::new("bob", "b"))?;
            let c = issue(&keys, NewKey::new("alice", "c"))?.1;
            let listed: Vec<KeyId> = block_on(keys.list("alice"))
                .map_err(|e| e.to_string())?
                .iter()
                .map(|r| r.id)
                .collect();
            ensure_eq("alice's keys", listed, vec![a, c])
        },
    );
}
