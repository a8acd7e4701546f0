//! Wake-up hints between nodes: an API node that stored an intent (a new run, a
//! cancel) tells the leader through PostgreSQL's `NOTIFY`. A hint only: a lost one
//! costs the leader's poll interval, never correctness. SQLite has one process, whose
//! in-process hint suffices, so both calls do nothing there.

use crate::error::StoreError;
use crate::store::{Backend, Store};
use sqlx::postgres::PgListener;

/// The channel the hints go on.
const WAKE_CHANNEL: &str = "orrery_wake";

/// Hints received from other nodes.
pub struct WakeListener {
    listener: PgListener,
}

impl WakeListener {
    /// Waits for the next hint. The listener reconnects by itself after a lost
    /// connection (hints sent meanwhile are lost, which only costs latency).
    pub async fn recv(&mut self) -> Result<(), StoreError> {
        self.listener.recv().await?;
        Ok(())
    }
}

impl Store {
    /// Tells every listening node that the store changed.
    pub async fn notify_wake(&self) -> Result<(), StoreError> {
        if let Backend::Postgres(pool) = &self.backend {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(WAKE_CHANNEL)
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// Starts listening for hints; `None` on SQLite.
    pub async fn listen_wakes(&self) -> Result<Option<WakeListener>, StoreError> {
        match &self.backend {
            Backend::Postgres(pool) => {
                let mut listener = PgListener::connect_with(pool).await?;
                listener.listen(WAKE_CHANNEL).await?;
                Ok(Some(WakeListener { listener }))
            }
            Backend::Sqlite(_) => Ok(None),
        }
    }
}
