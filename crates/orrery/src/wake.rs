//! Wake-up hints across nodes: what this node's API stores wakes the local scheduler
//! and, through the store (`NOTIFY` on PostgreSQL), the leader wherever it runs; hints
//! from other nodes wake the local scheduler.

use orrery_scheduler::SchedulerHandle;
use orrery_store::Store;
use std::sync::Arc;
use tokio::sync::{Notify, watch};

/// Starts the bridges and returns the hint the API pokes after storing an intent.
pub(crate) async fn bridge_wakes(
    store: &Store,
    scheduler: &SchedulerHandle,
    shutdown: watch::Receiver<bool>,
) -> Arc<Notify> {
    let api_wake = Arc::new(Notify::new());
    let outgoing = api_wake.clone();
    let (out_store, out_scheduler, mut out_shutdown) =
        (store.clone(), scheduler.clone(), shutdown.clone());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = outgoing.notified() => {}
                () = stopped(&mut out_shutdown) => return,
            }
            out_scheduler.wake();
            if let Err(error) = out_store.notify_wake().await {
                tracing::debug!(%error, "cannot send a wake-up hint; the leader's poll will see the change");
            }
        }
    });
    match store.listen_wakes().await {
        Ok(Some(mut listener)) => {
            let (in_scheduler, mut in_shutdown) = (scheduler.clone(), shutdown);
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        received = listener.recv() => {
                            if let Err(error) = received {
                                tracing::debug!(%error, "wake-up listener interrupted");
                                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                                continue;
                            }
                            in_scheduler.wake();
                        }
                        () = stopped(&mut in_shutdown) => return,
                    }
                }
            });
        }
        Ok(None) => {}
        Err(error) => {
            tracing::warn!(%error, "cannot listen for wake-up hints; changes made on other nodes are seen at the next poll");
        }
    }
    api_wake
}

/// Resolves when `shutdown` turns true (or its sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}
