//! `WorkerError`: why `run_worker` stopped without being asked to.

/// What the caller of `run_worker` must decide about.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The scheduler refused the registration (e.g. an incompatible protocol version);
    /// reconnecting with the same software will not help.
    #[error("the scheduler refused the worker: {0}")]
    Refused(String),
    /// The link closed before the scheduler answered the registration; retryable.
    #[error("the link to the scheduler closed before registration completed")]
    Disconnected,
}
