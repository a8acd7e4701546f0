//! Why the scheduler stopped.

use orrery_store::StoreError;

/// A failure the scheduler cannot recover from by itself.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("store failure: {0}")]
    Store(#[from] StoreError),
}
