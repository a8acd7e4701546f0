//! `WorkerError`: why `run_worker` stopped without being asked to, or why a link failed.

/// What the caller of `run_worker` must decide about.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The scheduler refused the registration (e.g. an incompatible protocol version
    /// or a bad token); reconnecting with the same software will not help.
    #[error("the scheduler refused the worker: {0}")]
    Refused(String),
    /// The link closed before the scheduler answered the registration; retryable.
    #[error("the link to the scheduler closed before registration completed")]
    Disconnected,
    /// No scheduler could be reached; retryable.
    #[error("cannot reach a scheduler: {0}")]
    Unreachable(String),
    /// The worker's own setup failed (its work directory, its identity file).
    #[error("worker setup: {0}")]
    Setup(String),
}
