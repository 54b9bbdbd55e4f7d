//! The listener: one more connection per instance that `LISTEN`s on the schema's channel
//! and drops changed keys from the cache the moment another instance commits a change.
//!
//! Notifications sent while the listener is not connected are lost, so each time it
//! (re)connects it clears the whole cache once `LISTEN` is in place: nothing missed in the
//! gap can be served afterwards. While it cannot connect, the staleness bound still holds:
//! entries expire `max_stale` after they were read.

use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use auth_apikey::{Error, KeyId};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::cache::Cache;

/// What the listener has done so far: for health checks, metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncState {
    /// Whether change notifications are arriving now. While `false`, other instances'
    /// changes reach this one only through the staleness bound.
    pub listening: bool,
    /// How many times the listener has connected and started listening.
    pub connects: u64,
    /// How many change notifications it has received.
    pub notifications: u64,
}

const FIRST_RETRY: Duration = Duration::from_millis(50);
const LAST_RETRY: Duration = Duration::from_secs(5);

/// Aborts a task when dropped, so that no connection outlives its store.
#[derive(Debug)]
pub(crate) struct AbortOnDrop(pub(crate) JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts the listener on the current runtime.
pub(crate) fn spawn(
    config: Config,
    tls: MakeRustlsConnect,
    channel: String,
    cache: Arc<Cache>,
    state: watch::Sender<SyncState>,
) -> AbortOnDrop {
    AbortOnDrop(tokio::spawn(async move {
        let mut retry = FIRST_RETRY;
        loop {
            if listen(&config, &tls, &channel, &cache, &state)
                .await
                .is_ok()
            {
                retry = FIRST_RETRY;
            }
            // Real time, not the store's clock: this paces reconnection attempts only.
            tokio::time::sleep(retry).await;
            retry = (retry * 2).min(LAST_RETRY);
        }
    }))
}

/// One connection's life: connect, listen, clear the cache, then apply notifications until
/// the connection ends. `Ok` if it got as far as listening.
async fn listen(
    config: &Config,
    tls: &MakeRustlsConnect,
    channel: &str,
    cache: &Arc<Cache>,
    state: &watch::Sender<SyncState>,
) -> Result<(), Error> {
    let (client, mut connection) = config
        .connect(tls.clone())
        .await
        .map_err(|e| Error::store("connecting the change listener", e))?;
    let (cache_for_driver, state_for_driver) = (Arc::clone(cache), state.clone());
    let driver = AbortOnDrop(tokio::spawn(async move {
        while let Some(Ok(message)) = poll_fn(|cx| connection.poll_message(cx)).await {
            if let AsyncMessage::Notification(n) = message {
                match n.payload().parse::<KeyId>() {
                    Ok(id) => cache_for_driver.invalidate(&id),
                    // Not ours to interpret: be safe.
                    Err(_) => cache_for_driver.clear(),
                }
                state_for_driver.send_modify(|s| s.notifications += 1);
            }
        }
    }));
    client
        .batch_execute(&format!("LISTEN {channel}"))
        .await
        .map_err(|e| Error::store("listening for key changes", e))?;
    cache.clear();
    state.send_modify(|s| {
        s.listening = true;
        s.connects += 1;
    });
    let mut driver = driver;
    let _ = (&mut driver.0).await;
    state.send_modify(|s| s.listening = false);
    drop(client);
    Ok(())
}
