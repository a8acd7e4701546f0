//! Why the scheduler stopped.

use orrery_store::StoreError;

/// A failure the scheduler cannot recover from by itself.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("store failure: {0}")]
    Store(#[from] StoreError),
    /// Another node took the lease: this driver's writes are fenced off.
    #[error("deposed: another scheduler node holds the lease")]
    Deposed,
}
